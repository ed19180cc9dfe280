using System.Globalization;
using Npgsql;

namespace RootCause.Benchmarks;

/// <summary>
/// CPU time spent by the PostgreSQL server's processes (backends, WAL writer, checkpointer …),
/// read from /proc for the process ids the server lists in pg_stat_activity. Works only when the
/// server runs on this machine and /proc is readable; otherwise it reports nothing. Backends that
/// exit during a phase take their CPU time with them, which the connection pools make rare.
/// </summary>
public sealed class PostgresCpu(NpgsqlDataSource source)
{
    /// <summary>/proc reports process times in USER_HZ, which Linux fixes at 100 per second for user space.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>CPU seconds per server process id, or null when they cannot be read here.</summary>
    public async Task<Dictionary<int, double>?> SnapshotAsync()
    {
        if (!Directory.Exists("/proc"))
        {
            return null;
        }
        var pids = new List<int>();
        await using (var command = source.CreateCommand("SELECT pid FROM pg_stat_activity"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                pids.Add(reader.GetInt32(0));
            }
        }
        var times = new Dictionary<int, double>();
        foreach (var pid in pids)
        {
            if (ReadCpuSeconds(pid) is { } seconds)
            {
                times[pid] = seconds;
            }
        }
        return times.Count > 0 ? times : null;
    }

    /// <summary>CPU seconds used between two snapshots; processes new in the second count from zero.</summary>
    public static double? Between(Dictionary<int, double>? before, Dictionary<int, double>? after)
    {
        if (before is null || after is null)
        {
            return null;
        }
        return after.Sum(p => p.Value - before.GetValueOrDefault(p.Key));
    }

    private static double? ReadCpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name is in parentheses and may contain spaces: fields are counted after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After the name: state(3) ppid(4) … utime(14) stime(15), so utime is at index 11.
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks / TicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
