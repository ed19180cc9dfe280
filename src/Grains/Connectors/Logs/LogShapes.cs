using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RootCause.Connectors.Logs;

/// <summary>
/// Reads the common log shapes into <see cref="LogRecord"/>s. The shape is recognised by the
/// members a record has, not configured: Serilog's compact JSON (<c>@t</c>, <c>@mt</c>, <c>@l</c>,
/// <c>@x</c>), ECS (<c>@timestamp</c> with <c>log.level</c>/<c>ecs.version</c>, dotted or nested),
/// pino and bunyan (numeric <c>level</c> 10–60, <c>msg</c>, <c>err</c>), OTLP's JSON encoding
/// (<c>resourceLogs</c>), Loki's push/query shape (<c>streams</c> of <c>[ns, line]</c>), other JSON
/// objects by the usual member names, and plain text lines.
/// </summary>
public static partial class LogShapes
{
    public const int MaxRawChars = 4096;

    /// <summary>The records of one JSON object: usually one, many for an OTLP export or a Loki push.</summary>
    public static IEnumerable<LogRecord> FromJson(JsonElement element, string raw)
    {
        if (element.Get("resourceLogs") is { ValueKind: JsonValueKind.Array })
        {
            return Otlp(element);
        }
        if (element.Get("streams") is { ValueKind: JsonValueKind.Array } streams)
        {
            return LokiStreams(streams);
        }
        return [Single(element, raw)];
    }

    /// <summary>One JSON log object.</summary>
    public static LogRecord Single(JsonElement e, string raw)
    {
        if (e.Get("@t") is not null || e.Get("@mt") is not null || e.Get("@m") is not null)
        {
            return Serilog(e, raw);
        }
        if (e.Get("@timestamp") is not null && (Dotted(e, "log.level") is not null || Dotted(e, "ecs.version") is not null || Dotted(e, "error.type") is not null))
        {
            return Ecs(e, raw);
        }
        if (e.Get("level") is { ValueKind: JsonValueKind.Number } && (e.Get("msg") is not null || e.Get("time") is not null))
        {
            return PinoOrBunyan(e, raw);
        }
        return Generic(e, raw);
    }

    private static LogRecord Serilog(JsonElement e, string raw)
    {
        var (type, message, stack) = SplitException(e.Str("@x"));
        var levelText = e.Str("@l");
        return new LogRecord
        {
            Shape = "serilog",
            Raw = Cut(raw),
            Timestamp = e.Time("@t"),
            // Serilog leaves @l out for Information.
            Level = levelText is null ? LogRecordLevel.Info : LevelOf(levelText),
            LevelText = levelText ?? "Information",
            Message = e.Str("@m") ?? Render(e.Str("@mt"), e),
            Service = FirstOf(e, "Application", "service", "Service", "ServiceName", "service.name", "application"),
            Host = FirstOf(e, "MachineName", "host", "hostname"),
            Logger = e.Str("SourceContext"),
            ExceptionType = type,
            ExceptionMessage = message,
            StackTrace = stack,
            TraceId = e.Str("@tr"),
        };
    }

    private static LogRecord Ecs(JsonElement e, string raw)
    {
        var stack = Dotted(e, "error.stack_trace");
        var (parsedType, parsedMessage, _) = SplitException(stack);
        var levelText = Dotted(e, "log.level");
        return new LogRecord
        {
            Shape = "ecs",
            Raw = Cut(raw),
            Timestamp = e.Time("@timestamp"),
            Level = levelText is null ? (Dotted(e, "error.type") is not null ? LogRecordLevel.Error : LogRecordLevel.Info) : LevelOf(levelText),
            LevelText = levelText,
            Message = e.Str("message"),
            Service = Dotted(e, "service.name"),
            Host = Dotted(e, "host.name") ?? Dotted(e, "host.hostname"),
            Logger = Dotted(e, "log.logger"),
            ExceptionType = Dotted(e, "error.type") ?? parsedType,
            ExceptionMessage = Dotted(e, "error.message") ?? parsedMessage,
            StackTrace = stack,
            TraceId = Dotted(e, "trace.id"),
        };
    }

