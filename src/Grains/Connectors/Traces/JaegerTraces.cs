using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RootCause.Connectors.Traces;

/// <summary>
/// Jaeger's query API (the JSON the Jaeger UI reads): <c>GET /api/traces?service=&amp;start=&amp;end=&amp;limit=</c>
/// with times in microseconds since the epoch, answering
/// <c>{"data": [{"traceID", "spans": [...], "processes": {...}}], "errors": null}</c>. A span has
/// <c>traceID</c>, <c>spanID</c>, <c>operationName</c>, <c>references</c> (<c>CHILD_OF</c> names the
/// parent), <c>startTime</c> and <c>duration</c> in microseconds, <c>tags</c> and <c>logs</c>
/// (<c>{key, type, value}</c>), and <c>processID</c>, whose process names the service.
/// </summary>
public sealed class JaegerTraces(TimeProvider time, HttpMessageHandler? handler = null)
{
    /// <summary>Traces asked for per service and poll.</summary>
    public const int Limit = 200;

    private readonly HttpClient _http = new(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, disposeHandler: handler is null)
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public TimeProvider Time => time;

    public async Task<IReadOnlyList<TraceSpan>> SearchAsync(string url, string service, DateTimeOffset start, DateTimeOffset end, string? bearer,
        CancellationToken cancellationToken)
    {
        var uri = $"{url}/api/traces?service={Uri.EscapeDataString(service)}&start={Micros(start)}&end={Micros(end)}&limit={Limit}";
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        using var response = await _http.SendAsync(request, cancellationToken);
        UpstreamHttpException.ThrowIfFailed(response);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return Parse(body);
    }

    /// <summary>The spans of a <c>/api/traces</c> answer (or of one trace's <c>/api/traces/{id}</c>).</summary>
    public static IReadOnlyList<TraceSpan> Parse(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.Items("errors").FirstOrDefault() is { ValueKind: JsonValueKind.Object } error)
        {
            throw new FormatException($"Jaeger answered an error: {error.Str("code")} {error.Str("msg")}");
        }
        var spans = new List<TraceSpan>();
        foreach (var trace in root.Items("data"))
        {
            var processes = new Dictionary<string, (string Service, JsonObject Tags)>(StringComparer.Ordinal);
            if (trace.Get("processes") is { ValueKind: JsonValueKind.Object } map)
            {
                foreach (var process in map.EnumerateObject())
                {
                    var tags = Tags(process.Value.Get("tags"));
                    var service = process.Value.Str("serviceName") ?? "unknown_service";
                    tags["service.name"] = service;
                    processes[process.Name] = (service, tags);
                }
            }
            foreach (var span in trace.Items("spans"))
            {
                var process = span.Str("processID") is { } id && processes.TryGetValue(id, out var p) ? p : ("unknown_service", new JsonObject());
                spans.Add(FromJaeger(span, process.Item1, process.Item2));
            }
        }
        return spans;
    }

    private static TraceSpan FromJaeger(JsonElement span, string service, JsonObject resource)
    {
        var tags = Tags(span.Get("tags"));
        var parent = span.Items("references").Where(r => r.Str("refType") == "CHILD_OF").Select(r => r.Str("spanID")).FirstOrDefault()
            ?? span.Items("references").Select(r => r.Str("spanID")).FirstOrDefault();
        var exception = span.Items("logs").Select(l => Tags(l.Get("fields")))
            .FirstOrDefault(f => f["event"]?.ToString() == "exception" || f.ContainsKey("exception.type"));
        var isError = tags["error"] is JsonValue e && (e.ToString() == "true" || e.ToString() == "True")
            || string.Equals(tags["otel.status_code"]?.ToString(), "ERROR", StringComparison.OrdinalIgnoreCase);
        var start = span.Get("startTime") is { ValueKind: JsonValueKind.Number } s ? s.GetInt64() : 0;
        var duration = span.Get("duration") is { ValueKind: JsonValueKind.Number } d ? d.GetDouble() : 0;
        return new TraceSpan
        {
            TraceId = Normalize(span.Str("traceID"), 32) ?? throw new FormatException("a span has no traceID."),
            SpanId = Normalize(span.Str("spanID"), 16) ?? throw new FormatException("a span has no spanID."),
            ParentSpanId = Normalize(parent, 16),
            Service = service,
            Operation = span.Str("operationName") ?? "",
            Kind = tags["span.kind"]?.ToString(),
            Start = DateTimeOffset.UnixEpoch.AddTicks(start * 10),
            DurationMs = duration / 1000.0,
            IsError = isError,
            StatusMessage = tags["otel.status_description"]?.ToString(),
            ExceptionType = exception?["exception.type"]?.ToString() ?? exception?["error.kind"]?.ToString(),
            ExceptionMessage = exception?["exception.message"]?.ToString() ?? exception?["message"]?.ToString(),
            ExceptionStackTrace = exception?["exception.stacktrace"]?.ToString() ?? exception?["stack"]?.ToString(),
            PeerService = TraceSpan.PeerOf(tags),
            Attributes = tags.ToJsonString(),
            Resource = resource.ToJsonString(),
        };
    }

    /// <summary>Jaeger's <c>[{key, type, value}]</c> as an object; ints and floats as numbers, bools as booleans.</summary>
    private static JsonObject Tags(JsonElement? list)
    {
        var result = new JsonObject();
        if (list is not { ValueKind: JsonValueKind.Array } array)
        {
            return result;
        }
        foreach (var tag in array.EnumerateArray())
        {
            if (tag.Str("key") is not { } key || tag.Get("value") is not { } value)
            {
                continue;
            }
            result[key] = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Number when value.TryGetInt64(out var l) => l,
                JsonValueKind.Number => value.GetDouble(),
                _ => value.GetRawText(),
            };
        }
        return result;
    }

    /// <summary>Jaeger drops leading zeros of ids (<c>"6c2a0e0d9b7e3"</c>); they are padded back.</summary>
    private static string? Normalize(string? id, int digits) =>
        id is { Length: > 0 } && id.Length <= digits && id.All(char.IsAsciiHexDigit) ? id.ToLowerInvariant().PadLeft(digits, '0') : null;

    private static string Micros(DateTimeOffset at) => ((at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10).ToString(CultureInfo.InvariantCulture);
}
