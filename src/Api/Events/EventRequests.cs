using System.Text.Json;
using RootCause.Api.Common;
using RootCause.Common;
using RootCause.Events;

namespace RootCause.Api.Events;

/// <summary>The body of POST /api/events (ingest) and PUT /api/events/{id}.</summary>
public sealed record EventRequest
{
    /// <summary>git, ci, logs, metrics, traces, manual. Required on POST; ignored on PUT.</summary>
    public string? Source { get; init; }
    /// <summary>The upstream's own id. On POST it is the dedup key; for manual events it may be omitted.</summary>
    public string? SourceId { get; init; }
    public string? EventType { get; init; }
    /// <summary>When it happened upstream; defaults to now on POST.</summary>
    public DateTimeOffset? Timestamp { get; init; }
    /// <summary>critical, high, medium, low, info (default info).</summary>
    public string? Severity { get; init; }
    public JsonElement? Data { get; init; }
    public List<string>? Tags { get; init; }
    public JsonElement? Metadata { get; init; }
    /// <summary>On PUT: the version you read, unless you send If-Match.</summary>
    public long? Version { get; init; }
    /// <summary>On POST: names the occurrence across routes (e.g. commit:&lt;sha&gt;), so its reports fold into one event.</summary>
    public string? DedupKey { get; init; }
    /// <summary>On POST: the route this report came by (e.g. github_push, git_poll); kept in the event's references.</summary>
    public string? Via { get; init; }

    internal EventDraft ToDraft(DateTimeOffset now)
    {
        var errors = new ValidationErrors();
        var source = EnumField.Required<EventSource>(errors, "source", Source);
        var data = ObjectText(errors, "data", Data);
        var metadata = ObjectText(errors, "metadata", Metadata);
        var severity = EnumField.Parse(errors, "severity", Severity, EventSeverity.Info);
        var sourceId = SourceId;
        if (string.IsNullOrWhiteSpace(sourceId))
        {
            if (source == EventSource.Manual)
            {
                sourceId = Guid.NewGuid().ToString("N");
            }
            else
            {
                errors.Add("source_id", "source_id is required (the upstream's own id; it is the deduplication key).");
            }
        }
        errors.ThrowIfAny();
        return new EventDraft
        {
            Source = source,
            SourceId = sourceId!.Trim(),
            EventType = EventType ?? "",
            Timestamp = Timestamp ?? now,
            Severity = severity,
            Data = data,
            Metadata = metadata,
            Tags = Tags ?? [],
            DedupKey = DedupKey,
            Via = Via,
        };
    }

    internal EventChanges ToChanges(Event current)
    {
        var errors = new ValidationErrors();
        var data = ObjectText(errors, "data", Data);
        var metadata = ObjectText(errors, "metadata", Metadata);
        var severity = EnumField.Parse(errors, "severity", Severity, current.Severity);
        errors.ThrowIfAny();
        return new EventChanges
        {
            EventType = EventType ?? "",
            Timestamp = Timestamp ?? current.Timestamp,
            Severity = severity,
            Data = data,
            Metadata = metadata,
            Tags = Tags ?? [],
        };
    }

    private static string ObjectText(ValidationErrors errors, string field, JsonElement? element)
    {
        if (element is not { } e || e.ValueKind == JsonValueKind.Null)
        {
            return "{}";
        }
        if (e.ValueKind != JsonValueKind.Object)
        {
            errors.Add(field, $"{field} must be a JSON object.");
            return "{}";
        }
        return e.GetRawText();
    }
}
