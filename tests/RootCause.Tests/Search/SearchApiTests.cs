using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Search;

/// <summary>
/// Lists, filters, sorting, date ranges and search over real HTTP, each answer compared with a
/// brute-force computation over the data the test wrote.
/// </summary>
public sealed class SearchApiTests(SearchFixture fixture) : IClassFixture<SearchFixture>
{
    private HttpClient A => fixture.Silos.Clients[0];
    private HttpClient B => fixture.Silos.Clients[1];
    private SearchDataset Data => fixture.Data;

    /// <summary>Every page of a list, in order, and the X-Total-Count of the first page.</summary>
    private static async Task<(List<JsonNode> Items, long Total)> AllPagesAsync(HttpClient client, string url)
    {
        var items = new List<JsonNode>();
        long total = -1;
        for (var page = 1; ; page++)
        {
            var separator = url.Contains('?', StringComparison.Ordinal) ? '&' : '?';
            var (status, body, response) = await client.GetJsonAsync($"{url}{separator}per_page=25&page={page}");
            Assert.True(status == HttpStatusCode.OK, $"{url} answered {status}: {body?.ToJsonString()}");
            var pageTotal = long.Parse(response.Headers.GetValues("X-Total-Count").First(), CultureInfo.InvariantCulture);
            if (total < 0)
            {
                total = pageTotal;
            }
            Assert.Equal(total, pageTotal);
            var array = body!.AsArray();
            items.AddRange(array.Select(n => n!));
            if (array.Count < 25)
            {
                return (items, total);
            }
        }
    }

    private static string Id(JsonNode node) => node["id"]!.GetValue<string>();

    public static TheoryData<string> InvestigationFilterCases() =>
    [
        "",
        "status=open",
        "status=open,in_progress",
        "status=resolved&status=closed",
        "priority=p0",
        "severity=critical,high",
        "impact_severity=low",
        "component=checkout-api",
        "component=CHECKOUT-API,auth",
        "service=identity",
        "assigned_to=alice",
        "created_by=erin",
        "tag=deploy",
        "tag=deploy,cache",
        "status=open,in_progress&severity=critical,high&component=payments,search",
        "tag=database&created_by=dave&priority=p1,p2",
        "component=no-such-component",
    ];

    private static Func<SeededInvestigation, bool> InvestigationPredicate(string query)
    {
        var filters = Parse(query);
        return i =>
            Matches(filters, "status", i.Status) && Matches(filters, "priority", i.Priority)
            && Matches(filters, "severity", i.Severity) && Matches(filters, "impact_severity", i.Severity)
            && Matches(filters, "component", i.Component) && Matches(filters, "service", i.Service)
            && Matches(filters, "assigned_to", i.AssignedTo) && Matches(filters, "created_by", i.CreatedBy)
            && (!filters.TryGetValue("tag", out var tags) || i.Tags.Any(t => tags.Contains(t)));
    }

