using System.Collections.Concurrent;
using Npgsql;
using Orleans.Configuration;
using Orleans.TestingHost;
using RootCause.Hosting;
using RootCause.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RootCause.Tests.Streams;

/// <summary>A two-silo cluster of its own with the <c>events</c> stream provider: these tests kill a silo.</summary>
public sealed class StreamClusterFixture : ClusterFixture
{
    protected override string DatabaseName => "streams";

    protected override void ConfigureStreams(EventStreamOptions o)
    {
        o.Partitions = 4;
        // Messages leased by the killed silo come back after 10 s instead of a minute.
        o.VisibilityTimeoutSeconds = 10;
        // Deliveries to grains of the killed silo fail until it is declared dead: allow for several.
        o.MaxAttempts = 20;
    }

    protected override void Configure(InProcessTestClusterBuilder builder)
    {
        builder.ConfigureSilo((_, silo) => silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5)));
        builder.ConfigureClient(client => client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5)));
    }
}

public sealed class EventStreamSiloFailureTests(StreamClusterFixture fixture, ITestOutputHelper output) : IClassFixture<StreamClusterFixture>
{
    [Fact]
    public async Task EveryAcknowledgedMessageIsProcessedAtLeastOnceWhenASiloIsKilledDuringABurst()
    {
        const int total = 2_000;
        const int streams = 200;
        const int perCall = 10;
        await StreamProbe.CreateTableAsync(fixture.ConnectionString);

        // Message ids 1..2000 over 200 streams (so over every partition), published 10 per call.
        var calls = Enumerable.Range(0, total / perCall)
            .Select(call => (Stream: StreamKey(call % streams), Ids: Enumerable.Range(call * perCall + 1, perCall).Select(i => (long)i).ToArray()))
            .ToArray();
        var acknowledged = new ConcurrentBag<long>();
        var failed = new ConcurrentBag<(Guid Stream, long[] Ids)>();
        var producer = fixture.Client.GetGrain<IStreamProbeProducerGrain>(0);
        var burst = Task.Run(() => Parallel.ForEachAsync(calls, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (call, _) =>
        {
            try
            {
                await producer.PublishAsync(call.Stream, call.Ids);
                foreach (var id in call.Ids)
                {
                    acknowledged.Add(id);
                }
            }
            catch (Exception)
            {
                failed.Add(call);
            }
        }));

        // Kill once a quarter is acknowledged and every partition has messages leased to a silo and
        // not yet confirmed: so the killed silo holds work it will never confirm.
        var killAfter = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        var leasedPartitions = 0L;
        while ((acknowledged.Count < total / 4 || (leasedPartitions = await CountLeasedPartitionsAsync()) < 4) && !burst.IsCompleted && DateTime.UtcNow < killAfter)
        {
            await Task.Delay(5);
        }
        var acknowledgedBeforeKill = acknowledged.Count;
        var victim = fixture.Cluster.Silos[1];
        await fixture.Cluster.KillSiloAsync(victim);
        await burst.WaitAsync(TimeSpan.FromMinutes(3));

        // A publisher retries what was not acknowledged (possibly queueing some messages twice).
        foreach (var call in failed)
        {
            await RetryAsync(() => producer.PublishAsync(call.Stream, call.Ids));
            foreach (var id in call.Ids)
            {
                acknowledged.Add(id);
            }
        }

        // Wait, with a bound, for the documented end state: every message processed, the queues drained.
        var state = await StreamProbe.WaitUntilDrainedAsync(fixture.ConnectionString, total, TimeSpan.FromMinutes(4));

        output.WriteLine(
            $"acknowledged before the kill: {acknowledgedBeforeKill}, partitions with leased messages: {leasedPartitions}, failed calls retried: {failed.Count}, " +
            $"processed: {state.Processed}, deliveries: {state.Deliveries} ({state.Deliveries - state.Processed} redeliveries), " +
            $"still queued: {state.Queued}, dead letters: {state.DeadLetters}");
        Assert.True(acknowledgedBeforeKill > 0 && acknowledgedBeforeKill < total, "the silo was killed during the burst");
        Assert.Equal(4, leasedPartitions);
        Assert.True(await CountProcessedOnAsync(victim.SiloAddress.ToString()) > 0, "the killed silo was consuming before it died");
        Assert.Equal(total, acknowledged.Distinct().Count());
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), await ReadProcessedIdsAsync());
        Assert.True(state.Deliveries >= total);
        Assert.Equal(0, state.Queued);
        Assert.Equal(0, state.DeadLetters);
    }

    private static Guid StreamKey(int index) => new($"5e7a0000-0000-0000-0000-{index:D12}");

    private async Task RetryAsync(Func<Task> action)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await action();
                return;
            }
            catch (Exception) when (attempt < 10)
            {
                // The cluster may still be settling after the kill.
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }

    private async Task<long> CountLeasedPartitionsAsync()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(DISTINCT queue_id) FROM orleans_stream_messages WHERE dequeued > 0 AND visible_on > now()", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<long> CountProcessedOnAsync(string silo)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM stream_probe_deliveries WHERE first_silo = @silo", connection);
        command.Parameters.AddWithValue("silo", silo);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<List<long>> ReadProcessedIdsAsync()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT message_id FROM stream_probe_deliveries ORDER BY message_id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<long>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }
}
