using System.Text;
using RootCause.Common;
using RootCause.Events;

namespace RootCause.Connectors.Logs;

/// <summary>
/// Dead-letter format <c>log_line</c>: the lines of a batch that could not be read, as they came,
/// one per line (a batch's malformed lines are one entry; the error lists them by line number).
/// A replay reads them again with the same parser: records at error level or above become
/// <c>log_error</c> events; if any line still cannot be read, the replay fails naming it.
/// </summary>
public static class LogLineDeadLetter
{
    public const string Kind = "log_line";

    public static async Task<long> RecordAsync(IDeadLetterQueue deadLetters, string connector, IReadOnlyList<MalformedLine> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deadLetters);
        ArgumentNullException.ThrowIfNull(lines);
        var payload = Encoding.UTF8.GetBytes(string.Join('\n', lines.Select(l => l.Text.ReplaceLineEndings(" "))) + "\n");
        var error = $"{lines.Count} malformed line(s): " + string.Join("; ", lines.Take(5).Select(l => l.Error.Length > 200 ? l.Error[..200] : l.Error))
            + (lines.Count > 5 ? "; …" : "");
        var entry = await deadLetters.RecordFailureAsync(new DeadLetterFailure
        {
            Connector = connector,
            Source = EventSource.Logs,
            Kind = Kind,
            ContentType = "application/x-ndjson",
            Payload = payload,
            Error = error,
        }, cancellationToken);
        return entry.Id;
    }

    public static IReadOnlyList<EventDraft> Replay(DeadLetter entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var payload = entry.Payload;
        if (MediaTypes.IsProtobuf(entry.ContentType))
        {
            try
            {
                payload = LokiProtobuf.ToPushJson(payload, LogsDelivery.MaxBatchBytes);
            }
            catch (InvalidDataException e)
            {
                throw new ValidationFailedException("payload", $"not a readable Loki protobuf push: {e.Message}");
            }
        }
        var batch = LogBatchParser.Parse(payload, "application/x-ndjson");
        if (batch.Malformed.Count > 0)
        {
            throw new ValidationFailedException("payload", string.Join("; ", batch.Malformed.Take(5).Select(m => m.Error)));
        }
        var config = new ConnectorConfig { Kind = ConnectorKind.Logs };
        return batch.Records.Where(r => r.IsError)
            .Select(r => LogsIngest.ErrorDraft(r, LogsIngest.ServiceOf(r, config), LogsIngest.TimeOf(r, entry.FirstFailedAt), new Provenance(entry.Connector, "dlq_replay")))
            .ToList();
    }
}
