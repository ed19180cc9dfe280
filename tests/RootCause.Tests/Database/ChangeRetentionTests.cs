using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using RootCause.Database;
using RootCause.Search;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Database;

/// <summary>
/// Pruning the change sequence on real PostgreSQL: only what lies behind a mark at least the retention
/// old goes, the watermark tells readers behind it, and the product's readers (a search index, the
/// silos' own indexes and linker registries) start again from the states and end where a fresh one would.
/// </summary>
public sealed class ChangeRetentionTests(SiloPairFixture silos) : IClassFixture<SiloPairFixture>, IDisposable
{
    private static readonly TimeSpan Week = TimeSpan.FromDays(7);
    private readonly ScratchDirectory _root = new("rootcause-retention");

    public void Dispose() => _root.Dispose();

    private static async Task BackdateMarksAsync(NpgsqlConnection connection, TimeSpan by)
    {
        await using var backdate = new NpgsqlCommand("UPDATE grain_change_marks SET taken_at = taken_at - @by", connection);
        backdate.Parameters.Add(new NpgsqlParameter<TimeSpan>("by", NpgsqlDbType.Interval) { TypedValue = by });
        await backdate.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task OnlyChangesBehindAMarkOlderThanTheRetentionGoAndReadersBehindTheWatermarkAreTold()
    {
        var connectionString = await TestDatabase.CreateAsync("retention");
        await using var db = NpgsqlDataSource.Create(connectionString);
        await using var connection = await db.OpenConnectionAsync();
        var retention = new ChangeRetention(db);
        var feed = new ChangeFeed(db);
        for (var i = 0; i < 3; i++)
        {
            await StoredStateQueries.WriteAsync(connection, null, $"old-{i}", null, $$"""{"n":{{i}}}""");
        }

        // A mark records the oldest transaction running on the whole server: another test's open
        // write transaction (in any database) would leave the three changes above the mark. Wait
        // until every transaction older than them has ended.
        await using (var passed = new NpgsqlCommand("SELECT pg_snapshot_xmin(pg_current_snapshot()) > (SELECT max(txid) FROM grain_changes)", connection))
        {
            for (var started = DateTime.UtcNow; !(bool)(await passed.ExecuteScalarAsync())!; await Task.Delay(50))
            {
                Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(60), "a transaction older than the test's writes stayed open for a minute");
            }
        }

        // The first run only leaves a mark: nothing is a week old yet.
        var first = await retention.PruneAsync(Week, 2, CancellationToken.None);
        Assert.Equal(new PruneResult(true, null, 0), first);
        Assert.Equal(3, await CountAsync(connection, "SELECT count(*) FROM grain_changes"));

        // A week later (the mark backdated), changes written after the mark stay.
        await BackdateMarksAsync(connection, Week + TimeSpan.FromHours(1));
        for (var i = 0; i < 2; i++)
        {
            await StoredStateQueries.WriteAsync(connection, null, $"new-{i}", null, $$"""{"n":{{i}}}""");
        }
        var second = await retention.PruneAsync(Week, 2, CancellationToken.None);
        Assert.True(second.Ran);
        Assert.Equal(3, second.Deleted);
        Assert.Equal(["new-0", "new-1"], await KeysAsync(connection));
        Assert.Equal(1, await CountAsync(connection, "SELECT count(*) FROM grain_changes_pruned"));

        // A reader from the beginning can no longer be complete; one at the watermark reads what is left.
        var expired = await Assert.ThrowsAsync<ChangeFeedExpiredException>(() => feed.ReadAsync(new ChangeCursor(0), 100, CancellationToken.None));
        Assert.Equal(second.PrunedThrough, expired.PrunedThrough);
        var rest = await feed.ReadAsync(new ChangeCursor(second.PrunedThrough!.Value), 100, CancellationToken.None);
        Assert.Equal(["new-0", "new-1"], rest.Rows.Select(r => r.GrainIdExtension));

        // Again: the watermark never moves back, and nothing more is deleted.
        var third = await retention.PruneAsync(Week, 2, CancellationToken.None);
        Assert.Equal(second.PrunedThrough, third.PrunedThrough);
        Assert.Equal(0, third.Deleted);

        // While another silo holds the pruning lock, a run does nothing.
        await using var other = await db.OpenConnectionAsync();
        await using var held = await other.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", other, held))
        {
            take.Parameters.AddWithValue("key", ChangeRetention.LockKey);
            await take.ExecuteNonQueryAsync();
        }
        Assert.False((await retention.PruneAsync(Week, 2, CancellationToken.None)).Ran);
        await held.RollbackAsync();
    }

