using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;

namespace RootCause.Connectors;

/// <summary>
/// A circuit breaker that counts <em>consecutive</em> failed attempts, on a <see cref="TimeProvider"/>.
/// Polly's own breaker is ratio-based (a success inside its window keeps it closed), which is not
/// the rule here:
/// <list type="bullet">
/// <item>Closed: calls go through; a success clears the count; the threshold-th consecutive failure opens the circuit.</item>
/// <item>Open: calls fail fast with <see cref="BrokenCircuitException"/> (never reaching the upstream) until the break duration has passed.</item>
/// <item>Half-open: exactly one call, the probe, goes through; others fail fast. The probe's success closes the circuit, its failure opens it for another break.</item>
/// </list>
/// Cancelled calls and calls the rate limiter rejected count neither way.
/// </summary>
public sealed class ConsecutiveFailureCircuitBreaker
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConnectorMetrics _metrics;
    private CircuitState _state = CircuitState.Closed;
    private int _failures;
    private DateTimeOffset? _openedAt;
    private bool _probeInFlight;
    private DateTimeOffset? _lastFailureAt;
    private string? _lastError;
    private long _timesOpened;

    public ConsecutiveFailureCircuitBreaker(string connector, int failureThreshold, TimeSpan breakDuration,
        TimeProvider time, ILogger logger, ConnectorMetrics metrics)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failureThreshold, 1);
        Connector = connector;
        FailureThreshold = failureThreshold;
        BreakDuration = breakDuration;
        _time = time;
        _logger = logger;
        _metrics = metrics;
    }

    public string Connector { get; }

    public int FailureThreshold { get; private set; }

    public TimeSpan BreakDuration { get; private set; }

    /// <summary>The current state; an open circuit whose break is over reads as half-open.</summary>
    public CircuitState State => Status().State;

    /// <summary>New thresholds for the next failures; the current state and count are kept.</summary>
    public void Reconfigure(int failureThreshold, TimeSpan breakDuration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failureThreshold, 1);
        lock (_lock)
        {
            FailureThreshold = failureThreshold;
            BreakDuration = breakDuration;
        }
    }

    /// <summary>
    /// Asks to make a call. False while the circuit is open (or a probe is already out), with the
    /// time until the next probe may go; true otherwise, and <paramref name="isProbe"/> says
    /// whether this call is the half-open probe.
    /// </summary>
    public bool TryAcquire(out bool isProbe, out TimeSpan retryAfter)
    {
        isProbe = false;
        retryAfter = TimeSpan.Zero;
        var halfOpened = false;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (_state == CircuitState.Open)
            {
                var halfOpenAt = _openedAt!.Value + BreakDuration;
                if (now < halfOpenAt)
                {
                    retryAfter = halfOpenAt - now;
                    return false;
                }
                _state = CircuitState.HalfOpen;
                _probeInFlight = false;
                halfOpened = true;
            }
            if (_state == CircuitState.HalfOpen)
            {
                if (_probeInFlight)
                {
                    return false;
                }
                _probeInFlight = true;
                isProbe = true;
            }
        }
        if (halfOpened)
        {
            ConnectorLog.BreakerHalfOpen(_logger, Connector);
        }
        return true;
    }

    public void OnSuccess(bool isProbe)
    {
        var closed = false;
        lock (_lock)
        {
            if (_state == CircuitState.Closed)
            {
                _failures = 0;
            }
            else if (isProbe)
            {
                _state = CircuitState.Closed;
                _failures = 0;
                _openedAt = null;
                _probeInFlight = false;
                closed = true;
            }
            // A call let through before the circuit opened succeeded late: the circuit stays open
            // until a probe says otherwise.
        }
        if (closed)
        {
            ConnectorLog.BreakerClosed(_logger, Connector, "the probe succeeded");
        }
    }

    public void OnFailure(Exception error, bool isProbe)
    {
        var opened = false;
        var reopened = false;
        DateTimeOffset halfOpenAt;
        int failures;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            _failures++;
            _lastFailureAt = now;
            _lastError = $"{error.GetType().Name}: {error.Message}";
            if (_state == CircuitState.HalfOpen && isProbe)
            {
                Open(now);
                reopened = true;
            }
            else if (_state == CircuitState.Closed && _failures >= FailureThreshold)
            {
                Open(now);
                opened = true;
            }
            halfOpenAt = (_openedAt ?? now) + BreakDuration;
            failures = _failures;
        }
        if (opened || reopened)
        {
            _metrics.BreakerOpened(Connector);
            if (opened)
            {
                ConnectorLog.BreakerOpened(_logger, Connector, failures, halfOpenAt, error.GetType().Name, error.Message);
            }
            else
            {
                ConnectorLog.BreakerReopened(_logger, Connector, halfOpenAt, error.GetType().Name, error.Message);
            }
        }
    }

    /// <summary>A call that proved nothing (cancelled, rejected locally): a probe's slot is freed.</summary>
    public void OnInconclusive(bool isProbe)
    {
        if (!isProbe)
        {
            return;
        }
        lock (_lock)
        {
            _probeInFlight = false;
        }
    }

    /// <summary>Closes the circuit and clears the failure count (an operator's decision).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _state = CircuitState.Closed;
            _failures = 0;
            _openedAt = null;
            _probeInFlight = false;
        }
        ConnectorLog.BreakerClosed(_logger, Connector, "reset by an operator");
    }

    public CircuitBreakerStatus Status()
    {
        lock (_lock)
        {
            var state = _state;
            DateTimeOffset? halfOpenAt = _openedAt is { } opened ? opened + BreakDuration : null;
            if (state == CircuitState.Open && _time.GetUtcNow() >= halfOpenAt)
            {
                state = CircuitState.HalfOpen;
            }
            return new CircuitBreakerStatus
            {
                Connector = Connector,
                State = state,
                ConsecutiveFailures = _failures,
                FailureThreshold = FailureThreshold,
                OpenedAt = _openedAt,
                HalfOpenAt = halfOpenAt,
                LastFailureAt = _lastFailureAt,
                LastError = _lastError,
                TimesOpened = _timesOpened,
            };
        }
    }

    private void Open(DateTimeOffset now)
    {
        _state = CircuitState.Open;
        _openedAt = now;
        _probeInFlight = false;
        _timesOpened++;
    }
}