    private static LogRecord PinoOrBunyan(JsonElement e, string raw)
    {
        var number = e.Get("level")!.Value.GetDouble();
        var err = e.Get("err") ?? e.Get("error");
        string? type = null, message = null, stack = null;
        if (err is { ValueKind: JsonValueKind.Object } o)
        {
            stack = o.Str("stack");
            var split = SplitException(stack);
            // pino's serializer writes type; bunyan's writes name.
            type = o.Str("type") ?? o.Str("name") ?? split.Type;
            message = o.Str("message") ?? split.Message;
        }
        // bunyan: "v": 0, "name" required, ISO time; pino: epoch milliseconds.
        var bunyan = e.Get("v") is { ValueKind: JsonValueKind.Number } || e.Get("time") is { ValueKind: JsonValueKind.String };
        return new LogRecord
        {
            Shape = bunyan ? "bunyan" : "pino",
            Raw = Cut(raw),
            Timestamp = EpochOrIso(e.Get("time")),
            Level = number >= 60 ? LogRecordLevel.Fatal : number >= 50 ? LogRecordLevel.Error : number >= 40 ? LogRecordLevel.Warn
                : number >= 30 ? LogRecordLevel.Info : number >= 20 ? LogRecordLevel.Debug : LogRecordLevel.Trace,
            LevelText = e.Str("level"),
            Message = e.Str("msg") ?? message,
            Service = FirstOf(e, "service", "service.name", "name"),
            Host = e.Str("hostname"),
            Logger = e.Str("component") ?? e.Str("module"),
            ExceptionType = type,
            ExceptionMessage = message,
            StackTrace = stack,
            TraceId = e.Str("trace_id") ?? e.Str("traceId"),
        };
    }

    private static LogRecord Generic(JsonElement e, string raw)
    {
        var levelText = FirstOf(e, "level", "severity", "lvl", "log.level", "levelname", "loglevel", "severity_text");
        var stack = FirstOf(e, "stack_trace", "stacktrace", "stack", "exception", "error.stack_trace", "exc_info");
        var split = SplitException(stack);
        var message = FirstOf(e, "message", "msg", "log", "text");
        var level = levelText is not null ? LevelOf(levelText) : LogRecordLevel.Info;
        if (levelText is not null && double.TryParse(levelText, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            level = number >= 60 ? LogRecordLevel.Fatal : number >= 50 ? LogRecordLevel.Error : number >= 40 ? LogRecordLevel.Warn : LogRecordLevel.Info;
        }
        return new LogRecord
        {
            Shape = "json",
            Raw = Cut(raw),
            Timestamp = EpochOrIso(e.Get("timestamp") ?? e.Get("time") ?? e.Get("ts") ?? e.Get("@timestamp") ?? e.Get("date")),
            Level = level,
            LevelText = levelText,
            Message = message,
            Service = FirstOf(e, "service.name", "service", "app", "application", "name", "logger_name"),
            Host = FirstOf(e, "host", "hostname", "host.name"),
            Logger = FirstOf(e, "logger", "logger_name", "log.logger"),
            ExceptionType = FirstOf(e, "exception_type", "error.type", "exception.type", "error_type") ?? split.Type,
            ExceptionMessage = FirstOf(e, "exception_message", "error.message", "exception.message", "error") ?? split.Message,
            StackTrace = stack,
            TraceId = FirstOf(e, "trace_id", "traceId", "trace.id"),
        };
    }

    /// <summary>OTLP/JSON (<c>ExportLogsServiceRequest</c>): resourceLogs → scopeLogs → logRecords.</summary>
    private static IEnumerable<LogRecord> Otlp(JsonElement request)
    {
        foreach (var resourceLogs in request.Items("resourceLogs"))
        {
            var resource = Attributes(resourceLogs.Get("resource", "attributes"));
            foreach (var scopeLogs in resourceLogs.Items("scopeLogs").Concat(resourceLogs.Items("instrumentationLibraryLogs")))
            {
                var scope = scopeLogs.Str("scope", "name");
                foreach (var r in scopeLogs.Items("logRecords"))
                {
                    var attributes = Attributes(r.Get("attributes"));
                    var severityNumber = r.Get("severityNumber") is { } n ? (n.ValueKind == JsonValueKind.Number ? n.GetInt32() : SeverityNumberOf(n.GetString())) : 0;
                    var severityText = r.Str("severityText");
                    var level = severityNumber switch
                    {
                        >= 21 => LogRecordLevel.Fatal,
                        >= 17 => LogRecordLevel.Error,
                        >= 13 => LogRecordLevel.Warn,
                        >= 9 => LogRecordLevel.Info,
                        >= 5 => LogRecordLevel.Debug,
                        >= 1 => LogRecordLevel.Trace,
                        _ => severityText is null ? LogRecordLevel.Info : LevelOf(severityText),
                    };
                    yield return new LogRecord
                    {
                        Shape = "otlp",
                        Raw = Cut(r.GetRawText()),
                        Timestamp = UnixNanos(r.Get("timeUnixNano")) ?? UnixNanos(r.Get("observedTimeUnixNano")),
                        Level = level,
                        LevelText = severityText ?? (severityNumber > 0 ? severityNumber.ToString(CultureInfo.InvariantCulture) : null),
                        Message = AnyValue(r.Get("body")),
                        Service = resource.GetValueOrDefault("service.name") ?? attributes.GetValueOrDefault("service.name"),
                        Host = resource.GetValueOrDefault("host.name"),
                        Logger = scope,
                        ExceptionType = attributes.GetValueOrDefault("exception.type"),
                        ExceptionMessage = attributes.GetValueOrDefault("exception.message"),
                        StackTrace = attributes.GetValueOrDefault("exception.stacktrace"),
                        TraceId = r.Str("traceId"),
                    };
                }
            }
        }
    }

    /// <summary>Loki's stream list (push body, or a query_range result): each value is <c>[ns, line]</c>, the line in any shape.</summary>
    public static IEnumerable<LogRecord> LokiStreams(JsonElement streams)
    {
        foreach (var stream in streams.EnumerateArray())
        {
            var labels = stream.Get("stream") ?? stream.Get("labels");
            foreach (var value in stream.Items("values"))
            {
                if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() < 2 || value[1].ValueKind != JsonValueKind.String)
                {
                    continue;
                }
                yield return FromLokiEntry(labels, value[0], value[1].GetString() ?? "");
            }
        }
    }

