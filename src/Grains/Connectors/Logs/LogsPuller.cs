using System.Net;
using RootCause.Common;

namespace RootCause.Connectors.Logs;

/// <summary>What a pulled batch did, for the run's counters.</summary>
public sealed record PulledBatch(int Found, LogsTally Tally);

/// <summary>
/// The pulled inputs of a logs connector (file, Loki, Elasticsearch), run by
/// <see cref="ConnectorGrain"/> on its reminder or on <c>sync</c>: batch after batch from the
/// cursor on, each ingested through <see cref="LogsIngest"/> before the cursor moves past it, so a
/// silo stopping at any moment leaves no gap. Every upstream call goes through the connector's
/// resilience pipeline (retries, breaker, rate limit, timeout).
/// </summary>
public sealed class LogsPuller(LogsIngest logs, ConnectorResilience resilience, TimeProvider time) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        AutomaticDecompression = DecompressionMethods.All,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>Batches per run at most, so one run cannot hold the connector for ever; the next run goes on.</summary>
    public const int MaxBatchesPerRun = 1000;

    /// <summary>Reads on from the connector's cursor up to now; <paramref name="advance"/> stores each batch's position.</summary>
    public Task SyncAsync(string connector, ConnectorConfig config, string? position,
        Func<PulledBatch, string, Task> advance, CancellationToken cancellationToken) =>
        RunAsync(connector, config, position, time.GetUtcNow(), advance, cancellationToken);

    /// <summary>
    /// Reads a time range of a Loki or Elasticsearch connector again, from <paramref name="from"/> up to
    /// <paramref name="to"/>, without touching the cursor (events already stored are found, not
    /// duplicated). A file or push connector has no range to read.
    /// </summary>
    public Task BackfillAsync(string connector, ConnectorConfig config, DateTimeOffset from, DateTimeOffset to,
        Func<PulledBatch, Task> report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(report);
        // The positions are the upstreams' own: nanoseconds for Loki, milliseconds for Elasticsearch.
        var start = config.Input switch
        {
            LogsInput.Loki => ((from - DateTimeOffset.UnixEpoch).Ticks * 100).ToString(System.Globalization.CultureInfo.InvariantCulture),
            LogsInput.Elasticsearch => from.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new StateConflictException("input", "only loki and elasticsearch logs connectors read a time range again; a file or push connector reads on from its cursor."),
        };
        return RunAsync(connector, config, start, to, (batch, _) => report(batch), cancellationToken);
    }

    private async Task RunAsync(string connector, ConnectorConfig config, string? position, DateTimeOffset now,
        Func<PulledBatch, string, Task> advance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(advance);
        var pipeline = resilience.For(connector);
        var input = config.Input ?? LogsInput.Push;
        var via = "logs_" + RootCauseJson.Name(input);
        var authorization = config.Secret is null ? null
            : SecretReferences.Resolve(config.Secret) ?? throw new InvalidOperationException($"the secret {config.Secret} cannot be read on this silo");
        System.Text.Json.JsonElement? searchAfter = null;
        for (var i = 0; i < MaxBatchesPerRun; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            LogBatch batch;
            string next;
            bool more;
            switch (input)
            {
                case LogsInput.File:
                    var chunk = await pipeline.ExecuteAsync(ct => new ValueTask<FileChunk?>(Task.Run(() => FileTail.ReadNext(config.Path!, position), ct)), cancellationToken);
                    if (chunk is null)
                    {
                        return;
                    }
                    batch = chunk.Bytes.Length == 0 ? LogBatch.Empty : LogBatchParser.Parse(chunk.Bytes, "application/x-ndjson");
                    (next, more) = (chunk.Position, chunk.HasMore);
                    break;
                case LogsInput.Loki:
                    var from = position;
                    var loki = await pipeline.ExecuteAsync(ct => new ValueTask<UpstreamPage>(LokiQuery.PageAsync(_http, config, authorization, from, now, ct)), cancellationToken);
                    batch = new LogBatch(loki.Records, []);
                    (next, more) = (loki.Position, loki.HasMore);
                    break;
                case LogsInput.Elasticsearch:
                    var at = position;
                    var after = searchAfter;
                    var page = await pipeline.ExecuteAsync(ct => new ValueTask<UpstreamPage>(ElasticsearchQuery.PageAsync(_http, config, authorization, at, after, now, ct)), cancellationToken);
                    batch = new LogBatch(page.Records, []);
                    (next, more, searchAfter) = (page.Position, page.HasMore, page.SearchAfter);
                    break;
                default:
                    throw new StateConflictException("input", "a push connector has nothing to pull: shippers send to its receiver.");
            }
            var tally = await logs.IngestAsync(connector, config, batch, via, cancellationToken);
            position = next;
            await advance(new PulledBatch(batch.Records.Count + batch.Malformed.Count, tally), next);
            if (!more)
            {
                return;
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
