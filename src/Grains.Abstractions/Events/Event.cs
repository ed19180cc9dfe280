using System.Text.Json.Serialization;
using RootCause.Common;
using RootCause.Linking;

namespace RootCause.Events;

/// <summary>
/// An event as callers see it. <see cref="Data"/> and <see cref="Metadata"/> hold JSON object
/// text (never null: <c>{}</c> when empty) so they cross grain calls and storage unchanged.
/// </summary>
[GenerateSerializer, Immutable, Alias("rc.Event")]
public sealed record Event
{
    [Id(0)] public required Guid Id { get; init; }
    [Id(1)] public DateTimeOffset Timestamp { get; init; }
    [Id(2)] public EventSource Source { get; init; }
    [Id(3)] public required string EventType { get; init; }
    [Id(4), JsonConverter(typeof(RawJsonConverter))] public string Data { get; init; } = "{}";
    [Id(5)] public EventSeverity Severity { get; init; }
    [Id(6)] public IReadOnlyList<string> Tags { get; init; } = [];
    [Id(7)] public IReadOnlyList<Guid> InvestigationIds { get; init; } = [];
    [Id(8)] public required string SourceId { get; init; }
    [Id(9)] public DateTimeOffset ParsedAt { get; init; }
    [Id(10)] public DateTimeOffset? LinkedAt { get; init; }
    [Id(11), JsonConverter(typeof(RawJsonConverter))] public string Metadata { get; init; } = "{}";
    [Id(12)] public DateTimeOffset? DeletedAt { get; init; }
    [Id(13)] public long Version { get; init; }
    /// <summary>The key that folds reports of one occurrence arriving by different routes, when one was given.</summary>
    [Id(14)] public string? DedupKey { get; init; }
    /// <summary>Every distinct report of this occurrence (the first one included), oldest first.</summary>
    [Id(15)] public IReadOnlyList<EventReference> References { get; init; } = [];
    /// <summary>When the linker last scored this event against candidate investigations; null until it has.</summary>
    [Id(16)] public DateTimeOffset? LinkerCheckedAt { get; init; }
    /// <summary>The event's links, suggestions and recorded decisions, one per investigation, each with its reasons.</summary>
    [Id(17)] public IReadOnlyList<EventLink> Links { get; init; } = [];
}

/// <summary>One report of an event: the upstream id it came with, the route, and when it arrived.</summary>
[GenerateSerializer, Immutable, Alias("rc.EventReference")]
public sealed record EventReference(
    [property: Id(0)] string SourceId,
    [property: Id(1)] string? Via,
    [property: Id(2)] DateTimeOffset ReceivedAt);

/// <summary>
/// An event to ingest. Its identity is (<see cref="Source"/>, <see cref="DedupKey"/>) when a dedup key
/// is given, else (<see cref="Source"/>, <see cref="SourceId"/>): see <see cref="EventKeys.For"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("rc.EventDraft")]
public sealed record EventDraft
{
    [Id(0)] public EventSource Source { get; init; }
    [Id(1)] public required string SourceId { get; init; }
    [Id(2)] public required string EventType { get; init; }
    [Id(3)] public DateTimeOffset Timestamp { get; init; }
    [Id(4)] public EventSeverity Severity { get; init; } = EventSeverity.Info;
    [Id(5)] public string Data { get; init; } = "{}";
    [Id(6)] public IReadOnlyList<string> Tags { get; init; } = [];
    [Id(7)] public string Metadata { get; init; } = "{}";
    /// <summary>
    /// Names the occurrence independently of the route it came by (e.g. <c>commit:&lt;sha&gt;</c> from a push
    /// webhook and from the repository poller), so both reports fold into one event.
    /// </summary>
    [Id(8)] public string? DedupKey { get; init; }
    /// <summary>The route this report came by (e.g. github_push, git_poll, api); kept in the event's references.</summary>
    [Id(9)] public string? Via { get; init; }
}

/// <summary>The editable fields of an existing event (its identity cannot change).</summary>
[GenerateSerializer, Immutable, Alias("rc.EventChanges")]
public sealed record EventChanges
{
    [Id(0)] public required string EventType { get; init; }
    [Id(1)] public DateTimeOffset Timestamp { get; init; }
    [Id(2)] public EventSeverity Severity { get; init; }
    [Id(3)] public string Data { get; init; } = "{}";
    [Id(4)] public IReadOnlyList<string> Tags { get; init; } = [];
    [Id(5)] public string Metadata { get; init; } = "{}";
}

/// <summary>The outcome of an ingest: the stored event, and whether this call created it.</summary>
[GenerateSerializer, Immutable, Alias("rc.IngestResult")]
public sealed record IngestResult([property: Id(0)] Event Event, [property: Id(1)] bool Created);
