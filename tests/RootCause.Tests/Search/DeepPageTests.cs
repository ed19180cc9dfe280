using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RootCause.Database;
using RootCause.Search;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Search;

/// <summary>
/// Pages found by selection or by walking the segments in sort order (deep pages of a list sorted by
/// one date or rank field) equal the pages the sorted queue finds, page for page, over several
/// segments, ties, missing values and the end of the results included;
/// and records created while the index is live (added without a delete by id) are indexed once.
/// The data is written through a real silo pair on PostgreSQL and indexed by a tailer of its own.
/// </summary>
public sealed class DeepPageTests(SiloPairFixture silos) : IClassFixture<SiloPairFixture>, IDisposable
{
    private readonly ScratchDirectory _root = new("rootcause-deep");

    public void Dispose() => _root.Dispose();

    private async Task<(LuceneSearchIndex Index, IndexTailer Tailer, NpgsqlDataSource Db)> OpenAsync(string name, int batchSize, int catchUpRefreshMs = 1000)
    {
        var db = NpgsqlDataSource.Create(silos.ConnectionString);
        var index = new LuceneSearchIndex(_root[name], NullLogger.Instance, TimeProvider.System);
        var options = new SearchOptions
        {
            BatchSize = batchSize,
            CatchUpBatchSize = batchSize,
            CommitIntervalMilliseconds = int.MaxValue,
            CatchUpRefreshIntervalMilliseconds = catchUpRefreshMs,
        };
        var tailer = new IndexTailer(index, new ChangeFeed(db), new IndexSource(db, "rootcause"), options, TimeProvider.System, NullLogger<IndexTailer>.Instance);
        await tailer.InitializeAsync(CancellationToken.None);
        await CatchUpAsync(tailer);
        return (index, tailer, db);
    }

    private static async Task CatchUpAsync(IndexTailer tailer)
    {
        while (await tailer.TailOnceAsync(CancellationToken.None))
        {
        }
    }

    /// <summary>
    /// Tails until <paramref name="visible"/> completes. The feed reads a change only once every
    /// transaction that began before it has ended, in any database of the server (other tests hold
    /// transactions open on purpose), so one catch-up can end before a change just committed is readable.
    /// </summary>
    private static async Task<bool> TailUntilAsync(IndexTailer tailer, Task<bool> visible)
    {
        while (!visible.IsCompleted)
        {
            await CatchUpAsync(tailer);
            await Task.WhenAny(visible, Task.Delay(50));
        }
        return await visible;
    }

    /// <summary>Investigations in every severity (many ties), some resolved (the others have no resolved_at), and events sharing timestamps.</summary>
    private async Task WriteAsync(string tag, int count, bool refresh = false)
    {
        var wait = refresh ? "?refresh=wait_for" : "";
        var severities = new[] { "critical", "high", "medium", "low" };
        for (var i = 0; i < count; i++)
        {
            var client = silos.Clients[refresh ? 0 : i % 2];
            var resolved = i % 3 == 0 ? $$""","status":"resolved","resolved_at":"2026-04-{{10 + i % 5:00}}T08:00:00Z","root_cause":"pool" """ : "";
            var (status, created, _) = await client.PostAsync("/api/investigations" + wait,
                $$"""{"title":"{{tag}} deep {{i}}","impact_severity":"{{severities[i % 4]}}","detected_at":"2026-04-0{{1 + i % 7}}T0{{i % 10}}:00:00Z","component_affected":"c{{i % 3}}"{{resolved}}}""");
            Assert.True(status == HttpStatusCode.Created, created?.ToJsonString());
            var (eventStatus, ev, _) = await client.PostAsync("/api/events" + wait,
                $$$"""{"source":"logs","source_id":"{{{tag}}}-deep-{{{i}}}","event_type":"error_spike","severity":"{{{severities[i % 4]}}}","timestamp":"2026-05-01T1{{{i % 3}}}:00:00Z","data":{"component":"c{{{i % 3}}}"}}""");
            Assert.True(eventStatus == HttpStatusCode.Created, ev?.ToJsonString());
        }
    }

    public static TheoryData<string, string, bool> Sorts() => new()
    {
        { "investigation", SearchFields.CreatedAt, true },
        { "investigation", SearchFields.DetectedAt, false },
        { "investigation", SearchFields.SeverityRank, false },
        { "investigation", SearchFields.SeverityRank, true },
        { "investigation", SearchFields.ResolvedAt, true },
        { "investigation", SearchFields.ResolvedAt, false },
        { "event", SearchFields.Timestamp, true },
        { "event", SearchFields.Timestamp, false },
        { "event", SearchFields.EventSeverityRank, true },
    };

