using System.Globalization;
using System.Text.Json;
using Lucene.Net.Analysis;
using Lucene.Net.Analysis.En;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.QueryParsers.Classic;
using Lucene.Net.Queries;
using Lucene.Net.Search;
using Lucene.Net.Search.Highlight;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Microsoft.Extensions.Logging;
using RootCause.Common;
using Directory = Lucene.Net.Store.Directory;

namespace RootCause.Search;

/// <summary>
/// The silo's Lucene index: one <see cref="IndexWriter"/> (it holds the directory's write lock), a
/// <see cref="SearcherManager"/> for near-real-time readers, and the change-feed cursor committed in
/// the same Lucene commit as the documents it produced. Writes come only from <see cref="IndexTailer"/>;
/// queries come from any thread.
/// </summary>
public sealed partial class LuceneSearchIndex : ISearchIndex, IDisposable
{
    /// <summary>Bumped when documents change shape: an index of another format is rebuilt.</summary>
    public const string FormatVersion = "6";

    private const string CommitFormat = "format";
    private const string CommitIdentity = "database";
    private const string CommitHorizon = "horizon";
    private const string CommitAfterSeq = "after_seq";
    private const string CommitApplied = "changes_applied";

    private static readonly LuceneVersion Lucene = LuceneVersion.LUCENE_48;

    private readonly string _path;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Analyzer _analyzer = new EnglishAnalyzer(Lucene);
    private readonly Directory _directory;
    private readonly IndexWriter _writer;
    private readonly SearcherManager _searchers;
    private readonly VisibilityWaiters _waiters = new();
    /// <summary>About 32 MB of recently read records (16 million UTF-16 characters).</summary>
    private readonly StoredSourceCache _sources = new(16_000_000);

    private volatile IndexStatus _status;
    private IReadOnlyDictionary<string, string> _committed;

    public LuceneSearchIndex(string path, ILogger logger, TimeProvider time, bool memoryMapped = true)
    {
        _path = path;
        _logger = logger;
        _time = time;
        System.IO.Directory.CreateDirectory(path);
        _directory = OpenOrReset(path, memoryMapped, logger, out _committed);
        _writer = new IndexWriter(_directory, new IndexWriterConfig(Lucene, _analyzer)
        {
            OpenMode = OpenMode.CREATE_OR_APPEND,
            RAMBufferSizeMB = 64,
            // A refresh writes each new segment's files once, instead of writing them and then
            // copying them into a compound file; the index has a few more files.
            UseCompoundFile = false,
            MergePolicy = new TieredMergePolicy { NoCFSRatio = 0 },
        });
        _searchers = new SearcherManager(_writer, applyAllDeletes: true, new StableSearcherFactory());
        _status = new IndexStatus { State = "starting" };
        RefreshStatus();
    }

    /// <summary>The change-feed position of the last commit, if it was made for <paramref name="identity"/>.</summary>
    public (ulong Horizon, long AfterSeq)? CommittedPosition(string identity)
    {
        if (!_committed.TryGetValue(CommitFormat, out var format) || format != FormatVersion
            || !_committed.TryGetValue(CommitIdentity, out var id) || id != identity
            || !_committed.TryGetValue(CommitHorizon, out var horizon)
            || !_committed.TryGetValue(CommitAfterSeq, out var afterSeq))
        {
            return null;
        }
        return (ulong.Parse(horizon, CultureInfo.InvariantCulture), long.Parse(afterSeq, CultureInfo.InvariantCulture));
    }

    public IndexStatus Status => _status;

    internal long ChangesApplied { get; private set; }

    // ----- writing (tailer thread only) -----

    internal void Upsert(IndexedKind kind, Guid id, Document document) => _writer.UpdateDocument(IndexDocuments.UidTerm(kind, id), document);

    internal void Remove(IndexedKind kind, Guid id) => _writer.DeleteDocuments(IndexDocuments.UidTerm(kind, id));

    internal void Add(Document document) => _writer.AddDocument(document);

    internal void DeleteAll() => _writer.DeleteAll();

    internal void CountApplied(int changes) => ChangesApplied += changes;

    /// <summary>Flush a writer thread's documents as a segment once it holds this many (null: by RAM use only).</summary>
    internal void SetBufferedDocs(int? documents) =>
        _writer.Config.MaxBufferedDocs = documents ?? IndexWriterConfig.DISABLE_AUTO_FLUSH;

