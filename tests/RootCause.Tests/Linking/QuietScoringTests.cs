using RootCause.Evaluation.Corpus;
using RootCause.Linking;

namespace RootCause.Tests.Linking;

/// <summary>
/// The linker scores every candidate pair without its reasons first and writes the reasons only of
/// the pairs it keeps. Over every (investigation, event) pair of the labelled corpus, that must keep
/// exactly the pairs the full assessment links or suggests, with the same assessment, word for word,
/// and the confidence alone (which corroboration reviews and retro-linking compare) must be the full one's.
/// </summary>
public sealed class QuietScoringTests
{
    private static readonly DateTimeOffset Reference = new(2026, 1, 5, 14, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ScoringWithoutReasonsKeepsExactlyThePairsTheFullAssessmentKeepsAndTheirWords()
    {
        var files = CorpusFiles.Locate(AppContext.BaseDirectory);
        var catalog = files.ReadCatalog().Catalog;
        var scorer = new LinkScorer(new LinkerOptions());
        var scenarios = files.ReadScenarios();
        var (pairs, kept) = (0, 0);
        for (var i = 0; i < scenarios.Count; i++)
        {
            var detection = Reference.AddDays(30 * i);
            var investigations = scenarios[i].Investigations.Select(inv => Anchoring.Investigation(inv, Guid.NewGuid(), detection)).ToList();
            var events = scenarios[i].Events.Select(e => Anchoring.Event(e, detection)).ToList();
            foreach (var ev in events)
            {
                var facts = DeploymentLookup.WithDeployment(EventFacts.From(ev, catalog), events, catalog, ev);
                foreach (var investigation in investigations)
                {
                    pairs++;
                    var full = scorer.Assess(investigation, ev, facts, catalog);
                    var quick = scorer.AssessIfKept(investigation, ev, facts, catalog, null, always: false);
                    Assert.Equal(full.Confidence, scorer.ConfidenceOf(investigation, ev, facts, catalog));
                    Assert.False(ReasonText.Silenced);
                    if (full.Decision == LinkDecision.None)
                    {
                        Assert.Null(quick);
                        continue;
                    }
                    kept++;
                    Assert.NotNull(quick);
                    Assert.Equal((full.Confidence, full.Decision, full.Summary), (quick.Confidence, quick.Decision, quick.Summary));
                    Assert.Equal(full.Strategies, quick.Strategies);
                    Assert.NotEqual("", quick.Summary);
                    Assert.All(quick.Strategies, s => Assert.NotEqual("", s.Reason));
                }
            }
        }
        // The corpus holds both kinds in numbers, so neither branch above went untested.
        Assert.True(pairs > 5_000 && kept > 500, $"{pairs} pairs, {kept} kept");
    }

    [Fact]
    public void APairWithALinkRecordIsAlwaysAssessedInFull()
    {
        var files = CorpusFiles.Locate(AppContext.BaseDirectory);
        var catalog = files.ReadCatalog().Catalog;
        var scorer = new LinkScorer(new LinkerOptions());
        var scenario = files.ReadScenarios()[0];
        var investigation = Anchoring.Investigation(scenario.Investigations[0], Guid.NewGuid(), Reference);
        var events = scenario.Events.Select(e => Anchoring.Event(e, Reference)).ToList();
        var unrelated = events.Select(ev => (ev, full: scorer.Assess(investigation, ev, catalog))).First(p => p.full.Decision == LinkDecision.None);
        var facts = EventFacts.From(unrelated.ev, catalog);
        var kept = scorer.AssessIfKept(investigation, unrelated.ev, facts, catalog, null, always: true);
        Assert.NotNull(kept);
        Assert.Equal(unrelated.full.Summary, kept.Summary);
        Assert.NotEqual("", kept.Summary);
    }
}
