using Microsoft.Extensions.Logging;
using RootCause.Common;

namespace RootCause.Events;

/// <summary>
/// One event. Activations are collected after a short idle time: events are written once and
/// read rarely, so a million of them must not stay resident.
/// </summary>
[GrainType("event")]
[CollectionAgeLimit(Minutes = 2)]
public sealed class EventGrain(
    [PersistentState("event", StorageNames.Default)] IPersistentState<EventState> store,
    TimeProvider time,
    ILogger<EventGrain> logger) : Grain, IEventGrain
{
    private EventState State => store.State;

    public async Task<IngestResult> IngestAsync(EventDraft draft)
    {
        var id = this.GetPrimaryKey();
        var now = time.GetUtcNow();
        var valid = EventRules.Validate(draft, now);
        if (EventKeys.IdFor(draft.Source, valid.SourceId) != id)
        {
            throw new ValidationFailedException("source_id", "The event was sent to a grain that does not match its (source, source_id).");
        }
        if (State.Exists)
        {
            return new IngestResult(State.ToEvent(), Created: false);
        }
        store.State = new EventState
        {
            SchemaVersion = EventState.CurrentSchemaVersion,
            Id = id,
            Source = draft.Source,
            SourceId = valid.SourceId,
            EventType = valid.EventType,
            Timestamp = draft.Timestamp,
            Severity = draft.Severity,
            Data = valid.Data,
            Metadata = valid.Metadata,
            Tags = [.. valid.Tags],
            InvestigationIds = [],
            ParsedAt = now,
            Version = 1,
        };
        try
        {
            await store.WriteStateAsync();
        }
        catch
        {
            store.State = new EventState();
            await store.ReadStateAsync();
            throw;
        }
        return new IngestResult(State.ToEvent(), Created: true);
    }

    public Task<Event?> GetAsync(bool includeDeleted = false) =>
        Task.FromResult(State.Exists && (includeDeleted || State.DeletedAt is null) ? State.ToEvent() : null);

    public async Task<Event> UpdateAsync(EventChanges changes, long expectedVersion)
    {
        EnsureExists();
        if (expectedVersion != State.Version)
        {
            throw new VersionConflictException(expectedVersion, State.Version);
        }
        var valid = EventRules.Validate(changes, time.GetUtcNow());
        await SaveAsync(s =>
        {
            s.EventType = valid.EventType;
            s.Timestamp = changes.Timestamp;
            s.Severity = changes.Severity;
            s.Data = valid.Data;
            s.Metadata = valid.Metadata;
            s.Tags = [.. valid.Tags];
        });
        return State.ToEvent();
    }

    public async Task<Event> DeleteAsync()
    {
        EnsureExists(includeDeleted: true);
        if (State.DeletedAt is null)
        {
            var now = time.GetUtcNow();
            await SaveAsync(s => s.DeletedAt = now);
        }
        return State.ToEvent();
    }

    public async Task<Event> RestoreAsync()
    {
        EnsureExists(includeDeleted: true);
        if (State.DeletedAt is not null)
        {
            await SaveAsync(s => s.DeletedAt = null);
        }
        return State.ToEvent();
    }

    public async Task<Event> SetInvestigationLinkAsync(Guid investigationId, bool linked)
    {
        // Linking needs a live event; unlinking works on a soft-deleted one too.
        EnsureExists(includeDeleted: !linked);
        var ids = State.InvestigationIds ?? [];
        if (linked != ids.Contains(investigationId))
        {
            var now = time.GetUtcNow();
            await SaveAsync(s =>
            {
                var list = s.InvestigationIds ??= [];
                if (linked)
                {
                    list.Add(investigationId);
                    s.LinkedAt ??= now;
                }
                else
                {
                    list.Remove(investigationId);
                }
            });
            logger.LogDebug("Event {EventId} {Change} investigation {InvestigationId}", State.Id, linked ? "linked to" : "unlinked from", investigationId);
        }
        return State.ToEvent();
    }

    /// <summary>Applies a change to a copy, persists it, and only then makes it the grain's state.</summary>
    private async Task SaveAsync(Action<EventState> change)
    {
        var previous = State;
        var next = previous.CloneState();
        change(next);
        next.Version = previous.Version + 1;
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
            throw new NotFoundException("event", this.GetPrimaryKey().ToString());
        }
    }
}
