using RootCause.Evaluation.Corpus;

namespace RootCause.Evaluation.Evaluation;

/// <summary>Link statuses as the pipeline reports them on an event; the scorer mode maps its decisions onto the same words.</summary>
public static class LinkStatus
{
    public const string Linked = "linked";
    public const string Suggested = "suggested";
    public const string Rejected = "rejected";
    public const string Unlinked = "unlinked";
}

/// <summary>
/// What happened to one (event, investigation) pair: the status and confidence the linker gave it.
/// <see cref="Investigation"/> is <c>scenario/key</c>, so that a link to another scenario's
/// investigation is visible (and wrong).
/// </summary>
public sealed record PairOutcome(string Scenario, string Event, string Source, string Investigation, string Status, double Confidence);

/// <summary>A run's raw material: the scenarios replayed and every pair outcome observed.</summary>
public sealed record EvaluationResults(
    string Mode,
    DateTimeOffset RanAt,
    TimeSpan Elapsed,
    IReadOnlyList<CorpusScenario> Scenarios,
    IReadOnlyList<PairOutcome> Outcomes,
    IReadOnlyList<string> Notes)
{
    public static string InvestigationKey(CorpusScenario scenario, string key) => scenario.Id + "/" + key;
}
