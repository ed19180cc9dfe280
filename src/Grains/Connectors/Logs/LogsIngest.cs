using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using RootCause.Common;
using RootCause.Events;

namespace RootCause.Connectors.Logs;

/// <summary>What one batch of records became.</summary>
public sealed record LogsTally
{
    public int Records { get; init; }
    public int Errors { get; init; }
    public int Malformed { get; init; }
    public IReadOnlyList<WebhookEvent> Events { get; init; } = [];
    public IReadOnlyList<long> DeadLetterIds { get; init; } = [];
    public int Created => Events.Count(e => e.Created);
    public int Existing => Events.Count(e => !e.Created);
}

/// <summary>
/// The one path every logs input (receiver, file, Loki, Elasticsearch) hands its batches to:
/// malformed lines go to the dead-letter queue (format <c>log_line</c>), errors are counted per
/// service and minute and folded into each service's <see cref="ILogSpikeGrain"/>, and the single
/// errors the connector keeps become <c>log_error</c> events through <see cref="ConnectorIngest"/>.
/// </summary>
public sealed class LogsIngest(IGrainFactory grains, ConnectorIngest ingest, IDeadLetterQueue deadLetters, TimeProvider time)
{
    public const int MaxServiceLength = 100;

    public async Task<LogsTally> IngestAsync(string connector, ConnectorConfig config, LogBatch batch, string via, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(batch);
        var deadLetterIds = new List<long>();
        if (batch.Malformed.Count > 0)
        {
            deadLetterIds.Add(await LogLineDeadLetter.RecordAsync(deadLetters, connector, batch.Malformed, cancellationToken));
        }

        var now = time.GetUtcNow();
        var errors = batch.Records.Where(r => r.IsError).Select(r => (Record: r, Service: ServiceOf(r, config), At: TimeOf(r, now))).ToList();
        var observations = errors.GroupBy(e => e.Service, StringComparer.Ordinal).Select(service => (service.Key, new ErrorObservation
        {
            Connector = connector,
            Via = via,
            Factor = config.SpikeFactor ?? ErrorSpikeDetector.DefaultFactor,
            MinCount = config.SpikeMinCount ?? ErrorSpikeDetector.DefaultMinCount,
            Minutes = service.GroupBy(e => e.At.ToUnixTimeSeconds() / 60).Select(minute => new MinuteErrors
            {
                Minute = minute.Key,
                Count = minute.Count(),
                Groups = minute.GroupBy(e => ErrorSpikeDetector.GroupKey(e.Record.ExceptionType, MessageOf(e.Record)), StringComparer.Ordinal)
                    .Select(g => new ErrorGroup(g.First().Record.ExceptionType, MessageOf(g.First().Record), g.Count()))
                    .OrderByDescending(g => g.Count).Take(ErrorSpikeDetector.MaxGroups).ToList(),
                SampleStackTrace = minute.Select(e => e.Record.StackTrace).FirstOrDefault(s => s is not null),
            }).ToList(),
        })).ToList();
        var spikes = await Task.WhenAll(observations.Select(o => grains.GetGrain<ILogSpikeGrain>(o.Key).ObserveAsync(o.Item2)));

        var keep = config.KeepErrors ?? LogErrorsKept.Fatal;
        var drafts = errors
            .Where(e => keep == LogErrorsKept.All || (keep == LogErrorsKept.Fatal && e.Record.Level == LogRecordLevel.Fatal))
            .Select(e => ErrorDraft(e.Record, e.Service, e.At, new Provenance(connector, via)))
            .ToList();
        var tally = drafts.Count == 0 ? new IngestTally() : await ingest.IngestAsync(connector, drafts, cancellationToken: cancellationToken);
        return new LogsTally
        {
            Records = batch.Records.Count,
            Errors = errors.Count,
            Malformed = batch.Malformed.Count,
            Events = [.. spikes.SelectMany(s => s).Select(s => s.ToEvent()), .. tally.Events],
            DeadLetterIds = [.. deadLetterIds, .. tally.DeadLetterIds],
        };
    }

    /// <summary>The <c>log_error</c> draft of one record: source id from the record's own id, else a hash of service, time and message.</summary>
    public static EventDraft ErrorDraft(LogRecord record, string service, DateTimeOffset at, Provenance provenance)
    {
        ArgumentNullException.ThrowIfNull(record);
        var id = record.Id ?? Hash($"{service}\n{at:O}\n{record.ExceptionType}\n{record.Message}\n{record.Raw}");
        var data = new JsonObject
        {
            ["service"] = service,
            ["level"] = RootCauseJson.Name(record.Level),
            ["message"] = record.Message is null ? null : LogShapes.Cut(record.Message),
            ["exception_type"] = record.ExceptionType,
            ["exception_message"] = record.ExceptionMessage,
            ["stack_trace"] = record.StackTrace is null ? null : LogShapes.Cut(record.StackTrace),
            ["logger"] = record.Logger,
            ["host"] = record.Host,
            ["trace_id"] = record.TraceId,
            ["shape"] = record.Shape,
        };
        var draft = ConnectorDrafts.Create(EventSource.Logs, $"log:{service}:{id}", "log_error", at,
            record.Level == LogRecordLevel.Fatal ? EventSeverity.High : EventSeverity.Medium, data, provenance);
        // The raw reference: the line as it came.
        var metadata = JsonNode.Parse(draft.Metadata)!.AsObject();
        metadata["raw"] = record.Raw;
        metadata["level_text"] = record.LevelText;
        return draft with { Metadata = metadata.ToJsonString() };
    }

    public static string ServiceOf(LogRecord record, ConnectorConfig config)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(config);
        var name = (record.Service ?? config.Service ?? "unknown").Trim();
        if (name.Length == 0)
        {
            name = "unknown";
        }
        name = new string(name.Select(c => char.IsWhiteSpace(c) || char.IsControl(c) ? '_' : c).ToArray());
        return name.Length > MaxServiceLength ? name[..MaxServiceLength] : name;
    }

    /// <summary>The record's own time; the receiving time when it has none or claims one from the future (a skewed clock).</summary>
    public static DateTimeOffset TimeOf(LogRecord record, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Timestamp is { } t && t <= now + TimeSpan.FromMinutes(1) && t.Year >= 1970 ? t : now;
    }

    private static string MessageOf(LogRecord record)
    {
        var message = record.ExceptionMessage ?? record.Message ?? "";
        return message.Length > 300 ? message[..300] : message;
    }

    private static string Hash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 12));
}
