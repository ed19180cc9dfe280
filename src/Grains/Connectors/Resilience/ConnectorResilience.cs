using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace RootCause.Connectors;

/// <summary>
/// Builds and keeps one <see cref="ConnectorPipeline"/> per connector id on this silo, and answers
/// for their breakers (the status API asks each connector's grain, which asks its silo's instance). The pipeline, outermost first:
/// <list type="number">
/// <item>retry: transient failures only, after base × 2^n ± jitter (1, 2, 4, 8, 16 s) or the
/// Retry-After of a 429/503; stops early once the circuit has opened;</item>
/// <item>the consecutive-failure circuit breaker, around each attempt;</item>
/// <item>the per-connector rate limit (calls wait for their turn);</item>
/// <item>the per-attempt timeout.</item>
/// </list>
/// </summary>
public sealed class ConnectorResilience : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ConnectorPipeline> _pipelines = new(StringComparer.Ordinal);
    private readonly List<RateLimiter> _retiredLimiters = [];
    private readonly TimeProvider _time;
    private readonly ConnectorMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Func<double> _random;

    public ConnectorResilience(IOptions<ConnectorResilienceOptions> defaults, TimeProvider time, ConnectorMetrics metrics, ILoggerFactory loggers)
        : this(defaults.Value, time, metrics, loggers, random: null)
    {
    }

    /// <summary>As the other constructor, with the jitter source (a number in [0, 1) per delay) given: tests pass a fixed one.</summary>
    public ConnectorResilience(ConnectorResilienceOptions defaults, TimeProvider time, ConnectorMetrics metrics, ILoggerFactory loggers, Func<double>? random)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        Defaults = defaults;
        _time = time;
        _metrics = metrics;
        _logger = loggers.CreateLogger("RootCause.Connectors.Resilience");
        _random = random ?? Random.Shared.NextDouble;
        metrics.ObserveBreakersOf(All);
    }

    /// <summary>The options of connectors that bring none of their own.</summary>
    public ConnectorResilienceOptions Defaults { get; }

    /// <summary>
    /// The connector's pipeline. Options that differ from the ones the pipeline was built with
    /// rebuild it; the circuit breaker (its state and count) carries over.
    /// </summary>
    public ConnectorPipeline For(string connectorId, ConnectorResilienceOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectorId);
        options ??= Defaults;
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        lock (_lock)
        {
            if (_pipelines.TryGetValue(connectorId, out var existing) && existing.Options == options)
            {
                return existing;
            }
            var frozen = options with { };
            var breaker = existing?.Breaker ?? new ConsecutiveFailureCircuitBreaker(
                connectorId, frozen.FailureThreshold, frozen.BreakDuration, _time, _logger, _metrics);
            breaker.Reconfigure(frozen.FailureThreshold, frozen.BreakDuration);
            var limiter = CreateLimiter(frozen);
            var pipeline = new ConnectorPipeline(connectorId, frozen, Build(connectorId, frozen, breaker, limiter), breaker, _time, _metrics, _logger);
            if (existing is not null)
            {
                // Calls may still wait on the old limiter; it is disposed with this registry.
                _retiredLimiters.Add(existing.Limiter);
            }
            pipeline.Limiter = limiter;
            _pipelines[connectorId] = pipeline;
            return pipeline;
        }
    }

    /// <summary>Every breaker on this silo, ordered by connector id (also the breaker metrics' source).</summary>
    public IReadOnlyList<CircuitBreakerStatus> All()
    {
        lock (_lock)
        {
            return _pipelines.Values.Select(p => p.Breaker.Status()).OrderBy(s => s.Connector, StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>One connector's breaker, or null when this silo holds none for it.</summary>
    public CircuitBreakerStatus? Find(string connector)
    {
        lock (_lock)
        {
            return _pipelines.TryGetValue(connector, out var pipeline) ? pipeline.Breaker.Status() : null;
        }
    }

    /// <summary>Closes the connector's circuit and clears its failure count; null when this silo holds none for it.</summary>
    public CircuitBreakerStatus? Reset(string connector)
    {
        ConnectorPipeline? pipeline;
        lock (_lock)
        {
            _pipelines.TryGetValue(connector, out pipeline);
        }
        if (pipeline is null)
        {
            return null;
        }
        pipeline.Breaker.Reset();
        return pipeline.Breaker.Status();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var limiter in _pipelines.Values.Select(p => p.Limiter).Concat(_retiredLimiters))
            {
                limiter.Dispose();
            }
            _pipelines.Clear();
            _retiredLimiters.Clear();
        }
    }

    private ResiliencePipeline Build(string connectorId, ConnectorResilienceOptions options, ConsecutiveFailureCircuitBreaker breaker, RateLimiter limiter)
    {
        var builder = new ResiliencePipelineBuilder { Name = "connector", InstanceName = connectorId, TimeProvider = _time };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                // Once the circuit is open a retry could only be rejected: give up at once.
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e && TransientFailures.IsTransient(e) && breaker.State == CircuitState.Closed),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    TransientFailures.RetryAfter(args.Outcome.Exception, _time.GetUtcNow(), options.MaxRetryAfter)
                    ?? RetrySchedule.Delay(args.AttemptNumber, options.RetryBaseDelay, options.JitterFraction, _random())),
                OnRetry = args =>
                {
                    _metrics.Retried(connectorId);
                    var error = args.Outcome.Exception!;
                    ConnectorLog.Retrying(_logger, connectorId, args.AttemptNumber + 1, args.AttemptNumber + 1,
                        args.RetryDelay.TotalMilliseconds, error.GetType().Name, error.Message, error);
                    return default;
                },
            });
        }
        builder.AddStrategy(_ => new ConsecutiveFailureCircuitBreakerStrategy(breaker));
        builder.AddRateLimiter(limiter);
        builder.AddTimeout(options.AttemptTimeout);
        return builder.Build();
    }

    /// <summary>
    /// A token bucket giving <see cref="ConnectorResilienceOptions.Qps"/> calls per second: one
    /// token every 1/QPS seconds up to 10 QPS, above that QPS/10 tokens every 100 ms (fewer timer ticks).
    /// </summary>
    private static TokenBucketRateLimiter CreateLimiter(ConnectorResilienceOptions options)
    {
        var (period, tokens) = options.Qps <= 10
            ? (TimeSpan.FromSeconds(1 / options.Qps), 1)
            : (TimeSpan.FromMilliseconds(100), (int)Math.Round(options.Qps / 10));
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(options.Burst, tokens),
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = options.RateLimitQueue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }
}

