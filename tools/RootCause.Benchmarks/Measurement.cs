using System.Diagnostics;

namespace RootCause.Benchmarks;

/// <summary>
/// Runs operations with a fixed number in flight and records each one's latency with
/// <see cref="Stopwatch.GetTimestamp"/>. Throughput is completed operations over the phase's wall
/// time (first start to last completion). Failed operations are counted, never dropped silently.
/// </summary>
public static class Measurement
{
    /// <summary>
    /// Runs <paramref name="operation"/> for indexes <c>first .. first+count-1</c> on
    /// <paramref name="concurrency"/> workers, each taking the next index when its previous
    /// operation completes (a closed loop: no operation waits in a queue of ours).
    /// </summary>
    public static async Task<PhaseSample> RunAsync(int first, int count, int concurrency, Func<int, Task> operation)
    {
        var latencies = new long[count];
        var next = -1;
        var failures = 0;
        string? firstFailure = null;

        async Task WorkerAsync()
        {
            // Start on the thread pool so that a synchronous prefix of one operation never
            // serialises the workers behind each other.
            await Task.Yield();
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await operation(first + i);
                }
                catch (Exception e)
                {
                    if (Interlocked.Increment(ref failures) == 1)
                    {
                        firstFailure = $"{e.GetType().Name}: {e.Message}";
                    }
                }
                latencies[i] = Stopwatch.GetTimestamp() - started;
            }
        }

        var phaseStarted = Stopwatch.GetTimestamp();
        var workers = new Task[Math.Min(concurrency, Math.Max(count, 1))];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = WorkerAsync();
        }
        await Task.WhenAll(workers);
        var wall = Stopwatch.GetTimestamp() - phaseStarted;
        return new PhaseSample(latencies, wall, failures, firstFailure);
    }
}

/// <summary>One measured run of a phase: per-operation latencies in Stopwatch ticks, and the wall time.</summary>
public sealed record PhaseSample(long[] Latencies, long WallTicks, int Failures, string? FirstFailure);

/// <summary>A row of the result table; several samples (rounds) of one operation merge into one row.</summary>
public sealed class PhaseResult(string operation, int concurrency)
{
    private readonly List<PhaseSample> _samples = [];

    public string Operation { get; } = operation;
    public int Concurrency { get; } = concurrency;

    private double _postgresCpuSeconds;
    private bool _postgresMeasured = true;

    public void Add(PhaseSample sample, double processCpuSeconds, double? postgresCpuSeconds)
    {
        _samples.Add(sample);
        ProcessCpuSeconds += processCpuSeconds;
        _postgresCpuSeconds += postgresCpuSeconds ?? 0;
        _postgresMeasured &= postgresCpuSeconds is not null;
    }

    /// <summary>CPU seconds of this process (silo and load generator) over all samples.</summary>
    public double ProcessCpuSeconds { get; private set; }

    /// <summary>CPU seconds of the PostgreSQL server over all samples; null when not measurable here.</summary>
    public double? PostgresCpuSeconds => _postgresMeasured && _samples.Count > 0 ? _postgresCpuSeconds : null;

    public IReadOnlyList<PhaseSample> Samples => _samples;

    public int Count => _samples.Sum(s => s.Latencies.Length);
    public int Failures => _samples.Sum(s => s.Failures);
    public string? FirstFailure => _samples.Select(s => s.FirstFailure).FirstOrDefault(f => f is not null);

    /// <summary>Operations per second over the summed wall time of all samples.</summary>
    public double OpsPerSecond
    {
        get
        {
            var seconds = _samples.Sum(s => (double)s.WallTicks) / Stopwatch.Frequency;
            return seconds > 0 ? Count / seconds : 0;
        }
    }

    public double WallSeconds => _samples.Sum(s => (double)s.WallTicks) / Stopwatch.Frequency;

    public LatencySummary Latency() => LatencySummary.Of(_samples.SelectMany(s => s.Latencies));
}

/// <summary>Percentiles by sorting all latencies (nearest rank), in milliseconds.</summary>
public sealed record LatencySummary(double P50, double P99, double Max)
{
    public static LatencySummary Of(IEnumerable<long> ticks)
    {
        var sorted = ticks.ToArray();
        if (sorted.Length == 0)
        {
            return new LatencySummary(0, 0, 0);
        }
        Array.Sort(sorted);
        return new LatencySummary(Ms(Rank(sorted, 0.50)), Ms(Rank(sorted, 0.99)), Ms(sorted[^1]));
    }

    /// <summary>The nearest-rank percentile: the smallest value with at least p of the values at or below it.</summary>
    private static long Rank(long[] sorted, double p)
    {
        var rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
