using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using SortKey = RootCause.Search.SortKey;
using RootCause.Search;

namespace RootCause.Benchmarks.Search;

/// <summary>What a row of the table is aimed at: search and filtered lists (20 ms), analytics (100 ms).</summary>
public enum QueryClass
{
    Search,
    List,
    Analytics,
}

/// <summary>
/// One query three ways: the HTTP request, the same calls on <see cref="ISearchIndex"/> the
/// endpoint makes, and the equivalent SQL on the baseline tables. Each returns the number the
/// correctness check compares (total matches, or the summed counts of an aggregation).
/// </summary>
public sealed record QueryInstance(string Url, Func<ISearchIndex, long> Index, Func<NpgsqlConnection, Task<long>> Postgres);

/// <summary>A row of the result table: one kind of query with varied parameters.</summary>
public sealed record QueryRow(string Name, QueryClass Class, IReadOnlyList<QueryInstance> Instances);

/// <summary>The benchmark's queries, with parameters drawn from the dataset.</summary>
public static class SearchQueries
{
    private static readonly string[] Statuses = ["open", "in_progress", "resolved", "closed"];
    private static readonly string[] Sources = ["git", "ci", "logs", "metrics", "traces"];
    private static readonly string[] EventSeverities = ["critical", "high", "medium", "low", "info"];

    public static IReadOnlyList<QueryRow> Build(SearchDataset data, int count, int seed)
    {
        var rng = new Random(seed);
        var components = data.ComponentNames;
        // Busy components first (the dataset skews towards the start of the list).
        string Component() => components[(int)(Math.Pow(rng.NextDouble(), 1.6) * components.Count)];
        string Word() => SearchDataset.SearchWords[rng.Next(SearchDataset.SearchWords.Length)];
        string Domain() => SearchDataset.ServiceOf(Component()).Split('-')[0];
        (DateTimeOffset Start, DateTimeOffset End) Window(int minDays, int maxDays)
        {
            var days = rng.Next(minDays, maxDays + 1);
            var latestStart = data.End.AddDays(-days);
            var start = data.Start.AddSeconds(rng.NextDouble() * (latestStart - data.Start).TotalSeconds);
            start = DateTimeOffset.FromUnixTimeSeconds(start.ToUnixTimeSeconds());
            return (start, start.AddDays(days).AddSeconds(-1));
        }

        QueryRow Row(string name, QueryClass @class, Func<QueryInstance> make) =>
            new(name, @class, [.. Enumerable.Range(0, count).Select(_ => make())]);

        return
        [
            Row("full-text search, investigations", QueryClass.Search, () =>
            {
                var q = rng.Next(3) == 0 ? Word() : $"{Domain()} {Word()}";
                return InvestigationSearch(q);
            }),
            Row("full-text search, events", QueryClass.Search, () =>
            {
                var q = rng.Next(2) == 0 ? $"{Domain()} {Word()}" : $"{Domain()} {Word()} {Word()}";
                return EventSearch(q);
            }),
            Row("filtered list, investigations (component + status, pages 1-5)", QueryClass.List, () =>
                InvestigationList(Component(), Statuses[rng.Next(Statuses.Length)], rng.Next(1, 6))),
            Row("filtered list, events (component + source, pages 1-5)", QueryClass.List, () =>
                EventList(Component(), Sources[rng.Next(Sources.Length)], rng.Next(1, 6))),
            Row("deep page 500, investigations (status)", QueryClass.List, () =>
                InvestigationStatusPage(rng.Next(2) == 0 ? "resolved" : "closed", 500)),
            Row("deep page 500, events (severity)", QueryClass.List, () =>
                EventSeverityPage(EventSeverities[rng.Next(EventSeverities.Length)], 500)),
            Row("date range, investigations (1-30 days)", QueryClass.List, () =>
            {
                var (s, e) = Window(1, 30);
                return InvestigationRange(s, e);
            }),
            Row("date range, events (1-7 days)", QueryClass.List, () =>
            {
                var (s, e) = Window(1, 7);
                return EventRange(s, e);
            }),
            Row("analytics: investigation-timeline (30-365 days)", QueryClass.Analytics, () =>
            {
                var (s, e) = Window(30, 365);
                var interval = (e - s).TotalDays > 120 ? BucketInterval.Week : BucketInterval.Day;
                return Timeline(s, e, interval, rng.Next(4) == 0 ? Component() : null);
            }),
            Row("analytics: severity-distribution (30-365 days)", QueryClass.Analytics, () =>
            {
                var (s, e) = Window(30, 365);
                return SeverityDistribution(s, e);
            }),
            Row("analytics: mttr (30-365 days)", QueryClass.Analytics, () =>
            {
                var (s, e) = Window(30, 365);
                return Mttr(s, e);
            }),
            Row("analytics: sources (7-90 days)", QueryClass.Analytics, () =>
            {
                var (s, e) = Window(7, 90);
                return SourcesHistogram(s, e, (e - s).TotalDays > 45 ? BucketInterval.Week : BucketInterval.Day);
            }),
            Row("analytics: components (90-730 days)", QueryClass.Analytics, () =>
            {
                var (s, e) = Window(90, SearchDataset.SpanDays);
                return ComponentsSummary(s, e);
            }),
        ];
    }

