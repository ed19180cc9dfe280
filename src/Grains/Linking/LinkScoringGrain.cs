using Orleans.Concurrency;
using RootCause.Catalog;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Linking;

/// <summary>
/// Assesses investigation/event pairs where it is asked (a stateless worker: no state, activated on
/// the calling silo). Keeps the last catalog snapshot's lookups and rebuilds them when the version moves.
/// </summary>
[StatelessWorker]
[GrainType("link-scoring")]
public sealed class LinkScoringGrain(LinkerOptions options, IServiceProvider services) : Grain, ILinkScoringGrain
{
    private readonly LinkScorer _scorer = new(options);
    private ServiceCatalog? _catalog;

    public async Task<LinkAssessment> AssessAsync(Guid investigationId, Guid eventId)
    {
        var investigationTask = GrainFactory.GetGrain<IInvestigationGrain>(investigationId).GetAsync();
        var eventTask = GrainFactory.GetGrain<IEventGrain>(eventId).GetAsync();
        var catalogTask = GrainFactory.GetGrain<ICatalogGrain>(0).GetAsync();
        var investigation = await investigationTask ?? throw new NotFoundException("investigation", investigationId.ToString());
        var ev = await eventTask ?? throw new NotFoundException("event", eventId.ToString());
        var snapshot = await catalogTask;
        if (_catalog is null || _catalog.Version != snapshot.Version)
        {
            _catalog = new ServiceCatalog(snapshot);
        }
        var facts = EventFacts.From(ev, _catalog);
        IReadOnlyList<Corroborator>? corroboration = null;
        // As the linker does: a commit's deployment, and the symptoms that corroborate a change, come
        // from the stored events, when this silo has an index.
        if (services.GetService(typeof(RootCause.Search.ISearchIndex)) is RootCause.Search.ISearchIndex index)
        {
            facts = DeploymentLookup.WithDeployment(facts, index, _catalog, ev);
            corroboration = Corroboration.ForChange(ev, facts, index, _catalog, options.CorroborationWindow).GetValueOrDefault(investigationId);
        }
        return _scorer.Assess(investigation, ev, facts, _catalog, corroboration);
    }
}
