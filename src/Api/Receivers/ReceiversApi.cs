using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using RootCause.Connectors;

namespace RootCause.Api.Receivers;

/// <summary>What a receiver answers when it accepted a delivery (200) or had nothing to do with it (202).</summary>
public sealed record ReceiverAnswer(string Status, string? Delivery, string? Reason, IReadOnlyList<WebhookEvent> Events, IReadOnlyList<long> DeadLetterIds);

/// <summary>
/// Webhook receivers. The connector is named in the path (<c>/api/receivers/github/{connector}</c>);
/// without a name the connector called <c>github</c> or <c>gitlab</c> receives. A 2xx answer
/// means every event of the delivery was ingested durably (or its unreadable part kept in the
/// dead-letter queue); a 503 asks the sender to deliver again later.
/// </summary>
public static class ReceiversApi
{
    /// <summary>GitHub caps payloads at 25 MB; the receivers accept that much, other endpoints keep the API's limit.</summary>
    public const long MaxDeliveryBytes = 25L * 1024 * 1024;

    public static RouteGroupBuilder MapReceivers(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/receivers").WithTags("Receivers")
            .WithMetadata(new RequestSizeLimitAttribute(MaxDeliveryBytes));
        group.MapPost("/github", (HttpContext context, IWebhookReceiver receiver) => GitHubAsync(context, receiver, "github"))
            .WithSummary("GitHub webhooks for the connector named github (X-GitHub-Event, X-GitHub-Delivery, X-Hub-Signature-256)");
        group.MapPost("/github/{connector}", (string connector, HttpContext context, IWebhookReceiver receiver) => GitHubAsync(context, receiver, connector))
            .WithSummary("GitHub webhooks for a named connector");
        group.MapPost("/gitlab", (HttpContext context, IWebhookReceiver receiver) => GitLabAsync(context, receiver, "gitlab"))
            .WithSummary("GitLab webhooks for the connector named gitlab (X-Gitlab-Event, X-Gitlab-Token)");
        group.MapPost("/gitlab/{connector}", (string connector, HttpContext context, IWebhookReceiver receiver) => GitLabAsync(context, receiver, connector))
            .WithSummary("GitLab webhooks for a named connector");
        group.MapLogsReceiver();
        return group;
    }

    private static async Task<IResult> GitHubAsync(HttpContext context, IWebhookReceiver receiver, string connector)
    {
        var headers = context.Request.Headers;
        var delivery = new WebhookDelivery
        {
            Connector = connector,
            Event = headers["X-GitHub-Event"].FirstOrDefault(),
            DeliveryId = headers["X-GitHub-Delivery"].FirstOrDefault(),
            Signature = headers["X-Hub-Signature-256"].FirstOrDefault(),
            ContentType = context.Request.ContentType ?? "application/json",
            Body = await ReadBodyAsync(context),
        };
        return Answer(delivery, await receiver.ReceiveAsync(ConnectorKind.Github, delivery, context.RequestAborted));
    }

    private static async Task<IResult> GitLabAsync(HttpContext context, IWebhookReceiver receiver, string connector)
    {
        var headers = context.Request.Headers;
        var delivery = new WebhookDelivery
        {
            Connector = connector,
            Event = headers["X-Gitlab-Event"].FirstOrDefault(),
            DeliveryId = headers["X-Gitlab-Event-UUID"].FirstOrDefault() ?? headers["X-Gitlab-Webhook-UUID"].FirstOrDefault(),
            Signature = headers["X-Gitlab-Token"].FirstOrDefault(),
            ContentType = context.Request.ContentType ?? "application/json",
            Body = await ReadBodyAsync(context),
        };
        return Answer(delivery, await receiver.ReceiveAsync(ConnectorKind.Gitlab, delivery, context.RequestAborted));
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.ToArray();
    }

    private static IResult Answer(WebhookDelivery delivery, WebhookOutcome outcome) => outcome.Status switch
    {
        WebhookStatus.Ingested => TypedResults.Ok(Body("ingested", delivery, outcome)),
        WebhookStatus.Ignored => TypedResults.Accepted((string?)null, Body("ignored", delivery, outcome)),
        WebhookStatus.DeadLettered => TypedResults.Accepted((string?)null, Body("dead_lettered", delivery, outcome)),
        WebhookStatus.Unauthorized => TypedResults.Problem(title: "Signature check failed", detail: outcome.Reason, statusCode: StatusCodes.Status401Unauthorized,
            extensions: new Dictionary<string, object?> { ["field"] = outcome.Field }),
        WebhookStatus.UnknownConnector => TypedResults.Problem(title: "Not found", detail: outcome.Reason, statusCode: StatusCodes.Status404NotFound),
        WebhookStatus.Invalid => TypedResults.ValidationProblem(new Dictionary<string, string[]> { [outcome.Field ?? "body"] = [outcome.Reason ?? "invalid"] },
            title: "One or more fields are invalid"),
        _ => TypedResults.Problem(title: "The delivery could not be ingested now", detail: outcome.Reason, statusCode: StatusCodes.Status503ServiceUnavailable,
            extensions: new Dictionary<string, object?> { ["dead_letter_ids"] = outcome.DeadLetterIds, ["delivery"] = delivery.DeliveryId }),
    };

    private static ReceiverAnswer Body(string status, WebhookDelivery delivery, WebhookOutcome outcome) =>
        new(status, delivery.DeliveryId, outcome.Reason, outcome.Events, outcome.DeadLetterIds);
}
