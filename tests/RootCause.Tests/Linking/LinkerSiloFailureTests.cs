using System.Collections.Concurrent;
using RootCause.Catalog;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Linking;
using RootCause.Tests.Streams;
using Xunit.Abstractions;

namespace RootCause.Tests.Linking;

/// <summary>
/// The linker's promise under failure: every event whose ingest was acknowledged ends up evaluated
/// by the linker (linked, suggested or explicitly not linked, as recorded on the event, the one place
/// a link is stored), even when a silo is killed in the middle of a burst.
/// </summary>
public sealed class LinkerSiloFailureTests(StreamClusterFixture fixture, ITestOutputHelper output) : IClassFixture<StreamClusterFixture>
{
    [Fact]
    public async Task EveryAcknowledgedEventIsEvaluatedWhenASiloIsKilledDuringABurst()
    {
        const int total = 600;
        var client = fixture.Client;
        await client.GetGrain<ICatalogGrain>(0).ImportAsync(
        [
            new Component { Name = "burst-web", DependsOn = ["burst-db"] },
            new Component { Name = "burst-db" },
            new Component { Name = "burst-other" },
        ], replace: true);
        var now = DateTimeOffset.UtcNow;
        var investigationId = Guid.NewGuid();
        await client.GetGrain<IInvestigationGrain>(investigationId).CreateAsync(new InvestigationFields
        {
            Title = "burst-web errors",
            ComponentAffected = "burst-web",
            DetectedAt = now.AddMinutes(-5),
            StartedAt = now.AddMinutes(-30),
        });

        // Two thirds concern the affected component (they link), a third an unrelated one (they do not).
        var drafts = Enumerable.Range(0, total).Select(i => new EventDraft
        {
            Source = EventSource.Logs,
            SourceId = $"burst:{i}",
            EventType = "error_spike",
            Timestamp = now.AddMinutes(-20).AddSeconds(i),
            Severity = EventSeverity.High,
            Data = $$"""{"service":"{{(i % 3 == 2 ? "burst-other" : "burst-web")}}","count":{{100 + i}}}""",
        }).ToArray();
        var acknowledged = new ConcurrentBag<Guid>();
        var failed = new ConcurrentBag<EventDraft>();
        var burst = Task.Run(() => Parallel.ForEachAsync(drafts, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (draft, _) =>
        {
            try
            {
                acknowledged.Add((await client.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft)).Event.Id);
            }
            catch (Exception)
            {
                failed.Add(draft);
            }
        }));
        var killAfter = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (acknowledged.Count < total / 3 && !burst.IsCompleted && DateTime.UtcNow < killAfter)
        {
            await Task.Delay(5);
        }
        var acknowledgedBeforeKill = acknowledged.Count;
        await fixture.Cluster.KillSiloAsync(fixture.Cluster.Silos[1]);
        await burst.WaitAsync(TimeSpan.FromMinutes(3));
        foreach (var draft in failed)
        {
            // A caller whose ingest was not acknowledged retries it.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    acknowledged.Add((await client.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft)).Event.Id);
                    break;
                }
                catch (Exception) when (attempt < 15)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1));
                }
            }
        }

        var ids = acknowledged.Distinct().ToArray();
        Assert.Equal(total, ids.Length);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        Event[] events;
        while (true)
        {
            events = (await Task.WhenAll(ids.Select(id => client.GetGrain<IEventGrain>(id).GetAsync()))).Select(e => e!).ToArray();
            if (events.All(e => e.LinkerCheckedAt is not null) || DateTime.UtcNow > deadline)
            {
                break;
            }
            await Task.Delay(500);
        }
        var linked = events.Where(e => e.Links.Any(l => l.InvestigationId == investigationId && l.Status == EventLinkStatus.Linked)).ToArray();
        output.WriteLine($"acknowledged before the kill: {acknowledgedBeforeKill}, retried after failures: {failed.Count}, " +
            $"evaluated: {events.Count(e => e.LinkerCheckedAt is not null)}, linked: {linked.Length}");

        Assert.True(acknowledgedBeforeKill > 0 && acknowledgedBeforeKill < total, "the silo was killed during the burst");
        Assert.All(events, e => Assert.NotNull(e.LinkerCheckedAt));
        var expected = drafts.Where(d => d.Data.Contains("\"burst-web\"", StringComparison.Ordinal)).Select(EventKeys.For).Order().ToArray();
        Assert.Equal(expected, linked.Select(e => e.Id).Order().ToArray());
        Assert.All(events.Except(linked), e => Assert.Empty(e.InvestigationIds));
    }
}
