using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using RootCause.Connectors.Traces.Otlp;

namespace RootCause.Connectors.Traces;

/// <summary>
/// Reads OTLP trace exports (<c>ExportTraceServiceRequest</c>) in both encodings of OTLP/HTTP:
/// binary protobuf (<c>application/x-protobuf</c>) and the OTLP JSON mapping
/// (<c>application/json</c>: camelCase names, trace and span ids as hex, 64-bit integers as
/// strings or numbers, enums as integers). Exception details come from the span's
/// <c>exception</c> events (<c>exception.type</c>, <c>exception.message</c>, <c>exception.stacktrace</c>).
/// </summary>
public static class OtlpTraces
{
    public const string ProtobufContentType = MediaTypes.Protobuf;
    public const string JsonContentType = "application/json";

    public static bool IsProtobuf(string? contentType) => MediaTypes.IsProtobuf(contentType);

    public static bool IsJson(string? contentType) =>
        contentType is not null && contentType.StartsWith(JsonContentType, StringComparison.OrdinalIgnoreCase);

    /// <summary>The spans of an export; throws <see cref="FormatException"/> when the body is not one.</summary>
    public static IReadOnlyList<TraceSpan> Parse(string contentType, ReadOnlySpan<byte> body) =>
        IsProtobuf(contentType) ? ParseProtobuf(body) : ParseJson(body);

    public static IReadOnlyList<TraceSpan> ParseProtobuf(ReadOnlySpan<byte> body)
    {
        ExportTraceServiceRequest request;
        try
        {
            request = ExportTraceServiceRequest.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new FormatException($"not an OTLP ExportTraceServiceRequest: {e.Message}", e);
        }
        var spans = new List<TraceSpan>();
        foreach (var resourceSpans in request.ResourceSpans)
        {
            var resource = Attributes(resourceSpans.Resource?.Attributes);
            var service = resource["service.name"]?.ToString() ?? "unknown_service";
            var resourceJson = resource.ToJsonString();
            foreach (var scope in resourceSpans.ScopeSpans)
            {
                foreach (var span in scope.Spans)
                {
                    spans.Add(FromProtobuf(span, service, resourceJson));
                }
            }
        }
        return spans;
    }

    private static TraceSpan FromProtobuf(Span span, string service, string resource)
    {
        if (span.TraceId.Length != 16 || span.SpanId.Length != 8)
        {
            throw new FormatException($"span '{span.Name}' has a trace id of {span.TraceId.Length} bytes or a span id of {span.SpanId.Length} bytes (16 and 8 expected).");
        }
        var attributes = Attributes(span.Attributes);
        var exception = span.Events.FirstOrDefault(e => e.Name == "exception") is { } found ? Attributes(found.Attributes) : null;
        var start = (long)span.StartTimeUnixNano;
        var end = (long)span.EndTimeUnixNano;
        return new TraceSpan
        {
            TraceId = Convert.ToHexStringLower(span.TraceId.Span),
            SpanId = Convert.ToHexStringLower(span.SpanId.Span),
            ParentSpanId = span.ParentSpanId.Length == 8 ? Convert.ToHexStringLower(span.ParentSpanId.Span) : null,
            Service = service,
            Operation = span.Name,
            Kind = TraceSpan.KindName((int)span.Kind),
            Start = FromUnixNanos(start),
            DurationMs = Math.Max(0, end - start) / 1_000_000.0,
            IsError = span.Status?.Code == StatusCode.Error,
            StatusMessage = span.Status is { Message.Length: > 0 } status ? status.Message : null,
            ExceptionType = exception?["exception.type"]?.ToString(),
            ExceptionMessage = exception?["exception.message"]?.ToString(),
            ExceptionStackTrace = exception?["exception.stacktrace"]?.ToString(),
            PeerService = TraceSpan.PeerOf(attributes),
            Attributes = attributes.ToJsonString(),
            Resource = resource,
        };
    }

    private static JsonObject Attributes(IEnumerable<KeyValue>? pairs)
    {
        var result = new JsonObject();
        foreach (var pair in pairs ?? [])
        {
            result[pair.Key] = Value(pair.Value);
        }
        return result;
    }

