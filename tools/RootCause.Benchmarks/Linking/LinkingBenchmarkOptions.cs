using System.Diagnostics.CodeAnalysis;

namespace RootCause.Benchmarks.Linking;

/// <summary>Command-line options of the linking benchmark (<c>RootCause.Benchmarks linking ...</c>).</summary>
public sealed record LinkingBenchmarkOptions
{
    /// <summary>Events ingested in the sustained phase, as many again in its baseline, and a third as many in the unclaimed phase.</summary>
    public int Events { get; init; } = 60_000;

    /// <summary>Open investigations the events are linked against.</summary>
    public int Investigations { get; init; } = 1_000;

    /// <summary>Catalog components (five per service: web, api, worker, db, cache).</summary>
    public int Components { get; init; } = 200;

    /// <summary>Ingests in flight in the closed-loop phases (the foundation benchmark's default, for the same reasons).</summary>
    public int Concurrency { get; init; } = BenchmarkOptions.DefaultConcurrency;

    /// <summary>Steady ingest rate of the latency phase, events per second.</summary>
    public int Rate { get; init; } = 200;

    /// <summary>
    /// How the latency phase learns that an event is linked: <c>push</c> watches every targeted
    /// investigation's live stream and confirms each pushed link with a GET; <c>poll</c> reads each
    /// pending event over and over until it shows the link.
    /// </summary>
    public string Watch { get; init; } = "push";

    /// <summary>Length of the latency phase in seconds.</summary>
    public int Duration { get; init; } = 30;

    /// <summary>How long a phase may take to have every acknowledged event evaluated before the run fails.</summary>
    public int TimeoutSeconds { get; init; } = 900;

    public int Seed { get; init; } = 20_241_126;

    public string ConnectionString { get; init; } = "";

    public bool Keep { get; init; }

    public const string Usage = """
        usage: RootCause.Benchmarks linking --connection <server connection string> [options]
          --events N           events of the sustained phase, as many for its baseline, a third as many unclaimed (default 60000)
          --investigations N   open investigations (default 1000)
          --components N       catalog components, five per service (default 200)
          --concurrency N      ingests in flight in the closed-loop phases (default 32)
          --rate N             events per second in the latency phase (default 200)
          --duration N         seconds of the latency phase (default 30)
          --watch push|poll    how the latency phase sees a link: pushed on the investigations' live streams and
                               confirmed by one GET (push), or GET of each pending event every 10 ms (poll) (default push)
          --timeout N          seconds a phase may wait for every event to be evaluated (default 900)
          --seed N             seed of the generated workload (default 20241126)
          --keep               keep the benchmark database
        """;

    /// <summary>Parses <c>--name value</c>; on <c>--help</c>, returns false with a null problem.</summary>
    public static bool TryParse(string[] args, [NotNullWhen(true)] out LinkingBenchmarkOptions? options, out string? problem)
    {
        options = null;
        problem = null;
        var result = new LinkingBenchmarkOptions
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
            if (name == "--watch")
            {
                if (value is not ("push" or "poll"))
                {
                    problem = "--watch must be push or poll.";
                    return false;
                }
                result = result with { Watch = value };
                continue;
            }
            if (!OptionArguments.TryWholeNumber(name, value!, 1, out var number, out problem))
            {
                return false;
            }
            switch (name)
            {
                case "--events": result = result with { Events = number }; break;
                case "--investigations": result = result with { Investigations = number }; break;
                case "--components": result = result with { Components = number }; break;
                case "--concurrency": result = result with { Concurrency = number }; break;
                case "--rate": result = result with { Rate = number }; break;
                case "--duration": result = result with { Duration = number }; break;
                case "--timeout": result = result with { TimeoutSeconds = number }; break;
                case "--seed": result = result with { Seed = number }; break;
                default:
                    problem = $"Unknown option {name}.";
                    return false;
            }
        }
        problem = result switch
        {
            { ConnectionString.Length: 0 } => "No PostgreSQL server: pass --connection \"Host=...;Port=...;Username=...;Password=...\" or set ConnectionStrings__Postgres.",
            { Components: < 5 } => "--components must be at least 5 (one service).",
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
