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

    /// <summary>Records (or removes) a link to an investigation. Called by the investigation. Idempotent.</summary>
    Task<Event> SetInvestigationLinkAsync(Guid investigationId, bool linked);
}
