using Microsoft.Extensions.Logging;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// Scores the changes of a component, and of the components it calls directly, again for one
/// investigation once a symptom of that component was linked to it or suggested for it. A review
/// first waits until this silo's index shows everything committed before it started (the
/// symptom's decision and every change ingested before it), so a change and its symptom always
/// meet: whichever is evaluated second sees the other (the change side looks up its symptoms in
/// <see cref="LinkerGrain"/>). Requests only record what is asked (they interleave with a running
/// review); one review at a time works off everything asked meanwhile, for every component at once,
/// so a burst of symptoms costs one index wait and one look at the investigation, not one each.
/// </summary>
[GrainType("corroboration")]
public sealed class CorroborationGrain(
    InvestigationRegistry registry,
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
    /// <summary>Requests not yet reviewed: per component, the earliest and the latest symptom time asked for.</summary>
    private Dictionary<string, (DateTimeOffset First, DateTimeOffset Last)> _pending = new(StringComparer.Ordinal);
    private bool _reviewing;

    public Task ReviewAsync(string component, DateTimeOffset symptomAt)
    {
        metrics.ReviewRequests.Add(1);
        _pending[component] = _pending.TryGetValue(component, out var asked)
            ? (Min(asked.First, symptomAt), Max(asked.Last, symptomAt))
            : (symptomAt, symptomAt);
        if (!_reviewing)
        {
            _reviewing = true;
            _ = ReviewPendingAsync();
        }
        return Task.CompletedTask;
    }

    /// <summary>Reviews what was asked, then what was asked meanwhile, until nothing is left.</summary>
    private async Task ReviewPendingAsync()
    {
        try
        {
            while (_pending.Count > 0)
            {
                var asked = _pending;
                _pending = new(StringComparer.Ordinal);
                try
                {
                    await ReviewAsync(asked);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // One-way: nobody awaits the requests. The failure is logged; the next symptom asks again.
                    logger.LogWarning(e, "Corroboration review of {Components} for investigation {InvestigationId} failed",
                        string.Join(", ", asked.Keys), this.GetPrimaryKey());
                }
            }
        }
        finally
        {
            _reviewing = false;
        }
    }

    private async Task ReviewAsync(Dictionary<string, (DateTimeOffset First, DateTimeOffset Last)> asked)
    {
        // This silo's registry holds the investigation as the linker scored the symptom against it
        // (or later); the grain is asked only for one the registry no longer offers.
        var investigation = registry.Find(this.GetPrimaryKey())
            ?? await GrainFactory.GetGrain<IInvestigationGrain>(this.GetPrimaryKey()).GetAsync();
        if (investigation is null)
        {
            return; // gone
        }
        if (_coveredFor != (investigation.StartedAt, investigation.DetectedAt))
        {
            _covered.Clear(); // the impact moved: what corroborates what may have changed
            _coveredFor = (investigation.StartedAt, investigation.DetectedAt);
        }
        var impact = Corroboration.ImpactStart(investigation);
        var windows = new List<(string Component, DateTimeOffset From, DateTimeOffset To, DateTimeOffset First, DateTimeOffset Last)>();
        foreach (var (component, (askedFirst, last)) in asked)
        {
            if (last < impact)
            {
                continue; // symptoms before the impact began corroborate nothing
            }
            var first = Max(askedFirst, impact);
            var (from, to) = (first - options.CorroborationWindow, last);
            var covered = _covered.GetValueOrDefault(component);
            if (_covered.ContainsKey(component) && from <= covered.To && to >= covered.From)
            {
                if (from >= covered.From && to <= covered.To)
                {
                    continue; // nothing new: every deployment these symptoms can corroborate was reviewed
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
            windows.Add((component, from, to, first, last));
        }
        if (windows.Count == 0)
        {
            return;
        }
        await ReviewCoreAsync(investigation, windows.Select(w => (w.Component, w.From, w.To)).ToList());
        foreach (var (component, _, _, first, last) in windows)
        {
            _covered[component] = _covered.TryGetValue(component, out var covered) && first - options.CorroborationWindow <= covered.To && last >= covered.From
                ? (Min(covered.From, first - options.CorroborationWindow), Max(covered.To, last))
                : (first - options.CorroborationWindow, last);
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private async Task ReviewCoreAsync(Investigation investigation, List<(string Component, DateTimeOffset From, DateTimeOffset To)> windows)
    {
        metrics.Reviews.Add(1);
        var target = await snapshots.XmaxAfterNowAsync();
        if (!await index.WaitForHorizonAsync(target, IndexWait))
        {
            throw new TimeoutException($"The search index did not catch up within {IndexWait.TotalSeconds} s.");
        }
        var catalog = await catalogs.GetAsync();
        var changes = new Dictionary<Guid, Event>();
        var mine = new List<Corroborator>();
        foreach (var (component, from, to) in windows)
        {
            // The component's own changes and those of what it calls directly.
            var found = Corroboration.ChangesBetween(Corroboration.Corroborated(component, catalog), from, to, index, catalog);
            if (found.Count == 0)
            {
                continue;
            }
            foreach (var change in found)
            {
                changes.TryAdd(change.Id, change);
            }
            // This investigation's own symptoms of the component, from the first change on: few, and read once.
            mine.AddRange(Corroboration.ForInvestigation(investigation.Id, component, found.Min(c => c.Timestamp), to + options.CorroborationWindow, index, catalog));
        }
        if (changes.Count == 0 || mine.Count == 0)
        {
            return;
        }
        foreach (var change in changes.Values.OrderBy(c => c.Timestamp).ThenBy(c => c.Id))
        {
            // A commit's deployment time decides whether a symptom followed it; a deployment's next one
            // does not matter here: it only counts for the affected component's own deployments, which
            // corroboration cannot raise (they score 1), so it is not looked up (a hundred stored changes).
            var facts = DeploymentLookup.WithDeployment(EventFacts.From(change, catalog), index, catalog);
            // Only where corroboration changes the score: the change's own evaluation stored the rest.
            if (_scorer.ConfidenceOf(investigation, change, facts, catalog, mine) == _scorer.ConfidenceOf(investigation, change, facts, catalog))
            {
                continue;
            }
            var assessment = _scorer.Assess(investigation, change, facts, catalog, mine);
            // A review sees the symptoms of the components it was asked for. A change of what an asked
            // component calls may already hold a stronger corroboration (by its own component's
            // symptom, from an earlier review or its own evaluation): corroboration only adds
            // evidence, so a review never lowers what the linker stored. An equal one is written, so
            // the reason can come to name the earliest symptom.
            if (change.Links.FirstOrDefault(l => l.InvestigationId == investigation.Id) is { IsHumanDecision: false, Confidence: { } stored }
                && stored > assessment.Confidence)
            {
                continue;
            }
            if (await LinkWriter.ApplyAsync(GrainFactory, investigation, change, assessment))
            {
                LinkerGrain.LogDecision(logger, metrics, "corroboration", assessment);
            }
        }
    }
}
