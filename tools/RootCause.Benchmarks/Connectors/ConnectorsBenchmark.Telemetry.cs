using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Connectors;
using RootCause.Connectors.Metrics;
using RootCause.Connectors.Traces;
using RootCause.Connectors.Traces.Otlp;

namespace RootCause.Benchmarks.Connectors;

/// <summary>
/// The observability connectors' rows: OTLP exports and Alertmanager webhooks over real HTTP (one
/// event each), and the pollers' work per event (a Prometheus answer of N anomalous series and a
/// Jaeger answer of N failed traces, parsed once; that share is added to each event's ingest).
/// </summary>
public static partial class ConnectorsBenchmark
{
    private static async Task AddTelemetryRowsAsync(WebApplication app, HttpClient http, IGrainFactory grains, ConnectorIngest ingest, int events, string run,
        List<(string Name, string How, LatencySummary Latency)> rows)
    {
        await grains.GetGrain<IConnectorGrain>("otlp").PutAsync(new ConnectorConfig { Kind = ConnectorKind.Otlp });
        await grains.GetGrain<IConnectorGrain>("alertmanager").PutAsync(new ConnectorConfig { Kind = ConnectorKind.Alertmanager });
        var now = DateTimeOffset.UtcNow.AddMinutes(-10);

        rows.Add(("otlp traces", "POST /v1/traces protobuf, a 3-span trace ending in an error", await TimeAsync(events, async i =>
        {
            using var content = new ByteArrayContent(OtlpExport(run, i, now).ToByteArray());
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            using var response = await http.PostAsync("/v1/traces", content);
            await ExpectEventAsync(response, "/v1/traces");
        })));
        rows.Add(("alertmanager", "POST /api/receivers/alertmanager, 1 firing alert", await TimeAsync(events, async i =>
        {
            using var content = new StringContent(AlertmanagerFiring(run, i, now), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/api/receivers/alertmanager", content);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"alertmanager answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        })));

        // Prometheus: one query_range answer holding N + 10 series that spiked, read through the
        // client (JSON parse, cache), detected and correlated once; then each event ingested.
        var series = events + 10;
        var prometheus = new PrometheusClient(TimeProvider.System, new CannedAnswer(PrometheusAnswer(series, now)));
        var poller = new PrometheusPoller(prometheus);
        var pipeline = app.Services.GetRequiredService<ConnectorResilience>().For("bench-prometheus");
        var config = new ConnectorConfig
        {
            Kind = ConnectorKind.Prometheus, Url = "http://prometheus.bench", Step = TimeSpan.FromSeconds(30), Lookback = TimeSpan.FromMinutes(30),
            Queries = [new MetricQuery { Name = "cpu_usage_ratio", Query = "app_cpu_usage_ratio" }],
        };
        var read = Stopwatch.StartNew();
        var pass = await poller.EvaluateAsync("bench-prometheus", config, pipeline, now.AddMinutes(-2), now, CancellationToken.None);
        read.Stop();
        rows.Add(("prometheus poll", $"query_range of {series} series parsed + checked in {Ms(read.ElapsedTicks):0.0} ms, then ingest each anomaly", await TimeAsync(events, async i =>
        {
            await ingest.IngestAsync("bench-prometheus", [pass.Drafts[i]]);
        }, extraTicks: read.ElapsedTicks / Math.Max(1, pass.Drafts.Count))));

        // Jaeger: one /api/traces answer of N + 10 failed traces, parsed and judged once.
        var jaeger = new JaegerTraces(TimeProvider.System, new CannedAnswer(JaegerAnswer(run, events + 10, now)));
        var judge = Stopwatch.StartNew();
        var spans = await jaeger.SearchAsync("http://jaeger.bench", "cart-api", now.AddMinutes(-5), now, null, CancellationToken.None);
        var analysis = await grains.GetGrain<ISpanAnalysisGrain>("bench-jaeger").AnalyzeAsync(spans, new TraceRules(), "jaeger_poll", "http://jaeger.bench");
        judge.Stop();
        rows.Add(("jaeger poll", $"/api/traces of {analysis.Drafts.Count} traces parsed + judged in {Ms(judge.ElapsedTicks):0.0} ms, then ingest each", await TimeAsync(events, async i =>
        {
            await ingest.IngestAsync("bench-jaeger", [analysis.Drafts[i]]);
        }, extraTicks: judge.ElapsedTicks / Math.Max(1, analysis.Drafts.Count))));
    }

    private static async Task ExpectEventAsync(HttpResponseMessage response, string url)
    {
        if (response.StatusCode != HttpStatusCode.OK || response.Headers.GetValues("X-RootCause-Events").Single() != "1")
        {
            throw new InvalidOperationException($"{url} answered {(int)response.StatusCode} without an event: {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static ByteString Id(string run, int i, string part, int bytes) =>
        ByteString.CopyFrom(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"{run}:{part}:{i}")).AsSpan(0, bytes));

    private static ExportTraceServiceRequest OtlpExport(string run, int i, DateTimeOffset start)
    {
        var at = (ulong)((start.AddMilliseconds(i).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100);
        var trace = Id(run, i, "trace", 16);
        Span SpanOf(string name, string id, string? parent, SpanKind kind, ulong ms, bool error, string? peer = null)
        {
            var span = new Span
            {
                TraceId = trace, SpanId = Id(run, i, id, 8), Name = name, Kind = kind,
                StartTimeUnixNano = at, EndTimeUnixNano = at + (ms * 1_000_000),
                Status = new Status { Code = error ? StatusCode.Error : StatusCode.Unset },
            };
            if (parent is not null)
            {
                span.ParentSpanId = Id(run, i, parent, 8);
            }
            if (peer is not null)
            {
                span.Attributes.Add(new KeyValue { Key = "peer.service", Value = new AnyValue { StringValue = peer } });
            }
            if (error)
            {
                span.Events.Add(new SpanEvent
                {
                    Name = "exception", TimeUnixNano = at,
                    Attributes =
                    {
                        new KeyValue { Key = "exception.type", Value = new AnyValue { StringValue = "Npgsql.NpgsqlException" } },
                        new KeyValue { Key = "exception.message", Value = new AnyValue { StringValue = "The connection pool has been exhausted" } },
                    },
                });
            }
            return span;
        }
        return new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new ResourceSpans
                {
                    Resource = new Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "checkout-api" } } } },
                    ScopeSpans =
                    {
                        new ScopeSpans
                        {
                            Spans =
                            {
                                SpanOf("POST /orders", "server", null, SpanKind.Server, 1500, error: true),
                                SpanOf("INSERT orders", "db", "server", SpanKind.Client, 1450, error: true, peer: "orders-db"),
                                SpanOf("GET pricing", "pricing", "server", SpanKind.Client, 12, error: false, peer: "pricing"),
                            },
                        },
                    },
                },
            },
        };
    }

    private static string AlertmanagerFiring(string run, int i, DateTimeOffset start) => $$"""
        {"version":"4","groupKey":"{}:{alertname=\"HighLatency\"}","truncatedAlerts":0,"status":"firing","receiver":"rootcause",
         "groupLabels":{"alertname":"HighLatency"},"commonLabels":{"alertname":"HighLatency"},"commonAnnotations":{},"externalURL":"http://alertmanager:9093",
         "alerts":[{"status":"firing","labels":{"alertname":"HighLatency","instance":"checkout-{{i}}:8080","service":"checkout-api","severity":"warning"},
           "annotations":{"summary":"p99 latency above 2 s"},"startsAt":"{{start.AddSeconds(i):O}}","endsAt":"0001-01-01T00:00:00Z",
           "generatorURL":"http://prometheus:9090/graph?g0.expr=latency","fingerprint":"{{run}}{{i:x8}}"}]}
        """;

    private static string PrometheusAnswer(int series, DateTimeOffset end)
    {
        var text = new StringBuilder("""{"status":"success","data":{"resultType":"matrix","result":[""");
        var last = end.ToUnixTimeSeconds() / 30 * 30;
        for (var s = 0; s < series; s++)
        {
            text.Append(s == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $$"""{"metric":{"__name__":"app_cpu_usage_ratio","instance":"checkout-{{s}}:8080","job":"checkout"},"values":[""");
            for (var p = 60; p >= 0; p--)
            {
                var value = p <= 2 ? 0.95 : 0.2 + (p % 3 * 0.01);
                text.Append(p == 60 ? "" : ",").Append(CultureInfo.InvariantCulture, $"[{last - (p * 30)},\"{value}\"]");
            }
            text.Append("]}");
        }
        return text.Append("]}}").ToString();
    }

    private static string JaegerAnswer(string run, int traces, DateTimeOffset start)
    {
        var text = new StringBuilder("""{"data":[""");
        for (var t = 0; t < traces; t++)
        {
            var trace = Convert.ToHexStringLower(Id(run, t, "jaeger", 16).Span);
            var micros = (start.AddSeconds(-t).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
            text.Append(t == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $$"""
                {"traceID":"{{trace}}","spans":[{"traceID":"{{trace}}","spanID":"{{Convert.ToHexStringLower(Id(run, t, "j1", 8).Span)}}","operationName":"POST /api/cart/items","references":[],
                 "startTime":{{micros}},"duration":35000,"tags":[{"key":"span.kind","type":"string","value":"server"},{"key":"error","type":"bool","value":true}],
                 "logs":[{"timestamp":{{micros}},"fields":[{"key":"event","type":"string","value":"exception"},{"key":"exception.type","type":"string","value":"System.TimeoutException"}]}],
                 "processID":"p1","warnings":null}],"processes":{"p1":{"serviceName":"cart-api","tags":[]} },"warnings":null}
                """);
        }
        return text.Append("""],"total":0,"limit":0,"offset":0,"errors":null}""").ToString();
    }

    /// <summary>An upstream that always gives the same JSON answer (the pollers' HTTP and parsing run for real).</summary>
    private sealed class CannedAnswer(string json) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json"), RequestMessage = request });
    }
}
