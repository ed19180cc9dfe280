using RootCause.Events;

namespace RootCause.Connectors.Metrics;

/// <summary>What one evaluation of a prometheus connector found and handed on.</summary>
public sealed record MetricsPass(int Series, int Anomalies, IReadOnlyList<EventDraft> Drafts);

/// <summary>
/// One evaluation of a prometheus connector over a window: each query's range over the window
/// and the <c>lookback</c> before it (the baseline's history), anomalies found in the window's
/// points, folded per instance and window into <c>metric_anomaly</c> drafts.
/// </summary>
public sealed class PrometheusPoller(PrometheusClient client)
{
    /// <summary>The built-in queries, used when a connector lists none.</summary>
    public static readonly IReadOnlyList<MetricQuery> DefaultQueries =
    [
        new() { Name = "process_cpu_seconds_rate", Query = "rate(process_cpu_seconds_total[2m])" },
        new() { Name = "process_resident_memory_bytes", Query = "process_resident_memory_bytes" },
        new()
        {
            Name = "disk_free_ratio",
            Query = """node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}""",
            Below = 0.10,
            Severity = EventSeverity.Critical,
            DetectSpikes = false,
        },
    ];

    public PrometheusClient Client => client;

    public async Task<MetricsPass> EvaluateAsync(string connector, ConnectorConfig config, ConnectorPipeline pipeline,
        DateTimeOffset windowStart, DateTimeOffset windowEnd, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(pipeline);
        var step = config.Step ?? TelemetryRules.DefaultStep;
        var lookback = config.Lookback ?? TelemetryRules.DefaultMetricsLookback;
        var sensitivity = config.Sensitivity ?? TelemetryRules.DefaultSensitivity;
        var bearer = config.Secret is null ? null
            : SecretReferences.Resolve(config.Secret) ?? throw new InvalidOperationException($"the secret reference {config.Secret} does not resolve on this silo.");
        var queries = config.Queries is { Count: > 0 } configured ? configured : DefaultQueries;
        var anomalies = new List<MetricAnomaly>();
        var seriesCount = 0;
        foreach (var query in queries)
        {
            var series = await pipeline.ExecuteAsync(async ct =>
                await client.QueryRangeAsync(config.Url!, query.Query!, windowStart - lookback, windowEnd, step, bearer, ct), cancellationToken);
            seriesCount += series.Count;
            anomalies.AddRange(AnomalyDetector.Detect(query, series, windowStart, windowEnd, sensitivity));
        }
        var drafts = AnomalyDetector.Correlate(anomalies, step, new Provenance(connector, "prometheus_poll"), config.Url);
        return new MetricsPass(seriesCount, anomalies.Count, drafts);
    }
}
