using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using RootCause.Events;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Logs;

/// <summary>Batches POSTed over real HTTP to a running silo's logs receiver, as shippers send them.</summary>
[Collection(ConnectorSiloCollection.Name)]
public sealed class LogsReceiverTests(ConnectorSiloFixture silo) : IAsyncLifetime
{
    public const string TokenVariable = "ROOTCAUSE_TEST_LOGS_TOKEN";
    public const string Token = "logs-token-2f8c1d";

    private HttpClient Http => silo.Http;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(TokenVariable, Token);
        var (status, body, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/app-logs",
            $$"""{"kind":"logs","input":"push","secret":"env:{{TokenVariable}}","keep_errors":"all"}""");
        Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Created, body?.ToJsonString());
        // Floods are for spikes: single errors are not kept one by one.
        (status, body, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/flood-logs",
            $$"""{"kind":"logs","secret":"env:{{TokenVariable}}","keep_errors":"none"}""");
        Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Created, body?.ToJsonString());
    }

    public Task DisposeAsync() => Task.CompletedTask;

    internal static Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(HttpClient http, string body, string? token = Token,
        string contentType = "application/x-ndjson", string connector = "app-logs", bool gzip = false) =>
        PostAsync(http, Encoding.UTF8.GetBytes(body), token, contentType, connector, gzip);

    internal static async Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(HttpClient http, byte[] bytes, string? token = Token,
        string contentType = "application/x-ndjson", string connector = "app-logs", bool gzip = false)
    {
        if (gzip)
        {
            using var compressed = new MemoryStream();
            await using (var zip = new GZipStream(compressed, CompressionLevel.Fastest))
            {
                zip.Write(bytes);
            }
            bytes = compressed.ToArray();
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/receivers/logs/{connector}") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (gzip)
        {
            request.Content.Headers.ContentEncoding.Add("gzip");
        }
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private static string Iso(DateTimeOffset at) => at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static string SerilogError(DateTimeOffset at, string service, string type, string message) =>
        new JsonObject
        {
            ["@t"] = Iso(at),
            ["@mt"] = "Charge failed: {Reason}",
            ["@l"] = "Error",
            ["@x"] = $"{type}: {message}\n   at Checkout.Payments.PaymentsClient.ChargeAsync(Order order) in /src/PaymentsClient.cs:line 88",
            ["Reason"] = message,
            ["Application"] = service,
        }.ToJsonString();

    [Fact]
    public async Task AWrongOrMissingTokenGets401AndAnUnknownConnector404()
    {
        var line = """{"level":"error","message":"x"}""";

        var (wrong, problem) = await PostAsync(Http, line, token: "not-the-token");
        var (missing, _) = await PostAsync(Http, line, token: null);
        var (unknown, _) = await PostAsync(Http, line, connector: "no-such-logs");

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.NotFound), (wrong, missing, unknown));
        Assert.Equal("Authorization", (string?)problem!["field"]);
    }

    [Fact]
    public async Task AFloodOf5000ErrorsInOneMinuteOverAQuietBaselineIsExactlyOneSpikeEvent()
    {
        var service = "checkout-" + Guid.NewGuid().ToString("N")[..8];
        var minute = TimeSpan.FromMinutes(1);
        var now = DateTimeOffset.UtcNow;
        var flood = new DateTimeOffset(now.Ticks - now.Ticks % minute.Ticks, TimeSpan.Zero) - 9 * minute;
        // Half an hour of two errors a minute, then the flood: 3,500 timeouts (their order ids differ) and 1,500 pool errors.
        var quiet = Enumerable.Range(1, 30).SelectMany(i => new[]
        {
            SerilogError(flood - i * minute + TimeSpan.FromSeconds(10), service, "System.InvalidOperationException", "Cart is empty"),
            SerilogError(flood - i * minute + TimeSpan.FromSeconds(40), service, "System.InvalidOperationException", "Cart is empty"),
        });
        var floodLines = Enumerable.Range(0, 5000).Select(i => i % 10 < 7
            ? SerilogError(flood + TimeSpan.FromMilliseconds(i * 11), service, "System.TimeoutException", $"Timed out charging order {80000 + i} after 30000 ms")
            : SerilogError(flood + TimeSpan.FromMilliseconds(i * 11), service, "Npgsql.NpgsqlException", "The connection pool has been exhausted")).ToList();

        var (quietStatus, quietAnswer) = await PostAsync(Http, string.Join('\n', quiet), connector: "flood-logs");
        var answers = new List<JsonNode>();
        foreach (var chunk in floodLines.Chunk(1000))
        {
            var (status, answer) = await PostAsync(Http, string.Join('\n', chunk) + "\n", connector: "flood-logs");
            Assert.True(status == HttpStatusCode.OK, answer?.ToJsonString());
            answers.Add(answer!);
        }

        Assert.Equal(HttpStatusCode.OK, quietStatus);
        Assert.DoesNotContain(quietAnswer!["events"]!.AsArray(), e => (string?)e!["event_type"] == "error_spike");
        var window = flood.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var spikeId = EventKeys.IdForDedupKey(EventSource.Logs, $"error_spike:{service}:{window}");
        var reported = answers.SelectMany(a => a["events"]!.AsArray()).Where(e => (string?)e!["event_type"] == "error_spike").ToList();
        Assert.Equal(5, reported.Count);
        Assert.All(reported, e => Assert.Equal(spikeId.ToString(), (string?)e!["id"]));
        Assert.Equal([true, false, false, false, false], reported.Select(e => (bool)e!["created"]!));
        Assert.Equal(5000, answers.Sum(a => (int)a["errors"]!));

        var spike = await LogsPullTests.EventAsync(Http, spikeId);
        Assert.Equal(("logs", "error_spike", $"spike:{service}:{window}", "critical"),
            ((string?)spike["source"], (string?)spike["event_type"], (string?)spike["source_id"], (string?)spike["severity"]));
        var data = spike["data"]!;
        Assert.Equal((service, 5000, 2.0, 5000), ((string?)data["service"], (int)data["count"]!, (double)data["baseline_per_minute"]!, (int)data["peak_per_minute"]!));
        Assert.Equal((flood, flood + minute), (DateTimeOffset.Parse((string)data["window_start"]!, CultureInfo.InvariantCulture), DateTimeOffset.Parse((string)data["window_end"]!, CultureInfo.InvariantCulture)));
        Assert.Equal([("System.TimeoutException", "Timed out charging order 80000 after 30000 ms", 3500), ("Npgsql.NpgsqlException", "The connection pool has been exhausted", 1500)],
            data["top_errors"]!.AsArray().Select(t => ((string?)t!["exception_type"], (string?)t["message"], (int)t["count"]!)));
        Assert.StartsWith("System.TimeoutException: Timed out charging order 80000", (string?)data["sample_stack_trace"], StringComparison.Ordinal);
        Assert.Equal("logs_push", (string?)spike["references"]![0]!["via"]);
        Assert.Equal("flood-logs", (string?)spike["metadata"]!["connector"]);
    }

    [Fact]
    public async Task MalformedLinesAreCountedAndDeadLetteredWhileTheRestIsIngested()
    {
        var service = "orders-" + Guid.NewGuid().ToString("N")[..8];
        var at = Iso(DateTimeOffset.UtcNow.AddMinutes(-3));
        var body = string.Join('\n',
            $$"""{"@timestamp":"{{at}}","log.level":"error","message":"reservation failed","service.name":"{{service}}","error.type":"java.net.ConnectException","error.message":"Connection refused"}""",
            $$"""{"@timestamp":"{{at}}","log.level":"error","message":"cut off by the sh""",
            $$"""{"@timestamp":"{{at}}","log.level":"info","message":"fine","service.name":"{{service}}"}""",
            """[{"broken": """,
            $$"""{"level":60,"time":{{DateTimeOffset.UtcNow.AddMinutes(-2).ToUnixTimeMilliseconds()}},"name":"{{service}}","msg":"exiting"}""");

        var (status, answer) = await PostAsync(Http, body);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((5 - 2, 2, 2), ((int)answer!["records"]!, (int)answer["errors"]!, (int)answer["malformed"]!));
        var events = answer["events"]!.AsArray();
        Assert.Equal(["log_error", "log_error"], events.Select(e => (string?)e!["event_type"]));
        var deadLetter = Assert.Single(answer["dead_letter_ids"]!.AsArray());
        var (_, entry, _) = await Http.GetJsonAsync($"/api/admin/dlq/{(long)deadLetter!}");
        Assert.Equal(("app-logs", "logs", "log_line", "pending"), ((string?)entry!["connector"], (string?)entry["source"], (string?)entry["kind"], (string?)entry["status"]));
        Assert.Equal($$"""{"@timestamp":"{{at}}","log.level":"error","message":"cut off by the sh""" + "\n" + """[{"broken": """ + "\n", (string?)entry["payload"]);
        Assert.StartsWith("2 malformed line(s): line 2 is not valid JSON", (string?)entry["error"], StringComparison.Ordinal);

        var error = await LogsPullTests.EventAsync(Http, Guid.Parse((string)events[0]!["id"]!));
        Assert.Equal(("medium", service, "java.net.ConnectException", "Connection refused"),
            ((string?)error["severity"], (string?)error["data"]!["service"], (string?)error["data"]!["exception_type"], (string?)error["data"]!["exception_message"]));
        Assert.Contains("reservation failed", (string?)error["metadata"]!["raw"], StringComparison.Ordinal);
        Assert.Equal("high", (string?)(await LogsPullTests.EventAsync(Http, Guid.Parse((string)events[1]!["id"]!)))["severity"]);
    }

    [Fact]
    public async Task AGzippedJsonArrayAndAnOtlpExportAreAccepted()
    {
        var service = "gw-" + Guid.NewGuid().ToString("N")[..8];
        var array = $$"""[{"level":"error","message":"boom","service":"{{service}}","timestamp":"{{Iso(DateTimeOffset.UtcNow.AddMinutes(-1))}}"},{"level":"info","message":"ok"}]""";
        var otlp = Encoding.UTF8.GetString(LogShapeTests.Fixture("otlp-logs.json"));

        var (arrayStatus, arrayAnswer) = await PostAsync(Http, array, contentType: "application/json", gzip: true);
        var (otlpStatus, otlpAnswer) = await PostAsync(Http, otlp, contentType: "application/json");

        Assert.Equal((HttpStatusCode.OK, 2, 1), (arrayStatus, (int)arrayAnswer!["records"]!, (int)arrayAnswer["errors"]!));
        Assert.Equal((HttpStatusCode.OK, 3, 2, 0), (otlpStatus, (int)otlpAnswer!["records"]!, (int)otlpAnswer["errors"]!, (int)otlpAnswer["malformed"]!));
    }

    [Fact]
    public async Task APromtailProtobufPushIsReadLikeTheSameLokiPushInJson()
    {
        var service = "pay-" + Guid.NewGuid().ToString("N")[..8];
        var first = DateTimeOffset.UtcNow.AddMinutes(-2);
        var push = LokiPush.Encode(
        [
            ($$"""{job="checkout", service_name="{{service}}", level="error"}""",
            [
                (first, "payment declined: upstream timeout after 30s", [("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")]),
                (first.AddSeconds(5), "payment declined: upstream timeout after 30s", []),
            ]),
            ($$"""{app="{{service}}", note="a \"quoted\" \\ value"}""",
            [
                (first.AddSeconds(7), """{"level":"info","msg":"retrying"}""", []),
            ]),
        ]);

        var (status, answer) = await PostAsync(Http, Snappier.Snappy.CompressToArray(push), contentType: "application/x-protobuf");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((3, 2, 0), ((int)answer!["records"]!, (int)answer["errors"]!, (int)answer["malformed"]!));
        var events = answer["events"]!.AsArray();
        Assert.Equal(["log_error", "log_error"], events.Select(e => (string?)e!["event_type"]));
        var error = await LogsPullTests.EventAsync(Http, Guid.Parse((string)events[0]!["id"]!));
        Assert.Equal(service, (string?)error["data"]!["service"]);
        Assert.Equal(first.ToUnixTimeMilliseconds(), DateTimeOffset.Parse((string)error["timestamp"]!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds());
        Assert.Contains("upstream timeout", (string?)error["metadata"]!["raw"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreadableProtobufPushIsDeadLetteredWholeAndAWrongTokenIsRefusedFirst()
    {
        var garbage = Snappier.Snappy.CompressToArray("this is not a protobuf push request"u8.ToArray());

        var (refused, _) = await PostAsync(Http, garbage, token: "wrong", contentType: "application/x-protobuf");
        var (status, answer) = await PostAsync(Http, garbage, contentType: "application/x-protobuf");
        var (notSnappy, notSnappyAnswer) = await PostAsync(Http, [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], contentType: "application/x-protobuf");

        Assert.Equal(HttpStatusCode.Unauthorized, refused);
        Assert.Equal((HttpStatusCode.Accepted, "dead_lettered"), (status, (string?)answer!["status"]));
        Assert.StartsWith("The body is not a readable Loki protobuf push", (string?)answer["reason"], StringComparison.Ordinal);
        var (_, entry, _) = await Http.GetJsonAsync($"/api/admin/dlq/{(long)answer["dead_letter_ids"]!.AsArray().Single()!}");
        Assert.Equal(("app-logs", "log_line", "pending"), ((string?)entry!["connector"], (string?)entry["kind"], (string?)entry["status"]));
        Assert.StartsWith("not a readable Loki protobuf push", (string?)entry["error"], StringComparison.Ordinal);
        // A replay reads it the same way, and fails the same way: kept, and the payload named.
        var (replayed, replayProblem, _) = await Http.PostAsync($"/api/admin/dlq/{(long)answer["dead_letter_ids"]!.AsArray().Single()!}/retry", "");
        Assert.Equal((HttpStatusCode.UnprocessableEntity, "payload"), (replayed, (string?)replayProblem!["field"]));
        Assert.Contains("not a readable Loki protobuf push", (string?)replayProblem["detail"], StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.Accepted, "dead_lettered"), (notSnappy, (string?)notSnappyAnswer!["status"]));
        Assert.Contains("snappy", (string?)notSnappyAnswer["reason"], StringComparison.Ordinal);
    }
}
