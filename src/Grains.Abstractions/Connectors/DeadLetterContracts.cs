using RootCause.Events;

namespace RootCause.Connectors;

/// <summary>Where a dead letter stands.</summary>
public enum DeadLetterStatus
{
    /// <summary>Failed and waiting for a replay or a delete; counts towards the queue depth.</summary>
    Pending,

    /// <summary>Replayed successfully; kept so operators can see what became of it.</summary>
    Replayed,
}

/// <summary>
/// A payload a connector could not parse or ingest after its retries. The same payload failing
/// again (same connector, source, kind, content type and bytes) is the same dead letter with one
/// more attempt, not a new one.
/// </summary>
public sealed record DeadLetter
{
    public long Id { get; init; }

    /// <summary>The connector's id.</summary>
    public required string Connector { get; init; }

    /// <summary>The event source the payload was meant for.</summary>
    public EventSource Source { get; init; }

    /// <summary>The payload's format, which picks the parser a replay uses (e.g. <c>event_draft</c>).</summary>
    public required string Kind { get; init; }

    public required string ContentType { get; init; }

    /// <summary>The raw payload, byte for byte (empty in lists, which carry only its size).</summary>
    public required byte[] Payload { get; init; }

    public int PayloadSize { get; init; }

    /// <summary>The last failure's message.</summary>
    public required string Error { get; init; }

    /// <summary>Failed attempts so far: the original one, repeats of it, and failed replays.</summary>
    public int Attempts { get; init; }

    public DateTimeOffset FirstFailedAt { get; init; }

    public DateTimeOffset LastFailedAt { get; init; }

    public DeadLetterStatus Status { get; init; }

    public DateTimeOffset? ReplayedAt { get; init; }

    /// <summary>The events the last successful replay produced.</summary>
    public IReadOnlyList<Guid> ReplayedEventIds { get; init; } = [];
}

/// <summary>A failure to record in the dead-letter queue.</summary>
public sealed record DeadLetterFailure
{
    public required string Connector { get; init; }

    public EventSource Source { get; init; }

    public required string Kind { get; init; }

    public string ContentType { get; init; } = "application/json";

    public required byte[] Payload { get; init; }

    public required string Error { get; init; }

    /// <summary>Attempts this failure stands for (a payload that failed after 5 retries is 6).</summary>
    public int Attempts { get; init; } = 1;
}

/// <summary>Filters and paging for a dead-letter list. Empty filters match everything.</summary>
public sealed record DeadLetterQuery
{
    public IReadOnlyList<string> Connectors { get; init; } = [];

    public IReadOnlyList<EventSource> Sources { get; init; } = [];

    public IReadOnlyList<DeadLetterStatus> Statuses { get; init; } = [];

    public int Page { get; init; } = 1;

    public int PerPage { get; init; } = 20;
}

/// <summary>One page of dead letters, newest failure first, and the number of all matches.</summary>
public sealed record DeadLetterPage(IReadOnlyList<DeadLetter> Items, long Total, int Page, int PerPage);

/// <summary>The dead-letter queue (table <c>event_dlq</c>), shared by every silo.</summary>
public interface IDeadLetterQueue
{
    /// <summary>Stores a failure, or adds its attempts to the pending entry of the same payload.</summary>
    Task<DeadLetter> RecordFailureAsync(DeadLetterFailure failure, CancellationToken cancellationToken = default);

    Task<DeadLetterPage> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken = default);

    Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Removes an entry; false when there was none.</summary>
    Task<bool> DeleteAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Pending entries.</summary>
    Task<long> DepthAsync(CancellationToken cancellationToken = default);
}

/// <summary>The event a replay ingested, and whether the replay created it.</summary>
public sealed record ReplayedEvent(Guid Id, bool Created);

/// <summary>
/// The outcome of replaying one dead letter. A failed replay names the failure
/// (<see cref="PayloadRejected"/> when the payload itself is at fault) and the entry's attempts.
/// </summary>
public sealed record ReplayOutcome
{
    public long Id { get; init; }

    public bool Succeeded { get; init; }

    public IReadOnlyList<ReplayedEvent> Events { get; init; } = [];

    public string? Error { get; init; }

    /// <summary>True when the payload cannot become events (no parser, unreadable, invalid), false for infrastructure failures.</summary>
    public bool PayloadRejected { get; init; }

    public int Attempts { get; init; }
}

/// <summary>Counts of a bulk replay.</summary>
public sealed record BulkReplayResult(int Replayed, int Failed, IReadOnlyList<ReplayOutcome> Outcomes);

/// <summary>
/// Turns dead letters back into events and ingests them through <c>IEventGrain.IngestAsync</c>.
/// Event ids derive from (source, source_id), so replaying a payload whose events already exist
/// yields the same events (Created = false), never duplicates.
/// </summary>
public interface IDeadLetterReplayer
{
    /// <summary>Replays one entry; a failure is recorded on the entry (attempts + 1) and returned, not thrown.</summary>
    /// <exception cref="RootCause.Common.NotFoundException">There is no entry with that id.</exception>
    Task<ReplayOutcome> ReplayAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Replays up to <paramref name="max"/> pending entries matching the query's filters, oldest failure first.</summary>
    Task<BulkReplayResult> ReplayManyAsync(DeadLetterQuery filters, int max, CancellationToken cancellationToken = default);
}