    [Theory]
    [MemberData(nameof(Sorts))]
    public async Task PagesFoundBySelectionOrByWalkingEqualThoseOfTheSortedQueue(string kind, string field, bool descending)
    {
        await WriteAsync("sel-" + field + descending, 13);
        var (index, tailer, db) = await OpenAsync("select-" + Guid.NewGuid().ToString("N")[..6], batchSize: 9, catchUpRefreshMs: 0);
        using var _ = index;
        await using var __ = db;
        // Records indexed after the first catch-up was made visible go to a new segment, so the
        // walk merges several segments' orders.
        await WriteAsync("sel-more-" + field + descending, 4);
        await CatchUpAsync(tailer);
        Assert.True(index.SegmentCount > 1, $"{index.SegmentCount} segment");

        var indexedKind = kind == "investigation" ? IndexedKind.Investigation : IndexedKind.Event;
        foreach (var filters in new[]
                 {
                     new Dictionary<string, IReadOnlyList<string>>(),
                     new Dictionary<string, IReadOnlyList<string>>
                     {
                         [indexedKind == IndexedKind.Investigation ? SearchFields.Component : SearchFields.EventComponents] = ["c1"],
                     },
                 })
        {
            foreach (var perPage in new[] { 1, 3, 7 })
            {
                var query = new IndexQuery { Kind = indexedKind, Filters = filters, Sort = [new SortKey(field, descending)], PerPage = perPage };
                index.DeepPageSkip = int.MaxValue;
                var all = index.Search(query with { PerPage = 1000 });
                Assert.True(all.Total >= 13, $"only {all.Total} matches");
                for (var page = 1; (page - 2) * perPage <= all.Total; page++)
                {
                    index.DeepPageSkip = int.MaxValue;
                    var queued = index.Search(query with { Page = page });
                    index.DeepPageSkip = 0;
                    foreach (var walkFactor in new[] { 0, 1e9 })
                    {
                        index.DeepPageWalkFactor = walkFactor;
                        var selected = index.Search(query with { Page = page });
                        Assert.Equal(queued.Total, selected.Total);
                        Assert.Equal(queued.Hits.Select(h => h.Json), selected.Hits.Select(h => h.Json));
                        Assert.Equal(all.Hits.Skip((page - 1) * perPage).Take(perPage).Select(h => h.Json), selected.Hits.Select(h => h.Json));
                    }
                }
            }
        }
    }

