using Microsoft.Extensions.Logging;
using RootCause.Common;
using RootCause.Events;
using RootCause.Linking;

namespace RootCause.Investigations;

[GrainType("investigation")]
public sealed class InvestigationGrain(
    [PersistentState("investigation", StorageNames.Default)] IPersistentState<InvestigationState> store,
    TimeProvider time,
    ILogger<InvestigationGrain> logger) : Grain, IInvestigationGrain
{
    private InvestigationState State => store.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        State.Upgrade(time.GetUtcNow());
        return Task.CompletedTask;
    }

    public async Task<Investigation> CreateAsync(InvestigationFields fields)
    {
        if (State.Exists)
        {
            return State.ToInvestigation();
        }
        var now = time.GetUtcNow();
        var fresh = new InvestigationState
        {
            SchemaVersion = InvestigationState.CurrentSchemaVersion,
            Id = this.GetPrimaryKey(),
            CreatedAt = now,
            Tags = [],
            RelatedInvestigationIds = [],
            Notes = [],
        };
        InvestigationRules.Apply(fresh, fields, now, creating: true);
        await PersistAsync(fresh, now);
        logger.LogInformation("Investigation {InvestigationId} created: {Title}", fresh.Id, fresh.Title);
        return State.ToInvestigation();
    }

    public Task<Investigation?> GetAsync(bool includeDeleted = false) =>
        Task.FromResult(State.Exists && (includeDeleted || State.DeletedAt is null) ? State.ToInvestigation() : null);

    public Task<Investigation> UpdateAsync(InvestigationFields fields, long expectedVersion) =>
        ChangeAsync(expectedVersion, (state, now) =>
        {
            InvestigationRules.Apply(state, fields, now, creating: false);
            return true;
        });

    public Task<Investigation> CloseAsync(long? expectedVersion = null) =>
        ChangeAsync(expectedVersion, (state, now) =>
        {
            if (state.Status == InvestigationStatus.Closed)
            {
                return false;
            }
            state.Status = InvestigationStatus.Closed;
            state.ResolvedAt ??= now;
            return true;
        });

    public Task<Investigation> ReopenAsync(long? expectedVersion = null) =>
        ChangeAsync(expectedVersion, (state, _) =>
        {
            if (!InvestigationRules.IsTerminal(state.Status))
            {
                throw new StateConflictException("status",
                    $"Only a resolved or closed investigation can be reopened (status is {RootCauseJson.Name(state.Status)}).");
            }
            state.Status = InvestigationStatus.Open;
            state.ResolvedAt = null;
            return true;
        });

    public Task<Investigation> DeleteAsync(long? expectedVersion = null) =>
        ChangeAsync(expectedVersion, (state, now) =>
        {
            if (state.DeletedAt is not null)
            {
                return false;
            }
            state.DeletedAt = now;
            return true;
        }, includeDeleted: true);

    public Task<Investigation> RestoreAsync() =>
        ChangeAsync(null, (state, _) =>
        {
            if (state.DeletedAt is null)
            {
                return false;
            }
            state.DeletedAt = null;
            return true;
        }, includeDeleted: true);

    public async Task<Note> AddNoteAsync(NewNote note)
    {
        EnsureExists();
        var stored = InvestigationRules.ValidateNote(note, Guid.NewGuid(), time.GetUtcNow());
        await ChangeAsync(null, (state, _) =>
        {
            var notes = state.Notes ??= [];
            if (notes.Count >= InvestigationRules.MaxNotes)
            {
                throw new StateConflictException("body", $"An investigation holds at most {InvestigationRules.MaxNotes} notes.");
            }
            notes.Add(stored);
            return true;
        });
        return stored;
    }

    public Task<IReadOnlyList<Note>> GetNotesAsync()
    {
        EnsureExists();
        return Task.FromResult<IReadOnlyList<Note>>([.. State.Notes ?? []]);
    }

    /// <summary>
    /// The link is stored on the event alone (its link record, with who decided): this
    /// investigation's record does not change, so its version does not move either.
    /// </summary>
    public async Task<Investigation> LinkEventAsync(Guid eventId, string? decidedBy = null, string? note = null, bool onlyIfSuggested = false)
    {
        EnsureExists();
        await GrainFactory.GetGrain<IEventGrain>(eventId).DecideLinkAsync(State.Id, EventLinkStatus.Linked, Decider(decidedBy), note, onlyIfSuggested);
        logger.LogInformation("Event {EventId} linked to investigation {InvestigationId} by {DecidedBy}", eventId, State.Id, Decider(decidedBy));
        return State.ToInvestigation();
    }

    /// <summary>Recorded on the event; an event that never existed has nothing to unlink.</summary>
    public async Task<Investigation> UnlinkEventAsync(Guid eventId, string? decidedBy = null, string? note = null)
    {
        EnsureExists();
        try
        {
            await GrainFactory.GetGrain<IEventGrain>(eventId).DecideLinkAsync(State.Id, EventLinkStatus.Unlinked, Decider(decidedBy), note);
        }
        catch (NotFoundException)
        {
            return State.ToInvestigation();
        }
        logger.LogInformation("Event {EventId} unlinked from investigation {InvestigationId} by {DecidedBy}", eventId, State.Id, Decider(decidedBy));
        return State.ToInvestigation();
    }

    public async Task<Investigation> RejectSuggestionAsync(Guid eventId, string? decidedBy = null, string? note = null)
    {
        EnsureExists();
        await GrainFactory.GetGrain<IEventGrain>(eventId).DecideLinkAsync(State.Id, EventLinkStatus.Rejected, Decider(decidedBy), note, onlyIfSuggested: true);
        logger.LogInformation("Suggestion of event {EventId} for investigation {InvestigationId} rejected by {DecidedBy}", eventId, State.Id, Decider(decidedBy));
        return State.ToInvestigation();
    }

    public async Task MarkRetroLinkedAsync(string linkingKey)
    {
        if (!State.Exists || State.LinkingKey != linkingKey || State.RetroLinkedKey == linkingKey)
        {
            return;
        }
        await ChangeAsync(null, (state, now) =>
        {
            state.RetroLinkedKey = linkingKey;
            state.RetroLinkedAt = now;
            return true;
        }, includeDeleted: true, bookkeeping: true);
    }

    public Task<(string Key, bool Done)> GetLinkingKeyAsync() =>
        Task.FromResult(State.Exists ? (State.LinkingKey, State.RetroLinkedKey == State.LinkingKey) : ("", true));

    private static string Decider(string? decidedBy) => string.IsNullOrWhiteSpace(decidedBy) ? "api" : decidedBy.Trim();

    public async Task<Investigation> RelateAsync(Guid otherInvestigationId)
    {
        EnsureExists();
        if (otherInvestigationId == State.Id)
        {
            throw new ValidationFailedException("investigation_id", "An investigation cannot be related to itself.");
        }
        await GrainFactory.GetGrain<IInvestigationGrain>(otherInvestigationId).AcceptRelationAsync(State.Id, related: true);
        return await ChangeAsync(null, (state, _) => AddOnce(state.RelatedInvestigationIds ??= [], otherInvestigationId));
    }

    public async Task<Investigation> UnrelateAsync(Guid otherInvestigationId)
    {
        var result = await ChangeAsync(null, (state, _) => state.RelatedInvestigationIds?.Remove(otherInvestigationId) == true);
        try
        {
            await GrainFactory.GetGrain<IInvestigationGrain>(otherInvestigationId).AcceptRelationAsync(State.Id, related: false);
        }
        catch (NotFoundException)
        {
            // The other side never existed: nothing to remove there.
        }
        return result;
    }

    /// <summary>A soft-deleted investigation still accepts and drops relations; only a never-created one refuses.</summary>
    public Task AcceptRelationAsync(Guid otherInvestigationId, bool related) =>
        ChangeAsync(null, (state, _) => related
            ? AddOnce(state.RelatedInvestigationIds ??= [], otherInvestigationId)
            : state.RelatedInvestigationIds?.Remove(otherInvestigationId) == true,
            includeDeleted: true);

    private static bool AddOnce(List<Guid> list, Guid id)
    {
        if (list.Contains(id))
        {
            return false;
        }
        list.Add(id);
        return true;
    }

    /// <summary>
    /// Applies a change to a copy of the state, so a failed rule or a failed write leaves the grain
    /// as it was; <paramref name="change"/> returns false when there is nothing to write.
    /// </summary>
    private async Task<Investigation> ChangeAsync(long? expectedVersion, Func<InvestigationState, DateTimeOffset, bool> change,
        bool includeDeleted = false, bool bookkeeping = false)
    {
        EnsureExists(includeDeleted);
        if (expectedVersion is { } expected && expected != State.Version)
        {
            throw new VersionConflictException(expected, State.Version);
        }
        var now = time.GetUtcNow();
        var next = State.Clone();
        if (change(next, now))
        {
            await PersistAsync(next, bookkeeping ? State.UpdatedAt ?? now : now, bumpVersion: !bookkeeping);
        }
        return State.ToInvestigation();
    }

    /// <summary>
    /// Persists <paramref name="next"/>, last updated at <paramref name="updatedAt"/>. The version (the
    /// ETag) moves with every change made through the API; the linker's bookkeeping (its side of
    /// links, retro-linking marks) leaves it, so links arriving during an incident never invalidate
    /// the version a responder read before editing.
    /// </summary>
    private async Task PersistAsync(InvestigationState next, DateTimeOffset updatedAt, bool bumpVersion = true)
    {
        var previous = State;
        next.UpdatedAt = updatedAt;
        next.Version = bumpVersion ? previous.Version + 1 : previous.Version;
        store.State = next;
        try
        {
            await store.WriteStateAsync();
        }
        catch
        {
            store.State = previous;
            throw;
        }
    }

    private void EnsureExists(bool includeDeleted = false)
    {
        if (!State.Exists || (!includeDeleted && State.DeletedAt is not null))
        {
            throw new NotFoundException("investigation", this.GetPrimaryKey().ToString());
        }
    }
}
