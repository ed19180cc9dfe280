using System.Net;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Traces;

/// <summary>
/// Jaeger is not packaged for these machines, so its query API is played by a fake server on a
/// loopback port answering <c>/api/traces</c> with a response written from Jaeger's documented
/// JSON (the shape its UI reads: <c>data[].spans</c>, <c>processes</c>, tags and logs as key/type/value).
/// </summary>
[Collection(ConnectorSiloCollection.Name)]
public sealed class JaegerPollingTests(ConnectorSiloFixture silo)
{
    private HttpClient Http => silo.Http;

    [Fact]
    public async Task ASyncAsksJaegerForEachServiceAndTurnsSlowAndFailedTracesIntoEvents()
    {
        var response = TraceEvents.Fixture("jaeger-traces.json");
        await using var jaeger = await FakeUpstream.StartAsync(request =>
            request.Path == "/api/traces" ? (200, response) : (404, """{"data":null,"errors":[{"code":404,"msg":"not found"}]}"""));
        var (put, putBody, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/jaeger-shop",
            $$"""{"kind":"jaeger","url":"{{jaeger.Url}}","services":["catalog-api","cart-api"],"poll_interval":"00:05:00"}""");
        Assert.True(put == HttpStatusCode.Created, putBody?.ToJsonString());

        var (status, run, _) = await Http.SendAsync(HttpMethod.Post, "/api/admin/connectors/jaeger-shop/sync?wait=true");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("succeeded", (string)run!["state"]!);
        Assert.Equal(2, (int)run["created"]!);

        // One query per service, over the last poll interval, in microseconds.
        Assert.Equal(2, jaeger.Requests.Count);
        Assert.StartsWith("/api/traces?service=catalog-api&start=", jaeger.Requests[0], StringComparison.Ordinal);
        Assert.StartsWith("/api/traces?service=cart-api&start=", jaeger.Requests[1], StringComparison.Ordinal);
        var query = System.Web.HttpUtility.ParseQueryString(new Uri("http://x" + jaeger.Requests[0]).Query);
        Assert.Equal(5 * 60 * 1_000_000L, long.Parse(query["end"]!) - long.Parse(query["start"]!));
        Assert.Equal("200", query["limit"]);

        var slow = await TraceEvents.ForTraceAsync(Http, "7d3ac1f0e2b94c55a1b2c3d4e5f60718");
        Assert.NotNull(slow);
        Assert.Equal("slow_span", (string)slow["event_type"]!);
        Assert.Equal("7d3ac1f0e2b94c55a1b2c3d4e5f60718:9a8b7c6d5e4f3a2b", (string)slow["source_id"]!);
        Assert.Equal("catalog-api", (string)slow["data"]!["service"]!);
        Assert.Equal(2650, (double)slow["data"]!["duration_ms"]!);
        Assert.Equal("catalog-db", (string)slow["data"]!["peer_service"]!);
        // Jaeger left out the leading zeros of the child's id; they are back.
        Assert.Equal("0006c2a0e0d9b7e3", (string)slow["data"]!["downstream"]![0]!["span_id"]!);
        Assert.Equal("catalog-api-5d9f7-x2kq", (string)slow["data"]!["resource"]!["hostname"]!);
        Assert.Equal($"{jaeger.Url}/trace/7d3ac1f0e2b94c55a1b2c3d4e5f60718", (string)slow["metadata"]!["raw_url"]!);

        var error = await TraceEvents.ForTraceAsync(Http, "0c1d2e3f405162738495a6b7c8d9eaf0");
        Assert.NotNull(error);
        Assert.Equal("error_span", (string)error["event_type"]!);
        Assert.Equal("System.Collections.Generic.KeyNotFoundException", (string)error["data"]!["exception"]!["type"]!);
        Assert.Equal("The product 4411 is not in the catalog", (string)error["data"]!["exception"]!["message"]!);

        // The next sync starts where this one ended and finds the same traces again: nothing new.
        var (_, again, _) = await Http.SendAsync(HttpMethod.Post, "/api/admin/connectors/jaeger-shop/sync?wait=true");
        Assert.Equal(0, (int)again!["created"]!);
        Assert.Equal(2, (int)again["existing"]!);
        var second = System.Web.HttpUtility.ParseQueryString(new Uri("http://x" + jaeger.Requests[2]).Query);
        Assert.Equal(query["end"], second["start"]);
    }

    [Fact]
    public async Task AJaegerThatFailsFailsTheRunNotTheSilo()
    {
        await using var jaeger = await FakeUpstream.StartAsync(_ => (503, """{"data":null,"errors":[{"code":503,"msg":"storage unavailable"}]}"""));
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/jaeger-down",
            $$"""{"kind":"jaeger","url":"{{jaeger.Url}}","services":["catalog-api"]}""");
        var (_, run, _) = await Http.SendAsync(HttpMethod.Post, "/api/admin/connectors/jaeger-down/sync?wait=true");
        Assert.Equal("failed", (string)run!["state"]!);
        Assert.Contains("503", (string)run["error"]!, StringComparison.Ordinal);
        // Five attempts: the fifth consecutive failure opens the breaker, which refuses the last retry.
        Assert.Equal(5, jaeger.Requests.Count);
        var (ready, _, _) = await Http.GetJsonAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready);
    }
}