    /// <summary>
    /// Makes everything written so far visible to queries and wakes read-your-writes waiters;
    /// <paramref name="visibleHorizon"/> is the change-sequence horizon everything written so far reaches.
    /// </summary>
    internal void Refresh(IEnumerable<(IndexedKind Kind, Guid Id, long Version)> applied, ulong visibleHorizon)
    {
        _searchers.MaybeRefreshBlocking();
        _waiters.Publish(applied);
        ReleaseHorizonWaiters(visibleHorizon);
    }

    /// <summary>After a rebuild, which says nothing about single records: every waiter checks the index again.</summary>
    internal void RefreshAll(ulong visibleHorizon)
    {
        _searchers.MaybeRefreshBlocking();
        _waiters.Recheck(VisibleVersion);
        ReleaseHorizonWaiters(visibleHorizon);
    }

    /// <summary>The searcher shows everything up to <paramref name="horizon"/> (an index opened at its committed cursor).</summary>
    internal void MarkVisible(ulong horizon) => ReleaseHorizonWaiters(horizon);

    /// <summary>The durable step: documents and the cursor they bring the index to, in one Lucene commit.</summary>
    internal void Commit(string identity, ulong horizon, long afterSeq)
    {
        var data = new Dictionary<string, string>
        {
            [CommitFormat] = FormatVersion,
            [CommitIdentity] = identity,
            [CommitHorizon] = horizon.ToString(CultureInfo.InvariantCulture),
            [CommitAfterSeq] = afterSeq.ToString(CultureInfo.InvariantCulture),
            [CommitApplied] = ChangesApplied.ToString(CultureInfo.InvariantCulture),
        };
        _writer.SetCommitData(data);
        _writer.Commit();
        _committed = data;
        LastCommitAt = _time.GetUtcNow();
    }

    internal DateTimeOffset? LastCommitAt { get; private set; }

    internal void SetStatus(string state, ulong horizon, DateTimeOffset? lastAppliedAt, RebuildProgress? rebuild, string? error)
    {

        _status = _status with
        {
            State = state,
            Horizon = horizon,
            ChangesApplied = ChangesApplied,
            LastAppliedAt = lastAppliedAt,
            LastCommitAt = LastCommitAt,
            Rebuild = rebuild,
            LastError = error,
        };
    }

    internal void RefreshStatus()
    {
        var searcher = _searchers.Acquire();
        try
        {
            _status = _status with
            {
                Documents = searcher.IndexReader.NumDocs,
                Investigations = searcher.Search(KindQuery(IndexedKind.Investigation), 1).TotalHits,
                Events = searcher.Search(KindQuery(IndexedKind.Event), 1).TotalHits,
                SizeBytes = DirectorySize(),
            };
        }
        finally
        {
            _searchers.Release(searcher);
        }
    }

    private long DirectorySize()
    {
        try
        {
            return new DirectoryInfo(_path).EnumerateFiles().Sum(f => f.Length);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public event Action<string>? RebuildRequested;

    public void RequestRebuild(string reason) => RebuildRequested?.Invoke(reason);

    /// <summary>
    /// Scores that depend only on the document and the query. Lucene's idf counts documents that were
    /// updated or deleted until their segment is merged, so two silos with the same documents but
    /// different merge histories would score (and order) the same search differently, and a client
    /// paging through results behind a load balancer could see an item twice or never. With a
    /// constant idf, ranking comes from field boosts, term frequency, field length and how many of
    /// the query's terms match: identical on every silo.
    /// </summary>
    private sealed class StableSimilarity : Lucene.Net.Search.Similarities.DefaultSimilarity
    {
        public override float Idf(long docFreq, long numDocs) => 1f;
    }

    private sealed class StableSearcherFactory : SearcherFactory
    {
        private static readonly StableSimilarity Similarity = new();

        public override IndexSearcher NewSearcher(IndexReader reader) => new(reader) { Similarity = Similarity };
    }

    // ----- read-your-writes -----

    private readonly List<(ulong Horizon, TaskCompletionSource Done)> _horizonWaiters = [];
    private ulong _visibleHorizon;

    /// <summary>The horizon of a database snapshot taken now (the change feed's; set by the silo's registration).</summary>
    public Func<CancellationToken, Task<ulong>>? CommittedHorizon { get; set; }

    public async Task<bool> WaitForCommittedAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var horizon = CommittedHorizon ?? throw new InvalidOperationException("This index has no change feed to take a horizon from.");
        return await WaitForHorizonAsync(await horizon(cancellationToken), timeout, cancellationToken);
    }

    public async Task<bool> WaitForHorizonAsync(ulong horizon, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_horizonWaiters)
        {
            if (_visibleHorizon >= horizon)
            {
                return true;
            }
            _horizonWaiters.Add((horizon, done));
        }
        var finished = await Task.WhenAny(done.Task, Task.Delay(timeout, _time, cancellationToken));
        if (finished != done.Task)
        {
            lock (_horizonWaiters)
            {
                _horizonWaiters.RemoveAll(w => w.Done == done);
            }
            return false;
        }
        return true;
    }