    private static Dictionary<string, HashSet<string>> Parse(string query)
    {
        var filters = new Dictionary<string, HashSet<string>>();
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = (pair.Split('=')[0], pair.Split('=')[1]);
            if (!filters.TryGetValue(name, out var set))
            {
                filters[name] = set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            }
            set.UnionWith(value.Split(','));
        }
        return filters;
    }

    private static bool Matches(Dictionary<string, HashSet<string>> filters, string name, string? value) =>
        !filters.TryGetValue(name, out var accepted) || (value is not null && accepted.Contains(value));

    [Theory]
    [MemberData(nameof(InvestigationFilterCases))]
    public async Task InvestigationFiltersEqualBruteForce(string query)
    {
        var expected = Data.Investigations.Where(InvestigationPredicate(query))
            .OrderByDescending(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal).Select(i => i.Id).ToList();
        var (items, total) = await AllPagesAsync(A, "/api/investigations?" + query);
        Assert.Equal(expected.Count, total);
        Assert.Equal(expected, items.Select(Id).ToList());
    }

    public static TheoryData<string> EventFilterCases() =>
    [
        "",
        "source=git",
        "source=logs,metrics",
        "severity=critical,high",
        "event_type=build_failed",
        "event_type=commit,deployment",
        "tag=network",
        "component=payments",
        "source=ci,traces&severity=high,medium,low&component=auth,search",
    ];

    [Theory]
    [MemberData(nameof(EventFilterCases))]
    public async Task EventFiltersEqualBruteForce(string query)
    {
        var filters = Parse(query);
        var expected = Data.Events
            .Where(e => Matches(filters, "source", e.Source) && Matches(filters, "severity", e.Severity)
                        && Matches(filters, "event_type", e.EventType) && Matches(filters, "component", e.Component)
                        && (!filters.TryGetValue("tag", out var tags) || e.Tags.Any(t => tags.Contains(t))))
            .OrderByDescending(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal).Select(e => e.Id).ToList();
        var (items, total) = await AllPagesAsync(B, "/api/events?" + query);
        Assert.Equal(expected.Count, total);
        Assert.Equal(expected, items.Select(Id).ToList());
    }

    [Fact]
    public async Task EventsFilterByLinkedInvestigation()
    {
        var expected = Data.Events.Where(e => e.InvestigationIds.Contains(Data.LinkedInvestigationId)).Select(e => e.Id).Order().ToList();
        var (items, total) = await AllPagesAsync(A, $"/api/events?investigation_id={Data.LinkedInvestigationId}");
        Assert.Equal(9, total);
        Assert.Equal(expected, items.Select(Id).Order().ToList());
        Assert.All(items, e => Assert.Contains(Data.LinkedInvestigationId, e["investigation_ids"]!.AsArray().Select(x => x!.GetValue<string>())));
    }

    [Fact]
    public async Task SortsAreStableAndMatchBruteForce()
    {
        var byDetected = Data.Investigations.OrderBy(i => i.DetectedAt).ThenBy(i => i.Id, StringComparer.Ordinal).Select(i => i.Id);
        Assert.Equal(byDetected, (await AllPagesAsync(A, "/api/investigations?sort=detected_at")).Items.Select(Id));

        var byPriority = Data.Investigations.OrderByDescending(i => i.Priority, StringComparer.Ordinal).ThenByDescending(i => i.DetectedAt)
            .ThenBy(i => i.Id, StringComparer.Ordinal).Select(i => i.Id);
        Assert.Equal(byPriority, (await AllPagesAsync(B, "/api/investigations?sort=-priority,-detected_at")).Items.Select(Id));

        // Unresolved investigations have no resolved_at: they come last in either direction.
        var byResolved = Data.Investigations.OrderBy(i => i.ResolvedAt is null).ThenByDescending(i => i.ResolvedAt)
            .ThenBy(i => i.Id, StringComparer.Ordinal).Select(i => i.Id);
        Assert.Equal(byResolved, (await AllPagesAsync(A, "/api/investigations?sort=-resolved_at")).Items.Select(Id));

        var bySeverity = Data.Events.OrderBy(e => Array.IndexOf(SearchDataset.EventSeverities, e.Severity)).ThenBy(e => e.Timestamp)
            .ThenBy(e => e.Id, StringComparer.Ordinal).Select(e => e.Id);
        Assert.Equal(bySeverity, (await AllPagesAsync(A, "/api/events?sort=severity,timestamp")).Items.Select(Id));
    }

    [Fact]
    public async Task DateRangesAreInclusiveAndUseTheChosenField()
    {
        var start = SearchDataset.Base.AddDays(5);
        var end = SearchDataset.Base.AddDays(15);
        var url = $"start={Uri.EscapeDataString(start.ToString("O", CultureInfo.InvariantCulture))}&end={Uri.EscapeDataString(end.ToString("O", CultureInfo.InvariantCulture))}";

        var detected = Data.Investigations.Where(i => i.DetectedAt >= start && i.DetectedAt <= end)
            .OrderByDescending(i => i.DetectedAt).ThenBy(i => i.Id, StringComparer.Ordinal).Select(i => i.Id).ToList();
        Assert.NotEmpty(detected);
        Assert.Equal(detected, (await AllPagesAsync(A, "/api/investigations/by-date-range?" + url)).Items.Select(Id));

        var resolved = Data.Investigations.Where(i => i.ResolvedAt >= start && i.ResolvedAt <= end).Select(i => i.Id).Order().ToList();
        Assert.Equal(resolved, (await AllPagesAsync(A, "/api/investigations/by-date-range?field=resolved_at&" + url)).Items.Select(Id).Order());

        var events = Data.Events.Where(e => e.Timestamp >= start && e.Timestamp <= end && e.Source == "git").Select(e => e.Id).Order().ToList();
        Assert.Equal(events, (await AllPagesAsync(B, "/api/events/by-date-range?source=git&" + url)).Items.Select(Id).Order());

        // An investigation detected exactly at the boundary is inside.
        var exact = Data.Investigations[20];
        var at = Uri.EscapeDataString(exact.DetectedAt.ToString("O", CultureInfo.InvariantCulture));
        Assert.Contains(exact.Id, (await AllPagesAsync(A, $"/api/investigations/by-date-range?start={at}&end={at}")).Items.Select(Id));

        // Dates alone cover whole days: start=D&end=D is all of day D (UTC).
        var day = exact.DetectedAt.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var sameDay = Data.Investigations.Where(i => i.DetectedAt.UtcDateTime.Date == exact.DetectedAt.UtcDateTime.Date).Select(i => i.Id).Order();
        Assert.Equal(sameDay, (await AllPagesAsync(A, $"/api/investigations/by-date-range?start={day}&end={day}")).Items.Select(Id).Order());
    }

    [Fact]
    public async Task ATitleMatchOutranksADescriptionMatchAndSnippetsMarkTheTerm()
    {
        var (status, body, response) = await A.GetJsonAsync("/api/investigations/search?q=kafka");
        Assert.Equal(HttpStatusCode.OK, status);
        var hits = body!.AsArray();
        Assert.Equal("2", response.Headers.GetValues("X-Total-Count").First());
        Assert.Equal(Data.KafkaTitleId, hits[0]!["investigation"]!["id"]!.GetValue<string>());
        Assert.Equal(Data.KafkaBodyId, hits[1]!["investigation"]!["id"]!.GetValue<string>());
        Assert.True(hits[0]!["score"]!.GetValue<double>() > hits[1]!["score"]!.GetValue<double>());
        Assert.Contains("<mark>Kafka</mark>", hits[0]!["highlights"]!["title"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("<mark>kafka</mark>", hits[1]!["highlights"]!["description"]![0]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SearchFindsNotesStemsAndCombinesWithFilters()
    {
        var (_, notes, _) = await B.GetJsonAsync("/api/investigations/search?q=zephyrine");
        Assert.Equal(Data.NoteOnlyId, notes!.AsArray().Single()!["investigation"]!["id"]!.GetValue<string>());
        Assert.Contains("<mark>zephyrine</mark>", notes[0]!["highlights"]!["notes"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        // "leaks" finds "memory leak" (stemming); the component filter narrows it.
        var expected = Data.Investigations.Where(i => i.Title.Contains("memory leak", StringComparison.Ordinal) && i.Component == "payments")
            .Select(i => i.Id).Order().ToList();
        var (status, found, _) = await A.GetJsonAsync("/api/investigations/search?q=leaks+title:memory&component=payments&per_page=100");
        Assert.Equal(HttpStatusCode.OK, status);
        var ids = found!.AsArray().Select(h => h!["investigation"]!["id"]!.GetValue<string>()).Order().ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, ids);
        Assert.All(found.AsArray(), h => Assert.Equal("payments", h!["investigation"]!["component_affected"]!.GetValue<string>()));
    }

    [Fact]
    public async Task EventSearchCoversTypeTagsAndDataText()
    {
        var host = "host-3";
        var expected = Data.Events.Where((_, i) => i % 7 == 3).Select(e => e.Id).Order().ToList();
        var (_, hits, response) = await A.GetJsonAsync($"/api/events/search?q=%22{host}%22&per_page=100");
        Assert.Equal(expected.Count.ToString(CultureInfo.InvariantCulture), response.Headers.GetValues("X-Total-Count").First());
        Assert.Equal(expected, hits!.AsArray().Select(h => h!["event"]!["id"]!.GetValue<string>()).Order().ToList());
        // The snippets come from the data's text as it was indexed (derived again from the stored record).
        Assert.All(hits.AsArray(), h =>
        {
            var snippet = h!["highlights"]!["data"]![0]!.GetValue<string>();
            Assert.Contains("<mark>host</mark>-<mark>3</mark>", snippet, StringComparison.Ordinal);
            Assert.Contains(" observed on " + h["event"]!["data"]!["component"]!.GetValue<string>(), snippet, StringComparison.Ordinal);
        });

        var failed = Data.Events.Count(e => e.EventType == "build_failed");
        var (_, typeHits, typeResponse) = await B.GetJsonAsync("/api/events/search?q=build_failed");
        Assert.Equal(failed.ToString(CultureInfo.InvariantCulture), typeResponse.Headers.GetValues("X-Total-Count").First());
        Assert.All(typeHits!.AsArray(), h => Assert.Contains("<mark>", h!["highlights"]!["event_type"]![0]!.GetValue<string>(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task StatsEqualBruteForce()
    {
        var (status, stats, _) = await A.GetJsonAsync("/api/investigations/stats");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Data.Investigations.Count, stats!["total"]!.GetValue<long>());
        foreach (var s in SearchDataset.Statuses)
        {
            Assert.Equal(Data.Investigations.Count(i => i.Status == s), stats["by_status"]![s]!.GetValue<long>());
        }
        foreach (var s in SearchDataset.Severities)
        {
            Assert.Equal(Data.Investigations.Count(i => i.Severity == s), stats["by_severity"]![s]!.GetValue<long>());
        }
        foreach (var p in SearchDataset.Priorities)
        {
            Assert.Equal(Data.Investigations.Count(i => i.Priority == p), stats["by_priority"]![p]!.GetValue<long>());
        }
        var components = Data.Investigations.GroupBy(i => i.Component).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(components.OrderBy(c => c.Key), stats["by_component"]!.AsObject().Select(p => KeyValuePair.Create(p.Key, p.Value!.GetValue<long>())).OrderBy(c => c.Key));

        var (_, filtered, _) = await B.GetJsonAsync("/api/investigations/stats?component=payments&status=open,resolved");
        Assert.Equal(Data.Investigations.Count(i => i.Component == "payments" && i.Status is "open" or "resolved"), filtered!["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task BothSilosAnswerIdentically()
    {
        string[] urls =
        [
            "/api/investigations?status=open,in_progress&sort=-detected_at&per_page=30",
            "/api/investigations/search?q=latency OR pool&per_page=50",
            "/api/events?source=logs,traces&page=2&per_page=10",
            "/api/investigations/stats",
            "/api/analytics/investigation-timeline?start=2026-03-01&end=2026-04-15&interval=week",
            "/api/analytics/components",
        ];
        foreach (var url in urls)
        {
            var (statusA, bodyA, responseA) = await A.GetJsonAsync(url);
            var (statusB, bodyB, responseB) = await B.GetJsonAsync(url);
            Assert.Equal(HttpStatusCode.OK, statusA);
            Assert.Equal(statusA, statusB);
            Assert.Equal(bodyA!.ToJsonString(), bodyB!.ToJsonString());
            Assert.Equal(responseA.Headers.TryGetValues("X-Total-Count", out var a) ? a.First() : "", responseB.Headers.TryGetValues("X-Total-Count", out var b) ? b.First() : "");
        }
    }

    [Fact]
    public async Task ReadYourWritesMakesAChangeVisibleOnTheAnsweringSilo()
    {
        var (status, created, response) = await B.PostAsync("/api/investigations?refresh=wait_for",
            """{"title":"Quokka outage in the read path","component_affected":"ryw-test"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("true", response.Headers.GetValues("X-Index-Visible").First());
        var (_, listed, _) = await B.GetJsonAsync("/api/investigations?component=ryw-test");
        Assert.Equal(created!["id"]!.GetValue<string>(), Id(listed!.AsArray().Single()!));

        var id = created["id"]!.GetValue<string>();
        var (deleteStatus, _, deleteResponse) = await B.SendAsync(HttpMethod.Delete, $"/api/investigations/{id}?refresh=wait_for");
        Assert.Equal(HttpStatusCode.NoContent, deleteStatus);
        Assert.Equal("true", deleteResponse.Headers.GetValues("X-Index-Visible").First());
        var (_, afterDelete, _) = await B.GetJsonAsync("/api/investigations?component=ryw-test");
        Assert.Empty(afterDelete!.AsArray());
        await Eventually.TotalAsync(A, "/api/investigations?component=ryw-test", 0);
    }

    [Fact]
    public async Task ManyConcurrentWaitsOnOneRecordAllComplete()
    {
        var (_, created, _) = await A.PostAsync("/api/investigations", """{"title":"Concurrent notes","component_affected":"ryw-many"}""");
        var id = created!["id"]!.GetValue<string>();
        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(i =>
            A.PostAsync($"/api/investigations/{id}/notes?refresh=wait_for", $$"""{"author":"bot","body":"note {{i}}"}""")));
        Assert.All(responses, r =>
        {
            Assert.Equal(HttpStatusCode.Created, r.Status);
            Assert.Equal("true", r.Response.Headers.GetValues("X-Index-Visible").First());
        });
        var (_, found, _) = await A.GetJsonAsync("/api/investigations?component=ryw-many");
        Assert.Equal(24, found!.AsArray().Single()!["note_count"]!.GetValue<int>());
        // Leave the shared data set as it was for the brute-force tests.
        Assert.Equal(HttpStatusCode.NoContent, (await A.SendAsync(HttpMethod.Delete, $"/api/investigations/{id}?refresh=wait_for")).Status);
        await Eventually.TotalAsync(B, "/api/investigations?component=ryw-many", 0);
    }

    public static TheoryData<string, string> BadQueries() => new()
    {
        { "/api/investigations?status=done", "status" },
        { "/api/investigations?status=open,nope", "status" },
        { "/api/investigations?priority=p9", "priority" },
        { "/api/investigations?severity=sev1", "severity" },
        { "/api/investigations?sort=colour", "sort" },
        { "/api/investigations?page=0", "page" },
        { "/api/investigations?per_page=1000", "per_page" },
        { "/api/investigations?page=5000&per_page=100", "page" },
        { "/api/investigations/search", "q" },
        { "/api/investigations/search?q=title:(unclosed", "q" },
        { "/api/investigations/search?q=*leading", "q" },
        { "/api/investigations/search?q=%22unterminated", "q" },
        { "/api/investigations/by-date-range?start=2026-01-01", "end" },
        { "/api/investigations/by-date-range?start=yesterday&end=2026-01-01", "start" },
        { "/api/investigations/by-date-range?start=2026-02-01&end=2026-01-01", "start" },
        { "/api/investigations/by-date-range?start=2026-01-01&end=2026-02-01&field=eta", "field" },
        { "/api/events?source=email", "source" },
        { "/api/events?severity=fatal", "severity" },
        { "/api/events?investigation_id=not-a-guid", "investigation_id" },
        { "/api/events/search?q=AND", "q" },
        { "/api/events/by-date-range?start=2026-13-01&end=2026-12-31", "start" },
        { "/api/analytics/investigation-timeline?interval=month", "interval" },
        { "/api/analytics/investigation-timeline?interval=hour&start=2020-01-01&end=2026-01-01", "interval" },
        { "/api/analytics/mttr?start=2026-05-01&end=2026-04-01", "start" },
        { "/api/analytics/sources?end=banana", "end" },
        { "/api/analytics/components?limit=0", "limit" },
        { "/api/investigations?include_deleted=perhaps", "include_deleted" },
        { "/api/investigations?refresh=now", "" },
    };

    [Theory]
    [MemberData(nameof(BadQueries))]
    public async Task BadParametersAreNamedIn400(string url, string field)
    {
        var (status, problem, response) = await A.GetJsonAsync(url);
        if (field.Length == 0)
        {
            // refresh only applies to writes; on a read it is ignored.
            Assert.Equal(HttpStatusCode.OK, status);
            return;
        }
        Assert.True(status == HttpStatusCode.BadRequest, $"{url} answered {status}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(field, problem.ErrorFields());
    }

    [Fact]
    public async Task AnUnknownRefreshModeOnAWriteIs400AndWritesNothing()
    {
        var (status, problem, _) = await A.PostAsync("/api/investigations?refresh=eventually", """{"title":"never stored"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(["refresh"], problem.ErrorFields());
        var (_, found, _) = await A.GetJsonAsync("/api/investigations/search?q=%22never+stored%22");
        Assert.Empty(found!.AsArray());
    }

    [Fact]
    public async Task NoQueryStringCausesA500()
    {
        string[] queries =
        [
            "\"", "(", ")", "a AND", "OR", "NOT", "title:", ":", "[a TO", "{* TO *}", "~", "a~~", "\\", "a:b:c", "/regex", "/unterminated",
            "+-", "&&", "||", "!", "^2", "a^", "a^x", "title:[2026 TO]", "*", "?", "te?t*", "x*y*z*", "\u0000", "naïve café ☕", "🔥🔥",
            new string('(', 300), new string('a', 999), string.Join(" OR ", Enumerable.Range(0, 400).Select(i => $"w{i}")),
            "field_that_does_not_exist:value", "\"phrase with ~ slop\"~abc", "a AND (b OR", "notes:\"", "%", "%%", "'; DROP TABLE orleans_storage; --",
        ];
        foreach (var q in queries)
        {
            foreach (var path in new[] { "/api/investigations/search", "/api/events/search" })
            {
                var (status, body, _) = await A.GetJsonAsync($"{path}?q={Uri.EscapeDataString(q)}");
                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"q={q} on {path} answered {status}: {body?.ToJsonString()}");
                if (status == HttpStatusCode.BadRequest)
                {
                    Assert.Equal(["q"], body.ErrorFields());
                }
            }
        }
    }
}
