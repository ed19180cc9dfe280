using System.Globalization;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using RootCause.Connectors;

namespace RootCause.Api.Receivers;

/// <summary>
/// Receivers of the observability connectors. OTLP/HTTP exporters post to <c>/v1/traces</c> under
/// their endpoint: <c>https://rootcause/v1/traces</c> reaches the connector named <c>otlp</c>,
/// <c>https://rootcause/api/receivers/otlp/{connector}/v1/traces</c> any other. Alertmanager's
/// webhook posts to <c>/api/receivers/alertmanager[/{connector}]</c>. Bodies may be gzip-compressed
/// (<c>Content-Encoding: gzip</c>, the OpenTelemetry Collector's default).
/// </summary>
public static class TelemetryReceiversApi
{
    public const string EventsHeader = "X-RootCause-Events";
    public const string SampledOutHeader = "X-RootCause-Sampled-Out";

    public static IEndpointRouteBuilder MapTelemetryReceivers(this IEndpointRouteBuilder routes)
    {
        var limit = new RequestSizeLimitAttribute(ReceiversApi.MaxDeliveryBytes);
        routes.MapPost("/v1/traces", (HttpContext context, ITelemetryReceiver receiver) => TracesAsync(context, receiver, "otlp"))
            .WithTags("Receivers").WithMetadata(limit)
            .WithSummary("OTLP/HTTP traces (application/x-protobuf or application/json) for the connector named otlp");
        var group = routes.MapGroup("/api/receivers").WithTags("Receivers").WithMetadata(limit);
        group.MapPost("/otlp/{connector}/v1/traces", (string connector, HttpContext context, ITelemetryReceiver receiver) => TracesAsync(context, receiver, connector))
            .WithSummary("OTLP/HTTP traces for a named otlp connector");
        group.MapPost("/alertmanager", (HttpContext context, ITelemetryReceiver receiver) => AlertsAsync(context, receiver, "alertmanager"))
            .WithSummary("Alertmanager webhooks (version 4) for the connector named alertmanager");
        group.MapPost("/alertmanager/{connector}", (string connector, HttpContext context, ITelemetryReceiver receiver) => AlertsAsync(context, receiver, connector))
            .WithSummary("Alertmanager webhooks for a named connector");
        return routes;
    }

    private static async Task<IResult> TracesAsync(HttpContext context, ITelemetryReceiver receiver, string connector)
    {
        var (delivery, unreadable) = await DeliveryAsync(context, connector);
        if (delivery is null)
        {
            return unreadable!;
        }
        var result = await receiver.ReceiveTracesAsync(delivery, context.RequestAborted);
        var outcome = result.Outcome;
        switch (outcome.Status)
        {
            case WebhookStatus.Ingested or WebhookStatus.Ignored:
                context.Response.Headers[EventsHeader] = outcome.Events.Count.ToString(CultureInfo.InvariantCulture);
                context.Response.Headers[SampledOutHeader] = result.SampledOut.ToString(CultureInfo.InvariantCulture);
                return TypedResults.Bytes(result.ResponseBody, result.ResponseContentType);
            case WebhookStatus.DeadLettered:
                return TypedResults.Problem(title: "The body is not a readable OTLP trace export", detail: outcome.Reason, statusCode: StatusCodes.Status400BadRequest,
                    extensions: new Dictionary<string, object?> { ["field"] = "body", ["dead_letter_ids"] = outcome.DeadLetterIds });
            case WebhookStatus.Invalid when outcome.Field == "Content-Type":
                return Problem(StatusCodes.Status415UnsupportedMediaType, outcome.Reason, outcome.Field);
            default:
                return Refusal(context, outcome);
        }
    }