    /// <summary>Called after the searcher was refreshed with every page up to <paramref name="horizon"/>.</summary>
    private void ReleaseHorizonWaiters(ulong horizon)
    {
        lock (_horizonWaiters)
        {
            if (horizon <= _visibleHorizon)
            {
                return;
            }
            _visibleHorizon = horizon;
            for (var i = _horizonWaiters.Count - 1; i >= 0; i--)
            {
                if (_horizonWaiters[i].Horizon <= horizon)
                {
                    _horizonWaiters[i].Done.TrySetResult();
                    _horizonWaiters.RemoveAt(i);
                }
            }
        }
    }

    public async Task<bool> WaitForVisibleAsync(IndexedKind kind, Guid id, long version, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var uid = IndexDocuments.UidFor(kind, id);
        var waiter = _waiters.Register(uid, version);
        try
        {
            // Registered first, then checked: a refresh between the two cannot be missed.
            if (VisibleVersion(kind, id) >= version)
            {
                return true;
            }
            var finished = await Task.WhenAny(waiter.Task, Task.Delay(timeout, _time, cancellationToken));
            return finished == waiter.Task;
        }
        finally
        {
            _waiters.Unregister(uid, waiter);
        }
    }

    /// <summary>The version of a record the current searcher shows, or -1.</summary>
    public long VisibleVersion(IndexedKind kind, Guid id) => VisibleVersion(IndexDocuments.UidFor(kind, id));

    private long VisibleVersion(string uid)
    {
        var searcher = _searchers.Acquire();
        try
        {
            var hits = searcher.Search(new TermQuery(new Term(IndexDocuments.Uid, uid)), 1);
            if (hits.TotalHits == 0)
            {
                return -1;
            }
            var docId = hits.ScoreDocs[0].Doc;
            var leaf = searcher.IndexReader.Leaves[ReaderUtil.SubIndex(docId, searcher.IndexReader.Leaves)];
            var versions = leaf.AtomicReader.GetNumericDocValues(IndexDocuments.Version);
            return versions?.Get(docId - leaf.DocBase) ?? -1;
        }
        finally
        {
            _searchers.Release(searcher);
        }
    }

    /// <summary>Read-your-writes waiters by record; one lock, so a waiter can never land in a list being dropped.</summary>
    private sealed class VisibilityWaiters
    {
        private readonly Dictionary<string, List<(long Version, TaskCompletionSource Done)>> _byUid = new(StringComparer.Ordinal);

