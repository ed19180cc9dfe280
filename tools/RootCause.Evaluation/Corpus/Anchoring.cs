using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Evaluation.Corpus;

/// <summary>
/// Puts a scenario at a real time: detection at <c>detection</c>, every offset and every
/// <c>{t:SECONDS}</c> token turned into a timestamp. The same anchoring serves the scorer mode
/// (records in memory) and the pipeline mode (request bodies).
/// </summary>
public static partial class Anchoring
{
    [GeneratedRegex(@"\{t:(-?\d+)\}")]
    private static partial Regex TimeToken();

    public static string Resolve(string text, DateTimeOffset detection) =>
        TimeToken().Replace(text, m => Iso(detection.AddSeconds(long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))));

    public static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset At(long offset, DateTimeOffset detection) => detection.AddSeconds(offset);

    public static EventSource Source(CorpusEvent e) =>
        RootCauseJson.TryParse<EventSource>(e.Source, out var source) ? source : throw new InvalidOperationException($"Unknown source '{e.Source}'.");

    public static EventSeverity Severity(CorpusEvent e) =>
        RootCauseJson.TryParse<EventSeverity>(e.Severity, out var severity) ? severity : throw new InvalidOperationException($"Unknown severity '{e.Severity}'.");

    /// <summary>The event as the ingest endpoint receives it, once parsed.</summary>
    public static EventDraft Draft(CorpusEvent e, DateTimeOffset detection) => new()
    {
        Source = Source(e),
        SourceId = Resolve(e.SourceId, detection),
        EventType = e.EventType,
        Timestamp = At(e.At, detection),
        Severity = Severity(e),
        Data = Resolve(e.Data.ToJsonString(), detection),
        Metadata = Resolve(e.Metadata.ToJsonString(), detection),
        Tags = e.Tags,
    };

    /// <summary>The event as the scorer sees it once stored (its id derived from source and source id, as ingest does).</summary>
    public static Event Event(CorpusEvent e, DateTimeOffset detection)
    {
        var draft = Draft(e, detection);
        return new Event
        {
            Id = EventKeys.IdFor(draft.Source, draft.SourceId),
            Timestamp = draft.Timestamp,
            Source = draft.Source,
            EventType = draft.EventType,
            Data = draft.Data,
            Severity = draft.Severity,
            Tags = draft.Tags,
            SourceId = draft.SourceId,
            Metadata = draft.Metadata,
        };
    }

    /// <summary>The body of POST /api/events.</summary>
    public static string EventRequestBody(CorpusEvent e, DateTimeOffset detection)
    {
        var body = new JsonObject
        {
            ["source"] = e.Source,
            ["source_id"] = Resolve(e.SourceId, detection),
            ["event_type"] = e.EventType,
            ["timestamp"] = Iso(At(e.At, detection)),
            ["severity"] = e.Severity,
            ["tags"] = new JsonArray([.. e.Tags.Select(t => (JsonNode)JsonValue.Create(t))]),
            ["data"] = JsonNode.Parse(Resolve(e.Data.ToJsonString(), detection)),
            ["metadata"] = JsonNode.Parse(Resolve(e.Metadata.ToJsonString(), detection)),
        };
        return body.ToJsonString();
    }

    public static InvestigationFields Fields(CorpusInvestigation i, DateTimeOffset detection) => new()
    {
        Title = i.Title,
        Description = i.Description,
        Status = RootCauseJson.TryParse<InvestigationStatus>(i.Status, out var status) ? status : throw new InvalidOperationException($"Unknown status '{i.Status}'."),
        ImpactSeverity = RootCauseJson.TryParse<ImpactSeverity>(i.ImpactSeverity, out var severity) ? severity : throw new InvalidOperationException($"Unknown impact severity '{i.ImpactSeverity}'."),
        Priority = RootCauseJson.TryParse<Priority>(i.Priority, out var priority) ? priority : throw new InvalidOperationException($"Unknown priority '{i.Priority}'."),
        DetectedAt = At(i.DetectedAt, detection),
        StartedAt = i.StartedAt is { } s ? At(s, detection) : null,
        ResolvedAt = i.ResolvedAt is { } r ? At(r, detection) : null,
        RootCause = i.RootCause,
        ComponentAffected = i.ComponentAffected,
        ServiceAffected = i.ServiceAffected,
        Tags = i.Tags,
        CreatedBy = i.CreatedBy,
        AssignedTo = i.AssignedTo,
    };

    /// <summary>The investigation as the scorer sees it (in its final state: the earlier one resolved).</summary>
    public static Investigation Investigation(CorpusInvestigation i, Guid id, DateTimeOffset detection)
    {
        var f = Fields(i, detection);
        return new Investigation
        {
            Id = id,
            Title = f.Title,
            Description = f.Description,
            Status = f.Status,
            ImpactSeverity = f.ImpactSeverity,
            Priority = f.Priority,
            DetectedAt = f.DetectedAt!.Value,
            StartedAt = f.StartedAt,
            ResolvedAt = f.ResolvedAt,
            RootCause = f.RootCause,
            ComponentAffected = f.ComponentAffected,
            ServiceAffected = f.ServiceAffected,
            Tags = f.Tags,
            CreatedBy = f.CreatedBy,
            AssignedTo = f.AssignedTo,
        };
    }

    /// <summary>The body of POST /api/investigations (or of the PUT that resolves the earlier one).</summary>
    public static string InvestigationRequestBody(CorpusInvestigation i, DateTimeOffset detection, bool asOpened)
    {
        var f = Fields(i, detection);
        var body = new JsonObject
        {
            ["title"] = f.Title,
            ["description"] = f.Description,
            ["status"] = asOpened ? "open" : i.Status,
            ["impact_severity"] = i.ImpactSeverity,
            ["priority"] = i.Priority,
            ["detected_at"] = Iso(f.DetectedAt!.Value),
            ["started_at"] = f.StartedAt is { } s ? Iso(s) : null,
            ["resolved_at"] = !asOpened && f.ResolvedAt is { } r ? Iso(r) : null,
            ["root_cause"] = asOpened ? null : f.RootCause,
            ["component_affected"] = f.ComponentAffected,
            ["service_affected"] = f.ServiceAffected,
            ["tags"] = JsonSerializer.SerializeToNode(f.Tags),
            ["created_by"] = f.CreatedBy,
            ["assigned_to"] = f.AssignedTo,
        };
        return body.ToJsonString();
    }
}
