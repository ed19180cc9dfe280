using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RootCause.Catalog;
using RootCause.Common;
using RootCause.Database;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// Retro-linking of one investigation (keyed by its id): after it was created or its component,
/// service, times, tags or status changed, scores the events already stored in its window against
/// it, through this silo's search index. Before it looks, it waits until the index shows every
/// change committed before the run started; together with the event side's wait on the registry,
/// that guarantees an event and an investigation arriving at the same moment still meet (see
/// docs/architecture.md, "Linker"). Calls are not reentrant, so a second call for a key waits for
/// the first and then finds it done.
/// </summary>
[GrainType("retro-linker")]
public sealed class RetroLinkerGrain(
    IServiceProvider services,
    RetroLinkSlots slots,
    LinkerOptions options,
    LinkerMetrics metrics,
    TimeProvider time,
    ILogger<RetroLinkerGrain> logger) : Grain, IRetroLinkerGrain
{
    private const int PageSize = 1000;
    private const int Parallelism = 8;
    private static readonly TimeSpan IndexWait = TimeSpan.FromSeconds(30);

    private readonly LinkScorer _scorer = new(options);

    public async Task RunAsync(string linkingKey)
    {
        var investigationGrain = GrainFactory.GetGrain<IInvestigationGrain>(this.GetPrimaryKey());
        var (current, done) = await investigationGrain.GetLinkingKeyAsync();
        if (done || current != linkingKey)
        {
            return; // already done, or the fields changed again and a newer run will come
        }
        var investigation = await investigationGrain.GetAsync(includeDeleted: true);
        if (investigation is null || investigation.DeletedAt is not null)
        {
            await investigationGrain.MarkRetroLinkedAsync(linkingKey);
            return;
        }

        var index = services.GetRequiredService<ISearchIndex>();
        var feed = services.GetRequiredService<ChangeFeed>();
        // Waiting for the index costs nearly nothing, so it is not counted against the runs that may
        // score at once (RetroLinkSlots): many runs wait together, a few work.
        await slots.RunAsync(
            async () =>
            {
                var target = await feed.SnapshotXmaxAsync(CancellationToken.None);
                if (!await index.WaitForHorizonAsync(target, IndexWait))
                {
                    throw new TimeoutException($"The search index did not catch up within {IndexWait.TotalSeconds} s; retro-linking of {investigation.Id} is retried.");
                }
            },
            () => ScoreAsync(investigationGrain, investigation, index, linkingKey));
    }

    /// <summary>Scores the investigation's candidate events, applies the decisions and records completion.</summary>
    private async Task ScoreAsync(IInvestigationGrain investigationGrain, Investigation investigation, ISearchIndex index, string linkingKey)
    {
        var catalog = new ServiceCatalog(await GrainFactory.GetGrain<ICatalogGrain>(0).GetAsync());
        var events = Candidates(index, investigation, catalog);

        var linked = 0;
        var suggested = 0;
        var symptoms = new System.Collections.Concurrent.ConcurrentBag<Corroborator>();
        void Count(LinkAssessment assessment)
        {
            LinkerGrain.LogDecision(logger, metrics, "retro", assessment);
            if (assessment.Decision == LinkDecision.Link)
            {
                Interlocked.Increment(ref linked);
            }
            else if (assessment.Decision == LinkDecision.Suggest)
            {
                Interlocked.Increment(ref suggested);
            }
        }
        await Parallel.ForEachAsync(events, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, TaskScheduler = TaskScheduler.Current }, async (ev, _) =>
        {
            var facts = DeploymentLookup.WithDeployment(EventFacts.From(ev, catalog), index, catalog, ev);
            // Reasons are written only for the pairs that are stored (a decision, or a record to update).
            if (_scorer.AssessIfKept(investigation, ev, facts, catalog, null, always: ev.Links.Any(l => l.InvestigationId == investigation.Id)) is not { } assessment)
            {
                return;
            }
            if (assessment.Decision != LinkDecision.None)
            {
                foreach (var component in Corroboration.CorroboratingComponents(facts, investigation, catalog))
                {
                    symptoms.Add(new Corroborator(component, ev.Id, Corroboration.Describe(facts.Kind), ev.Timestamp,
                        assessment.Decision == LinkDecision.Link ? EventLinkStatus.Linked : EventLinkStatus.Suggested));
                }
            }
            if (await LinkWriter.ApplyAsync(GrainFactory, investigation, ev, assessment))
            {
                Count(assessment);
            }
        });

        // The second pass: the changes that the symptoms just decided corroborate (see Corroboration),
        // scored again with them. Other symptoms this investigation holds were scored in the first pass too.
        var corroborators = symptoms.ToList();
        foreach (var group in corroborators.GroupBy(c => c.Component))
        {
            var first = group.Min(c => c.At);
            var last = group.Max(c => c.At);
            // The symptom's component's own changes and those of what it calls directly.
            var changes = Corroboration.ChangesBefore(Corroboration.Corroborated(group.Key, catalog), last, index, catalog, options.CorroborationWindow + (last - first));
            await Parallel.ForEachAsync(changes, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, TaskScheduler = TaskScheduler.Current }, async (change, _) =>
            {
                // Without a deployment's next one, as in CorroborationGrain: corroboration cannot raise
                // the only changes it counts for.
                var facts = DeploymentLookup.WithDeployment(EventFacts.From(change, catalog), index, catalog);
                // Only where corroboration changes the score: the first pass stored the rest.
                if (_scorer.ConfidenceOf(investigation, change, facts, catalog, corroborators) == _scorer.ConfidenceOf(investigation, change, facts, catalog))
                {
                    return;
                }
                var assessment = _scorer.Assess(investigation, change, facts, catalog, corroborators);
                if (await LinkWriter.ApplyAsync(GrainFactory, investigation, change, assessment))
                {
                    Count(assessment);
                }
            });
        }
        await investigationGrain.MarkRetroLinkedAsync(linkingKey);
        metrics.RetroRuns.Add(1);
        logger.LogInformation("Retro-linking of investigation {InvestigationId}: {Events} events scored, {Linked} linked, {Suggested} suggested",
            investigation.Id, events.Count, linked, suggested);
    }

    /// <summary>
    /// The stored events that could explain the investigation: in its time window (the long look-back
    /// for commits and CI runs) and naming a component, service, repository or pipeline of its
    /// neighbourhood or sharing a tag; for an investigation that names no component or service, every
    /// event of its window (up to the cap). Events already linked or suggested are scored again too.
    /// </summary>
    private List<Event> Candidates(ISearchIndex index, Investigation investigation, ServiceCatalog catalog)
    {
        var anchor = investigation.StartedAt is { } started && started < investigation.DetectedAt ? started : investigation.DetectedAt;
        var now = time.GetUtcNow();
        var end = investigation.ResolvedAt ?? investigation.DetectedAt + options.MaxAge;
        if (end > now)
        {
            end = now;
        }
        var keys = LinkNames.IndexKeys(investigation, catalog);
        var vague = string.IsNullOrWhiteSpace(investigation.ComponentAffected) && string.IsNullOrWhiteSpace(investigation.ServiceAffected);
        var found = new Dictionary<Guid, Event>();
        var budget = options.RetroLinkMaxEvents;

        void Collect(Dictionary<string, IReadOnlyList<string>> filters, DateTimeOffset from)
        {
            for (var page = 1; budget > 0; page++)
            {
                var result = index.Search(new IndexQuery
                {
                    Kind = IndexedKind.Event,
                    Filters = filters,
                    Range = new DateRange(SearchFields.Timestamp, from, end),
                    // Link keys and link fields match few records; a tag may match many, and no
                    // filter (an investigation naming no component or service) matches the window.
                    NarrowFilters = filters.Count > 0 && !filters.ContainsKey(SearchFields.Tags),
                    Sort = [new SortKey(SearchFields.Timestamp, Descending: true)],
                    Page = page,
                    PerPage = PageSize,
                });
                foreach (var hit in result.Hits)
                {
                    var ev = JsonSerializer.Deserialize<Event>(hit.Json, RootCauseJson.Options)!;
                    if (found.TryAdd(ev.Id, ev))
                    {
                        budget--;
                    }
                }
                if (result.Hits.Count < PageSize)
                {
                    break;
                }
            }
        }

        var id = investigation.Id.ToString("D");
        Collect(new() { [SearchFields.InvestigationIds] = [id] }, DateTimeOffset.MinValue.AddYears(1));
        Collect(new() { [SearchFields.SuggestedFor] = [id] }, DateTimeOffset.MinValue.AddYears(1));
        if (keys.Count > 0)
        {
            Collect(new() { [SearchFields.LinkKeys] = keys, [SearchFields.Source] = ["git", "ci"] }, anchor - options.ChangeLookBack);
            Collect(new() { [SearchFields.LinkKeys] = keys }, anchor - options.LookBack);
        }
        if (investigation.Tags.Count > 0)
        {
            Collect(new() { [SearchFields.Tags] = [.. investigation.Tags] }, anchor - options.LookBack);
        }
        if (vague)
        {
            Collect(new(), anchor - options.LookBack);
        }
        return [.. found.Values];
    }
}
