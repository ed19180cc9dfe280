using RootCause.Evaluation.Corpus;
using RootCause.Evaluation.Evaluation;

namespace RootCause.Evaluation;

/// <summary>
/// Measures how well linking finds the events that explain an incident, on the labelled corpus in
/// corpus/linking. Progress goes to stderr, the Markdown report to stdout. See docs/benchmarks.md.
/// </summary>
public static class EvaluationProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (!EvaluationOptions.TryParse(args, out var options, out var problem))
        {
            if (problem is not null)
            {
                await Console.Error.WriteLineAsync(problem);
            }
            await Console.Error.WriteLineAsync(EvaluationOptions.Usage);
            return problem is null ? 0 : 2;
        }
        var files = options.CorpusDirectory is { } dir ? new CorpusFiles(dir) : CorpusFiles.Locate();
        if (options.Mode == "generate")
        {
            var generated = files.Generate();
            await Console.Error.WriteLineAsync($"wrote {generated.Count} scenarios, {generated.Sum(s => s.Events.Count)} events, to {files.ScenariosDirectory}");
            return 0;
        }

        var catalog = files.ReadCatalog();
        var scenarios = files.ReadScenarios()
            .Where(s => options.Scenarios.Count == 0 || options.Scenarios.Any(f => s.Id.Contains(f, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        if (scenarios.Count == 0)
        {
            await Console.Error.WriteLineAsync("No scenario matches.");
            return 2;
        }
        try
        {
            var results = options.Mode == "scorer"
                ? RunScorer(scenarios, catalog, options)
                : await PipelineEvaluation.RunAsync(scenarios, catalog, options);
            EvaluationReport.Print(Console.Out, results);
            return 0;
        }
        catch (PipelineUnavailableException e)
        {
            await Console.Error.WriteLineAsync($"pipeline mode cannot run: {e.Message}");
            return 3;
        }
    }

    private static EvaluationResults RunScorer(IReadOnlyList<CorpusScenario> scenarios, CorpusCatalog catalog, EvaluationOptions options)
    {
        if (options.DetailsFile is not { } path)
        {
            return ScorerEvaluation.Run(scenarios, catalog);
        }
        using var details = new StreamWriter(path);
        details.WriteLine("outcome\tscenario\tevent\trole\tevent_type\tinvestigation\tstatus\tconfidence\tstrategies");
        return ScorerEvaluation.Run(scenarios, catalog, details: details);
    }
}
