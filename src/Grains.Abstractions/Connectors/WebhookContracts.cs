namespace RootCause.Connectors;

/// <summary>One webhook request as it arrived: the headers that matter and the raw body, byte for byte.</summary>
public sealed record WebhookDelivery
{
    /// <summary>The connector the delivery is for (its kind must match the receiver's provider).</summary>
    public required string Connector { get; init; }

    /// <summary>The provider's event name: <c>X-GitHub-Event</c> (<c>push</c>) or <c>X-Gitlab-Event</c> (<c>Push Hook</c>).</summary>
    public string? Event { get; init; }

    /// <summary><c>X-GitHub-Delivery</c>, or GitLab's <c>X-Gitlab-Event-UUID</c> / <c>X-Gitlab-Webhook-UUID</c>.</summary>
    public string? DeliveryId { get; init; }

    /// <summary>GitHub: <c>X-Hub-Signature-256</c> (<c>sha256=</c> and the hex HMAC). GitLab: <c>X-Gitlab-Token</c>.</summary>
    public string? Signature { get; init; }

    public string ContentType { get; init; } = "application/json";

    public required byte[] Body { get; init; }
}

public enum WebhookStatus
{
    /// <summary>Every event of the delivery was ingested (or dead-lettered where it could not be parsed).</summary>
    Ingested,

    /// <summary>Nothing in it becomes an event (a ping, an unhandled kind, a run still in progress).</summary>
    Ignored,

    /// <summary>The body could not be read at all; it is kept in the dead-letter queue.</summary>
    DeadLettered,

    /// <summary>The signature or token is missing or wrong.</summary>
    Unauthorized,

    /// <summary>No connector of this provider has that name (or it is disabled).</summary>
    UnknownConnector,

    /// <summary>A required header is missing or malformed; <see cref="WebhookOutcome.Field"/> names it.</summary>
    Invalid,

    /// <summary>Events could not be ingested now; the delivery is dead-lettered and the sender may retry.</summary>
    Unavailable,
}

/// <summary>An event a delivery produced.</summary>
public sealed record WebhookEvent(Guid Id, bool Created, string EventType, string SourceId);

/// <summary>What became of a delivery.</summary>
public sealed record WebhookOutcome
{
    public WebhookStatus Status { get; init; }

    public string? Reason { get; init; }

    /// <summary>The header or field at fault, for <see cref="WebhookStatus.Invalid"/> and <see cref="WebhookStatus.Unauthorized"/>.</summary>
    public string? Field { get; init; }

    public IReadOnlyList<WebhookEvent> Events { get; init; } = [];

    /// <summary>Dead-letter entries made for parts (or all) of the delivery.</summary>
    public IReadOnlyList<long> DeadLetterIds { get; init; } = [];
}

/// <summary>
/// Verifies, parses and ingests webhook deliveries. Returns only after every event of the
/// delivery was ingested (durably handed on) or dead-lettered; never throws for a bad delivery.
/// </summary>
public interface IWebhookReceiver
{
    Task<WebhookOutcome> ReceiveAsync(ConnectorKind provider, WebhookDelivery delivery, CancellationToken cancellationToken = default);
}
