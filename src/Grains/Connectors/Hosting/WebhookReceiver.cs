using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using RootCause.Common;
using RootCause.Connectors.GitHub;
using RootCause.Connectors.GitLab;
using RootCause.Events;

namespace RootCause.Connectors;

/// <summary>
/// Receives GitHub and GitLab deliveries for a configured connector: verifies the signature or
/// token with the connector's secret (resolved here, per delivery), parses, and ingests through
/// <see cref="ConnectorIngest"/>. Items it cannot read are dead-lettered with the whole delivery
/// (format <c>github_webhook</c> / <c>gitlab_webhook</c>, replayable); the others go on.
/// </summary>
public sealed partial class WebhookReceiver(IGrainFactory grains, ConnectorIngest ingest, IDeadLetterQueue deadLetters,
    TimeProvider time, ILogger<WebhookReceiver> logger) : IWebhookReceiver
{
    public async Task<WebhookOutcome> ReceiveAsync(ConnectorKind provider, WebhookDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var connector = grains.GetGrain<IConnectorGrain>(delivery.Connector);
        var config = ConnectorNames.IsValid(delivery.Connector) ? await connector.GetConfigAsync() : null;
        if (config is null || config.Kind != provider || !config.Enabled)
        {
            return new WebhookOutcome
            {
                Status = WebhookStatus.UnknownConnector,
                Reason = $"No enabled {RootCauseJson.Name(provider)} connector is named '{delivery.Connector}'.",
            };
        }
        var secret = config.Secret is null ? null : SecretReferences.Resolve(config.Secret);
        if (secret is null)
        {
            SecretMissing(logger, delivery.Connector, config.Secret ?? "(none)");
            return new WebhookOutcome { Status = WebhookStatus.Unavailable, Reason = "The connector's secret cannot be read on this silo; nothing was accepted." };
        }
        var header = provider == ConnectorKind.Github ? GitHubWebhook.SignatureHeader : GitLabWebhook.TokenHeader;
        var authentic = provider == ConnectorKind.Github
            ? GitHubWebhook.SignatureMatches(secret, delivery.Body, delivery.Signature)
            : GitLabWebhook.TokenMatches(secret, delivery.Signature);
        if (!authentic)
        {
            Rejected(logger, delivery.Connector, delivery.DeliveryId ?? "-", delivery.Signature is null ? "missing" : "wrong");
            return new WebhookOutcome
            {
                Status = WebhookStatus.Unauthorized,
                Field = header,
                Reason = delivery.Signature is null ? $"{header} is missing." : $"{header} does not match the connector's secret.",
            };
        }
        if (provider == ConnectorKind.Github && string.IsNullOrWhiteSpace(delivery.Event))
        {
            return new WebhookOutcome { Status = WebhookStatus.Invalid, Field = GitHubWebhook.EventHeader, Reason = $"{GitHubWebhook.EventHeader} is required." };
        }

        var envelope = WebhookEnvelope.From(provider, delivery, config.KeepSuccesses);
        ParsedDelivery parsed;
        try
        {
            parsed = envelope.Parse(delivery.Connector);
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException or FormatException)
        {
            var entry = await DeadLetterAsync(envelope, delivery.Connector, $"the body is not readable JSON: {e.Message}", cancellationToken);
            return new WebhookOutcome { Status = WebhookStatus.DeadLettered, Reason = "The body is not readable JSON; it is kept in the dead-letter queue.", DeadLetterIds = [entry] };
        }
        connector.DeliveryAcceptedAsync(time.GetUtcNow()).Ignore();
        if (parsed.Ignored is not null && parsed.Drafts.Count == 0 && parsed.Failures.Count == 0)
        {
            return new WebhookOutcome { Status = WebhookStatus.Ignored, Reason = parsed.Ignored };
        }

        var deadLetterIds = new List<long>();
        if (parsed.Failures.Count > 0)
        {
            deadLetterIds.Add(await DeadLetterAsync(envelope, delivery.Connector, "unreadable items: " + string.Join(" ", parsed.Failures), cancellationToken));
        }
        try
        {
            var tally = await ingest.IngestAsync(delivery.Connector, parsed.Drafts, cancellationToken: cancellationToken);
            return new WebhookOutcome
            {
                Status = WebhookStatus.Ingested,
                Events = tally.Events,
                DeadLetterIds = [.. deadLetterIds, .. tally.DeadLetterIds],
                Reason = parsed.Failures.Count > 0 ? string.Join(" ", parsed.Failures) : null,
            };
        }
        catch (IngestInterruptedException e)
        {
            // Nothing is lost: the delivery is kept, and a replay (or the sender's retry) finds what was already ingested.
            if (parsed.Failures.Count == 0)
            {
                deadLetterIds.Add(await DeadLetterAsync(envelope, delivery.Connector, $"ingest failed: {e.InnerException?.Message}", cancellationToken));
            }
            return new WebhookOutcome
            {
                Status = WebhookStatus.Unavailable,
                Reason = $"Events could not be ingested now ({e.Handled} of {parsed.Drafts.Count} were); the delivery is in the dead-letter queue and may be sent again.",
                Events = e.Tally.Events,
                DeadLetterIds = deadLetterIds,
            };
        }
    }

    private async Task<long> DeadLetterAsync(WebhookEnvelope envelope, string connector, string error, CancellationToken cancellationToken)
    {
        var entry = await deadLetters.RecordFailureAsync(new DeadLetterFailure
        {
            Connector = connector,
            Source = envelope.Source,
            Kind = envelope.Kind,
            Payload = envelope.Serialize(),
            Error = error,
        }, cancellationToken);
        return entry.Id;
    }

    [LoggerMessage(EventId = 4120, Level = LogLevel.Warning, Message = "Connector {Connector}: delivery {DeliveryId} rejected, signature {Problem}")]
    private static partial void Rejected(ILogger logger, string connector, string deliveryId, string problem);

    [LoggerMessage(EventId = 4121, Level = LogLevel.Error, Message = "Connector {Connector}: its secret {Reference} cannot be read on this silo; deliveries are refused")]
    private static partial void SecretMissing(ILogger logger, string connector, string reference);
}

