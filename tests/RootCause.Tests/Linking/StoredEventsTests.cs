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

    private static string Record() => JsonSerializer.Serialize(new Event
    {
        Id = Guid.NewGuid(),
        Source = EventSource.Logs,
        SourceId = $"spike:{Guid.NewGuid():N}",
        EventType = "error_spike",
        Timestamp = DateTimeOffset.UtcNow,
        Data = """{"service":"checkout","count":120}""",
    }, RootCauseJson.Options);

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
