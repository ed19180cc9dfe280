using System.Text.Json.Nodes;
using RootCause.Events;

namespace RootCause.Connectors;

/// <summary>
/// Where an event came from: the route (<c>github_push</c>, <c>git_poll</c>, …), which the event
/// keeps in its references, and the raw reference kept in its metadata: the connector, the
/// upstream's delivery id and event name, and a link to the original.
/// </summary>
public sealed record Provenance(string Connector, string Via)
{
    public string? DeliveryId { get; init; }

    /// <summary>The upstream's own name of the payload (GitHub's <c>X-GitHub-Event</c>, GitLab's <c>X-Gitlab-Event</c>).</summary>
    public string? UpstreamEvent { get; init; }
}

/// <summary>
/// Builds every draft a connector produces, so identity rules live in one place: the source id
/// of docs/events.md, the cross-route dedup key (<c>commit:&lt;sha&gt;</c>,
/// <c>deployment:&lt;repository&gt;:&lt;id&gt;</c>) and the route the draft came by.
/// </summary>
public static class ConnectorDrafts
{
    public static EventDraft Create(EventSource source, string sourceId, string eventType, DateTimeOffset timestamp,
        EventSeverity severity, JsonObject data, Provenance provenance, string? dedupKey = null, string? rawUrl = null)
    {
        var metadata = new JsonObject { ["connector"] = provenance.Connector };
        if (provenance.UpstreamEvent is not null)
        {
            metadata["upstream_event"] = provenance.UpstreamEvent;
        }
        if (provenance.DeliveryId is not null)
        {
            metadata["delivery_id"] = provenance.DeliveryId;
        }
        if (rawUrl is not null)
        {
            metadata["raw_url"] = rawUrl;
        }
        return new EventDraft
        {
            Source = source,
            SourceId = sourceId,
            EventType = eventType,
            Timestamp = timestamp,
            Severity = severity,
            Data = data.ToJsonString(),
            Metadata = metadata.ToJsonString(),
            DedupKey = dedupKey,
            Via = provenance.Via,
        };
    }

    /// <summary>The event grain a draft is ingested on.</summary>
    public static Guid GrainId(EventDraft draft) => EventKeys.For(draft);
}
