using System.Globalization;
using System.Text.Json;

namespace RootCause.Connectors;

/// <summary>What a webhook body turned into: drafts, items that could not be read, or why nothing applies.</summary>
public sealed record ParsedDelivery
{
    public IReadOnlyList<Events.EventDraft> Drafts { get; init; } = [];

    /// <summary>Items of the delivery that could not be read (each says which and why); they are dead-lettered.</summary>
    public IReadOnlyList<string> Failures { get; init; } = [];

    /// <summary>Set when nothing in the delivery becomes an event: the reason.</summary>
    public string? Ignored { get; init; }

    public static ParsedDelivery Ignore(string reason) => new() { Ignored = reason };
}

/// <summary>Tolerant reads from upstream JSON: a missing or null member is null, never an exception.</summary>
public static class PayloadJson
{
    public static JsonElement? Get(this JsonElement element, params ReadOnlySpan<string> path)
    {
        var current = element;
        foreach (var name in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
            {
                return null;
            }
        }
        return current.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined ? null : current;
    }

    /// <summary>A string member; a number's text or a boolean's name are returned as text too.</summary>
    public static string? Str(this JsonElement element, params ReadOnlySpan<string> path) => element.Get(path) switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString() is { Length: > 0 } text ? text : null,
        { ValueKind: JsonValueKind.Number } n => n.GetRawText(),
        { ValueKind: JsonValueKind.True } => "true",
        { ValueKind: JsonValueKind.False } => "false",
        _ => null,
    };

    public static bool Bool(this JsonElement element, params ReadOnlySpan<string> path) =>
        element.Get(path) is { ValueKind: JsonValueKind.True };

    public static IEnumerable<JsonElement> Items(this JsonElement element, params ReadOnlySpan<string> path) =>
        element.Get(path) is { ValueKind: JsonValueKind.Array } array ? array.EnumerateArray() : [];

    public static IEnumerable<string> Strings(this JsonElement element, params ReadOnlySpan<string> path) =>
        element.Items(path).Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!);

    /// <summary>
    /// A time: ISO 8601, GitLab's older <c>2016-08-12 15:23:28 UTC</c> / <c>… +0200</c>, or Unix
    /// seconds (GitHub's <c>pushed_at</c>). Always UTC.
    /// </summary>
    public static DateTimeOffset? Time(this JsonElement element, params ReadOnlySpan<string> path)
    {
        var value = element.Get(path);
        if (value is { ValueKind: JsonValueKind.Number } number && number.TryGetInt64(out var seconds))
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }
        if (value is not { ValueKind: JsonValueKind.String } text || text.GetString() is not { Length: > 0 } s)
        {
            return null;
        }
        if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return parsed;
        }
        if (s.EndsWith(" UTC", StringComparison.Ordinal)
            && DateTime.TryParseExact(s[..^4], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var utc))
        {
            return new DateTimeOffset(utc, TimeSpan.Zero);
        }
        return DateTimeOffset.TryParseExact(s, "yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var zoned)
            || DateTimeOffset.TryParseExact(s, "yyyy-MM-dd HH:mm:ss zzzz", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out zoned)
            ? zoned.ToUniversalTime()
            : null;
    }
}
