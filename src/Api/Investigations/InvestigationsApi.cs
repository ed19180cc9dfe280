using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using RootCause.Api.Common;
using RootCause.Api.Search;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Api.Investigations;

public static class InvestigationsApi
{
    public static RouteGroupBuilder MapInvestigations(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/investigations").WithTags("Investigations")
            .WithReadYourWrites(RootCause.Search.IndexedKind.Investigation);
        QueryEndpoints.MapInvestigationQueries(group);

        group.MapPost("/", CreateAsync).WithSummary("Open an investigation");
        group.MapGet("/{id:guid}", GetAsync).WithSummary("Get one investigation (include_deleted=true shows a soft-deleted one)");
        group.MapPut("/{id:guid}", UpdateAsync).WithSummary("Replace its editable fields (needs If-Match or version)");
        group.MapDelete("/{id:guid}", DeleteAsync).WithSummary("Soft-delete it (undo with /restore)");
        group.MapPost("/{id:guid}/restore", RestoreAsync).WithSummary("Undo a soft delete");
        group.MapPost("/{id:guid}/close", CloseAsync).WithSummary("Close it");
        group.MapPost("/{id:guid}/reopen", ReopenAsync).WithSummary("Reopen a resolved or closed investigation");
        group.MapPost("/{id:guid}/notes", AddNoteAsync).WithSummary("Add a markdown note");
        group.MapGet("/{id:guid}/notes", GetNotesAsync).WithSummary("List its notes, oldest first");
        group.MapPost("/{id:guid}/link-event", LinkEventAsync).WithSummary("Link an event (recorded on the event, with who decided)");
        group.MapDelete("/{id:guid}/unlink-event/{eventId:guid}", UnlinkEventAsync).WithSummary("Remove an event link");
        group.MapGet("/{id:guid}/events", GetEventsAsync)
            .WithSummary("The linked events, oldest first (paged like every list; includes every link committed before the request)");
        group.MapGet("/{id:guid}/suggestions", GetSuggestionsAsync)
            .WithSummary("Events the linker suggests for this investigation, waiting for a decision (paged, from the search index)")
            .Produces<IReadOnlyList<Event>>(StatusCodes.Status200OK, "application/json");
        group.MapPost("/{id:guid}/suggestions/{eventId:guid}/accept", AcceptSuggestionAsync).WithSummary("Accept a suggestion: the event is linked, and the decision recorded");
        group.MapPost("/{id:guid}/suggestions/{eventId:guid}/reject", RejectSuggestionAsync).WithSummary("Reject a suggestion: recorded, and never suggested again");
        group.MapPost("/{id:guid}/related", RelateAsync).WithSummary("Relate another investigation (both sides record it)");
        group.MapDelete("/{id:guid}/related/{otherId:guid}", UnrelateAsync).WithSummary("Remove a relation");
        group.MapGet("/{id:guid}/live", InvestigationLive.StreamAsync)
            .WithSummary("Live changes as server-sent events: ready, then event_link, investigation and resync, from any silo")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id:guid}/explain", ExplainAsync)
            .WithSummary("How well an event explains this investigation: each strategy's sub-score and reason, linked or not (event_id=)");
        return group;
    }

    private static IInvestigationGrain Grain(IGrainFactory grains, Guid id) => grains.GetGrain<IInvestigationGrain>(id);

    private static async Task<Created<Investigation>> CreateAsync(InvestigationRequest request, IGrainFactory grains, HttpContext context)
    {
        var fields = request.ToFields();
        var id = Guid.NewGuid();
        var created = await Grain(grains, id).CreateAsync(fields);
        context.Response.Headers.ETag = ETags.Format(created.Version);
        return TypedResults.Created($"/api/investigations/{id}", created);
    }

    private static async Task<Ok<Investigation>> GetAsync(Guid id, IGrainFactory grains, HttpContext context,
        [FromQuery(Name = "include_deleted")] bool includeDeleted = false) =>
        WithETag(context, await Grain(grains, id).GetAsync(includeDeleted)
            ?? throw new NotFoundException("investigation", id.ToString()));

    private static async Task<Ok<Investigation>> UpdateAsync(Guid id, InvestigationRequest request, IGrainFactory grains, HttpContext context)
    {
        var expected = ETags.RequireExpectedVersion(context.Request, request.Version);
        var fields = request.ToFields();
        return WithETag(context, await Grain(grains, id).UpdateAsync(fields, expected));
    }

    private static async Task<NoContent> DeleteAsync(Guid id, IGrainFactory grains, HttpContext context)
    {
        await Grain(grains, id).DeleteAsync(ETags.OptionalExpectedVersion(context.Request));
        return TypedResults.NoContent();
    }

    private static async Task<Ok<Investigation>> RestoreAsync(Guid id, IGrainFactory grains, HttpContext context) =>
        WithETag(context, await Grain(grains, id).RestoreAsync());

    private static async Task<Ok<Investigation>> CloseAsync(Guid id, IGrainFactory grains, HttpContext context) =>
        WithETag(context, await Grain(grains, id).CloseAsync(ETags.OptionalExpectedVersion(context.Request)));

    private static async Task<Ok<Investigation>> ReopenAsync(Guid id, IGrainFactory grains, HttpContext context) =>
        WithETag(context, await Grain(grains, id).ReopenAsync(ETags.OptionalExpectedVersion(context.Request)));

    private static async Task<Created<Note>> AddNoteAsync(Guid id, NoteRequest request, IGrainFactory grains)
    {
        var note = await Grain(grains, id).AddNoteAsync(request.ToNewNote());
        return TypedResults.Created($"/api/investigations/{id}/notes/{note.Id}", note);
    }

    private static async Task<Ok<IReadOnlyList<Note>>> GetNotesAsync(Guid id, IGrainFactory grains) =>
        TypedResults.Ok(await Grain(grains, id).GetNotesAsync());

    private static async Task<Ok<Investigation>> LinkEventAsync(Guid id, LinkEventRequest request, IGrainFactory grains, HttpContext context)
    {
        var eventId = request.EventId ?? throw new ValidationFailedException("event_id", "event_id is required.");
        LinkDecisionRequest.Validate(request.DecidedBy, request.Note);
        return WithETag(context, await Grain(grains, id).LinkEventAsync(eventId, request.DecidedBy, request.Note));
    }

    private static async Task<Ok<Investigation>> UnlinkEventAsync(Guid id, Guid eventId, IGrainFactory grains, HttpContext context,
        [FromQuery(Name = "decided_by")] string? decidedBy = null, [FromQuery(Name = "note")] string? note = null)
    {
        LinkDecisionRequest.Validate(decidedBy, note);
        return WithETag(context, await Grain(grains, id).UnlinkEventAsync(eventId, decidedBy, note));
    }

    private static async Task<IResult> GetSuggestionsAsync(Guid id, IGrainFactory grains, HttpContext context, RootCause.Search.ISearchIndex index)
    {
        _ = await Grain(grains, id).GetAsync() ?? throw new NotFoundException("investigation", id.ToString());
        return QueryEndpoints.EventPage(context, index, new Dictionary<string, IReadOnlyList<string>>
        {
            [RootCause.Search.SearchFields.SuggestedFor] = [id.ToString("D")],
        });
    }

    private static async Task<Ok<Investigation>> AcceptSuggestionAsync(Guid id, Guid eventId, IGrainFactory grains, HttpContext context,
        LinkDecisionRequest? request = null)
    {
        LinkDecisionRequest.Validate(request?.DecidedBy, request?.Note);
        return WithETag(context, await Grain(grains, id).LinkEventAsync(eventId, request?.DecidedBy, request?.Note, onlyIfSuggested: true));
    }

    private static async Task<Ok<Investigation>> RejectSuggestionAsync(Guid id, Guid eventId, IGrainFactory grains, HttpContext context,
        LinkDecisionRequest? request = null)
    {
        LinkDecisionRequest.Validate(request?.DecidedBy, request?.Note);
        return WithETag(context, await Grain(grains, id).RejectSuggestionAsync(eventId, request?.DecidedBy, request?.Note));
    }

    /// <summary>
    /// The events whose link records say linked to this investigation, from the search index once it
    /// shows every change committed before the request (a link made a moment ago through any silo is
    /// listed; <c>X-Index-Visible: false</c> if the index could not catch up within the read-your-writes
    /// timeout, and the page is what it holds).
    /// </summary>
    private static async Task<IResult> GetEventsAsync(Guid id, IGrainFactory grains, HttpContext context, RootCause.Search.ISearchIndex index)
    {
        _ = await Grain(grains, id).GetAsync() ?? throw new NotFoundException("investigation", id.ToString());
        var visible = await index.WaitForCommittedAsync(ReadYourWrites.Timeout, context.RequestAborted);
        context.Response.Headers[ReadYourWrites.VisibleHeader] = visible ? "true" : "false";
        return QueryEndpoints.EventPage(context, index, new Dictionary<string, IReadOnlyList<string>>
        {
            [RootCause.Search.SearchFields.InvestigationIds] = [id.ToString("D")],
        }, QueryEndpoints.OldestEventsFirst);
    }

    private static async Task<Ok<Investigation>> RelateAsync(Guid id, RelateRequest request, IGrainFactory grains, HttpContext context)
    {
        var other = request.InvestigationId ?? throw new ValidationFailedException("investigation_id", "investigation_id is required.");
        return WithETag(context, await Grain(grains, id).RelateAsync(other));
    }

    private static async Task<Ok<Investigation>> UnrelateAsync(Guid id, Guid otherId, IGrainFactory grains, HttpContext context) =>
        WithETag(context, await Grain(grains, id).UnrelateAsync(otherId));

    private static async Task<Ok<RootCause.Linking.LinkAssessment>> ExplainAsync(Guid id, IGrainFactory grains, HttpContext context)
    {
        var p = new QueryParams(context.Request);
        var text = p.Single("event_id");
        p.ThrowIfAny();
        if (!Guid.TryParse(text, out var eventId))
        {
            throw new ValidationFailedException("event_id", text is null ? "event_id is required: the id of the event to explain." : "event_id must be an event id (a UUID).");
        }
        return TypedResults.Ok(await grains.GetGrain<RootCause.Linking.ILinkScoringGrain>(0).AssessAsync(id, eventId));
    }

    private static Ok<Investigation> WithETag(HttpContext context, Investigation investigation)
    {
        context.Response.Headers.ETag = ETags.Format(investigation.Version);
        return TypedResults.Ok(investigation);
    }
}
