using System.Text.Json;
using System.Text.Json.Serialization;

namespace RootCause.Common;

/// <summary>
/// Stores a string that already holds JSON as JSON (not as an escaped string), so stored state
/// keeps <c>data</c> and <c>metadata</c> readable and queryable.
/// </summary>
public sealed class RawJsonConverter : JsonConverter<string>
{
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return "{}";
        }
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString() ?? "{}";
        }
        using var doc = JsonDocument.ParseValue(ref reader);
        return doc.RootElement.GetRawText();
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) =>
        writer.WriteRawValue(string.IsNullOrWhiteSpace(value) ? "{}" : value, skipInputValidation: false);
}
