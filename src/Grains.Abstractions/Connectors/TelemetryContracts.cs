namespace RootCause.Connectors;

/// <summary>What an OTLP trace export turned into, with the answer the exporter gets.</summary>
public sealed record TraceExportOutcome
{
    public required WebhookOutcome Outcome { get; init; }

    /// <summary>Spans in the export.</summary>
    public int Spans { get; init; }

    /// <summary>Spans that were slow or failed, before sampling and correlation.</summary>
    public int ProblemSpans { get; init; }

    /// <summary>Slow traces left out by sampling (errors are never left out).</summary>
    public int SampledOut { get; init; }

    /// <summary>The OTLP response body (an <c>ExportTraceServiceResponse</c>, protobuf or JSON like the request).</summary>
    public byte[] ResponseBody { get; init; } = [];

    public string ResponseContentType { get; init; } = "application/json";
}

/// <summary>
/// The receivers of the observability connectors: Alertmanager webhooks and OTLP/HTTP traces.
/// <see cref="WebhookDelivery.Signature"/> carries the <c>Authorization</c> header, checked
/// (<c>Bearer &lt;secret&gt;</c>) when the connector has a secret. Never throws for a bad delivery.
/// </summary>
public interface ITelemetryReceiver
{
    Task<WebhookOutcome> ReceiveAlertsAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default);

    Task<TraceExportOutcome> ReceiveTracesAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default);
}