/// <summary>The Polly strategy that puts a <see cref="ConsecutiveFailureCircuitBreaker"/> around each attempt.</summary>
internal sealed class ConsecutiveFailureCircuitBreakerStrategy(ConsecutiveFailureCircuitBreaker breaker) : ResilienceStrategy
{
    /// <summary>Attempts that reached the upstream during one execution.</summary>
    public static readonly ResiliencePropertyKey<int> Attempts = new("rootcause.connector.attempts");

    protected override async ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback, ResilienceContext context, TState state)
    {
        if (!breaker.TryAcquire(out var isProbe, out var retryAfter))
        {
            return Outcome.FromException<TResult>(new BrokenCircuitException(
                $"The circuit of connector '{breaker.Connector}' is open: the call was not made.", retryAfter));
        }
        context.Properties.Set(Attempts, context.Properties.GetValue(Attempts, 0) + 1);
        Outcome<TResult> outcome;
        try
        {
            outcome = await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
        }
        catch (Exception e)
        {
            outcome = Outcome.FromException<TResult>(e);
        }
        switch (outcome.Exception)
        {
            case null:
                breaker.OnSuccess(isProbe);
                break;
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
            case RateLimiterRejectedException:
                breaker.OnInconclusive(isProbe);
                break;
            default:
                breaker.OnFailure(outcome.Exception, isProbe);
                break;
        }
        return outcome;
    }
}
