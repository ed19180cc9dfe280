using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Index;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RootCause.Database;
using RootCause.Search;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Search;

/// <summary>
/// The index against PostgreSQL, outside a silo: a tailer killed mid-way and restarted ends equal to a
/// fresh rebuild; a clean restart resumes from its committed cursor; an unreadable index, or one of an
/// earlier format, is rebuilt.
/// The data is written through a real silo pair, so the change feed is the product's own.
/// </summary>
public sealed class IndexRecoveryTests(SiloPairFixture silos) : IClassFixture<SiloPairFixture>, IDisposable
{
    private readonly ScratchDirectory _root = new("rootcause-recovery");

    public void Dispose() => _root.Dispose();

    private sealed class Handle(LuceneSearchIndex index, IndexTailer tailer, NpgsqlDataSource db) : IDisposable
    {
        public LuceneSearchIndex Index => index;
        public IndexTailer Tailer => tailer;

        public void Dispose()
        {
            index.Dispose();
            db.Dispose();
        }

        /// <summary>A kill: the writer goes away without committing.</summary>
        public void Kill()
        {
            index.Abandon();
            db.Dispose();
        }
    }

    private Handle Open(string name, int batchSize = 500, bool memoryMapped = true)
    {
        var db = NpgsqlDataSource.Create(silos.ConnectionString);
        var index = new LuceneSearchIndex(_root[name], NullLogger.Instance, TimeProvider.System, memoryMapped);
        var options = new SearchOptions { BatchSize = batchSize, CatchUpBatchSize = batchSize, CommitIntervalMilliseconds = int.MaxValue };
        var tailer = new IndexTailer(index, new ChangeFeed(db), new IndexSource(db, "rootcause"), options, TimeProvider.System, NullLogger<IndexTailer>.Instance);
        return new Handle(index, tailer, db);
    }

    /// <summary>Builds the index <paramref name="name"/> from PostgreSQL, commits it, closes it, and returns its contents.</summary>
    private async Task<List<string>> BuildAndCommitAsync(string name)
    {
        using var handle = Open(name);
        await handle.Tailer.InitializeAsync(CancellationToken.None);
        await CatchUpAsync(handle.Tailer);
        handle.Tailer.CommitNow();
        return Contents(handle.Index);
    }

    private static async Task CatchUpAsync(IndexTailer tailer)
    {
        while (await tailer.TailOnceAsync(CancellationToken.None))
        {
        }
    }

    /// <summary>Every document of the index (deleted ones included), as the JSON the API would return.</summary>
    private static List<string> Contents(LuceneSearchIndex index)
    {
        var all = new List<string>();
        foreach (var kind in new[] { IndexedKind.Investigation, IndexedKind.Event })
        {
            var page = index.Search(new IndexQuery { Kind = kind, IncludeDeleted = true, PerPage = 100_000, Sort = [new SortKey(SearchFields.Id, false)] });
            Assert.Equal(page.Total, page.Hits.Count);
            all.AddRange(page.Hits.Select(h => h.Json));
        }
        return all;
    }

