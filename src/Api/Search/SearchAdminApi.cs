using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using RootCause.Search;

namespace RootCause.Api.Search;

/// <summary>The search index of the silo that answers: its progress, and a rebuild on demand.</summary>
public static class SearchAdminApi
{
    public static RouteGroupBuilder MapSearchAdmin(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin/search").WithTags("Admin");
        group.MapGet("/status", (ISearchIndex index) => TypedResults.Ok(index.Status))
            .WithSummary("This silo's index: state (rebuilding, catching_up, live, failing), documents, change-feed horizon, rebuild progress, size");
        group.MapPost("/rebuild", Rebuild)
            .WithSummary("Rebuild this silo's index from PostgreSQL; queries answer from the old index until it is done");
        return group;
    }

    private static Accepted<IndexStatus> Rebuild(ISearchIndex index)
    {
        index.RequestRebuild("requested through the API");
        return TypedResults.Accepted("/api/admin/search/status", index.Status);
    }
}
