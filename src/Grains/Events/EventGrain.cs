using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using RootCause.Common;

namespace RootCause.Events;

/// <summary>
/// One event. Activations are collected after a short idle time: events are written once and
/// read rarely, so a million of them must not stay resident.
/// </summary>
/// <remarks>
/// The state is not read on activation (as <c>[PersistentState]</c> would) but on first need.
/// Nearly every activation is an ingest of a new event, and for those the read only confirms
/// that there is no row: ingest instead tries the first write straight away, and the storage
/// inserts only if no row exists for the key. If one does (a duplicate delivery, or a concurrent
/// ingest on another activation that won), the write returns no row, Orleans reports a version
/// conflict, and the grain reads the stored event and answers with it. The unique key in
/// PostgreSQL decides, as before; only duplicates pay for the read.
/// </remarks>
[GrainType("event")]
[CollectionAgeLimit(Minutes = 2)]
public sealed class EventGrain : Grain, IEventGrain
{
    /// <summary>The state name in storage (<c>grain_type</c> of the row).</summary>
    public const string StateName = "event";

    private readonly IGrainStorage _storage;
    private readonly TimeProvider _time;
    private readonly ILogger<EventGrain> _logger;
    private GrainState<EventState> _stored = new(new EventState());
    private bool _loaded;

    public EventGrain(IServiceProvider services, TimeProvider time, ILogger<EventGrain> logger)
    {
        _storage = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
        _time = time;
        _logger = logger;
    }

    // Never null: every GrainState this grain holds is created with a state, and reads fill one in.
    private EventState State => _stored.State!;

    public async Task<IngestResult> IngestAsync(EventDraft draft)
    {
        var id = this.GetPrimaryKey();
        var now = _time.GetUtcNow();
        var valid = EventRules.Validate(draft, now);
        if (EventKeys.IdFor(draft.Source, valid.SourceId) != id)
        {
            throw new ValidationFailedException("source_id", "The event was sent to a grain that does not match its (source, source_id).");
        }
        var created = EventState.Ingested(draft, valid, now);
        if (!_loaded)
        {
            // A first write (no ETag) inserts only where no row exists for this key.
            var first = new GrainState<EventState>(created);
            try
            {
                await _storage.WriteStateAsync(StateName, this.GetGrainId(), first);
                _stored = first;
                _loaded = true;
                return new IngestResult(State.ToEvent(), Created: true);
            }
            catch (InconsistentStateException)
            {
                // A row exists: read it below and answer with what it holds.
            }
            await LoadAsync();
        }
        if (State.Exists)
        {
            return new IngestResult(State.ToEvent(), Created: false);
        }
        // Loaded and absent (e.g. read by a GET before): an ordinary write with the ETag read.
        await SaveAsync(created);
        return new IngestResult(State.ToEvent(), Created: true);
    }

    public async Task<Event?> GetAsync(bool includeDeleted = false)
    {
        await EnsureLoadedAsync();
        return State.Exists && (includeDeleted || State.DeletedAt is null) ? State.ToEvent() : null;
    }

    public async Task<Event> UpdateAsync(EventChanges changes, long expectedVersion)
    {
        await EnsureExistsAsync();
        if (expectedVersion != State.Version)
        {
            throw new VersionConflictException(expectedVersion, State.Version);
        }
        var valid = EventRules.Validate(changes, _time.GetUtcNow());
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
        await EnsureExistsAsync(includeDeleted: true);
        if (State.DeletedAt is null)
        {
            var now = _time.GetUtcNow();
            await SaveAsync(s => s.DeletedAt = now);
        }
        return State.ToEvent();
    }

    public async Task<Event> RestoreAsync()
    {
        await EnsureExistsAsync(includeDeleted: true);
        if (State.DeletedAt is not null)
        {
            await SaveAsync(s => s.DeletedAt = null);
        }
        return State.ToEvent();
    }

    public async Task<Event> SetInvestigationLinkAsync(Guid investigationId, bool linked)
    {
        // Linking needs a live event; unlinking works on a soft-deleted one too.
        await EnsureExistsAsync(includeDeleted: !linked);
        var ids = State.InvestigationIds ?? [];
        if (linked != ids.Contains(investigationId))
        {
            var now = _time.GetUtcNow();
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
            _logger.LogDebug("Event {EventId} {Change} investigation {InvestigationId}", State.Id, linked ? "linked to" : "unlinked from", investigationId);
        }
        return State.ToEvent();
    }

    /// <summary>Applies a change to a copy, persists it, and only then makes it the grain's state.</summary>
    private Task SaveAsync(Action<EventState> change)
    {
        var previous = State;
        var next = previous.CloneState();
        change(next);
        next.Version = previous.Version + 1;
        return SaveAsync(next);
    }

    /// <summary>
    /// Writes <paramref name="next"/> with the ETag last read or written; the grain's state changes
    /// only if the write succeeds. Any failure, a version conflict included, escapes to the caller.
    /// </summary>
    private async Task SaveAsync(EventState next)
    {
        var pending = new GrainState<EventState>(next, _stored.ETag) { RecordExists = _stored.RecordExists };
        try
        {
            await _storage.WriteStateAsync(StateName, this.GetGrainId(), pending);
        }
        catch
        {
            // The write may or may not have committed (e.g. the connection broke after COMMIT):
            // the next call reads what is stored instead of trusting this activation's copy.
            _loaded = false;
            throw;
        }
        _stored = pending;
    }

    private async Task LoadAsync()
    {
        var read = new GrainState<EventState>(new EventState());
        await _storage.ReadStateAsync(StateName, this.GetGrainId(), read);
        read.State ??= new EventState();
        _stored = read;
        _loaded = true;
    }

    private Task EnsureLoadedAsync() => _loaded ? Task.CompletedTask : LoadAsync();

    private async Task EnsureExistsAsync(bool includeDeleted = false)
    {
        await EnsureLoadedAsync();
        if (!State.Exists || (!includeDeleted && State.DeletedAt is not null))
        {
            throw new NotFoundException("event", this.GetPrimaryKey().ToString());
        }
    }
}
