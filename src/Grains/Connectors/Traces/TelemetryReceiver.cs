using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using RootCause.Common;
using RootCause.Connectors.Traces;
using RootCause.Events;

namespace RootCause.Connectors;

/// <summary>
/// Receives what observability systems push: OTLP/HTTP trace exports (here) and Alertmanager
/// webhooks (<c>Metrics/TelemetryReceiver.Alerts.cs</c>). Both check the connector the same way:
/// it must exist with the right kind and be enabled, and when it has a <c>secret</c> the request
/// must carry <c>Authorization: Bearer &lt;secret&gt;</c> (compared in constant time). What cannot
/// be read is kept in the dead-letter queue; what cannot be ingested now is dead-lettered as
/// ready drafts and answered with 503, which OTLP exporters and Alertmanager both retry.
/// </summary>
public sealed partial class TelemetryReceiver(IGrainFactory grains, ConnectorIngest ingest, IDeadLetterQueue deadLetters,
    TimeProvider time, ILogger<TelemetryReceiver> logger) : ITelemetryReceiver
{
    public const string AuthorizationHeader = "Authorization";
    public const string OtlpDeadLetterKind = "otlp_traces";

    public async Task<TraceExportOutcome> ReceiveTracesAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var protobuf = OtlpTraces.IsProtobuf(delivery.ContentType);
        TraceExportOutcome Answer(WebhookOutcome outcome, int spans = 0, int rejected = 0, SpanAnalysis? analysis = null)
        {
            var (body, contentType) = OtlpTraces.Response(protobuf, rejected, rejected > 0 ? outcome.Reason : null);
            return new TraceExportOutcome
            {
                Outcome = outcome,
                Spans = spans,
                ProblemSpans = analysis?.ProblemSpans ?? 0,
                SampledOut = analysis?.SampledOut ?? 0,
                ResponseBody = body,
                ResponseContentType = contentType,
            };
        }

        var (config, refusal) = await OpenAsync(ConnectorKind.Otlp, delivery);
        if (refusal is not null)
        {
            return Answer(refusal);
        }
        if (!protobuf && !OtlpTraces.IsJson(delivery.ContentType))
        {
            return Answer(new WebhookOutcome
            {
                Status = WebhookStatus.Invalid,
                Field = "Content-Type",
                Reason = $"Content-Type must be {OtlpTraces.ProtobufContentType} or {OtlpTraces.JsonContentType} (got '{delivery.ContentType}').",
            });
        }
        IReadOnlyList<TraceSpan> spans;
        try
        {
            spans = OtlpTraces.Parse(delivery.ContentType, delivery.Body);
        }
        catch (FormatException e)
        {
            var id = await DeadLetterAsync(delivery, EventSource.Traces, OtlpDeadLetterKind, $"not a readable OTLP trace export: {e.Message}", cancellationToken);
            return Answer(new WebhookOutcome
            {
                Status = WebhookStatus.DeadLettered,
                Field = "body",
                Reason = $"The body is not a readable OTLP trace export ({e.Message}); it is kept in the dead-letter queue.",
                DeadLetterIds = [id],
            });
        }
        grains.GetGrain<IConnectorGrain>(delivery.Connector).DeliveryAcceptedAsync(time.GetUtcNow()).Ignore();
        if (spans.Count == 0)
        {
            return Answer(new WebhookOutcome { Status = WebhookStatus.Ignored, Reason = "The export holds no spans." });
        }
        var analysis = await grains.GetGrain<ISpanAnalysisGrain>(delivery.Connector).AnalyzeAsync(spans, TraceRules.From(config!), "otlp", null);
        if (analysis.Drafts.Count == 0)
        {
            return Answer(new WebhookOutcome
            {
                Status = WebhookStatus.Ignored,
                Reason = $"{spans.Count} spans, none slow or failed{(analysis.SampledOut > 0 ? $" that sampling kept ({analysis.SampledOut} slow traces sampled out)" : "")}.",
            }, spans.Count, analysis: analysis);
        }
        return Answer(await IngestAsync(delivery.Connector, analysis.Drafts,
            $"{spans.Count} spans: {analysis.ProblemSpans} slow or failed, {analysis.Drafts.Count} problem traces kept, {analysis.SampledOut} sampled out.",
            cancellationToken), spans.Count, analysis: analysis);
    }

    /// <summary>The connector's config, or the refusal: unknown (404), secret unreadable (503), authorization wrong (401).</summary>
    private async Task<(ConnectorConfig? Config, WebhookOutcome? Refusal)> OpenAsync(ConnectorKind kind, WebhookDelivery delivery)
    {
        var config = ConnectorNames.IsValid(delivery.Connector)
            ? await grains.GetGrain<IConnectorGrain>(delivery.Connector).GetConfigAsync()
            : null;
        if (config is null || config.Kind != kind || !config.Enabled)
        {
            return (null, new WebhookOutcome
            {
                Status = WebhookStatus.UnknownConnector,
                Reason = $"No enabled {RootCauseJson.Name(kind)} connector is named '{delivery.Connector}'.",
            });
        }
        if (config.Secret is null)
        {
            return (config, null);
        }
        if (SecretReferences.Resolve(config.Secret) is not { } secret)
        {
            SecretMissing(logger, delivery.Connector, config.Secret);
            return (null, new WebhookOutcome { Status = WebhookStatus.Unavailable, Reason = "The connector's secret cannot be read on this silo; nothing was accepted." });
        }
        if (!BearerMatches(secret, delivery.Signature))
        {
            Rejected(logger, delivery.Connector, delivery.Signature is null ? "missing" : "wrong");
            return (null, new WebhookOutcome
            {
                Status = WebhookStatus.Unauthorized,
                Field = AuthorizationHeader,
                Reason = delivery.Signature is null ? "Authorization (Bearer) is missing." : "Authorization does not match the connector's secret.",
            });
        }
        return (config, null);
    }

    /// <summary><c>Bearer &lt;secret&gt;</c>, compared over SHA-256 digests so neither content nor length leaks.</summary>
    public static bool BearerMatches(string secret, string? header)
    {
        const string Scheme = "Bearer ";
        if (header is null || !header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    private async Task<WebhookOutcome> IngestAsync(string connector, IReadOnlyList<EventDraft> drafts, string? reason, CancellationToken cancellationToken)
    {
        try
        {
            var tally = await ingest.IngestAsync(connector, drafts, cancellationToken: cancellationToken);
            return new WebhookOutcome { Status = WebhookStatus.Ingested, Events = tally.Events, DeadLetterIds = tally.DeadLetterIds, Reason = reason };
        }
        catch (IngestInterruptedException e)
        {
            // The drafts not yet in are kept as they are: a replay ingests exactly them, whatever
            // the baselines say by then, and a retry of the sender finds the ones already in.
            var ids = new List<long>(e.Tally.DeadLetterIds);
            foreach (var draft in drafts.Skip(e.Handled))
            {
                var entry = await deadLetters.RecordFailureAsync(new DeadLetterFailure
                {
                    Connector = connector,
                    Source = draft.Source,
                    Kind = EventDraftPayload.Kind,
                    Payload = EventDraftPayload.Serialize(draft),
                    Error = $"ingest failed: {e.InnerException?.Message}",
                }, cancellationToken);
                ids.Add(entry.Id);
            }
            return new WebhookOutcome
            {
                Status = WebhookStatus.Unavailable,
                Reason = $"Events could not be ingested now ({e.Handled} of {drafts.Count} were); the rest are in the dead-letter queue and the sender may retry.",
                Events = e.Tally.Events,
                DeadLetterIds = ids,
            };
        }
    }

    private async Task<long> DeadLetterAsync(WebhookDelivery delivery, EventSource source, string kind, string error, CancellationToken cancellationToken)
    {
        var entry = await deadLetters.RecordFailureAsync(new DeadLetterFailure
        {
            Connector = delivery.Connector,
            Source = source,
            Kind = kind,
            ContentType = delivery.ContentType,
            Payload = delivery.Body,
            Error = error,
        }, cancellationToken);
        return entry.Id;
    }

    /// <summary>
    /// Replays a dead-lettered OTLP export with the fixed threshold only (the baselines it met then
    /// are not kept): error spans and spans over 1 s become events again.
    /// </summary>
    public static IReadOnlyList<EventDraft> ReplayTraces(DeadLetter entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        IReadOnlyList<TraceSpan> spans;
        try
        {
            spans = OtlpTraces.Parse(entry.ContentType, entry.Payload);
        }
        catch (FormatException e)
        {
            throw new ValidationFailedException("payload", e.Message);
        }
        var analysis = new SpanClassifier().Analyze(spans, new TraceRules { SampleLimit = int.MaxValue }, new Provenance(entry.Connector, "otlp"));
        return analysis.Drafts;
    }

    [LoggerMessage(EventId = 4122, Level = LogLevel.Warning, Message = "Connector {Connector}: delivery rejected, Authorization {Problem}")]
    private static partial void Rejected(ILogger logger, string connector, string problem);

    [LoggerMessage(EventId = 4121, Level = LogLevel.Error, Message = "Connector {Connector}: the secret reference {Reference} does not resolve on this silo")]
    private static partial void SecretMissing(ILogger logger, string connector, string reference);
}
