using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using RootCause.Catalog;
using RootCause.Common;
using RootCause.Database;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// This silo's view of the investigations new events can link to, kept in memory and current from
/// the change sequence (investigation changes only), so scoring an event needs no database query.
/// <see cref="WaitForCurrentAsync"/> is the barrier that makes the event side and retro-linking meet:
/// once it returns, every investigation change committed before the call is in the registry.
/// It also notices investigations whose linking fields changed and asks their retro-linker to run.
/// </summary>
public sealed class InvestigationRegistry(
    NpgsqlDataSource dataSource,
    ChangeFeed feed,
    IndexSource source,
    LinkerOptions options,
    IGrainFactory grains,
    TimeProvider time,
    ILogger<InvestigationRegistry> logger) : BackgroundService
{
    private static readonly string[] InvestigationOnly = [InvestigationStateName];
    private const string InvestigationStateName = "investigation";
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The least time between the starts of two reads made for waiters. Under load every linked event
    /// waits here; without a gap each one caused a read of its own (about one query per event). With
    /// it, every waiter that arrives within the gap shares one read, for at most this much more wait.
    /// </summary>
    internal static readonly TimeSpan WaiterReadGap = TimeSpan.FromMilliseconds(4);
    private static readonly TimeSpan RetroRetry = TimeSpan.FromSeconds(5);
    /// <summary>
    /// Retro-linking runs this silo asks for at once. Most of a run on a quiet window is its wait for
    /// the search index, so several wait together; <see cref="RetroLinkSlots.Working"/> of them score
    /// at a time. Four times that: a run waits at most for three rounds of the others' scoring.
    /// </summary>
    private const int RetroConcurrency = 4 * RetroLinkSlots.Working;

    private readonly object _gate = new();
    private readonly Dictionary<Guid, Investigation> _linkable = [];
    private readonly Dictionary<Guid, string> _linkingKeys = [];
    private readonly Dictionary<Guid, (string Key, DateTimeOffset Due)> _retroPending = [];
    private readonly HashSet<Guid> _retroRunning = [];
    private readonly List<Waiter> _waiters = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ChangeCursor _cursor;
    private ulong _horizon;
    private CandidateMap? _map;
    private bool _sweepScheduled;

    /// <summary>Investigations (not deleted) held for scoring new events.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _linkable.Count;
            }
        }
    }

    /// <summary>Retro-linking runs waiting or failed and waiting to be retried on this silo.</summary>
    public int RetroPending
    {
        get
        {
            lock (_gate)
            {
                return _retroPending.Count;
            }
        }
    }

    /// <summary>An investigation held for scoring new events, by id (null when it is not: deleted, or no longer open or recent).</summary>
    public Investigation? Find(Guid id)
    {
        lock (_gate)
        {
            return _linkable.GetValueOrDefault(id);
        }
    }

    /// <summary>
    /// Waits until every investigation change committed before this call is in the registry. The
    /// target is the xmax of the snapshot of the first feed read that starts after the call (every
    /// transaction that committed earlier has a smaller id), shared by everyone waiting for that
    /// read; the feed's horizon passes it only once all of them are read.
    /// </summary>
    public async Task WaitForCurrentAsync(CancellationToken ct)
    {
        await _loaded.Task.WaitAsync(ct);
        var waiter = new Waiter();
        lock (_gate)
        {
            _waiters.Add(waiter);
        }
        if (_wake.CurrentCount == 0)
        {
            _wake.Release(); // one wake is enough for any number of waiters
        }
        await waiter.Done.Task.WaitAsync(ct);
    }

    /// <summary>One caller of <see cref="WaitForCurrentAsync"/>: its target is unknown until a read that started after it assigns one.</summary>
    private sealed class Waiter
    {
        public ulong? Target { get; set; }
        public bool Joined { get; set; }
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// The investigations an event with these facts could explain: those whose component is the
    /// event's, or within two dependency hops of it, or shares its service; those sharing a tag;
    /// those that name no component or service at all (only tags and evidence can speak for them);
    /// and, for a change to shared infrastructure, every investigation naming a component or service.
    /// </summary>
    public IReadOnlyList<Investigation> CandidatesFor(EventFacts facts, IReadOnlyList<string> tags, ServiceCatalog catalog)
    {
        CandidateMap map;
        lock (_gate)
        {
            if (_map is null || _map.CatalogVersion != catalog.Version)
            {
                _map = CandidateMap.Build(_linkable.Values, catalog);
            }
            map = _map;
        }
        var found = new Dictionary<Guid, Investigation>();
        void AddAll(IEnumerable<Investigation>? list)
        {
            foreach (var investigation in list ?? [])
            {
                found.TryAdd(investigation.Id, investigation);
            }
        }
        foreach (var (name, _) in facts.Components)
        {
            AddAll(map.ByName.GetValueOrDefault(name));
            // A change to shared infrastructure concerns every investigation that names a component or service.
            if (facts.IsChange && catalog.Resolve(name) is { Shared: true })
            {
                AddAll(map.Named);
            }
        }
        foreach (var service in facts.Services)
        {
            AddAll(map.ByName.GetValueOrDefault(service));
        }
        foreach (var tag in tags)
        {
            AddAll(map.ByTag.GetValueOrDefault(tag.ToLowerInvariant()));
        }
        AddAll(map.Vague);
        return [.. found.Values];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        var lastRead = long.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!_loaded.Task.IsCompleted)
                {
                    await LoadAsync(stoppingToken);
                }
                if (lastRead != long.MinValue && time.GetElapsedTime(lastRead) is var since && since < WaiterReadGap)
                {
                    await Task.Delay(WaiterReadGap - since, time, stoppingToken);
                }
                lastRead = time.GetTimestamp();
                var more = await TailOnceAsync(stoppingToken);
                failures = 0;
                await RunDueRetroLinksAsync();
                await ScheduleSweepOnceAsync();
                if (!more)
                {
                    bool waiting;
                    lock (_gate)
                    {
                        waiting = _waiters.Count > 0;
                    }
                    // With waiters, read again at once (their target is usually passed within a
                    // transaction or two); otherwise poll.
                    await _wake.WaitAsync(waiting ? TimeSpan.FromMilliseconds(2) : IdlePoll, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, Math.Min(failures, 6))));
                logger.LogError(e, "Investigation registry update failed (attempt {Attempt}); retrying in {Delay}", failures, delay);
                try
                {
                    await Task.Delay(delay, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Makes sure the cluster's sweep of never-evaluated events is on its reminder (every silo asks
    /// once; the reminder is one per cluster). Until the silo can take grain calls this keeps failing
    /// quietly and is tried again.
    /// </summary>
    private async Task ScheduleSweepOnceAsync()
    {
        if (_sweepScheduled || !options.Sweep)
        {
            return;
        }
        try
        {
            await grains.GetGrain<ILinkerSweepGrain>(0).EnsureScheduledAsync();
            _sweepScheduled = true;
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "The linker sweep could not be scheduled yet");
        }
    }

    /// <summary>Reads every stored investigation, from a horizon taken before the scan (later changes replay from the feed).</summary>
    private async Task LoadAsync(CancellationToken ct)
    {
        var horizon = await source.HorizonAsync(ct);
        var states = new List<InvestigationState>();
        await using (var command = dataSource.CreateCommand(
            """
            SELECT payload_binary FROM orleans_storage
            WHERE service_id = @service AND grain_type = @type AND payload_binary IS NOT NULL AND grain_id_extension IS NULL
            """))
        {
            command.Parameters.AddWithValue("service", source.ServiceId);
            command.Parameters.AddWithValue("type", InvestigationStateName);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                if (Parse(await reader.GetFieldValueAsync<byte[]>(0, ct)) is { } state)
                {
                    states.Add(state);
                }
            }
        }
        lock (_gate)
        {
            foreach (var state in states)
            {
                ApplyLocked(state.Id, state);
            }
            _cursor = new ChangeCursor(horizon);
        }
        _loaded.TrySetResult();
        logger.LogInformation("Investigation registry loaded {Count} linkable investigations ({Pending} awaiting retro-linking)", Count, RetroPending);
    }

    private async Task<bool> TailOnceAsync(CancellationToken ct)
    {
        List<Waiter> joining;
        lock (_gate)
        {
            // Everyone waiting now gets this read's snapshot as their target: it is taken after they asked.
            joining = _waiters.Where(w => !w.Joined).ToList();
            foreach (var waiter in joining)
            {
                waiter.Joined = true;
            }
        }
        ChangeBatch batch;
        try
        {
            batch = await feed.ReadAsync(_cursor, 1000, InvestigationOnly, ct);
        }
        catch (ChangeFeedExpiredException e)
        {
            // Behind the pruning watermark (this silo was stopped or stuck for longer than the
            // retention): changes may be gone, so everything is read again from the states.
            logger.LogWarning("Investigation registry: {Reason} Reloading every investigation.", e.Message);
            lock (_gate)
            {
                _linkable.Clear();
                _linkingKeys.Clear();
                _retroPending.Clear();
                _map = null;
                // Their target comes from the next read.
                foreach (var waiter in joining)
                {
                    waiter.Joined = false;
                }
            }
            await LoadAsync(ct);
            return true;
        }
        var keys = batch.Rows.Where(r => r.GrainIdExtension is null)
            .Select(r => (r.GrainType, r.GrainIdN0, r.GrainIdN1)).Distinct().ToList();
        var states = keys.Count > 0 ? await source.FetchAsync(keys, ct) : [];
        lock (_gate)
        {
            foreach (var stored in states)
            {
                ApplyLocked(stored.Id, stored.Payload is { } payload ? Parse(payload) : null);
            }
            foreach (var waiter in joining)
            {
                waiter.Target = batch.SnapshotXmax;
            }
            _cursor = batch.Next;
            if (!batch.HasMore)
            {
                _horizon = Math.Max(_horizon, batch.Next.Horizon);
            }
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Target is { } target && target <= _horizon)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
        return batch.HasMore;
    }

    private void ApplyLocked(Guid id, InvestigationState? state)
    {
        if (state is null || !state.Exists)
        {
            if (_linkable.Remove(id))
            {
                _linkingKeys.Remove(id);
                _map = null;
            }
            _retroPending.Remove(id);
            return;
        }
        var now = time.GetUtcNow();
        var absorbing = state.DeletedAt is null && (state.ResolvedAt is not { } resolved || now - resolved <= options.MaxAge);
        var key = state.LinkingKey;
        if (absorbing)
        {
            // The candidate map changes only when what decides candidates does (not for the
            // retro-linker's bookkeeping).
            if (!_linkable.ContainsKey(id) || _linkingKeys.GetValueOrDefault(id) != key)
            {
                _map = null;
            }
            _linkable[id] = state.ToInvestigation();
            _linkingKeys[id] = key;
        }
        else if (_linkable.Remove(id))
        {
            _linkingKeys.Remove(id);
            _map = null;
        }
        if (state.RetroLinkedKey != key)
        {
            if (!_retroPending.TryGetValue(id, out var pending) || pending.Key != key)
            {
                _retroPending[id] = (key, now);
            }
        }
        else
        {
            _retroPending.Remove(id);
        }
    }

    /// <summary>
    /// Asks the retro-linker of each investigation whose linking fields changed to run (every silo
    /// asks; the grain runs once per key). A failure is retried later; success is seen in the feed
    /// when the investigation records it.
    /// </summary>
    private Task RunDueRetroLinksAsync()
    {
        if (!options.RetroLinking)
        {
            return Task.CompletedTask;
        }
        List<(Guid Id, string Key)> due;
        var now = time.GetUtcNow();
        lock (_gate)
        {
            var free = RetroConcurrency - _retroRunning.Count;
            if (free <= 0 || _retroPending.Count == 0)
            {
                return Task.CompletedTask;
            }
            due = _retroPending.Where(p => p.Value.Due <= now && !_retroRunning.Contains(p.Key))
                .Take(free).Select(p => (p.Key, p.Value.Key)).ToList();
            foreach (var (id, key) in due)
            {
                _retroRunning.Add(id);
                _retroPending[id] = (key, now + RetroRetry);
            }
        }
        foreach (var (id, key) in due)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await grains.GetGrain<IRetroLinkerGrain>(id).RunAsync(key);
                }
                catch (Exception e)
                {
                    logger.LogWarning(e, "Retro-linking of investigation {InvestigationId} failed; it is retried in {Delay}", id, RetroRetry);
                }
                finally
                {
                    lock (_gate)
                    {
                        _retroRunning.Remove(id);
                    }
                }
            });
        }
        return Task.CompletedTask;
    }

    private InvestigationState? Parse(byte[] payload)
    {
        try
        {
            return JsonSerializer.Deserialize<InvestigationState>(payload, RootCauseJson.Options);
        }
        catch (JsonException e)
        {
            logger.LogError(e, "An investigation state could not be read; it is left out of linking");
            return null;
        }
    }

    /// <summary>Lookups from names and tags to the investigations they can concern, for one catalog version.</summary>
    private sealed record CandidateMap(
        long CatalogVersion,
        Dictionary<string, List<Investigation>> ByName,
        Dictionary<string, List<Investigation>> ByTag,
        List<Investigation> Vague,
        List<Investigation> Named)
    {
        public static CandidateMap Build(IEnumerable<Investigation> investigations, ServiceCatalog catalog)
        {
            var byName = new Dictionary<string, List<Investigation>>(StringComparer.Ordinal);
            var byTag = new Dictionary<string, List<Investigation>>(StringComparer.Ordinal);
            var vague = new List<Investigation>();
            var named = new List<Investigation>();
            void Add(Dictionary<string, List<Investigation>> map, string key, Investigation investigation)
            {
                if (!map.TryGetValue(key, out var list))
                {
                    map[key] = list = [];
                }
                if (list.Count == 0 || list[^1].Id != investigation.Id)
                {
                    list.Add(investigation);
                }
            }
            foreach (var investigation in investigations)
            {
                var names = LinkNames.For(investigation, catalog);
                foreach (var name in names)
                {
                    Add(byName, name, investigation);
                }
                foreach (var tag in investigation.Tags)
                {
                    Add(byTag, tag.ToLowerInvariant(), investigation);
                }
                if (string.IsNullOrWhiteSpace(investigation.ComponentAffected) && string.IsNullOrWhiteSpace(investigation.ServiceAffected))
                {
                    vague.Add(investigation);
                }
                else
                {
                    named.Add(investigation);
                }
            }
            return new CandidateMap(catalog.Version, byName, byTag, vague, named);
        }
    }
}
