using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RootCause.Api.Common;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Api.Search;

/// <summary>
/// Lists, searches, date ranges and counts, answered from the silo's search index. Records come
/// back exactly as the single-record endpoints return them.
/// </summary>
public static class QueryEndpoints
{
    internal static readonly IReadOnlyDictionary<string, string> InvestigationSorts = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["created_at"] = SearchFields.CreatedAt,
        ["updated_at"] = SearchFields.UpdatedAt,
        ["detected_at"] = SearchFields.DetectedAt,
        ["started_at"] = SearchFields.StartedAt,
        ["resolved_at"] = SearchFields.ResolvedAt,
        ["title"] = SearchFields.Title,
        ["status"] = SearchFields.Status,
        ["priority"] = SearchFields.PriorityRank,
        ["severity"] = SearchFields.SeverityRank,
        ["impact_severity"] = SearchFields.SeverityRank,
        ["component"] = SearchFields.Component,
    };

    internal static readonly IReadOnlyDictionary<string, string> EventSorts = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["timestamp"] = SearchFields.Timestamp,
        ["parsed_at"] = SearchFields.ParsedAt,
        ["linked_at"] = SearchFields.LinkedAt,
        ["severity"] = SearchFields.EventSeverityRank,
        ["source"] = SearchFields.Source,
        ["event_type"] = SearchFields.EventType,
    };

    internal static readonly IReadOnlyDictionary<string, string> InvestigationDateFields = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["detected_at"] = SearchFields.DetectedAt,
        ["started_at"] = SearchFields.StartedAt,
        ["resolved_at"] = SearchFields.ResolvedAt,
        ["created_at"] = SearchFields.CreatedAt,
        ["updated_at"] = SearchFields.UpdatedAt,
    };

    internal static readonly IReadOnlyDictionary<string, string> EventDateFields = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["timestamp"] = SearchFields.Timestamp,
        ["parsed_at"] = SearchFields.ParsedAt,
        ["linked_at"] = SearchFields.LinkedAt,
    };

    private static readonly IReadOnlyList<SortKey> NewestInvestigationsFirst = [new(SearchFields.CreatedAt, true)];
    private static readonly IReadOnlyList<SortKey> NewestEventsFirst = [new(SearchFields.Timestamp, true)];
    internal static readonly IReadOnlyList<SortKey> OldestEventsFirst = [new(SearchFields.Timestamp, false)];

    /// <summary>The filters every investigation query accepts (different filters AND, values of one OR).</summary>
    internal static IndexQuery InvestigationFilters(QueryParams p)
    {
        var filters = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
        {
            [SearchFields.Status] = p.EnumList<InvestigationStatus>("status"),
            [SearchFields.Priority] = p.EnumList<Priority>("priority"),
            [SearchFields.ImpactSeverity] = p.EnumList<ImpactSeverity>("severity"),
            [SearchFields.Component] = p.List("component"),
            [SearchFields.Service] = p.List("service"),
            [SearchFields.AssignedTo] = p.List("assigned_to"),
            [SearchFields.CreatedBy] = p.List("created_by"),
            [SearchFields.Tags] = p.List("tag"),
        };
        if (p.EnumList<ImpactSeverity>("impact_severity") is { Count: > 0 } severities)
        {
            filters[SearchFields.ImpactSeverity] = [.. filters[SearchFields.ImpactSeverity].Union(severities)];
        }
        return new IndexQuery
        {
            Kind = IndexedKind.Investigation,
            Filters = filters,
            IncludeDeleted = p.Bool("include_deleted"),
        };
    }

    internal static IndexQuery EventFilters(QueryParams p) => new()
    {
        Kind = IndexedKind.Event,
        Filters = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
        {
            [SearchFields.Source] = p.EnumList<EventSource>("source"),
            [SearchFields.EventSeverity] = p.EnumList<EventSeverity>("severity"),
            [SearchFields.EventType] = p.List("event_type"),
            [SearchFields.Tags] = p.List("tag"),
            [SearchFields.InvestigationIds] = p.GuidList("investigation_id"),
            [SearchFields.EventComponents] = p.List("component"),
            [SearchFields.SuggestedFor] = p.GuidList("suggested_for"),
        },
        IncludeDeleted = p.Bool("include_deleted"),
    };

    public static void MapInvestigationQueries(RouteGroupBuilder group)
    {
        group.MapGet("/", (HttpContext context, ISearchIndex index) => List(Investigations, context, index))
            .WithSummary("List investigations (filters status, priority, severity, component, service, assigned_to, created_by, tag, include_deleted; sort; page, per_page)")
            .Produces<IReadOnlyList<Investigation>>(StatusCodes.Status200OK, "application/json");
        group.MapGet("/search", (HttpContext context, ISearchIndex index) => Search(Investigations, context, index))
            .WithSummary("Full-text search over title, description, root cause, remediation, lessons, tags and notes, with scores and highlighted snippets")
            .Produces<IReadOnlyList<InvestigationSearchHit>>(StatusCodes.Status200OK, "application/json");
        group.MapGet("/by-date-range", (HttpContext context, ISearchIndex index) => ByDateRange(Investigations, context, index))
            .WithSummary("Investigations whose date field (detected_at by default) lies in [start, end]")
            .Produces<IReadOnlyList<Investigation>>(StatusCodes.Status200OK, "application/json");
        group.MapGet("/stats", InvestigationStats)
            .WithSummary("Counts by status, severity, priority and component, over the same filters as the list")
            .Produces<InvestigationStatsResponse>(StatusCodes.Status200OK, "application/json");
    }

    public static void MapEventQueries(RouteGroupBuilder group)
    {
        group.MapGet("/", (HttpContext context, ISearchIndex index) => List(Events, context, index))
            .WithSummary("List events (filters source, severity, event_type, tag, investigation_id, component, suggested_for, include_deleted; sort; page, per_page)")
            .Produces<IReadOnlyList<Event>>(StatusCodes.Status200OK, "application/json");
        group.MapGet("/search", (HttpContext context, ISearchIndex index) => Search(Events, context, index))
            .WithSummary("Full-text search over event type, tags and the text of data and metadata")
            .Produces<IReadOnlyList<EventSearchHit>>(StatusCodes.Status200OK, "application/json");
        group.MapGet("/by-date-range", (HttpContext context, ISearchIndex index) => ByDateRange(Events, context, index))
            .WithSummary("Events whose date field (timestamp by default) lies in [start, end]")
            .Produces<IReadOnlyList<Event>>(StatusCodes.Status200OK, "application/json");
    }

    /// <summary>What differs between the kinds' list, search and date-range endpoints.</summary>
    private sealed record KindQueries(
        Func<QueryParams, IndexQuery> Filters,
        IReadOnlyDictionary<string, string> Sorts,
        IReadOnlyList<SortKey> DefaultSort,
        IReadOnlyDictionary<string, string> DateFields,
        string DefaultDateField,
        string ItemName);

    private static readonly KindQueries Investigations = new(InvestigationFilters, InvestigationSorts, NewestInvestigationsFirst,
        InvestigationDateFields, SearchFields.DetectedAt, "investigation");

    private static readonly KindQueries Events = new(EventFilters, EventSorts, NewestEventsFirst,
        EventDateFields, SearchFields.Timestamp, "event");

    private static IResult List(KindQueries kind, HttpContext context, ISearchIndex index)
    {
        var p = new QueryParams(context.Request);
        var (page, perPage) = p.Paging();
        var query = kind.Filters(p) with { Sort = p.Sort(kind.Sorts, kind.DefaultSort), Page = page, PerPage = perPage, Cursor = p.Text("cursor", required: false) };
        p.ThrowIfAny();
        return ListResult(context, index.Search(query));
    }

    private static IResult Search(KindQueries kind, HttpContext context, ISearchIndex index)
    {
        var p = new QueryParams(context.Request);
        var text = p.Text("q", required: true);
        var (page, perPage) = p.Paging();
        var sorts = new Dictionary<string, string>(kind.Sorts, StringComparer.Ordinal) { ["score"] = SearchFields.Score, ["relevance"] = SearchFields.Score };
        var query = kind.Filters(p) with { Text = text, Sort = p.Sort(sorts, []), Page = page, PerPage = perPage, Highlight = true, Cursor = p.Text("cursor", required: false) };
        p.ThrowIfAny();
        return SearchResult(context, index.Search(query), kind.ItemName);
    }

    private static IResult ByDateRange(KindQueries kind, HttpContext context, ISearchIndex index)
    {
        var p = new QueryParams(context.Request);
        var field = p.Choice("field", kind.DateFields, kind.DefaultDateField);
        var range = p.Range(field, required: true);
        var (page, perPage) = p.Paging();
        var query = kind.Filters(p) with { Range = range, Sort = p.Sort(kind.Sorts, [new(field, true)]), Page = page, PerPage = perPage, Cursor = p.Text("cursor", required: false) };
        p.ThrowIfAny();
        return ListResult(context, index.Search(query));
    }

    private static IResult InvestigationStats(HttpContext context, ISearchIndex index)
    {
        var p = new QueryParams(context.Request);
        var field = p.Choice("field", InvestigationDateFields, SearchFields.DetectedAt);
        var query = InvestigationFilters(p) with { Range = p.Range(field, required: false), PerPage = 1 };
        p.ThrowIfAny();
        var byStatus = index.CountBy(query, SearchFields.Status);
        return TypedResults.Ok(new InvestigationStatsResponse(
            byStatus.Values.Sum(),
            Complete<InvestigationStatus>(byStatus),
            Complete<ImpactSeverity>(index.CountBy(query, SearchFields.ImpactSeverity)),
            Complete<Priority>(index.CountBy(query, SearchFields.Priority)),
            Sorted(index.CountBy(query, SearchFields.Component))));
    }

    /// <summary>Every value of the enum, zero when absent, in the enum's order.</summary>
    internal static IReadOnlyDictionary<string, long> Complete<TEnum>(IReadOnlyDictionary<string, long> counts) where TEnum : struct, Enum =>
        Enum.GetValues<TEnum>().Select(RootCauseJson.Name).ToDictionary(n => n, n => counts.GetValueOrDefault(n), StringComparer.Ordinal);

    /// <summary>Largest count first, then by name.</summary>
    internal static IReadOnlyDictionary<string, long> Sorted(IReadOnlyDictionary<string, long> counts) =>
        counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
            .Aggregate(new OrderedDictionaryBuilder(), (b, c) => b.Add(c.Key, c.Value)).Build();

    private sealed class OrderedDictionaryBuilder
    {
        private readonly System.Collections.Generic.OrderedDictionary<string, long> _items = new(StringComparer.Ordinal);

        public OrderedDictionaryBuilder Add(string key, long value)
        {
            _items[key] = value;
            return this;
        }

        public IReadOnlyDictionary<string, long> Build() => _items;
    }

    /// <summary>One page of events for <paramref name="filters"/>, with the list's paging and sort parameters and headers.</summary>
    internal static IResult EventPage(HttpContext context, ISearchIndex index, IReadOnlyDictionary<string, IReadOnlyList<string>> filters,
        IReadOnlyList<SortKey>? defaultSort = null)
    {
        var p = new QueryParams(context.Request);
        var (page, perPage) = p.Paging();
        var query = new IndexQuery { Kind = IndexedKind.Event, Filters = filters, Sort = p.Sort(EventSorts, defaultSort ?? NewestEventsFirst), Page = page, PerPage = perPage, Cursor = p.Text("cursor", required: false) };
        p.ThrowIfAny();
        return ListResult(context, index.Search(query));
    }

    private static IResult ListResult(HttpContext context, SearchPage page)
    {
        Paging.WriteHeaders(context, page);
        var json = new StringBuilder(page.Hits.Sum(h => h.Json.Length) + page.Hits.Count + 2).Append('[');
        for (var i = 0; i < page.Hits.Count; i++)
        {
            if (i > 0)
            {
                json.Append(',');
            }
            json.Append(page.Hits[i].Json);
        }
        return Results.Text(json.Append(']').ToString(), "application/json; charset=utf-8");
    }

    private static IResult SearchResult(HttpContext context, SearchPage page, string itemName)
    {
        Paging.WriteHeaders(context, page);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var hit in page.Hits)
            {
                writer.WriteStartObject();
                if (hit.Score is { } score)
                {
                    writer.WriteNumber("score", Math.Round(score, 4));
                }
                else
                {
                    writer.WriteNull("score");
                }
                writer.WriteStartObject("highlights");
                foreach (var (field, fragments) in hit.Highlights ?? new Dictionary<string, IReadOnlyList<string>>())
                {
                    writer.WriteStartArray(field);
                    foreach (var fragment in fragments)
                    {
                        writer.WriteStringValue(fragment);
                    }
                    writer.WriteEndArray();
                }
                writer.WriteEndObject();
                writer.WritePropertyName(itemName);
                writer.WriteRawValue(hit.Json, skipInputValidation: true);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        return Results.Bytes(buffer.ToArray(), "application/json; charset=utf-8");
    }
}

/// <summary>A search result: relevance score, highlighted snippets per field (HTML-escaped, matches in &lt;mark&gt;), the investigation.</summary>
public sealed record InvestigationSearchHit(double? Score, IReadOnlyDictionary<string, IReadOnlyList<string>> Highlights, Investigation Investigation);

/// <summary>A search result: relevance score, highlighted snippets per field, the event.</summary>
public sealed record EventSearchHit(double? Score, IReadOnlyDictionary<string, IReadOnlyList<string>> Highlights, Event Event);

/// <summary>Counts over the matching investigations.</summary>
public sealed record InvestigationStatsResponse(
    long Total,
    IReadOnlyDictionary<string, long> ByStatus,
    IReadOnlyDictionary<string, long> BySeverity,
    IReadOnlyDictionary<string, long> ByPriority,
    IReadOnlyDictionary<string, long> ByComponent);
