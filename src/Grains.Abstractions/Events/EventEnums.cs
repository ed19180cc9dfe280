namespace RootCause.Events;

/// <summary>Where an event came from.</summary>
public enum EventSource
{
    Git,
    Ci,
    Logs,
    Metrics,
    Traces,
    Manual,
}

/// <summary>How bad an event is; <c>info</c> is for events that are context rather than symptoms.</summary>
public enum EventSeverity
{
    Critical,
    High,
    Medium,
    Low,
    Info,
}
