using Microsoft.Extensions.Logging;

namespace RootCause.Connectors;

/// <summary>The structured log lines of connector resilience; every one names the connector.</summary>
internal static partial class ConnectorLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning,
        Message = "Connector {Connector}: attempt {Attempt} failed ({ErrorType}: {Error}); retry {Retry} in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, string connector, int attempt, int retry, double delayMs, string errorType, string error, Exception exception);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning,
        Message = "Connector {Connector}: call failed after {Attempts} attempt(s) in {ElapsedMs} ms ({ErrorType}: {Error})")]
    public static partial void CallFailed(ILogger logger, string connector, int attempts, double elapsedMs, string errorType, string error, Exception exception);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Error,
        Message = "Connector {Connector}: circuit OPENED after {Failures} consecutive failures; calls fail fast until {HalfOpenAt:O} (last error {ErrorType}: {Error})")]
    public static partial void BreakerOpened(ILogger logger, string connector, int failures, DateTimeOffset halfOpenAt, string errorType, string error);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Error,
        Message = "Connector {Connector}: probe failed, circuit OPENED again until {HalfOpenAt:O} ({ErrorType}: {Error})")]
    public static partial void BreakerReopened(ILogger logger, string connector, DateTimeOffset halfOpenAt, string errorType, string error);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "Connector {Connector}: circuit half-open, letting one probe through")]
    public static partial void BreakerHalfOpen(ILogger logger, string connector);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Information, Message = "Connector {Connector}: circuit closed ({Reason})")]
    public static partial void BreakerClosed(ILogger logger, string connector, string reason);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Warning,
        Message = "Dead letter {Id} of connector {Connector} ({Source}, {Kind}): {Error} (attempts {Attempts})")]
    public static partial void DeadLettered(ILogger logger, long id, string connector, string source, string kind, string error, int attempts);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning,
        Message = "Replay of dead letter {Id} of connector {Connector} failed: {Error} (attempts {Attempts})")]
    public static partial void ReplayFailed(ILogger logger, long id, string connector, string error, int attempts);
}
