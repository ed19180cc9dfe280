using System.Text.Json;
using RootCause.Catalog;
using RootCause.Common;
using RootCause.Events;
using RootCause.Linking;
using RootCause.Search;

namespace RootCause.Tests.Linking;

/// <summary>
/// The linker parses a stored record its lookups return once for as long as the index hands out the
/// same string for it, and derives its facts again when the catalog changes. Pure: no silo.
/// </summary>
public sealed class StoredEventsTests
{
    private static ServiceCatalog Catalog(long version, string alias) => new(new CatalogSnapshot
    {
        Version = version,
        Components = [new Component { Name = "checkout-api", Service = "checkout", Aliases = [alias] }],
    });

    private static string Record(IReadOnlyList<EventLink>? links = null) => JsonSerializer.Serialize(new Event
    {
        Id = Guid.NewGuid(),
        Source = EventSource.Logs,
        SourceId = $"spike:{Guid.NewGuid():N}",
        EventType = "error_spike",
        Timestamp = DateTimeOffset.UtcNow,
        Data = """{"service":"checkout","count":120}""",
        Links = links ?? [],
    }, RootCauseJson.Options);

    private static EventLink Link(EventLinkStatus status, string decidedBy = LinkDeciders.Linker) => new()
    {
        InvestigationId = Guid.NewGuid(),
        Status = status,
        Confidence = 0.8,
        Summary = "An error spike of checkout-api during the impact.",
        Strategies = [new StrategyScore("time", 1, 0.25, "During the impact."), new StrategyScore("component", 1, 0.35, "It names checkout-api.")],
        DecidedBy = decidedBy,
        DecidedAt = DateTimeOffset.UtcNow,
        Note = decidedBy == LinkDeciders.Linker ? null : "seen it",
    };

    /// <summary>
    /// A symptom read for corroboration keeps of each link the investigation and the status, in order,
    /// and the same facts as a whole read; it does not take the place of a whole read of the same
    /// record, and a record already read whole is handed out whole.
    /// </summary>
    [Fact]
    public void ASymptomReadForCorroborationKeepsEachLinksInvestigationAndStatus()
    {
        var catalog = Catalog(1, "checkout");
        var links = new[] { Link(EventLinkStatus.Linked), Link(EventLinkStatus.Suggested), Link(EventLinkStatus.Rejected, "ana") };
        var json = Record(links);

        var (symptom, facts) = StoredEvents.ReadSymptom(new SearchHit(json, null, null), catalog);
        Assert.Equal(links.Select(l => (l.InvestigationId, l.Status)), symptom.Links.Select(l => (l.InvestigationId, l.Status)));
        Assert.All(symptom.Links, l => Assert.Empty(l.Strategies));
        Assert.Contains(facts.Components, c => c.Name == "checkout-api");
        Assert.True(facts.IsSymptom);

        var (whole, wholeFacts) = StoredEvents.ReadWithFacts(new SearchHit(json, null, null), catalog);
        Assert.NotSame(symptom, whole);
        Assert.Equal(links.Select(l => l.Strategies.Count), whole.Links.Select(l => l.Strategies.Count));
        Assert.Equal(wholeFacts.Components, facts.Components);
        Assert.Equal((whole.Id, whole.Timestamp, whole.Data), (symptom.Id, symptom.Timestamp, symptom.Data));
        Assert.Same(whole, StoredEvents.ReadSymptom(new SearchHit(json, null, null), catalog).Event);
    }

    [Fact]
    public void ARecordReadAgainIsParsedOnceAndItsFactsFollowTheCatalog()
    {
        var json = Record();
        var before = Catalog(1, "payments-edge");
        var renamed = Catalog(2, "checkout"); // now "checkout" names the component

        var (first, firstFacts) = StoredEvents.ReadWithFacts(new SearchHit(json, null, null), before);
        var (again, againFacts) = StoredEvents.ReadWithFacts(new SearchHit(json, null, null), before);
        Assert.Same(first, again);
        Assert.Same(firstFacts, againFacts);
        Assert.DoesNotContain(firstFacts.Components, c => c.Name == "checkout-api");

        var (afterChange, changedFacts) = StoredEvents.ReadWithFacts(new SearchHit(json, null, null), renamed);
        Assert.Same(first, afterChange);
        Assert.Contains(changedFacts.Components, c => c.Name == "checkout-api");
        Assert.Equal(EventFacts.From(first, renamed).Components, changedFacts.Components);

        // The same text in another string (a record read afresh from the index) is parsed anew.
        var afresh = StoredEvents.Read(new SearchHit(new string(json.AsSpan()), null, null));
        Assert.NotSame(first, afresh);
        Assert.Equal((first.Id, first.Timestamp, first.Data), (afresh.Id, afresh.Timestamp, afresh.Data));
    }
}