        public TaskCompletionSource Register(string uid, long version)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_byUid)
            {
                if (!_byUid.TryGetValue(uid, out var list))
                {
                    _byUid[uid] = list = [];
                }
                list.Add((version, done));
            }
            return done;
        }

        public void Unregister(string uid, TaskCompletionSource done)
        {
            lock (_byUid)
            {
                if (_byUid.TryGetValue(uid, out var list))
                {
                    list.RemoveAll(w => w.Done == done);
                    if (list.Count == 0)
                    {
                        _byUid.Remove(uid);
                    }
                }
            }
        }

        public void Recheck(Func<string, long> visibleVersion)
        {
            lock (_byUid)
            {
                foreach (var (uid, list) in _byUid)
                {
                    var visible = visibleVersion(uid);
                    foreach (var waiter in list.Where(w => w.Version <= visible))
                    {
                        waiter.Done.TrySetResult();
                    }
                }
            }
        }

        public void Publish(IEnumerable<(IndexedKind Kind, Guid Id, long Version)> applied)
        {
            lock (_byUid)
            {
                if (_byUid.Count == 0)
                {
                    return;
                }
                foreach (var (kind, id, version) in applied)
                {
                    if (_byUid.TryGetValue(IndexDocuments.UidFor(kind, id), out var list))
                    {
                        foreach (var waiter in list.Where(w => w.Version <= version))
                        {
                            waiter.Done.TrySetResult();
                        }
                    }
                }
            }
        }
    }

    // ----- opening -----

    /// <summary>
    /// Opens the directory if it holds a readable index; otherwise (missing, corrupt, unreadable)
    /// empties it, so the caller rebuilds from PostgreSQL.
    /// </summary>
    private static Directory OpenOrReset(string path, bool memoryMapped, ILogger logger, out IReadOnlyDictionary<string, string> committed)
    {
        var directory = OpenDirectory(path, memoryMapped);
        committed = new Dictionary<string, string>();
        try
        {
            if (DirectoryReader.IndexExists(directory))
            {
                using var reader = DirectoryReader.Open(directory);
                committed = new Dictionary<string, string>(reader.IndexCommit.UserData);
                // Touch every segment's stored fields once so a truncated file shows up now, not mid-query.
                if (reader.MaxDoc > 0)
                {
                    reader.Document(reader.MaxDoc - 1);
                }
                return directory;
            }
        }
        catch (Exception e) when (e is IOException or CorruptIndexException or IndexFormatTooOldException or IndexFormatTooNewException
                                       or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            logger.LogWarning(e, "The search index in {Path} is unreadable; it will be rebuilt from PostgreSQL", path);
        }
        directory.Dispose();
        foreach (var file in new DirectoryInfo(path).EnumerateFiles())
        {
            file.Delete();
        }
        committed = new Dictionary<string, string>();
        return OpenDirectory(path, memoryMapped);
    }

    /// <summary>
    /// The index files, memory-mapped without clone tracking (<see cref="UntrackedMMapDirectory"/>)
    /// or read with positional file reads (<see cref="NIOFSDirectory"/>; see <see cref="SearchOptions.MemoryMapped"/>).
    /// </summary>
    private static Directory OpenDirectory(string path, bool memoryMapped) =>
        memoryMapped ? new UntrackedMMapDirectory(new DirectoryInfo(path)) : new NIOFSDirectory(new DirectoryInfo(path));

    public void Dispose()
    {
        _searchers.Dispose();
        _writer.Dispose();
        _directory.Dispose();
        _analyzer.Dispose();
    }

    /// <summary>Closes without committing, as a crash would (tests).</summary>
    public void Abandon()
    {
        _searchers.Dispose();
        _writer.Rollback();
        _directory.Dispose();
        _analyzer.Dispose();
    }

    // ----- querying -----

    private static TermQuery KindQuery(IndexedKind kind) => new(new Term(IndexDocuments.Kind, IndexDocuments.KindName(kind)));

    /// <summary>How many segments the current searcher reads.</summary>
    public int SegmentCount => WithSearcher(searcher => searcher.IndexReader.Leaves.Count);

    private T WithSearcher<T>(Func<IndexSearcher, T> action)
    {
        var searcher = _searchers.Acquire();
        try
        {
            return action(searcher);
        }
        catch (BooleanQuery.TooManyClausesException)
        {
            throw new ValidationFailedException("q", "q expands to too many terms; use a longer prefix or fewer wildcards.");
        }
        finally
        {
            _searchers.Release(searcher);
        }
    }

    /// <summary>
    /// Every query's first clause: the documents of one kind, without the soft-deleted ones unless
    /// asked, as one bit set per segment, kept as long as the segment (a bit per document; a
    /// segment's documents never change, and deletions are applied at query time). Most queries
    /// match a small part of a kind, and a conjunction advanced through a bit set skips the
    /// kind's postings (a million for events) instead of decoding them.
    /// </summary>
    private static readonly Filter[] RecordFilters =
    [
        RecordFilter(IndexedKind.Investigation, includeDeleted: false),
        RecordFilter(IndexedKind.Investigation, includeDeleted: true),
        RecordFilter(IndexedKind.Event, includeDeleted: false),
        RecordFilter(IndexedKind.Event, includeDeleted: true),
    ];

    private static Filter RecordFilter(IndexedKind kind, bool includeDeleted)
    {
        var records = new BooleanQuery { { KindQuery(kind), Occur.MUST } };
        if (!includeDeleted)
        {
            records.Add(new TermQuery(new Term(IndexDocuments.Deleted, "1")), Occur.MUST_NOT);
        }
        return new BitSetCachingFilter(new QueryWrapperFilter(records));
    }

    private static Filter RecordFilterFor(IndexedKind kind, bool includeDeleted) =>
        RecordFilters[(kind == IndexedKind.Investigation ? 0 : 2) + (includeDeleted ? 1 : 0)];

    /// <summary>A per-segment cache of a filter as plain bit sets (random access, fast to advance).</summary>
    private sealed class BitSetCachingFilter(Filter filter) : CachingWrapperFilter(filter)
    {
        protected override DocIdSet CacheImpl(DocIdSetIterator iterator, AtomicReader reader)
        {
            var set = new FixedBitSet(reader.MaxDoc);
            set.Or(iterator);
            return set;
        }
    }

    /// <summary>The filters of a query (kind, deleted, keyword filters, range) as one boolean query.</summary>
    private static Query FilterQuery(IndexQuery query)
    {
        var filter = new BooleanQuery
        {
            { new ConstantScoreQuery(RecordFilterFor(query.Kind, query.IncludeDeleted)), Occur.MUST },
        };
        foreach (var (field, values) in query.Filters)
        {
            if (values.Count == 0)
            {
                continue;
            }
            if (values.Count == 1)
            {
                filter.Add(new TermQuery(FilterTerm(query.Kind, field, values[0])), Occur.MUST);
                continue;
            }
            if (query.NarrowFilters)
            {
                // One terms filter, which looks the terms up in one pass per segment when that
                // segment is searched, instead of a query per value, each of which looks its term
                // up in every segment before the search starts (the linker's lookups name a dozen
                // link keys at once).
                filter.Add(new ConstantScoreQuery(new TermsFilter([.. values.Select(value => FilterTerm(query.Kind, field, value))])), Occur.MUST);
                continue;
            }
            var any = new BooleanQuery();
            foreach (var value in values)
            {
                any.Add(new TermQuery(FilterTerm(query.Kind, field, value)), Occur.SHOULD);
            }
            filter.Add(any, Occur.MUST);
        }
        if (query.Range is { } range)
        {
            var (from, to) = (range.From?.ToUnixTimeMilliseconds(), range.To?.ToUnixTimeMilliseconds());
            if (query.NarrowFilters && query.Filters.Values.Any(v => v.Count > 0))
            {
                // The filters' matches drive; each is checked against the date's doc values.
                return new FilteredQuery(filter, FieldCacheRangeFilter.NewInt64Range(range.Field, from, to, true, true),
                    FilteredQuery.QUERY_FIRST_FILTER_STRATEGY);
            }
            filter.Add(NumericRangeQuery.NewInt64Range(range.Field, IndexDocuments.DatePrecisionStep, from, to, true, true), Occur.MUST);
        }
        return filter;
    }

    /// <summary>
    /// The term a filter value matches. The id is not indexed as a term of its own (only as doc
    /// values, for sorting): a filter by id matches the record's <see cref="IndexDocuments.Uid"/>,
    /// and a value that is not an id matches nothing.
    /// </summary>
    private static Term FilterTerm(IndexedKind kind, string field, string value) =>
        field != SearchFields.Id ? new Term(field, IndexDocuments.Keyword(value))
        : Guid.TryParse(value, out var id) ? IndexDocuments.UidTerm(kind, id)
        : new Term(IndexDocuments.Uid, "");

    /// <summary>Parses the user's text with the kind's fields and boosts; a syntax error is a 400 naming q.</summary>
    private Query? TextQuery(IndexQuery query)
    {
        if (string.IsNullOrWhiteSpace(query.Text))
        {
            return null;
        }
        var (fields, boosts) = query.Kind == IndexedKind.Investigation
            ? (IndexDocuments.InvestigationTextFields, IndexDocuments.InvestigationBoosts)
            : (IndexDocuments.EventTextFields, IndexDocuments.EventBoosts);
        // QueryParser is not thread-safe: one per call.
        var parser = new MultiFieldQueryParser(Lucene, fields, _analyzer, boosts)
        {
            DefaultOperator = Operator.AND,
            AllowLeadingWildcard = false,
        };
        try
        {
            return parser.Parse(query.Text);
        }
        catch (ParseException e)
        {
            throw new ValidationFailedException("q", $"q is not a valid query: {FirstLine(e.Message)}");
        }
        catch (BooleanQuery.TooManyClausesException)
        {
            throw new ValidationFailedException("q", "q has too many clauses.");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The parser also throws its token errors and argument errors (bad regexp, bad fuzzy value).
            throw new ValidationFailedException("q", $"q is not a valid query: {FirstLine(e.Message)}");
        }
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n')[0].Trim();
        return line.Length <= 200 ? line : line[..200] + "…";
    }

    private static Sort BuildSort(IndexQuery query, bool hasText)
    {
        var fields = new List<SortField>();
        foreach (var key in query.Sort)
        {
            if (key.Field == SearchFields.Score)
            {
                if (hasText)
                {
                    fields.Add(key.Descending ? SortField.FIELD_SCORE : new SortField(null, SortFieldType.SCORE, true));
                }
                continue;
            }
            fields.Add(SortFor(key.Field, key.Descending));
        }
        if (fields.Count == 0 && hasText)
        {
            fields.Add(SortField.FIELD_SCORE);
        }
        fields.Add(new SortField(SearchFields.Id, SortFieldType.STRING));
        return new Sort([.. fields]);
    }

    private static SortField SortFor(string field, bool descending)
    {
        if (IsNumericField(field))
        {
            // Records without the field come last in either direction.
            var numeric = new SortField(field, SortFieldType.INT64, descending);
            numeric.SetMissingValue(descending ? long.MinValue : long.MaxValue);
            return numeric;
        }
        var keyword = new SortField(field, SortFieldType.STRING, descending);
        keyword.SetMissingValue(descending ? SortField.STRING_FIRST : SortField.STRING_LAST);
        return keyword;
    }

    private static bool IsNumericField(string field) => field is SearchFields.DetectedAt or SearchFields.StartedAt or SearchFields.ResolvedAt
        or SearchFields.CreatedAt or SearchFields.UpdatedAt or SearchFields.SeverityRank or SearchFields.PriorityRank
        or SearchFields.Timestamp or SearchFields.ParsedAt or SearchFields.LinkedAt or SearchFields.EventSeverityRank;

    public SearchPage Search(IndexQuery query)
    {
        var text = TextQuery(query);
        return WithSearcher(searcher =>
        {
            var filter = FilterQuery(query);
            var skip = (query.Page - 1) * query.PerPage;
            var sort = BuildSort(query, text is not null);
            var after = query.Cursor is null ? null : DecodeCursor(query.Cursor, sort);
            if (after is null && IsDeepPage(query, text is not null))
            {
                var (docs, total) = DeepPage(searcher, filter, query.Kind, query.Sort[0], skip, query.PerPage);
                return new SearchPage([.. docs.Select(doc => new SearchHit(SourceOf(searcher, doc, query.NarrowFilters), null, null))], total, query.Page, query.PerPage)
                {
                    NextCursor = docs.Length == query.PerPage ? EncodeCursor(sort, NumericSortValues(searcher, docs[^1], query.Sort[0])) : null,
                };
            }
            // After a cursor, the queue holds one page; otherwise every result up to the page.
            var wanted = Math.Max(1, Math.Min(after is null ? skip + query.PerPage : query.PerPage, searcher.IndexReader.MaxDoc));
            var collector = TopFieldCollector.Create(sort, wanted, after, fillFields: true,
                trackDocScores: text is not null, trackMaxScore: false, docsScoredInOrder: false);
            if (text is null)
            {
                searcher.Search(new ConstantScoreQuery(filter), collector);
            }
            else
            {
                searcher.Search(text, new QueryWrapperFilter(filter), collector);
            }
            var top = collector.GetTopDocs(after is null ? skip : 0, query.PerPage);
            var termsByField = text is not null && query.Highlight ? QueryTermsByField(text) : null;
            // Per field, the query's terms with their IDF weights, computed once per search instead of
            // once per hit (each computation looks every term up in every segment). Only for plain
            // term queries, whose weights do not depend on the document's text.
            Dictionary<string, WeightedSpanTerm[]>? weightedTerms = termsByField is not null && OnlyTermQueries(text!) ? new(StringComparer.Ordinal) : null;
            var hits = new List<SearchHit>(top.ScoreDocs.Length);
            foreach (var scoreDoc in top.ScoreDocs)
            {
                // A list needs only the record; a search's snippets derive the text from it (and the stored notes).
                if (text is null)
                {
                    hits.Add(new SearchHit(SourceOf(searcher, scoreDoc.Doc, query.NarrowFilters), null, null));
                    continue;
                }
                var document = searcher.Doc(scoreDoc.Doc, SourceAndNotes);
                var json = SourceJson(document);
                hits.Add(new SearchHit(json, float.IsNaN(scoreDoc.Score) ? null : scoreDoc.Score,
                    query.Highlight ? Highlights(searcher, text, json, document, scoreDoc.Doc, termsByField, weightedTerms, query.Kind) : null));
            }
            return new SearchPage(hits, collector.TotalHits, query.Page, query.PerPage)
            {
                NextCursor = hits.Count == query.PerPage ? EncodeCursor(sort, ((FieldDoc)top.ScoreDocs[^1]).Fields) : null,
            };
        });
    }

    private static readonly ISet<string> SourceOnly = new HashSet<string> { IndexDocuments.Source };

    private static readonly ISet<string> SourceAndNotes = new HashSet<string> { IndexDocuments.Source, IndexDocuments.NotesText };

    /// <summary>
    /// The text a hit was indexed with, per field: derived from its stored record by the same code
    /// that indexed it (<see cref="IndexDocuments.Texts(Investigations.Investigation)"/>), plus the
    /// stored notes. Lazy: only fields that hold a query term are ever asked for.
    /// </summary>
    private static Func<string, string[]> TextsOf(string json, Document document, IndexedKind kind)
    {
        Dictionary<string, string[]>? texts = null;
        return field =>
        {
            if (field == IndexDocuments.NotesText)
            {
                return document.GetValues(field);
            }
            texts ??= (kind == IndexedKind.Investigation
                    ? IndexDocuments.Texts(JsonSerializer.Deserialize<Investigations.Investigation>(json, RootCauseJson.Options)!)
                    : IndexDocuments.Texts(JsonSerializer.Deserialize<Events.Event>(json, RootCauseJson.Options)!))
                .Where(t => !string.IsNullOrWhiteSpace(t.Value))
                .ToDictionary(t => t.Field, t => new[] { t.Value! }, StringComparer.Ordinal);
            return texts.TryGetValue(field, out var values) ? values : [];
        };
    }

    /// <summary>
    /// The stored record of a document; for the linker's lookups (<paramref name="cached"/>) from
    /// <see cref="StoredSourceCache"/> when it was read lately. The API's lists read the index, as
    /// measured in the search benchmark: their pages are spread over the whole index.
    /// </summary>
    private string SourceOf(IndexSearcher searcher, int doc, bool cached)
    {
        if (!cached)
        {
            return SourceJson(searcher.Doc(doc, SourceOnly));
        }
        var leaves = searcher.IndexReader.Leaves;
        var leaf = leaves[ReaderUtil.SubIndex(doc, leaves)];
        return _sources.GetOrRead(leaf.Reader.CoreCacheKey, doc - leaf.DocBase, () => SourceJson(leaf.Reader.Document(doc - leaf.DocBase, SourceOnly)));
    }

    /// <summary>Records served from the stored-record cache, and records read from the index.</summary>
    public (long Hits, long Misses) StoredSourceReads => (_sources.Hits, _sources.Misses);

    private static string SourceJson(Document document)
    {
        var source = document.GetBinaryValue(IndexDocuments.Source);
        return System.Text.Encoding.UTF8.GetString(source.Bytes, source.Offset, source.Length);
    }

    /// <summary>The query's terms per field, or null when it has terms that cannot be listed before a rewrite (prefix, wildcard, fuzzy).</summary>
    private static Dictionary<string, string[]>? QueryTermsByField(Query query)
    {
        var terms = new HashSet<Term>();
        try
        {
            query.ExtractTerms(terms);
        }
        catch (NotSupportedException)
        {
            return null;
        }
        return terms.GroupBy(t => t.Field, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(t => t.Text).ToArray(), StringComparer.Ordinal);
    }

    /// <summary>Whether the document's indexed <paramref name="field"/> holds any of <paramref name="terms"/>.</summary>
    private static bool FieldHasAny(IndexSearcher searcher, int docId, string field, string[] terms)
    {
        var leaves = searcher.IndexReader.Leaves;
        var leaf = leaves[ReaderUtil.SubIndex(docId, leaves)];
        var local = docId - leaf.DocBase;
        var fieldTerms = leaf.AtomicReader.GetTerms(field);
        if (fieldTerms is null)
        {
            return false;
        }
        var termsEnum = fieldTerms.GetEnumerator();
        foreach (var term in terms)
        {
            if (termsEnum.SeekExact(new BytesRef(term)))
            {
                var docs = termsEnum.Docs(null, null, DocsFlags.NONE);
                if (docs.Advance(local) == local)
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static bool OnlyTermQueries(Query query) => query switch
    {
        TermQuery => true,
        BooleanQuery boolean => boolean.Clauses.All(c => OnlyTermQueries(c.Query)),
        _ => false,
    };

    /// <summary>The scorer for one field of one hit; with <paramref name="weightedTerms"/>, built from terms weighted once per search.</summary>
    private QueryScorer Scorer(IndexSearcher searcher, Query query, string field, Dictionary<string, WeightedSpanTerm[]>? weightedTerms)
    {
        if (weightedTerms is null)
        {
            return new QueryScorer(query, searcher.IndexReader, field);
        }
        if (!weightedTerms.TryGetValue(field, out var terms))
        {
            // The same extraction QueryScorer(query, reader, field) runs per token stream; term
            // queries never read the stream.
            using var empty = _analyzer.GetTokenStream(field, "");
            terms = [.. new WeightedSpanTermExtractor().GetWeightedSpanTermsWithScores(query, empty, field, searcher.IndexReader).Values];
            weightedTerms[field] = terms;
        }
        return new QueryScorer(terms);
    }

    private IReadOnlyDictionary<string, IReadOnlyList<string>> Highlights(IndexSearcher searcher, Query query, string json, Document document, int docId,
        Dictionary<string, string[]>? termsByField, Dictionary<string, WeightedSpanTerm[]>? weightedTerms, IndexedKind kind)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var fields = kind == IndexedKind.Investigation ? IndexDocuments.InvestigationTextFields : IndexDocuments.EventTextFields;
        var textsOf = TextsOf(json, document, kind);
        foreach (var field in fields)
        {
            // Re-analysing the text is most of a search's cost. A field that holds none of the
            // query's terms for it yields no fragment (only fragments with a match are returned), so
            // it is skipped; the same analyzer indexed it, so the index answers that exactly.
            if (termsByField is not null
                && (!termsByField.TryGetValue(field, out var fieldTerms) || !FieldHasAny(searcher, docId, field, fieldTerms)))
            {
                continue;
            }
            var values = textsOf(field);
            if (values.Length == 0)
            {
                continue;
            }
            // The fragmenter must share the highlighter's scorer: only that one is initialised per
            // token stream, and a separate one throws on its first token.
            var scorer = Scorer(searcher, query, field, weightedTerms);
            var highlighter = new Highlighter(new SimpleHTMLFormatter("<mark>", "</mark>"), new SimpleHTMLEncoder(), scorer)
            {
                TextFragmenter = new SimpleSpanFragmenter(scorer, 160),
                MaxDocCharsToAnalyze = 50_000,
            };
            var fragments = new List<string>();
            foreach (var value in values)
            {
                using var tokens = _analyzer.GetTokenStream(field, value);
                fragments.AddRange(highlighter.GetBestFragments(tokens, value, 3).Where(f => !string.IsNullOrWhiteSpace(f)));
                if (fragments.Count >= 3)
                {
                    break;
                }
            }
            if (fragments.Count > 0)
            {
                result[PublicFieldName(field)] = fragments.Take(3).ToArray();
            }
        }
        return result;
    }

    private static string PublicFieldName(string field) => field switch
    {
        IndexDocuments.TagsText => "tags",
        IndexDocuments.EventTypeText => "event_type",
        IndexDocuments.DataText => "data",
        IndexDocuments.MetadataText => "metadata",
        _ => field,
    };
}
