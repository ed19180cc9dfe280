using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Api.Search;

/// <summary>
/// <c>?refresh=wait_for</c> on a write: the answer comes once the change is visible in the search
/// index of the silo that answers (lists and searches sent to it afterwards include it). The write
/// itself is durable either way; <c>X-Index-Visible</c> says whether the wait succeeded within
/// <see cref="Timeout"/>.
/// </summary>
public static class ReadYourWrites
{
    public const string Parameter = "refresh";
    public const string VisibleHeader = "X-Index-Visible";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static RouteGroupBuilder WithReadYourWrites(this RouteGroupBuilder group, IndexedKind kind)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method))
            {
                return await next(context);
            }
            var wait = Requested(http.Request);
            var result = await next(context);
            if (!wait)
            {
                return result;
            }
            var written = Written(result) ?? await CurrentVersionAsync(http, kind);
            if (written is { } w)
            {
                var index = http.RequestServices.GetRequiredService<ISearchIndex>();
                var visible = await index.WaitForVisibleAsync(kind, w.Id, w.Version, Timeout, http.RequestAborted);
                http.Response.Headers[VisibleHeader] = visible ? "true" : "false";
            }
            return result;
        });
        return group;
    }

    private static bool Requested(HttpRequest request)
    {
        if (!request.Query.TryGetValue(Parameter, out var values))
        {
            return false;
        }
        return values.ToString().Trim().ToLowerInvariant() switch
        {
            "wait_for" or "true" => true,
            "false" or "" => false,
            _ => throw new ValidationFailedException(Parameter, "refresh must be wait_for (answer once the change is searchable on this silo) or false."),
        };
    }

    private static (Guid Id, long Version)? Written(object? result)
    {
        while (result is INestedHttpResult nested)
        {
            result = nested.Result;
        }
        return (result as IValueHttpResult)?.Value switch
        {
            Investigation i => (i.Id, i.Version),
            Event e => (e.Id, e.Version),
            _ => null,
        };
    }

    /// <summary>For answers without the record (a note, a delete): the record's version now.</summary>
    private static async Task<(Guid, long)?> CurrentVersionAsync(HttpContext http, IndexedKind kind)
    {
        if (!Guid.TryParse(http.GetRouteValue("id")?.ToString(), out var id))
        {
            return null;
        }
        var grains = http.RequestServices.GetRequiredService<IGrainFactory>();
        long? version = kind == IndexedKind.Investigation
            ? (await grains.GetGrain<IInvestigationGrain>(id).GetAsync(includeDeleted: true))?.Version
            : (await grains.GetGrain<IEventGrain>(id).GetAsync(includeDeleted: true))?.Version;
        return version is { } v ? (id, v) : null;
    }
}
