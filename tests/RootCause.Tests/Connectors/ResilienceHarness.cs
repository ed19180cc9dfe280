using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Polly;
using RootCause.Connectors;

namespace RootCause.Tests.Connectors;

/// <summary>
/// A fake clock that reports every timer created on it, so a test can advance exactly to the
/// next retry delay (or attempt timeout) instead of guessing when the pipeline is waiting.
/// A timer is reported only once it is armed: the reader may run on another thread and advance
/// the clock at once, and a timer armed after that advance would be due later than it should be
/// and never fire.
/// </summary>
public sealed class ObservedTimeProvider : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

    public ObservedTimeProvider() : base(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero))
    {
    }

    public ChannelReader<TimeSpan> Timers => _timers.Reader;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ObservedTimer(this, base.CreateTimer(callback, state, dueTime, period));
        Report(dueTime);
        return timer;
    }

    private void Report(TimeSpan dueTime)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            _timers.Writer.TryWrite(dueTime);
        }
    }

    /// <summary>Timers created idle and started later (CancellationTokenSource.CancelAfter) are reported when they start.</summary>
    private sealed class ObservedTimer(ObservedTimeProvider owner, ITimer inner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = inner.Change(dueTime, period);
            owner.Report(dueTime);
            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>Collects log lines of one test.</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Lines.Enqueue((logLevel, eventId, formatter(state, exception)));
    }
}

/// <summary>
/// One connector's pipeline on fake time with a scripted upstream. Attempts are recorded with the
/// fake time they happened at; <see cref="RunAsync"/> advances the clock to each retry delay the
/// pipeline waits for and records it.
/// </summary>
public sealed class ResilienceHarness : IDisposable
{
    private readonly ServiceProvider _services;

    public ResilienceHarness(Func<ConnectorResilienceOptions, ConnectorResilienceOptions>? configure = null, double jitterRandom = 0.5)
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Metrics = new ConnectorMetrics(_services.GetRequiredService<IMeterFactory>());
        var loggers = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        // Attempts time out after an hour unless a test says otherwise, so a timeout timer is never mistaken for a retry delay.
        var options = new ConnectorResilienceOptions { Qps = 10_000, Burst = 10_000, AttemptTimeout = TimeSpan.FromHours(1) };
        Options = configure?.Invoke(options) ?? options;
        Resilience = new ConnectorResilience(Options, Time, Metrics, loggers, () => jitterRandom);
        Pipeline = Resilience.For("test-connector");
    }

    public ObservedTimeProvider Time { get; } = new();

    public ListLoggerProvider Logs { get; } = new();

    public ConnectorMetrics Metrics { get; }

    public ConnectorResilienceOptions Options { get; }

    public ConnectorResilience Resilience { get; }

    public ConnectorPipeline Pipeline { get; }

    /// <summary>Fake times at which the upstream was called, across all runs.</summary>
    public List<DateTimeOffset> Attempts { get; } = [];

    /// <summary>The retry delays the pipeline waited for, in order.</summary>
    public List<TimeSpan> Delays { get; } = [];

    public DateTimeOffset Start { get; private set; }

    /// <summary>
    /// Runs one call whose n-th attempt (0-based, counted across runs) does what
    /// <paramref name="upstream"/> says, advancing fake time through every retry delay (and, when
    /// <paramref name="advanceTimeouts"/>, through the attempt timeout of every attempt that does
    /// not complete at once).
    /// </summary>
    /// <remarks>
    /// After an attempt that awaited something, the pipeline may go on on a thread other than this
    /// loop's, so the clock must only move once the pipeline waits. A retry delay is advanced when
    /// its timer is reported (armed): nothing else happens before the pipeline waits for it. An
    /// attempt timeout is armed before its attempt starts, so it is advanced only once the attempt
    /// is pending on the upstream; advanced when reported, it could cancel the attempt before the
    /// attempt has even started.
    /// </remarks>
    public async Task<Outcome<int>> RunAsync(Func<int, CancellationToken, ValueTask<int>> upstream, bool advanceTimeouts = false)
    {
        Start = Time.GetUtcNow();
        var pending = Channel.CreateUnbounded<int>();
        var run = Pipeline.TryExecuteAsync(async ct =>
        {
            int attempt;
            lock (Attempts)
            {
                attempt = Attempts.Count;
                Attempts.Add(Time.GetUtcNow());
            }
            var call = upstream(attempt, ct);
            if (advanceTimeouts && !call.IsCompleted)
            {
                pending.Writer.TryWrite(attempt);
            }
            return await call;
        }).AsTask();
        var deadline = Task.Delay(TimeSpan.FromSeconds(60));
        while (true)
        {
            var timer = Time.Timers.WaitToReadAsync().AsTask();
            var waiting = pending.Reader.WaitToReadAsync().AsTask();
            var first = await Task.WhenAny(run, timer, waiting, deadline);
            if (first == run)
            {
                return await run;
            }
            if (first == deadline)
            {
                throw new TimeoutException("The pipeline neither finished nor waited for a timer within 60 s of real time.");
            }
            while (Time.Timers.TryRead(out var due))
            {
                // Attempt timeouts are advanced below, once their attempt is pending.
                if (due != Options.AttemptTimeout)
                {
                    Delays.Add(due);
                    Time.Advance(due);
                }
            }
            while (pending.Reader.TryRead(out _))
            {
                // The attempt's timeout was armed when it started, and the clock has not moved since.
                Time.Advance(Options.AttemptTimeout);
            }
        }
    }

    /// <summary>Attempt times relative to the start of the last run, in seconds.</summary>
    public double[] AttemptSecondsSinceStart() => Attempts.Select(a => (a - Start).TotalSeconds).ToArray();

    public void Dispose()
    {
        Resilience.Dispose();
        _services.Dispose();
    }

    public static ValueTask<int> Throw(Exception e) => ValueTask.FromException<int>(e);
}
