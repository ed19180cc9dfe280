using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using RootCause.Common;
using RootCause.Connectors;

namespace RootCause.Api.Admin;

/// <summary>
/// The circuit breakers of the connectors running on the silo that answers (each silo protects
/// the connectors it hosts).
/// </summary>
public static class CircuitBreakersApi
{
    public static IEndpointRouteBuilder MapCircuitBreakers(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin").WithTags("Admin");
        group.MapGet("/circuit-breaker-status", (ICircuitBreakerRegistry registry) => TypedResults.Ok(registry.All()))
            .WithSummary("Every connector's breaker on this silo: state, consecutive failures, opened_at, half_open_at, last error");
        group.MapPost("/circuit-breaker/{connector}/reset", Reset)
            .WithSummary("Close a connector's circuit and clear its failure count");
        return routes;
    }

    private static Ok<CircuitBreakerStatus> Reset(string connector, ICircuitBreakerRegistry registry) =>
        TypedResults.Ok(registry.Reset(connector) ?? throw new NotFoundException("connector", connector));
}
