using RootCause.Common;

namespace RootCause.Events;

/// <summary>Field limits of an event.</summary>
public static class EventRules
{
    public const int MaxSourceIdLength = 512;
    public const int MaxEventTypeLength = 100;
    public const int MaxJsonBytes = 256 * 1024;
    public const int MaxDedupKeyLength = 512;
    public const int MaxViaLength = 64;

    /// <summary>How many distinct reports an event keeps; later ones still fold into it, unrecorded.</summary>
    public const int MaxReferences = 50;

    public sealed record Checked(string SourceId, string EventType, string Data, string Metadata, IReadOnlyList<string> Tags);

    public static Checked Validate(EventDraft draft, DateTimeOffset now)
    {
        var errors = new ValidationErrors();
        errors.Defined("source", draft.Source);
        var sourceId = errors.Required("source_id", draft.SourceId, MaxSourceIdLength);
        if (draft.DedupKey is { } dedupKey && (dedupKey.Length > MaxDedupKeyLength || (dedupKey.Length > 0 && string.IsNullOrWhiteSpace(dedupKey))))
        {
            errors.Add("dedup_key", $"dedup_key must be non-blank and at most {MaxDedupKeyLength} characters.");
        }
        if (draft.Via is { } via && (via.Length > MaxViaLength || via.Any(char.IsWhiteSpace)))
        {
            errors.Add("via", $"via must be a name without whitespace of at most {MaxViaLength} characters (e.g. github_push, git_poll).");
        }
        var result = ValidateFields(errors, draft.EventType, draft.Timestamp, draft.Severity, draft.Data, draft.Metadata, draft.Tags, now);
        errors.ThrowIfAny();
        return result with { SourceId = sourceId! };
    }

    public static Checked Validate(EventChanges changes, DateTimeOffset now)
    {
        var errors = new ValidationErrors();
        var result = ValidateFields(errors, changes.EventType, changes.Timestamp, changes.Severity, changes.Data, changes.Metadata, changes.Tags, now);
        errors.ThrowIfAny();
        return result;
    }

    private static Checked ValidateFields(ValidationErrors errors, string? eventType, DateTimeOffset timestamp, EventSeverity severity,
        string? data, string? metadata, IReadOnlyList<string>? tags, DateTimeOffset now)
    {
        var type = errors.Required("event_type", eventType, MaxEventTypeLength);
        if (type is not null && type.Any(char.IsWhiteSpace))
        {
            errors.Add("event_type", "event_type must not contain whitespace (use e.g. deployment, build_failed, error_spike).");
        }
        if (timestamp == default)
        {
            errors.Add("timestamp", "timestamp is required.");
        }
        errors.NotInFuture("timestamp", timestamp, now);
        errors.Defined("severity", severity);
        var dataJson = errors.JsonObject("data", data, MaxJsonBytes);
        var metadataJson = errors.JsonObject("metadata", metadata, MaxJsonBytes);
        var checkedTags = errors.Tags("tags", tags);
        return new Checked("", type ?? "", dataJson, metadataJson, checkedTags);
    }
}
