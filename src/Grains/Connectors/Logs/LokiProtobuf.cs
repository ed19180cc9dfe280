using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using RootCause.Connectors.Logs.Loki;
using Snappier;

namespace RootCause.Connectors.Logs;

/// <summary>
/// Loki's binary push body (what Promtail, Grafana Alloy and the Loki Docker driver send: a
/// snappy block-compressed <c>PushRequest</c>, <c>Content-Type: application/x-protobuf</c>) turned
/// into the equivalent Loki push JSON object, which the logs parser already reads. Everything after
/// this step (shapes, malformed lines, dead letters, replay) is the same for both encodings.
/// </summary>
public static class LokiProtobuf
{
    /// <summary>
    /// Decompresses and decodes <paramref name="body"/> into a Loki push JSON object. Throws
    /// <see cref="InvalidDataException"/> naming what is wrong: not snappy, larger than
    /// <paramref name="maxBytes"/> once decompressed, not a push request, or a label set that does not parse.
    /// </summary>
    public static byte[] ToPushJson(ReadOnlySpan<byte> body, long maxBytes)
    {
        int length;
        byte[] raw;
        try
        {
            length = Snappy.GetUncompressedLength(body);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            throw NotSnappy(e);
        }
        if (length > maxBytes)
        {
            throw new InvalidDataException($"the decompressed batch would be {length} bytes, more than {maxBytes}.");
        }
        try
        {
            raw = Snappy.DecompressToArray(body);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            throw NotSnappy(e);
        }

        PushRequest request;
        try
        {
            request = PushRequest.Parser.ParseFrom(raw);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"the body is not a Loki push request ({e.Message}).", e);
        }

        using var buffer = new MemoryStream(raw.Length + 256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("streams");
            var index = 0;
            foreach (var stream in request.Streams)
            {
                index++;
                IReadOnlyList<KeyValuePair<string, string>> labels;
                try
                {
                    labels = ParseLabels(stream.Labels);
                }
                catch (FormatException e)
                {
                    throw new InvalidDataException($"stream {index}: the label set {stream.Labels} does not parse: {e.Message}", e);
                }
                json.WriteStartObject();
                json.WriteStartObject("stream");
                foreach (var (name, value) in labels)
                {
                    json.WriteString(name, value);
                }
                json.WriteEndObject();
                json.WriteStartArray("values");
                foreach (var entry in stream.Entries)
                {
                    json.WriteStartArray();
                    var nanos = entry.Timestamp is { } t ? Nanos(t.Seconds, t.Nanos) : "0";
                    json.WriteStringValue(nanos);
                    json.WriteStringValue(entry.Line);
                    if (entry.StructuredMetadata.Count > 0)
                    {
                        json.WriteStartObject();
                        foreach (var pair in entry.StructuredMetadata)
                        {
                            json.WriteString(pair.Name, pair.Value);
                        }
                        json.WriteEndObject();
                    }
                    json.WriteEndArray();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static InvalidDataException NotSnappy(Exception e) => new($"the body is not snappy block-compressed ({e.Message}).", e);

    /// <summary>Nanoseconds since the epoch as a decimal string, as Loki's JSON writes them.</summary>
    private static string Nanos(long seconds, int nanos) =>
        (new System.Numerics.BigInteger(seconds) * 1_000_000_000 + nanos).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A label set in Prometheus notation, <c>{job="api", level="error"}</c>, values in Go's
    /// double-quoted string syntax (<c>\"</c>, <c>\\</c>, <c>\n</c>, <c>\t</c>, <c>\uXXXX</c>, ...).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ParseLabels(string text)
    {
        var labels = new List<KeyValuePair<string, string>>();
        var s = text.AsSpan().Trim();
        if (s.Length == 0)
        {
            return labels;
        }
        if (s[0] != '{' || s[^1] != '}')
        {
            throw new FormatException("a label set is enclosed in braces");
        }
        var i = 1;
        var end = s.Length - 1;
        while (true)
        {
            SkipSpace(s, ref i, end);
            if (i >= end)
            {
                break;
            }
            var nameStart = i;
            while (i < end && (char.IsAsciiLetterOrDigit(s[i]) || s[i] == '_' || s[i] == '.'))
            {
                i++;
            }
            if (i == nameStart)
            {
                throw new FormatException($"a label name is expected at position {i}");
            }
            var name = s[nameStart..i].ToString();
            SkipSpace(s, ref i, end);
            if (i >= end || s[i] != '=')
            {
                throw new FormatException($"'=' is expected after the label {name}");
            }
            i++;
            SkipSpace(s, ref i, end);
            labels.Add(new(name, QuotedString(s, ref i, end)));
            SkipSpace(s, ref i, end);
            if (i < end)
            {
                if (s[i] != ',')
                {
                    throw new FormatException($"',' is expected after the value of {name}");
                }
                i++;
            }
        }
        return labels;
    }

    private static void SkipSpace(ReadOnlySpan<char> s, ref int i, int end)
    {
        while (i < end && char.IsWhiteSpace(s[i]))
        {
            i++;
        }
    }

    private static string QuotedString(ReadOnlySpan<char> s, ref int i, int end)
    {
        if (i >= end || s[i] != '"')
        {
            throw new FormatException($"a double-quoted value is expected at position {i}");
        }
        i++;
        var value = new StringBuilder();
        while (true)
        {
            if (i >= end)
            {
                throw new FormatException("a quoted value is not closed");
            }
            var c = s[i++];
            if (c == '"')
            {
                return value.ToString();
            }
            if (c != '\\')
            {
                value.Append(c);
                continue;
            }
            if (i >= end)
            {
                throw new FormatException("a quoted value ends in a backslash");
            }
            var escaped = s[i++];
            switch (escaped)
            {
                case 'n': value.Append('\n'); break;
                case 't': value.Append('\t'); break;
                case 'r': value.Append('\r'); break;
                case '"': value.Append('"'); break;
                case '\\': value.Append('\\'); break;
                case '\'': value.Append('\''); break;
                case 'u' or 'U':
                    var digits = escaped == 'u' ? 4 : 8;
                    if (i + digits > end || !int.TryParse(s.Slice(i, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code)
                        || code > 0x10FFFF || code is >= 0xD800 and <= 0xDFFF)
                    {
                        throw new FormatException($"\\{escaped} needs {digits} hexadecimal digits of a code point");
                    }
                    value.Append(char.ConvertFromUtf32(code));
                    i += digits;
                    break;
                default:
                    throw new FormatException($"unknown escape \\{escaped}");
            }
        }
    }
}
