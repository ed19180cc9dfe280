namespace RootCause.Evaluation.Evaluation;

/// <summary>Counts of one slice: ground-truth links, auto-links, and the auto-links that are right.</summary>
public sealed record Score(int Truth, int Linked, int TruePositives)
{
    public int FalsePositives => Linked - TruePositives;
    public int FalseNegatives => Truth - TruePositives;
    /// <summary>Null when nothing was linked (undefined, not zero).</summary>
    public double? Precision => Linked == 0 ? null : (double)TruePositives / Linked;
    /// <summary>Null when there was nothing to find.</summary>
    public double? Recall => Truth == 0 ? null : (double)TruePositives / Truth;
    public double? F1 => Precision is { } p && Recall is { } r ? (p + r == 0 ? 0 : 2 * p * r / (p + r)) : null;
}

public sealed record SourceRow(string Source, int Events, Score Score);

public sealed record CalibrationBand(string Label, double From, double To, bool IncludesTo, int Pairs, int True)
{
    public double? Share => Pairs == 0 ? null : (double)True / Pairs;
}

public sealed record ScenarioRow(string Id, string Kind, string CauseLocation, int Events, Score Score, int SuggestedTrue, int SuggestedFalse);

public sealed record RoleRow(string Role, int Events, int LinkedRight, int LinkedWrong, int Suggested);

public sealed record Aim(string Name, string Target, double? Value, double Threshold)
{
    public bool Met => Value is { } v && v >= Threshold;
}

/// <summary>
/// Precision, recall and F1 over (event, investigation) pairs: a predicted positive is a pair the
/// linker auto-linked (status <c>linked</c>), a true one a pair in the scenario's ground truth. So a
/// symptom linked to the earlier incident instead of the main one counts as a false positive and a
/// false negative, and a link to another scenario's investigation as a false positive.
/// </summary>
public sealed record EvaluationMetrics(
    IReadOnlyList<SourceRow> BySource,
    Score Overall,
    int SuggestedTrue,
    int SuggestedFalse,
    int TruthOnlySuggested,
    IReadOnlyList<CalibrationBand> Calibration,
    IReadOnlyList<ScenarioRow> Scenarios,
    IReadOnlyList<RoleRow> Roles,
    IReadOnlyList<Aim> Aims)
{
    public static readonly string[] Sources = ["git", "ci", "logs", "metrics", "traces"];

    public static EvaluationMetrics Compute(EvaluationResults results)
    {
        var truth = new HashSet<(string, string, string)>();
        var sourceOf = new Dictionary<(string, string), string>();
        var roleOf = new Dictionary<(string, string), string>();
        foreach (var scenario in results.Scenarios)
        {
            foreach (var e in scenario.Events)
            {
                sourceOf[(scenario.Id, e.Key)] = e.Source;
                roleOf[(scenario.Id, e.Key)] = e.Role;
            }
            foreach (var link in scenario.GroundTruth)
            {
                truth.Add((scenario.Id, link.Event, EvaluationResults.InvestigationKey(scenario, link.Investigation)));
            }
        }
        bool IsTrue(PairOutcome o) => truth.Contains((o.Scenario, o.Event, o.Investigation));

        var linked = results.Outcomes.Where(o => o.Status == LinkStatus.Linked).ToList();
        var suggested = results.Outcomes.Where(o => o.Status == LinkStatus.Suggested).ToList();
        var linkedPairs = linked.Select(o => (o.Scenario, o.Event, o.Investigation)).ToHashSet();
        var suggestedPairs = suggested.Select(o => (o.Scenario, o.Event, o.Investigation)).ToHashSet();

        Score ScoreOf(Func<string, string, bool> include) => new(
            truth.Count(t => include(t.Item1, t.Item2)),
            linked.Count(o => include(o.Scenario, o.Event)),
            linked.Count(o => include(o.Scenario, o.Event) && IsTrue(o)));

        var bySource = Sources.Select(source => new SourceRow(source,
            results.Scenarios.Sum(s => s.Events.Count(e => e.Source == source)),
            ScoreOf((s, e) => sourceOf[(s, e)] == source))).ToList();
        var overall = ScoreOf((_, _) => true);

        var bands = new (string Label, double From, double To, bool Inclusive)[]
        {
            ("[0.45, 0.60)", 0.45, 0.60, false), ("[0.60, 0.75)", 0.60, 0.75, false), ("[0.75, 0.80)", 0.75, 0.80, false),
            ("[0.80, 0.90)", 0.80, 0.90, false), ("[0.90, 1.00]", 0.90, 1.00, true),
        };
        var calibration = bands.Select(b =>
        {
            var inBand = results.Outcomes.Where(o => o.Confidence >= b.From && (b.Inclusive ? o.Confidence <= b.To : o.Confidence < b.To)).ToList();
            return new CalibrationBand(b.Label, b.From, b.To, b.Inclusive, inBand.Count, inBand.Count(IsTrue));
        }).ToList();

        var scenarios = results.Scenarios.Select(s => new ScenarioRow(s.Id, s.Kind, s.CauseLocation, s.Events.Count,
            ScoreOf((scenario, _) => scenario == s.Id),
            suggested.Count(o => o.Scenario == s.Id && IsTrue(o)),
            suggested.Count(o => o.Scenario == s.Id && !IsTrue(o)))).ToList();

        var roles = roleOf.GroupBy(kv => kv.Value, kv => kv.Key).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var events = g.ToHashSet();
            var mine = linked.Where(o => events.Contains((o.Scenario, o.Event))).ToList();
            return new RoleRow(g.Key, events.Count, mine.Count(IsTrue), mine.Count(o => !IsTrue(o)),
                suggested.Count(o => events.Contains((o.Scenario, o.Event))));
        }).ToList();

        var confident = linked.Where(o => o.Confidence >= 0.8).ToList();
        var git = bySource.Single(r => r.Source == "git").Score;
        Aim[] aims =
        [
            new("git precision", "≥ 0.90", git.Precision, 0.9),
            new("git recall", "≥ 0.90", git.Recall, 0.9),
            new("overall F1", "≥ 0.85", overall.F1, 0.85),
            new("auto-links with confidence ≥ 0.8 that are right", "≥ 90 %", confident.Count == 0 ? null : (double)confident.Count(IsTrue) / confident.Count, 0.9),
        ];

        return new EvaluationMetrics(bySource, overall,
            suggested.Count(IsTrue), suggested.Count(o => !IsTrue(o)),
            truth.Count(t => !linkedPairs.Contains(t) && suggestedPairs.Contains(t)),
            calibration, scenarios, roles, aims);
    }
}
