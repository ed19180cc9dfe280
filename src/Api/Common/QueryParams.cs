using System.Globalization;
using Microsoft.AspNetCore.Http;
using RootCause.Common;
using RootCause.Search;
using SortKey = RootCause.Search.SortKey;

namespace RootCause.Api.Common;

/// <summary>
/// Reads query-string parameters into index queries. Every problem is collected in
/// <see cref="Errors"/> under the parameter's name; call <see cref="ThrowIfAny"/> once at the end.
/// </summary>
internal sealed class QueryParams(HttpRequest request)
{
    public const int MaxTextLength = 1000;
    public const int MaxValuesPerFilter = 50;

    public ValidationErrors Errors { get; } = new();

    public HttpRequest Request => request;

    public void ThrowIfAny() => Errors.ThrowIfAny();

    /// <summary>Values of a filter: comma-separated and/or repeated (<c>status=open,in_progress</c>).</summary>
    public IReadOnlyList<string> List(string name)
    {
        if (!request.Query.TryGetValue(name, out var raw))
        {
            return [];
        }
        var values = raw.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        if (values.Count > MaxValuesPerFilter)
        {
            Errors.Add(name, $"{name} accepts at most {MaxValuesPerFilter} values.");
            return [];
        }
        if (values.Any(v => v.Length > 512 || v.Any(char.IsControl)))
        {
            Errors.Add(name, $"{name} values must be at most 512 characters without control characters.");
            return [];
        }
        return values;
    }

    /// <summary>Values of an enum filter, each checked against the enum's JSON names.</summary>
    public IReadOnlyList<string> EnumList<TEnum>(string name) where TEnum : struct, Enum
    {
        var values = List(name);
        var result = new List<string>();
        foreach (var value in values)
        {
            if (RootCauseJson.TryParse<TEnum>(value.ToLowerInvariant(), out var parsed))
            {
                result.Add(RootCauseJson.Name(parsed));
            }
            else
            {
                Errors.Add(name, $"{name} must be one or more of {RootCauseJson.Names<TEnum>()} (got '{Truncate(value)}').");
            }
        }
        return result;
    }

    public IReadOnlyList<string> GuidList(string name)
    {
        var result = new List<string>();
        foreach (var value in List(name))
        {
            if (Guid.TryParse(value, out var id))
            {
                result.Add(id.ToString("D"));
            }
            else
            {
                Errors.Add(name, $"{name} must be an id (a UUID), got '{Truncate(value)}'.");
            }
        }
        return result;
    }

    public string? Single(string name)
    {
        if (!request.Query.TryGetValue(name, out var raw) || string.IsNullOrWhiteSpace(raw.ToString()))
        {
            return null;
        }
        if (raw.Count > 1)
        {
            Errors.Add(name, $"{name} may be given once.");
            return null;
        }
        return raw.ToString().Trim();
    }

    /// <summary>
    /// An ISO 8601 date or date-time; a time without offset means UTC. A date alone means the start of
    /// that day (UTC), or for <c>end</c> its last millisecond, so a range of dates includes its last day.
    /// </summary>
    public DateTimeOffset? Date(string name, bool required = false)
    {
        var text = Single(name);
        if (text is null)
        {
            if (required)
            {
                Errors.Add(name, $"{name} is required (an ISO 8601 date or date-time, e.g. 2026-01-31T00:00:00Z).");
            }
            return null;
        }
        if (DateTimeOffset.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var day)
            && day.Year >= 1970)
        {
            // A whole day: "end=2026-01-31" includes all of the 31st.
            return name == "end" ? day.AddDays(1).AddTicks(-TimeSpan.TicksPerMillisecond) : day;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var value)
            && value.Year is >= 1970 and <= 9999)
        {
            return value.ToUniversalTime();
        }
        Errors.Add(name, $"{name} must be an ISO 8601 date or date-time, e.g. 2026-01-31T00:00:00Z (got '{Truncate(text)}').");
        return null;
    }

    public bool Bool(string name)
    {
        var text = Single(name);
        if (text is null)
        {
            return false;
        }
        if (bool.TryParse(text, out var value))
        {
            return value;
        }
        Errors.Add(name, $"{name} must be true or false.");
        return false;
    }

    public int Int(string name, int fallback, int min, int max)
    {
        var text = Single(name);
        if (text is null)
        {
            return fallback;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        Errors.Add(name, $"{name} must be a whole number from {min} to {max}.");
        return fallback;
    }

    /// <summary>One of a fixed set of words; <paramref name="allowed"/> maps each to what it means.</summary>
    public T Choice<T>(string name, IReadOnlyDictionary<string, T> allowed, T fallback)
    {
        var text = Single(name);
        if (text is null)
        {
            return fallback;
        }
        if (allowed.TryGetValue(text.ToLowerInvariant(), out var value))
        {
            return value;
        }
        Errors.Add(name, $"{name} must be one of {string.Join(", ", allowed.Keys)} (got '{Truncate(text)}').");
        return fallback;
    }

    /// <summary>Full-text query text; required for search endpoints.</summary>
    public string? Text(string name, bool required)
    {
        var text = Single(name);
        if (text is null)
        {
            if (required)
            {
                Errors.Add(name, $"{name} is required: the text to search for.");
            }
            return null;
        }
        if (text.Length > MaxTextLength)
        {
            Errors.Add(name, $"{name} must be at most {MaxTextLength} characters.");
            return null;
        }
        return text;
    }

    /// <summary>
    /// <c>sort=-created_at,title</c>: a leading minus sorts descending. <paramref name="allowed"/>
    /// maps public names to index fields.
    /// </summary>
    public IReadOnlyList<SortKey> Sort(IReadOnlyDictionary<string, string> allowed, IReadOnlyList<SortKey> fallback)
    {
        var values = List("sort");
        if (values.Count == 0)
        {
            return fallback;
        }
        var keys = new List<SortKey>();
        foreach (var value in values)
        {
            var descending = value.StartsWith('-');
            var name = value.TrimStart('-', '+').ToLowerInvariant();
            if (allowed.TryGetValue(name, out var field))
            {
                keys.Add(new SortKey(field, descending));
            }
            else
            {
                Errors.Add("sort", $"sort must be a comma-separated list of {string.Join(", ", allowed.Keys)}, each optionally prefixed with - for descending (got '{Truncate(value)}').");
            }
        }
        return keys;
    }

    /// <summary>A start/end pair on <paramref name="field"/>; start after end is an error on both.</summary>
    public DateRange? Range(string field, bool required)
    {
        var start = Date("start", required);
        var end = Date("end", required);
        if (start is { } s && end is { } e && s > e)
        {
            Errors.Add("start", "start must not be after end.");
            return null;
        }
        return start is null && end is null ? null : new DateRange(field, start, end);
    }

    public (int Page, int PerPage) Paging()
    {
        var page = Int("page", 1, 1, int.MaxValue / Common.Paging.MaxPerPage);
        var perPage = Int("per_page", Common.Paging.DefaultPerPage, 1, Common.Paging.MaxPerPage);
        if ((long)page * perPage > Common.Paging.MaxWindow)
        {
            Errors.Add("page", $"page × per_page must not exceed {Common.Paging.MaxWindow}; narrow the query with filters or a date range instead.");
        }
        return (page, perPage);
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
