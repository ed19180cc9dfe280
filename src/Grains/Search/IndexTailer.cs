using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RootCause.Common;
using RootCause.Database;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Live;

namespace RootCause.Search;

/// <summary>Settings of the silo's search index (configuration section "Search").</summary>
public sealed class SearchOptions
{
    public const string Section = "Search";

    /// <summary>The index directory; one per silo (Lucene locks it).</summary>
    public string? IndexPath { get; set; }

    /// <summary>How long the tailer sleeps when it has caught up.</summary>
    public int PollIntervalMilliseconds { get; set; } = 100;

    /// <summary>Changes read per change-feed page.</summary>
    public int BatchSize { get; set; } = 2000;

    /// <summary>Changes read per page while a backlog is being applied (fewer round trips and refreshes per change).</summary>
    public int CatchUpBatchSize { get; set; } = 8000;

    /// <summary>How often applied changes are committed (made durable with their cursor).</summary>
    public int CommitIntervalMilliseconds { get; set; } = 2000;

    /// <summary>
    /// While a backlog is applied, the searcher is refreshed at most this often, counted from the
    /// backlog's first page (a refresh writes segments on one thread and resolves deletes: once per
    /// page made catch-up slow); once caught up, after every page.
    /// </summary>
    public int CatchUpRefreshIntervalMilliseconds { get; set; } = 1000;

    /// <summary>
    /// Once caught up, a refresh that made changes visible is followed by the next read of the feed
    /// no sooner than this (and no sooner than the poll interval). Every such refresh writes the
    /// changes since the previous one as a new segment, and small segments are merged again and
    /// again: under a steady stream of changes, a longer interval makes fewer, larger segments, at
    /// the price of up to this much more time until a change is searchable. The linker's commits and
    /// deployments wait for that time (docs/benchmarks.md, "Where the ack → link time goes"), so the
    /// default is the poll interval's 100 ms; 200 ms cost a search-heavy silo less CPU per change.
    /// </summary>
    public int LiveRefreshIntervalMilliseconds { get; set; } = 100;

    /// <summary>
    /// While clients on this silo watch an investigation's live changes, the caught-up tailer reads
    /// the change feed this often instead, and announces what it read at once, so a change reaches
    /// them sooner; the searcher is still refreshed no more often than the live refresh interval
    /// (changes read in between are applied and wait for it).
    /// </summary>
    public int WatchedPollIntervalMilliseconds { get; set; } = 25;

    /// <summary>
    /// Whether the index files are memory-mapped (the default, fastest) or read with positional file
    /// reads. Mapped files are read through <see cref="UntrackedMMapDirectory"/>, which keeps
    /// Lucene.NET from registering every clone of an input in a weak table (that registry made gen0
    /// collections slow under querying: docs/benchmarks.md, "The query tails are garbage
    /// collections"). Plain reads need no address space for the index and are slower at the median.
    /// </summary>
    public bool MemoryMapped { get; set; } = true;
}

