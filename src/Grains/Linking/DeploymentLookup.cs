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
            if (deployment.Kind == EventKind.Deployment && deployment.InProduction && (first is null || stored.Timestamp < first))
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
                && d.Facts.InProduction)
            .Select(d => (DateTimeOffset?)d.Event.Timestamp)
            .Min();
        return first is null ? facts : facts with { DeployedAt = first };
    }

    /// <summary>
    /// For a production deployment: the earliest later production deployment, within
    /// <see cref="NextDeploymentHorizon"/>, of a component it deployed, from the stored changes of
    /// those components (their names, aliases, repositories and pipelines), oldest first: the first
    /// that counts is the next one, so usually only the first few are read.
    /// </summary>
    private static EventFacts WithNextDeployment(EventFacts facts, Event deployment, ISearchIndex index, ServiceCatalog catalog)
    {
        if (!facts.InProduction || facts.Components.Count == 0)
        {
            return facts;
        }
        var mine = facts.Components.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var next = ChangesOf(facts, index, catalog, deployment.Timestamp, deployment.Timestamp + NextDeploymentHorizon)
            .FirstOrDefault(e => IsNextOf(e, deployment, mine, catalog));
        return next is null ? facts : facts with { NextDeploymentAt = next.Timestamp };
    }

    /// <summary>
    /// Stored deployments (and CI jobs that released) of the components <paramref name="facts"/>
    /// names, from <paramref name="from"/> to <paramref name="to"/>, oldest first (newest first with
    /// <paramref name="newestFirst"/>), at most 100: the nearest to the end the lookup starts from.
    /// Commits and builds are not read (the index keys deployments apart, <see cref="SearchFields.DeploymentKeys"/>).
    /// Read as they are enumerated: the first <see cref="FirstReads"/>, and the rest only when the
    /// caller goes on (the next deployment, and the walk back over earlier ones, mostly stop at the
    /// first production deployment); the rest is taken by id, not by position, since the index may
    /// have refreshed between the two lookups.
    /// </summary>
    public static IEnumerable<Event> ChangesOf(EventFacts facts, ISearchIndex index, ServiceCatalog catalog, DateTimeOffset from, DateTimeOffset to, bool newestFirst = false)
    {
        var lookup = new KeyedLookup(SearchFields.DeploymentKeys, [.. facts.Components.SelectMany(c => Corroboration.ChangeKeys(catalog, c.Name)).Distinct(StringComparer.Ordinal)])
        {
            From = from,
            To = to,
            NewestFirst = newestFirst,
            Max = FirstReads,
        };
        var first = index.KeyedEvents(lookup).Select(StoredEvents.Read).ToList();
        foreach (var change in first)
        {
            yield return change;
        }
        if (first.Count < FirstReads)
        {
            yield break;
        }
        var seen = first.Select(c => c.Id).ToHashSet();
        foreach (var hit in index.KeyedEvents(lookup with { Max = 100 }))
        {
            var change = StoredEvents.Read(hit);
            if (seen.Add(change.Id))
            {
                yield return change;
            }
        }
    }

    /// <summary>Deployments a lookup of a component's deployments reads before it asks for the rest.</summary>
    private const int FirstReads = 8;

    private static EventFacts WithNextDeployment(EventFacts facts, Event deployment, IEnumerable<Event> events, ServiceCatalog catalog)
    {
        if (!facts.InProduction || facts.Components.Count == 0)
        {
            return facts;
        }
        var mine = facts.Components.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var next = events.Where(e => IsNextOf(e, deployment, mine, catalog)).Select(e => (DateTimeOffset?)e.Timestamp).Min();
        return next is null ? facts : facts with { NextDeploymentAt = next };
    }

    /// <summary>Whether <paramref name="candidate"/> can be <paramref name="deployment"/>'s next one: a later production deployment, within the horizon, of one of its components (<paramref name="mine"/>).</summary>
    private static bool IsNextOf(Event candidate, Event deployment, HashSet<string> mine, ServiceCatalog catalog)
    {
        if (candidate.Id == deployment.Id || candidate.DeletedAt is not null || candidate.Timestamp <= deployment.Timestamp
            || candidate.Timestamp - deployment.Timestamp > NextDeploymentHorizon)
        {
            return false;
        }
        var facts = EventFacts.From(candidate, catalog);
        return facts.Kind == EventKind.Deployment && facts.InProduction && facts.Components.Any(c => mine.Contains(c.Name));
    }
}
