namespace RootCause.Connectors;

/// <summary>
/// The retry delays: base × 2^n (1, 2, 4, 8, 16 s by default), each scaled by a random factor in
/// [1 − jitter, 1 + jitter]. Polly's own exponential jitter does not keep to that schedule, hence
/// a delay generator of our own.
/// </summary>
public static class RetrySchedule
{
    /// <param name="retryIndex">0 for the first retry.</param>
    /// <param name="baseDelay">The first retry's delay before jitter.</param>
    /// <param name="jitterFraction">The largest relative deviation, e.g. 0.1 for ±10 %.</param>
    /// <param name="random">A number in [0, 1): 0 gives the shortest delay, 0.5 the exact one.</param>
    public static TimeSpan Delay(int retryIndex, TimeSpan baseDelay, double jitterFraction, double random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retryIndex);
        var factor = 1 + (jitterFraction * ((2 * random) - 1));
        return TimeSpan.FromTicks((long)(baseDelay.Ticks * Math.Pow(2, retryIndex) * factor));
    }
}