    private static async Task<List<string>> KeysAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT grain_id_extension FROM grain_changes ORDER BY seq", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new List<string>();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }
        return keys;
    }

    [Fact]
    public async Task ReadersBehindTheWatermarkStartAgainFromTheStatesAndEndAsAFreshIndex()
    {
        var http = silos.Clients[0];
        var tag = "ret" + Guid.NewGuid().ToString("N")[..6];
        for (var i = 0; i < 6; i++)
        {
            var (status, _, _) = await http.PostAsync("/api/investigations", $$"""{"title":"{{tag}} incident {{i}}","component_affected":"c{{i}}","tags":["{{tag}}"]}""");
            Assert.Equal(HttpStatusCode.Created, status);
        }

        // A search index that is behind: caught up now, committed, then left standing.
        await using var db = NpgsqlDataSource.Create(silos.ConnectionString);
        var options = new SearchOptions { BatchSize = 200, CatchUpBatchSize = 200, CommitIntervalMilliseconds = int.MaxValue, PollIntervalMilliseconds = 20 };
        using var behind = new LuceneSearchIndex(_root["behind"], NullLogger.Instance, TimeProvider.System);
        var behindTailer = new IndexTailer(behind, new ChangeFeed(db), new IndexSource(db, "rootcause"), options, TimeProvider.System, NullLogger<IndexTailer>.Instance);
        await behindTailer.InitializeAsync(CancellationToken.None);
        while (await behindTailer.TailOnceAsync(CancellationToken.None))
        {
        }
        behindTailer.CommitNow();

        // More changes; a pruning run marks where the feed stands; a week passes (the mark is
        // backdated) and the next run prunes everything before the mark, past the index's position.
        var retention = new ChangeRetention(db);
        var later = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var (status, created, _) = await silos.Clients[1].PostAsync("/api/investigations", $$"""{"title":"{{tag}} later {{i}}","component_affected":"c{{i}}","tags":["{{tag}}"]}""");
            Assert.Equal(HttpStatusCode.Created, status);
            later.Add(created!["id"]!.GetValue<string>());
        }
        Assert.Equal(HttpStatusCode.NoContent, (await http.SendAsync(HttpMethod.Delete, $"/api/investigations/{later[0]}")).Status);
        await retention.PruneAsync(Week, 1000, CancellationToken.None);
        await using (var connection = await db.OpenConnectionAsync())
        {
            await BackdateMarksAsync(connection, Week + TimeSpan.FromHours(1));
        }
        var pruned = await retention.PruneAsync(Week, 1000, CancellationToken.None);
        Assert.True(pruned.Deleted > 0, "nothing was pruned");
        await Assert.ThrowsAsync<ChangeFeedExpiredException>(() => behindTailer.TailOnceAsync(CancellationToken.None));

        // Running as in a silo, the index rebuilds by itself and ends equal to a fresh one.
        using var stop = new CancellationTokenSource();
        await behindTailer.StartAsync(stop.Token);
        try
        {
            using var fresh = new LuceneSearchIndex(_root["fresh"], NullLogger.Instance, TimeProvider.System);
            var freshTailer = new IndexTailer(fresh, new ChangeFeed(db), new IndexSource(db, "rootcause"), options, TimeProvider.System, NullLogger<IndexTailer>.Instance);
            await freshTailer.InitializeAsync(CancellationToken.None);
            while (await freshTailer.TailOnceAsync(CancellationToken.None))
            {
            }
            var expected = Ids(fresh, tag);
            Assert.Equal(9, expected.Count); // 10 written, one deleted
            Assert.DoesNotContain(later[0], expected);
            var rebuilt = await Eventually.ReturnsAsync(() => Task.FromResult(Ids(behind, tag)), ids => ids.SequenceEqual(expected), TimeSpan.FromSeconds(30));
            Assert.Equal(expected, rebuilt);
        }
        finally
        {
            await stop.CancelAsync();
            await behindTailer.StopAsync(CancellationToken.None);
        }

        // The silos' own readers went through the same: both still list everything, and see new writes.
        var (posted, extra, _) = await http.PostAsync("/api/investigations", $$"""{"title":"{{tag}} after pruning","tags":["{{tag}}"]}""");
        Assert.Equal(HttpStatusCode.Created, posted);
        using var fresher = new LuceneSearchIndex(_root["fresher"], NullLogger.Instance, TimeProvider.System);
        var fresherTailer = new IndexTailer(fresher, new ChangeFeed(db), new IndexSource(db, "rootcause"), options, TimeProvider.System, NullLogger<IndexTailer>.Instance);
        await fresherTailer.InitializeAsync(CancellationToken.None);
        var all = Ids(fresher, tag).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(10, all.Count);
        Assert.Contains(extra!["id"]!.GetValue<string>(), all);
        for (var i = 0; i < silos.Clients.Count; i++)
        {
            var client = silos.Clients[i];
            async Task<List<string>> ListAsync() =>
                [.. (await client.GetJsonAsync($"/api/investigations?tag={tag}&per_page=100")).Body!.AsArray().Select(n => n!["id"]!.GetValue<string>()).Order(StringComparer.Ordinal)];
            var listed = await Eventually.ReturnsAsync(ListAsync, l => l.SequenceEqual(all), TimeSpan.FromSeconds(30));
            if (!listed.SequenceEqual(all))
            {
                var status = (await client.GetJsonAsync("/api/admin/search/status")).Body?.ToJsonString();
                Assert.Fail($"silo {i} lists [{string.Join(", ", listed)}], the states hold [{string.Join(", ", all)}]; its index: {status}");
            }
        }
    }

    private static List<string> Ids(LuceneSearchIndex index, string tag) =>
        [.. index.Search(new IndexQuery
        {
            Kind = IndexedKind.Investigation,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.Tags] = [tag] },
            PerPage = 100,
            Sort = [new SortKey(SearchFields.Id, false)],
        }).Hits.Select(h => JsonNode.Parse(h.Json)!["id"]!.GetValue<string>())];
}
