using RootCause.Evaluation.Corpus;
using RootCause.Evaluation.Evaluation;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Tests.Linking;

/// <summary>
/// The labelled linking corpus (corpus/linking) stays what docs/benchmarks.md says it is: enough
/// scenarios of the right size, every event and investigation acceptable to the API, ground truth
/// pointing at real events, the decoys every scenario must have, and the committed expanded files
/// exactly what the generator makes of the specs. The accuracy aims are measured by the evaluation
/// command, not asserted here.
/// </summary>
public sealed class CorpusTests
{
    private static readonly CorpusFiles Files = CorpusFiles.Locate(AppContext.BaseDirectory);
    private static readonly Lazy<IReadOnlyList<CorpusScenario>> Scenarios = new(Files.ReadScenarios);

    /// <summary>Scenario i is replayed with detection 6 h + i × 30 days before now; the check uses the oldest.</summary>
    private static DateTimeOffset Detection(int index) => DateTimeOffset.UtcNow.AddHours(-6).AddDays(-30 * index);

    [Fact]
    public void TheCorpusHasAtLeastFortyScenariosOfFiftyToFiveHundredEvents()
    {
        Assert.True(Scenarios.Value.Count >= 40, $"{Scenarios.Value.Count} scenarios");
        foreach (var scenario in Scenarios.Value)
        {
            Assert.InRange(scenario.Events.Count, 50, 500);
        }
    }

    [Fact]
    public void TheExpandedFilesAreExactlyWhatTheGeneratorMakesOfTheSpecs()
    {
        var catalog = Files.ReadCatalog();
        var specs = Files.ReadSpecs();
        Assert.Equal(specs.Select(s => s.Id + ".json.gz").Order(StringComparer.Ordinal),
            Directory.GetFiles(Files.ScenariosDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var spec in specs)
        {
            Assert.Equal(CorpusFiles.Serialize(ScenarioGenerator.Expand(spec, catalog)), Files.ReadScenarioText(spec.Id));
        }
    }

    [Fact]
    public void EveryEventAndInvestigationPassesTheApisValidationWhenReplayed()
    {
        var now = DateTimeOffset.UtcNow;
        var sourceIds = new HashSet<(EventSource, string)>();
        for (var i = 0; i < Scenarios.Value.Count; i++)
        {
            var scenario = Scenarios.Value[i];
            var detection = Detection(i);
            foreach (var e in scenario.Events)
            {
                var draft = Anchoring.Draft(e, detection);
                EventRules.Validate(draft, now);
                Assert.DoesNotContain("{t:", draft.SourceId + draft.Data, StringComparison.Ordinal);
                Assert.True(sourceIds.Add((draft.Source, draft.SourceId)), $"{scenario.Id}/{e.Key}: source id {draft.SourceId} is used twice in the corpus");
                Assert.True(draft.Timestamp <= now, $"{scenario.Id}/{e.Key} lies in the future");
            }
            foreach (var investigation in scenario.Investigations)
            {
                InvestigationRules.Apply(new InvestigationState(), Anchoring.Fields(investigation, detection), now, creating: true);
            }
            Assert.Single(scenario.Investigations, inv => inv.Key == CorpusInvestigation.MainKey && inv.Status == "open");
        }
    }

    [Fact]
    public void GroundTruthNamesExistingEventsAndInvestigationsAndMatchesTheRoles()
    {
        foreach (var scenario in Scenarios.Value)
        {
            var events = scenario.Events.ToDictionary(e => e.Key);
            var investigations = scenario.Investigations.Select(i => i.Key).ToHashSet();
            Assert.Equal(scenario.GroundTruth.Count, scenario.GroundTruth.Select(t => t.Event).Distinct().Count());
            foreach (var link in scenario.GroundTruth)
            {
                Assert.True(events.ContainsKey(link.Event), $"{scenario.Id}: ground truth names {link.Event}, which is not an event");
                Assert.Contains(link.Investigation, investigations);
                var expected = link.Investigation == CorpusInvestigation.MainKey ? new[] { Roles.Cause, Roles.Symptom } : [Roles.EarlierIncident];
                Assert.Contains(events[link.Event].Role, expected);
            }
            var truth = scenario.GroundTruth.Select(t => t.Event).ToHashSet();
            Assert.All(scenario.Events.Where(e => !truth.Contains(e.Key)), e => Assert.DoesNotContain(e.Role, new[] { Roles.Cause, Roles.Symptom, Roles.EarlierIncident }));
            Assert.Contains(scenario.GroundTruth, t => t.Investigation == CorpusInvestigation.MainKey);
        }
    }

    [Fact]
    public void EveryScenarioHasTheRequiredDecoysAndSomeHaveAnEarlierIncident()
    {
        foreach (var scenario in Scenarios.Value)
        {
            var roles = scenario.Events.Select(e => e.Role).ToHashSet();
            foreach (var required in Roles.RequiredDecoys)
            {
                Assert.True(roles.Contains(required), $"{scenario.Id} has no {required} decoy");
            }
            if (scenario.Investigations.Count > 1)
            {
                Assert.Contains(Roles.EarlierIncident, roles);
            }
        }
        // An earlier incident is optional per scenario, but a sixth of them at least carry one.
        Assert.True(Scenarios.Value.Count(s => s.Investigations.Count > 1) >= Scenarios.Value.Count / 6);
    }

    [Fact]
    public void TheScorerModeEvaluatesTheWholeCorpusIntoNumbersBetweenZeroAndOne()
    {
        var results = ScorerEvaluation.Run(Scenarios.Value, Files.ReadCatalog());
        Assert.Equal(Scenarios.Value.Sum(s => s.Events.Count * s.Investigations.Count), results.Outcomes.Count);
        var metrics = EvaluationMetrics.Compute(results);
        Assert.Equal(Scenarios.Value.Sum(s => s.GroundTruth.Count), metrics.Overall.Truth);
        Assert.Equal(metrics.BySource.Sum(r => r.Score.Truth), metrics.Overall.Truth);
        Assert.Equal(metrics.BySource.Sum(r => r.Score.Linked), metrics.Overall.Linked);
        foreach (var value in new[] { metrics.Overall.Precision, metrics.Overall.Recall, metrics.Overall.F1 })
        {
            Assert.NotNull(value);
            Assert.InRange(value.Value, 0, 1);
        }
        Assert.All(metrics.BySource.SelectMany(r => new[] { r.Score.Precision, r.Score.Recall, r.Score.F1 }).OfType<double>(), v => Assert.InRange(v, 0, 1));
        Assert.All(metrics.Calibration.Select(b => b.Share).OfType<double>(), v => Assert.InRange(v, 0, 1));
        Assert.All(metrics.Aims.Select(a => a.Value).OfType<double>(), v => Assert.InRange(v, 0, 1));

        using var report = new StringWriter();
        EvaluationReport.Print(report, results, metrics);
        Assert.Contains("| **overall** |", report.ToString(), StringComparison.Ordinal);
    }
}