    [Fact]
    public async Task RecordsCreatedWhileLiveAreIndexedOnceAndEqualARebuild()
    {
        await WriteAsync("live-before", 3);
        // Pages of 5, refreshed after every page while behind: in the background, during the next page.
        var (live, liveTailer, liveDb) = await OpenAsync("live", batchSize: 5, catchUpRefreshMs: 0);
        using var _ = live;
        await using var __ = liveDb;

        // Creates, then updates of the same records in the same and in later pages (pages of 5).
        await WriteAsync("live-after", 12);
        var (status, created, _) = await silos.Http.PostAsync("/api/investigations", """{"title":"created then noted"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(HttpStatusCode.Created, (await silos.Http.PostAsync($"/api/investigations/{created!["id"]}/notes", """{"author":"ann","body":"noted at once"}""")).Status);
        var noted = live.WaitForVisibleAsync(IndexedKind.Investigation, Guid.Parse(created["id"]!.GetValue<string>()), 2, TimeSpan.FromSeconds(30));
        Assert.False(noted.IsCompleted);
        Assert.True(await TailUntilAsync(liveTailer, noted));
        liveTailer.CommitNow();

        // The linker writes too (it marks events evaluated): compare once it is done.
        await LinkerSettle.WaitAsync(silos.ConnectionString);
        await CatchUpAsync(liveTailer);
        var (fresh, _, freshDb) = await OpenAsync("fresh", batchSize: 500);
        using var ___ = fresh;
        await using var ____ = freshDb;
        await CatchUpAsync(liveTailer);

        foreach (var kind in new[] { IndexedKind.Investigation, IndexedKind.Event })
        {
            var query = new IndexQuery { Kind = kind, IncludeDeleted = true, PerPage = 100_000, Sort = [new SortKey(SearchFields.Id, false)] };
            var expected = fresh.Search(query);
            var actual = live.Search(query);
            Assert.Equal(expected.Total, actual.Total);
            Assert.Equal(expected.Hits.Select(h => h.Json), actual.Hits.Select(h => h.Json));
            Assert.Equal(actual.Hits.Count, actual.Hits.Select(h => h.Json).Distinct().Count());
        }
    }

    /// <summary>
    /// A range checked on each match of narrow filters (doc values) finds exactly what the range
    /// gathered first finds: inclusive ends on exact timestamps, open ends, several filter values,
    /// deleted records left out, every page.
    /// </summary>
    [Fact]
    public async Task ARangeCheckedOnTheFiltersMatchesFindsWhatTheGatheredRangeFinds()
    {
        await WriteAsync("narrow", 12);
        var (index, _, db) = await OpenAsync("narrow-" + Guid.NewGuid().ToString("N")[..6], batchSize: 5, catchUpRefreshMs: 0);
        using var __ = index;
        await using var ___ = db;
        var at = (int hour) => new DateTimeOffset(2026, 5, 1, hour, 0, 0, TimeSpan.Zero);
        var ranges = new[]
        {
            new DateRange(SearchFields.Timestamp, at(10), at(11)),
            new DateRange(SearchFields.Timestamp, at(11), at(11)),
            new DateRange(SearchFields.Timestamp, null, at(10)),
            new DateRange(SearchFields.Timestamp, at(12), null),
            new DateRange(SearchFields.Timestamp, at(13), at(14)),
        };
        var filters = new[]
        {
            new Dictionary<string, IReadOnlyList<string>> { [SearchFields.EventComponents] = ["c1"] },
            new Dictionary<string, IReadOnlyList<string>> { [SearchFields.EventComponents] = ["c0", "c2"], [SearchFields.Source] = ["logs"] },
        };
        var compared = 0;
        foreach (var range in ranges)
        {
            foreach (var filter in filters)
            {
                foreach (var deleted in new[] { false, true })
                {
                    var query = new IndexQuery
                    {
                        Kind = IndexedKind.Event, Filters = filter, Range = range, IncludeDeleted = deleted,
                        Sort = [new SortKey(SearchFields.Timestamp, false)], PerPage = 4,
                    };
                    for (var page = 1; page <= 6; page++)
                    {
                        var gathered = index.Search(query with { Page = page });
                        var checkedEach = index.Search(query with { Page = page, NarrowFilters = true });
                        Assert.Equal(gathered.Total, checkedEach.Total);
                        Assert.Equal(gathered.Hits.Select(h => h.Json), checkedEach.Hits.Select(h => h.Json));
                        compared += gathered.Hits.Count;
                    }
                }
            }
        }
        Assert.True(compared > 50, $"only {compared} hits compared");
    }

    /// <summary>
    /// A linker lookup reads each hit's stored record once; reading it again comes from the
    /// stored-record cache, and once the record changes (a note) the new version is read from the index.
    /// </summary>
    [Fact]
    public async Task ARecordReadAgainComesFromTheCacheUntilItChanges()
    {
        var (status, created, _) = await silos.Http.PostAsync("/api/investigations", """{"title":"cached record"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        var id = created!["id"]!.GetValue<string>();
        var (index, tailer, db) = await OpenAsync("cache-" + Guid.NewGuid().ToString("N")[..6], batchSize: 50, catchUpRefreshMs: 0);
        using var _ = index;
        await using var __ = db;
        var query = new IndexQuery
        {
            Kind = IndexedKind.Investigation,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.Id] = [id] },
            NarrowFilters = true,
        };

        var first = index.Search(query).Hits.Single().Json;
        var before = index.StoredSourceReads;
        Assert.Equal(first, index.Search(query).Hits.Single().Json);
        Assert.Equal((before.Hits + 1, before.Misses), index.StoredSourceReads);
        // The API's lists (no NarrowFilters) read the index and leave the cache alone.
        Assert.Equal(first, index.Search(query with { NarrowFilters = false }).Hits.Single().Json);
        Assert.Equal((before.Hits + 1, before.Misses), index.StoredSourceReads);

        Assert.Equal(HttpStatusCode.Created, (await silos.Http.PostAsync($"/api/investigations/{id}/notes", """{"author":"ann","body":"a note"}""")).Status);
        var noted = index.WaitForVisibleAsync(IndexedKind.Investigation, Guid.Parse(id), 2, TimeSpan.FromSeconds(30));
        Assert.True(await TailUntilAsync(tailer, noted));
        var misses = index.StoredSourceReads.Misses;
        var changed = index.Search(query).Hits.Single().Json;
        Assert.NotEqual(first, changed);
        Assert.Contains("\"note_count\":1", changed, StringComparison.Ordinal);
        Assert.Equal(misses + 1, index.StoredSourceReads.Misses);
    }

