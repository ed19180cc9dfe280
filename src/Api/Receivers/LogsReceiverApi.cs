using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using RootCause.Connectors;

namespace RootCause.Api.Receivers;

/// <summary>What the logs receiver answers for a batch it accepted.</summary>
public sealed record LogsReceiverAnswer(string Status, int Records, int Errors, int Malformed, string? Reason,
    IReadOnlyList<WebhookEvent> Events, IReadOnlyList<long> DeadLetterIds);

/// <summary>
/// <c>POST /api/receivers/logs/{connector}</c>: batches of log lines from shippers, as NDJSON
/// (<c>application/x-ndjson</c>), a JSON array, one OTLP/JSON export or Loki push object, Loki's
/// snappy-compressed protobuf push (<c>application/x-protobuf</c>, as Promtail sends it), or plain
/// text; <c>Content-Encoding: gzip</c> is accepted. <c>Authorization: Bearer &lt;token&gt;</c>.
/// </summary>
public static class LogsReceiverApi
{
    /// <summary>A batch's limit, compressed or not.</summary>
    public const long MaxBatchBytes = LogsDelivery.MaxBatchBytes;

    public static RouteHandlerBuilder MapLogsReceiver(this RouteGroupBuilder receivers)
    {
        ArgumentNullException.ThrowIfNull(receivers);
        return receivers.MapPost("/logs/{connector}", ReceiveAsync)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBatchBytes))
            .WithSummary("Log lines for a logs connector with input push (NDJSON, JSON array, OTLP/JSON, Loki push JSON or protobuf, or text; Authorization: Bearer)");
    }

    private static async Task<IResult> ReceiveAsync(string connector, HttpContext context, ILogsReceiver receiver)
    {
        byte[] body;
        try
        {
            body = await ReadBodyAsync(context);
        }
        catch (InvalidDataException e)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["Content-Encoding"] = [e.Message] }, title: "One or more fields are invalid");
        }
        var outcome = await receiver.ReceiveAsync(new LogsDelivery
        {
            Connector = connector,
            Authorization = context.Request.Headers.Authorization.FirstOrDefault(),
            ContentType = context.Request.ContentType,
            Body = body,
        }, context.RequestAborted);
        return outcome.Status switch
        {
            WebhookStatus.Ingested => TypedResults.Ok(new LogsReceiverAnswer("ingested", outcome.Records, outcome.Errors, outcome.Malformed, outcome.Reason,
                outcome.Events, outcome.DeadLetterIds)),
            // An unreadable Loki protobuf push: kept whole in the dead-letter queue, so accepted.
            WebhookStatus.DeadLettered => TypedResults.Accepted((string?)null, new LogsReceiverAnswer("dead_lettered", 0, 0, 0, outcome.Reason,
                [], outcome.DeadLetterIds)),
            WebhookStatus.Unauthorized => TypedResults.Problem(title: "Token check failed", detail: outcome.Reason, statusCode: StatusCodes.Status401Unauthorized,
                extensions: new Dictionary<string, object?> { ["field"] = outcome.Field }),
            WebhookStatus.UnknownConnector => TypedResults.Problem(title: "Not found", detail: outcome.Reason, statusCode: StatusCodes.Status404NotFound),
            _ => TypedResults.Problem(title: "The batch could not be ingested now", detail: outcome.Reason, statusCode: StatusCodes.Status503ServiceUnavailable,
                extensions: new Dictionary<string, object?> { ["dead_letter_ids"] = outcome.DeadLetterIds }),
        };
    }

    /// <summary>The body, gunzipped when sent with <c>Content-Encoding: gzip</c>; the decompressed size is held to the same limit.</summary>
    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        var encoding = context.Request.Headers.ContentEncoding.ToString();
        if (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
        {
            await using var gzip = new GZipStream(context.Request.Body, CompressionMode.Decompress);
            var chunk = new byte[81920];
            int read;
            while ((read = await gzip.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > MaxBatchBytes)
                {
                    throw new InvalidDataException($"the decompressed batch is larger than {MaxBatchBytes} bytes.");
                }
                buffer.Write(chunk, 0, read);
            }
            return buffer.ToArray();
        }
        if (encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"Content-Encoding {encoding} is not supported (gzip is).");
        }
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.ToArray();
    }
}
