using System.Globalization;

namespace RootCause.Evaluation.Evaluation;

/// <summary>The Markdown report: the tables docs/benchmarks.md shows.</summary>
public static class EvaluationReport
{
    public static void Print(TextWriter output, EvaluationResults results) => Print(output, results, EvaluationMetrics.Compute(results));

    public static void Print(TextWriter output, EvaluationResults results, EvaluationMetrics metrics)
    {
        var events = results.Scenarios.Sum(s => s.Events.Count);
        var truth = results.Scenarios.Sum(s => s.GroundTruth.Count);
        output.WriteLine($"### Linking accuracy: {results.Mode} mode, {results.RanAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC");
        output.WriteLine();
        output.WriteLine(Invariant($"{results.Scenarios.Count} scenarios, {events} events, {truth} ground-truth links ({results.Scenarios.Count(s => s.Investigations.Count > 1)} scenarios with an earlier incident); {results.Elapsed.TotalSeconds:F1} s."));
        foreach (var note in results.Notes)
        {
            output.WriteLine();
            output.WriteLine(note);
        }
        output.WriteLine();
        output.WriteLine("#### Aims");
        output.WriteLine();
        output.WriteLine("| aim | target | value | met |");
        output.WriteLine("|---|---|---:|---|");
        foreach (var aim in metrics.Aims)
        {
            output.WriteLine($"| {aim.Name} | {aim.Target} | {Number(aim.Value)} | {(aim.Met ? "yes" : "**no**")} |");
        }
        output.WriteLine();
        output.WriteLine("#### Precision, recall and F1 of auto-links, per source");
        output.WriteLine();
        output.WriteLine("| source | events | truth links | auto-linked | TP | FP | FN | precision | recall | F1 |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in metrics.BySource)
        {
            output.WriteLine(ScoreRow(row.Source, row.Events, row.Score));
        }
        output.WriteLine(ScoreRow("**overall**", events, metrics.Overall));
        output.WriteLine();
        output.WriteLine("#### Suggestions (not counted above)");
        output.WriteLine();
        output.WriteLine("| suggested pairs | of them true | of them false | truth links only suggested (not auto-linked) |");
        output.WriteLine("|---:|---:|---:|---:|");
        output.WriteLine($"| {metrics.SuggestedTrue + metrics.SuggestedFalse} | {metrics.SuggestedTrue} | {metrics.SuggestedFalse} | {metrics.TruthOnlySuggested} |");
        output.WriteLine();
        output.WriteLine("#### Calibration: share of pairs in each confidence band that are true links");
        output.WriteLine();
        output.WriteLine("| confidence | pairs | true | share true |");
        output.WriteLine("|---|---:|---:|---:|");
        foreach (var band in metrics.Calibration)
        {
            output.WriteLine($"| {band.Label} | {band.Pairs} | {band.True} | {Number(band.Share)} |");
        }
        output.WriteLine();
        output.WriteLine("#### By role of the event in its story");
        output.WriteLine();
        output.WriteLine("| role | events | auto-linked right | auto-linked wrong | suggested |");
        output.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var row in metrics.Roles)
        {
            output.WriteLine($"| {row.Role} | {row.Events} | {row.LinkedRight} | {row.LinkedWrong} | {row.Suggested} |");
        }
        output.WriteLine();
        output.WriteLine("#### Per scenario");
        output.WriteLine();
        output.WriteLine("| scenario | kind | cause | events | truth | auto-linked | TP | FP | FN | suggested true / false |");
        output.WriteLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in metrics.Scenarios)
        {
            output.WriteLine($"| {row.Id} | {row.Kind} | {row.CauseLocation} | {row.Events} | {row.Score.Truth} | {row.Score.Linked} | {row.Score.TruePositives} | {row.Score.FalsePositives} | {row.Score.FalseNegatives} | {row.SuggestedTrue} / {row.SuggestedFalse} |");
        }
    }

    private static string ScoreRow(string name, int events, Score s) =>
        $"| {name} | {events} | {s.Truth} | {s.Linked} | {s.TruePositives} | {s.FalsePositives} | {s.FalseNegatives} | {Number(s.Precision)} | {Number(s.Recall)} | {Number(s.F1)} |";

    private static string Number(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "–";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
