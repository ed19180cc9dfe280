using System.Diagnostics;
using System.Globalization;

namespace RootCause.Benchmarks;

/// <summary>
/// CPU use over a phase: this process (silo + load generator) and the whole machine (which adds
/// PostgreSQL), as a share of all cores. It tells a CPU-bound phase from one waiting on disk.
/// The machine figure comes from /proc/stat and is absent elsewhere.
/// </summary>
public sealed class CpuMeter
{
    private readonly TimeSpan _processStart;
    private readonly long _wallStart;
    private readonly (long Busy, long IoWait, long Total)? _machineStart;

    private CpuMeter()
    {
        _processStart = Process.GetCurrentProcess().TotalProcessorTime;
        _wallStart = Stopwatch.GetTimestamp();
        _machineStart = ReadMachine();
    }

    public static CpuMeter Start() => new();

    /// <summary>CPU seconds this process used since <see cref="Start"/>.</summary>
    public double ProcessSeconds => (Process.GetCurrentProcess().TotalProcessorTime - _processStart).TotalSeconds;

    /// <summary>For example <c>cpu: process 143% of 200%, machine 96% busy, iowait 2%</c>.</summary>
    public string Describe()
    {
        var wall = Stopwatch.GetElapsedTime(_wallStart);
        var process = Process.GetCurrentProcess().TotalProcessorTime - _processStart;
        var cores = Environment.ProcessorCount;
        var text = string.Create(CultureInfo.InvariantCulture,
            $"cpu: process {100 * process.TotalSeconds / wall.TotalSeconds:F0}% of {100 * cores}%");
        if (_machineStart is { } start && ReadMachine() is { } end && end.Total > start.Total)
        {
            text += string.Create(CultureInfo.InvariantCulture,
                $", machine {100.0 * (end.Busy - start.Busy) / (end.Total - start.Total):F0}% busy, "
                + $"iowait {100.0 * (end.IoWait - start.IoWait) / (end.Total - start.Total):F0}%");
        }
        return text;
    }

    /// <summary>(busy, iowait, total) jiffies over all cores; busy excludes idle and iowait.</summary>
    private static (long Busy, long IoWait, long Total)? ReadMachine()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            if (line is null)
            {
                return null;
            }
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal ...
            var total = fields.Take(8).Sum();
            var idle = fields[3] + fields[4];
            return (total - idle, fields[4], total);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