    public static LogRecord FromLokiEntry(JsonElement? labels, JsonElement nanos, string line)
    {
        var record = Line(line);
        var labelLevel = labels?.Str("level") ?? labels?.Str("detected_level") ?? labels?.Str("severity");
        return record with
        {
            Timestamp = record.Timestamp ?? UnixNanos(nanos),
            Service = record.Service ?? labels?.Str("service_name") ?? labels?.Str("service") ?? labels?.Str("app") ?? labels?.Str("job") ?? labels?.Str("container"),
            Host = record.Host ?? labels?.Str("host") ?? labels?.Str("instance") ?? labels?.Str("pod"),
            Level = record.Shape == "plain" && labelLevel is not null ? LevelOf(labelLevel) : record.Level,
            LevelText = record.Shape == "plain" && labelLevel is not null ? labelLevel : record.LevelText,
        };
    }

    /// <summary>One line of text: a JSON object line in its shape, anything else as plain text.</summary>
    public static LogRecord Line(string line)
    {
        var trimmed = line.AsSpan().TrimStart();
        if (trimmed.Length > 0 && trimmed[0] == '{')
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                return Single(document.RootElement, line);
            }
            catch (JsonException)
            {
                // Not JSON after all: kept as text.
            }
        }
        return Plain(line);
    }

    /// <summary>A plain text line: a leading ISO 8601 time, a level word, and an exception type, when present.</summary>
    public static LogRecord Plain(string line)
    {
        var text = line.TrimEnd('\r');
        DateTimeOffset? timestamp = null;
        var time = LeadingTime().Match(text);
        if (time.Success && DateTimeOffset.TryParse(time.Groups[1].Value.Replace(',', '.'), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            timestamp = parsed;
        }
        var levelMatch = LevelWord().Match(text);
        var exception = ExceptionName().Match(text);
        return new LogRecord
        {
            Shape = "plain",
            Raw = Cut(text),
            Timestamp = timestamp,
            Level = levelMatch.Success ? LevelOf(levelMatch.Groups[1].Value) : LogRecordLevel.Info,
            LevelText = levelMatch.Success ? levelMatch.Groups[1].Value : null,
            Message = Cut(text),
            ExceptionType = exception.Success ? exception.Groups[1].Value : null,
            ExceptionMessage = exception.Success && exception.Groups[2].Success ? exception.Groups[2].Value.Trim() : null,
        };
    }

    public static LogRecordLevel LevelOf(string text) => text.Trim().ToUpperInvariant() switch
    {
        "TRACE" or "VERBOSE" or "VRB" or "TRC" or "FINEST" or "FINER" => LogRecordLevel.Trace,
        "DEBUG" or "DBG" or "FINE" => LogRecordLevel.Debug,
        "WARN" or "WARNING" or "WRN" => LogRecordLevel.Warn,
        "ERROR" or "ERR" or "EROR" or "SEVERE" or "ERRO" => LogRecordLevel.Error,
        "FATAL" or "CRITICAL" or "CRIT" or "FTL" or "PANIC" or "EMERG" or "EMERGENCY" or "ALERT" or "DPANIC" => LogRecordLevel.Fatal,
        var other when other.StartsWith("ERROR", StringComparison.Ordinal) => LogRecordLevel.Error,
        var other when other.StartsWith("FATAL", StringComparison.Ordinal) => LogRecordLevel.Fatal,
        var other when int.TryParse(other, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n is >= 10 and <= 60 =>
            n >= 60 ? LogRecordLevel.Fatal : n >= 50 ? LogRecordLevel.Error : n >= 40 ? LogRecordLevel.Warn : n >= 30 ? LogRecordLevel.Info : n >= 20 ? LogRecordLevel.Debug : LogRecordLevel.Trace,
        _ => LogRecordLevel.Info,
    };

    /// <summary>
    /// The exception type and message from the first line of a stack trace as .NET
    /// (<c>System.TimeoutException: …</c>), Java (<c>java.lang.IllegalStateException: …</c>) and
    /// JavaScript (<c>TypeError: …</c>) print it.
    /// </summary>
    public static (string? Type, string? Message, string? Stack) SplitException(string? stack)
    {
        if (string.IsNullOrWhiteSpace(stack))
        {
            return (null, null, null);
        }
        var newline = stack.IndexOf('\n', StringComparison.Ordinal);
        var first = (newline < 0 ? stack : stack[..newline]).Trim();
        var match = ExceptionHead().Match(first);
        var type = match.Success ? match.Groups[1].Value : null;
        // "Something: happened" is a sentence, not an exception: a type is qualified or named like one.
        if (type is null || !(type.Contains('.', StringComparison.Ordinal) || type.EndsWith("Exception", StringComparison.Ordinal)
            || type.EndsWith("Error", StringComparison.Ordinal) || type.EndsWith("Fault", StringComparison.Ordinal)))
        {
            return (null, null, stack);
        }
        return (type, match.Groups[2].Success ? match.Groups[2].Value.Trim() : null, stack);
    }

    private static string? Render(string? template, JsonElement e)
    {
        if (template is null)
        {
            return null;
        }
        return Hole().Replace(template, m =>
        {
            var name = m.Groups[1].Value;
            return e.Get(name) is { } value ? (value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText()) : m.Value;
        });
    }

    private static Dictionary<string, string> Attributes(JsonElement? list)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (list is { ValueKind: JsonValueKind.Array } array)
        {
            foreach (var attribute in array.EnumerateArray())
            {
                if (attribute.Str("key") is { } key && AnyValue(attribute.Get("value")) is { } value)
                {
                    result[key] = value;
                }
            }
        }
        return result;
    }

    /// <summary>An OTLP AnyValue as text: strings as they are, other scalars in their JSON form.</summary>
    private static string? AnyValue(JsonElement? value)
    {
        if (value is not { ValueKind: JsonValueKind.Object } v)
        {
            return value?.ValueKind == JsonValueKind.String ? value.Value.GetString() : null;
        }
        return v.Str("stringValue") ?? v.Str("intValue") ?? v.Str("doubleValue") ?? v.Str("boolValue")
            ?? (v.Get("kvlistValue") ?? v.Get("arrayValue"))?.GetRawText();
    }

    private static int SeverityNumberOf(string? name) => name switch
    {
        null => 0,
        _ when name.StartsWith("SEVERITY_NUMBER_FATAL", StringComparison.Ordinal) => 21,
        _ when name.StartsWith("SEVERITY_NUMBER_ERROR", StringComparison.Ordinal) => 17,
        _ when name.StartsWith("SEVERITY_NUMBER_WARN", StringComparison.Ordinal) => 13,
        _ when name.StartsWith("SEVERITY_NUMBER_INFO", StringComparison.Ordinal) => 9,
        _ when name.StartsWith("SEVERITY_NUMBER_DEBUG", StringComparison.Ordinal) => 5,
        _ when name.StartsWith("SEVERITY_NUMBER_TRACE", StringComparison.Ordinal) => 1,
        _ => 0,
    };

    /// <summary>Nanoseconds since the epoch, as OTLP/JSON (a decimal string) and Loki write them; 0 means unset.</summary>
    public static DateTimeOffset? UnixNanos(JsonElement? value)
    {
        long nanos;
        if (value is { ValueKind: JsonValueKind.String } s && long.TryParse(s.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            nanos = parsed;
        }
        else if (value is { ValueKind: JsonValueKind.Number } n && n.TryGetInt64(out var number))
        {
            nanos = number;
        }
        else
        {
            return null;
        }
        return nanos <= 0 ? null : DateTimeOffset.UnixEpoch.AddTicks(nanos / 100);
    }

    /// <summary>A time as an ISO 8601 string or epoch number (seconds, milliseconds, micro- or nanoseconds, told apart by size).</summary>
    private static DateTimeOffset? EpochOrIso(JsonElement? value)
    {
        if (value is { ValueKind: JsonValueKind.Number } n && n.TryGetDouble(out var number) && number > 0)
        {
            var ticks = number switch
            {
                > 1e17 => number / 100,
                > 1e14 => number * 10,
                > 1e11 => number * TimeSpan.TicksPerMillisecond,
                _ => number * TimeSpan.TicksPerSecond,
            };
            return ticks < (DateTimeOffset.MaxValue - DateTimeOffset.UnixEpoch).Ticks ? DateTimeOffset.UnixEpoch.AddTicks((long)ticks) : null;
        }
        if (value is { ValueKind: JsonValueKind.String } s && DateTimeOffset.TryParse(s.GetString(), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return parsed;
        }
        return null;
    }

    /// <summary>A member by its ECS name, written either dotted (<c>"log.level"</c>) or nested (<c>{"log": {"level"}}</c>).</summary>
    private static string? Dotted(JsonElement e, string name)
    {
        if (e.Str(name) is { } flat)
        {
            return flat;
        }
        return name.Contains('.', StringComparison.Ordinal) ? e.Str(name.Split('.')) : null;
    }

    private static string? FirstOf(JsonElement e, params string[] names)
    {
        foreach (var name in names)
        {
            if (Dotted(e, name) is { } value)
            {
                return value;
            }
        }
        return null;
    }

    public static string Cut(string text) => text.Length <= MaxRawChars ? text : string.Concat(text.AsSpan(0, MaxRawChars), "…");

    [GeneratedRegex(@"\{[@$]?([A-Za-z_][A-Za-z0-9_.]*)(?:[,:][^}]*)?\}")]
    private static partial Regex Hole();

    [GeneratedRegex(@"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)")]
    private static partial Regex LeadingTime();

    [GeneratedRegex(@"(?<![A-Za-z])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|SEVERE)(?![A-Za-z])")]
    private static partial Regex LevelWord();

    [GeneratedRegex(@"\b((?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*(?:Exception|Error|Fault))\b(?::\s*(.*))?")]
    private static partial Regex ExceptionName();

    [GeneratedRegex(@"^((?:[A-Za-z_$][\w$`]*\.)*[A-Za-z_$][\w$`]*)(?::\s*(.*))?$")]
    private static partial Regex ExceptionHead();
}
