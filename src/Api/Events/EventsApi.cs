using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using RootCause.Api.Common;
using RootCause.Api.Search;
using RootCause.Common;
using RootCause.Events;

namespace RootCause.Api.Events;

public static class EventsApi
{
    public static RouteGroupBuilder MapEvents(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/events").WithTags("Events")
            .WithReadYourWrites(RootCause.Search.IndexedKind.Event);
        QueryEndpoints.MapEventQueries(group);

        group.MapPost("/", IngestAsync)
            .WithSummary("Ingest an event; the same (source, source_id) always yields the same event")
            .WithDescription("201 when this call created the event, 200 with the stored event when it already existed.");
        group.MapGet("/{id:guid}", GetAsync).WithSummary("Get one event (include_deleted=true shows a soft-deleted one)");
        group.MapPut("/{id:guid}", UpdateAsync).WithSummary("Replace its editable fields (needs If-Match or version)");
        group.MapDelete("/{id:guid}", DeleteAsync).WithSummary("Soft-delete it (undo with /restore)");
        group.MapPost("/{id:guid}/restore", RestoreAsync).WithSummary("Undo a soft delete");
        return group;
    }

    private static IEventGrain Grain(IGrainFactory grains, Guid id) => grains.GetGrain<IEventGrain>(id);

    private static async Task<Results<Created<Event>, Ok<Event>>> IngestAsync(
        EventRequest request, IGrainFactory grains, TimeProvider time, HttpContext context)
    {
        var draft = request.ToDraft(time.GetUtcNow());
        var result = await Grain(grains, EventKeys.For(draft)).IngestAsync(draft);
        context.Response.Headers.ETag = ETags.Format(result.Event.Version);
        return result.Created
            ? TypedResults.Created($"/api/events/{result.Event.Id}", result.Event)
            : TypedResults.Ok(result.Event);
    }

    private static async Task<Ok<Event>> GetAsync(Guid id, IGrainFactory grains, HttpContext context,
        [FromQuery(Name = "include_deleted")] bool includeDeleted = false) =>
        WithETag(context, await Grain(grains, id).GetAsync(includeDeleted) ?? throw new NotFoundException("event", id.ToString()));

    private static async Task<Ok<Event>> UpdateAsync(Guid id, EventRequest request, IGrainFactory grains, HttpContext context)
    {
        var expected = ETags.RequireExpectedVersion(context.Request, request.Version);
        var grain = Grain(grains, id);
        var current = await grain.GetAsync() ?? throw new NotFoundException("event", id.ToString());
        return WithETag(context, await grain.UpdateAsync(request.ToChanges(current), expected));
    }

    private static async Task<NoContent> DeleteAsync(Guid id, IGrainFactory grains)
    {
        await Grain(grains, id).DeleteAsync();
        return TypedResults.NoContent();
    }

    private static async Task<Ok<Event>> RestoreAsync(Guid id, IGrainFactory grains, HttpContext context) =>
        WithETag(context, await Grain(grains, id).RestoreAsync());

    private static Ok<Event> WithETag(HttpContext context, Event e)
    {
        context.Response.Headers.ETag = ETags.Format(e.Version);
        return TypedResults.Ok(e);
    }
}
