using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace RootCause.Silo.Health;

/// <summary>
/// /health/live: the process answers. /health/ready: PostgreSQL answers and this silo is an
/// active member of the cluster, so a load balancer only sends traffic to silos that can serve it.
/// </summary>
public static class HealthRegistration
{
    public static IHostApplicationBuilder AddRootCauseHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks()
            .AddCheck<PostgresCheck>("postgres", tags: ["ready"])
            .AddCheck<SiloCheck>("silo", tags: ["ready"]);
        return builder;
    }

    public static IEndpointRouteBuilder MapRootCauseHealth(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        routes.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteAsync });
        return routes;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString().ToLowerInvariant(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString().ToLowerInvariant(), description = e.Value.Description }),
        }));
    }

    private sealed class PostgresCheck(NpgsqlDataSource dataSource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = dataSource.CreateCommand("select 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy("reachable");
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy($"unreachable: {e.Message}");
            }
        }
    }

    private sealed class SiloCheck(IServiceProvider services) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var membership = services.GetRequiredService<IClusterMembershipService>();
            var self = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
            var status = membership.CurrentSnapshot.GetSiloStatus(self);
            return Task.FromResult(status == SiloStatus.Active
                ? HealthCheckResult.Healthy("active")
                : HealthCheckResult.Unhealthy($"silo is {status.ToString().ToLowerInvariant()}"));
        }
    }
}