    /// <summary>Waits until the first silo's index shows every transaction committed so far.</summary>
    private async Task FirstSiloCaughtUpAsync()
    {
        await using var db = NpgsqlDataSource.Create(silos.ConnectionString);
        await using var command = db.CreateCommand("SELECT pg_snapshot_xmax(pg_current_snapshot())");
        var xmax = (ulong)(await command.ExecuteScalarAsync())!;
        var index = silos.Silos[0].Services.GetRequiredService<ISearchIndex>();
        Assert.True(await index.WaitForHorizonAsync(xmax, TimeSpan.FromSeconds(30)));
    }

    /// <summary>Ids of every page, following the Link header's rel="next" from the first page.</summary>
    private static async Task<(List<string> Ids, int Links)> FollowNextAsync(HttpClient client, string url)
    {
        var ids = new List<string>();
        var links = 0;
        for (string? next = url; next is not null;)
        {
            var (status, body, response) = await client.GetJsonAsync(next);
            Assert.True(status == HttpStatusCode.OK, $"{next} answered {status}: {body?.ToJsonString()}");
            ids.AddRange(body!.AsArray().Select(ItemId));
            var link = response.Headers.TryGetValues("Link", out var values) ? string.Join(", ", values) : "";
            next = Regex.Match(link, "<([^>]*)>; rel=\"next\"") is { Success: true } match ? match.Groups[1].Value : null;
            if (next is not null)
            {
                Assert.Contains("cursor=", next, StringComparison.Ordinal);
                links++;
            }
        }
        return (ids, links);
    }

    private static string ItemId(JsonNode? item) => (item!["investigation"] ?? item["event"] ?? item)!["id"]!.GetValue<string>();

    private static async Task<List<string>> ByPageNumberAsync(HttpClient client, string url)
    {
        var ids = new List<string>();
        for (var page = 1; ; page++)
        {
            var (status, body, _) = await client.GetJsonAsync($"{url}&page={page}");
            Assert.Equal(HttpStatusCode.OK, status);
            var items = body!.AsArray();
            if (items.Count == 0)
            {
                return ids;
            }
            ids.AddRange(items.Select(ItemId));
        }
    }

    [Theory]
    [InlineData("/api/investigations?per_page=4")]
    [InlineData("/api/investigations?per_page=3&sort=severity")]
    [InlineData("/api/investigations?per_page=5&sort=-resolved_at")]
    [InlineData("/api/investigations?per_page=4&sort=status,-title")]
    [InlineData("/api/events?per_page=2&component=c1")]
    [InlineData("/api/investigations/search?q=deep&per_page=3")]
    [InlineData("/api/events/by-date-range?start=2026-04-01T00:00:00Z&end=2026-06-01T00:00:00Z&per_page=4")]
    public async Task FollowingTheNextLinkWalksThePagesInOrder(string url)
    {
        var client = silos.Clients[0];
        await WriteAsync("walk-" + url.GetHashCode(StringComparison.Ordinal), 15, refresh: true);
        await FirstSiloCaughtUpAsync();
        var byNumber = await ByPageNumberAsync(client, url);
        Assert.True(byNumber.Count >= 5, $"only {byNumber.Count} results for {url}");
        var (byCursor, links) = await FollowNextAsync(client, url);
        Assert.Equal(byNumber, byCursor);
        Assert.True(links >= 2, $"{links} next links");
    }

    [Fact]
    public async Task ACursorOfAnotherSortOrNoCursorIsA400NamingCursor()
    {
        var client = silos.Clients[0];
        await WriteAsync("cursor-400", 3, refresh: true);
        var (_, _, first) = await client.GetJsonAsync("/api/investigations?per_page=1");
        var next = Regex.Match(string.Join(", ", first.Headers.GetValues("Link")), "<([^>]*)>; rel=\"next\"").Groups[1].Value;
        var cursor = Regex.Match(next, "cursor=([^&]*)").Groups[1].Value;
        Assert.NotEmpty(cursor);
        foreach (var url in new[] { $"/api/investigations?sort=title&cursor={cursor}", "/api/investigations?cursor=not-a-cursor", $"/api/events?cursor={cursor}" })
        {
            var (status, body, _) = await client.GetJsonAsync(url);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.NotNull(body!["errors"]!["cursor"]);
        }
    }
}
