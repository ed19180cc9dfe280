using System.Net;
using System.Text.Json.Nodes;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Api;

/// <summary>
/// The list endpoints over real HTTP, on a silo pair with a database of their own so totals are exact.
/// </summary>
public sealed class ListApiTests(SiloPairFixture silos) : IClassFixture<SiloPairFixture>
{
    private HttpClient A => silos.Clients[0];
    private HttpClient B => silos.Clients[1];

    private static readonly SemaphoreSlim Seeding = new(1, 1);
    private static List<string>? _investigationIds;
    private static List<string>? _eventIds;

    /// <summary>25 investigations detected a minute apart and 12 events, created once for the class.</summary>
    private async Task SeedAsync()
    {
        await Seeding.WaitAsync();
        try
        {
            if (_investigationIds is not null)
            {
                return;
            }
            var investigations = new List<string>();
            for (var i = 0; i < 25; i++)
            {
                var (status, body, _) = await A.PostAsync("/api/investigations", $$"""{"title":"Incident {{i:D2}}","priority":"p2"}""");
                Assert.Equal(HttpStatusCode.Created, status);
                investigations.Add(body!["id"]!.GetValue<string>());
            }
            var events = new List<string>();
            for (var i = 0; i < 12; i++)
            {
                var (status, body, _) = await B.PostAsync("/api/events",
                    $$"""{"source":"ci","source_id":"list-{{i}}","event_type":"build_failed","timestamp":"2026-02-01T10:{{i:D2}}:00Z"}""");
                Assert.Equal(HttpStatusCode.Created, status);
                events.Add(body!["id"]!.GetValue<string>());
            }
            // Both silos' indexes follow the database; wait until each shows everything.
            foreach (var client in silos.Clients)
            {
                Assert.Equal(25, await Eventually.TotalAsync(client, "/api/investigations?per_page=1", 25));
                Assert.Equal(12, await Eventually.TotalAsync(client, "/api/events?per_page=1", 12));
            }
            _investigationIds = investigations;
            _eventIds = events;
        }
        finally
        {
            Seeding.Release();
        }
    }

    private static string[] Ids(JsonNode? body) => body!.AsArray().Select(n => n!["id"]!.GetValue<string>()).ToArray();

    private static string Header(HttpResponseMessage response, string name) => string.Join(",", response.Headers.GetValues(name));

