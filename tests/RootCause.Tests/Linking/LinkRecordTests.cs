using RootCause.Events;
using RootCause.Linking;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Linking;

/// <summary>The link records an event keeps: idempotent application, the suggestion cap, decisions that stand.</summary>
[Collection(ClusterCollection.Name)]
public sealed class LinkRecordTests(ClusterFixture fixture)
{
    private static LinkAssessment Assessment(Guid eventId, Guid investigationId, double confidence, LinkDecision decision) => new()
    {
        InvestigationId = investigationId,
        EventId = eventId,
        Confidence = confidence,
        Decision = decision,
        Summary = $"Confidence {confidence:0.00}.",
        Strategies = [new StrategyScore("time", 1, 0.25, "It happened during the impact.")],
    };

    private async Task<IEventGrain> NewEventAsync()
    {
        var draft = new EventDraft
        {
            Source = EventSource.Metrics,
            SourceId = $"records:{Guid.NewGuid():N}",
            EventType = "metric_anomaly",
            Timestamp = DateTimeOffset.UtcNow.AddMinutes(-1),
            Data = """{"metric":"nothing_in_the_catalog"}""",
        };
        var grain = fixture.Client.GetGrain<IEventGrain>(EventKeys.For(draft));
        await grain.IngestAsync(draft);
        // Let the linker's own evaluation land first (it finds no candidates for this event).
        await Eventually.ReturnsAsync(() => grain.GetAsync(), e => e!.LinkerCheckedAt is not null, TimeSpan.FromSeconds(20));
        return grain;
    }

    [Fact]
    public async Task ApplyingTheSameAssessmentsAgainWritesNothingAndOnlyTheStrongestSuggestionsAreKept()
    {
        var grain = await NewEventAsync();
        var id = grain.GetPrimaryKey();
        var investigations = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToArray();
        var assessments = investigations.Select((inv, i) => Assessment(id, inv, 0.5 + i * 0.05, LinkDecision.Suggest))
            .Append(Assessment(id, Guid.NewGuid(), 0.9, LinkDecision.Link)).ToList();

        await grain.ApplyAssessmentsAsync(assessments, markChecked: true);
        var first = (await grain.GetAsync(includeDeleted: true))!;
        var suggested = first.Links.Where(l => l.Status == EventLinkStatus.Suggested).ToList();
        Assert.Equal(EventGrain.MaxSuggestions, suggested.Count);
        Assert.Equal(investigations[2..].Order(), suggested.Select(l => l.InvestigationId).Order());
        Assert.Single(first.Links, l => l.Status == EventLinkStatus.Linked);
        Assert.Single(first.InvestigationIds);
        // The linker's records keep the version (the ETag).
        Assert.Equal(1, first.Version);

        await grain.ApplyAssessmentsAsync(assessments, markChecked: true);
        var again = (await grain.GetAsync(includeDeleted: true))!;
        Assert.Equal(first, again with { Links = first.Links, References = first.References, InvestigationIds = first.InvestigationIds });
        Assert.Equal(first.Links.Select(l => (l.InvestigationId, l.Status, l.DecidedAt)).Order(),
            again.Links.Select(l => (l.InvestigationId, l.Status, l.DecidedAt)).Order());

        // A pair dropping below the suggestion threshold loses the linker's record.
        await grain.ApplyAssessmentsAsync([Assessment(id, investigations[4], 0.2, LinkDecision.None)], markChecked: false);
        var dropped = (await grain.GetAsync(includeDeleted: true))!;
        Assert.DoesNotContain(dropped.Links, l => l.InvestigationId == investigations[4]);
    }

    [Fact]
    public async Task AnEngineersDecisionIsNeverChangedByTheLinker()
    {
        var grain = await NewEventAsync();
        var id = grain.GetPrimaryKey();
        var investigation = Guid.NewGuid();
        await grain.ApplyAssessmentsAsync([Assessment(id, investigation, 0.6, LinkDecision.Suggest)], markChecked: false);
        var rejected = await grain.DecideLinkAsync(investigation, EventLinkStatus.Rejected, "dana", "not ours", onlyIfSuggested: true);
        Assert.Equal(EventLinkStatus.Rejected, rejected.Links.Single().Status);

        await grain.ApplyAssessmentsAsync([Assessment(id, investigation, 0.95, LinkDecision.Link)], markChecked: false);
        var relinked = (await grain.GetAsync(includeDeleted: true))!;
        var record = relinked.Links.Single();
        Assert.Equal(EventLinkStatus.Rejected, record.Status);
        Assert.Equal("dana", record.DecidedBy);
        Assert.Equal("not ours", record.Note);
        Assert.Empty(relinked.InvestigationIds);
    }
}
