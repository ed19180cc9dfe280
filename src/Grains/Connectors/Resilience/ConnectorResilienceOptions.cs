using System.ComponentModel.DataAnnotations;

namespace RootCause.Connectors;

/// <summary>
/// How a connector's calls to its upstream are protected. Section <c>Connectors:Resilience</c>
/// holds the defaults; a connector may run with its own copy (<c>options with { Qps = 2 }</c>).
/// </summary>
public sealed record ConnectorResilienceOptions
{
    public const string Section = "Connectors:Resilience";

    /// <summary>Calls per second to the upstream, per connector and per silo.</summary>
    [Range(0.01, 10_000)]
    public double Qps { get; set; } = 10;

    /// <summary>Calls that may go out back to back after a quiet spell.</summary>
    [Range(1, 10_000)]
    public int Burst { get; set; } = 1;

    /// <summary>Calls that may wait for their turn; more are rejected (and not retried).</summary>
    [Range(0, 100_000)]
    public int RateLimitQueue { get; set; } = 1_000;

    /// <summary>How long one attempt may take before it counts as a (transient) timeout.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries after the first attempt, for transient failures only.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 5;

    /// <summary>The first retry's delay; each further retry doubles it (1, 2, 4, 8, 16 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Each delay is scaled by a random factor in [1 − this, 1 + this].</summary>
    [Range(0.0, 0.5)]
    public double JitterFraction { get; set; } = 0.1;

    /// <summary>The longest Retry-After (of a 429 or 503) that is waited for; longer ones are cut to this.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Consecutive failed attempts that open the circuit.</summary>
    [Range(1, 1_000)]
    public int FailureThreshold { get; set; } = 5;

    /// <summary>How long an open circuit fails fast before it lets one probe through.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(60);
}
