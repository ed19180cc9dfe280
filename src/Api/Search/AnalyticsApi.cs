using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using RootCause.Api.Common;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Api.Search;

/// <summary>
/// Analytics over the silo's search index. Each accepts the list filters of its record kind, and a
/// time range (<c>start</c>, <c>end</c>; ISO 8601). Times are bucketed in UTC; weeks start on Monday.
/// </summary>
public static class AnalyticsApi
{
    public const int MaxBuckets = 1000;
    private static readonly TimeSpan DefaultSpan = TimeSpan.FromDays(30);

    private static readonly IReadOnlyDictionary<string, BucketInterval> Intervals = new Dictionary<string, BucketInterval>(StringComparer.Ordinal)
    {
        ["hour"] = BucketInterval.Hour,
        ["day"] = BucketInterval.Day,
        ["week"] = BucketInterval.Week,
    };

    public static RouteGroupBuilder MapAnalytics(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/analytics").WithTags("Analytics");
        group.MapGet("/investigation-timeline", Timeline)
            .WithSummary("Investigations per day or week by a date field (detected_at by default), split by severity");
        group.MapGet("/severity-distribution", SeverityDistribution)
            .WithSummary("Investigations by impact severity, with shares");
        group.MapGet("/mttr", Mttr)
            .WithSummary("Mean and median time from detection to resolution, overall and by severity, for investigations resolved in the range");
        group.MapGet("/sources", Sources)
            .WithSummary("Events per time bucket, split by source");
        group.MapGet("/components", Components)
            .WithSummary("Investigations per component: total, still open, and mean time to resolution");
        return group;
    }

    /// <summary>start/end with defaults (the last 30 days up to now) and a bound on the bucket count.</summary>
    private static (DateTimeOffset Start, DateTimeOffset End) Window(QueryParams p, TimeProvider time, BucketInterval? interval)
    {
        var start = p.Date("start");
        var end = p.Date("end");
        var resolvedEnd = end ?? time.GetUtcNow();
        var resolvedStart = start ?? resolvedEnd - DefaultSpan;
        if (resolvedStart > resolvedEnd)
        {
            p.Errors.Add("start", "start must not be after end.");
            return (resolvedEnd, resolvedEnd);
        }
        if (interval is { } i && LuceneSearchIndexBuckets.Count(resolvedStart, resolvedEnd, i) > MaxBuckets)
        {
            p.Errors.Add("interval", $"start to end spans more than {MaxBuckets} buckets of one {i.ToString().ToLowerInvariant()}; choose a larger interval or a shorter range.");
        }
        return (resolvedStart, resolvedEnd);
    }

    private static Ok<TimelineResponse> Timeline(HttpContext context, ISearchIndex index, TimeProvider time)
    {
        var p = new QueryParams(context.Request);
        var interval = p.Choice("interval", Intervals, BucketInterval.Day);
        var field = p.Choice("field", QueryEndpoints.InvestigationDateFields, SearchFields.DetectedAt);
        var (start, end) = Window(p, time, interval);
        var query = QueryEndpoints.InvestigationFilters(p);
        p.ThrowIfAny();
        var buckets = index.Histogram(query, field, interval, start, end, SearchFields.ImpactSeverity);
        return TypedResults.Ok(new TimelineResponse(Name(interval), field, start, end, buckets.Sum(b => b.Count),
            [.. buckets.Select(b => new TimelineBucket(b.Start, b.Count, QueryEndpoints.Complete<ImpactSeverity>(b.By)))]));
    }

    private static Ok<DistributionResponse> SeverityDistribution(HttpContext context, ISearchIndex index)
    {
        var p = new QueryParams(context.Request);
        var field = p.Choice("field", QueryEndpoints.InvestigationDateFields, SearchFields.DetectedAt);
        var query = QueryEndpoints.InvestigationFilters(p) with { Range = p.Range(field, required: false) };
        p.ThrowIfAny();
        var counts = QueryEndpoints.Complete<ImpactSeverity>(index.CountBy(query, SearchFields.ImpactSeverity));
        var total = counts.Values.Sum();
        return TypedResults.Ok(new DistributionResponse(total, counts,
            counts.ToDictionary(c => c.Key, c => total == 0 ? 0 : Math.Round(100.0 * c.Value / total, 2), StringComparer.Ordinal)));
    }

    private static Ok<MttrResponse> Mttr(HttpContext context, ISearchIndex index, TimeProvider time)
    {
        var p = new QueryParams(context.Request);
        var (start, end) = Window(p, time, null);
        var query = QueryEndpoints.InvestigationFilters(p) with { Range = new DateRange(SearchFields.ResolvedAt, start, end) };
        p.ThrowIfAny();
        var durations = index.Durations(query, SearchFields.DetectedAt, SearchFields.ResolvedAt, SearchFields.ImpactSeverity);
        var bySeverity = Enum.GetValues<ImpactSeverity>().Select(RootCause.Common.RootCauseJson.Name)
            .ToDictionary(s => s, s => durations.GetValueOrDefault(s) ?? new DurationSummary(0, null, null), StringComparer.Ordinal);
        return TypedResults.Ok(new MttrResponse(start, end, durations[""], bySeverity));
    }

