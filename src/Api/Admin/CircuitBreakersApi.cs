using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using RootCause.Common;
using RootCause.Connectors;

namespace RootCause.Api.Admin;

/// <summary>
/// The circuit breakers of the configured connectors, each read from the silo that runs the
/// connector (its grain), so every silo answers the same.
/// </summary>
public static class CircuitBreakersApi
{
    public static IEndpointRouteBuilder MapCircuitBreakers(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin").WithTags("Admin");
        group.MapGet("/circuit-breaker-status", StatusAsync)
            .WithSummary("Every connector's breaker, from the silo that runs it: state, consecutive failures, opened_at, half_open_at, last error");
        group.MapPost("/circuit-breaker/{connector}/reset", ResetAsync)
            .WithSummary("Close a connector's circuit and clear its failure count");
        return routes;
    }

    private static async Task<Ok<IReadOnlyList<CircuitBreakerStatus>>> StatusAsync(IGrainFactory grains)
    {
        var names = await grains.GetGrain<IConnectorDirectoryGrain>(0).ListAsync();
        var breakers = await Task.WhenAll(names.Select(name => grains.GetGrain<IConnectorGrain>(name).GetBreakerAsync()));
        return TypedResults.Ok<IReadOnlyList<CircuitBreakerStatus>>([.. breakers.OfType<CircuitBreakerStatus>().OrderBy(b => b.Connector, StringComparer.Ordinal)]);
    }

    private static async Task<Ok<CircuitBreakerStatus>> ResetAsync(string connector, IGrainFactory grains)
    {
        if (!ConnectorNames.IsValid(connector))
        {
            throw new NotFoundException("connector", connector);
        }
        return TypedResults.Ok(await grains.GetGrain<IConnectorGrain>(connector).ResetBreakerAsync() ?? throw new NotFoundException("connector", connector));
    }
}