    [Fact]
    public async Task InvestigationPagesCoverEveryRecordOnceNewestFirstWithHeaders()
    {
        await SeedAsync();
        var seen = new List<string>();
        var created = new List<DateTimeOffset>();
        for (var page = 1; page <= 3; page++)
        {
            var (status, body, response) = await (page % 2 == 0 ? B : A).GetJsonAsync($"/api/investigations?page={page}&per_page=10");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("25", Header(response, "X-Total-Count"));
            Assert.Equal(page.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(response, "X-Page"));
            Assert.Equal("10", Header(response, "X-Per-Page"));
            var link = Header(response, "Link");
            Assert.Contains("page=1&per_page=10>; rel=\"first\"", link, StringComparison.Ordinal);
            Assert.Contains("page=3&per_page=10>; rel=\"last\"", link, StringComparison.Ordinal);
            Assert.Equal(page < 3, link.Contains("rel=\"next\"", StringComparison.Ordinal));
            Assert.Equal(page > 1, link.Contains("rel=\"prev\"", StringComparison.Ordinal));
            seen.AddRange(Ids(body));
            created.AddRange(body!.AsArray().Select(n => DateTimeOffset.Parse(n!["created_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)));
        }
        Assert.Equal(25, seen.Count);
        Assert.Equal(_investigationIds!.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        // Newest first: the reverse of creation order. The index keeps milliseconds, and two records
        // created within the same one are ordered by id, not by creation.
        static long Millis(DateTimeOffset t) => t.ToUnixTimeMilliseconds();
        for (var i = 1; i < seen.Count; i++)
        {
            Assert.True(Millis(created[i - 1]) >= Millis(created[i]), $"position {i}: {created[i - 1]:O} before {created[i]:O}");
            if (Millis(created[i - 1]) > Millis(created[i]))
            {
                Assert.True(_investigationIds!.IndexOf(seen[i - 1]) > _investigationIds.IndexOf(seen[i]), $"position {i}: created earlier but listed first");
            }
        }
    }

    [Fact]
    public async Task APageBeyondTheLastIsEmptyButKeepsTheTotal()
    {
        await SeedAsync();
        var (status, body, response) = await A.GetJsonAsync("/api/investigations?page=9&per_page=10");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(body!.AsArray());
        Assert.Equal("25", Header(response, "X-Total-Count"));
        Assert.Contains("page=3&per_page=10>; rel=\"last\"", Header(response, "Link"), StringComparison.Ordinal);
        Assert.DoesNotContain("rel=\"next\"", Header(response, "Link"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DefaultPageSizeIsTwenty()
    {
        await SeedAsync();
        var (_, body, response) = await A.GetJsonAsync("/api/investigations");
        Assert.Equal(20, body!.AsArray().Count);
        Assert.Equal("20", Header(response, "X-Per-Page"));
        Assert.Equal("1", Header(response, "X-Page"));
    }

    [Fact]
    public async Task SoftDeletedRecordsLeaveTheListAndReturnWithIncludeDeletedOrRestore()
    {
        await SeedAsync();
        // Its own records, so the other tests' totals stay exact while this one runs.
        var (_, created, _) = await A.PostAsync("/api/events",
            """{"source":"manual","source_id":"list-deleted","event_type":"note","timestamp":"2026-03-01T00:00:00Z"}""");
        var id = created!["id"]!.GetValue<string>();
        Assert.Contains(id, await ListedOnBAsync(id, present: true));

        Assert.Equal(HttpStatusCode.NoContent, (await A.SendAsync(HttpMethod.Delete, $"/api/events/{id}")).Status);
        Assert.DoesNotContain(id, await ListedOnBAsync(id, present: false));
        var (_, withDeleted, _) = await B.GetJsonAsync("/api/events?per_page=100&include_deleted=true");
        var deleted = withDeleted!.AsArray().Single(e => e!["id"]!.GetValue<string>() == id);
        Assert.NotNull(deleted!["deleted_at"]?.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await A.SendAsync(HttpMethod.Post, $"/api/events/{id}/restore")).Status);
        Assert.Contains(id, await ListedOnBAsync(id, present: true));
        Assert.Equal(HttpStatusCode.NoContent, (await A.SendAsync(HttpMethod.Delete, $"/api/events/{id}")).Status);
        Assert.DoesNotContain(id, await ListedOnBAsync(id, present: false));
    }

    private Task<string[]> ListedOnBAsync(string id, bool present) =>
        Eventually.ReturnsAsync(async () => Ids((await B.GetJsonAsync("/api/events?per_page=100")).Body), ids => ids.Contains(id) == present);

    [Fact]
    public async Task EventsAreListedByTimestampNewestFirst()
    {
        await SeedAsync();
        var (status, body, response) = await A.GetJsonAsync("/api/events?per_page=5&page=2");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("12", Header(response, "X-Total-Count"));
        Assert.Equal(_eventIds!.AsEnumerable().Reverse().Skip(5).Take(5), Ids(body));
    }

    [Theory]
    [InlineData("/api/investigations?page=0", "page")]
    [InlineData("/api/investigations?page=-1", "page")]
    [InlineData("/api/investigations?page=two", "page")]
    [InlineData("/api/investigations?per_page=0", "per_page")]
    [InlineData("/api/investigations?per_page=1000", "per_page")]
    [InlineData("/api/investigations?per_page=1e3", "per_page")]
    [InlineData("/api/events?page=0", "page")]
    [InlineData("/api/events?per_page=101", "per_page")]
    [InlineData("/api/events?include_deleted=maybe", "include_deleted")]
    [InlineData("/api/investigations?include_deleted=maybe", "include_deleted")]
    public async Task BadPagingParametersAreNamedIn400(string url, string field)
    {
        var (status, problem, response) = await A.GetJsonAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal([field], problem.ErrorFields());
    }
}
