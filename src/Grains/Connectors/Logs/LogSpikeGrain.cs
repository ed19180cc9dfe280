using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using RootCause.Common;
using RootCause.Events;

namespace RootCause.Connectors.Logs;

/// <summary>
/// Error-spike detection for one service (key: the service name), shared by every logs connector
/// that sees the service. Its state is persisted after every batch, so a deactivation neither
/// forgets the baseline nor emits a spike twice; and the spike's dedup key
/// (<c>error_spike:&lt;service&gt;:&lt;window start&gt;</c>) folds a re-detection into the same event should
/// the state ever be lost.
/// </summary>
[Alias("rc.ILogSpikeGrain")]
public interface ILogSpikeGrain : IGrainWithStringKey
{
    /// <summary>Folds a batch's errors in; returns the spike events written (created or grown) because of it.</summary>
    Task<IReadOnlyList<SpikeWritten>> ObserveAsync(ErrorObservation observation);
}

/// <summary>A spike event written by <see cref="ILogSpikeGrain.ObserveAsync"/>: created, or rewritten as the spike grew.</summary>
[GenerateSerializer, Immutable, Alias("rc.LogSpikeWritten")]
public sealed record SpikeWritten([property: Id(0)] Guid Id, [property: Id(1)] bool Created, [property: Id(2)] string SourceId)
{
    public WebhookEvent ToEvent() => new(Id, Created, "error_spike", SourceId);
}

public sealed class LogSpikeState
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; }

    public SpikeDetectorState Detector { get; set; } = new();
}

[GrainType("log-spikes")]
public sealed partial class LogSpikeGrain(
    [PersistentState("log-spikes", StorageNames.Default)] IPersistentState<LogSpikeState> store,
    ConnectorIngest ingest,
    ILogger<LogSpikeGrain> logger) : Grain, ILogSpikeGrain
{
    private string Service => this.GetPrimaryKeyString();

    public async Task<IReadOnlyList<SpikeWritten>> ObserveAsync(ErrorObservation observation)
    {
        var due = ErrorSpikeDetector.Observe(store.State.Detector, observation);
        var written = new List<SpikeWritten>();
        try
        {
            foreach (var episode in due)
            {
                written.Add(await WriteAsync(episode));
            }
        }
        finally
        {
            // What was counted is kept even when a write failed: the next batch retries the write.
            store.State.SchemaVersion = LogSpikeState.CurrentSchemaVersion;
            await store.WriteStateAsync();
        }
        return written;
    }

    private async Task<SpikeWritten> WriteAsync(SpikeEpisode episode)
    {
        var draft = Draft(Service, episode);
        WebhookEvent result;
        if (!episode.Emitted)
        {
            var tally = await ingest.IngestAsync(episode.Connector, [draft]);
            result = tally.Events.Count == 1 ? tally.Events[0] : throw new InvalidOperationException($"spike {draft.SourceId} was refused: see the dead-letter queue");
            episode.Emitted = true;
            if (result.Created)
            {
                SpikeDetected(logger, Service, draft.SourceId, episode.Count, episode.Baseline);
                Remember(episode);
                return new SpikeWritten(result.Id, true, result.SourceId);
            }
        }
        // The event exists: it grows with the spike.
        var grain = GrainFactory.GetGrain<IEventGrain>(EventKeys.For(draft));
        var current = await grain.GetAsync() ?? throw new InvalidOperationException($"spike event {draft.SourceId} has gone");
        var changes = new EventChanges
        {
            EventType = current.EventType,
            Timestamp = current.Timestamp,
            Severity = draft.Severity,
            Data = draft.Data,
            Tags = current.Tags,
            Metadata = current.Metadata,
        };
        var updated = await grain.UpdateAsync(changes, current.Version);
        Remember(episode);
        return new SpikeWritten(updated.Id, false, updated.SourceId);
    }

    private static void Remember(SpikeEpisode episode)
    {
        episode.WrittenCount = episode.Count;
        episode.WrittenLastMinute = episode.LastMinute;
    }

    /// <summary>The <c>error_spike</c> draft of a spike as it stands (docs/events.md).</summary>
    public static EventDraft Draft(string service, SpikeEpisode episode)
    {
        ArgumentNullException.ThrowIfNull(episode);
        var start = DateTimeOffset.UnixEpoch.AddMinutes(episode.StartMinute);
        var end = DateTimeOffset.UnixEpoch.AddMinutes(episode.LastMinute + 1);
        var window = start.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var top = new JsonArray();
        foreach (var group in episode.Groups.Values.OrderByDescending(g => g.Count).ThenBy(g => g.Message, StringComparer.Ordinal).Take(5))
        {
            top.Add(new JsonObject { ["exception_type"] = group.Type, ["message"] = group.Message, ["count"] = group.Count });
        }
        var data = new JsonObject
        {
            ["service"] = service,
            ["count"] = episode.Count,
            ["baseline_per_minute"] = Math.Round(episode.Baseline, 2),
            ["threshold_per_minute"] = Math.Round(episode.Threshold, 2),
            ["peak_per_minute"] = episode.PeakPerMinute,
            ["window_start"] = start,
            ["window_end"] = end,
            ["top_errors"] = top,
            ["sample_stack_trace"] = episode.SampleStackTrace,
        };
        return ConnectorDrafts.Create(EventSource.Logs, $"spike:{service}:{window}", "error_spike", start, ErrorSpikeDetector.Severity(episode),
            data, new Provenance(episode.Connector, episode.Via) { UpstreamEvent = "error_spike" }, dedupKey: $"error_spike:{service}:{window}");
    }

    [LoggerMessage(EventId = 4130, Level = LogLevel.Warning,
        Message = "Error spike in {Service}: {SourceId}, {Count} errors against a baseline of {Baseline:0.##} per minute")]
    private static partial void SpikeDetected(ILogger logger, string service, string sourceId, int count, double baseline);
}
