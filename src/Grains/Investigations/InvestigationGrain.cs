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
            EventIds = [],
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
    /// The event side is written first: if it fails (unknown event, silo trouble) nothing is
    /// recorded here and the caller sees the error; if the write here fails after it, a retry
    /// converges because both sides are idempotent.
    /// </summary>
    public async Task<Investigation> LinkEventAsync(Guid eventId, string? decidedBy = null, string? note = null, bool onlyIfSuggested = false)
    {
        EnsureExists();
        await GrainFactory.GetGrain<IEventGrain>(eventId).DecideLinkAsync(State.Id, EventLinkStatus.Linked, Decider(decidedBy), note, onlyIfSuggested);
        var result = await ChangeAsync(null, (state, _) => AddOnce(state.EventIds ??= [], eventId));
        logger.LogInformation("Event {EventId} linked to investigation {InvestigationId} by {DecidedBy}", eventId, State.Id, Decider(decidedBy));
        return result;
    }

    /// <summary>Removed here first, then on the event; a retry converges.</summary>
    public async Task<Investigation> UnlinkEventAsync(Guid eventId, string? decidedBy = null, string? note = null)
    {
        var result = await ChangeAsync(null, (state, _) => state.EventIds?.Remove(eventId) == true);
        try
        {
            await GrainFactory.GetGrain<IEventGrain>(eventId).DecideLinkAsync(State.Id, EventLinkStatus.Unlinked, Decider(decidedBy), note);
        }
        catch (NotFoundException)
        {
            // The event never existed: nothing to record on its side.
        }
        logger.LogInformation("Event {EventId} unlinked from investigation {InvestigationId} by {DecidedBy}", eventId, State.Id, Decider(decidedBy));
        return result;
    }

    public async Task<Investigation> RejectSuggestionAsync(Guid eventId, string? decidedBy = null, string? note = null)
    {
        EnsureExists();
        await GrainFactory.GetGrain<IEventGrain>(eventId).DecideLinkAsync(State.Id, EventLinkStatus.Rejected, Decider(decidedBy), note, onlyIfSuggested: true);
        var result = await ChangeAsync(null, (state, _) => state.EventIds?.Remove(eventId) == true);
        logger.LogInformation("Suggestion of event {EventId} for investigation {InvestigationId} rejected by {DecidedBy}", eventId, State.Id, Decider(decidedBy));
        return result;
    }

    // The linker's pending link syncs, stored together by one timer turn (see SyncEventLinkAsync).
    private readonly HashSet<Guid> _pendingSyncs = [];
    private TaskCompletionSource? _pendingFlush;

    /// <summary>How long the first sync of a batch waits for others to join it.</summary>
    private static readonly TimeSpan SyncBatchDelay = TimeSpan.FromMilliseconds(5);

    public Task SyncEventLinkAsync(Guid eventId)
    {
        // Interleaved: only joins the next batch; no state is read or written here.
        _pendingSyncs.Add(eventId);
        if (_pendingFlush is null)
        {
            _pendingFlush = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var timer = default(IGrainTimer);
            timer = this.RegisterGrainTimer(_ =>
            {
                timer?.Dispose();
                return FlushSyncsAsync();
            }, new GrainTimerCreationOptions(SyncBatchDelay, Timeout.InfiniteTimeSpan) { Interleave = false, KeepAlive = true });
        }
        return _pendingFlush.Task;
    }

    /// <summary>
    /// One non-interleaved turn: asks every event waiting to be synced whether it names this
    /// investigation (not for a copy of the whole event), brings <c>event_ids</c> in line with the
    /// answers, and stores that in one write.
    /// </summary>
    private async Task FlushSyncsAsync()
    {
        var done = _pendingFlush!;
        var ids = _pendingSyncs.ToList();
        _pendingSyncs.Clear();
        _pendingFlush = null;
        try
        {
            if (State.Exists)
            {
                var investigationId = State.Id;
                var linked = await Task.WhenAll(ids.Select(id => GrainFactory.GetGrain<IEventGrain>(id).IsLinkedToAsync(investigationId)));
                await ChangeAsync(null, (state, _) =>
                {
                    var changed = false;
                    for (var i = 0; i < ids.Count; i++)
                    {
                        changed |= linked[i]
                            ? AddOnce(state.EventIds ??= [], ids[i])
                            : state.EventIds?.Remove(ids[i]) == true;
                    }
                    return changed;
                }, includeDeleted: true, bookkeeping: true);
            }
            done.TrySetResult();
        }
        catch (Exception e)
        {
            done.TrySetException(e);
        }
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
