using RootCause.Catalog;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// A symptom of one component that is linked to, or suggested for, an investigation: when a change
/// to that component, or to a component it calls directly, reached production shortly before the
/// symptom began, the symptom corroborates the change ("X was deployed, then X degraded"; "the
/// cache was replaced, then the API in front of it slowed down"). <see cref="LinkScorer"/> decides
/// which of the two it is, and whether the caller counts.
/// </summary>
public sealed record Corroborator(string Component, Guid EventId, string What, DateTimeOffset At, EventLinkStatus Status);

/// <summary>
/// Finds what corroborates a change: the linked or suggested symptoms of the components it changed,
/// and of their direct callers, that began within <see cref="LinkerOptions.CorroborationWindow"/>
/// after it reached production, and, the other way round, the changes a newly linked symptom corroborates. The lookups run
/// against this silo's search index (the linker) or against events in memory (the evaluation's
/// scorer mode, tests). See docs/architecture.md, "Corroboration".
/// </summary>
public static class Corroboration
{
    /// <summary>Most changes read per symptom, and most symptoms of one investigation (the earliest first).</summary>
    private const int Cap = 500;

    /// <summary>
    /// Most symptoms a change reads of the components it changed, and again of their callers (the
    /// earliest after it first; only those holding a link or a suggestion): reading a busy
    /// component's every symptom for every change would cost more than the rest of the change's
    /// evaluation. A linked symptom beyond them still finds the change through its own review.
    /// </summary>
    private const int SymptomCap = 100;

    /// <summary>
    /// When a change took effect in production: a deployment (or a CI job that released) when it
    /// happened, a commit when its deployment did. Null for everything else, CI failures included
    /// (a failed build changes nothing in production), and for a commit whose deployment is unknown.
    /// </summary>
    public static DateTimeOffset? InEffectSince(Event ev, EventFacts facts) => facts.Kind switch
    {
        EventKind.Deployment => ev.Timestamp,
        EventKind.Commit => facts.DeployedAt,
        _ => null,
    };

    /// <summary>When an investigation's impact began: <c>started_at</c>, or detection when it is later or missing. Only symptoms from then on corroborate.</summary>
    public static DateTimeOffset ImpactStart(Investigation investigation) =>
        investigation.StartedAt is { } started && started <= investigation.DetectedAt ? started : investigation.DetectedAt;

    /// <summary>What a symptom is, in words, for a reason sentence.</summary>
    public static string Describe(EventKind kind) => kind switch
    {
        EventKind.ErrorSpike => "error spike",
        EventKind.MetricAnomaly => "metric anomaly",
        EventKind.TraceProblem => "failing or slow spans",
        _ => "symptom",
    };

    /// <summary>
    /// The corroborators of a change per investigation, from the symptoms stored in this silo's
    /// index: symptoms of the change's components and of their direct callers, in the window after
    /// it took effect, that are linked to or suggested for an investigation.
    /// </summary>
    public static IReadOnlyDictionary<Guid, IReadOnlyList<Corroborator>> ForChange(Event change, EventFacts facts, ISearchIndex index, ServiceCatalog catalog, TimeSpan window)
    {
        if (InEffectSince(change, facts) is not { } since || facts.Components.Count == 0)
        {
            return Empty;
        }
        // The changed components' own symptoms and their callers' are read apart, each up to the
        // cap, so a busy caller cannot crowd out the component's own symptoms.
        var own = facts.Components.SelectMany(c => SymptomKeys(catalog, c.Name)).Distinct(StringComparer.Ordinal).ToList();
        var callers = Corroborating(facts, catalog).SelectMany(c => SymptomKeys(catalog, c)).Distinct(StringComparer.Ordinal).Except(own).ToList();
        var symptoms = new Dictionary<Guid, (Event Event, EventFacts? Facts)>();
        foreach (var keys in new[] { own, callers }.Where(k => k.Count > 0))
        {
            // Only a symptom linked to or suggested for an investigation can corroborate.
            foreach (var hit in index.KeyedEvents(new KeyedLookup(SearchFields.LinkedSymptomKeys, keys) { From = since, To = since + window, Max = SymptomCap }))
            {
                var (symptom, symptomFacts) = StoredEvents.ReadSymptom(hit, catalog);
                symptoms.TryAdd(symptom.Id, (symptom, symptomFacts));
            }
        }
        return ForChange(change, facts, symptoms.Values, catalog, window);
    }

