using System.Globalization;

namespace RootCause.Evaluation;

/// <summary>Command-line options of the evaluation tool.</summary>
public sealed record EvaluationOptions
{
    public const string Usage = """
        usage: RootCause.Evaluation [--mode pipeline|scorer|generate] [options]

          --mode pipeline     (default) replay every scenario through a complete in-process silo on its
                              own fresh database, over HTTP, and score what the linker decided
          --mode scorer       score every (investigation, event) pair with LinkScorer in-process; no database
          --mode generate     expand corpus/linking/specs into corpus/linking/scenarios (the committed files)

          --corpus DIR        the corpus directory (default: corpus/linking above the working directory)
          --scenario ID       only scenarios whose id contains ID (repeatable)
          --connection CS     PostgreSQL server connection string (pipeline mode; no database needed)
          --settle-timeout S  seconds to wait for linking to settle per scenario (pipeline mode, default 120)
          --keep              keep the pipeline run's database
          --details FILE      scorer mode: write every wrong and every missed auto-link with each strategy's reason to FILE (TSV)
        """;

    public string Mode { get; init; } = "pipeline";
    public string? CorpusDirectory { get; init; }
    public IReadOnlyList<string> Scenarios { get; init; } = [];
    public string? ConnectionString { get; init; }
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(120);
    public bool Keep { get; init; }
    public string? DetailsFile { get; init; }

    public static bool TryParse(string[] args, out EvaluationOptions options, out string? problem)
    {
        options = new EvaluationOptions();
        problem = null;
        var scenarios = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--help" or "-h":
                    return false;
                case "--mode":
                    var mode = Value();
                    if (mode is not ("pipeline" or "scorer" or "generate"))
                    {
                        problem = $"--mode must be pipeline, scorer or generate (got '{mode}').";
                        return false;
                    }
                    options = options with { Mode = mode };
                    break;
                case "--corpus":
                    options = options with { CorpusDirectory = Value() };
                    break;
                case "--scenario":
                    if (Value() is { } id)
                    {
                        scenarios.Add(id);
                    }
                    break;
                case "--connection":
                    options = options with { ConnectionString = Value() };
                    break;
                case "--settle-timeout":
                    if (!int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) || seconds < 1)
                    {
                        problem = "--settle-timeout takes a whole number of seconds ≥ 1.";
                        return false;
                    }
                    options = options with { SettleTimeout = TimeSpan.FromSeconds(seconds) };
                    break;
                case "--details":
                    options = options with { DetailsFile = Value() };
                    if (options.DetailsFile is null)
                    {
                        problem = "--details takes a file name.";
                    }
                    break;
                case "--keep":
                    options = options with { Keep = true };
                    break;
                default:
                    problem = $"Unknown argument '{args[i]}'.";
                    return false;
            }
        }
        options = options with { Scenarios = scenarios };
        if (options.Mode == "pipeline" && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            problem = "--mode pipeline needs --connection (a PostgreSQL server; scripts/evaluate.sh starts one).";
            return false;
        }
        return true;
    }
}
