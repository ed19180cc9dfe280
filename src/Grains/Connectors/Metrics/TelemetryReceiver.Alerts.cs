using System.Text.Json;
using RootCause.Connectors.Metrics;
using RootCause.Events;

namespace RootCause.Connectors;

public sealed partial class TelemetryReceiver
{
    /// <summary>An Alertmanager webhook delivery (see <see cref="AlertmanagerWebhook"/>).</summary>
    public async Task<WebhookOutcome> ReceiveAlertsAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var (_, refusal) = await OpenAsync(ConnectorKind.Alertmanager, delivery);
        if (refusal is not null)
        {
            return refusal;
        }
        ParsedDelivery parsed;
        try
        {
            using var document = JsonDocument.Parse(delivery.Body);
            parsed = AlertmanagerWebhook.Parse(document.RootElement, new Provenance(delivery.Connector, "alertmanager") { DeliveryId = delivery.DeliveryId });
        }
        catch (JsonException e)
        {
            var id = await DeadLetterAsync(delivery, EventSource.Metrics, AlertmanagerWebhook.DeadLetterKind, $"the body is not readable JSON: {e.Message}", cancellationToken);
            return new WebhookOutcome { Status = WebhookStatus.DeadLettered, Reason = "The body is not readable JSON; it is kept in the dead-letter queue.", DeadLetterIds = [id] };
        }
        grains.GetGrain<IConnectorGrain>(delivery.Connector).DeliveryAcceptedAsync(time.GetUtcNow()).Ignore();
        if (parsed.Ignored is not null && parsed.Drafts.Count == 0 && parsed.Failures.Count == 0)
        {
            return new WebhookOutcome { Status = WebhookStatus.Ignored, Reason = parsed.Ignored };
        }
        var deadLetterIds = new List<long>();
        if (parsed.Failures.Count > 0)
        {
            deadLetterIds.Add(await DeadLetterAsync(delivery, EventSource.Metrics, AlertmanagerWebhook.DeadLetterKind,
                "unreadable alerts: " + string.Join(" ", parsed.Failures), cancellationToken));
        }
        var outcome = await IngestAsync(delivery.Connector, parsed.Drafts, parsed.Failures.Count > 0 ? string.Join(" ", parsed.Failures) : null, cancellationToken);
        return outcome with { DeadLetterIds = [.. deadLetterIds, .. outcome.DeadLetterIds] };
    }
}
