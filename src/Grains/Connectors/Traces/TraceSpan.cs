using System.Text.Json.Nodes;

namespace RootCause.Connectors.Traces;

/// <summary>
/// One span as RootCause reads it, whichever route it came by (OTLP protobuf, OTLP JSON, Jaeger):
/// ids as lower-case hex, times in UTC, attributes and resource as compact JSON objects.
/// </summary>
[GenerateSerializer, Immutable, Alias("rc.TraceSpan")]
public sealed record TraceSpan
{
    [Id(0)] public required string TraceId { get; init; }
    [Id(1)] public required string SpanId { get; init; }
    [Id(2)] public string? ParentSpanId { get; init; }
    [Id(3)] public required string Service { get; init; }
    [Id(4)] public required string Operation { get; init; }

    /// <summary><c>server</c>, <c>client</c>, <c>internal</c>, <c>producer</c>, <c>consumer</c> (or null).</summary>
    [Id(5)] public string? Kind { get; init; }
    [Id(6)] public DateTimeOffset Start { get; init; }
    [Id(7)] public double DurationMs { get; init; }
    [Id(8)] public bool IsError { get; init; }
    [Id(9)] public string? StatusMessage { get; init; }
    [Id(10)] public string? ExceptionType { get; init; }
    [Id(11)] public string? ExceptionMessage { get; init; }
    [Id(12)] public string? ExceptionStackTrace { get; init; }

    /// <summary>The downstream a client span called: <c>peer.service</c>, else <c>db.system</c>/<c>server.address</c> style hints.</summary>
    [Id(13)] public string? PeerService { get; init; }
    [Id(14)] public string Attributes { get; init; } = "{}";
    [Id(15)] public string Resource { get; init; } = "{}";

    /// <summary>The OpenTelemetry name of the kind (<c>SPAN_KIND_SERVER</c> → <c>server</c>).</summary>
    public static string? KindName(int kind) => kind switch
    {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => null,
    };

    /// <summary>
    /// Who a client span talked to, from the semantic conventions: <c>peer.service</c> first, then
    /// the database (<c>db.system</c> + <c>db.name</c>), the messaging system, the server address.
    /// </summary>
    public static string? PeerOf(JsonObject attributes)
    {
        string? Text(string key) => attributes[key] is JsonValue v && v.ToString() is { Length: > 0 } s ? s : null;
        return Text("peer.service")
            ?? (Text("db.system") is { } db ? Text("db.name") ?? Text("db.namespace") ?? db : null)
            ?? Text("messaging.destination.name")
            ?? Text("server.address")
            ?? Text("net.peer.name");
    }
}
