using System.Net;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Api;

[Collection(SiloPairCollection.Name)]
public sealed class EventsApiTests(SiloPairFixture silos)
{
    private HttpClient A => silos.Clients[0];
    private HttpClient B => silos.Clients[1];

    private static string Body(string sourceId) => $$$"""
        {"source":"ci","source_id":"{{{sourceId}}}","event_type":"build_failed","timestamp":"2026-01-10T09:40:00Z",
         "severity":"high","data":{"workflow":"integration-tests","failed_step":"contract tests","attempt":2},
         "tags":["checkout-api"],"metadata":{"receiver":"github"}}
        """;

    [Fact]
    public async Task IngestingTheSameSourceIdTwiceReturnsTheSameEvent()
    {
        var sourceId = $"actions/run/{Guid.NewGuid():N}";
        var (created, first, response) = await A.PostAsync("/api/events", Body(sourceId));
        var (again, second, _) = await B.PostAsync("/api/events", Body(sourceId));

        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.Equal(first!["id"]!.GetValue<string>(), second!["id"]!.GetValue<string>());
        Assert.Equal($"/api/events/{first["id"]}", response.Headers.Location!.OriginalString);
        Assert.Equal("""{"workflow":"integration-tests","failed_step":"contract tests","attempt":2}""", second["data"]!.ToJsonString());
        Assert.Equal("""{"receiver":"github"}""", second["metadata"]!.ToJsonString());
        Assert.Equal("ci", second["source"]!.GetValue<string>());
        Assert.Equal(sourceId, second["source_id"]!.GetValue<string>());
        Assert.Equal("high", second["severity"]!.GetValue<string>());
        Assert.NotNull(second["parsed_at"]?.GetValue<string>());
        Assert.Null(second["linked_at"]?.GetValue<string>());
        Assert.Equal("[]", second["investigation_ids"]!.ToJsonString());
    }

    [Fact]
    public async Task ManualEventsNeedNoSourceIdAndGetDistinctIds()
    {
        const string manual = """{"source":"manual","event_type":"customer_report","data":{"ticket":"SUP-1"}}""";
        var (s1, e1, _) = await A.PostAsync("/api/events", manual);
        var (s2, e2, _) = await A.PostAsync("/api/events", manual);
        Assert.Equal(HttpStatusCode.Created, s1);
        Assert.Equal(HttpStatusCode.Created, s2);
        Assert.NotEqual(e1!["id"]!.GetValue<string>(), e2!["id"]!.GetValue<string>());
        Assert.Equal("info", e1["severity"]!.GetValue<string>());
    }

    [Fact]
    public async Task InvalidEventsAreAnsweredWith400NamingTheField()
    {
        var cases = new (string Body, string Field)[]
        {
            ("""{"source_id":"x","event_type":"commit"}""", "source"),
            ("""{"source":"svn","source_id":"x","event_type":"commit"}""", "source"),
            ("""{"source":"git","event_type":"commit"}""", "source_id"),
            ("""{"source":"git","source_id":"x"}""", "event_type"),
            ("""{"source":"git","source_id":"x","event_type":"a commit"}""", "event_type"),
            ("""{"source":"git","source_id":"x","event_type":"commit","severity":"fatal"}""", "severity"),
            ("""{"source":"git","source_id":"x","event_type":"commit","data":[1,2]}""", "data"),
            ("""{"source":"git","source_id":"x","event_type":"commit","metadata":"text"}""", "metadata"),
            ("""{"source":"git","source_id":"x","event_type":"commit","timestamp":"2999-01-01T00:00:00Z"}""", "timestamp"),
            ("""{"source":"git","source_id":"x","event_type":"commit","timestamp":"soon"}""", "timestamp"),
            ("""{"source":"git","source_id":"x","event_type":"commit","tags":[""]}""", "tags"),
            ($$"""{"source":"git","source_id":"{{new string('s', 513)}}","event_type":"commit"}""", "source_id"),
        };
        foreach (var (body, field) in cases)
        {
            var (status, problem, _) = await A.PostAsync("/api/events", body);
            Assert.True(status == HttpStatusCode.BadRequest, $"{body} gave {status}");
            Assert.Contains(field, problem.ErrorFields());
        }
    }

    [Fact]
    public async Task UpdateDeleteAndRestoreFollowTheVersionAndSoftDeleteRules()
    {
        var (_, created, _) = await A.PostAsync("/api/events", Body($"run/{Guid.NewGuid():N}"));
        var url = $"/api/events/{created!["id"]}";
        const string changes = """{"event_type":"build_failed","severity":"critical","tags":["checkout-api","flaky"],"data":{"attempt":3}}""";

        Assert.Equal((HttpStatusCode)428, (await A.SendAsync(HttpMethod.Put, url, changes)).Status);
        var (updated, body, response) = await B.SendAsync(HttpMethod.Put, url, changes, ifMatch: "\"1\"");
        Assert.Equal(HttpStatusCode.OK, updated);
        Assert.Equal("critical", body!["severity"]!.GetValue<string>());
        Assert.Equal("""{"attempt":3}""", body["data"]!.ToJsonString());
        Assert.Equal("ci", body["source"]!.GetValue<string>());
        Assert.Equal("\"2\"", response.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await A.SendAsync(HttpMethod.Put, url, changes, ifMatch: "\"1\"")).Status);

        Assert.Equal(HttpStatusCode.NoContent, (await A.SendAsync(HttpMethod.Delete, url)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await B.GetJsonAsync(url)).Status);
        Assert.Equal(HttpStatusCode.OK, (await B.GetJsonAsync($"{url}?include_deleted=true")).Status);
        var (restored, restoredBody, _) = await B.SendAsync(HttpMethod.Post, $"{url}/restore");
        Assert.Equal(HttpStatusCode.OK, restored);
        Assert.Null(restoredBody!["deleted_at"]?.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await A.GetJsonAsync(url)).Status);
    }

    [Fact]
    public async Task UnknownEventsAre404()
    {
        var id = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.NotFound, (await A.GetJsonAsync($"/api/events/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await A.SendAsync(HttpMethod.Put, $"/api/events/{id}", """{"event_type":"x","version":1}""")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await A.SendAsync(HttpMethod.Delete, $"/api/events/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await A.SendAsync(HttpMethod.Post, $"/api/events/{id}/restore")).Status);
    }
}
