using RootCause.Evaluation.Corpus;
using RootCause.Linking;

namespace RootCause.Evaluation.Evaluation;

/// <summary>
/// The fast mode: every (investigation, event) pair of each scenario through the pure
/// <see cref="LinkScorer"/>, in memory, with the default linker options (a commit's deployment is looked
/// up among the scenario's events, as the linker looks it up among the stored ones), and a second
/// look at the changes once the symptoms' decisions are known (corroboration), as the linker takes it. It shows what the scorer
/// decides given the final state of the investigations; it does not exercise ingest order,
/// retro-linking or the linker's own decisions, which the pipeline mode does.
/// </summary>
public static class ScorerEvaluation
{
    /// <summary>Any fixed time works: the scorer only compares times within a scenario.</summary>
    private static readonly DateTimeOffset Reference = new(2026, 1, 5, 14, 0, 0, TimeSpan.Zero);

    public static EvaluationResults Run(IReadOnlyList<CorpusScenario> scenarios, CorpusCatalog catalog, LinkerOptions? options = null, TextWriter? details = null)
    {
        var started = TimeProvider.System.GetTimestamp();
        var scorer = new LinkScorer(options ?? new LinkerOptions());
        var outcomes = new List<PairOutcome>();
        for (var i = 0; i < scenarios.Count; i++)
        {
            var scenario = scenarios[i];
            var detection = Reference.AddDays(30 * i);
            var investigations = scenario.Investigations
                .Select(inv => (Key: EvaluationResults.InvestigationKey(scenario, inv.Key), Record: Anchoring.Investigation(inv, Guid.NewGuid(), detection)))
                .ToList();
            var anchored = scenario.Events.Select(e => Anchoring.Event(e, detection)).ToList();
            // As the linker does: a commit's deployment is looked up among the stored events.
            var facts = anchored.Select(ev => DeploymentLookup.WithDeployment(EventFacts.From(ev, catalog.Catalog), anchored, catalog.Catalog, ev)).ToList();
            var assessments = anchored.Select((ev, j) => investigations.Select(inv => scorer.Assess(inv.Record, ev, facts[j], catalog.Catalog)).ToArray()).ToList();
            // The second look the linker takes: once the symptoms' decisions are known, a change that
            // its own component's linked or suggested symptoms followed is scored again with them.
            var decided = anchored.Select((ev, j) => ev with
            {
                Links = [.. assessments[j].Where(a => a.Decision != LinkDecision.None).Select(a => new EventLink
                {
                    InvestigationId = a.InvestigationId,
                    Status = a.Decision == LinkDecision.Link ? EventLinkStatus.Linked : EventLinkStatus.Suggested,
                    Confidence = a.Confidence,
                })],
            }).ToList();
            for (var j = 0; j < anchored.Count; j++)
            {
                var corroboration = Corroboration.ForChange(anchored[j], facts[j], decided, catalog.Catalog, scorer.Options.CorroborationWindow);
                if (corroboration.Count > 0)
                {
                    assessments[j] = [.. investigations.Select(inv => scorer.Assess(inv.Record, anchored[j], facts[j], catalog.Catalog, corroboration.GetValueOrDefault(inv.Record.Id)))];
                }
            }
            for (var j = 0; j < scenario.Events.Count; j++)
            {
                var corpusEvent = scenario.Events[j];
                for (var k = 0; k < investigations.Count; k++)
                {
                    var key = investigations[k].Key;
                    var assessment = assessments[j][k];
                    var status = assessment.Decision switch
                    {
                        LinkDecision.Link => LinkStatus.Linked,
                        LinkDecision.Suggest => LinkStatus.Suggested,
                        _ => LinkStatus.Unlinked,
                    };
                    outcomes.Add(new PairOutcome(scenario.Id, corpusEvent.Key, corpusEvent.Source, key, status, assessment.Confidence));
                    var truth = scenario.GroundTruth.Any(t => t.Event == corpusEvent.Key && EvaluationResults.InvestigationKey(scenario, t.Investigation) == key);
                    if (details is not null && truth != (status == LinkStatus.Linked) && (truth || status != LinkStatus.Unlinked))
                    {
                        // One line per wrong or missed auto-link: what it was, what the scorer said and why.
                        details.WriteLine(string.Join('\t', truth ? "missed" : "wrong", scenario.Id, corpusEvent.Key, corpusEvent.Role, corpusEvent.EventType,
                            key, status, assessment.Confidence.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture),
                            string.Join(" | ", assessment.Strategies.Select(st => $"{st.Strategy} {st.Score:0.00}: {st.Reason}"))));
                    }
                }
            }
        }
        return new EvaluationResults("scorer", TimeProvider.System.GetUtcNow(), TimeProvider.System.GetElapsedTime(started), scenarios, outcomes,
            ["Scorer mode: LinkScorer with the default LinkerOptions over every (investigation, event) pair of each scenario, investigations in their final state."]);
    }
}
