using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RootCause.Common;
using RootCause.Database;
using RootCause.Events;
using RootCause.Linking;
using RootCause.Search;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Search;

/// <summary>
/// The linker's keyed lookups (<see cref="ISearchIndex.KeyedEvents"/>, answered from per-segment key
/// maps) return exactly what the equivalent filtered search returns: deployments by their link keys,
/// linked or suggested symptoms by theirs, over several segments, with timestamps shared by several
/// events (ties broken by id), inclusive and open range ends, both orders, caps, and deleted events
/// left out, including one deleted after its segment was written. The data is written through a real
/// silo pair on PostgreSQL and indexed by a tailer of its own.
/// </summary>
public sealed class KeyedLookupTests(SiloPairFixture silos) : IClassFixture<SiloPairFixture>, IDisposable
{
    private readonly ScratchDirectory _root = new("rootcause-keyed");

    public void Dispose() => _root.Dispose();

    private static DateTimeOffset At(int minute) => new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero).AddMinutes(minute);

    private async Task<string> IngestAsync(string json)
    {
        var (status, body, _) = await silos.Http.PostAsync("/api/events", json);
        Assert.True(status is HttpStatusCode.Created, body?.ToJsonString());
        return body!["id"]!.GetValue<string>();
    }

    /// <summary>Deployments of three components (one repository, five shas), error spikes and plain log lines of the same components; minutes repeat.</summary>
    private async Task<(List<string> Deployments, List<string> Spikes, List<string> Lines)> WriteAsync(string tag, int count)
    {
        var (deployments, spikes, lines) = (new List<string>(), new List<string>(), new List<string>());
        for (var i = 0; i < count; i++)
        {
            var component = $"kd-{tag}-{i % 3}";
            var at = At(i % 7).ToString("O");
            deployments.Add(await IngestAsync($$$"""{"source":"git","source_id":"{{{tag}}}-deploy-{{{i}}}","event_type":"deployment","timestamp":"{{{at}}}","data":{"component":"{{{component}}}","repository":"org/kd-{{{tag}}}","sha":"{{{tag}}}sha{{{i % 5}}}","environment":"production"}}"""));
            spikes.Add(await IngestAsync($$$"""{"source":"logs","source_id":"{{{tag}}}-spike-{{{i}}}","event_type":"error_spike","timestamp":"{{{at}}}","data":{"component":"{{{component}}}","count":{{{100 + i}}}}}"""));
            lines.Add(await IngestAsync($$$"""{"source":"logs","source_id":"{{{tag}}}-line-{{{i}}}","event_type":"log_line","timestamp":"{{{at}}}","data":{"component":"{{{component}}}"}}"""));
        }
        return (deployments, spikes, lines);
    }

    private async Task LinkAsync(string investigationId, IEnumerable<string> eventIds)
    {
        foreach (var id in eventIds)
        {
            Assert.Equal(HttpStatusCode.OK, (await silos.Http.PostAsync($"/api/investigations/{investigationId}/link-event", $$"""{"event_id":"{{id}}"}""")).Status);
        }
    }

    private async Task DeleteAsync(string id) =>
        Assert.Equal(HttpStatusCode.NoContent, (await silos.Http.SendAsync(HttpMethod.Delete, $"/api/events/{id}")).Status);

    private static async Task CatchUpAsync(IndexTailer tailer)
    {
        while (await tailer.TailOnceAsync(CancellationToken.None))
        {
        }
    }

    [Fact]
    public async Task KeyedLookupsReturnWhatTheFilteredSearchReturns()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var (status, created, _) = await silos.Http.PostAsync("/api/investigations", $$"""{"title":"keyed {{tag}}","detected_at":"{{At(30):O}}"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        var investigation = created!["id"]!.GetValue<string>();
        var first = await WriteAsync(tag, 14);
        // Spikes and plain lines linked (only the spikes are symptoms); one spike deleted before indexing.
        await LinkAsync(investigation, first.Spikes.Where((_, i) => i % 2 == 0).Concat(first.Lines.Take(4)));
        await DeleteAsync(first.Deployments[3]);
        await DeleteAsync(first.Spikes[4]);
        await LinkerSettle.WaitAsync(silos.ConnectionString);

        await using var db = NpgsqlDataSource.Create(silos.ConnectionString);
        using var index = new LuceneSearchIndex(_root["index"], NullLogger.Instance, TimeProvider.System);
        var options = new SearchOptions { BatchSize = 11, CatchUpBatchSize = 11, CommitIntervalMilliseconds = int.MaxValue, CatchUpRefreshIntervalMilliseconds = 0 };
        var tailer = new IndexTailer(index, new ChangeFeed(db), new IndexSource(db, "rootcause"), options, TimeProvider.System, NullLogger<IndexTailer>.Instance);
        await tailer.InitializeAsync(CancellationToken.None);
        await CatchUpAsync(tailer);

        // More segments, and deletions of documents in segments already searched (their key maps are built).
        Assert.NotEmpty(index.KeyedEvents(new KeyedLookup(SearchFields.DeploymentKeys, [$"r:org/kd-{tag}"])));
        var second = await WriteAsync(tag + "b", 6);
        await LinkAsync(investigation, second.Spikes.Take(3));
        await DeleteAsync(first.Deployments[5]);
        await DeleteAsync(first.Spikes[6]);
        await LinkerSettle.WaitAsync(silos.ConnectionString);
        await CatchUpAsync(tailer);
        Assert.True(index.SegmentCount > 1, $"{index.SegmentCount} segment");

        string[][] keySets =
        [
            [$"c:kd-{tag}-0"],
            [$"c:kd-{tag}-0", $"c:kd-{tag}-2", $"r:org/kd-{tag}"],
            [$"C:KD-{tag}-1"],
            [$"s:{tag}sha1"],
            [$"s:{tag}sha1", $"s:{tag}sha3", $"c:kd-{tag}b-1"],
            [$"c:kd-{tag}-0", $"c:kd-{tag}b-0", $"c:kd-{tag}-1", $"c:kd-{tag}b-2"],
            ["c:no-such-component"],
        ];
        (DateTimeOffset? From, DateTimeOffset? To)[] ranges = [(null, null), (At(2), At(4)), (At(3), At(3)), (null, At(1)), (At(5), null), (At(8), At(9))];
        var compared = 0;
        foreach (var field in new[] { SearchFields.DeploymentKeys, SearchFields.LinkedSymptomKeys })
        {
            foreach (var keys in keySets)
            {
                foreach (var (from, to) in ranges)
                {
                    foreach (var newestFirst in new[] { false, true })
                    {
                        var all = index.Search(new IndexQuery
                        {
                            Kind = IndexedKind.Event,
                            Filters = new Dictionary<string, IReadOnlyList<string>>
                            {
                                [SearchFields.LinkKeys] = keys,
                                [field == SearchFields.DeploymentKeys ? SearchFields.ChangeKind : SearchFields.HasLinks] = [field == SearchFields.DeploymentKeys ? "deployment" : "1"],
                            },
                            Range = from is null && to is null ? null : new DateRange(SearchFields.Timestamp, from, to),
                            Sort = [new SortKey(SearchFields.Timestamp, newestFirst)],
                            PerPage = 1000,
                        }).Hits.Where(h => field == SearchFields.DeploymentKeys || EventFacts.IsSymptomEvent(Parse(h))).ToList();
                        foreach (var max in new[] { 1, 3, 100 })
                        {
                            var keyed = index.KeyedEvents(new KeyedLookup(field, keys) { From = from, To = to, NewestFirst = newestFirst, Max = max });
                            Assert.Equal(all.Take(max).Select(h => Parse(h).Id), keyed.Select(h => Parse(h).Id));
                            Assert.Equal(all.Take(max).Select(h => h.Json), keyed.Select(h => h.Json));
                            compared += keyed.Count;
                        }
                    }
                }
            }
        }
        Assert.True(compared > 300, $"only {compared} hits compared");

        // Deleted events are never returned, whichever segment holds them.
        var deleted = new[] { first.Deployments[3], first.Deployments[5], first.Spikes[4], first.Spikes[6] }.Select(Guid.Parse).ToHashSet();
        foreach (var field in new[] { SearchFields.DeploymentKeys, SearchFields.LinkedSymptomKeys })
        {
            var every = index.KeyedEvents(new KeyedLookup(field, [$"c:kd-{tag}-0", $"c:kd-{tag}-1", $"c:kd-{tag}-2"]) { Max = 1000 });
            Assert.NotEmpty(every);
            Assert.DoesNotContain(every, h => deleted.Contains(Parse(h).Id));
        }
        // Only linked symptoms: plain log lines (linked or not) and unlinked spikes are not keyed.
        var symptoms = index.KeyedEvents(new KeyedLookup(SearchFields.LinkedSymptomKeys, [$"c:kd-{tag}-0", $"c:kd-{tag}-1", $"c:kd-{tag}-2"]) { Max = 1000 });
        Assert.All(symptoms, h => Assert.Equal("error_spike", Parse(h).EventType));
        Assert.All(symptoms, h => Assert.Contains(Parse(h).Links, l => l.Status is EventLinkStatus.Linked or EventLinkStatus.Suggested));
        Assert.Throws<ArgumentException>(() => index.KeyedEvents(new KeyedLookup(SearchFields.LinkKeys, ["c:x"])));
    }

    private static Event Parse(SearchHit hit) => JsonSerializer.Deserialize<Event>(hit.Json, RootCauseJson.Options)!;
}
