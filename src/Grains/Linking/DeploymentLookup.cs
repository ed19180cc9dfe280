using System.Text.Json;
using RootCause.Catalog;
using RootCause.Common;
using RootCause.Events;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// When a commit was deployed, from the deployment events stored for its sha (found through the
/// search index's <c>s:&lt;sha&gt;</c> link key). Production deployments count, and deployments that
/// name no environment; a staging deployment does not put a commit in front of users.
/// </summary>
public static class DeploymentLookup
{
    /// <summary><paramref name="facts"/> with <see cref="EventFacts.DeployedAt"/> filled in for a commit that names a sha.</summary>
    public static EventFacts WithDeployment(EventFacts facts, ISearchIndex index, ServiceCatalog catalog)
    {
        if (facts.Kind != EventKind.Commit || facts.Sha is not { Length: > 0 } sha)
        {
            return facts;
        }
        var hits = index.Search(new IndexQuery
        {
            Kind = IndexedKind.Event,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.LinkKeys] = ["s:" + sha] },
            Sort = [new SortKey(SearchFields.Timestamp, Descending: false)],
            PerPage = 50,
        }).Hits;
        DateTimeOffset? first = null;
        foreach (var hit in hits)
        {
            var ev = JsonSerializer.Deserialize<Event>(hit.Json, RootCauseJson.Options)!;
            var deployment = EventFacts.From(ev, catalog);
            if (deployment.Kind == EventKind.Deployment && (deployment.Environment is null || EventFacts.IsProduction(deployment.Environment))
                && (first is null || ev.Timestamp < first))
            {
                first = ev.Timestamp;
            }
        }
        return first is null ? facts : facts with { DeployedAt = first };
    }

    /// <summary>The same from a set of events in memory (the evaluation's scorer mode, tests).</summary>
    public static EventFacts WithDeployment(EventFacts facts, IEnumerable<Event> events, ServiceCatalog catalog)
    {
        if (facts.Kind != EventKind.Commit || facts.Sha is not { Length: > 0 } sha)
        {
            return facts;
        }
        var first = events.Select(e => (Event: e, Facts: EventFacts.From(e, catalog)))
            .Where(d => d.Facts.Kind == EventKind.Deployment && d.Facts.Sha == sha
                && (d.Facts.Environment is null || EventFacts.IsProduction(d.Facts.Environment)))
            .Select(d => (DateTimeOffset?)d.Event.Timestamp)
            .Min();
        return first is null ? facts : facts with { DeployedAt = first };
    }
}
