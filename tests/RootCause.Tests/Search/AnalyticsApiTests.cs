using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Search;

/// <summary>Every analytics endpoint equals a brute-force computation over the data the test wrote.</summary>
public sealed class AnalyticsApiTests(SearchFixture fixture) : IClassFixture<SearchFixture>
{
    private HttpClient A => fixture.Silos.Clients[0];
    private SearchDataset Data => fixture.Data;

    private static readonly DateTimeOffset Start = SearchDataset.Base.AddDays(-3);
    private static readonly DateTimeOffset End = SearchDataset.Base.AddDays(40);

    private static string Range(DateTimeOffset start, DateTimeOffset end) =>
        $"start={Uri.EscapeDataString(start.ToString("O", CultureInfo.InvariantCulture))}&end={Uri.EscapeDataString(end.ToString("O", CultureInfo.InvariantCulture))}";

    private async Task<JsonNode> GetAsync(string url)
    {
        var (status, body, _) = await A.GetJsonAsync(url);
        Assert.True(status == HttpStatusCode.OK, $"{url} answered {status}: {body?.ToJsonString()}");
        return body!;
    }

    private static DateTimeOffset WeekStart(DateTimeOffset t)
    {
        var day = t.UtcDateTime.Date;
        return new DateTimeOffset(day.AddDays(-(((int)day.DayOfWeek + 6) % 7)), TimeSpan.Zero);
    }

    private static DateTimeOffset DayStart(DateTimeOffset t) => new(t.UtcDateTime.Date, TimeSpan.Zero);

