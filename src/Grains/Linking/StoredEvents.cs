using System.Runtime.CompilerServices;
using System.Text.Json;
using RootCause.Catalog;
using RootCause.Common;
using RootCause.Events;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// Events parsed from the stored records the linker's index lookups return, with their facts for
/// the catalog version they were last read with. Keyed on the record's string itself: a keyed
/// lookup (<see cref="ISearchIndex.KeyedEvents"/>) or a lookup marked
/// <see cref="IndexQuery.NarrowFilters"/> hands out the same string for a document for as
/// long as the index's stored-record cache holds it, so a deployment or symptom read by many
/// lookups in a row is parsed once, and an entry goes when its string does. A record read afresh
/// (a changed event is a new document) is a new string, parsed anew. The objects are shared:
/// events and facts are immutable.
/// </summary>
public static class StoredEvents
{
    private sealed class Parsed(Event ev)
    {
        public Event Event { get; } = ev;

        /// <summary>The facts and the catalog version they were derived with: one reference, replaced whole, so readers on other threads never see a torn pair.</summary>
        public FactsFor? Facts;
    }

    private sealed record FactsFor(long Version, EventFacts Facts);

    private static readonly ConditionalWeakTable<string, Parsed> Table = new();

    public static Event Read(SearchHit hit) => Get(hit).Event;

    public static (Event Event, EventFacts Facts) ReadWithFacts(SearchHit hit, ServiceCatalog catalog)
    {
        var parsed = Get(hit);
        if (Volatile.Read(ref parsed.Facts) is { } known && known.Version == catalog.Version)
        {
            return (parsed.Event, known.Facts);
        }
        var facts = EventFacts.From(parsed.Event, catalog);
        Volatile.Write(ref parsed.Facts, new FactsFor(catalog.Version, facts));
        return (parsed.Event, facts);
    }

    private static Parsed Get(SearchHit hit) =>
        Table.GetValue(hit.Json, json => new Parsed(JsonSerializer.Deserialize<Event>(json, RootCauseJson.Options)!));
}
