using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RootCause.Events;

namespace RootCause.Connectors.Metrics;

/// <summary>
/// Alertmanager's webhook (<c>webhook_config</c>, payload version 4): a group of alerts, each with
/// <c>status</c>, <c>labels</c>, <c>annotations</c>, <c>startsAt</c>, <c>endsAt</c>,
/// <c>generatorURL</c> and <c>fingerprint</c>. Every alert becomes an <c>alert</c> event whose
/// identity is its fingerprint and start (<c>alert:&lt;fingerprint&gt;:&lt;starts_at&gt;</c>), so the
/// repeats Alertmanager sends while an alert fires, and its resolution, fold into the one event.
/// </summary>
public static class AlertmanagerWebhook
{
    public const string DeadLetterKind = "alertmanager_webhook";

    /// <summary><c>labels.severity</c> as operators write it, mapped onto RootCause's severities.</summary>
    public static EventSeverity SeverityOf(string? label) => label?.Trim().ToLowerInvariant() switch
    {
        "critical" or "crit" or "page" or "p1" or "emergency" or "fatal" => EventSeverity.Critical,
        "high" or "error" or "major" or "p2" => EventSeverity.High,
        "warning" or "warn" or "medium" or "p3" => EventSeverity.Medium,
        "low" or "minor" or "p4" => EventSeverity.Low,
        "info" or "informational" or "none" or "p5" => EventSeverity.Info,
        _ => EventSeverity.Medium,
    };

    /// <summary>A start time as identities carry it: UTC, ISO 8601, no trailing zero fractions.</summary>
    public static string StartsAtKey(DateTimeOffset startsAt) =>
        startsAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    public static ParsedDelivery Parse(JsonElement root, Provenance provenance)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return new ParsedDelivery { Failures = ["the body is not a JSON object."] };
        }
        var version = root.Str("version");
        var alerts = root.Items("alerts").ToList();
        if (alerts.Count == 0)
        {
            return ParsedDelivery.Ignore("the delivery lists no alerts.");
        }
        var drafts = new List<EventDraft>();
        var failures = new List<string>();
        for (var i = 0; i < alerts.Count; i++)
        {
            var alert = alerts[i];
            var fingerprint = alert.Str("fingerprint");
            var startsAt = alert.Time("startsAt");
            if (fingerprint is null || startsAt is null)
            {
                failures.Add($"alerts[{i}]: {(fingerprint is null ? "fingerprint" : "startsAt")} is missing.");
                continue;
            }
            var labels = Labels(alert.Get("labels"));
            var status = alert.Str("status") ?? root.Str("status") ?? "firing";
            // Alertmanager writes 0001-01-01T00:00:00Z for an alert that has not ended.
            var endsAt = alert.Time("endsAt") is { Year: > 1 } end ? end : (DateTimeOffset?)null;
            var key = StartsAtKey(startsAt.Value);
            var data = new JsonObject
            {
                ["alertname"] = labels["alertname"]?.DeepClone(),
                ["status"] = status,
                ["labels"] = labels,
                ["annotations"] = Labels(alert.Get("annotations")),
                ["starts_at"] = key,
                ["ends_at"] = endsAt is { } e ? StartsAtKey(e) : null,
                ["fingerprint"] = fingerprint,
                ["generator_url"] = alert.Str("generatorURL"),
                ["receiver"] = root.Str("receiver"),
                ["group_key"] = root.Str("groupKey"),
                ["external_url"] = root.Str("externalURL"),
                ["webhook_version"] = version,
            };
            drafts.Add(ConnectorDrafts.Create(EventSource.Metrics, $"{fingerprint}:{key}", "alert", startsAt.Value,
                SeverityOf(labels["severity"]?.ToString()), data, provenance,
                dedupKey: $"alert:{fingerprint}:{key}", rawUrl: alert.Str("generatorURL")));
        }
        return new ParsedDelivery { Drafts = drafts, Failures = failures };
    }

    private static JsonObject Labels(JsonElement? element)
    {
        var result = new JsonObject();
        if (element is { ValueKind: JsonValueKind.Object } map)
        {
            foreach (var property in map.EnumerateObject())
            {
                result[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText();
            }
        }
        return result;
    }

    /// <summary>Replays a dead-lettered delivery exactly as the receiver would have read it.</summary>
    public static IReadOnlyList<EventDraft> Replay(DeadLetter entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        using var document = JsonDocument.Parse(entry.Payload);
        var parsed = Parse(document.RootElement, new Provenance(entry.Connector, "alertmanager"));
        if (parsed.Failures.Count > 0)
        {
            throw new Common.ValidationFailedException("payload", string.Join(" ", parsed.Failures));
        }
        return parsed.Drafts;
    }
}
