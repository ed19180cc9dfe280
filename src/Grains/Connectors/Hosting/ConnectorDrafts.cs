using System.Text.Json.Nodes;
using RootCause.Events;

namespace RootCause.Connectors;

/// <summary>
/// Where an event came from, kept in its metadata as the raw reference: the connector, the route
/// (<c>github_push</c>, <c>git_poll</c>, …), the upstream's delivery id and a link to the original.
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
        var metadata = new JsonObject
        {
            ["connector"] = provenance.Connector,
            ["via"] = provenance.Via,
        };
        if (dedupKey is not null)
        {
            metadata["dedup_key"] = dedupKey;
        }
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
        };
    }

    /// <summary>The event grain a draft is ingested on.</summary>
    public static Guid GrainId(EventDraft draft) => EventKeys.IdFor(draft.Source, draft.SourceId);
}
