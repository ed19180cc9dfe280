using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scalar.AspNetCore;
using RootCause.Api.Admin;
using RootCause.Api.Catalog;
using RootCause.Api.Common;
using RootCause.Api.Connectors;
using RootCause.Api.Events;
using RootCause.Api.Investigations;
using RootCause.Api.Receivers;
using RootCause.Api.Search;
using RootCause.Common;

namespace RootCause.Api;

public static class ApiRegistration
{
    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public const long MaxRequestBodyBytes = 1024 * 1024;

    public static IHostApplicationBuilder AddRootCauseApi(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.Configure<JsonOptions>(o => RootCauseJson.Configure(o.SerializerOptions));
        // Binding failures throw so the exception handler can name the field in a ProblemDetails.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<KestrelServerOptions>(o => o.Limits.MaxRequestBodySize = MaxRequestBodyBytes);
        services.AddOtlpGrpc(builder.Configuration);
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "RootCause API";
            document.Info.Description = "Investigations, events and their links. Errors are RFC 9457 problem details.";
            return Task.CompletedTask;
        }));
        return builder;
    }

    public static IEndpointRouteBuilder MapRootCauseApi(this IEndpointRouteBuilder routes)
    {
        routes.MapInvestigations();
        routes.MapEvents();
        routes.MapCatalog();
        routes.MapAnalytics();
        routes.MapSearchAdmin();
        routes.MapDeadLetters();
        routes.MapCircuitBreakers();
        routes.MapConnectors();
        routes.MapReceivers();
        routes.MapTelemetryReceivers();
        routes.MapOpenApi("/openapi/v1.json");
        routes.MapScalarApiReference("/docs/api", o => o.WithTitle("RootCause API").WithOpenApiRoutePattern("/openapi/v1.json"));
        return routes;
    }
}
