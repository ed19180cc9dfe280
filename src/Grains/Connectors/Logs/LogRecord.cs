namespace RootCause.Connectors.Logs;

/// <summary>A log record's level, from whatever scale its shape uses (names, pino numbers, OTLP severity numbers).</summary>
public enum LogRecordLevel
{
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

/// <summary>
/// One log record, whatever shape it came in (Serilog compact, ECS, pino/bunyan, OTLP, Loki,
/// plain text): what spike detection and <c>log_error</c> events need, and the raw line it came from.
/// </summary>
public sealed record LogRecord
{
    /// <summary>The record's own time; null when it carries none (the receiving time is used then).</summary>
    public DateTimeOffset? Timestamp { get; init; }

    public LogRecordLevel Level { get; init; } = LogRecordLevel.Info;

    /// <summary>The level as the record wrote it (<c>Error</c>, <c>50</c>, <c>ERROR</c>).</summary>
    public string? LevelText { get; init; }

    public string? Message { get; init; }

    /// <summary>The service that wrote it, when the record (or its stream or resource) names one.</summary>
    public string? Service { get; init; }

    public string? Host { get; init; }

    public string? Logger { get; init; }

    public string? ExceptionType { get; init; }

    public string? ExceptionMessage { get; init; }

    public string? StackTrace { get; init; }

    /// <summary>The upstream's id of the record (Elasticsearch's <c>_id</c>), when it has one.</summary>
    public string? Id { get; init; }

    public string? TraceId { get; init; }

    /// <summary><c>serilog</c>, <c>ecs</c>, <c>pino</c>, <c>bunyan</c>, <c>otlp</c>, <c>json</c> or <c>plain</c>.</summary>
    public required string Shape { get; init; }

    /// <summary>The line (or element) as received, cut to <see cref="LogShapes.MaxRawChars"/>.</summary>
    public string Raw { get; init; } = "";

    public bool IsError => Level >= LogRecordLevel.Error;
}

/// <summary>A line (or array element) that could not be read: truncated or malformed.</summary>
public sealed record MalformedLine(int Number, string Text, string Error);

/// <summary>What one batch of lines turned into.</summary>
public sealed record LogBatch(IReadOnlyList<LogRecord> Records, IReadOnlyList<MalformedLine> Malformed)
{
    public static readonly LogBatch Empty = new([], []);
}