/// <summary>
/// Keeps the silo's index equal to PostgreSQL: follows the change feed from the committed cursor,
/// re-reads the current state of every changed record, upserts or deletes its document, refreshes
/// the searcher, and commits the documents together with the cursor. Rebuilds from a full scan
/// when the index is missing, unreadable, from another database, or when asked.
/// </summary>
public sealed class IndexTailer(
    LuceneSearchIndex index,
    ChangeFeed feed,
    IndexSource source,
    SearchOptions options,
    TimeProvider time,
    ILogger<IndexTailer> logger,
    SearchMetrics? metrics = null,
    LiveUpdates? live = null) : BackgroundService
{
    /// <summary>
    /// States a page needs before they are applied on every core. Each writer thread that takes
    /// documents writes its own segment at the next refresh, so a live page applied on two threads
    /// made two tiny segments (and twice the merging) where one thread makes one.
    /// </summary>
    private const int ParallelApplyThreshold = 1000;

    private readonly ConcurrentQueue<string> _rebuildRequests = new();
    private ChangeCursor _cursor;
    private ChangeCursor _committedCursor;
    private string _identity = "";
    private DateTimeOffset? _lastAppliedAt;
    private RebuildProgress? _rebuild;
    private long _lastStatusRefresh;
    private long _lastRefresh;
    /// <summary>When a refresh last made changes visible (caught up, the next read waits for <see cref="SearchOptions.LiveRefreshIntervalMilliseconds"/> from it).</summary>
    private long _lastChangesRefresh;
    private bool _catchingUp;
    private bool _unrefreshedChanges;
    private readonly List<(IndexedKind, Guid, long)> _unrefreshed = [];
    private (ChangeCursor From, Task<ChangePage> Page)? _readAhead;
    private ((IndexedKind, Guid, long)[] Applied, Task Refresh)? _backgroundRefresh;

    /// <summary>
    /// Transactions from this id on wrote nothing the index holds yet: every document in it came
    /// from a scan or a fetch that ran before a snapshot with this xmax. A record whose first write
    /// (version 1, see docs/schema.md) is in such a transaction has no document, so it is added
    /// without the delete-by-id an update costs (resolved against every segment on refresh).
    /// </summary>
    private ulong _newFrom = ulong.MaxValue;

    /// <summary>
    /// While a backlog is being applied, commits (a flush and an fsync of every new file) wait this
    /// many commit intervals; a crash then replays a little more of the feed.
    /// </summary>
    private const int CatchUpCommitIntervals = 5;

    /// <summary>
    /// Documents a writer thread buffers before it writes them as a segment itself, while a backlog
    /// is applied: the segments are then written on every core during the apply, instead of all of
    /// them by the single thread that refreshes. Caught up, only the RAM buffer decides.
    /// </summary>
    private const int CatchUpBufferedDocs = 2000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        index.RebuildRequested += reason => _rebuildRequests.Enqueue(reason);
        var failures = 0;
        var started = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!started)
                {
                    await InitializeAsync(stoppingToken);
                    started = true;
                }
                if (_rebuildRequests.TryDequeue(out var reason))
                {
                    while (_rebuildRequests.TryDequeue(out _))
                    {
                    }
                    await RebuildAsync(reason, stoppingToken);
                }
                var more = await TailOnceAsync(stoppingToken);
                failures = 0;
                if (!more)
                {
                    await Task.Delay(UntilNextRead(), time, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (ChangeFeedExpiredException e)
            {
                // Behind the pruning watermark: changes the index has not applied may be gone.
                logger.LogWarning("Search index: {Reason} Rebuilding.", e.Message);
                _rebuildRequests.Enqueue("the change feed was pruned past the index's position");
            }
            catch (Exception e)
            {
                DropReadAhead();
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 250 * Math.Pow(2, Math.Min(failures, 7))));
                logger.LogError(e, "Search index update failed (attempt {Attempt}); retrying in {Delay}", failures, delay);
                index.SetStatus("failing", _cursor.Horizon, _lastAppliedAt, _rebuild, e.Message);
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
        DropReadAhead();
        try
        {
            await AwaitBackgroundRefreshAsync();
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Search index refresh failed while stopping");
        }
        if (started && _cursor != _committedCursor)
        {
            index.Commit(_identity, _cursor.Horizon, _cursor.AfterSeq);
            _committedCursor = _cursor;
        }
    }

    /// <summary>The poll interval, or longer while the last refresh that showed changes is less than the live refresh interval ago.</summary>
    private TimeSpan UntilNextRead()
    {
        var poll = TimeSpan.FromMilliseconds(options.PollIntervalMilliseconds);
        var refresh = TimeSpan.FromMilliseconds(options.LiveRefreshIntervalMilliseconds) - Stopwatch.GetElapsedTime(_lastChangesRefresh);
        if (Watched)
        {
            // Changes applied but held back from the searcher are shown when their refresh is due.
            var watched = TimeSpan.FromMilliseconds(options.WatchedPollIntervalMilliseconds);
            return _unrefreshedChanges && refresh < watched ? (refresh > TimeSpan.Zero ? refresh : TimeSpan.Zero) : watched;
        }
        return refresh > poll ? refresh : poll;
    }

    private bool Watched => live is { HasWatchers: true };

    /// <summary>
    /// Caught up and watched: changes read sooner than the live refresh interval after the last
    /// refresh that showed changes are applied now and shown by a later refresh.
    /// </summary>
    private bool HoldRefresh() =>
        _unrefreshedChanges && Watched
        && Stopwatch.GetElapsedTime(_lastChangesRefresh) < TimeSpan.FromMilliseconds(options.LiveRefreshIntervalMilliseconds);

    /// <summary>Resumes from the committed cursor, or rebuilds when there is none for this database.</summary>
    public async Task InitializeAsync(CancellationToken ct)
    {
        _identity = await source.IdentityAsync(ct);
        if (index.CommittedPosition(_identity) is { } position)
        {
            // Everything the reopened index holds was read before now.
            _newFrom = await feed.SnapshotXmaxAsync(ct);
            _cursor = _committedCursor = new ChangeCursor(position.Horizon, position.AfterSeq);
            logger.LogInformation("Search index resumes at horizon {Horizon} with {Documents} documents", position.Horizon, index.Status.Documents);
            index.SetStatus("catching_up", _cursor.Horizon, null, null, null);
            index.MarkVisible(_cursor.Horizon);
        }
        else
        {
            await RebuildAsync(index.Status.Documents == 0 ? "the index is missing" : "the index belongs to another database or format", ct);
        }
    }

    /// <summary>Commits what has been applied, with its cursor.</summary>
    public void CommitNow()
    {
        AwaitBackgroundRefreshAsync().GetAwaiter().GetResult();
        index.Commit(_identity, _cursor.Horizon, _cursor.AfterSeq);
        _committedCursor = _cursor;
    }

    /// <summary>Applies one change-feed page; true when more pages are ready right away.</summary>
    public async Task<bool> TailOnceAsync(CancellationToken ct)
    {
        // Larger pages while behind: fewer round trips and refreshes per change.
        var pageStarted = Stopwatch.GetTimestamp();
        // A page read ahead while the previous one was applied is used only if it starts at the cursor.
        var pending = _readAhead is { } ahead && ahead.From == _cursor
            ? ahead.Page
            : ReadPageAsync(_cursor, _catchingUp ? Math.Max(options.BatchSize, options.CatchUpBatchSize) : options.BatchSize, ct);
        _readAhead = null;
        var catchingUp = _catchingUp;
        var (batch, states, firstWrites) = await pending;
        if (states.Count > 0)
        {
            // Empty polls are not counted: the steps say what a page of changes costs.
            metrics?.Step("read", pageStarted, catchingUp);
        }
        if (batch.HasMore)
        {
            // Behind: read the next page from PostgreSQL while this one is indexed. Its states are
            // read after this page's, so applying the pages in order never puts an older state last.
            _readAhead = (batch.Next, ReadPageAsync(batch.Next, Math.Max(options.BatchSize, options.CatchUpBatchSize), ct));
        }
        DateTimeOffset? last = batch.Rows.Count > 0 ? batch.Rows[^1].ChangedAt : null;
        if (states.Count > 0)
        {
            var applyStarted = Stopwatch.GetTimestamp();
            // Each key appears once per page, so the upserts are independent: build and apply them on
            // every core (IndexWriter is thread-safe) when the page is large enough to be worth it
            // (a backlog's pages, not a live one's).
            var versions = new long?[states.Count];
            var newFrom = _newFrom;
            bool IsNew(StoredState state) => firstWrites.TryGetValue((state.StateName, state.Id), out var txId) && txId >= newFrom;
            // Watched, the page is parsed first, so the watchers hear of the changes before they are
            // indexed; otherwise each record is parsed as it is applied (a large page's parsed records
            // are not all kept alive at once).
            var records = Watched ? new object?[states.Count] : null;
            var parallel = new ParallelOptions { CancellationToken = ct };
            void Each(Action<int> body)
            {
                if (states.Count >= ParallelApplyThreshold)
                {
                    Parallel.For(0, states.Count, parallel, body);
                }
                else
                {
                    for (var i = 0; i < states.Count; i++)
                    {
                        body(i);
                    }
                }
            }
            try
            {
                if (records is not null)
                {
                    Each(i => records[i] = Parse(states[i]));
                    Announce(records);
                }
                Each(i => versions[i] = Apply(states[i], records is null ? Parse(states[i]) : records[i], IsNew(states[i])));
            }
            catch
            {
                // Part of this page may be in the writer: when it is applied again, its first writes
                // must replace what is there. Every row of the page is below its snapshot's xmax.
                _newFrom = Math.Max(_newFrom, batch.SnapshotXmax);
                throw;
            }
            metrics?.Step("apply", applyStarted, catchingUp);
            for (var i = 0; i < states.Count; i++)
            {
                if (versions[i] is { } version)
                {
                    _unrefreshed.Add((KindOf(states[i].StateName), states[i].Id, version));
                }
            }
        }
        index.CountApplied(batch.Rows.Count);
        metrics?.Applied(batch.Rows.Count);
        _unrefreshedChanges |= states.Count > 0;
        _cursor = batch.Next;
        if (batch.HasMore != _catchingUp)
        {
            _catchingUp = batch.HasMore;
            index.SetBufferedDocs(_catchingUp ? CatchUpBufferedDocs : null);
            if (_catchingUp)
            {
                // The backlog's first refresh comes one interval after its first page.
                _lastRefresh = pageStarted;
            }
        }
        if (batch.HasMore ? Stopwatch.GetElapsedTime(_lastRefresh) >= TimeSpan.FromMilliseconds(options.CatchUpRefreshIntervalMilliseconds) : !HoldRefresh())
        {
            // Everything applied so far, up to the cursor's horizon, becomes visible. One refresh at
            // a time, in order, so waiters are released in the order of the pages.
            await AwaitBackgroundRefreshAsync();
            if (batch.HasMore || (Watched && _unrefreshedChanges))
            {
                // Behind: the refresh (mostly one thread writing segments and resolving deletes) runs
                // while the next page is applied. Documents of that page may become visible with it;
                // only this page's records and horizon are announced. Watched: the next reads (and
                // what they announce) do not wait for it either.
                var applied = _unrefreshed.ToArray();
                var horizon = _cursor.Horizon;
                var timed = !batch.HasMore;
                _backgroundRefresh = (applied, Task.Run(() =>
                {
                    var refreshStarted = Stopwatch.GetTimestamp();
                    index.Refresh(applied, horizon);
                    if (timed)
                    {
                        metrics?.Step("refresh", refreshStarted, catchingUp: false);
                    }
                }, CancellationToken.None));
            }
            else
            {
                var refreshStarted = Stopwatch.GetTimestamp();
                index.Refresh(_unrefreshed, _cursor.Horizon);
                if (_unrefreshedChanges)
                {
                    metrics?.Step("refresh", refreshStarted, _catchingUp);
                }
            }
            _unrefreshed.Clear();
            _lastRefresh = Stopwatch.GetTimestamp();
            if (_unrefreshedChanges)
            {
                _lastChangesRefresh = _lastRefresh;
                _unrefreshedChanges = false;
            }
        }
        _lastAppliedAt = last ?? _lastAppliedAt;
        var state = batch.HasMore ? "catching_up" : "live";
        index.SetStatus(state, _cursor.Horizon, _lastAppliedAt, _rebuild, null);
        var commitInterval = TimeSpan.FromMilliseconds((double)options.CommitIntervalMilliseconds * (batch.HasMore ? CatchUpCommitIntervals : 1));
        if (_cursor != _committedCursor && time.GetUtcNow() - (index.LastCommitAt ?? DateTimeOffset.MinValue) >= commitInterval)
        {
            // After the status: visibility never waits for the fsync.
            index.Commit(_identity, _cursor.Horizon, _cursor.AfterSeq);
            _committedCursor = _cursor;
            index.SetStatus(state, _cursor.Horizon, _lastAppliedAt, _rebuild, null);
        }
        if (Stopwatch.GetElapsedTime(_lastStatusRefresh) > TimeSpan.FromSeconds(1))
        {
            index.RefreshStatus();
            _lastStatusRefresh = Stopwatch.GetTimestamp();
        }
        return batch.HasMore;
    }

    /// <summary>
    /// A change-feed page, the current state of every indexed record it names, and the transaction of
    /// each record's first write when the page holds it (and no clear of that record).
    /// </summary>
    private sealed record ChangePage(ChangeBatch Batch, IReadOnlyList<StoredState> States, Dictionary<(string, Guid), ulong> FirstWrites);

    private async Task<ChangePage> ReadPageAsync(ChangeCursor from, int size, CancellationToken ct)
    {
        var batch = await feed.ReadAsync(from, size, ct);
        var keys = new HashSet<(string, long, long)>();
        var firstWrites = new Dictionary<(string, Guid), ulong>();
        var cleared = new HashSet<(string, Guid)>();
        foreach (var row in batch.Rows)
        {
            if (row.GrainIdExtension is null && IndexSource.IndexedStateNames.Contains(row.GrainType))
            {
                keys.Add((row.GrainType, row.GrainIdN0, row.GrainIdN1));
                if (row.Cleared)
                {
                    cleared.Add((row.GrainType, row.GuidKey));
                }
                else if (row.Version == 1)
                {
                    firstWrites[(row.GrainType, row.GuidKey)] = row.TxId;
                }
            }
        }
        foreach (var key in cleared)
        {
            firstWrites.Remove(key);
        }
        return new ChangePage(batch, keys.Count > 0 ? await source.FetchAsync(keys, ct) : [], firstWrites);
    }

    /// <summary>
    /// Waits for a refresh started in the background; if it failed, its records are announced by
    /// the next refresh instead (their read-your-writes waiters must not be forgotten).
    /// </summary>
    private async Task AwaitBackgroundRefreshAsync()
    {
        if (_backgroundRefresh is not { } pending)
        {
            return;
        }
        _backgroundRefresh = null;
        try
        {
            await pending.Refresh;
        }
        catch
        {
            _unrefreshed.InsertRange(0, pending.Applied);
            throw;
        }
    }

    /// <summary>Drops a page read ahead (the cursor moved elsewhere, or the index is being rebuilt); its failure, if any, is observed.</summary>
    private void DropReadAhead()
    {
        if (_readAhead is { } ahead)
        {
            _ = ahead.Page.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            _readAhead = null;
        }
    }

    /// <summary>
    /// Replaces the index with a full scan of PostgreSQL. The horizon is read before the scan: every
    /// transaction below it is visible to the scan, and anything later is replayed by the feed
    /// (upserts are idempotent). Readers keep the previous index until the rebuild commits.
    /// </summary>
    public async Task RebuildAsync(string reason, CancellationToken ct)
    {
        // States read ahead before the scan are older than the scan's: never apply them after it.
        DropReadAhead();
        await AwaitBackgroundRefreshAsync();
        var startedAt = time.GetUtcNow();
        var total = await source.CountAsync(ct);
        logger.LogInformation("Search index rebuild started ({Reason}): {Total} records", reason, total);
        _rebuild = new RebuildProgress(reason, startedAt, total, 0, null);
        index.SetStatus("rebuilding", _cursor.Horizon, _lastAppliedAt, _rebuild, null);
        var horizon = await source.HorizonAsync(ct);
        // Until the scan has ended, any record may already have a document.
        _newFrom = ulong.MaxValue;
        index.DeleteAll();
        long indexed = 0;
        var lastLog = Stopwatch.GetTimestamp();
        // Parsing a state and analysing its document is most of the cost, and IndexWriter takes
        // documents from several threads at once: one reader streams the scan to a worker per core.
        var scanned = Channel.CreateBounded<StoredState>(new BoundedChannelOptions(4096) { SingleWriter = true });
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var workers = Enumerable.Range(0, Math.Max(1, Environment.ProcessorCount)).Select(_ => Task.Run(async () =>
        {
            try
            {
                await foreach (var state in scanned.Reader.ReadAllAsync(failed.Token))
                {
                    if (Document(Parse(state)) is { } doc)
                    {
                        index.Add(doc.Document);
                    }
                    Interlocked.Increment(ref indexed);
                }
            }
            catch
            {
                await failed.CancelAsync();
                throw;
            }
        }, CancellationToken.None)).ToArray();
        try
        {
            long read = 0;
            await foreach (var state in source.ScanAsync(failed.Token))
            {
                await scanned.Writer.WriteAsync(state, failed.Token);
                read++;
                if (read % 1000 == 0)
                {
                    var done = Interlocked.Read(ref indexed);
                    _rebuild = _rebuild with { Indexed = done, Total = Math.Max(total, read) };
                    index.SetStatus("rebuilding", _cursor.Horizon, _lastAppliedAt, _rebuild, null);
                    if (Stopwatch.GetElapsedTime(lastLog) > TimeSpan.FromSeconds(5))
                    {
                        logger.LogInformation("Search index rebuild: {Indexed} of {Total} records", done, total);
                        lastLog = Stopwatch.GetTimestamp();
                    }
                }
            }
        }
        finally
        {
            scanned.Writer.TryComplete();
            try
            {
                await Task.WhenAll(workers);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // A worker failed and cancelled the others: surface its error, not their cancellation.
                var cause = workers.Where(w => w.IsFaulted).SelectMany(w => w.Exception!.InnerExceptions)
                    .FirstOrDefault(e => e is not OperationCanceledException);
                if (cause is not null)
                {
                    ExceptionDispatchInfo.Throw(cause);
                }
                throw;
            }
        }
        // The scan has ended: a transaction it could not see has an id from this xmax on.
        _newFrom = await feed.SnapshotXmaxAsync(ct);
        _cursor = new ChangeCursor(horizon);
        index.Commit(_identity, _cursor.Horizon, _cursor.AfterSeq);
        _committedCursor = _cursor;
        _unrefreshed.Clear();
        index.RefreshAll(_cursor.Horizon);
        _rebuild = _rebuild with { Indexed = indexed, Total = indexed, FinishedAt = time.GetUtcNow() };
        index.SetStatus("catching_up", _cursor.Horizon, _lastAppliedAt, _rebuild, null);
        index.RefreshStatus();
        logger.LogInformation("Search index rebuild finished: {Indexed} records in {Elapsed:0.0} s", indexed, (time.GetUtcNow() - startedAt).TotalSeconds);
        // The changes made while the index was rebuilt from the states were never read one by one.
        live?.ResyncAll("the silo's view of the records was rebuilt; changes made meanwhile were not announced one by one");
    }

    private static IndexedKind KindOf(string stateName) => stateName == "investigation" ? IndexedKind.Investigation : IndexedKind.Event;

    /// <summary>Upserts (or, for a record the index cannot hold yet, adds) or removes one record's document; returns the version now indexed, if any.</summary>
    private long? Apply(StoredState state, object? record, bool isNew)
    {
        var kind = KindOf(state.StateName);
        if (Document(record) is { } doc)
        {
            if (isNew)
            {
                index.Add(doc.Document);
            }
            else
            {
                index.Upsert(kind, state.Id, doc.Document);
            }
            return doc.Version;
        }
        index.Remove(kind, state.Id);
        return null;
    }

    /// <summary>The stored record, parsed: an existing <see cref="InvestigationState"/> (upgraded) or <see cref="EventState"/>, else null.</summary>
    private object? Parse(StoredState state)
    {
        if (state.Payload is null)
        {
            return null;
        }
        try
        {
            if (state.StateName == "investigation")
            {
                var investigation = JsonSerializer.Deserialize<InvestigationState>(state.Payload, RootCauseJson.Options);
                if (investigation is null || !investigation.Exists)
                {
                    return null;
                }
                investigation.Upgrade(time.GetUtcNow());
                return investigation;
            }
            var @event = JsonSerializer.Deserialize<EventState>(state.Payload, RootCauseJson.Options);
            return @event is null || !@event.Exists ? null : @event;
        }
        catch (JsonException e)
        {
            logger.LogError(e, "Stored {StateName} {Id} is not readable JSON; it is left out of the search index", state.StateName, state.Id);
            return null;
        }
    }

    private static (Lucene.Net.Documents.Document Document, long Version)? Document(object? record) => record switch
    {
        InvestigationState investigation => (IndexDocuments.ForInvestigation(investigation), investigation.Version),
        EventState @event => (IndexDocuments.ForEvent(@event), @event.Version),
        _ => null,
    };

    /// <summary>Tells this silo's live watchers of a page's changed records, before the page is indexed.</summary>
    private void Announce(object?[] records)
    {
        if (live is null)
        {
            return;
        }
        foreach (var record in records)
        {
            switch (record)
            {
                case InvestigationState investigation:
                    live.InvestigationChanged(investigation);
                    break;
                case EventState @event:
                    live.EventChanged(@event);
                    break;
            }
        }
    }
}
