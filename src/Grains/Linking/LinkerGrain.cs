using Microsoft.Extensions.Logging;
using Orleans.Streams;
using RootCause.Catalog;
using RootCause.Common;
using RootCause.Events;
using RootCause.Hosting;
using RootCause.Investigations;

namespace RootCause.Linking;

/// <summary>
/// Links the events of one stream partition as they arrive: waits until this silo's registry holds
/// every investigation committed before now, scores the event against the candidates the registry
/// names, stores the decisions on the event (which marks it evaluated), and then the investigation
/// side of each link. Idempotent: a redelivered message finds the same decisions already stored and
/// writes nothing; an engineer's decision is never overridden. A failure throws, so the stream
/// delivers the message again.
/// </summary>
[ImplicitStreamSubscription(LinkerStreams.EventsNamespace)]
[GrainType("linker")]
public sealed class LinkerGrain(
    InvestigationRegistry registry,
    LinkerOptions options,
    LinkerMetrics metrics,
    TimeProvider time,
    ILogger<LinkerGrain> logger) : Grain, ILinkerGrain
{
    private static readonly TimeSpan CatalogRefresh = TimeSpan.FromSeconds(1);

    private readonly LinkScorer _scorer = new(options);
    private ServiceCatalog? _catalog;
    private DateTimeOffset _catalogReadAt;
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
        await registry.WaitForCurrentAsync(CancellationToken.None);
        var eventGrain = GrainFactory.GetGrain<IEventGrain>(message.EventId);
        var ev = await eventGrain.GetAsync(includeDeleted: true);
        if (ev is null)
        {
            // Published for an event whose write never committed (the ingest failed and was not retried).
            logger.LogWarning("Linker: event {EventId} does not exist; nothing to link", message.EventId);
            return;
        }
        var catalog = await CatalogAsync();
        var facts = EventFacts.From(ev, catalog);
        var candidates = ev.DeletedAt is null ? registry.CandidatesFor(facts, ev.Tags, catalog) : [];
        var assessments = new List<LinkAssessment>();
        foreach (var investigation in candidates)
        {
            var assessment = _scorer.Assess(investigation, ev, facts, catalog);
            // Pairs that score nothing are not stored, unless the event holds a link record to drop.
            if (assessment.Decision != LinkDecision.None || ev.Links.Any(l => l.InvestigationId == investigation.Id))
            {
                assessments.Add(assessment);
            }
        }
        var applied = await eventGrain.ApplyAssessmentsAsync(assessments, markChecked: true);
        await CompleteInvestigationSidesAsync(GrainFactory, ev, assessments, applied);

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
        metrics.HandOffLatency.Record((time.GetUtcNow() - message.IngestedAt).TotalMilliseconds);
        if (assessments.Count == 0)
        {
            logger.LogDebug("Linker: event {EventId} scored against {Candidates} candidate investigations; none links or suggests", ev.Id, candidates.Count);
        }
    }

    /// <summary>
    /// The investigation side of the links: every investigation the event is now linked to lists it
    /// (a no-op when it already does, so a redelivery repairs a side a failure left out), and one the
    /// linker had linked and no longer does drops it.
    /// </summary>
    internal static async Task CompleteInvestigationSidesAsync(IGrainFactory grains, Event before, IReadOnlyList<LinkAssessment> assessments, LinkApplication applied)
    {
        var linked = applied.Linked.ToHashSet();
        var calls = new List<Task>();
        foreach (var assessment in assessments)
        {
            var id = assessment.InvestigationId;
            if (linked.Contains(id))
            {
                calls.Add(grains.GetGrain<IInvestigationGrain>(id).SetEventLinkAsync(before.Id, linked: true));
            }
            else if (before.InvestigationIds.Contains(id))
            {
                calls.Add(grains.GetGrain<IInvestigationGrain>(id).SetEventLinkAsync(before.Id, linked: false));
            }
        }
        await Task.WhenAll(calls);
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

    private async Task<ServiceCatalog> CatalogAsync()
    {
        var now = time.GetUtcNow();
        if (_catalog is null || now - _catalogReadAt > CatalogRefresh)
        {
            var snapshot = await GrainFactory.GetGrain<ICatalogGrain>(0).GetAsync();
            if (_catalog?.Version != snapshot.Version)
            {
                _catalog = new ServiceCatalog(snapshot);
            }
            _catalogReadAt = now;
        }
        return _catalog;
    }
}