    /// <summary>The same from events in memory, with the links they hold.</summary>
    public static IReadOnlyDictionary<Guid, IReadOnlyList<Corroborator>> ForChange(Event change, EventFacts facts, IEnumerable<Event> events, ServiceCatalog catalog, TimeSpan window) =>
        ForChange(change, facts, events.Select(e => (e, (EventFacts?)null)), catalog, window);

    /// <summary>The same from events some of whose facts are known already (derived here when null).</summary>
    private static IReadOnlyDictionary<Guid, IReadOnlyList<Corroborator>> ForChange(Event change, EventFacts facts, IEnumerable<(Event Event, EventFacts? Facts)> events, ServiceCatalog catalog, TimeSpan window)
    {
        if (InEffectSince(change, facts) is not { } since || facts.Components.Count == 0)
        {
            return Empty;
        }
        var corroborating = Corroborating(facts, catalog);
        var found = new Dictionary<Guid, List<Corroborator>>();
        foreach (var (symptom, known) in events)
        {
            if (symptom.Id == change.Id || symptom.DeletedAt is not null || symptom.Timestamp <= since || symptom.Timestamp - since > window
                || !symptom.Links.Any(l => l.Status is EventLinkStatus.Linked or EventLinkStatus.Suggested))
            {
                continue;
            }
            var symptomFacts = known ?? EventFacts.From(symptom, catalog);
            if (!symptomFacts.IsSymptom)
            {
                continue;
            }
            foreach (var (name, _) in symptomFacts.Components.Where(c => corroborating.Contains(c.Name)))
            {
                foreach (var link in symptom.Links.Where(l => l.Status is EventLinkStatus.Linked or EventLinkStatus.Suggested))
                {
                    if (!found.TryGetValue(link.InvestigationId, out var list))
                    {
                        found[link.InvestigationId] = list = [];
                    }
                    list.Add(new Corroborator(name, symptom.Id, Describe(symptomFacts.Kind), symptom.Timestamp, link.Status));
                }
            }
        }
        return found.ToDictionary(p => p.Key, p => (IReadOnlyList<Corroborator>)p.Value);
    }

    /// <summary>
    /// One investigation's corroborators among the symptoms of <paramref name="component"/> in
    /// [<paramref name="from"/>, <paramref name="to"/>]: those linked to it and those suggested for
    /// it, read through the index's link fields, so only the investigation's own symptoms are read.
    /// </summary>
    public static IReadOnlyList<Corroborator> ForInvestigation(Guid investigationId, string component, DateTimeOffset from, DateTimeOffset to, ISearchIndex index, ServiceCatalog catalog)
    {
        var keys = SymptomKeys(catalog, component).ToList();
        var id = investigationId.ToString("D");
        var found = new List<Corroborator>();
        foreach (var field in new[] { SearchFields.InvestigationIds, SearchFields.SuggestedFor })
        {
            foreach (var hit in index.Search(new IndexQuery
            {
                Kind = IndexedKind.Event,
                Filters = new Dictionary<string, IReadOnlyList<string>> { [field] = [id], [SearchFields.LinkedSymptomKeys] = keys },
                Range = new DateRange(SearchFields.Timestamp, from, to),
                NarrowFilters = true,
                Sort = [new SortKey(SearchFields.Timestamp, Descending: false)],
                PerPage = Cap,
            }).Hits)
            {
                var (symptom, facts) = StoredEvents.ReadSymptom(hit, catalog);
                var link = symptom.Links.FirstOrDefault(l => l.InvestigationId == investigationId && l.Status is EventLinkStatus.Linked or EventLinkStatus.Suggested);
                if (facts.IsSymptom && link is not null && facts.Components.Any(c => c.Name == component))
                {
                    found.Add(new Corroborator(component, symptom.Id, Describe(facts.Kind), symptom.Timestamp, link.Status));
                }
            }
        }
        return found;
    }

    /// <summary>
    /// The changes a symptom of <paramref name="components"/> at <paramref name="at"/> can corroborate:
    /// the deployments (and CI jobs that released) of those components in the window before it, and
    /// the commits those deployments shipped. Read from this silo's index, the earliest first.
    /// </summary>
    public static IReadOnlyList<Event> ChangesBefore(IReadOnlyCollection<string> components, DateTimeOffset at, ISearchIndex index, ServiceCatalog catalog, TimeSpan window) =>
        ChangesBetween(components, at - window, at, index, catalog);