    // ----- searches -----

    private static QueryInstance InvestigationSearch(string q) => new(
        $"/api/investigations/search?q={Uri.EscapeDataString(q)}",
        index => index.Search(new IndexQuery
        {
            Kind = IndexedKind.Investigation,
            Text = q,
            Page = 1,
            PerPage = 20,
            Highlight = true,
        }).Total,
        connection => SearchAsync(connection, $"""
            WITH query AS (SELECT plainto_tsquery('english', @q) AS q),
            hits AS (
                SELECT i.id, i.doc, i.title, i.description, i.root_cause,
                       ts_rank('{PostgresBaseline.InvestigationWeights}', i.tsv, query.q) AS rank,
                       count(*) OVER () AS total
                FROM bench_investigations i, query
                WHERE i.tsv @@ query.q AND NOT i.deleted
                ORDER BY rank DESC, i.id
                LIMIT 20
            )
            SELECT h.total, h.rank, h.doc,
                   ts_headline('english', h.title, query.q, 'StartSel=<mark>, StopSel=</mark>'),
                   ts_headline('english', coalesce(h.description, ''), query.q, 'StartSel=<mark>, StopSel=</mark>'),
                   ts_headline('english', coalesce(h.root_cause, ''), query.q, 'StartSel=<mark>, StopSel=</mark>')
            FROM hits h, query
            ORDER BY h.rank DESC, h.id
            """, q));

    private static QueryInstance EventSearch(string q) => new(
        $"/api/events/search?q={Uri.EscapeDataString(q)}",
        index => index.Search(new IndexQuery
        {
            Kind = IndexedKind.Event,
            Text = q,
            Page = 1,
            PerPage = 20,
            Highlight = true,
        }).Total,
        connection => SearchAsync(connection, $"""
            WITH query AS (SELECT plainto_tsquery('english', @q) AS q),
            hits AS (
                SELECT e.id, e.doc, e.data,
                       ts_rank('{PostgresBaseline.EventWeights}', e.tsv, query.q) AS rank,
                       count(*) OVER () AS total
                FROM bench_events e, query
                WHERE e.tsv @@ query.q AND NOT e.deleted
                ORDER BY rank DESC, e.id
                LIMIT 20
            )
            SELECT h.total, h.rank, h.doc,
                   ts_headline('english', h.data, query.q, 'StartSel=<mark>, StopSel=</mark>')
            FROM hits h, query
            ORDER BY h.rank DESC, h.id
            """, q));

