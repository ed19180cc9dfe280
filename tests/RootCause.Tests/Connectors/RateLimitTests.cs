using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using RootCause.Connectors;

namespace RootCause.Tests.Connectors;

/// <summary>
/// System.Threading.RateLimiting runs on the real clock (it ignores TimeProvider), so these use
/// short real windows and assert only wide lower bounds.
/// </summary>
public sealed class RateLimitTests
{
    private static ConnectorResilience Create()
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new ConnectorMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        return new ConnectorResilience(new ConnectorResilienceOptions(), TimeProvider.System, metrics, NullLoggerFactory.Instance, null);
    }

    [Fact]
    public async Task CallsAreSpacedToTheConnectorsQps()
    {
        using var resilience = Create();
        var pipeline = resilience.For("limited", resilience.Defaults with { Qps = 5, Burst = 1 });

        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => pipeline.ExecuteAsync(_ => ValueTask.FromResult(i)).AsTask()));
        watch.Stop();

        // Six calls at 5 per second: the last waits for five 200 ms intervals.
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(800), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task EachConnectorHasItsOwnLimit()
    {
        using var resilience = Create();
        var slow = resilience.For("slow", resilience.Defaults with { Qps = 0.2, Burst = 1 });
        var fast = resilience.For("fast", resilience.Defaults with { Qps = 1_000, Burst = 100 });
        await slow.ExecuteAsync(_ => ValueTask.FromResult(0));

        // "slow" has no token for 5 s; "fast" is not held up by it.
        var waiting = slow.ExecuteAsync(_ => ValueTask.FromResult(1)).AsTask();
        var fastResults = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => fast.ExecuteAsync(_ => ValueTask.FromResult(i)).AsTask()));

        Assert.Equal(Enumerable.Range(0, 20), fastResults);
        Assert.False(waiting.IsCompleted);
    }

    [Fact]
    public void NewOptionsRebuildThePipelineButKeepTheBreaker()
    {
        using var resilience = Create();
        var first = resilience.For("c");

        var same = resilience.For("c");
        var changed = resilience.For("c", resilience.Defaults with { Qps = 1 });

        Assert.Same(first, same);
        Assert.NotSame(first, changed);
        Assert.Same(first.Breaker, changed.Breaker);
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(() => resilience.For("c", resilience.Defaults with { Qps = 0 }));
    }
}
