using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RootCause.Connectors.Traces.Otlp;
using OtlpStatus = RootCause.Connectors.Traces.Otlp.Status;
using OtlpStatusCode = RootCause.Connectors.Traces.Otlp.StatusCode;
using StatusCode = Grpc.Core.StatusCode;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Traces;

/// <summary>
/// OTLP over gRPC on a silo started with <c>Otlp:GrpcUrl</c>: the real OpenTelemetry .NET SDK exports
/// with its gRPC protocol, and raw calls show the status codes exporters act on.
/// </summary>
public sealed class OtlpGrpcTests : IAsyncLifetime
{
    private const string TokenVariable = "ROOTCAUSE_TEST_OTLP_GRPC_TOKEN";
    private const string Token = "otlp-grpc-token-7d02";

    private static readonly Method<byte[], byte[]> Export = new(MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export",
        Marshallers.Create(static b => b, static b => b), Marshallers.Create(static b => b, static b => b));

    private Microsoft.AspNetCore.Builder.WebApplication? _app;
    private HttpClient _http = null!;
    private Uri _grpc = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(TokenVariable, Token);
        var connectionString = await TestDatabase.CreateAsync("otlpgrpc", migrate: false);
        _grpc = new Uri($"http://127.0.0.1:{SiloPairFixture.FreePort()}");
        (_app, _http) = await ConnectorSiloFixture.StartSiloAsync(connectionString, "grpc-" + Guid.NewGuid().ToString("N")[..8], $"--Otlp:GrpcUrl={_grpc}");
        foreach (var (name, config) in new[] { ("otlp", """{"kind":"otlp"}"""), ("otlp-secured", $$"""{"kind":"otlp","secret":"env:{{TokenVariable}}"}""") })
        {
            var (status, body, _) = await _http.SendAsync(HttpMethod.Put, $"/api/admin/connectors/{name}", config);
            Assert.True(status is System.Net.HttpStatusCode.Created or System.Net.HttpStatusCode.OK, body?.ToJsonString());
        }
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await ConnectorSiloFixture.StopAsync(_app, _http);
        }
    }

    [Fact]
    public async Task TheOpenTelemetrySdkExportingOverGrpcDeliversSpansThatBecomeEvents()
    {
        using var source = new ActivitySource("RootCause.Tests.GrpcExport");
        using var provider = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService("billing-api"))
            .AddSource(source.Name)
            .SetSampler(new AlwaysOnSampler())
            .AddOtlpExporter(o =>
            {
                o.Endpoint = _grpc;
                o.Protocol = OtlpExportProtocol.Grpc;
                o.ExportProcessorType = ExportProcessorType.Batch;
            })
            .Build()!;

        var start = DateTime.UtcNow.AddSeconds(-5);
        string errorTrace;
        using (var failing = source.StartActivity("POST /invoice", ActivityKind.Server, default(ActivityContext), startTime: start)!)
        {
            failing.SetStatus(ActivityStatusCode.Error, "ledger unavailable");
            failing.SetEndTime(start.AddMilliseconds(30));
            errorTrace = failing.TraceId.ToHexString();
        }
        Assert.True(provider.ForceFlush(30_000));

        var error = await TraceEvents.ForTraceAsync(_http, errorTrace);
        Assert.NotNull(error);
        Assert.Equal("error_span", (string)error["event_type"]!);
        Assert.Equal("billing-api", (string)error["data"]!["service"]!);
        Assert.Equal("POST /invoice", (string)error["data"]!["operation"]!);
    }

    [Fact]
    public async Task RawCallsGetTheStatusCodesExportersActOn()
    {
        using var channel = GrpcChannel.ForAddress(_grpc);
        var invoker = channel.CreateCallInvoker();
        var request = new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new ResourceSpans
                {
                    Resource = new RootCause.Connectors.Traces.Otlp.Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "ledger" } } } },
                    ScopeSpans =
                    {
                        new ScopeSpans
                        {
                            Spans =
                            {
                                new Span
                                {
                                    TraceId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()),
                                    SpanId = ByteString.CopyFrom(BitConverter.GetBytes(Random.Shared.NextInt64())),
                                    Name = "POST /post",
                                    Kind = RootCause.Connectors.Traces.Otlp.SpanKind.Server,
                                    StartTimeUnixNano = (ulong)(DateTimeOffset.UtcNow.AddSeconds(-3).ToUnixTimeMilliseconds() * 1_000_000),
                                    EndTimeUnixNano = (ulong)(DateTimeOffset.UtcNow.AddSeconds(-3).ToUnixTimeMilliseconds() * 1_000_000 + 20_000_000),
                                    Status = new OtlpStatus { Code = OtlpStatusCode.Error, Message = "boom" },
                                },
                            },
                        },
                    },
                },
            },
        }.ToByteArray();

        async Task<(StatusCode Code, byte[]? Body)> CallAsync(byte[] body, params (string Key, string Value)[] headers)
        {
            var metadata = new Metadata();
            foreach (var (key, value) in headers)
            {
                metadata.Add(key, value);
            }
            try
            {
                return (StatusCode.OK, await invoker.AsyncUnaryCall(Export, null, new CallOptions(metadata), body));
            }
            catch (RpcException e)
            {
                return (e.StatusCode, null);
            }
        }

        var (ok, answer) = await CallAsync(request);
        Assert.Equal(StatusCode.OK, ok);
        Assert.NotNull(ExportTraceServiceResponse.Parser.ParseFrom(answer));

        Assert.Equal(StatusCode.OK, (await CallAsync(request, ("rootcause-connector", "otlp-secured"), ("authorization", $"Bearer {Token}"))).Code);
        Assert.Equal(StatusCode.Unauthenticated, (await CallAsync(request, ("rootcause-connector", "otlp-secured"), ("authorization", "Bearer wrong"))).Code);
        Assert.Equal(StatusCode.Unauthenticated, (await CallAsync(request, ("rootcause-connector", "otlp-secured"))).Code);
        Assert.Equal(StatusCode.NotFound, (await CallAsync(request, ("rootcause-connector", "nope"))).Code);
        Assert.Equal(StatusCode.InvalidArgument, (await CallAsync([0xff, 0xff, 0xff, 0x01, 0x02])).Code);

        // The REST API keeps answering on its own HTTP/1.1 address.
        Assert.Equal(System.Net.HttpStatusCode.OK, (await _http.GetAsync("/health/live")).StatusCode);
    }
}
