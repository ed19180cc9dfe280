using Orleans.Providers.Streams.Common;
using RootCause.Hosting;
using RootCause.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RootCause.Tests.Streams;

/// <summary>
/// A backlog that takes the consumers longer than the visibility timeout to work off. A message is
/// confirmed only once it leaves the pulling agent's cache, so what the cache holds must be handled
/// within the timeout of being dequeued; otherwise the message becomes visible again, is dequeued a
/// second time and delivered twice.
/// </summary>
public abstract class StreamBacklogFixture : ClusterFixture
{
    /// <summary>Seconds a dequeued message stays invisible: shorter than the backlog takes.</summary>
    public const int VisibilityTimeoutSeconds = 3;

    protected abstract int CacheSize { get; }

    protected override void ConfigureStreams(EventStreamOptions o)
    {
        o.Partitions = 2;
        o.VisibilityTimeoutSeconds = VisibilityTimeoutSeconds;
        o.CacheSize = CacheSize;
    }
}

/// <summary>A cache that its consumers drain in well under the timeout (20 messages a queue, under half a second).</summary>
public sealed class BoundedCacheBacklogFixture : StreamBacklogFixture
{
    protected override string DatabaseName => "backlog";

    protected override int CacheSize => 20;
}

/// <summary>A cache that takes the whole backlog at once (the provider's own default size).</summary>
public sealed class OversizedCacheBacklogFixture : StreamBacklogFixture
{
    protected override string DatabaseName => "backlog_oversized";

    protected override int CacheSize => 4096;
}

public sealed class StreamBacklogTests(BoundedCacheBacklogFixture fixture, ITestOutputHelper output) : IClassFixture<BoundedCacheBacklogFixture>
{
    [Fact]
    public async Task ABacklogLongerThanTheVisibilityTimeoutIsDeliveredOnceThroughABoundedCache()
    {
        var state = await StreamBacklog.DrainAsync(fixture, output);

        Assert.Equal(StreamBacklog.Total, state.Processed);
        Assert.Equal(StreamBacklog.Total, state.Deliveries);
        Assert.Equal(0, state.Queued);
        Assert.Equal(0, state.DeadLetters);
    }
}

public sealed class OversizedStreamCacheTests(OversizedCacheBacklogFixture fixture, ITestOutputHelper output) : IClassFixture<OversizedCacheBacklogFixture>
{
    /// <summary>The control: the same backlog with a cache that takes it all is delivered more than once.</summary>
    [Fact]
    public async Task ACacheThatTakesTheWholeBacklogDeliversPartOfItTwice()
    {
        var state = await StreamBacklog.DrainAsync(fixture, output);

        Assert.Equal(StreamBacklog.Total, state.Processed);
        Assert.True(state.Deliveries > StreamBacklog.Total, $"{state.Deliveries} deliveries for {StreamBacklog.Total} messages");
        Assert.Equal(0, state.Queued);
    }
}

internal static class StreamBacklog
{
    /// <summary>200 messages on each of 4 streams: at 20 ms or more each, a stream takes at least 4 s.</summary>
    public const int Total = 800;
    private const int Streams = 4;

    /// <summary>Queues the backlog with the pulling agents stopped, starts them, and waits until it is worked off.</summary>
    public static async Task<(long Processed, long Deliveries, long Queued, long DeadLetters)> DrainAsync(ClusterFixture fixture, ITestOutputHelper output)
    {
        await StreamProbe.CreateTableAsync(fixture.ConnectionString);
        var management = fixture.Client.GetGrain<IManagementGrain>(0);
        await management.SendControlCommandToProvider<PersistentStreamProvider>(StreamRegistration.ProviderName, (int)PersistentStreamProviderCommand.StopAgents, null!);
        var producer = fixture.Client.GetGrain<IStreamProbeProducerGrain>(0);
        var perStream = Total / Streams;
        await Task.WhenAll(Enumerable.Range(0, Streams).Select(s =>
            producer.PublishAsync(new Guid($"bac10000-0000-0000-0000-{s:D12}"), [.. Enumerable.Range(s * perStream + 1, perStream).Select(i => (long)i)])));

        var started = DateTime.UtcNow;
        await management.SendControlCommandToProvider<PersistentStreamProvider>(StreamRegistration.ProviderName, (int)PersistentStreamProviderCommand.StartAgents, null!);
        var state = await StreamProbe.WaitUntilDrainedAsync(fixture.ConnectionString, Total, TimeSpan.FromMinutes(2));
        var took = DateTime.UtcNow - started;
        output.WriteLine($"{state.Processed} processed, {state.Deliveries} deliveries, {state.Queued} queued, {state.DeadLetters} dead letters, in {took.TotalSeconds:0.0} s");
        Assert.True(took > TimeSpan.FromSeconds(StreamBacklogFixture.VisibilityTimeoutSeconds), "the backlog took longer than the visibility timeout");
        return state;
    }
}
