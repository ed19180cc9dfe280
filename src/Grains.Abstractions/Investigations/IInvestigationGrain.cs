namespace RootCause.Investigations;

/// <summary>
/// One investigation: its record, notes, relations to other investigations, status workflow, soft
/// delete and optimistic concurrency, and the engineers' link decisions made through it. Keyed by
/// the investigation id. A link is stored once, on the event (its link record); the investigation's
/// own record never lists its events, so it stays the same size however many events it explains.
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

    /// <summary>
    /// Links an event by an engineer's decision (a manual link, or an accepted suggestion when
    /// <paramref name="onlyIfSuggested"/>); the event records the link and who decided. The
    /// investigation's record is unchanged (its version too). Idempotent.
    /// </summary>
    Task<Investigation> LinkEventAsync(Guid eventId, string? decidedBy = null, string? note = null, bool onlyIfSuggested = false);

    /// <summary>Removes a link: the event records the decision, so the linker never links the pair again. Idempotent.</summary>
    Task<Investigation> UnlinkEventAsync(Guid eventId, string? decidedBy = null, string? note = null);

    /// <summary>Rejects a pending suggestion: recorded on the event, never suggested again. Idempotent.</summary>
    Task<Investigation> RejectSuggestionAsync(Guid eventId, string? decidedBy = null, string? note = null);

    /// <summary>Records that retro-linking ran for the fields digested as <paramref name="linkingKey"/>; ignored if they changed since.</summary>
    Task MarkRetroLinkedAsync(string linkingKey);

    /// <summary>The digest of the fields that decide which events this investigation can absorb, and whether retro-linking ran for it.</summary>
    Task<(string Key, bool Done)> GetLinkingKeyAsync();

    /// <summary>Relates two investigations, on both sides. Idempotent.</summary>
    Task<Investigation> RelateAsync(Guid otherInvestigationId);

    /// <summary>Removes a relation on both sides. Idempotent.</summary>
    Task<Investigation> UnrelateAsync(Guid otherInvestigationId);

    /// <summary>Called by the other side of a relation; records it here without calling back.</summary>
    Task AcceptRelationAsync(Guid otherInvestigationId, bool related);
}