    private static async Task<IResult> AlertsAsync(HttpContext context, ITelemetryReceiver receiver, string connector)
    {
        var (delivery, unreadable) = await DeliveryAsync(context, connector);
        if (delivery is null)
        {
            return unreadable!;
        }
        var outcome = await receiver.ReceiveAlertsAsync(delivery, context.RequestAborted);
        return outcome.Status switch
        {
            WebhookStatus.Ingested => TypedResults.Ok(new ReceiverAnswer("ingested", delivery.DeliveryId, outcome.Reason, outcome.Events, outcome.DeadLetterIds)),
            WebhookStatus.Ignored => TypedResults.Accepted((string?)null, new ReceiverAnswer("ignored", delivery.DeliveryId, outcome.Reason, [], [])),
            WebhookStatus.DeadLettered => TypedResults.Accepted((string?)null, new ReceiverAnswer("dead_lettered", delivery.DeliveryId, outcome.Reason, [], outcome.DeadLetterIds)),
            _ => Refusal(context, outcome),
        };
    }

    private static IResult Refusal(HttpContext context, WebhookOutcome outcome)
    {
        switch (outcome.Status)
        {
            case WebhookStatus.Unauthorized:
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return Problem(StatusCodes.Status401Unauthorized, outcome.Reason, outcome.Field, "Authorization failed");
            case WebhookStatus.UnknownConnector:
                return TypedResults.Problem(title: "Not found", detail: outcome.Reason, statusCode: StatusCodes.Status404NotFound);
            case WebhookStatus.Invalid:
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [outcome.Field ?? "body"] = [outcome.Reason ?? "invalid"] },
                    title: "One or more fields are invalid");
            default:
                // OTLP exporters and Alertmanager both retry a 503.
                context.Response.Headers.RetryAfter = "5";
                return TypedResults.Problem(title: "The delivery could not be ingested now", detail: outcome.Reason, statusCode: StatusCodes.Status503ServiceUnavailable,
                    extensions: new Dictionary<string, object?> { ["dead_letter_ids"] = outcome.DeadLetterIds });
        }
    }

    private static IResult Problem(int status, string? detail, string? field, string? title = null) =>
        TypedResults.Problem(title: title ?? detail, detail: detail, statusCode: status, extensions: new Dictionary<string, object?> { ["field"] = field });

    /// <summary>
    /// The request as a delivery, gunzipped when it says so; else the answer: 400 for broken gzip,
    /// 413 when it unpacks to more than the receivers accept (a small body must not fill the silo's memory).
    /// </summary>
    private static async Task<(WebhookDelivery? Delivery, IResult? Unreadable)> DeliveryAsync(HttpContext context, string connector)
    {
        using var buffer = new MemoryStream();
        try
        {
            if (string.Equals(context.Request.Headers.ContentEncoding.FirstOrDefault(), "gzip", StringComparison.OrdinalIgnoreCase))
            {
                await using var gzip = new GZipStream(context.Request.Body, CompressionMode.Decompress, leaveOpen: true);
                var chunk = new byte[81920];
                int read;
                while ((read = await gzip.ReadAsync(chunk, context.RequestAborted)) > 0)
                {
                    if (buffer.Length + read > ReceiversApi.MaxDeliveryBytes)
                    {
                        return (null, Problem(StatusCodes.Status413PayloadTooLarge,
                            $"The body unpacks to more than {ReceiversApi.MaxDeliveryBytes / (1024 * 1024)} MB.", "body", "Payload too large"));
                    }
                    buffer.Write(chunk, 0, read);
                }
            }
            else
            {
                await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            }
        }
        catch (InvalidDataException)
        {
            return (null, Problem(StatusCodes.Status400BadRequest, "The body is not valid gzip.", "Content-Encoding", "The body is not valid gzip"));
        }
        return (new WebhookDelivery
        {
            Connector = connector,
            ContentType = context.Request.ContentType ?? "application/json",
            Signature = context.Request.Headers.Authorization.FirstOrDefault(),
            DeliveryId = context.Request.Headers["X-Request-Id"].FirstOrDefault() ?? context.TraceIdentifier,
            Body = buffer.ToArray(),
        }, null);
    }
}
