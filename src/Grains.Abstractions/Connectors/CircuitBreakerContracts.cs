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
[GenerateSerializer, Immutable, Alias("rc.CircuitBreakerStatus")]
public sealed record CircuitBreakerStatus
{
    [Id(0)] public required string Connector { get; init; }

    [Id(1)] public CircuitState State { get; init; }

    /// <summary>Failures since the last success (or reset).</summary>
    [Id(2)] public int ConsecutiveFailures { get; init; }

    /// <summary>How many consecutive failures open the circuit.</summary>
    [Id(3)] public int FailureThreshold { get; init; }

    /// <summary>When the circuit last opened; null while it has never opened since the last close.</summary>
    [Id(4)] public DateTimeOffset? OpenedAt { get; init; }

    /// <summary>When an open circuit lets a probe through.</summary>
    [Id(5)] public DateTimeOffset? HalfOpenAt { get; init; }

    [Id(6)] public DateTimeOffset? LastFailureAt { get; init; }

    /// <summary>The last failure's exception type and message.</summary>
    [Id(7)] public string? LastError { get; init; }

    /// <summary>How many times the circuit opened since the silo that runs the connector started.</summary>
    [Id(8)] public long TimesOpened { get; init; }
}