    private static async Task<long> SearchAsync(NpgsqlConnection connection, string sql, string q)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("q", q);
        await using var reader = await command.ExecuteReaderAsync();
        long total = 0;
        while (await reader.ReadAsync())
        {
            total = reader.GetInt64(0);
            for (var c = 2; c < reader.FieldCount; c++)
            {
                _ = reader.GetString(c);
            }
        }
        return total;
    }

    // ----- lists -----

    private static QueryInstance InvestigationList(string component, string status, int page) => new(
        string.Create(CultureInfo.InvariantCulture, $"/api/investigations?component={component}&status={status}&page={page}"),
        index => index.Search(new IndexQuery
        {
            Kind = IndexedKind.Investigation,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.Component] = [component], [SearchFields.Status] = [status] },
            Sort = [new SortKey(SearchFields.CreatedAt, true)],
            Page = page,
        }).Total,
        connection => PageAsync(connection,
            "FROM bench_investigations WHERE component = @a AND status = @b AND NOT deleted", "created_at DESC, id",
            (page - 1) * 20, ("a", component), ("b", status)));

    private static QueryInstance EventList(string component, string source, int page) => new(
        string.Create(CultureInfo.InvariantCulture, $"/api/events?component={component}&source={source}&page={page}"),
        index => index.Search(new IndexQuery
        {
            Kind = IndexedKind.Event,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.EventComponents] = [component], [SearchFields.Source] = [source] },
            Sort = [new SortKey(SearchFields.Timestamp, true)],
            Page = page,
        }).Total,
        connection => PageAsync(connection,
            "FROM bench_events WHERE component = @a AND source = @b AND NOT deleted", "\"timestamp\" DESC, id",
            (page - 1) * 20, ("a", component), ("b", source)));

    private static QueryInstance InvestigationStatusPage(string status, int page) => new(
        string.Create(CultureInfo.InvariantCulture, $"/api/investigations?status={status}&page={page}"),
        index => index.Search(new IndexQuery
        {
            Kind = IndexedKind.Investigation,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.Status] = [status] },
            Sort = [new SortKey(SearchFields.CreatedAt, true)],
            Page = page,
        }).Total,
        connection => PageAsync(connection, "FROM bench_investigations WHERE status = @a AND NOT deleted", "created_at DESC, id",
            (page - 1) * 20, ("a", status)));

    private static QueryInstance EventSeverityPage(string severity, int page) => new(
        string.Create(CultureInfo.InvariantCulture, $"/api/events?severity={severity}&page={page}"),
        index => index.Search(new IndexQuery
        {
            Kind = IndexedKind.Event,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.EventSeverity] = [severity] },
            Sort = [new SortKey(SearchFields.Timestamp, true)],
            Page = page,
        }).Total,
        connection => PageAsync(connection, "FROM bench_events WHERE severity = @a AND NOT deleted", "\"timestamp\" DESC, id",
            (page - 1) * 20, ("a", severity)));

    private static QueryInstance InvestigationRange(DateTimeOffset start, DateTimeOffset end) => new(
        $"/api/investigations/by-date-range?start={Iso(start)}&end={Iso(end)}",
        index => index.Search(new IndexQuery
        {
            Kind = IndexedKind.Investigation,
            Range = new DateRange(SearchFields.DetectedAt, start, end),
            Sort = [new SortKey(SearchFields.DetectedAt, true)],
        }).Total,
        connection => PageAsync(connection, "FROM bench_investigations WHERE detected_at BETWEEN @s AND @e AND NOT deleted",
            "detected_at DESC, id", 0, ("s", start), ("e", end)));

    private static QueryInstance EventRange(DateTimeOffset start, DateTimeOffset end) => new(
        $"/api/events/by-date-range?start={Iso(start)}&end={Iso(end)}",
        index => index.Search(new IndexQuery
        {
            Kind = IndexedKind.Event,
            Range = new DateRange(SearchFields.Timestamp, start, end),
            Sort = [new SortKey(SearchFields.Timestamp, true)],
        }).Total,
        connection => PageAsync(connection, "FROM bench_events WHERE \"timestamp\" BETWEEN @s AND @e AND NOT deleted",
            "\"timestamp\" DESC, id", 0, ("s", start), ("e", end)));

    /// <summary>A page (20 records, the stored JSON) and the total, in one round trip, as the API answers both.</summary>
    private static async Task<long> PageAsync(NpgsqlConnection connection, string from, string orderBy, int offset, params (string Name, object Value)[] parameters)
    {
        await using var batch = new NpgsqlBatch(connection);
        var page = new NpgsqlBatchCommand($"SELECT doc {from} ORDER BY {orderBy} LIMIT 20 OFFSET {offset.ToString(CultureInfo.InvariantCulture)}");
        var count = new NpgsqlBatchCommand($"SELECT count(*) {from}");
        foreach (var command in new[] { page, count })
        {
            foreach (var (name, value) in parameters)
            {
                command.Parameters.Add(value is DateTimeOffset time
                    ? new NpgsqlParameter<DateTimeOffset>(name, NpgsqlDbType.TimestampTz) { TypedValue = time }
                    : new NpgsqlParameter<string>(name, NpgsqlDbType.Text) { TypedValue = (string)value });
            }
            batch.BatchCommands.Add(command);
        }
        await using var reader = await batch.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            _ = reader.GetString(0);
        }
        await reader.NextResultAsync();
        await reader.ReadAsync();
        return reader.GetInt64(0);
    }

    // ----- analytics -----

    private static QueryInstance Timeline(DateTimeOffset start, DateTimeOffset end, BucketInterval interval, string? component)
    {
        var aligned = LuceneSearchIndex.Align(start, interval);
        var name = interval == BucketInterval.Week ? "week" : "day";
        return new(
            $"/api/analytics/investigation-timeline?start={Iso(start)}&end={Iso(end)}&interval={name}"
                + (component is null ? "" : $"&component={component}"),
            index => index.Histogram(new IndexQuery
            {
                Kind = IndexedKind.Investigation,
                Filters = component is null
                    ? new Dictionary<string, IReadOnlyList<string>>()
                    : new Dictionary<string, IReadOnlyList<string>> { [SearchFields.Component] = [component] },
            }, SearchFields.DetectedAt, interval, start, end, SearchFields.ImpactSeverity).Sum(b => b.Count),
            connection => SumAsync(connection, $"""
                SELECT date_trunc('{name}', detected_at AT TIME ZONE 'UTC') AS bucket, severity, count(*)
                FROM bench_investigations
                WHERE detected_at >= @s AND detected_at <= @e AND NOT deleted {(component is null ? "" : "AND component = @c")}
                GROUP BY 1, 2
                """, 2, component is null ? [("s", aligned), ("e", end)] : [("s", aligned), ("e", end), ("c", component)]));
    }

    private static QueryInstance SeverityDistribution(DateTimeOffset start, DateTimeOffset end) => new(
        $"/api/analytics/severity-distribution?start={Iso(start)}&end={Iso(end)}",
        index => index.CountBy(new IndexQuery
        {
            Kind = IndexedKind.Investigation,
            Range = new DateRange(SearchFields.DetectedAt, start, end),
        }, SearchFields.ImpactSeverity).Values.Sum(),
        connection => SumAsync(connection, """
            SELECT severity, count(*) FROM bench_investigations
            WHERE detected_at BETWEEN @s AND @e AND NOT deleted
            GROUP BY severity
            """, 1, ("s", start), ("e", end)));

    private static QueryInstance Mttr(DateTimeOffset start, DateTimeOffset end) => new(
        $"/api/analytics/mttr?start={Iso(start)}&end={Iso(end)}",
        index => index.Durations(new IndexQuery
        {
            Kind = IndexedKind.Investigation,
            Range = new DateRange(SearchFields.ResolvedAt, start, end),
        }, SearchFields.DetectedAt, SearchFields.ResolvedAt, SearchFields.ImpactSeverity)[""].Count,
        async connection =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT severity, count(*), avg(extract(epoch FROM resolved_at - detected_at)),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - detected_at))
                FROM bench_investigations
                WHERE resolved_at BETWEEN @s AND @e AND resolved_at >= detected_at AND NOT deleted
                GROUP BY GROUPING SETS ((severity), ())
                """, connection);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("s", NpgsqlDbType.TimestampTz) { TypedValue = start });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("e", NpgsqlDbType.TimestampTz) { TypedValue = end });
            await using var reader = await command.ExecuteReaderAsync();
            long overall = 0;
            while (await reader.ReadAsync())
            {
                if (reader.IsDBNull(0))
                {
                    overall = reader.GetInt64(1);
                }
            }
            return overall;
        });

    private static QueryInstance SourcesHistogram(DateTimeOffset start, DateTimeOffset end, BucketInterval interval)
    {
        var aligned = LuceneSearchIndex.Align(start, interval);
        var name = interval == BucketInterval.Week ? "week" : "day";
        return new(
            $"/api/analytics/sources?start={Iso(start)}&end={Iso(end)}&interval={name}",
            index => index.Histogram(new IndexQuery { Kind = IndexedKind.Event }, SearchFields.Timestamp, interval, start, end, SearchFields.Source)
                .Sum(b => b.Count),
            connection => SumAsync(connection, $"""
                SELECT date_trunc('{name}', "timestamp" AT TIME ZONE 'UTC') AS bucket, source, count(*)
                FROM bench_events
                WHERE "timestamp" >= @s AND "timestamp" <= @e AND NOT deleted
                GROUP BY 1, 2
                """, 2, ("s", aligned), ("e", end)));
    }

    /// <summary>The endpoint's three index calls; the check compares the summed counts of the 50 largest components.</summary>
    private static QueryInstance ComponentsSummary(DateTimeOffset start, DateTimeOffset end) => new(
        $"/api/analytics/components?start={Iso(start)}&end={Iso(end)}",
        index =>
        {
            var query = new IndexQuery { Kind = IndexedKind.Investigation, Range = new DateRange(SearchFields.DetectedAt, start, end) };
            var totals = index.CountBy(query, SearchFields.Component);
            var open = index.CountBy(query with
            {
                Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.Status] = ["open", "in_progress"] },
            }, SearchFields.Component);
            var durations = index.Durations(query, SearchFields.DetectedAt, SearchFields.ResolvedAt, SearchFields.Component);
            // Assembled as the endpoint does; only the totals take part in the check.
            var rows = totals.OrderByDescending(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal).Take(50)
                .Select(t => (t.Key, t.Value, Open: open.GetValueOrDefault(t.Key), Resolution: durations.GetValueOrDefault(t.Key)))
                .ToList();
            return rows.Sum(r => r.Value);
        },
        connection => SumAsync(connection, """
            SELECT component, count(*),
                   count(*) FILTER (WHERE status IN ('open', 'in_progress')) AS open,
                   count(*) FILTER (WHERE resolved_at >= detected_at) AS resolved,
                   avg(extract(epoch FROM resolved_at - detected_at)) FILTER (WHERE resolved_at >= detected_at),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - detected_at)) FILTER (WHERE resolved_at >= detected_at)
            FROM bench_investigations
            WHERE detected_at BETWEEN @s AND @e AND NOT deleted AND component IS NOT NULL
            GROUP BY component
            ORDER BY count(*) DESC, component COLLATE "C"
            LIMIT 50
            """, 1, ("s", start), ("e", end)));

    /// <summary>Runs an aggregation and sums the count in column <paramref name="countColumn"/> over its rows.</summary>
    private static async Task<long> SumAsync(NpgsqlConnection connection, string sql, int countColumn, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(value is DateTimeOffset time
                ? new NpgsqlParameter<DateTimeOffset>(name, NpgsqlDbType.TimestampTz) { TypedValue = time }
                : new NpgsqlParameter<string>(name, NpgsqlDbType.Text) { TypedValue = (string)value });
        }
        await using var reader = await command.ExecuteReaderAsync();
        long sum = 0;
        while (await reader.ReadAsync())
        {
            sum += reader.GetInt64(countColumn);
        }
        return sum;
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
