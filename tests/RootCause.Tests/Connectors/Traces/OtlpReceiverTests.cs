using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Traces;

/// <summary>
/// Spans reach the OTLP/HTTP receiver of a running silo over real HTTP: exported by the real
/// OpenTelemetry .NET SDK (protobuf), and posted as OTLP JSON written from the specification.
/// </summary>
[Collection(ConnectorSiloCollection.Name)]
public sealed class OtlpReceiverTests(ConnectorSiloFixture silo) : IAsyncLifetime
{
    private const string TokenVariable = "ROOTCAUSE_TEST_OTLP_TOKEN";
    private const string Token = "otlp-ingest-token-41c9";

    private HttpClient Http => silo.Http;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(TokenVariable, Token);
        await Put("otlp", """{"kind":"otlp"}""");
        await Put("otlp-sampled", """{"kind":"otlp","sample_limit":5}""");
        await Put("otlp-baseline", """{"kind":"otlp","slow_threshold":"00:00:02","slow_factor":3}""");
        await Put("otlp-secured", $$"""{"kind":"otlp","secret":"env:{{TokenVariable}}"}""");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task Put(string name, string json)
    {
        var (status, body, _) = await Http.SendAsync(HttpMethod.Put, $"/api/admin/connectors/{name}", json);
        Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Created, body?.ToJsonString());
    }

    [Fact]
    public async Task TheOpenTelemetrySdkExporterDeliversASlowSpanAndAnErrorSpanThatBecomeEvents()
    {
        using var source = new ActivitySource("RootCause.Tests.Checkout");
        using var provider = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService("checkout-api").AddAttributes([new("deployment.environment", "test")]))
            .AddSource(source.Name)
            .SetSampler(new AlwaysOnSampler())
            .AddOtlpExporter(o =>
            {
                o.Endpoint = new Uri(silo.Http.BaseAddress!, "/v1/traces");
                o.Protocol = OtlpExportProtocol.HttpProtobuf;
                o.ExportProcessorType = ExportProcessorType.Batch;
            })
            .Build()!;

        var start = DateTime.UtcNow.AddSeconds(-10);
        string slowTrace, slowSpan, errorTrace, errorSpan, fastTrace;
        // A slow request whose time went into a slow call to payments-gateway.
        using (var server = source.StartActivity("POST /charge", ActivityKind.Server, default(ActivityContext), startTime: start)!)
        {
            server.SetTag("http.route", "/charge");
            using (var client = source.StartActivity("POST payments-gateway", ActivityKind.Client, server.Context, startTime: start.AddMilliseconds(5))!)
            {
                client.SetTag("peer.service", "payments-gateway");
                client.SetEndTime(start.AddMilliseconds(1405));
            }
            server.SetEndTime(start.AddMilliseconds(1500));
            (slowTrace, slowSpan) = (server.TraceId.ToHexString(), server.SpanId.ToHexString());
        }
        // A fast request that failed with an exception.
        using (var failing = source.StartActivity("GET /cart", ActivityKind.Server, default(ActivityContext), startTime: start.AddSeconds(2))!)
        {
            failing.AddException(new InvalidOperationException("The cart store is unavailable"));
            failing.SetStatus(ActivityStatusCode.Error, "cart store unavailable");
            failing.SetEndTime(start.AddSeconds(2).AddMilliseconds(20));
            (errorTrace, errorSpan) = (failing.TraceId.ToHexString(), failing.SpanId.ToHexString());
        }
        // A fast, healthy request: no event.
        using (var fine = source.StartActivity("GET /health", ActivityKind.Server, default(ActivityContext), startTime: start.AddSeconds(3))!)
        {
            fine.SetEndTime(start.AddSeconds(3).AddMilliseconds(3));
            fastTrace = fine.TraceId.ToHexString();
        }
        // ForceFlush returns once the exporter had its answer, i.e. after the receiver ingested.
        Assert.True(provider.ForceFlush(30_000));

        var slow = await TraceEvents.ForTraceAsync(Http, slowTrace);
        Assert.NotNull(slow);
        Assert.Equal("traces", (string)slow["source"]!);
        Assert.Equal("slow_span", (string)slow["event_type"]!);
        Assert.Equal($"{slowTrace}:{slowSpan}", (string)slow["source_id"]!);
        Assert.Equal("medium", (string)slow["severity"]!);
        var data = slow["data"]!;
        Assert.Equal("checkout-api", (string)data["service"]!);
        Assert.Equal("POST /charge", (string)data["operation"]!);
        Assert.Equal("server", (string)data["span_kind"]!);
        Assert.Equal(1500, (double)data["duration_ms"]!);
        Assert.Equal("payments-gateway", (string)data["peer_service"]!);
        Assert.Equal(2, (int)data["problem_spans"]!);
        Assert.Equal("/charge", (string)data["attributes"]!["http.route"]!);
        Assert.Equal("test", (string)data["resource"]!["deployment.environment"]!);
        Assert.Equal(start, ((DateTimeOffset)slow["timestamp"]!).UtcDateTime, TimeSpan.FromMilliseconds(1));

        var error = await TraceEvents.ForTraceAsync(Http, errorTrace);
        Assert.NotNull(error);
        Assert.Equal("error_span", (string)error["event_type"]!);
        Assert.Equal($"{errorTrace}:{errorSpan}", (string)error["source_id"]!);
        Assert.Equal("high", (string)error["severity"]!);
        Assert.Equal("error", (string)error["data"]!["status"]!);
        Assert.Equal("System.InvalidOperationException", (string)error["data"]!["exception"]!["type"]!);
        Assert.Equal("The cart store is unavailable", (string)error["data"]!["exception"]!["message"]!);
        Assert.Null(error["data"]!["peer_service"]);

        Assert.Null(await TraceEvents.ForTraceAsync(Http, fastTrace));
    }

    [Fact]
    public async Task AnOtlpJsonChainOfSlowSpansEndingInADatabaseErrorIsOneEventNamingTheDownstream()
    {
        var body = TraceEvents.Fixture("otlp-checkout-chain.json");
        var (status, answer, response) = await Http.SendAsync(HttpMethod.Post, "/v1/traces", body);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("{}", answer!.ToJsonString());
        Assert.Equal("1", response.Headers.GetValues("X-RootCause-Events").Single());

        var evt = await TraceEvents.ForTraceAsync(Http, "5b8efff798038103d269b633813fc60c");
        Assert.NotNull(evt);
        Assert.Equal("error_span", (string)evt["event_type"]!);
        Assert.Equal("5b8efff798038103d269b633813fc60c:eee19b7ec3c1b174", (string)evt["source_id"]!);
        var data = evt["data"]!;
        Assert.Equal("storefront", (string)data["service"]!);
        Assert.Equal("POST /checkout", (string)data["operation"]!);
        Assert.Equal(3100, (double)data["duration_ms"]!);
        Assert.Equal("orders-db", (string)data["peer_service"]!);
        Assert.Equal(4, (int)data["problem_spans"]!);
        Assert.Equal("Npgsql.NpgsqlException", (string)data["exception"]!["type"]!);
        Assert.Equal("The connection pool has been exhausted", (string)data["exception"]!["message"]!);
        Assert.Equal("checkout-api", (string)data["exception"]!["service"]!);
        Assert.StartsWith("Npgsql.NpgsqlException (0x80004005)", (string)data["exception"]!["stacktrace"]!);
        Assert.Equal(["1f4d6c7e8a9b0c1d", "2a3b4c5d6e7f8091", "3b4c5d6e7f809102"],
            data["downstream"]!.AsArray().Select(d => (string)d!["span_id"]!).ToArray());
        Assert.Equal(504, (long)data["attributes"]!["http.response.status_code"]!);

        // The same export again (an exporter's retry): the same event, not a second one.
        var (again, _, againResponse) = await Http.SendAsync(HttpMethod.Post, "/v1/traces", body);
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.Equal("1", againResponse.Headers.GetValues("X-RootCause-Events").Single());
    }

    [Fact]
    public async Task SlowTracesBeyondTheSampleLimitOfAMinuteAreCountedNotIngestedButErrorsAlwaysAre()
    {
        var minute = DateTimeOffset.UtcNow.AddMinutes(-30);
        minute = minute.AddTicks(-(minute.UtcTicks % TimeSpan.TicksPerMinute));
        var spans = Enumerable.Range(0, 8).Select(i => Span(NewTraceId(), "GET /search", minute.AddSeconds(i), 1800, error: false))
            .Concat(Enumerable.Range(0, 3).Select(i => Span(NewTraceId(), "GET /search", minute.AddSeconds(20 + i), 1900, error: true)));
        var (status, _, response) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/otlp/otlp-sampled/v1/traces", Export("search-api", spans));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("8", response.Headers.GetValues("X-RootCause-Events").Single()); // 5 slow + 3 errors
        Assert.Equal("3", response.Headers.GetValues("X-RootCause-Sampled-Out").Single());

        // The next minute has its own share.
        var next = Span(NewTraceId(), "GET /search", minute.AddMinutes(1), 1800, error: false);
        var (_, _, nextResponse) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/otlp/otlp-sampled/v1/traces", Export("search-api", [next]));
        Assert.Equal("1", nextResponse.Headers.GetValues("X-RootCause-Events").Single());
    }

    [Fact]
    public async Task AnOperationIsSlowAgainstItsOwnBaselineNotOnlyAgainstTheThreshold()
    {
        var at = DateTimeOffset.UtcNow.AddMinutes(-5);
        // 30 quick lookups (~20 ms) and 30 exports that always take ~2.5 s, under a 2 s threshold.
        var history = Enumerable.Range(0, 30).Select(i => Span(NewTraceId(), "GET /stock/{sku}", at.AddMilliseconds(i), 20 + (i % 3), error: false))
            .Concat(Enumerable.Range(0, 30).Select(i => Span(NewTraceId(), "POST /export", at.AddMilliseconds(i), 2500 + (i % 5), error: false)))
            .ToList();
        var (first, _, firstResponse) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/otlp/otlp-baseline/v1/traces", Export("inventory", history));
        Assert.Equal(HttpStatusCode.OK, first);
        // Before any baseline, the 2.5 s exports are over the threshold: 5 kept (the sampling limit), 25 sampled out.
        Assert.Equal("5", firstResponse.Headers.GetValues("X-RootCause-Events").Single());

        var slowLookup = NewTraceId();
        var usualExport = NewTraceId();
        var (second, _, secondResponse) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/otlp/otlp-baseline/v1/traces", Export("inventory",
        [
            Span(slowLookup, "GET /stock/{sku}", at.AddMinutes(2), 400, error: false), // 20× its median, under the threshold
            Span(usualExport, "POST /export", at.AddMinutes(2), 2600, error: false),     // over the threshold, but as usual
        ]));
        Assert.Equal(HttpStatusCode.OK, second);
        Assert.Equal("1", secondResponse.Headers.GetValues("X-RootCause-Events").Single());
        var evt = await TraceEvents.ForTraceAsync(Http, slowLookup);
        Assert.NotNull(evt);
        Assert.Equal("slow_span", (string)evt["event_type"]!);
        Assert.Equal(21, (double)evt["data"]!["baseline_ms"]!);
        Assert.Null(await TraceEvents.ForTraceAsync(Http, usualExport));
    }

    [Fact]
    public async Task ASecuredConnectorWantsItsBearerTokenAndUnreadableExportsAreDeadLettered()
    {
        var body = Export("billing", [Span(NewTraceId(), "POST /invoice", DateTimeOffset.UtcNow.AddMinutes(-1), 10, error: true)]);
        var (missing, problem, _) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/otlp/otlp-secured/v1/traces", body);
        Assert.Equal(HttpStatusCode.Unauthorized, missing);
        Assert.Equal("Authorization", (string)problem!["field"]!);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/receivers/otlp/otlp-secured/v1/traces") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var authorized = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
        Assert.Equal("1", authorized.Headers.GetValues("X-RootCause-Events").Single());

        var (unknown, _, _) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/otlp/no-such-connector/v1/traces", body);
        Assert.Equal(HttpStatusCode.NotFound, unknown);

        var (wrongType, _, _) = await Http.SendAsync(HttpMethod.Post, "/v1/traces", body, contentType: "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType);

        using var garbage = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = new ByteArrayContent([0x0a, 0xff, 0xff, 0x01]) };
        garbage.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var garbageResponse = await Http.SendAsync(garbage);
        Assert.Equal(HttpStatusCode.BadRequest, garbageResponse.StatusCode);
        var deadLetter = JsonNode.Parse(await garbageResponse.Content.ReadAsStringAsync())!;
        var id = (long)deadLetter["dead_letter_ids"]![0]!;
        var (_, entry, _) = await Http.GetJsonAsync($"/api/admin/dlq/{id}");
        Assert.Equal("otlp_traces", (string)entry!["kind"]!);
        Assert.Equal("traces", (string)entry["source"]!);
        Assert.Equal("application/x-protobuf", (string)entry["content_type"]!);
    }

    [Fact]
    public async Task AGzippedExportIsReadAndOneThatUnpacksBeyondTheLimitIs413()
    {
        var trace = NewTraceId();
        var body = Export("gateway", [Span(trace, "POST /pay", DateTimeOffset.UtcNow.AddMinutes(-2), 15, error: true)]);
        using var gzipped = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = new ByteArrayContent(Gzip(Encoding.UTF8.GetBytes(body))) };
        gzipped.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        gzipped.Content.Headers.ContentEncoding.Add("gzip");
        using var answer = await Http.SendAsync(gzipped);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.NotNull(await TraceEvents.ForTraceAsync(Http, trace));

        // 26 MB of zeros pack into a few kilobytes.
        using var bomb = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = new ByteArrayContent(Gzip(new byte[26 * 1024 * 1024])) };
        bomb.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        bomb.Content.Headers.ContentEncoding.Add("gzip");
        using var refused = await Http.SendAsync(bomb);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }

    private static string NewTraceId() => ActivityTraceId.CreateRandom().ToHexString();

    private static JsonObject Span(string traceId, string name, DateTimeOffset start, double durationMs, bool error)
    {
        var startNanos = (start.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        var span = new JsonObject
        {
            ["traceId"] = traceId,
            ["spanId"] = ActivitySpanId.CreateRandom().ToHexString(),
            ["name"] = name,
            ["kind"] = 2,
            ["startTimeUnixNano"] = startNanos.ToString(CultureInfo.InvariantCulture),
            ["endTimeUnixNano"] = (startNanos + (long)(durationMs * 1_000_000)).ToString(CultureInfo.InvariantCulture),
            ["status"] = error ? new JsonObject { ["code"] = 2, ["message"] = "failed" } : new JsonObject(),
        };
        return span;
    }

    private static string Export(string service, IEnumerable<JsonObject> spans) => new JsonObject
    {
        ["resourceSpans"] = new JsonArray(new JsonObject
        {
            ["resource"] = new JsonObject
            {
                ["attributes"] = new JsonArray(new JsonObject { ["key"] = "service.name", ["value"] = new JsonObject { ["stringValue"] = service } }),
            },
            ["scopeSpans"] = new JsonArray(new JsonObject { ["spans"] = new JsonArray([.. spans]) }),
        }),
    }.ToJsonString();
}
