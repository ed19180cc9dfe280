using System.Text;
using System.Text.Json;

namespace RootCause.Connectors.Logs;

/// <summary>
/// Splits a body of log lines into records: NDJSON (one JSON object per line; a line that is not
/// JSON is plain text), a JSON array of objects, one OTLP/JSON export or Loki push object, or plain
/// text. A line that starts like JSON but does not parse (truncated, cut by a size limit, broken
/// escaping), an array element that is not an object, and an over-long line are malformed: they
/// are returned for counting and dead-lettering, and the rest of the batch goes on.
/// </summary>
public static class LogBatchParser
{
    /// <summary>Longer lines are malformed (a runaway line rather than a log record).</summary>
    public const int MaxLineBytes = 1024 * 1024;

    public static LogBatch Parse(ReadOnlyMemory<byte> body, string? contentType)
    {
        var span = body.Span;
        if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            body = body[3..];
            span = body.Span;
        }
        var media = contentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (media is "text/plain")
        {
            return Lines(body, plainOnly: true);
        }
        var start = span.IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0)
        {
            return LogBatch.Empty;
        }
        if (span[start] == (byte)'[' || (span[start] == (byte)'{' && media is not "application/x-ndjson"))
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                return Whole(document.RootElement);
            }
            catch (JsonException)
            {
                // Not one JSON document: NDJSON, or a broken one whose lines are judged one by one.
            }
        }
        return Lines(body, plainOnly: false);
    }

    private static LogBatch Whole(JsonElement root)
    {
        var records = new List<LogRecord>();
        var malformed = new List<MalformedLine>();
        if (root.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var element in root.EnumerateArray())
            {
                index++;
                if (element.ValueKind == JsonValueKind.Object)
                {
                    records.AddRange(LogShapes.FromJson(element, element.GetRawText()));
                }
                else if (element.ValueKind == JsonValueKind.String)
                {
                    records.Add(LogShapes.Line(element.GetString() ?? ""));
                }
                else
                {
                    malformed.Add(new MalformedLine(index, element.GetRawText(), $"element {index} is a JSON {element.ValueKind.ToString().ToLowerInvariant()}, not a log object"));
                }
            }
        }
        else if (root.ValueKind == JsonValueKind.Object)
        {
            records.AddRange(LogShapes.FromJson(root, root.GetRawText()));
        }
        else
        {
            malformed.Add(new MalformedLine(1, root.GetRawText(), "the body is a JSON scalar, not a log object"));
        }
        return new LogBatch(records, malformed);
    }

    private static LogBatch Lines(ReadOnlyMemory<byte> body, bool plainOnly)
    {
        var records = new List<LogRecord>();
        var malformed = new List<MalformedLine>();
        var number = 0;
        var rest = body;
        while (rest.Length > 0)
        {
            var end = rest.Span.IndexOf((byte)'\n');
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? ReadOnlyMemory<byte>.Empty : rest[(end + 1)..];
            number++;
            if (line.Span.EndsWith("\r"u8))
            {
                line = line[..^1];
            }
            if (line.Span.IndexOfAnyExcept(" \t"u8) < 0)
            {
                continue;
            }
            if (line.Length > MaxLineBytes)
            {
                malformed.Add(new MalformedLine(number, Text(line[..4096]) + "…", $"line {number} is longer than {MaxLineBytes} bytes"));
                continue;
            }
            var text = Text(line);
            var first = line.Span[line.Span.IndexOfAnyExcept(" \t"u8)];
            if (plainOnly || (first != (byte)'{' && first != (byte)'['))
            {
                records.Add(LogShapes.Plain(text));
                continue;
            }
            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    records.AddRange(LogShapes.FromJson(root, text));
                }
                else
                {
                    var inner = Whole(root);
                    records.AddRange(inner.Records);
                    malformed.AddRange(inner.Malformed.Select(m => m with { Number = number, Error = $"line {number}: {m.Error}" }));
                }
            }
            catch (JsonException e)
            {
                malformed.Add(new MalformedLine(number, text, $"line {number} is not valid JSON (truncated?): {e.Message}"));
            }
        }
        return new LogBatch(records, malformed);
    }

    private static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);
}
