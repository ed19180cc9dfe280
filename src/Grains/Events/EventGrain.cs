using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using RootCause.Common;
using RootCause.Hosting;
using RootCause.Linking;

namespace RootCause.Events;

/// <summary>
/// One event. Activations are collected after a short idle time: events are written once and
/// read rarely, so a million of them must not stay resident.
/// </summary>
/// <remarks>
/// The state is not read on activation (as <c>[PersistentState]</c> would) but on first need.
/// Nearly every activation is an ingest of a new event, and for those the read only confirms
/// that there is no row: ingest instead tries the first write straight away, and the writer
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

    /// <summary>The most pending suggestions (the linker's) one event keeps: the strongest.</summary>
    public const int MaxSuggestions = 3;

    private readonly IGrainStorage _storage;
    private readonly EventStateWriter _writer;
    private readonly TimeProvider _time;
    private readonly ILogger<EventGrain> _logger;
    private GrainState<EventState> _stored = new(new EventState());
    private bool _loaded;

    public EventGrain(IServiceProvider services, TimeProvider time, ILogger<EventGrain> logger)
    {
        _storage = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
        _writer = services.GetRequiredService<EventStateWriter>();
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
        if (EventKeys.For(draft with { SourceId = valid.SourceId }) != id)
        {
            throw new ValidationFailedException(string.IsNullOrWhiteSpace(draft.DedupKey) ? "source_id" : "dedup_key",
                "The event was sent to a grain that does not match its (source, dedup_key or source_id).");
        }
        var created = EventState.Ingested(draft, valid, now);
        if (!_loaded)
        {
            // A first write inserts only where no row exists for this key; it goes together with
            // other events' first writes (see EventStateWriter).
            var first = new GrainState<EventState>(created);
            try
            {
                first.ETag = await _writer.InsertAsync(this.GetGrainId(), first, RootCause.Common.JsonGrainStorageSerializer.ToBytes(created));
                first.RecordExists = true;
                _stored = first;
                _loaded = true;
                await HandOffAsync(now);
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
            await FoldReportAsync(valid.SourceId, EventState.Via(draft), now);
            if (State.LinkerCheckedAt is null)
            {
                // Stored but never evaluated: the first hand-off may have been lost (the silo died
                // between the write and the publish, or the publish failed and the caller retried).
                // Handing off again is harmless: the linker is idempotent.
                await HandOffAsync(now);
            }
            return new IngestResult(State.ToEvent(), Created: false);
        }
        // Loaded and absent (e.g. read by a GET before): an ordinary write with the ETag read.
        await SaveAsync(created);
        await HandOffAsync(now);
        return new IngestResult(State.ToEvent(), Created: true);
    }

    public async Task<bool> EnsureHandedOffAsync()
    {
        await EnsureLoadedAsync();
        if (!State.Exists || State.LinkerCheckedAt is not null)
        {
            return false;
        }
        await HandOffAsync(_time.GetUtcNow());
        _logger.LogWarning("Event {EventId} was stored but never evaluated by the linker; handed off again", State.Id);
        return true;
    }

    /// <summary>
    /// Publishes the event to the linker's durable stream. It returns once the message is stored in
    /// PostgreSQL, so the ingest acknowledges only what the linker is sure to receive.
    /// </summary>
    private Task HandOffAsync(DateTimeOffset ingestedAt)
    {
        var id = State.Id;
        return this.GetStreamProvider(StreamRegistration.ProviderName)
            .GetStream<EventIngested>(StreamId.Create(LinkerStreams.EventsNamespace, LinkerStreams.PartitionOf(id)))
            .OnNextAsync(new EventIngested(id, ingestedAt));
    }

    /// <summary>
    /// A second report of a stored occurrence keeps its reference (another source id or another
    /// route) unless it is already known; identical redeliveries write nothing.
    /// </summary>
    private async Task FoldReportAsync(string sourceId, string? via, DateTimeOffset now)
    {
        var references = State.References ?? [];
        if (references.Count >= EventRules.MaxReferences || references.Any(r => r.SourceId == sourceId && r.Via == via))
        {
            return;
        }
        await SaveAsync(s => (s.References ??= []).Add(new EventReference(sourceId, via, now)));
        _logger.LogInformation("Event {EventId} folded a second report: source id {SourceId} via {Via}", State.Id, sourceId, via ?? "(unnamed)");
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

    public async Task<Event> DecideLinkAsync(Guid investigationId, EventLinkStatus status, string decidedBy, string? note = null, bool onlyIfSuggested = false)
    {
        // Linking needs a live event; the other decisions work on a soft-deleted one too.
        await EnsureExistsAsync(includeDeleted: status != EventLinkStatus.Linked);
        var existing = State.Links?.Find(l => l.InvestigationId == investigationId);
        if (existing is not null && existing.Status == status && existing.IsHumanDecision)
        {
            return State.ToEvent(); // already decided this way
        }
        if (onlyIfSuggested && existing?.Status != EventLinkStatus.Suggested)
        {
            throw new StateConflictException("event_id",
                $"Event {State.Id} is not a pending suggestion for investigation {investigationId} (it is {(existing is null ? "not assessed as one" : RootCauseJson.Name(existing.Status))}).");
        }
        var now = _time.GetUtcNow();
        var decided = (existing ?? new EventLink { InvestigationId = investigationId }) with
        {
            Status = status,
            DecidedBy = decidedBy,
            DecidedAt = now,
            Note = note,
        };
        await SaveAsync(s =>
        {
            var links = s.Links ??= [];
            links.RemoveAll(l => l.InvestigationId == investigationId);
            links.Add(decided);
            SetLinked(s, investigationId, status == EventLinkStatus.Linked, now);
        });
        _logger.LogInformation("Link decision: event {EventId} {Status} for investigation {InvestigationId} by {DecidedBy}",
            State.Id, RootCauseJson.Name(status), investigationId, decidedBy);
        return State.ToEvent();
    }

    public async Task ApplyAssessmentsAsync(IReadOnlyList<LinkAssessment> assessments, bool markChecked)
    {
        await EnsureExistsAsync(includeDeleted: true);
        var now = _time.GetUtcNow();
        var next = State.CloneState();
        var links = next.Links ??= [];
        var changed = false;
        var live = next.DeletedAt is null;
        foreach (var assessment in assessments)
        {
            var existing = links.Find(l => l.InvestigationId == assessment.InvestigationId);
            if (existing is { IsHumanDecision: true })
            {
                continue; // an engineer's decision stands
            }
            EventLinkStatus? status = !live ? null : assessment.Decision switch
            {
                LinkDecision.Link => EventLinkStatus.Linked,
                LinkDecision.Suggest => EventLinkStatus.Suggested,
                _ => null,
            };
            if (status is null)
            {
                if (existing is not null)
                {
                    links.Remove(existing);
                    SetLinked(next, assessment.InvestigationId, false, now);
                    changed = true;
                }
                continue;
            }
            if (existing is not null && existing.Status == status && existing.Confidence == assessment.Confidence && existing.Summary == assessment.Summary)
            {
                continue; // the same decision for the same reasons: nothing to write
            }
            if (existing is not null)
            {
                links.Remove(existing);
            }
            links.Add(new EventLink
            {
                InvestigationId = assessment.InvestigationId,
                Status = status.Value,
                Confidence = assessment.Confidence,
                Summary = assessment.Summary,
                Strategies = assessment.Strategies,
                DecidedBy = LinkDeciders.Linker,
                DecidedAt = existing?.Status == status ? existing.DecidedAt : now,
                AssessedAt = now,
            });
            SetLinked(next, assessment.InvestigationId, status == EventLinkStatus.Linked, now);
            changed = true;
        }
        // An event in a busy service can be a fair match for many open investigations: it keeps only
        // its strongest few suggestions, so it stays small and a responder sees where it fits best.
        var suggestions = links.Where(l => l.Status == EventLinkStatus.Suggested && !l.IsHumanDecision)
            .OrderByDescending(l => l.Confidence).ThenBy(l => l.InvestigationId).ToList();
        foreach (var weaker in suggestions.Skip(MaxSuggestions))
        {
            links.Remove(weaker);
            changed = true;
        }
        if (markChecked && next.LinkerCheckedAt is null)
        {
            next.LinkerCheckedAt = now;
            changed = true;
        }
        // Adding a suggestion that the cap then drops again leaves the event as it was: no write.
        changed = changed && !SameLinks(State, next);
        if (changed)
        {
            // The linker's records do not move the version (the ETag): see InvestigationGrain.PersistAsync.
            next.Version = State.Version;
            await SaveAsync(next);
        }
    }

    private static bool SameLinks(EventState a, EventState b) =>
        a.LinkerCheckedAt == b.LinkerCheckedAt && a.LinkedAt == b.LinkedAt
        && (a.InvestigationIds ?? []).Order().SequenceEqual((b.InvestigationIds ?? []).Order())
        && (a.Links ?? []).Count == (b.Links ?? []).Count
        && (a.Links ?? []).All(l => (b.Links ?? []).Any(m => m.InvestigationId == l.InvestigationId && m.Status == l.Status
            && m.Confidence == l.Confidence && m.Summary == l.Summary && m.DecidedBy == l.DecidedBy));

    private static void SetLinked(EventState state, Guid investigationId, bool linked, DateTimeOffset now)
    {
        var ids = state.InvestigationIds ??= [];
        if (linked && !ids.Contains(investigationId))
        {
            ids.Add(investigationId);
            state.LinkedAt ??= now;
        }
        else if (!linked)
        {
            ids.Remove(investigationId);
        }
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
            if (_stored.ETag is { } etag && _stored.RecordExists)
            {
                // An update: written together with other events' updates (see EventStateWriter).
                pending.ETag = await _writer.UpdateAsync(this.GetPrimaryKey(), etag, RootCause.Common.JsonGrainStorageSerializer.ToBytes(next));
            }
            else
            {
                await _storage.WriteStateAsync(StateName, this.GetGrainId(), pending);
            }
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
