using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using CircuitState = RootCause.Connectors.CircuitState;

namespace RootCause.Tests.Connectors;

/// <summary>The consecutive-failure breaker, one attempt per call (no retries), on fake time.</summary>
public sealed class CircuitBreakerTests
{
    private static ResilienceHarness NoRetries() => new(o => o with { MaxRetries = 0 });

    private static ValueTask<int> Fail(int attempt, CancellationToken _) =>
        ResilienceHarness.Throw(new HttpRequestException($"upstream down (attempt {attempt})"));

    private static ValueTask<int> Succeed(int attempt, CancellationToken _) => ValueTask.FromResult(attempt);

    private static async Task FailTimes(ResilienceHarness h, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await h.RunAsync(Fail);
        }
    }

    [Fact]
    public async Task TheCircuitOpensAfterExactlyFiveConsecutiveFailuresNotFour()
    {
        using var h = NoRetries();

        await FailTimes(h, 4);
        var afterFour = h.Pipeline.Breaker.Status();
        await h.RunAsync(Fail);
        var afterFive = h.Pipeline.Breaker.Status();

        Assert.Equal((CircuitState.Closed, 4), (afterFour.State, afterFour.ConsecutiveFailures));
        Assert.Equal((CircuitState.Open, 5), (afterFive.State, afterFive.ConsecutiveFailures));
        Assert.Equal(h.Time.GetUtcNow(), afterFive.OpenedAt);
        Assert.Equal(h.Time.GetUtcNow().AddSeconds(60), afterFive.HalfOpenAt);
        Assert.Equal("HttpRequestException: upstream down (attempt 4)", afterFive.LastError);
        Assert.Equal(5, h.Attempts.Count);
    }

    [Fact]
    public async Task AnOpenCircuitFailsFastWithoutCallingTheUpstream()
    {
        using var h = NoRetries();
        await FailTimes(h, 5);

        var outcomes = new List<Exception?>();
        for (var i = 0; i < 10; i++)
        {
            outcomes.Add((await h.RunAsync(Succeed)).Exception);
        }

        Assert.All(outcomes, e => Assert.IsType<BrokenCircuitException>(e));
        Assert.Equal(TimeSpan.FromSeconds(60), ((BrokenCircuitException)outcomes[0]!).RetryAfter);
        Assert.Equal(5, h.Attempts.Count);
    }

    [Fact]
    public async Task ASuccessInBetweenStartsTheCountAgain()
    {
        using var h = NoRetries();

        await FailTimes(h, 4);
        await h.RunAsync(Succeed);
        await FailTimes(h, 4);
        var afterEightFailures = h.Pipeline.Breaker.Status();
        await h.RunAsync(Fail);

        Assert.Equal((CircuitState.Closed, 4), (afterEightFailures.State, afterEightFailures.ConsecutiveFailures));
        Assert.Equal(CircuitState.Open, h.Pipeline.Breaker.State);
    }

    [Fact]
    public async Task TheCircuitHalfOpensAfterSixtySecondsNotFiftyNine()
    {
        using var h = NoRetries();
        await FailTimes(h, 5);

        h.Time.Advance(TimeSpan.FromSeconds(59));
        var at59 = await h.RunAsync(Succeed);
        var stateAt59 = h.Pipeline.Breaker.State;
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var stateAt60 = h.Pipeline.Breaker.State;
        var at60 = await h.RunAsync(Succeed);

        Assert.IsType<BrokenCircuitException>(at59.Exception);
        Assert.Equal(TimeSpan.FromSeconds(1), ((BrokenCircuitException)at59.Exception!).RetryAfter);
        Assert.Equal(CircuitState.Open, stateAt59);
        Assert.Equal(CircuitState.HalfOpen, stateAt60);
        Assert.Null(at60.Exception);
        Assert.Equal(6, h.Attempts.Count);
    }

    [Fact]
    public async Task ASuccessfulProbeClosesTheCircuit()
    {
        using var h = NoRetries();
        await FailTimes(h, 5);
        h.Time.Advance(TimeSpan.FromSeconds(60));

        await h.RunAsync(Succeed);
        var status = h.Pipeline.Breaker.Status();
        var next = await h.RunAsync(Succeed);

        Assert.Equal((CircuitState.Closed, 0), (status.State, status.ConsecutiveFailures));
        Assert.Null(status.OpenedAt);
        Assert.Null(next.Exception);
    }

    [Fact]
    public async Task AFailedProbeOpensTheCircuitForAnotherSixtySeconds()
    {
        using var h = NoRetries();
        await FailTimes(h, 5);
        h.Time.Advance(TimeSpan.FromSeconds(60));

        await h.RunAsync(Fail);
        var reopened = h.Pipeline.Breaker.Status();
        var rejected = await h.RunAsync(Succeed);
        h.Time.Advance(TimeSpan.FromSeconds(59));
        var stillRejected = await h.RunAsync(Succeed);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var probe = await h.RunAsync(Succeed);

        Assert.Equal(CircuitState.Open, reopened.State);
        Assert.Equal(h.Time.GetUtcNow().AddSeconds(-60), reopened.OpenedAt);
        Assert.Equal(2, reopened.TimesOpened);
        Assert.IsType<BrokenCircuitException>(rejected.Exception);
        Assert.IsType<BrokenCircuitException>(stillRejected.Exception);
        Assert.Null(probe.Exception);
        Assert.Equal(CircuitState.Closed, h.Pipeline.Breaker.State);
        Assert.Equal(7, h.Attempts.Count);
    }

    [Fact]
    public async Task OnlyOneProbeGoesThroughWhileHalfOpen()
    {
        using var h = NoRetries();
        await FailTimes(h, 5);
        h.Time.Advance(TimeSpan.FromSeconds(60));
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        var probe = h.Pipeline.TryExecuteAsync(_ => new ValueTask<int>(release.Task));
        var second = await h.Pipeline.TryExecuteAsync(_ => ValueTask.FromResult(2));
        release.SetResult(1);
        var probeOutcome = await probe;

        Assert.IsType<BrokenCircuitException>(second.Exception);
        Assert.Equal(1, probeOutcome.Result);
        Assert.Equal(CircuitState.Closed, h.Pipeline.Breaker.State);
    }

    [Fact]
    public async Task AResetClosesAnOpenCircuitAndUnknownConnectorsAreNotReset()
    {
        using var h = NoRetries();
        await FailTimes(h, 5);

        var reset = h.Resilience.Reset("test-connector");
        var after = await h.RunAsync(Succeed);

        Assert.Equal((CircuitState.Closed, 0), (reset!.State, reset.ConsecutiveFailures));
        Assert.Null(after.Exception);
        Assert.Null(h.Resilience.Reset("no-such-connector"));
        Assert.Equal(["test-connector"], h.Resilience.All().Select(s => s.Connector));
    }

    [Fact]
    public async Task CancelledCallsCountNeitherWay()
    {
        using var h = NoRetries();
        await FailTimes(h, 4);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var outcome = await h.Pipeline.TryExecuteAsync(async ct =>
        {
            ct.ThrowIfCancellationRequested();
            await Task.Yield();
            return 1;
        }, cancelled.Token);

        Assert.IsAssignableFrom<OperationCanceledException>(outcome.Exception);
        Assert.Equal((CircuitState.Closed, 4), (h.Pipeline.Breaker.State, h.Pipeline.Breaker.Status().ConsecutiveFailures));
    }

    [Fact]
    public async Task OpeningIsLoggedAsAnErrorAndCountedAndTheGaugeShowsTheState()
    {
        using var h = NoRetries();
        var opened = 0L;
        var states = new Dictionary<string, int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, h.Metrics.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "rootcause.connectors.breaker_opened")
            {
                Interlocked.Add(ref opened, value);
            }
        });
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "rootcause.connectors.breaker_state")
            {
                states[(string)tags[0].Value!] = value;
            }
        });
        listener.Start();

        await FailTimes(h, 5);
        listener.RecordObservableInstruments();

        Assert.Equal(1, Interlocked.Read(ref opened));
        Assert.Equal(2, states["test-connector"]);
        var line = Assert.Single(h.Logs.Lines, l => l.Id.Id == 4102);
        Assert.Equal(LogLevel.Error, line.Level);
        Assert.Contains("test-connector", line.Message, StringComparison.Ordinal);
        Assert.Contains("after 5 consecutive failures", line.Message, StringComparison.Ordinal);
    }
}
