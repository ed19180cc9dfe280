using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace RootCause.Connectors.Logs;

/// <summary>
/// The push input: a batch POSTed by a shipper (Vector, Fluent Bit, syslog-ng, a Loki-push
/// client) for a <c>logs</c> connector whose input is <c>push</c>. The bearer token is compared
/// in constant time with the connector's secret, resolved here per batch; then the batch goes
/// through <see cref="LogsIngest"/>. A batch that cannot be handed on is kept whole in the
/// dead-letter queue and answered 503, so the shipper's retry is safe.
/// </summary>
public sealed partial class LogsReceiver(IGrainFactory grains, LogsIngest logs, IDeadLetterQueue deadLetters, TimeProvider time,
    ILogger<LogsReceiver> logger) : ILogsReceiver
{
    public const string Via = "logs_push";

    public async Task<LogsOutcome> ReceiveAsync(LogsDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var connector = grains.GetGrain<IConnectorGrain>(delivery.Connector);
        var config = ConnectorNames.IsValid(delivery.Connector) ? await connector.GetConfigAsync() : null;
        if (config is not { Kind: ConnectorKind.Logs, Enabled: true } || (config.Input ?? LogsInput.Push) != LogsInput.Push)
        {
            return new LogsOutcome { Status = WebhookStatus.UnknownConnector, Reason = $"No enabled logs connector with input push is named '{delivery.Connector}'." };
        }
        var secret = config.Secret is null ? null : SecretReferences.Resolve(config.Secret);
        if (secret is null)
        {
            SecretMissing(logger, delivery.Connector, config.Secret ?? "(none)");
            return new LogsOutcome { Status = WebhookStatus.Unavailable, Reason = "The connector's token cannot be read on this silo; nothing was accepted." };
        }
        if (!TokenMatches(secret, delivery.Authorization))
        {
            Rejected(logger, delivery.Connector, delivery.Authorization is null ? "missing" : "wrong");
            return new LogsOutcome
            {
                Status = WebhookStatus.Unauthorized,
                Field = "Authorization",
                Reason = delivery.Authorization is null ? "Authorization: Bearer <token> is missing." : "The bearer token does not match the connector's secret.",
            };
        }
        var body = delivery.Body;
        var contentType = delivery.ContentType;
        if (MediaTypes.IsProtobuf(contentType))
        {
            // Loki's binary push (Promtail, Alloy): read on as the same push in JSON.
            try
            {
                body = LokiProtobuf.ToPushJson(body, LogsDelivery.MaxBatchBytes);
                contentType = "application/json";
            }
            catch (InvalidDataException e)
            {
                var kept = await deadLetters.RecordFailureAsync(new DeadLetterFailure
                {
                    Connector = delivery.Connector,
                    Source = Events.EventSource.Logs,
                    Kind = LogLineDeadLetter.Kind,
                    ContentType = MediaTypes.Protobuf,
                    Payload = delivery.Body,
                    Error = $"not a readable Loki protobuf push: {e.Message}",
                }, cancellationToken);
                return new LogsOutcome
                {
                    Status = WebhookStatus.DeadLettered,
                    Field = "body",
                    Reason = $"The body is not a readable Loki protobuf push ({e.Message}); it is kept in the dead-letter queue.",
                    DeadLetterIds = [kept.Id],
                };
            }
        }
        connector.DeliveryAcceptedAsync(time.GetUtcNow()).Ignore();
        var batch = LogBatchParser.Parse(body, contentType);
        try
        {
            var tally = await logs.IngestAsync(delivery.Connector, config, batch, Via, cancellationToken);
            return new LogsOutcome
            {
                Status = WebhookStatus.Ingested,
                Records = tally.Records,
                Errors = tally.Errors,
                Malformed = tally.Malformed,
                Events = tally.Events,
                DeadLetterIds = tally.DeadLetterIds,
                Reason = tally.Malformed > 0 ? $"{tally.Malformed} malformed line(s) kept in the dead-letter queue." : null,
            };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Kept whole; a replay makes the errors in it log_error events, the shipper's retry counts them again.
            var entry = await deadLetters.RecordFailureAsync(new DeadLetterFailure
            {
                Connector = delivery.Connector,
                Source = Events.EventSource.Logs,
                Kind = LogLineDeadLetter.Kind,
                ContentType = "application/x-ndjson",
                Payload = body,
                Error = $"ingest failed: {e.Message}",
            }, cancellationToken);
            return new LogsOutcome
            {
                Status = WebhookStatus.Unavailable,
                Reason = $"The batch could not be handed on now ({e.GetType().Name}: {e.Message}); it is in the dead-letter queue and may be sent again.",
                Records = batch.Records.Count,
                Malformed = batch.Malformed.Count,
                DeadLetterIds = [entry.Id],
            };
        }
    }

    /// <summary><c>Authorization: Bearer &lt;token&gt;</c> against the secret, in constant time (hashes of equal length are compared).</summary>
    public static bool TokenMatches(string secret, string? authorization)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[7..].Trim()));
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }

    [LoggerMessage(EventId = 4131, Level = LogLevel.Warning, Message = "Connector {Connector}: log batch rejected, bearer token {Problem}")]
    private static partial void Rejected(ILogger logger, string connector, string problem);

    [LoggerMessage(EventId = 4132, Level = LogLevel.Error, Message = "Connector {Connector}: its token {Reference} cannot be read on this silo; log batches are refused")]
    private static partial void SecretMissing(ILogger logger, string connector, string reference);
}
