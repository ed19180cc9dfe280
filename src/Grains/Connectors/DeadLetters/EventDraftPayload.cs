using System.Globalization;
using System.Text.Json;
using RootCause.Common;
using RootCause.Events;

namespace RootCause.Connectors;

/// <summary>
/// The generic dead-letter format <c>event_draft</c>: the JSON body POST /api/events accepts
/// (source, source_id, event_type, timestamp, severity, data, tags, metadata), or an array of
/// them. Unlike the API, <c>source_id</c> is required for every source (a replay must always
/// land on the same event), and a missing <c>timestamp</c> is the entry's first failure time (so
/// every replay builds the same draft).
/// </summary>
public static class EventDraftPayload
{
    public const string Kind = "event_draft";

    /// <exception cref="ValidationFailedException">The payload is not JSON of this shape; the errors name the fields.</exception>
    public static IReadOnlyList<EventDraft> Parse(DeadLetter entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(entry.Payload);
        }
        catch (JsonException e)
        {
            throw new ValidationFailedException("payload", $"payload is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            var errors = new ValidationErrors();
            var drafts = new List<EventDraft>();
            if (root.ValueKind == JsonValueKind.Array)
            {
                var index = 0;
                foreach (var item in root.EnumerateArray())
                {
                    drafts.Add(ParseOne(item, $"[{index++}].", entry.FirstFailedAt, errors));
                }
                if (drafts.Count == 0)
                {
                    errors.Add("payload", "payload is an empty array: there is no event to replay.");
                }
            }
            else
            {
                drafts.Add(ParseOne(root, "", entry.FirstFailedAt, errors));
            }
            errors.ThrowIfAny();
            return drafts;
        }
    }

    /// <summary>The UTF-8 JSON of a draft in this format (what a connector stores when ingest fails).</summary>
    public static byte[] Serialize(EventDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("source", RootCauseJson.Name(draft.Source));
            writer.WriteString("source_id", draft.SourceId);
            writer.WriteString("event_type", draft.EventType);
            writer.WriteString("timestamp", draft.Timestamp);
            writer.WriteString("severity", RootCauseJson.Name(draft.Severity));
            writer.WritePropertyName("data");
            writer.WriteRawValue(draft.Data);
            writer.WriteStartArray("tags");
            foreach (var tag in draft.Tags)
            {
                writer.WriteStringValue(tag);
            }
            writer.WriteEndArray();
            writer.WritePropertyName("metadata");
            writer.WriteRawValue(draft.Metadata);
            if (draft.DedupKey is not null)
            {
                writer.WriteString("dedup_key", draft.DedupKey);
            }
            if (draft.Via is not null)
            {
                writer.WriteString("via", draft.Via);
            }
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static EventDraft ParseOne(JsonElement element, string prefix, DateTimeOffset defaultTimestamp, ValidationErrors errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(prefix.Length == 0 ? "payload" : prefix.TrimEnd('.'), "must be a JSON object.");
            return Placeholder;
        }
        var source = EnumValue(element, prefix, "source", errors, required: true, EventSource.Manual);
        var sourceId = Text(element, prefix, "source_id", errors);
        if (string.IsNullOrWhiteSpace(sourceId))
        {
            errors.Add(prefix + "source_id", $"{prefix}source_id is required: a replay must always produce the same event.");
        }
        var timestamp = defaultTimestamp;
        if (Text(element, prefix, "timestamp", errors) is { } text)
        {
            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                timestamp = parsed;
            }
            else
            {
                errors.Add(prefix + "timestamp", $"{prefix}timestamp must be an ISO-8601 time (got '{text}').");
            }
        }
        return new EventDraft
        {
            Source = source,
            SourceId = sourceId?.Trim() ?? "",
            EventType = Text(element, prefix, "event_type", errors) ?? "",
            Timestamp = timestamp,
            Severity = EnumValue(element, prefix, "severity", errors, required: false, EventSeverity.Info),
            Data = ObjectText(element, prefix, "data", errors),
            Tags = Tags(element, prefix, errors),
            Metadata = ObjectText(element, prefix, "metadata", errors),
            DedupKey = Text(element, prefix, "dedup_key", errors),
            Via = Text(element, prefix, "via", errors),
        };
    }

    private static readonly EventDraft Placeholder = new() { SourceId = "", EventType = "" };

    private static string? Text(JsonElement element, string prefix, string name, ValidationErrors errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(prefix + name, $"{prefix}{name} must be a string.");
            return null;
        }
        return value.GetString();
    }

    private static TEnum EnumValue<TEnum>(JsonElement element, string prefix, string name, ValidationErrors errors, bool required, TEnum fallback)
        where TEnum : struct, Enum
    {
        var text = Text(element, prefix, name, errors);
        if (text is null)
        {
            if (required)
            {
                errors.Add(prefix + name, $"{prefix}{name} is required: one of {RootCauseJson.Names<TEnum>()}.");
            }
            return fallback;
        }
        if (RootCauseJson.TryParse<TEnum>(text.Trim().ToLowerInvariant(), out var value))
        {
            return value;
        }
        errors.Add(prefix + name, $"{prefix}{name} must be one of {RootCauseJson.Names<TEnum>()} (got '{text}').");
        return fallback;
    }

    private static string ObjectText(JsonElement element, string prefix, string name, ValidationErrors errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return "{}";
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(prefix + name, $"{prefix}{name} must be a JSON object.");
            return "{}";
        }
        return value.GetRawText();
    }

    private static List<string> Tags(JsonElement element, string prefix, ValidationErrors errors)
    {
        if (!element.TryGetProperty("tags", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String))
        {
            errors.Add(prefix + "tags", $"{prefix}tags must be an array of strings.");
            return [];
        }
        return value.EnumerateArray().Select(t => t.GetString()!).ToList();
    }
}
