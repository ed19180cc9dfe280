using RootCause.Common;

namespace RootCause.Api.Common;

/// <summary>
/// Enum fields arrive as strings so that a wrong value is answered with the field's name and
/// the values it accepts, not a generic JSON error.
/// </summary>
internal static class EnumField
{
    public static TEnum Parse<TEnum>(ValidationErrors errors, string field, string? text, TEnum fallback) where TEnum : struct, Enum
    {
        if (text is null)
        {
            return fallback;
        }
        if (RootCauseJson.TryParse<TEnum>(text.Trim().ToLowerInvariant(), out var value))
        {
            return value;
        }
        errors.Add(field, $"{field} must be one of {RootCauseJson.Names<TEnum>()} (got '{Truncate(text)}').");
        return fallback;
    }

    public static TEnum Required<TEnum>(ValidationErrors errors, string field, string? text) where TEnum : struct, Enum
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            errors.Add(field, $"{field} is required: one of {RootCauseJson.Names<TEnum>()}.");
            return default;
        }
        return Parse(errors, field, text, default(TEnum));
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
