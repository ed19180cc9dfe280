using System.Text.Json.Serialization;
using RootCause.Common;
using RootCause.Linking;

namespace RootCause.Events;

/// <summary>The stored form of an event. <c>data</c> and <c>metadata</c> are stored as JSON objects.</summary>
public sealed class EventState
{
    /// <summary>1: every field of the event. 2: dedup key, references, link records, linker check (absent in 1: empty).</summary>
    public const int CurrentSchemaVersion = 2;

    public int SchemaVersion { get; set; }
    public Guid Id { get; set; }
    public DateTimeOffset Timestamp { get; set; }
    public EventSource Source { get; set; }
    public string? SourceId { get; set; }
    public string? EventType { get; set; }
    public EventSeverity Severity { get; set; }
    [JsonConverter(typeof(RawJsonConverter))]
    public string Data { get; set; } = "{}";
    [JsonConverter(typeof(RawJsonConverter))]
    public string Metadata { get; set; } = "{}";
    public List<string>? Tags { get; set; }
    public List<Guid>? InvestigationIds { get; set; }
    public DateTimeOffset ParsedAt { get; set; }
    public DateTimeOffset? LinkedAt { get; set; }
    public DateTimeOffset? DeletedAt { get; set; }
    public long Version { get; set; }
    public string? DedupKey { get; set; }
    public List<EventReference>? References { get; set; }
    public DateTimeOffset? LinkerCheckedAt { get; set; }
    public List<EventLink>? Links { get; set; }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool Exists => Id != Guid.Empty;

    /// <summary>A copy whose lists can be changed without touching this one.</summary>
    /// <summary>
    /// The state a first ingest stores: version 1, nothing linked. The one place that builds it, so
    /// every writer (the grain, bulk loaders) stores the same bytes for the same event.
    /// </summary>
    public static EventState Ingested(EventDraft draft, EventRules.Checked valid, DateTimeOffset parsedAt) => new()
    {
        SchemaVersion = CurrentSchemaVersion,
        Id = EventKeys.For(draft with { SourceId = valid.SourceId }),
        Source = draft.Source,
        SourceId = valid.SourceId,
        EventType = valid.EventType,
        Timestamp = draft.Timestamp,
        Severity = draft.Severity,
        Data = valid.Data,
        Metadata = valid.Metadata,
        Tags = [.. valid.Tags],
        InvestigationIds = [],
        ParsedAt = parsedAt,
        Version = 1,
        DedupKey = string.IsNullOrWhiteSpace(draft.DedupKey) ? null : draft.DedupKey.Trim(),
        References = [new EventReference(valid.SourceId, Via(draft), parsedAt)],
        Links = [],
    };

    /// <summary>The route a draft names, or null.</summary>
    public static string? Via(EventDraft draft) => string.IsNullOrWhiteSpace(draft.Via) ? null : draft.Via.Trim();

    public EventState CloneState()
    {
        var copy = (EventState)MemberwiseClone();
        copy.Tags = Tags is null ? null : [.. Tags];
        copy.InvestigationIds = InvestigationIds is null ? null : [.. InvestigationIds];
        copy.References = References is null ? null : [.. References];
        copy.Links = Links is null ? null : [.. Links];
        return copy;
    }

    public Event ToEvent() => new()
    {
        Id = Id,
        Timestamp = Timestamp,
        Source = Source,
        SourceId = SourceId ?? "",
        EventType = EventType ?? "",
        Severity = Severity,
        Data = Data,
        Metadata = Metadata,
        Tags = Tags?.ToArray() ?? [],
        InvestigationIds = InvestigationIds?.ToArray() ?? [],
        ParsedAt = ParsedAt,
        LinkedAt = LinkedAt,
        DeletedAt = DeletedAt,
        Version = Version,
        DedupKey = DedupKey,
        References = References?.ToArray() ?? [],
        LinkerCheckedAt = LinkerCheckedAt,
        Links = Links?.ToArray() ?? [],
    };
}
