using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RootCause.Connectors;

public static class ConnectorsRegistration
{
    /// <summary>
    /// The connectors' common base: the resilience pipelines (and the breaker registry), their
    /// metrics, the dead-letter queue, its replayer and parser registry, and the depth gauge's
    /// refresher. Needs the <c>NpgsqlDataSource</c> and <see cref="TimeProvider"/> of the silo.
    /// </summary>
    public static IServiceCollection AddRootCauseConnectors(this IServiceCollection services)
    {
        services.AddOptions<ConnectorResilienceOptions>()
            .BindConfiguration(ConnectorResilienceOptions.Section)
            .Validate(o => Validator.TryValidateObject(o, new ValidationContext(o), null, validateAllProperties: true),
                $"{ConnectorResilienceOptions.Section} holds a value out of range.")
            .ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<ConnectorMetrics>();
        services.AddSingleton<ConnectorResilience>();
        services.AddSingleton<DeadLetterQueue>();
        services.AddSingleton<IDeadLetterQueue>(sp => sp.GetRequiredService<DeadLetterQueue>());
        services.AddSingleton<DeadLetterParsers>();
        services.AddSingleton<DeadLetterReplayer>();
        services.AddSingleton<IDeadLetterReplayer>(sp => sp.GetRequiredService<DeadLetterReplayer>());
        services.AddHostedService<DeadLetterDepthMonitor>();
        services.AddRootCauseConnectorKinds();
        return services;
    }

    /// <summary>
    /// Keeps the DLQ depth gauge current although other silos add and remove entries: reads the
    /// pending count at start and every 30 seconds.
    /// </summary>
    private sealed class DeadLetterDepthMonitor(DeadLetterQueue queue, TimeProvider time, ILogger<DeadLetterDepthMonitor> logger) : BackgroundService
    {
        private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(Interval, time);
            do
            {
                try
                {
                    await queue.RefreshDepthAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Could not read the dead-letter queue depth");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
    }
}