    [Theory]
    [InlineData("day", "")]
    [InlineData("week", "")]
    [InlineData("week", "&component=payments,auth")]
    [InlineData("day", "&status=resolved,closed&severity=critical,high")]
    public async Task TimelineEqualsBruteForce(string interval, string filters)
    {
        var body = await GetAsync($"/api/analytics/investigation-timeline?interval={interval}&{Range(Start, End)}{filters}");
        var predicate = Predicate(filters);
        Func<DateTimeOffset, DateTimeOffset> bucket = interval == "day" ? DayStart : WeekStart;
        var expected = Data.Investigations.Where(predicate).Where(i => i.DetectedAt >= bucket(Start) && i.DetectedAt <= End)
            .GroupBy(i => bucket(i.DetectedAt)).ToDictionary(g => g.Key, g => g.ToList());

        var buckets = body["buckets"]!.AsArray();
        // Every bucket from the one holding start to the one holding end, gaps included.
        var starts = buckets.Select(b => DateTimeOffset.Parse(b!["start"]!.GetValue<string>(), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(bucket(Start), starts[0]);
        Assert.Equal(bucket(End), starts[^1]);
        Assert.All(starts.Zip(starts.Skip(1)), p => Assert.Equal(interval == "day" ? TimeSpan.FromDays(1) : TimeSpan.FromDays(7), p.Second - p.First));
        foreach (var b in buckets)
        {
            var start = DateTimeOffset.Parse(b!["start"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            var inBucket = expected.GetValueOrDefault(start) ?? [];
            Assert.Equal(inBucket.Count, b["count"]!.GetValue<long>());
            foreach (var severity in SearchDataset.Severities)
            {
                Assert.Equal(inBucket.Count(i => i.Severity == severity), b["by"]![severity]!.GetValue<long>());
            }
        }
        Assert.Equal(expected.Values.Sum(l => l.Count), body["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task SeverityDistributionEqualsBruteForce()
    {
        var all = await GetAsync("/api/analytics/severity-distribution");
        var narrow = await GetAsync($"/api/analytics/severity-distribution?component=checkout-api,search&{Range(SearchDataset.Base, SearchDataset.Base.AddDays(20))}");
        foreach (var (body, items) in new[]
                 {
                     (all, Data.Investigations),
                     (narrow, Data.Investigations.Where(i => i.Component is "checkout-api" or "search"
                         && i.DetectedAt >= SearchDataset.Base && i.DetectedAt <= SearchDataset.Base.AddDays(20)).ToList()),
                 })
        {
            Assert.Equal(items.Count, body["total"]!.GetValue<long>());
            foreach (var severity in SearchDataset.Severities)
            {
                var count = items.Count(i => i.Severity == severity);
                Assert.Equal(count, body["counts"]![severity]!.GetValue<long>());
                Assert.Equal(Math.Round(100.0 * count / items.Count, 2), body["percentages"]![severity]!.GetValue<double>(), 2);
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("&component=payments")]
    public async Task MttrEqualsBruteForce(string filters)
    {
        var body = await GetAsync($"/api/analytics/mttr?{Range(Start, End)}{filters}");
        var resolved = Data.Investigations.Where(Predicate(filters)).Where(i => i.ResolvedAt is { } r && r >= Start && r <= End).ToList();
        AssertSummary(resolved, body["overall"]!);
        foreach (var severity in SearchDataset.Severities)
        {
            AssertSummary(resolved.Where(i => i.Severity == severity).ToList(), body["by_severity"]![severity]!);
        }
    }

    private static void AssertSummary(List<SeededInvestigation> items, JsonNode summary)
    {
        Assert.Equal(items.Count, summary["count"]!.GetValue<long>());
        if (items.Count == 0)
        {
            Assert.Null(summary["mean_seconds"]);
            return;
        }
        var seconds = items.Select(i => (i.ResolvedAt!.Value - i.DetectedAt).TotalSeconds).Order().ToList();
        var median = seconds.Count % 2 == 1 ? seconds[seconds.Count / 2] : (seconds[seconds.Count / 2 - 1] + seconds[seconds.Count / 2]) / 2;
        Assert.Equal(seconds.Average(), summary["mean_seconds"]!.GetValue<double>(), 3);
        Assert.Equal(median, summary["median_seconds"]!.GetValue<double>(), 3);
    }

    [Theory]
    [InlineData("day", "")]
    [InlineData("week", "&severity=critical,high,medium")]
    public async Task SourcesEqualBruteForce(string interval, string filters)
    {
        var body = await GetAsync($"/api/analytics/sources?interval={interval}&{Range(Start, End)}{filters}");
        Func<DateTimeOffset, DateTimeOffset> bucket = interval == "day" ? DayStart : WeekStart;
        var severities = filters.Length == 0 ? SearchDataset.EventSeverities : ["critical", "high", "medium"];
        var events = Data.Events.Where(e => severities.Contains(e.Severity) && e.Timestamp >= bucket(Start) && e.Timestamp <= End).ToList();
        Assert.Equal(events.Count, body["total"]!.GetValue<long>());
        foreach (var source in SearchDataset.Sources)
        {
            Assert.Equal(events.Count(e => e.Source == source), body["totals"]![source]!.GetValue<long>());
        }
        foreach (var b in body["buckets"]!.AsArray())
        {
            var start = DateTimeOffset.Parse(b!["start"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            var inBucket = events.Where(e => bucket(e.Timestamp) == start).ToList();
            Assert.Equal(inBucket.Count, b["count"]!.GetValue<long>());
            foreach (var source in SearchDataset.Sources)
            {
                Assert.Equal(inBucket.Count(e => e.Source == source), b["by"]![source]!.GetValue<long>());
            }
        }
    }

    [Fact]
    public async Task ComponentsEqualBruteForce()
    {
        var body = (await GetAsync("/api/analytics/components")).AsArray();
        var expected = Data.Investigations.GroupBy(i => i.Component)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Select(g => g.Key), body.Select(c => c!["component"]!.GetValue<string>()));
        foreach (var (group, row) in expected.Zip(body))
        {
            Assert.Equal(group.Count(), row!["count"]!.GetValue<long>());
            Assert.Equal(group.Count(i => i.Status is "open" or "in_progress"), row["open"]!.GetValue<long>());
            AssertSummary(group.Where(i => i.ResolvedAt is not null).ToList(), row["resolution"]!);
        }

        var limited = (await GetAsync("/api/analytics/components?limit=2&status=resolved")).AsArray();
        var expectedResolved = Data.Investigations.Where(i => i.Status == "resolved").GroupBy(i => i.Component)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(2).ToList();
        Assert.Equal(expectedResolved.Select(g => g.Key), limited.Select(c => c!["component"]!.GetValue<string>()));
        Assert.All(limited, row => Assert.Equal(0, row!["open"]!.GetValue<long>()));
    }

    private static Func<SeededInvestigation, bool> Predicate(string filters)
    {
        var parsed = filters.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(p => p.Split('=')[0], p => p.Split('=')[1].Split(',').ToHashSet());
        return i => (!parsed.TryGetValue("component", out var c) || c.Contains(i.Component))
                    && (!parsed.TryGetValue("status", out var s) || s.Contains(i.Status))
                    && (!parsed.TryGetValue("severity", out var v) || v.Contains(i.Severity));
    }
}
