using Microsoft.Extensions.Logging;
using RootCause.Catalog;
using RootCause.Database;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// Scores the changes of a component again for one investigation once a symptom of that component
/// was linked to it or suggested for it. It first waits until this silo's index shows everything
/// committed before the review started (the symptom's decision and every change ingested before
/// it), so a change and its symptom always meet: whichever is evaluated second sees the other (the
/// change side looks up its symptoms in <see cref="LinkerGrain"/>). Calls are not reentrant, so the
/// reviews of one investigation run one after another.
/// </summary>
[GrainType("corroboration")]
public sealed class CorroborationGrain(
    ISearchIndex index,
    ChangeFeed feed,
    LinkerOptions options,
    LinkerMetrics metrics,
    ILogger<CorroborationGrain> logger) : Grain, ICorroborationGrain
{
    private static readonly TimeSpan IndexWait = TimeSpan.FromSeconds(30);

    private readonly LinkScorer _scorer = new(options);
    private readonly HashSet<(string, DateTimeOffset)> _reviewed = [];
    private long _reviews;

    public Task<long> GetReviewsAsync() => Task.FromResult(_reviews);

    public async Task ReviewAsync(string component, DateTimeOffset symptomAt)
    {
        if (_reviewed.Count >= 10_000)
        {
            _reviewed.Clear();
        }
        if (!_reviewed.Add((component, symptomAt)))
        {
            return; // the same symptom reported again (a redelivery): nothing new to see
        }
        try
        {
            await ReviewCoreAsync(component, symptomAt);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // One-way: nobody awaits this call. The failure is logged and the review can run again.
            _reviewed.Remove((component, symptomAt));
            logger.LogWarning(e, "Corroboration review of {Component} before {SymptomAt} for investigation {InvestigationId} failed", component, symptomAt, this.GetPrimaryKey());
        }
        finally
        {
            _reviews++;
        }
    }

    private async Task ReviewCoreAsync(string component, DateTimeOffset symptomAt)
    {
        var investigation = await GrainFactory.GetGrain<IInvestigationGrain>(this.GetPrimaryKey()).GetAsync();
        if (investigation is null)
        {
            return;
        }
        var target = await feed.SnapshotXmaxAsync(CancellationToken.None);
        if (!await index.WaitForHorizonAsync(target, IndexWait))
        {
            throw new TimeoutException($"The search index did not catch up within {IndexWait.TotalSeconds} s.");
        }
        var catalog = new ServiceCatalog(await GrainFactory.GetGrain<ICatalogGrain>(0).GetAsync());
        foreach (var change in Corroboration.ChangesBefore([component], symptomAt, index, catalog, options.CorroborationWindow))
        {
            var facts = DeploymentLookup.WithDeployment(EventFacts.From(change, catalog), index, catalog);
            var corroboration = Corroboration.ForChange(change, facts, index, catalog, options.CorroborationWindow);
            if (corroboration.GetValueOrDefault(investigation.Id) is not { Count: > 0 } mine)
            {
                continue;
            }
            var assessment = _scorer.Assess(investigation, change, facts, catalog, mine);
            if (await LinkWriter.ApplyAsync(GrainFactory, investigation, change, assessment))
            {
                LinkerGrain.LogDecision(logger, metrics, "corroboration", assessment);
            }
        }
    }
}
