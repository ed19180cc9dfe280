using RootCause.Linking;

namespace RootCause.Events;

/// <summary>
/// One event, keyed by <see cref="EventKeys.IdFor"/>(source, source_id). Every mutating call
/// persists before it returns. Soft-deleted events are hidden from reads until restored.
/// </summary>
[Alias("rc.IEventGrain")]
public interface IEventGrain : IGrainWithGuidKey
{
    /// <summary>Stores the event if this grain holds none yet; otherwise returns the stored one unchanged.</summary>
    Task<IngestResult> IngestAsync(EventDraft draft);

    Task<Event?> GetAsync(bool includeDeleted = false);

    Task<Event> UpdateAsync(EventChanges changes, long expectedVersion);

    Task<Event> DeleteAsync();

    Task<Event> RestoreAsync();

    /// <summary>
    /// Records an engineer's decision about the pair (linked, unlinked or rejected) with who made it.
    /// Called by the investigation; the event's link record is the only place a link is stored. With <paramref name="onlyIfSuggested"/>, a
    /// decision on a pair that is not a pending suggestion (and not already decided the same way) is
    /// refused with a conflict. Idempotent.
    /// </summary>
    Task<Event> DecideLinkAsync(Guid investigationId, EventLinkStatus status, string decidedBy, string? note = null, bool onlyIfSuggested = false);

    /// <summary>
    /// Applies the linker's assessments of this event against some investigations: each pair becomes
    /// linked, suggested or is dropped as its decision says, except pairs an engineer decided, which
    /// keep their status and only refresh their reasons. With <paramref name="markChecked"/>, also
    /// records that the linker has evaluated the event. Returns once the result is stored (or
    /// nothing changed).
    /// </summary>
    Task ApplyAssessmentsAsync(IReadOnlyList<LinkAssessment> assessments, bool markChecked);

    /// <summary>
    /// Hands the event to the linker again if it is stored and the linker has not evaluated it (an
    /// ingest whose hand-off was lost and never retried). True when it handed off.
    /// </summary>
    Task<bool> EnsureHandedOffAsync();

}
