using System.Globalization;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Connectors;

namespace RootCause.Api.Receivers;

/// <summary>
/// OTLP/gRPC: the OpenTelemetry trace service (<c>opentelemetry.proto.collector.trace.v1.TraceService/Export</c>),
/// the default protocol of most OpenTelemetry SDKs and of the Collector's otlp exporter. The request
/// message is the same protobuf the OTLP/HTTP receiver reads, so the bytes go to the same receiver
/// (<see cref="ITelemetryReceiver.ReceiveTracesAsync"/>) unparsed here. The connector is the one named
/// <c>otlp</c>, or the one a <c>rootcause-connector</c> metadata entry names; a secured connector
/// takes its token from the <c>authorization</c> metadata (<c>Bearer …</c>), as over HTTP.
/// </summary>
public sealed class OtlpGrpcReceiver(ITelemetryReceiver receiver) : OtlpTraceServiceBase
{
    public const string ConnectorMetadata = "rootcause-connector";

    public override async Task<byte[]> Export(byte[] request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var connector = context.RequestHeaders.GetValue(ConnectorMetadata) is { Length: > 0 } named ? named : "otlp";
        var delivery = new WebhookDelivery
        {
            Connector = connector,
            ContentType = "application/x-protobuf",
            Signature = context.RequestHeaders.GetValue("authorization"),
            DeliveryId = context.RequestHeaders.GetValue("x-request-id") ?? context.GetHttpContext().TraceIdentifier,
            Body = request,
        };
        var result = await receiver.ReceiveTracesAsync(delivery, context.CancellationToken);
        var outcome = result.Outcome;
        switch (outcome.Status)
        {
            case WebhookStatus.Ingested or WebhookStatus.Ignored:
                context.ResponseTrailers.Add("rootcause-events", outcome.Events.Count.ToString(CultureInfo.InvariantCulture));
                context.ResponseTrailers.Add("rootcause-sampled-out", result.SampledOut.ToString(CultureInfo.InvariantCulture));
                return result.ResponseBody;
            // OTLP: exporters retry UNAVAILABLE (with backoff) and drop on the other codes.
            case WebhookStatus.Unauthorized:
                throw new RpcException(new Status(StatusCode.Unauthenticated, outcome.Reason ?? "authorization failed"));
            case WebhookStatus.UnknownConnector:
                throw new RpcException(new Status(StatusCode.NotFound, outcome.Reason ?? $"no otlp connector named {connector}"));
            case WebhookStatus.DeadLettered:
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"{outcome.Reason} (dead letters {string.Join(", ", outcome.DeadLetterIds)})"));
            case WebhookStatus.Invalid:
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{outcome.Field}: {outcome.Reason}"));
            default:
                throw new RpcException(new Status(StatusCode.Unavailable, outcome.Reason ?? "the delivery could not be ingested now"));
        }
    }
}

/// <summary>
/// The trace service's binding, in the shape Grpc.AspNetCore looks for: a base type naming its
/// <c>BindService</c> method, whose virtual methods the service overrides (found per call by name).
/// </summary>
[BindServiceMethod(typeof(OtlpTraceServiceBase), nameof(BindService))]
public abstract class OtlpTraceServiceBase
{
    public const string ServiceName = "opentelemetry.proto.collector.trace.v1.TraceService";

    // The bodies stay bytes: the receiver parses (and dead-letters) them exactly as it does OTLP/HTTP.
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(static b => b, static b => b);

    private static readonly Method<byte[], byte[]> ExportMethod = new(MethodType.Unary, ServiceName, "Export", Bytes, Bytes);

    public static void BindService(ServiceBinderBase binder, OtlpTraceServiceBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(ExportMethod, service is null ? null : service.Export);
    }

    /// <summary>One <c>ExportTraceServiceRequest</c>, answered with an <c>ExportTraceServiceResponse</c>.</summary>
    public abstract Task<byte[]> Export(byte[] request, ServerCallContext context);
}

/// <summary>Settings of the OTLP/gRPC listener (configuration section <c>Otlp</c>).</summary>
public static class OtlpGrpcHosting
{
    public const string Section = "Otlp";

    /// <summary>
    /// The cleartext HTTP/2 address the trace service listens on, e.g. <c>http://0.0.0.0:4317</c>
    /// (<c>Otlp:GrpcUrl</c>); none by default. gRPC needs HTTP/2, which without TLS cannot share a
    /// port with the HTTP/1.1 API, so it gets a port of its own.
    /// </summary>
    public static Uri? GrpcUrl(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var value = configuration[$"{Section}:GrpcUrl"];
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        if (!Uri.TryCreate(value.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var url)
            || url.Scheme != Uri.UriSchemeHttp || url.Port <= 0 || url.AbsolutePath != "/")
        {
            throw new InvalidOperationException($"Otlp:GrpcUrl must be a cleartext address with a port, like http://0.0.0.0:4317 (got '{value}').");
        }
        return url;
    }

    /// <summary>Registers gRPC when <see cref="GrpcUrl"/> is set.</summary>
    public static IServiceCollection AddOtlpGrpc(this IServiceCollection services, IConfiguration configuration)
    {
        if (GrpcUrl(configuration) is not null)
        {
            services.AddGrpc(o => o.MaxReceiveMessageSize = (int)ReceiversApi.MaxDeliveryBytes);
        }
        return services;
    }

    /// <summary>Maps the trace service on the gRPC port only, when <see cref="GrpcUrl"/> is set.</summary>
    public static IEndpointRouteBuilder MapOtlpGrpc(this IEndpointRouteBuilder routes, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(routes);
        if (GrpcUrl(configuration) is { } url)
        {
            routes.MapGrpcService<OtlpGrpcReceiver>().RequireHost($"*:{url.Port}");
        }
        return routes;
    }
}
