namespace RootCause.Connectors;

/// <summary>Where a connector's circuit breaker stands.</summary>
public enum CircuitState
{
    /// <summary>Calls go through; consecutive failures are counted.</summary>
    Closed,

    /// <summary>Calls fail fast without reaching the upstream until the break is over.</summary>
    Open,

    /// <summary>The break is over: the next call is a probe; its outcome closes or reopens the circuit.</summary>
    HalfOpen,
}

/// <summary>A connector's circuit breaker as operators see it.</summary>
public sealed record CircuitBreakerStatus
{
    public required string Connector { get; init; }

    public CircuitState State { get; init; }

    /// <summary>Failures since the last success (or reset).</summary>
    public int ConsecutiveFailures { get; init; }

    /// <summary>How many consecutive failures open the circuit.</summary>
    public int FailureThreshold { get; init; }

    /// <summary>When the circuit last opened; null while it has never opened since the last close.</summary>
    public DateTimeOffset? OpenedAt { get; init; }

    /// <summary>When an open circuit lets a probe through.</summary>
    public DateTimeOffset? HalfOpenAt { get; init; }

    public DateTimeOffset? LastFailureAt { get; init; }

    /// <summary>The last failure's exception type and message.</summary>
    public string? LastError { get; init; }

    /// <summary>How many times the circuit opened since this silo started.</summary>
    public long TimesOpened { get; init; }
}

/// <summary>
/// The circuit breakers of the connectors running on this silo, for the status API.
/// </summary>
public interface ICircuitBreakerRegistry
{
    /// <summary>Every known connector's breaker, ordered by connector id.</summary>
    IReadOnlyList<CircuitBreakerStatus> All();

    /// <summary>One connector's breaker, or null when this silo does not know the connector.</summary>
    CircuitBreakerStatus? Find(string connector);

    /// <summary>Closes the connector's circuit and clears its failure count; null for an unknown connector.</summary>
    CircuitBreakerStatus? Reset(string connector);
}