    private static JsonNode? Value(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue,
        AnyValue.ValueOneofCase.DoubleValue => double.IsFinite(value.DoubleValue) ? value.DoubleValue : value.DoubleValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.ArrayValue => new JsonArray([.. value.ArrayValue.Values.Select(Value)]),
        AnyValue.ValueOneofCase.KvlistValue => Attributes(value.KvlistValue.Values),
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value.BytesValue.Span),
        _ => null,
    };

    public static IReadOnlyList<TraceSpan> ParseJson(ReadOnlySpan<byte> body)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not OTLP JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("not OTLP JSON: the body is not an object.");
            }
            var spans = new List<TraceSpan>();
            foreach (var resourceSpans in root.Items("resourceSpans"))
            {
                var resource = JsonAttributes(resourceSpans.Get("resource", "attributes"));
                var service = resource["service.name"]?.ToString() ?? "unknown_service";
                var resourceJson = resource.ToJsonString();
                // scopeSpans since OTLP 0.19; instrumentationLibrarySpans before it.
                foreach (var scope in resourceSpans.Items("scopeSpans").Concat(resourceSpans.Items("instrumentationLibrarySpans")))
                {
                    foreach (var span in scope.Items("spans"))
                    {
                        spans.Add(FromJson(span, service, resourceJson));
                    }
                }
            }
            return spans;
        }
    }

    private static TraceSpan FromJson(JsonElement span, string service, string resource)
    {
        var name = span.Str("name") ?? "";
        var traceId = HexId(span.Str("traceId"), 32) ?? throw new FormatException($"span '{name}': traceId must be 32 hex digits.");
        var spanId = HexId(span.Str("spanId"), 16) ?? throw new FormatException($"span '{name}': spanId must be 16 hex digits.");
        var attributes = JsonAttributes(span.Get("attributes"));
        var exception = span.Items("events").Where(e => e.Str("name") == "exception").Select(e => JsonAttributes(e.Get("attributes"))).FirstOrDefault();
        var start = Nanos(span.Get("startTimeUnixNano"));
        var end = Nanos(span.Get("endTimeUnixNano"));
        return new TraceSpan
        {
            TraceId = traceId,
            SpanId = spanId,
            ParentSpanId = HexId(span.Str("parentSpanId"), 16),
            Service = service,
            Operation = name,
            Kind = TraceSpan.KindName(EnumValue(span.Get("kind"), "SPAN_KIND_", ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"])),
            Start = FromUnixNanos(start),
            DurationMs = Math.Max(0, end - start) / 1_000_000.0,
            IsError = EnumValue(span.Get("status", "code"), "STATUS_CODE_", ["UNSET", "OK", "ERROR"]) == 2,
            StatusMessage = span.Str("status", "message"),
            ExceptionType = exception?["exception.type"]?.ToString(),
            ExceptionMessage = exception?["exception.message"]?.ToString(),
            ExceptionStackTrace = exception?["exception.stacktrace"]?.ToString(),
            PeerService = TraceSpan.PeerOf(attributes),
            Attributes = attributes.ToJsonString(),
            Resource = resource,
        };
    }

    private static JsonObject JsonAttributes(JsonElement? list)
    {
        var result = new JsonObject();
        if (list is { ValueKind: JsonValueKind.Array } array)
        {
            foreach (var pair in array.EnumerateArray())
            {
                if (pair.Str("key") is { } key)
                {
                    result[key] = JsonValueOf(pair.Get("value"));
                }
            }
        }
        return result;
    }

    private static JsonNode? JsonValueOf(JsonElement? value)
    {
        if (value is not { ValueKind: JsonValueKind.Object } v)
        {
            return null;
        }
        if (v.Get("stringValue") is { } s)
        {
            return s.GetString();
        }
        if (v.Get("boolValue") is { } b)
        {
            return b.ValueKind == JsonValueKind.True;
        }
        if (v.Get("intValue") is { } i)
        {
            // 64-bit integers are strings in the OTLP JSON mapping, but exporters also send numbers.
            return i.ValueKind == JsonValueKind.Number ? i.GetInt64() : long.Parse(i.GetString()!, CultureInfo.InvariantCulture);
        }
        if (v.Get("doubleValue") is { } d)
        {
            return d.ValueKind == JsonValueKind.Number ? d.GetDouble() : d.GetString();
        }
        if (v.Get("arrayValue") is { } a)
        {
            return new JsonArray([.. a.Items("values").Select(e => JsonValueOf(e))]);
        }
        if (v.Get("kvlistValue") is { } kv)
        {
            return JsonAttributes(kv.Get("values"));
        }
        return v.Str("bytesValue");
    }

    private static long Nanos(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.Number } n when n.TryGetInt64(out var l) => l,
        { ValueKind: JsonValueKind.Number } n => (long)n.GetDouble(),
        { ValueKind: JsonValueKind.String } s when long.TryParse(s.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var l) => l,
        _ => 0,
    };

    /// <summary>An enum given as its number (the OTLP JSON mapping) or, leniently, its name.</summary>
    private static int EnumValue(JsonElement? value, string prefix, string[] names)
    {
        if (value is { ValueKind: JsonValueKind.Number } n && n.TryGetInt32(out var number))
        {
            return number;
        }
        if (value is { ValueKind: JsonValueKind.String } s && s.GetString() is { } text)
        {
            var bare = text.StartsWith(prefix, StringComparison.Ordinal) ? text[prefix.Length..] : text;
            return Array.IndexOf(names, bare.ToUpperInvariant());
        }
        return 0;
    }

    private static string? HexId(string? text, int digits)
    {
        if (text is null || text.Length != digits || !text.All(char.IsAsciiHexDigit) || text.All(c => c == '0'))
        {
            return null;
        }
        return text.ToLowerInvariant();
    }

    private static DateTimeOffset FromUnixNanos(long nanos) => DateTimeOffset.UnixEpoch.AddTicks(nanos / 100);

    /// <summary>The answer OTLP/HTTP expects, in the request's encoding; partial success names rejected spans.</summary>
    public static (byte[] Body, string ContentType) Response(bool protobuf, int rejected, string? error)
    {
        var response = new ExportTraceServiceResponse();
        if (rejected > 0)
        {
            response.PartialSuccess = new ExportTracePartialSuccess { RejectedSpans = rejected, ErrorMessage = error ?? "" };
        }
        if (protobuf)
        {
            return (response.ToByteArray(), ProtobufContentType);
        }
        var json = rejected > 0
            ? new JsonObject { ["partialSuccess"] = new JsonObject { ["rejectedSpans"] = rejected.ToString(CultureInfo.InvariantCulture), ["errorMessage"] = error } }
            : new JsonObject();
        return (System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), JsonContentType);
    }
}
