using System.Diagnostics.CodeAnalysis;

namespace RootCause.Benchmarks;

/// <summary>Command-line options of the benchmark.</summary>
public sealed record BenchmarkOptions
{
    /// <summary>
    /// 32 operations in flight: on PostgreSQL with fsync on, every autocommit waits for a WAL flush,
    /// and concurrent commits share flushes (group commit), so a handful of callers would measure
    /// the disk's flush latency rather than the silo. 32 is enough to keep the flushes full on a
    /// small machine while staying far below the connection pool (100 by default in Npgsql) and
    /// the server's max_connections, and it is what a few busy connectors plus a webhook burst
    /// put on one silo. Use --concurrency to sweep.
    /// </summary>
    public const int DefaultConcurrency = 32;

    public int Investigations { get; init; } = 10_000;
    public int Events { get; init; } = 100_000;
    public int Concurrency { get; init; } = DefaultConcurrency;
    public int HttpGets { get; init; } = 5_000;

    /// <summary>Events posted over HTTP; defaults to a tenth of <see cref="Events"/>.</summary>
    public int? HttpEvents { get; init; }

    /// <summary>The raw baseline and the grain ingest alternate in this many rounds each.</summary>
    public int Rounds { get; init; } = 4;

    public int Seed { get; init; } = 20_240_601;

    /// <summary>Server connection string (any database; the benchmark creates its own).</summary>
    public string ConnectionString { get; init; } = "";

    /// <summary>
    /// Extra Npgsql connection-string keywords (e.g. <c>Max Auto Prepare=16</c>) for experiments.
    /// They apply to the silo and the baseline alike; the default run uses none.
    /// </summary>
    public string ConnectionOptions { get; init; } = "";

    public bool Keep { get; init; }

    public int EffectiveHttpEvents => HttpEvents ?? Math.Max(1, Events / 10);

    public const string Usage = """
        usage: RootCause.Benchmarks [options]
          --investigations N   investigations created through IInvestigationGrain.CreateAsync (default 10000)
          --events N           events ingested through IEventGrain.IngestAsync, and as many raw baseline
                               inserts (default 100000)
          --concurrency N      operations in flight in every measured phase (default 32)
          --http-gets N        warm GET /api/investigations/{id} requests (default 5000)
          --http-events N      events posted to POST /api/events (default: events / 10)
          --rounds N           alternating baseline/grain rounds the events are split into (default 4)
          --seed N             seed of the generated workload (default 20240601)
          --connection CS      PostgreSQL server connection string (or env ConnectionStrings__Postgres)
          --connection-options "K=V;..."
                               extra Npgsql keywords for the run's database, for the silo and the
                               baseline alike (experiments only; default none)
          --keep               keep the benchmark database instead of dropping it

        Other benchmarks, chosen by the first argument: search, visibility, linking (each with --help).
        """;

    /// <summary>Parses <c>--name value</c> and <c>--name=value</c>. On <c>--help</c>, returns false with a null problem.</summary>
    public static bool TryParse(string[] args, [NotNullWhen(true)] out BenchmarkOptions? options, out string? problem)
    {
        options = null;
        problem = null;
        var result = new BenchmarkOptions
        {
            ConnectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") ?? "",
        };
        if (!OptionArguments.TryRead(args, ["--keep"], out var read, out problem))
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
            if (name == "--connection")
            {
                result = result with { ConnectionString = value! };
                continue;
            }
            if (name == "--connection-options")
            {
                result = result with { ConnectionOptions = value! };
                continue;
            }
            if (!OptionArguments.TryWholeNumber(name, value!, 0, out var number, out problem))
            {
                return false;
            }
            switch (name)
            {
                case "--investigations": result = result with { Investigations = number }; break;
                case "--events": result = result with { Events = number }; break;
                case "--concurrency": result = result with { Concurrency = number }; break;
                case "--http-gets": result = result with { HttpGets = number }; break;
                case "--http-events": result = result with { HttpEvents = number }; break;
                case "--rounds": result = result with { Rounds = number }; break;
                case "--seed": result = result with { Seed = number }; break;
                default:
                    problem = $"Unknown option {name}.";
                    return false;
            }
        }

        problem = result switch
        {
            { ConnectionString.Length: 0 } => "No PostgreSQL server: pass --connection \"Host=...;Port=...;Username=...;Password=...\" or set ConnectionStrings__Postgres.",
            { Concurrency: < 1 } => "--concurrency must be at least 1.",
            { Rounds: < 1 } => "--rounds must be at least 1.",
            { Investigations: < 1 } => "--investigations must be at least 1 (the GET phase reads them).",
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
