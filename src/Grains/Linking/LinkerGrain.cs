using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orleans.Streams;
using RootCause.Catalog;
using RootCause.Common;
using RootCause.Events;
using RootCause.Hosting;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// Links the events of one stream partition as they arrive: waits until this silo's registry holds
/// every investigation committed before now, scores the event against the candidates the registry
/// names, and stores the decisions on the event, which marks it evaluated (a link is stored there
/// alone: the investigation's record does not list its events). Idempotent: a redelivered message
/// finds the same decisions already stored and writes nothing; an engineer's decision is never overridden. A failure throws, so the stream
/// delivers the message again.
/// </summary>
[ImplicitStreamSubscription(LinkerStreams.EventsNamespace)]
[GrainType("linker")]
public sealed class LinkerGrain(
    InvestigationRegistry registry,
    ISearchIndex index,
    SharedSnapshot snapshots,
    CatalogCache catalogs,
    LinkerOptions options,
    LinkerMetrics metrics,
    TimeProvider time,
    ILogger<LinkerGrain> logger) : Grain, ILinkerGrain
{
    private static readonly TimeSpan IndexWait = TimeSpan.FromSeconds(10);

    /// <summary>The metrics' <c>kind</c> tag per <see cref="EventKind"/> (snake_case, as in the API).</summary>
    private static readonly string[] KindNames = [.. Enum.GetValues<EventKind>().Select(k => RootCauseJson.Name(k))];

    private readonly LinkScorer _scorer = new(options);
    private long _events;
    private long _candidates;
    private long _linked;
    private long _suggested;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var stream = this.GetStreamProvider(StreamRegistration.ProviderName)
            .GetStream<EventIngested>(StreamId.Create(LinkerStreams.EventsNamespace, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync((message, _) => LinkAsync(message));
    }

    public Task<LinkerCounters> GetCountersAsync() => Task.FromResult(new LinkerCounters(_events, _candidates, _linked, _suggested));

    private async Task LinkAsync(EventIngested message)
    {
        var started = time.GetUtcNow();
        await registry.WaitForCurrentAsync(CancellationToken.None);
        var eventGrain = GrainFactory.GetGrain<IEventGrain>(message.EventId);
        var ev = await eventGrain.GetAsync(includeDeleted: true);
        if (ev is null)
        {
            // Published for an event whose write never committed (the ingest failed and was not retried).
            logger.LogWarning("Linker: event {EventId} does not exist; nothing to link", message.EventId);
            return;
        }
        var catalog = await catalogs.GetAsync();
        var facts = EventFacts.From(ev, catalog);
        var deploysCommit = facts.Kind == EventKind.Deployment && facts.Sha is not null;
        IReadOnlyDictionary<Guid, IReadOnlyList<Corroborator>>? corroboration = null;
        var kind = new KeyValuePair<string, object?>("kind", KindNames[(int)facts.Kind]);
        if ((facts.Kind == EventKind.Commit && facts.Sha is not null) || facts.Kind == EventKind.Deployment)
        {
            // A commit and its deployment meet in the search index, and so do a change and the
            // symptoms that corroborate it: each waits until the index shows everything committed
            // before it is handled, so whichever comes second sees the first.
            var waitStarted = Stopwatch.GetTimestamp();
            var target = await snapshots.XmaxAfterNowAsync();
            if (!await index.WaitForHorizonAsync(target, IndexWait))
            {
                throw new TimeoutException($"The search index did not catch up within {IndexWait.TotalSeconds} s; event {ev.Id} is linked again later.");
            }
            metrics.IndexWait.Record(Stopwatch.GetElapsedTime(waitStarted).TotalMilliseconds, kind);
            facts = DeploymentLookup.WithDeployment(facts, index, catalog, ev);
            corroboration = Corroboration.ForChange(ev, facts, index, catalog, options.CorroborationWindow);
        }
        var assessments = Assess(ev, facts, catalog, corroboration, out var candidates);
        await eventGrain.ApplyAssessmentsAsync(assessments, markChecked: true);
        if (deploysCommit)
        {
            await ReassessDeployedCommitsAsync(facts.Sha!, catalog);
        }
        if (facts.Kind == EventKind.Deployment)
        {
            await ReassessEarlierDeploymentsAsync(ev, facts, catalog);
        }
        if (facts.IsSymptom)
        {
            await RequestReviewsAsync(ev, facts, catalog, assessments, candidates);
        }

        _events++;
        _candidates += candidates.Count;
        metrics.EventsEvaluated.Add(1);
        foreach (var assessment in assessments)
        {
            LogDecision(logger, metrics, "event", assessment);
            if (assessment.Decision == LinkDecision.Link)
            {
                _linked++;
            }
            else if (assessment.Decision == LinkDecision.Suggest)
            {
                _suggested++;
            }
        }
        metrics.DeliveryWait.Record((started - message.IngestedAt).TotalMilliseconds, kind);
        metrics.HandOffLatency.Record((time.GetUtcNow() - message.IngestedAt).TotalMilliseconds, kind);
        if (assessments.Count == 0)
        {
            logger.LogDebug("Linker: event {EventId} scored against {Candidates} candidate investigations; none links or suggests", ev.Id, candidates.Count);
        }
    }

    /// <summary>
    /// The link and suggest assessments of an event against the registry's candidates, and against
    /// the investigations whose symptoms corroborate it (and of pairs it holds a record for).
    /// </summary>
    private List<LinkAssessment> Assess(Event ev, EventFacts facts, ServiceCatalog catalog,
        IReadOnlyDictionary<Guid, IReadOnlyList<Corroborator>>? corroboration, out IReadOnlyList<Investigation> candidates)
    {
        candidates = ev.DeletedAt is null ? registry.CandidatesFor(facts, ev.Tags, catalog) : [];
        if (ev.DeletedAt is null && corroboration is { Count: > 0 })
        {
            var known = candidates.Select(c => c.Id).ToHashSet();
            var more = corroboration.Keys.Where(id => !known.Contains(id)).Select(registry.Find).OfType<Investigation>().ToList();
            if (more.Count > 0)
            {
                candidates = [.. candidates, .. more];
            }
        }
        var assessments = new List<LinkAssessment>();
        foreach (var investigation in candidates)
        {
            // Pairs that score nothing are not stored, unless the event holds a link record to drop.
            if (_scorer.AssessIfKept(investigation, ev, facts, catalog, corroboration?.GetValueOrDefault(investigation.Id),
                    always: ev.Links.Any(l => l.InvestigationId == investigation.Id)) is { } assessment)
            {
                assessments.Add(assessment);
            }
        }
        return assessments;
    }

    /// <summary>
    /// A deployment changes what its commits mean (a commit deployed just before the impact is the
    /// prime suspect): the commits with its sha already stored are scored again.
    /// </summary>
    private async Task ReassessDeployedCommitsAsync(string sha, ServiceCatalog catalog)
    {
        var hits = index.Search(new IndexQuery
        {
            Kind = IndexedKind.Event,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.LinkKeys] = ["s:" + sha], [SearchFields.Source] = ["git"] },
            NarrowFilters = true,
            PerPage = 50,
        }).Hits;
        foreach (var hit in hits)
        {
            var (commit, facts) = StoredEvents.ReadWithFacts(hit, catalog);
            if (facts.Kind != EventKind.Commit)
            {
                continue;
            }
            facts = DeploymentLookup.WithDeployment(facts, index, catalog);
            var assessments = Assess(commit, facts, catalog, Corroboration.ForChange(commit, facts, index, catalog, options.CorroborationWindow), out _);
            await GrainFactory.GetGrain<IEventGrain>(commit.Id).ApplyAssessmentsAsync(assessments, markChecked: false);
            foreach (var assessment in assessments)
            {
                LogDecision(logger, metrics, "deployment", assessment);
            }
        }
    }

    /// <summary>
    /// A deployment ends its components' earlier deployments' time as the latest one (the first
    /// suspect of an incident that begins after it; see <see cref="EventFacts.NextDeploymentAt"/>):
    /// the earlier production deployments within the horizon that are linked or suggested, and whose
    /// next deployment this one now is, are scored again.
    /// </summary>
    /// <remarks>
    /// An earlier deployment's next deployment is the first later production deployment of any of its
    /// components. Walking back from this one, once a production deployment of a component has been
    /// passed, every older deployment of that component already has a next one before this deployment,
    /// and its score cannot change: it is skipped, and the walk ends when every component this
    /// deployment names is passed (usually at the first production deployment it meets). Before, every
    /// linked or suggested deployment of the horizon (up to 100) was scored again, each with its own
    /// corroboration lookup: in the latency benchmark that was a quarter of the machine.
    /// </remarks>
    private async Task ReassessEarlierDeploymentsAsync(Event deployment, EventFacts facts, ServiceCatalog catalog)
    {
        if (facts.Components.Count == 0 || !facts.InProduction)
        {
            return;
        }
        var mine = facts.Components.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var passed = new HashSet<string>(StringComparer.Ordinal);
        // Deployments at the same instant are not each other's next one: a timestamp's deployments
        // join the passed components only once all of them were looked at.
        var sameInstant = new List<string>();
        DateTimeOffset? instant = null;
        // Read as the walk goes: usually it ends within the first few (DeploymentLookup.ChangesOf).
        foreach (var earlier in DeploymentLookup.ChangesOf(facts, index, catalog, deployment.Timestamp - DeploymentLookup.NextDeploymentHorizon, deployment.Timestamp, newestFirst: true))
        {
            if (earlier.Id == deployment.Id || earlier.Timestamp >= deployment.Timestamp)
            {
                continue;
            }
            if (earlier.Timestamp != instant)
            {
                passed.UnionWith(sameInstant);
                sameInstant.Clear();
                instant = earlier.Timestamp;
                if (mine.IsSubsetOf(passed))
                {
                    break; // every older deployment of these components has a next one before this
                }
            }
            var earlierFacts = EventFacts.From(earlier, catalog);
            if (earlierFacts.Kind != EventKind.Deployment || !earlierFacts.InProduction)
            {
                continue; // not a production deployment: nobody's next one, and it has none that matters
            }
            var components = earlierFacts.Components.Select(c => c.Name).ToList();
            sameInstant.AddRange(components);
            if (!components.Any(mine.Contains) || components.Any(passed.Contains)
                || !earlier.Links.Any(l => l.Status is EventLinkStatus.Linked or EventLinkStatus.Suggested))
            {
                continue;
            }
            earlierFacts = DeploymentLookup.WithDeployment(earlierFacts, index, catalog, earlier);
            var assessments = Assess(earlier, earlierFacts, catalog, Corroboration.ForChange(earlier, earlierFacts, index, catalog, options.CorroborationWindow), out _);
            await GrainFactory.GetGrain<IEventGrain>(earlier.Id).ApplyAssessmentsAsync(assessments, markChecked: false);
            foreach (var assessment in assessments)
            {
                LogDecision(logger, metrics, "later deployment", assessment);
            }
        }
    }

    /// <summary>
    /// A symptom linked to or suggested for an investigation that does not name its component may
    /// corroborate a change of that component shortly before it: the investigation's corroboration
    /// grain looks (one-way, so this partition does not wait for its index wait; a redelivery asks
    /// again, and the grain skips a symptom it has already reviewed).
    /// </summary>
    private async Task RequestReviewsAsync(Event ev, EventFacts facts, ServiceCatalog catalog, List<LinkAssessment> assessments, IReadOnlyList<Investigation> candidates)
    {
        foreach (var assessment in assessments.Where(a => a.Decision != LinkDecision.None))
        {
            if (candidates.FirstOrDefault(c => c.Id == assessment.InvestigationId) is not { } investigation
                || ev.Timestamp < Corroboration.ImpactStart(investigation))
            {
                continue; // a symptom before the impact began corroborates nothing
            }
            foreach (var component in Corroboration.CorroboratingComponents(facts, investigation, catalog))
            {
                await GrainFactory.GetGrain<ICorroborationGrain>(investigation.Id).ReviewAsync(component, ev.Timestamp);
            }
        }
    }

    /// <summary>One structured log line per link or suggest decision (and a debug line for the rest).</summary>
    internal static void LogDecision(ILogger logger, LinkerMetrics metrics, string trigger, LinkAssessment assessment)
    {
        if (assessment.Decision == LinkDecision.None)
        {
            logger.LogDebug("Link decision {Decision} ({Trigger}): event {EventId} investigation {InvestigationId} confidence {Confidence}: {Summary}",
                RootCauseJson.Name(assessment.Decision), trigger, assessment.EventId, assessment.InvestigationId, assessment.Confidence, assessment.Summary);
            return;
        }
        metrics.Decisions.Add(1, new KeyValuePair<string, object?>("decision", RootCauseJson.Name(assessment.Decision)), new KeyValuePair<string, object?>("trigger", trigger));
        logger.LogInformation("Link decision {Decision} ({Trigger}): event {EventId} investigation {InvestigationId} confidence {Confidence}: {Summary}",
            RootCauseJson.Name(assessment.Decision), trigger, assessment.EventId, assessment.InvestigationId, assessment.Confidence, assessment.Summary);
    }
}
