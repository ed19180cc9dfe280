namespace RootCause.Search;

/// <summary>The two kinds of record the search index holds.</summary>
public enum IndexedKind
{
    Investigation,
    Event,
}

/// <summary>One sort key: an index field name (see <see cref="SearchFields"/>) and its direction.</summary>
public sealed record SortKey(string Field, bool Descending);

/// <summary>
/// A list or search request against the index. Different filters combine with AND; the values of
/// one filter combine with OR. Keyword values are matched case-insensitively.
/// </summary>
public sealed record IndexQuery
{
    public required IndexedKind Kind { get; init; }

    /// <summary>A full-text query in Lucene syntax, or null for a plain filtered list.</summary>
    public string? Text { get; init; }

    /// <summary>Keyword filters: index field name → accepted values.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Filters { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>A time range on one date field, both ends inclusive; either end may be open.</summary>
    public DateRange? Range { get; init; }

    /// <summary>
    /// The linker's lookups: the filters are narrow (a few components' link keys), so the range is
    /// checked on each of their matches (the field's doc values) instead of first gathering every
    /// record in the range (ignored without filters), a filter's several values are one terms
    /// filter, and the records read are kept for the next lookup. Same results; much cheaper when the
    /// range holds many records and the filters few, and when the same records are looked up again.
    /// </summary>
    public bool NarrowFilters { get; init; }

    public bool IncludeDeleted { get; init; }

    /// <summary>Sort keys in order; ties are always broken by id, so pages are stable.</summary>
    public IReadOnlyList<SortKey> Sort { get; init; } = [];

    public int Page { get; init; } = 1;

    /// <summary>
    /// Continue after the last hit of an earlier page (its <see cref="SearchPage.NextCursor"/>)
    /// instead of skipping to <see cref="Page"/>: as cheap on page 500 as on page 2.
    /// </summary>
    public string? Cursor { get; init; }

    public int PerPage { get; init; } = 20;

    /// <summary>Whether to compute highlighted snippets for <see cref="Text"/>.</summary>
    public bool Highlight { get; init; }
}

/// <summary>A range on a date field; null ends are open.</summary>
public sealed record DateRange(string Field, DateTimeOffset? From, DateTimeOffset? To);

/// <summary>One result: the record as the API shows it (JSON), and for searches its score and snippets.</summary>
public sealed record SearchHit(string Json, float? Score, IReadOnlyDictionary<string, IReadOnlyList<string>>? Highlights);

/// <summary>A lookup of <see cref="ISearchIndex.KeyedEvents"/>: a keyed field, the keys (any of them), a timestamp range (both ends inclusive, either open).</summary>
public sealed record KeyedLookup(string Field, IReadOnlyCollection<string> Keys)
{
    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    /// <summary>The latest first (ties still by id, ascending).</summary>
    public bool NewestFirst { get; init; }

    public int Max { get; init; } = 100;
}

/// <summary>One page of results and the number of all matches.</summary>
public sealed record SearchPage(IReadOnlyList<SearchHit> Hits, long Total, int Page, int PerPage)
{
    /// <summary>Where the next page starts (pass as <see cref="IndexQuery.Cursor"/>), or null when this page is not full.</summary>
    public string? NextCursor { get; init; }
}

/// <summary>Time buckets for histograms.</summary>
public enum BucketInterval
{
    Hour,
    Day,
    Week,
}

/// <summary>One histogram bucket: its start, its count, and the count split by a keyword field.</summary>
public sealed record HistogramBucket(DateTimeOffset Start, long Count, IReadOnlyDictionary<string, long> By);

/// <summary>Resolution times of one group (seconds).</summary>
public sealed record DurationSummary(long Count, double? MeanSeconds, double? MedianSeconds);

/// <summary>Where an index stands, for operators.</summary>
public sealed record IndexStatus
{
    public required string State { get; init; }
    public long Documents { get; init; }
    public long Investigations { get; init; }
    public long Events { get; init; }
    public ulong Horizon { get; init; }
    public long ChangesApplied { get; init; }
    public DateTimeOffset? LastAppliedAt { get; init; }
    public DateTimeOffset? LastCommitAt { get; init; }
    public RebuildProgress? Rebuild { get; init; }
    public long SizeBytes { get; init; }
    public string? LastError { get; init; }
}

/// <summary>Progress of a running or the last finished rebuild.</summary>
public sealed record RebuildProgress(string Reason, DateTimeOffset StartedAt, long Total, long Indexed, DateTimeOffset? FinishedAt);

/// <summary>
/// The silo-local search index: lists, full-text search and aggregations over investigations and
/// events. It follows PostgreSQL (the source of truth) with a lag of well under a second.
/// </summary>
public interface ISearchIndex
{
    SearchPage Search(IndexQuery query);

    /// <summary>
    /// The linker's keyed lookups: the events (not deleted) that hold any of
    /// <see cref="KeyedLookup.Keys"/> in a keyed field (<see cref="SearchFields.DeploymentKeys"/>,
    /// <see cref="SearchFields.LinkedSymptomKeys"/>), with a timestamp in the range, ordered by
    /// timestamp, then by id, at most <see cref="KeyedLookup.Max"/>. The same records as
    /// <see cref="Search"/> with those filters, range and sort would return.
    /// </summary>
    IReadOnlyList<SearchHit> KeyedEvents(KeyedLookup lookup);