/// <summary>
/// A delivery as the dead-letter queue keeps it: provider, event header, delivery id, whether
/// successes are kept, and the body as text. A replay parses it exactly as the receiver did.
/// </summary>
public sealed record WebhookEnvelope
{
    public const string GitHubKind = "github_webhook";
    public const string GitLabKind = "gitlab_webhook";

    public required ConnectorKind Provider { get; init; }
    public string? Event { get; init; }
    public string? DeliveryId { get; init; }
    public string ContentType { get; init; } = "application/json";
    public bool KeepSuccesses { get; init; }
    public required string Body { get; init; }

    [JsonIgnore]
    public string Kind => Provider == ConnectorKind.Github ? GitHubKind : GitLabKind;

    /// <summary>Which source a dead letter is filed under: CI hooks are <c>ci</c>, the rest <c>git</c>.</summary>
    [JsonIgnore]
    public EventSource Source => Event is "workflow_run" or "workflow_job" or "check_run" or "check_suite" or "Pipeline Hook" or "Job Hook"
        ? EventSource.Ci : EventSource.Git;

    public static WebhookEnvelope From(ConnectorKind provider, WebhookDelivery delivery, bool keepSuccesses) => new()
    {
        Provider = provider,
        Event = delivery.Event,
        DeliveryId = delivery.DeliveryId,
        ContentType = delivery.ContentType,
        KeepSuccesses = keepSuccesses,
        Body = Encoding.UTF8.GetString(delivery.Body),
    };

    public ParsedDelivery Parse(string connector)
    {
        var json = Provider == ConnectorKind.Github ? GitHubWebhook.JsonOf(ContentType, Encoding.UTF8.GetBytes(Body)) : Encoding.UTF8.GetBytes(Body);
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The body is not a JSON object.");
        }
        var provenance = new Provenance(connector, Provider == ConnectorKind.Github ? "github" : "gitlab") { DeliveryId = DeliveryId, UpstreamEvent = Event };
        return Provider == ConnectorKind.Github
            ? GitHubWebhook.Parse(Event ?? "", document.RootElement, KeepSuccesses, provenance)
            : GitLabWebhook.Parse(Event, document.RootElement, KeepSuccesses, provenance);
    }

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, RootCauseJson.Options);

    /// <summary>The dead-letter parser of both kinds: every item must read now, or the replay fails naming them.</summary>
    public static IReadOnlyList<EventDraft> Replay(DeadLetter entry)
    {
        var envelope = JsonSerializer.Deserialize<WebhookEnvelope>(entry.Payload, RootCauseJson.Options)
            ?? throw new ValidationFailedException("payload", "payload is not a webhook envelope.");
        var parsed = envelope.Parse(entry.Connector);
        if (parsed.Failures.Count > 0)
        {
            throw new ValidationFailedException("payload", string.Join(" ", parsed.Failures));
        }
        return parsed.Drafts;
    }
}