/// <summary>
/// One connector's protected way to call its upstream. <see cref="TryExecuteAsync{T}"/> never
/// throws: a connector that uses it cannot take its silo down, whatever the upstream does.
/// </summary>
public sealed class ConnectorPipeline
{
    private readonly TimeProvider _time;
    private readonly ConnectorMetrics _metrics;
    private readonly ILogger _logger;

    internal ConnectorPipeline(string connectorId, ConnectorResilienceOptions options, ResiliencePipeline pipeline,
        ConsecutiveFailureCircuitBreaker breaker, TimeProvider time, ConnectorMetrics metrics, ILogger logger)
    {
        ConnectorId = connectorId;
        Options = options;
        Pipeline = pipeline;
        Breaker = breaker;
        _time = time;
        _metrics = metrics;
        _logger = logger;
    }

    public string ConnectorId { get; }

    public ConnectorResilienceOptions Options { get; }

    public ResiliencePipeline Pipeline { get; }

    public ConsecutiveFailureCircuitBreaker Breaker { get; }

    internal RateLimiter Limiter { get; set; } = null!;

    /// <summary>Runs the call through the pipeline; the final failure is thrown.</summary>
    public async ValueTask<T> ExecuteAsync<T>(Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken = default)
    {
        var outcome = await TryExecuteAsync(call, cancellationToken).ConfigureAwait(false);
        outcome.ThrowIfException();
        return outcome.Result!;
    }

    /// <summary>
    /// Runs the call through the pipeline and returns its outcome, a result or the final failure
    /// (logged with the attempts it took), never throwing. The latency is recorded either way.
    /// </summary>
    public async ValueTask<Outcome<T>> TryExecuteAsync<T>(Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        var started = _time.GetTimestamp();
        try
        {
            var outcome = await Pipeline.ExecuteOutcomeAsync(static async (ctx, c) =>
            {
                try
                {
                    return Outcome.FromResult(await c(ctx.CancellationToken).ConfigureAwait(false));
                }
                catch (Exception e)
                {
                    return Outcome.FromException<T>(e);
                }
            }, context, call).ConfigureAwait(false);
            var elapsed = _time.GetElapsedTime(started);
            _metrics.FetchCompleted(ConnectorId, elapsed, outcome.Exception is null);
            if (outcome.Exception is { } error && !(error is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                var attempts = context.Properties.GetValue(ConsecutiveFailureCircuitBreakerStrategy.Attempts, 0);
                ConnectorLog.CallFailed(_logger, ConnectorId, attempts, elapsed.TotalMilliseconds, error.GetType().Name, error.Message, error);
            }
            return outcome;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