    /// <summary>Counts of each value of a keyword field over the matches of <paramref name="query"/> (its paging is ignored).</summary>
    IReadOnlyDictionary<string, long> CountBy(IndexQuery query, string field);

    /// <summary>Counts per time bucket of <paramref name="dateField"/>, split by <paramref name="splitField"/> when given.</summary>
    IReadOnlyList<HistogramBucket> Histogram(IndexQuery query, string dateField, BucketInterval interval, DateTimeOffset from, DateTimeOffset to, string? splitField);

    /// <summary>
    /// Time from <paramref name="startField"/> to <paramref name="endField"/> over the matches that have both,
    /// grouped by a keyword field ("" is the overall group).
    /// </summary>
    IReadOnlyDictionary<string, DurationSummary> Durations(IndexQuery query, string startField, string endField, string groupField);

    /// <summary>
    /// Completes once this silo's index shows <paramref name="version"/> (or later) of the record,
    /// or returns false after <paramref name="timeout"/>.
    /// </summary>
    Task<bool> WaitForVisibleAsync(IndexedKind kind, Guid id, long version, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes once this silo's index reflects every transaction with an id below
    /// <paramref name="horizon"/> (a change-sequence horizon, e.g. the xmax of a snapshot taken
    /// now: then everything committed before now is searchable), or returns false after <paramref name="timeout"/>.
    /// </summary>
    Task<bool> WaitForHorizonAsync(ulong horizon, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes once this silo's index reflects every transaction that committed before the call
    /// (<see cref="WaitForHorizonAsync"/> with the horizon of a snapshot taken now), or returns false
    /// after <paramref name="timeout"/>.
    /// </summary>
    Task<bool> WaitForCommittedAsync(TimeSpan timeout, CancellationToken cancellationToken = default);

    IndexStatus Status { get; }

    /// <summary>Asks for a full rebuild from PostgreSQL; queries keep answering from the old index until it is done.</summary>
    void RequestRebuild(string reason);
}

/// <summary>Index field names the API can filter, sort and group on.</summary>
public static class SearchFields
{
    public const string Id = "id";

    // Investigations
    public const string Status = "status";
    public const string ImpactSeverity = "impact_severity";
    public const string Priority = "priority";
    public const string Component = "component_affected";
    public const string Service = "service_affected";
    public const string AssignedTo = "assigned_to";
    public const string CreatedBy = "created_by";
    public const string Tags = "tags";
    public const string Title = "title_sort";
    public const string DetectedAt = "detected_at";
    public const string StartedAt = "started_at";
    public const string ResolvedAt = "resolved_at";
    public const string CreatedAt = "created_at";
    public const string UpdatedAt = "updated_at";
    public const string SeverityRank = "severity_rank";
    public const string PriorityRank = "priority_rank";

    // Events
    public const string Source = "source";
    public const string EventSeverity = "severity";
    public const string EventType = "event_type";
    public const string EventComponents = "components";
    public const string InvestigationIds = "investigation_ids";
    public const string Timestamp = "timestamp";
    public const string ParsedAt = "parsed_at";
    public const string LinkedAt = "linked_at";
    public const string EventSeverityRank = "event_severity_rank";
    /// <summary>"1" once the linker has evaluated the event, else "0".</summary>
    public const string LinkerChecked = "linker_checked";
    /// <summary>Investigations the event is a pending suggestion for.</summary>
    public const string SuggestedFor = "suggested_for";
    /// <summary>
    /// What the linker looks events up by, lower-cased and prefixed: <c>c:</c> a component or service
    /// name found anywhere the linker reads one (top level, labels, attributes, resource),
    /// <c>r:</c> a repository, <c>p:</c> a pipeline, <c>s:</c> a commit sha.
    /// </summary>
    public const string LinkKeys = "link_keys";
    /// <summary>
    /// <c>deployment</c> on a git or CI event the linker reads as a deployment (a deployment event,
    /// or a successful CI run that released to production); absent on every other event. Lets the
    /// linker's lookups of a component's deployments skip its commits and builds.
    /// </summary>
    public const string ChangeKind = "change_kind";
    /// <summary>"1" on an event that holds a link record with status linked or suggested; absent otherwise.</summary>
    public const string HasLinks = "has_links";
    /// <summary>
    /// The <see cref="LinkKeys"/> of an event marked <see cref="ChangeKind"/> <c>deployment</c>; absent
    /// on every other event and on deleted ones (see <see cref="ISearchIndex.KeyedEvents"/>). A lookup of a component's deployments reads the postings of its
    /// deployments only, not those of every event that names the component.
    /// </summary>
    public const string DeploymentKeys = "deployment_keys";
    /// <summary>
    /// The <see cref="LinkKeys"/> of a symptom (an error spike, a metric anomaly, failing or slow
    /// spans) that holds a link record with status linked or suggested; absent on every other event
    /// and on deleted ones.
    /// What corroboration looks symptoms up by.
    /// </summary>
    public const string LinkedSymptomKeys = "linked_symptom_keys";

    /// <summary>Sorting by relevance (searches only).</summary>
    public const string Score = "_score";
}
