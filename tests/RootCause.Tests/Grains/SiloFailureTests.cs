using Npgsql;
using Orleans.Configuration;
using Orleans.TestingHost;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Grains;

/// <summary>A cluster of its own: these tests kill silos.</summary>
public sealed class SiloFailureFixture : ClusterFixture
{
    protected override string DatabaseName => "silo_failure";

    /// <summary>Calls caught on the killed silo fail after 5 s instead of the default 30 s.</summary>
    protected override void Configure(InProcessTestClusterBuilder builder)
    {
        builder.ConfigureClient(client => client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5)));
        builder.ConfigureSilo((_, silo) => silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5)));
    }
}

public sealed class SiloFailureTests(SiloFailureFixture fixture) : IClassFixture<SiloFailureFixture>
{
    [Fact]
    public async Task ASiloKilledDuringABurstLosesNoAcknowledgedWrite()
    {
        var investigation = fixture.Client.GetGrain<IInvestigationGrain>(Guid.NewGuid());
        await investigation.CreateAsync(new InvestigationFields { Title = "Burst during silo loss" });
        var drafts = Enumerable.Range(0, 300).Select(i => new EventDraft
        {
            Source = EventSource.Logs,
            SourceId = $"burst/{Guid.NewGuid():N}/{i}",
            EventType = "error_spike",
            Timestamp = DateTimeOffset.UtcNow.AddMinutes(-1),
            Data = $$"""{"sequence":{{i}}}""",
        }).ToArray();

        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<(EventDraft Draft, Guid Id)>();
        var failed = new System.Collections.Concurrent.ConcurrentBag<EventDraft>();
        var victim = fixture.Cluster.Silos[1];
        var burst = Task.Run(async () =>
        {
            await Parallel.ForEachAsync(drafts, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (draft, _) =>
            {
                try
                {
                    var result = await fixture.Client.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft);
                    acknowledged.Add((draft, result.Event.Id));
                }
                catch (Exception)
                {
                    failed.Add(draft);
                }
            });
        });
        while (acknowledged.Count < 60)
        {
            await Task.Delay(5);
        }
        await fixture.Cluster.KillSiloAsync(victim);
        await burst;

        // Every acknowledged event is stored, whichever silo took it.
        Assert.True(acknowledged.Count >= 60);
        foreach (var (draft, id) in acknowledged)
        {
            var stored = await fixture.Client.GetGrain<IEventGrain>(id).GetAsync();
            Assert.NotNull(stored);
            Assert.Equal(draft.Data, stored.Data);
        }

        // A client that retries what was not acknowledged ends with every event exactly once.
        foreach (var draft in failed)
        {
            await fixture.Client.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft);
        }
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM orleans_storage WHERE grain_type = 'event' AND convert_from(payload_binary, 'UTF8')::jsonb ->> 'source_id' LIKE 'burst/%'",
            connection);
        Assert.Equal((long)drafts.Length, await count.ExecuteScalarAsync());

        // The surviving cluster still links and persists.
        var linked = await investigation.LinkEventAsync(acknowledged.First().Id);
        var linkedEvent = await fixture.Client.GetGrain<IEventGrain>(acknowledged.First().Id).GetAsync();
        Assert.Equal([linked.Id], linkedEvent!.InvestigationIds);
    }
}