    /// <summary>The same for deployments in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public static IReadOnlyList<Event> ChangesBetween(IReadOnlyCollection<string> components, DateTimeOffset from, DateTimeOffset to, ISearchIndex index, ServiceCatalog catalog)
    {
        var keys = components.SelectMany(c => ChangeKeys(catalog, c)).Distinct(StringComparer.Ordinal).ToList();
        if (keys.Count == 0)
        {
            return [];
        }
        var changes = new Dictionary<Guid, Event>();
        var shas = new HashSet<string>(StringComparer.Ordinal);
        foreach (var hit in index.KeyedEvents(new KeyedLookup(SearchFields.DeploymentKeys, keys) { From = from, To = to, Max = Cap }))
        {
            var (ev, facts) = StoredEvents.ReadWithFacts(hit, catalog);
            if (facts.Kind == EventKind.Deployment && facts.Components.Any(c => components.Contains(c.Name)) && ev.Timestamp < to)
            {
                changes.TryAdd(ev.Id, ev);
                if (facts.Sha is { } sha)
                {
                    shas.Add(sha);
                }
            }
        }
        if (shas.Count > 0)
        {
            // The commits the deployments shipped, whenever they were made.
            foreach (var hit in index.Search(new IndexQuery
            {
                Kind = IndexedKind.Event,
                Filters = new Dictionary<string, IReadOnlyList<string>>
                {
                    [SearchFields.LinkKeys] = [.. shas.Select(s => "s:" + s)],
                    [SearchFields.Source] = [RootCauseJson.Name(EventSource.Git)],
                },
                NarrowFilters = true,
                Sort = [new SortKey(SearchFields.Timestamp, Descending: false)],
                PerPage = Cap,
            }).Hits)
            {
                var (ev, commitFacts) = StoredEvents.ReadWithFacts(hit, catalog);
                if (commitFacts.Kind == EventKind.Commit)
                {
                    changes.TryAdd(ev.Id, ev);
                }
            }
        }
        return [.. changes.Values.OrderBy(e => e.Timestamp)];
    }

    /// <summary>
    /// The components whose changes a symptom can corroborate for an investigation: the symptom's
    /// own components, except those the investigation names (their changes already count in full).
    /// </summary>
    public static IReadOnlyList<string> CorroboratingComponents(EventFacts symptom, Investigation investigation, ServiceCatalog catalog)
    {
        if (!symptom.IsSymptom)
        {
            return [];
        }
        var affected = catalog.Resolve(LinkNames.AffectedOf(investigation, catalog).Component)?.Name;
        return [.. symptom.Components.Select(c => c.Name).Where(n => n != affected)];
    }

    /// <summary>
    /// The components whose symptoms can corroborate a change: the components it changed and their
    /// direct callers (a dependency that breaks shows first in whoever calls it).
    /// </summary>
    public static IReadOnlySet<string> Corroborating(EventFacts change, ServiceCatalog catalog)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in change.Components)
        {
            names.Add(name);
            names.UnionWith(catalog.Dependents(name));
        }
        return names;
    }

    /// <summary>
    /// The components whose changes a symptom of <paramref name="component"/> can corroborate: the
    /// component itself and what it calls directly (the catalog holds dependencies by name, never the
    /// component itself).
    /// </summary>
    public static IReadOnlyList<string> Corroborated(string component, ServiceCatalog catalog) =>
        [component, .. catalog.Dependencies(component)];

    private static readonly IReadOnlyDictionary<Guid, IReadOnlyList<Corroborator>> Empty = new Dictionary<Guid, IReadOnlyList<Corroborator>>();

    /// <summary>The index link keys a component's symptoms carry: its name and aliases (symptoms name no repository).</summary>
    private static IEnumerable<string> SymptomKeys(ServiceCatalog catalog, string name) =>
        catalog.Resolve(name) is { } component
            ? component.Aliases.Select(a => "c:" + a.Trim().ToLowerInvariant()).Prepend("c:" + component.Name)
            : ["c:" + name];

    /// <summary>The index link keys a component's deployments carry: its name, aliases, repositories and pipelines.</summary>
    public static IEnumerable<string> ChangeKeys(ServiceCatalog catalog, string name) =>
        catalog.Resolve(name) is { } component
            ? SymptomKeys(catalog, name)
                .Concat(component.Repositories.Select(r => "r:" + r.Trim().ToLowerInvariant()))
                .Concat(component.Pipelines.Select(p => "p:" + p.Trim().ToLowerInvariant()))
            : ["c:" + name];
}
