using System.Text.Json;

namespace RootCause.Common;

/// <summary>
/// Collects validation errors keyed by the snake_case field name a client sent, so every 400
/// names the field it is about.
/// </summary>
public sealed class ValidationErrors
{
    /// <summary>How far in the future a timestamp may lie, for clock skew between hosts.</summary>
    public static readonly TimeSpan AllowedClockSkew = TimeSpan.FromMinutes(5);

    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsEmpty => _errors.Count == 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }
        list.Add(message);
    }

    public void ThrowIfAny()
    {
        if (!IsEmpty)
        {
            throw new ValidationFailedException(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
        }
    }

    public string? Required(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, $"{field} is required.");
            return null;
        }
        return Optional(field, value, maxLength);
    }

    /// <summary>Trims; blank becomes null; longer than <paramref name="maxLength"/> is an error.</summary>
    public string? Optional(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        var trimmed = value.Trim();
        if (trimmed.Length > maxLength)
        {
            Add(field, $"{field} must be at most {maxLength} characters (got {trimmed.Length}).");
        }
        if (trimmed.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
        {
            Add(field, $"{field} must not contain control characters.");
        }
        return trimmed;
    }

    public const int MaxTags = 50;
    public const int MaxTagLength = 64;

    /// <summary>Tags: trimmed, de-duplicated case-insensitively in the order given, no blanks or whitespace inside.</summary>
    public IReadOnlyList<string> Tags(string field, IReadOnlyList<string>? tags)
    {
        if (tags is null || tags.Count == 0)
        {
            return [];
        }
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < tags.Count; i++)
        {
            var tag = tags[i]?.Trim();
            if (string.IsNullOrEmpty(tag))
            {
                Add(field, $"{field}[{i}] must not be empty.");
                continue;
            }
            if (tag.Length > MaxTagLength)
            {
                Add(field, $"{field}[{i}] must be at most {MaxTagLength} characters.");
                continue;
            }
            if (tag.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                Add(field, $"{field}[{i}] must not contain whitespace.");
                continue;
            }
            if (seen.Add(tag))
            {
                result.Add(tag);
            }
        }
        if (result.Count > MaxTags)
        {
            Add(field, $"{field} may hold at most {MaxTags} tags (got {result.Count}).");
        }
        return result;
    }

    /// <summary>A timestamp must be a real instant no later than now plus the allowed skew.</summary>
    public void NotInFuture(string field, DateTimeOffset? value, DateTimeOffset now)
    {
        if (value is { } v && v > now + AllowedClockSkew)
        {
            Add(field, $"{field} lies in the future ({v:O} is after {now:O}).");
        }
        if (value is { } early && early.Year < 1970)
        {
            Add(field, $"{field} must not be before 1970.");
        }
    }

    /// <summary>An enum value that is one of the defined names (a number sent over the wire may not be).</summary>
    public void Defined<TEnum>(string field, TEnum value) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            Add(field, $"{field} must be one of {RootCauseJson.Names<TEnum>()}.");
        }
    }

    /// <summary>A JSON object as text, at most <paramref name="maxBytes"/> UTF-8 bytes; null/blank becomes <c>{}</c>.</summary>
    public string JsonObject(string field, string? json, int maxBytes)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return "{}";
        }
        if (System.Text.Encoding.UTF8.GetByteCount(json) > maxBytes)
        {
            Add(field, $"{field} must be at most {maxBytes} bytes of JSON.");
            return "{}";
        }
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                Add(field, $"{field} must be a JSON object.");
                return "{}";
            }
            return doc.RootElement.GetRawText();
        }
        catch (JsonException)
        {
            Add(field, $"{field} must be valid JSON.");
            return "{}";
        }
    }
}
