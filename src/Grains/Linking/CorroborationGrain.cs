using Microsoft.Extensions.Logging;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// Scores the changes of a component, and of the components it calls directly, again for one
/// investigation once a symptom of that component was linked to it or suggested for it. It first
/// waits until this silo's index shows everything committed before the review started (the symptom's decision and every change ingested before
/// it), so a change and its symptom always meet: whichever is evaluated second sees the other (the
/// change side looks up its symptoms in <see cref="LinkerGrain"/>). Calls are not reentrant, so the
/// reviews of one investigation run one after another.
/// </summary>
[GrainType("corroboration")]
public sealed class CorroborationGrain(
    ISearchIndex index,
    SharedSnapshot snapshots,
    CatalogCache catalogs,
    LinkerOptions options,
    LinkerMetrics metrics,
    ILogger<CorroborationGrain> logger) : Grain, ICorroborationGrain
{
    private static readonly TimeSpan IndexWait = TimeSpan.FromSeconds(30);

    private readonly LinkScorer _scorer = new(options);
    /// <summary>
    /// Per component, the span of deployment times already reviewed: a burst of symptoms of one
    /// component asks for nearly the same window again and again, and only what a request adds to
    /// the span is looked at. A change ingested later into a reviewed span finds its symptoms itself
    /// (the change side), so the span never needs a second look.
    /// </summary>
    private readonly Dictionary<string, (DateTimeOffset From, DateTimeOffset To)> _covered = new(StringComparer.Ordinal);
    private (DateTimeOffset?, DateTimeOffset) _coveredFor;

    public async Task ReviewAsync(string component, DateTimeOffset symptomAt)
    {
        var investigation = await GrainFactory.GetGrain<IInvestigationGrain>(this.GetPrimaryKey()).GetAsync();
        if (investigation is null || symptomAt < Corroboration.ImpactStart(investigation))
        {
            return; // gone, or a symptom before the impact began: it corroborates nothing
        }
        if (_coveredFor != (investigation.StartedAt, investigation.DetectedAt))
        {
            _covered.Clear(); // the impact moved: what corroborates what may have changed
            _coveredFor = (investigation.StartedAt, investigation.DetectedAt);
        }
        var (from, to) = (symptomAt - options.CorroborationWindow, symptomAt);
        var covered = _covered.GetValueOrDefault(component);
        var overlaps = _covered.ContainsKey(component) && from <= covered.To && to >= covered.From;
        if (overlaps)
        {
            if (from >= covered.From && to <= covered.To)
            {
                return; // nothing new: every deployment this symptom can corroborate was reviewed
            }
            // Only the part outside the span (when the request reaches past both ends, all of it).
            if (from >= covered.From)
            {
                from = covered.To;
            }
            else if (to <= covered.To)
            {
                to = covered.From;
            }
        }
        try
        {
            await ReviewCoreAsync(investigation, component, from, to);
            _covered[component] = overlaps
                ? (Min(covered.From, symptomAt - options.CorroborationWindow), Max(covered.To, symptomAt))
                : (symptomAt - options.CorroborationWindow, symptomAt);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // One-way: nobody awaits this call. The failure is logged; the next symptom asks again.
            logger.LogWarning(e, "Corroboration review of {Component} before {SymptomAt} for investigation {InvestigationId} failed", component, symptomAt, this.GetPrimaryKey());
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private async Task ReviewCoreAsync(Investigation investigation, string component, DateTimeOffset from, DateTimeOffset to)
    {
        var target = await snapshots.XmaxAfterNowAsync();
        if (!await index.WaitForHorizonAsync(target, IndexWait))
        {
            throw new TimeoutException($"The search index did not catch up within {IndexWait.TotalSeconds} s.");
        }
        var catalog = await catalogs.GetAsync();
        // The component's own changes and those of what it calls directly.
        var changes = Corroboration.ChangesBetween(Corroboration.Corroborated(component, catalog), from, to, index, catalog);
        if (changes.Count == 0)
        {
            return;
        }
        // This investigation's own symptoms of the component, from the first change on: few, and read once.
        var mine = Corroboration.ForInvestigation(investigation.Id, component, changes.Min(c => c.Timestamp), to + options.CorroborationWindow, index, catalog);
        if (mine.Count == 0)
        {
            return;
        }
        foreach (var change in changes)
        {
            // A commit's deployment time decides whether a symptom followed it; a deployment's next one
            // does not matter here: it only counts for the affected component's own deployments, which
            // corroboration cannot raise (they score 1), so it is not looked up (a hundred stored changes).
            var facts = DeploymentLookup.WithDeployment(EventFacts.From(change, catalog), index, catalog);
            var assessment = _scorer.Assess(investigation, change, facts, catalog, mine);
            // Only where corroboration changes the score: the change's own evaluation stored the rest.
            if (assessment.Confidence != _scorer.Assess(investigation, change, facts, catalog).Confidence
                && await LinkWriter.ApplyAsync(GrainFactory, investigation, change, assessment))
            {
                LinkerGrain.LogDecision(logger, metrics, "corroboration", assessment);
            }
        }
    }
}
