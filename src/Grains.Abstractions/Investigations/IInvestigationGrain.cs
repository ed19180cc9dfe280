namespace RootCause.Investigations;

/// <summary>
/// One investigation: its record, notes, links to events and to other investigations, status
/// workflow, soft delete and optimistic concurrency. Keyed by the investigation id.
/// Every mutating call persists before it returns: a returned call is durable.
/// Failures surface as <see cref="Common.ValidationFailedException"/>, <see cref="Common.NotFoundException"/>,
/// <see cref="Common.VersionConflictException"/> or <see cref="Common.StateConflictException"/>.
/// </summary>
[Alias("rc.IInvestigationGrain")]
public interface IInvestigationGrain : IGrainWithGuidKey
{
    /// <summary>Creates the investigation. Calling it again with the same id after success returns the existing record unchanged.</summary>
    Task<Investigation> CreateAsync(InvestigationFields fields);

    /// <summary>The record, or null when it was never created. Soft-deleted ones are returned only with <paramref name="includeDeleted"/>.</summary>
    Task<Investigation?> GetAsync(bool includeDeleted = false);

    /// <summary>Replaces the editable fields. <paramref name="expectedVersion"/> is the version the caller read.</summary>
    Task<Investigation> UpdateAsync(InvestigationFields fields, long expectedVersion);

    /// <summary>Moves to <c>closed</c> (sets resolved_at if it was never resolved).</summary>
    Task<Investigation> CloseAsync(long? expectedVersion = null);

    /// <summary>Moves a resolved or closed investigation back to <c>open</c> and clears resolved_at.</summary>
    Task<Investigation> ReopenAsync(long? expectedVersion = null);

    /// <summary>Soft delete: hidden from reads until restored. Idempotent.</summary>
    Task<Investigation> DeleteAsync(long? expectedVersion = null);

    /// <summary>Undoes a soft delete. Idempotent.</summary>
    Task<Investigation> RestoreAsync();

    Task<Note> AddNoteAsync(NewNote note);

    Task<IReadOnlyList<Note>> GetNotesAsync();

    /// <summary>Links an event; the event records the investigation too. Idempotent.</summary>
    Task<Investigation> LinkEventAsync(Guid eventId);

    /// <summary>Removes a link on both sides. Idempotent.</summary>
    Task<Investigation> UnlinkEventAsync(Guid eventId);

    /// <summary>Relates two investigations, on both sides. Idempotent.</summary>
    Task<Investigation> RelateAsync(Guid otherInvestigationId);

    /// <summary>Removes a relation on both sides. Idempotent.</summary>
    Task<Investigation> UnrelateAsync(Guid otherInvestigationId);

    /// <summary>Called by the other side of a relation; records it here without calling back.</summary>
    Task AcceptRelationAsync(Guid otherInvestigationId, bool related);
}
