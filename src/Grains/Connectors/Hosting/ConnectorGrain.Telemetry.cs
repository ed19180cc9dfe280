using System.Globalization;
using RootCause.Connectors.Metrics;
using RootCause.Connectors.Traces;

namespace RootCause.Connectors;

/// <summary>The pollers of the observability kinds, shared by every connector grain of a silo (they hold the HTTP clients and the range cache).</summary>
public sealed record TelemetryPollers(PrometheusPoller Prometheus, JaegerTraces Jaeger);

public sealed partial class ConnectorGrain
{
    /// <summary>Kinds that poll their upstream on the reminder: git, prometheus, jaeger.</summary>
    /// <summary>Git polls a repository; a logs connector polls unless shippers push to it; prometheus and jaeger poll.</summary>
    private static bool Polls(ConnectorConfig config) =>
        config.Kind == ConnectorKind.Git || Logs.LogsRules.IsPulled(config) || (config.Kind is { } kind && TelemetryRules.Polls(kind));

    /// <summary>
    /// A prometheus or jaeger run. A sync covers the time from the cursor (a time) to now, less
    /// one step for Prometheus (the newest samples may not be scraped yet); the first sync the last
    /// poll interval; a cursor older than the lookback starts at the lookback (a long outage is not
    /// replayed point by point). A backfill covers [from, to) and leaves the cursor alone. The
    /// cursor moves once everything found in the window was ingested.
    /// </summary>
    private async Task PollTelemetryAsync(ConnectorConfig config, ConnectorRun run, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var lookback = config.Lookback ?? (config.Kind == ConnectorKind.Prometheus ? TelemetryRules.DefaultMetricsLookback : TelemetryRules.DefaultTracesLookback);
        var interval = config.PollInterval ?? ConnectorRules.DefaultPollInterval;
        DateTimeOffset start, end;
        if (run.Kind == ConnectorRunKind.Backfill)
        {
            (start, end) = (run.From!.Value, run.To!.Value < now ? run.To.Value : now);
        }
        else
        {
            end = config.Kind == ConnectorKind.Prometheus ? now - (config.Step ?? TelemetryRules.DefaultStep) : now;
            var first = end - (interval < lookback ? interval : lookback);
            start = store.State.Cursor?.At is { } cursor ? (cursor > end - lookback ? cursor : end - lookback) : first;
        }
        if (end <= start)
        {
            return;
        }
        var pipeline = resilience.For(Name);
        IReadOnlyList<Events.EventDraft> drafts;
        if (config.Kind == ConnectorKind.Prometheus)
        {
            var pass = await _telemetry.Prometheus.EvaluateAsync(Name, config, pipeline, start, end, cancellationToken);
            drafts = pass.Drafts;
            _progress = _progress! with { Found = _progress.Found + pass.Anomalies };
        }
        else
        {
            var bearer = config.Secret is null ? null
                : SecretReferences.Resolve(config.Secret) ?? throw new InvalidOperationException($"the secret reference {config.Secret} does not resolve on this silo.");
            var spans = new List<TraceSpan>();
            foreach (var service in config.Services ?? [])
            {
                spans.AddRange(await pipeline.ExecuteAsync(async ct =>
                    await _telemetry.Jaeger.SearchAsync(config.Url!, service, start, end, bearer, ct), cancellationToken));
            }
            // A trace found through two services is judged once.
            spans = [.. spans.DistinctBy(s => (s.TraceId, s.SpanId))];
            var analysis = await GrainFactory.GetGrain<ISpanAnalysisGrain>(Name).AnalyzeAsync(spans, TraceRules.From(config), "jaeger_poll", config.Url);
            drafts = analysis.Drafts;
            _progress = _progress! with { Found = _progress.Found + analysis.ProblemSpans };
        }
        var before = _progress!;
        await ingest.IngestAsync(Name, drafts, t => Report(before, t), cancellationToken);
        if (run.Kind == ConnectorRunKind.Sync)
        {
            var snapshot = _progress;
            await SaveAsync(s =>
            {
                s.Cursor = new ConnectorCursor { Position = end.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), At = end, AdvancedAt = now };
                s.LastRun = snapshot;
                s.Runs = Math.Max(s.Runs, snapshot?.Id ?? 0);
            });
        }
    }
}