    private static Ok<SourcesResponse> Sources(HttpContext context, ISearchIndex index, TimeProvider time)
    {
        var p = new QueryParams(context.Request);
        var interval = p.Choice("interval", Intervals, BucketInterval.Day);
        var field = p.Choice("field", QueryEndpoints.EventDateFields, SearchFields.Timestamp);
        var (start, end) = Window(p, time, interval);
        var query = QueryEndpoints.EventFilters(p);
        p.ThrowIfAny();
        var buckets = index.Histogram(query, field, interval, start, end, SearchFields.Source);
        var completed = buckets.Select(b => new TimelineBucket(b.Start, b.Count, QueryEndpoints.Complete<EventSource>(b.By))).ToList();
        var totals = Enum.GetValues<EventSource>().Select(RootCause.Common.RootCauseJson.Name)
            .ToDictionary(s => s, s => completed.Sum(b => b.By[s]), StringComparer.Ordinal);
        return TypedResults.Ok(new SourcesResponse(Name(interval), field, start, end, completed.Sum(b => b.Count), totals, completed));
    }

    private static Ok<IReadOnlyList<ComponentSummary>> Components(HttpContext context, ISearchIndex index)
    {
        var p = new QueryParams(context.Request);
        var field = p.Choice("field", QueryEndpoints.InvestigationDateFields, SearchFields.DetectedAt);
        var limit = p.Int("limit", 50, 1, 1000);
        var query = QueryEndpoints.InvestigationFilters(p) with { Range = p.Range(field, required: false) };
        p.ThrowIfAny();
        var totals = index.CountBy(query, SearchFields.Component);
        var openFilters = new Dictionary<string, IReadOnlyList<string>>(query.Filters, StringComparer.Ordinal)
        {
            [SearchFields.Status] = [.. OpenStatuses(query.Filters.GetValueOrDefault(SearchFields.Status))],
        };
        var open = openFilters[SearchFields.Status].Count == 0
            ? new Dictionary<string, long>()
            : index.CountBy(query with { Filters = openFilters }, SearchFields.Component);
        var durations = index.Durations(query, SearchFields.DetectedAt, SearchFields.ResolvedAt, SearchFields.Component);
        IReadOnlyList<ComponentSummary> result = [.. totals
            .OrderByDescending(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal)
            .Take(limit)
            .Select(t => new ComponentSummary(t.Key, t.Value, open.GetValueOrDefault(t.Key),
                durations.GetValueOrDefault(t.Key) ?? new DurationSummary(0, null, null)))];
        return TypedResults.Ok(result);
    }

    /// <summary>open and in_progress, narrowed by a status filter the caller gave.</summary>
    private static IEnumerable<string> OpenStatuses(IReadOnlyList<string>? requested)
    {
        string[] open = [RootCause.Common.RootCauseJson.Name(InvestigationStatus.Open), RootCause.Common.RootCauseJson.Name(InvestigationStatus.InProgress)];
        return requested is null || requested.Count == 0 ? open : open.Intersect(requested, StringComparer.Ordinal);
    }

    private static string Name(BucketInterval interval) => interval.ToString().ToLowerInvariant();
}

/// <summary>Bucket arithmetic shared with the index.</summary>
internal static class LuceneSearchIndexBuckets
{
    public static long Count(DateTimeOffset start, DateTimeOffset end, BucketInterval interval)
    {
        var span = end - start;
        return interval switch
        {
            BucketInterval.Hour => (long)span.TotalHours + 2,
            BucketInterval.Day => (long)span.TotalDays + 2,
            _ => (long)(span.TotalDays / 7) + 2,
        };
    }
}

public sealed record TimelineBucket(DateTimeOffset Start, long Count, IReadOnlyDictionary<string, long> By);

public sealed record TimelineResponse(string Interval, string Field, DateTimeOffset Start, DateTimeOffset End, long Total, IReadOnlyList<TimelineBucket> Buckets);

public sealed record DistributionResponse(long Total, IReadOnlyDictionary<string, long> Counts, IReadOnlyDictionary<string, double> Percentages);

public sealed record MttrResponse(DateTimeOffset Start, DateTimeOffset End, DurationSummary Overall, IReadOnlyDictionary<string, DurationSummary> BySeverity);

public sealed record SourcesResponse(string Interval, string Field, DateTimeOffset Start, DateTimeOffset End, long Total,
    IReadOnlyDictionary<string, long> Totals, IReadOnlyList<TimelineBucket> Buckets);

public sealed record ComponentSummary(string Component, long Count, long Open, DurationSummary Resolution);
