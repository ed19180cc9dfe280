using System.Diagnostics.CodeAnalysis;

namespace RootCause.Benchmarks.Search;

/// <summary>Command-line options of <c>bench.sh search</c>.</summary>
public sealed record SearchBenchmarkOptions
{
    public int Events { get; init; } = 1_000_000;
    public int Investigations { get; init; } = 100_000;
    public int Components { get; init; } = 200;
    public int Queries { get; init; } = 1_000;

    /// <summary>Changes written while the silo runs, for the tailing rate; defaults to a tenth of the records.</summary>
    public int? TailChanges { get; init; }

    /// <summary>How many backlogs of <see cref="TailChanges"/> are applied one after another; the median rate is reported.</summary>
    public int TailRounds { get; init; } = 3;

    /// <summary>Seconds of steady writes while the index is live, for its CPU cost per change (0: not measured).</summary>
    public int LiveSeconds { get; init; }

    /// <summary>Changes per second written during the live measurement, in transactions of <c>LiveTransaction</c>.</summary>
    public int LiveRate { get; init; } = 1_000;

    /// <summary>Stop after the rebuild, tailing and live measurements (no identity check, baseline or queries).</summary>
    public bool IndexingOnly { get; init; }

    /// <summary>Measure only the rows whose names start with one of these (empty: every row).</summary>
    public IReadOnlyList<string> Rows { get; init; } = [];

    public int Seed { get; init; } = 20_240_601;
    public string ConnectionString { get; init; } = "";
    public bool Keep { get; init; }

    public int EffectiveTailChanges => TailChanges ?? Math.Max(1_000, (Events + Investigations) / 10);

    public const string Usage = """
        usage: RootCause.Benchmarks search [options]
          --events N           events in the dataset (default 1000000)
          --investigations N   investigations in the dataset (default 100000)
          --components N       components the records are spread over (default 200)
          --queries N          measured queries per row and per side (default 1000)
          --tail-changes N     changes written while the silo runs, for the tailing rate
                               (default: a tenth of the records, at least 1000)
          --tail-rounds N      backlogs applied one after another; the median rate is reported (default 3)
          --live-seconds N     seconds of steady writes to the live index, for its CPU per change (default 0: none)
          --live-rate N        changes per second written during those seconds (default 1000)
          --indexing-only      stop after the rebuild, tailing and live measurements
          --rows A;B           measure only the query rows whose names start with A or B
                               (e.g. "full-text;filtered list"; default: every row)
          --seed N             seed of the generated dataset and queries (default 20240601)
          --connection CS      PostgreSQL server connection string (or env ConnectionStrings__Postgres)
          --keep               keep the benchmark database and the index directory
        """;

    public static bool TryParse(string[] args, [NotNullWhen(true)] out SearchBenchmarkOptions? options, out string? problem)
    {
        options = null;
        problem = null;
        var result = new SearchBenchmarkOptions
        {
            ConnectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") ?? "",
        };
        if (!OptionArguments.TryRead(args, ["--keep", "--indexing-only"], out var read, out problem))
        {
            return false;
        }
        foreach (var (name, value) in read)
        {
            if (name == "--keep")
            {
                result = result with { Keep = true };
                continue;
            }
            if (name == "--indexing-only")
            {
                result = result with { IndexingOnly = true };
                continue;
            }
            if (name == "--rows")
            {
                result = result with { Rows = value!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
                continue;
            }
            if (name == "--connection")
            {
                result = result with { ConnectionString = value! };
                continue;
            }
            if (!OptionArguments.TryWholeNumber(name, value!, 0, out var number, out problem))
            {
                return false;
            }
            switch (name)
            {
                case "--events": result = result with { Events = number }; break;
                case "--investigations": result = result with { Investigations = number }; break;
                case "--components": result = result with { Components = number }; break;
                case "--queries": result = result with { Queries = number }; break;
                case "--tail-changes": result = result with { TailChanges = number }; break;
                case "--tail-rounds": result = result with { TailRounds = number }; break;
                case "--live-seconds": result = result with { LiveSeconds = number }; break;
                case "--live-rate": result = result with { LiveRate = number }; break;
                case "--seed": result = result with { Seed = number }; break;
                default:
                    problem = $"Unknown option {name}.";
                    return false;
            }
        }
        problem = result switch
        {
            { ConnectionString.Length: 0 } => "No PostgreSQL server: pass --connection \"Host=...;Port=...;Username=...;Password=...\" or set ConnectionStrings__Postgres.",
            { Events: < 1 } => "--events must be at least 1.",
            { Investigations: < 1 } => "--investigations must be at least 1.",
            { Components: < 2 } => "--components must be at least 2.",
            { Queries: < 1 } => "--queries must be at least 1.",
            { TailRounds: < 1 } => "--tail-rounds must be at least 1.",
            { LiveRate: < 1 } => "--live-rate must be at least 1.",
            _ => null,
        };
        if (problem is not null)
        {
            return false;
        }
        options = result;
        return true;
    }
}