    /// <summary>Many changes of every kind: creates, updates, notes, links, deletes and restores.</summary>
    private async Task WriteChangesAsync(string tag, int investigations)
    {
        var http = silos.Clients[0];
        var other = silos.Clients[1];
        for (var i = 0; i < investigations; i++)
        {
            var (status, created, _) = await (i % 2 == 0 ? http : other).PostAsync("/api/investigations",
                $$"""{"title":"{{tag}} incident {{i}}","component_affected":"c{{i % 4}}","tags":["{{tag}}"]}""");
            Assert.Equal(HttpStatusCode.Created, status);
            var id = created!["id"]!.GetValue<string>();
            var (eventStatus, ev, _) = await http.PostAsync("/api/events",
                $$$"""{"source":"logs","source_id":"{{{tag}}}-{{{i}}}","event_type":"error_spike","timestamp":"2026-05-01T10:00:00Z","data":{"component":"c{{{i % 4}}}"}}""");
            Assert.Equal(HttpStatusCode.Created, eventStatus);
            if (i % 3 == 0)
            {
                Assert.Equal(HttpStatusCode.OK, (await other.PostAsync($"/api/investigations/{id}/link-event", $$"""{"event_id":"{{ev!["id"]}}"}""")).Status);
            }
            if (i % 4 == 1)
            {
                Assert.Equal(HttpStatusCode.Created, (await http.PostAsync($"/api/investigations/{id}/notes", """{"author":"ann","body":"checked the pool"}""")).Status);
            }
            if (i % 5 == 2)
            {
                Assert.Equal(HttpStatusCode.NoContent, (await other.SendAsync(HttpMethod.Delete, $"/api/investigations/{id}")).Status);
            }
            if (i % 10 == 2)
            {
                Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(HttpMethod.Post, $"/api/investigations/{id}/restore")).Status);
            }
        }
        await LinkerSettle.WaitAsync(silos.ConnectionString);
    }

    /// <summary>The tailer times the steps of each page of changes (read, apply, refresh) and counts the changes it applied.</summary>
    [Fact]
    public async Task TheTailerTimesEachStepOfAPageOfChanges()
    {
        await using var db = NpgsqlDataSource.Create(silos.ConnectionString);
        using var index = new LuceneSearchIndex(_root["metered"], NullLogger.Instance, TimeProvider.System);
        using var metrics = new SearchMetrics();
        var options = new SearchOptions { BatchSize = 500, CatchUpBatchSize = 500, CommitIntervalMilliseconds = int.MaxValue };
        var tailer = new IndexTailer(index, new ChangeFeed(db), new IndexSource(db, "rootcause"), options, TimeProvider.System, NullLogger<IndexTailer>.Instance, metrics);
        await tailer.InitializeAsync(CancellationToken.None);
        await CatchUpAsync(tailer);

        var steps = new ConcurrentQueue<(string? Step, string? Mode, double Ms)>();
        long changes = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (metrics.Owns(instrument))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? step = null, mode = null;
            foreach (var tag in tags)
            {
                step = tag.Key == "step" ? tag.Value as string : step;
                mode = tag.Key == "mode" ? tag.Value as string : mode;
            }
            steps.Enqueue((step, mode, value));
        });
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref changes, value));
        listener.Start();

        await WriteChangesAsync("metered", 4);
        await CatchUpAsync(tailer);

        Assert.Contains(steps, s => s.Step == "read");
        Assert.Contains(steps, s => s.Step == "apply");
        Assert.Contains(steps, s => s.Step == "refresh" && s.Mode == "live");
        Assert.All(steps, s => Assert.True(s.Ms >= 0 && s.Mode is "live" or "catching_up", $"{s}"));
        // Four investigations and four events at least, each written once or more.
        Assert.True(Interlocked.Read(ref changes) >= 8, $"{changes} changes applied");
    }

    [Fact]
    public async Task ATailerKilledMidwayAndRestartedEqualsAFreshRebuild()
    {
        // An index that was current at some earlier point.
        await WriteChangesAsync("before", 10);
        using (var first = Open("killed"))
        {
            await first.Tailer.InitializeAsync(CancellationToken.None);
            await CatchUpAsync(first.Tailer);
            first.Tailer.CommitNow();
        }

        await WriteChangesAsync("after", 30);

        // Resume in small pages, commit part-way, apply more, then die without committing.
        var killed = Open("killed", batchSize: 7);
        await killed.Tailer.InitializeAsync(CancellationToken.None);
        Assert.Null(killed.Index.Status.Rebuild);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(await killed.Tailer.TailOnceAsync(CancellationToken.None));
        }
        killed.Tailer.CommitNow();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await killed.Tailer.TailOnceAsync(CancellationToken.None));
        }
        killed.Kill();

        await WriteChangesAsync("during", 5);

        using var restarted = Open("killed", batchSize: 7);
        await restarted.Tailer.InitializeAsync(CancellationToken.None);
        Assert.Null(restarted.Index.Status.Rebuild);
        await CatchUpAsync(restarted.Tailer);

        using var fresh = Open("fresh");
        await fresh.Tailer.InitializeAsync(CancellationToken.None);
        Assert.NotNull(fresh.Index.Status.Rebuild);
        await CatchUpAsync(fresh.Tailer);

        var expected = Contents(fresh.Index);
        Assert.True(expected.Count >= 45 * 2, $"only {expected.Count} documents");
        Assert.Equal(expected, Contents(restarted.Index));
    }

    /// <summary><c>Search:MemoryMapped=false</c>: the same files read without memory maps give the same index.</summary>
    [Fact]
    public async Task AnIndexReadWithoutMemoryMapsEqualsAMemoryMappedOne()
    {
        await WriteChangesAsync("unmapped", 12);
        using (var plain = Open("plain", memoryMapped: false))
        {
            await plain.Tailer.InitializeAsync(CancellationToken.None);
            Assert.NotNull(plain.Index.Status.Rebuild);
            await CatchUpAsync(plain.Tailer);
            plain.Tailer.CommitNow();
        }
        using var mapped = Open("mapped");
        await mapped.Tailer.InitializeAsync(CancellationToken.None);
        await CatchUpAsync(mapped.Tailer);
        var expected = Contents(mapped.Index);
        Assert.True(expected.Count >= 12 * 2, $"only {expected.Count} documents");

        // Reopened without memory maps, the committed index resumes (no rebuild) and answers the same.
        using var reopened = Open("plain", memoryMapped: false);
        await reopened.Tailer.InitializeAsync(CancellationToken.None);
        Assert.Null(reopened.Index.Status.Rebuild);
        await CatchUpAsync(reopened.Tailer);
        Assert.Equal(expected, Contents(reopened.Index));
    }

    [Fact]
    public async Task AWaitForARecordIsAnsweredByARebuildThatIndexesIt()
    {
        var (status, created, _) = await silos.Clients[0].PostAsync("/api/investigations", """{"title":"indexed by a rebuild"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        var id = Guid.Parse(created!["id"]!.GetValue<string>());
        using var handle = Open("rebuild-wait");
        var waiting = handle.Index.WaitForVisibleAsync(IndexedKind.Investigation, id, 1, TimeSpan.FromSeconds(30));
        Assert.False(waiting.IsCompleted);
        await handle.Tailer.InitializeAsync(CancellationToken.None);
        Assert.NotNull(handle.Index.Status.Rebuild);
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ACleanRestartResumesAndAnUnreadableIndexIsRebuilt()
    {
        await WriteChangesAsync("resume", 8);
        var before = await BuildAndCommitAsync("resume");

        using (var reopened = Open("resume"))
        {
            await reopened.Tailer.InitializeAsync(CancellationToken.None);
            Assert.Null(reopened.Index.Status.Rebuild);
            Assert.Equal(before, Contents(reopened.Index));
        }

        // Damage every index file: the index cannot be read and is rebuilt from PostgreSQL.
        foreach (var file in new DirectoryInfo(_root["resume"]).EnumerateFiles().Where(f => f.Name != "write.lock"))
        {
            await File.WriteAllBytesAsync(file.FullName, [1, 2, 3, 4, 5, 6, 7, 8]);
        }
        using var repaired = Open("resume");
        await repaired.Tailer.InitializeAsync(CancellationToken.None);
        Assert.NotNull(repaired.Index.Status.Rebuild);
        await CatchUpAsync(repaired.Tailer);

        using var fresh = Open("fresh-2");
        await fresh.Tailer.InitializeAsync(CancellationToken.None);
        await CatchUpAsync(fresh.Tailer);
        Assert.Equal(Contents(fresh.Index), Contents(repaired.Index));
    }

    [Fact]
    public async Task AFilterByIdMatchesThatRecordOnly()
    {
        await WriteChangesAsync("by-id", 2);
        using var handle = Open("by-id");
        await handle.Tailer.InitializeAsync(CancellationToken.None);
        await CatchUpAsync(handle.Tailer);
        var all = handle.Index.Search(new IndexQuery { Kind = IndexedKind.Event, PerPage = 3 });
        Assert.True(all.Total > 1);
        var id = System.Text.Json.Nodes.JsonNode.Parse(all.Hits[1].Json)!["id"]!.GetValue<string>();

        IndexQuery ById(params string[] values) => new()
        {
            Kind = IndexedKind.Event,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.Id] = values },
        };
        var one = handle.Index.Search(ById(id.ToUpperInvariant()));
        Assert.Equal(id, System.Text.Json.Nodes.JsonNode.Parse(one.Hits.Single().Json)!["id"]!.GetValue<string>());
        Assert.Equal(0, handle.Index.Search(ById("not-an-id")).Total);
        // An investigation's id is not an event's.
        Assert.Equal(0, handle.Index.Search(ById(id) with { Kind = IndexedKind.Investigation }).Total);
    }

    [Fact]
    public async Task AnIndexOfAnEarlierFormatIsRebuiltOnOpen()
    {
        await WriteChangesAsync("format", 4);
        var before = await BuildAndCommitAsync("format");

        // The same documents and cursor, committed as an earlier format would have been: only the
        // format marker differs, so only the format can be why the index is rebuilt.
        using (var directory = FSDirectory.Open(_root["format"]))
        using (var writer = new IndexWriter(directory, new IndexWriterConfig(LuceneVersion.LUCENE_48, new StandardAnalyzer(LuceneVersion.LUCENE_48))))
        {
            var data = new Dictionary<string, string>(writer.CommitData) { ["format"] = "2" };
            Assert.Equal(LuceneSearchIndex.FormatVersion, writer.CommitData["format"]);
            writer.SetCommitData(data);
            writer.Commit();
        }

        using var reopened = Open("format");
        await reopened.Tailer.InitializeAsync(CancellationToken.None);
        Assert.NotNull(reopened.Index.Status.Rebuild);
        await CatchUpAsync(reopened.Tailer);
        Assert.Equal(before, Contents(reopened.Index));
    }
}
