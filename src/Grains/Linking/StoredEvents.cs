using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
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

    public static (Event Event, EventFacts Facts) ReadWithFacts(SearchHit hit, ServiceCatalog catalog) => WithFacts(Get(hit), catalog);

    /// <summary>
    /// A symptom read for corroboration, which needs of its links only the investigation and the
    /// status: the links are read without their confidence, summary, strategies and reasons (most of a
    /// linked symptom's record; a symptom linked to ten investigations stores about 13 KB of them).
    /// Such an event must not be scored, shown or written: its links are incomplete. A record already
    /// parsed whole is taken as it is.
    /// </summary>
    public static (Event Event, EventFacts Facts) ReadSymptom(SearchHit hit, ServiceCatalog catalog) =>
        WithFacts(Table.TryGetValue(hit.Json, out var whole)
            ? whole
            : Symptoms.GetValue(hit.Json, json => new Parsed(JsonSerializer.Deserialize<Event>(json, SymptomOptions)!)), catalog);

    private static readonly ConditionalWeakTable<string, Parsed> Symptoms = new();

    private static readonly JsonSerializerOptions SymptomOptions = new(RootCauseJson.Options) { Converters = { new LinkStatusOnly() } };

    /// <summary>Reads a link's investigation and status and skips the rest of it.</summary>
    private sealed class LinkStatusOnly : JsonConverter<EventLink>
    {
        public override EventLink Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("A link is an object.");
            }
            Guid? investigation = null;
            var status = EventLinkStatus.Linked;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var name = reader.ValueTextEquals("investigation_id"u8) ? 1 : reader.ValueTextEquals("status"u8) ? 2 : 0;
                reader.Read();
                switch (name)
                {
                    case 1:
                        investigation = reader.GetGuid();
                        break;
                    case 2:
                        status = JsonSerializer.Deserialize<EventLinkStatus>(ref reader, options);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            return new EventLink { InvestigationId = investigation ?? throw new JsonException("A link names no investigation_id."), Status = status };
        }

        public override void Write(Utf8JsonWriter writer, EventLink value, JsonSerializerOptions options) =>
            throw new NotSupportedException("A link read for corroboration is never written.");
    }

    private static (Event Event, EventFacts Facts) WithFacts(Parsed parsed, ServiceCatalog catalog)
    {
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
