namespace RootCause.Connectors;

/// <summary>One batch of log lines POSTed to a logs connector's receiver, as it arrived.</summary>
public sealed record LogsDelivery
{
    /// <summary>A batch's limit, compressed or not (shippers batch far below it: Vector 10 MB, Fluent Bit 2 MB by default).</summary>
    public const long MaxBatchBytes = 10L * 1024 * 1024;

    public required string Connector { get; init; }

    /// <summary>The <c>Authorization</c> header (<c>Bearer &lt;token&gt;</c>).</summary>
    public string? Authorization { get; init; }

    public string? ContentType { get; init; }

    /// <summary>The body, already decompressed when it came gzip-encoded (a Loki protobuf push stays snappy-compressed).</summary>
    public required byte[] Body { get; init; }
}

/// <summary>What became of a batch of log lines.</summary>
public sealed record LogsOutcome
{
    /// <summary>Ingested, DeadLettered (an unreadable protobuf push), Unauthorized, UnknownConnector or Unavailable (as for webhooks).</summary>
    public WebhookStatus Status { get; init; }

    public string? Reason { get; init; }

    public string? Field { get; init; }

    /// <summary>Records read from the batch.</summary>
    public int Records { get; init; }

    /// <summary>Records at error level or above.</summary>
    public int Errors { get; init; }

    /// <summary>Lines that could not be read (truncated or malformed); they are in the dead-letter queue.</summary>
    public int Malformed { get; init; }

    /// <summary>Events written because of the batch: <c>error_spike</c> (created or grown) and kept <c>log_error</c> events.</summary>
    public IReadOnlyList<WebhookEvent> Events { get; init; } = [];

    public IReadOnlyList<long> DeadLetterIds { get; init; } = [];
}

/// <summary>
/// Checks a batch's bearer token against the connector's secret, reads the lines and hands them on
/// (spike detection, kept errors, dead letters). Never throws for a bad batch.
/// </summary>
public interface ILogsReceiver
{
    Task<LogsOutcome> ReceiveAsync(LogsDelivery delivery, CancellationToken cancellationToken = default);
}
