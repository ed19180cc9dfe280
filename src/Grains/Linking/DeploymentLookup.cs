using RootCause.Catalog;
using RootCause.Events;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// When a commit was deployed, from the deployment events stored for its sha (found through the
/// search index's <c>s:&lt;sha&gt;</c> link key); and for a deployment, when the next deployment of one
/// of its components followed it (<see cref="EventFacts.NextDeploymentAt"/>). Production deployments
/// count, and deployments that name no environment; a staging deployment does not put a commit in
/// front of users.
/// </summary>
public static class DeploymentLookup
{
    /// <summary>How far after a deployment the next one of its components is looked for: the scorer's <see cref="LinkScorer.LatestDeploymentHorizon"/>.</summary>
    public static TimeSpan NextDeploymentHorizon => LinkScorer.LatestDeploymentHorizon;

    private static bool InProduction(EventFacts facts) => facts.Environment is null || EventFacts.IsProduction(facts.Environment);

    /// <summary>
    /// <paramref name="facts"/> with <see cref="EventFacts.DeployedAt"/> filled in for a commit that
    /// names a sha, and <see cref="EventFacts.NextDeploymentAt"/> for a production deployment.
    /// </summary>
    public static EventFacts WithDeployment(EventFacts facts, ISearchIndex index, ServiceCatalog catalog, Event? ev = null)
    {
        if (facts.Kind == EventKind.Deployment && ev is not null)
        {
            return WithNextDeployment(facts, ev, index, catalog);
        }
        if (facts.Kind != EventKind.Commit || facts.Sha is not { Length: > 0 } sha)
        {
            return facts;
        }
        DateTimeOffset? first = null;
        foreach (var hit in index.KeyedEvents(new KeyedLookup(SearchFields.DeploymentKeys, ["s:" + sha]) { Max = 50 }))
        {
            var (stored, deployment) = StoredEvents.ReadWithFacts(hit, catalog);
            if (deployment.Kind == EventKind.Deployment && InProduction(deployment) && (first is null || stored.Timestamp < first))
            {
                first = stored.Timestamp;
            }
        }
        return first is null ? facts : facts with { DeployedAt = first };
    }

    /// <summary>
    /// The same from a set of events in memory (the evaluation's scorer mode, tests); pass
    /// <paramref name="ev"/> (the event the facts are of) to have a deployment's next one looked up.
    /// </summary>
    public static EventFacts WithDeployment(EventFacts facts, IEnumerable<Event> events, ServiceCatalog catalog, Event? ev = null)
    {
        if (facts.Kind == EventKind.Deployment && ev is not null)
        {
            return WithNextDeployment(facts, ev, events, catalog);
        }
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

    /// <summary>
    /// For a production deployment: the earliest later production deployment, within
    /// <see cref="NextDeploymentHorizon"/>, of a component it deployed, from the stored changes of
    /// those components (their names, aliases, repositories and pipelines).
    /// </summary>
    private static EventFacts WithNextDeployment(EventFacts facts, Event deployment, ISearchIndex index, ServiceCatalog catalog)
    {
        if (!InProduction(facts) || facts.Components.Count == 0)
        {
            return facts;
        }
        // Oldest first, so the first that counts is the next one: a few are read, and the rest of the
        // horizon only when none of them counts (a staging deployment, one of another component
        // under a shared key).
        var (from, to) = (deployment.Timestamp, deployment.Timestamp + NextDeploymentHorizon);
        var first = ChangesOf(facts, index, catalog, from, to, max: FirstReads).ToList();
        var found = WithNextDeployment(facts, deployment, first, catalog);
        return found.NextDeploymentAt is not null || first.Count < FirstReads
            ? found
            : WithNextDeployment(facts, deployment, ChangesOf(facts, index, catalog, from, to), catalog);
    }

    /// <summary>Deployments read before the rest of a horizon is asked for.</summary>
    private const int FirstReads = 8;

    /// <summary>
    /// Stored deployments (and CI jobs that released) of the components <paramref name="facts"/>
    /// names, from <paramref name="from"/> to <paramref name="to"/>, oldest first (newest first with
    /// <paramref name="newestFirst"/>), at most <paramref name="max"/>: the nearest to the end the lookup starts from.
    /// Commits and builds are not read (the index keys deployments apart, <see cref="SearchFields.DeploymentKeys"/>).
    /// </summary>
    public static IEnumerable<Event> ChangesOf(EventFacts facts, ISearchIndex index, ServiceCatalog catalog, DateTimeOffset from, DateTimeOffset to, bool newestFirst = false, int max = 100) =>
        index.KeyedEvents(new KeyedLookup(SearchFields.DeploymentKeys, [.. facts.Components.SelectMany(c => Corroboration.ChangeKeys(catalog, c.Name)).Distinct(StringComparer.Ordinal)])
        {
            From = from,
            To = to,
            NewestFirst = newestFirst,
            Max = max,
        }).Select(StoredEvents.Read);

    private static EventFacts WithNextDeployment(EventFacts facts, Event deployment, IEnumerable<Event> events, ServiceCatalog catalog)
    {
        if (!InProduction(facts) || facts.Components.Count == 0)
        {
            return facts;
        }
        var mine = facts.Components.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var next = events
            .Where(e => e.Id != deployment.Id && e.DeletedAt is null && e.Timestamp > deployment.Timestamp && e.Timestamp - deployment.Timestamp <= NextDeploymentHorizon)
            .Select(e => (Event: e, Facts: EventFacts.From(e, catalog)))
            .Where(d => d.Facts.Kind == EventKind.Deployment && InProduction(d.Facts) && d.Facts.Components.Any(c => mine.Contains(c.Name)))
            .Select(d => (DateTimeOffset?)d.Event.Timestamp)
            .Min();
        return next is null ? facts : facts with { NextDeploymentAt = next };
    }
}
