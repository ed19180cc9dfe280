using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Logs;

/// <summary>
/// The pulled inputs: a real file tailed through appends, rotation and truncation, and Loki and
/// Elasticsearch played by in-test HTTP servers that answer in their documented shapes (no real
/// Loki or Elasticsearch runs here).
/// </summary>
[Collection(ConnectorSiloCollection.Name)]
public sealed class LogsPullTests(ConnectorSiloFixture silo) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rootcause-logs-").FullName;

    private HttpClient Http => silo.Http;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    internal static async Task<JsonNode> EventAsync(HttpClient http, Guid id)
    {
        var (status, body, _) = await http.GetJsonAsync($"/api/events/{id}");
        Assert.True(status == HttpStatusCode.OK, $"event {id}: {status}");
        return body!;
    }

    internal static async Task<JsonNode> SyncAsync(HttpClient http, string connector)
    {
        var (status, run, _) = await http.SendAsync(HttpMethod.Post, $"/api/admin/connectors/{connector}/sync?wait=true");
        Assert.True(status == HttpStatusCode.OK, run?.ToJsonString());
        return run!;
    }

    private static (string State, long Found, long Created, long Existing) Counts(JsonNode run) =>
        ((string)run["state"]!, (long)run["found"]!, (long)run["created"]!, (long)run["existing"]!);

    private static string Line(string service, string message) =>
        $$"""{"level":50,"time":{{DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds()}},"name":"{{service}}","msg":"{{message}}"}""" + "\n";

    private static async Task PutAsync(HttpClient http, string name, string config)
    {
        var (status, body, _) = await http.SendAsync(HttpMethod.Put, $"/api/admin/connectors/{name}", config);
        Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Created, body?.ToJsonString());
    }

    [Fact]
    public async Task ATailedFileIsReadThroughAppendsAHalfWrittenLineRotationAndTruncation()
    {
        var service = "worker-" + Guid.NewGuid().ToString("N")[..8];
        var path = Path.Combine(_directory, "app.log");
        var name = "tail-" + service;
        await File.WriteAllTextAsync(path, Line(service, "first") + Line(service, "second") + Line(service, "third"));
        await PutAsync(Http, name, $$"""{"kind":"logs","input":"file","path":"{{path}}","keep_errors":"all"}""");

        var initial = Counts(await SyncAsync(Http, name));
        var again = Counts(await SyncAsync(Http, name));
        await File.AppendAllTextAsync(path, Line(service, "fourth") + Line(service, "fifth")[..20]);
        var appended = Counts(await SyncAsync(Http, name));
        // The writer finishes its line, writes one more, and the file is rotated (renamed) under a new one.
        await File.AppendAllTextAsync(path, Line(service, "fifth")[20..] + Line(service, "sixth"));
        File.Move(path, path + ".1");
        await File.WriteAllTextAsync(path, Line(service, "seventh"));
        var rotated = Counts(await SyncAsync(Http, name));
        // Truncated in place (copytruncate) and written afresh.
        await File.WriteAllTextAsync(path, Line(service, "eighth"));
        var truncated = Counts(await SyncAsync(Http, name));

        Assert.Equal(("succeeded", 3L, 3L, 0L), initial);
        Assert.Equal(("succeeded", 0L, 0L, 0L), again);
        Assert.Equal(("succeeded", 1L, 1L, 0L), appended);
        Assert.Equal(("succeeded", 3L, 3L, 0L), rotated);
        Assert.Equal(("succeeded", 1L, 1L, 0L), truncated);
        var (_, info, _) = await Http.GetJsonAsync($"/api/admin/connectors/{name}");
        Assert.EndsWith($":{new FileInfo(path).Length}", (string?)info!["cursor"]!["position"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task TailingResumesAfterASiloRestartWithoutGapOrDuplicate()
    {
        var service = "restart-" + Guid.NewGuid().ToString("N")[..8];
        var path = Path.Combine(_directory, "restart.log");
        var connection = await TestDatabase.CreateAsync("logs-restart", migrate: false);
        await File.WriteAllTextAsync(path, Line(service, "a") + Line(service, "b"));
        var (first, firstHttp) = await ConnectorSiloFixture.StartSiloAsync(connection, "logs-a-" + Guid.NewGuid().ToString("N")[..6]);
        (string, long, long, long) before;
        try
        {
            await PutAsync(firstHttp, "tail", $$"""{"kind":"logs","input":"file","path":"{{path}}","keep_errors":"all"}""");
            before = Counts(await SyncAsync(firstHttp, "tail"));
        }
        finally
        {
            await ConnectorSiloFixture.StopAsync(first, firstHttp);
        }
        await File.AppendAllTextAsync(path, Line(service, "c") + Line(service, "d") + Line(service, "e"));
        var (second, secondHttp) = await ConnectorSiloFixture.StartSiloAsync(connection, "logs-b-" + Guid.NewGuid().ToString("N")[..6]);
        try
        {
            var after = Counts(await SyncAsync(secondHttp, "tail"));

            Assert.Equal(("succeeded", 2L, 2L, 0L), before);
            Assert.Equal(("succeeded", 3L, 3L, 0L), after);
        }
        finally
        {
            await ConnectorSiloFixture.StopAsync(second, secondHttp);
        }
    }

    /// <summary>A Kestrel server on a free loopback port, answering what the test maps.</summary>
    internal static async Task<WebApplication> FakeUpstreamAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task LokiQueryRangeIsPagedForwardWithoutRereadingEntriesAtAPageBoundary()
    {
        var service = "search-" + Guid.NewGuid().ToString("N")[..8];
        var baseNs = (DateTimeOffset.UtcNow.AddMinutes(-5) - DateTimeOffset.UnixEpoch).Ticks * 100;
        // Seven entries in two streams; entries 3 and 4 share one nanosecond, where the first page (3) ends.
        var entries = new List<(string Stream, long Ns, string Line)>
        {
            ("api", baseNs, "ERROR failed 1"), ("worker", baseNs + 1000, """{"level":"error","msg":"failed 2"}"""),
            ("api", baseNs + 2000, "ERROR failed 3"), ("worker", baseNs + 2000, """{"level":"error","msg":"failed 4"}"""),
            ("api", baseNs + 3000, "ERROR failed 5"), ("api", baseNs + 4000, "ERROR failed 6"), ("worker", baseNs + 5000, "FATAL failed 7"),
        };
        var requests = new List<string>();
        await using var loki = await FakeUpstreamAsync(app => app.MapGet("/loki/api/v1/query_range", (HttpContext context) =>
        {
            var q = context.Request.Query;
            lock (requests)
            {
                requests.Add(context.Request.QueryString.Value!);
            }
            var start = long.Parse(q["start"]!, CultureInfo.InvariantCulture);
            var end = long.Parse(q["end"]!, CultureInfo.InvariantCulture);
            var limit = int.Parse(q["limit"]!, CultureInfo.InvariantCulture);
            List<(string Stream, long Ns, string Line)> page;
            lock (entries)
            {
                page = entries.Where(e => e.Ns >= start && e.Ns < end).OrderBy(e => e.Ns).Take(limit).ToList();
            }
            var result = new JsonArray();
            foreach (var stream in page.GroupBy(e => e.Stream))
            {
                var values = new JsonArray();
                foreach (var e in stream)
                {
                    values.Add(new JsonArray(e.Ns.ToString(CultureInfo.InvariantCulture), e.Line));
                }
                result.Add(new JsonObject { ["stream"] = new JsonObject { ["service_name"] = $"{service}-{stream.Key}", ["namespace"] = "shop" }, ["values"] = values });
            }
            return Results.Content(new JsonObject
            {
                ["status"] = "success",
                ["data"] = new JsonObject { ["resultType"] = "streams", ["result"] = result, ["stats"] = new JsonObject { ["summary"] = new JsonObject { ["totalEntriesReturned"] = page.Count } } },
            }.ToJsonString(), "application/json");
        }));
        var url = loki.Urls.First();
        await PutAsync(Http, service, $$"""{"kind":"logs","input":"loki","url":"{{url}}","query":"{namespace=\"shop\"}","page_size":3,"keep_errors":"all"}""");

        var first = Counts(await SyncAsync(Http, service));
        var second = Counts(await SyncAsync(Http, service));
        lock (entries)
        {
            entries.Add(("api", baseNs + 6000, "ERROR failed 8"));
        }
        var third = Counts(await SyncAsync(Http, service));

        Assert.Equal(("succeeded", 7L, 7L, 0L), first);
        Assert.Equal(("succeeded", 0L, 0L, 0L), second);
        Assert.Equal(("succeeded", 1L, 1L, 0L), third);

        // A backfill reads a range again without moving the cursor: what is stored is found, not duplicated.
        var (_, before, _) = await Http.GetJsonAsync($"/api/admin/connectors/{service}");
        Assert.NotNull(before!["cursor"]);
        var from = DateTimeOffset.UnixEpoch.AddTicks(baseNs / 100).AddSeconds(-1);
        var (status, backfill, _) = await Http.SendAsync(HttpMethod.Post, $"/api/admin/connectors/{service}/backfill?wait=true",
            $$"""{"from":"{{from:O}}","to":"{{DateTimeOffset.UtcNow:O}}"}""");
        Assert.True(status == HttpStatusCode.OK, backfill?.ToJsonString());
        Assert.Equal(("succeeded", 8L, 0L, 8L), Counts(backfill!));
        var (_, after, _) = await Http.GetJsonAsync($"/api/admin/connectors/{service}");
        Assert.Equal(before!["cursor"]?.ToJsonString(), after!["cursor"]?.ToJsonString());
        Assert.All(requests, r => Assert.Contains("direction=forward", r, StringComparison.Ordinal));
        Assert.Contains(requests, r => r.Contains($"start={baseNs + 2000}&", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ElasticsearchSearchIsPagedWithSearchAfter()
    {
        var service = "es-" + Guid.NewGuid().ToString("N")[..8];
        var baseMs = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds();
        var docs = Enumerable.Range(0, 5).Select(i => (Id: $"doc-{i}", Ms: baseMs + (i / 2) * 1000, Doc: i)).ToList();
        var bodies = new List<JsonNode>();
        await using var es = await FakeUpstreamAsync(app => app.MapPost("/logs-app-*/_search", async (HttpContext context) =>
        {
            var body = (await JsonNode.ParseAsync(context.Request.Body))!;
            lock (bodies)
            {
                bodies.Add(body);
            }
            var size = (int)body["size"]!;
            var range = body["query"]!["bool"]!["filter"]![0]!["range"]!["@timestamp"]!;
            var gte = (long)range["gte"]!;
            var after = body["search_after"]?.AsArray();
            var hits = docs.Where(d => d.Ms >= gte)
                .Where(d => after is null || d.Ms > (long)after[0]! || (d.Ms == (long)after[0]! && d.Doc > (int)after[1]!))
                .OrderBy(d => d.Ms).ThenBy(d => d.Doc).Take(size)
                .Select(d => (JsonNode)new JsonObject
                {
                    ["_index"] = "logs-app-2026.11.30",
                    ["_id"] = d.Id,
                    ["_score"] = null,
                    ["_source"] = new JsonObject
                    {
                        ["@timestamp"] = DateTimeOffset.FromUnixTimeMilliseconds(d.Ms).ToString("O", CultureInfo.InvariantCulture),
                        ["log"] = new JsonObject { ["level"] = "error" },
                        ["message"] = $"request {d.Id} failed",
                        ["service"] = new JsonObject { ["name"] = service },
                        ["error"] = new JsonObject { ["type"] = "System.Net.Http.HttpRequestException", ["message"] = "Connection refused" },
                        ["ecs"] = new JsonObject { ["version"] = "8.11.0" },
                    },
                    ["sort"] = new JsonArray(d.Ms, d.Doc),
                }).ToArray();
            return Results.Content(new JsonObject
            {
                ["took"] = 3,
                ["timed_out"] = false,
                ["_shards"] = new JsonObject { ["total"] = 1, ["successful"] = 1, ["skipped"] = 0, ["failed"] = 0 },
                ["hits"] = new JsonObject { ["max_score"] = null, ["hits"] = new JsonArray(hits) },
            }.ToJsonString(), "application/json");
        }));
        await PutAsync(Http, service, $$"""{"kind":"logs","input":"elasticsearch","url":"{{es.Urls.First()}}","index":"logs-app-*","page_size":2,"keep_errors":"all"}""");

        var first = Counts(await SyncAsync(Http, service));
        var second = Counts(await SyncAsync(Http, service));

        Assert.Equal(("succeeded", 5L, 5L, 0L), first);
        Assert.Equal(("succeeded", 0L, 0L, 0L), second);
        // First run: three pages (2 + 2 + 1), the later ones after the previous page's last sort values.
        Assert.Null(bodies[0]["search_after"]);
        Assert.Equal(JsonSerializer.Serialize(new object[] { baseMs, 1 }), bodies[1]["search_after"]!.ToJsonString());
        Assert.Equal(JsonSerializer.Serialize(new object[] { baseMs + 1000, 3 }), bodies[2]["search_after"]!.ToJsonString());
        Assert.Equal("asc", (string?)bodies[0]["sort"]![0]!["@timestamp"]);
    }

    [Fact]
    public async Task AnUpstreamThatFailsFailsTheRunAndTheSiloKeepsServing()
    {
        var service = "broken-" + Guid.NewGuid().ToString("N")[..8];
        await using var loki = await FakeUpstreamAsync(app => app.MapGet("/loki/api/v1/query_range", () => Results.Content("<html>bad gateway</html>", "text/html", statusCode: 502)));
        await using var garbage = await FakeUpstreamAsync(app => app.MapPost("/logs/_search", () => Results.Content("{\"hits\":", "application/json")));
        await PutAsync(Http, service, $$"""{"kind":"logs","input":"loki","url":"{{loki.Urls.First()}}","query":"{app=\"x\"}"}""");
        await PutAsync(Http, service + "-es", $$"""{"kind":"logs","input":"elasticsearch","url":"{{garbage.Urls.First()}}","index":"logs"}""");
        await PutAsync(Http, service + "-gone", """{"kind":"logs","input":"file","path":"/nonexistent-dir-for-rootcause/app.log"}""");

        var failed = await SyncAsync(Http, service);
        var unreadable = await SyncAsync(Http, service + "-es");
        var gone = await SyncAsync(Http, service + "-gone");
        var (health, _, _) = await Http.GetJsonAsync("/health/ready");

        Assert.Equal(("failed", "failed", "failed"), ((string?)failed["state"], (string?)unreadable["state"], (string?)gone["state"]));
        Assert.Contains("502", (string?)failed["error"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health);
    }
}
