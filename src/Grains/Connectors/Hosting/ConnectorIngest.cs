using System.Text.Json.Nodes;
using RootCause.Common;
using RootCause.Events;

namespace RootCause.Connectors;

/// <summary>Counts of one ingest pass.</summary>
public sealed record IngestTally
{
    public int Created { get; init; }
    public int Existing { get; init; }
    public int DeadLettered { get; init; }
    public IReadOnlyList<WebhookEvent> Events { get; init; } = [];
    public IReadOnlyList<long> DeadLetterIds { get; init; } = [];

    /// <summary>Drafts handled, from the first on: ingested or dead-lettered.</summary>
    public int Handled => Created + Existing + DeadLettered;
}

/// <summary>
/// Ingest stopped at draft <see cref="Handled"/> (zero-based index of the one that failed): every
/// draft before it is ingested or dead-lettered, none after it was tried.
/// </summary>
public sealed class IngestInterruptedException(IngestTally tally, Exception inner)
    : Exception($"Ingest stopped after {tally.Handled} event(s): {inner.Message}", inner)
{
    public IngestTally Tally { get; } = tally;

    public int Handled => Tally.Handled;
}

/// <summary>
/// The one way connectors and receivers hand drafts on: in order, each through
/// <see cref="IEventGrain.IngestAsync"/>, which returns once the event is durable. A draft the
/// event rules reject can never succeed as it is, so it goes to the dead-letter queue (format
/// <c>event_draft</c>) and the rest go on; any other failure stops the pass
/// (<see cref="IngestInterruptedException"/>) so the caller keeps its cursor where ingest stopped.
/// </summary>
public sealed class ConnectorIngest(IGrainFactory grains, IDeadLetterQueue deadLetters, ConnectorMetrics metrics)
{
    /// <summary>
    /// A later report of a deployment (a deployment_status: in progress, success, failure) folds into
    /// the deployment's event and brings its data up to date: the latest report's fields (status,
    /// URLs) and severity replace the stored ones. Reports that change nothing write nothing.
    /// </summary>
    private static async Task ApplyDeploymentStatusAsync(IEventGrain grain, Event stored, EventDraft report)
    {
        if (JsonNode.Parse(stored.Data) is not JsonObject data || JsonNode.Parse(report.Data) is not JsonObject update)
        {
            return;
        }
        var changed = report.Severity != stored.Severity;
        foreach (var (key, value) in update)
        {
            if (!JsonNode.DeepEquals(data[key], value))
            {
                data[key] = value?.DeepClone();
                changed = true;
            }
        }
        if (!changed)
        {
            return;
        }
        await grain.UpdateAsync(new EventChanges
        {
            EventType = stored.EventType,
            Timestamp = stored.Timestamp,
            Severity = report.Severity,
            Data = data.ToJsonString(),
            Tags = stored.Tags,
            Metadata = stored.Metadata,
        }, stored.Version);
    }

    public async Task<IngestTally> IngestAsync(string connector, IReadOnlyList<EventDraft> drafts,
        Action<IngestTally>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(drafts);
        var tally = new IngestTally();
        var events = new List<WebhookEvent>(drafts.Count);
        var deadLetterIds = new List<long>();
        foreach (var draft in drafts)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var grain = grains.GetGrain<IEventGrain>(ConnectorDrafts.GrainId(draft));
                var result = await grain.IngestAsync(draft);
                if (!result.Created && draft.EventType == "deployment")
                {
                    await ApplyDeploymentStatusAsync(grain, result.Event, draft);
                }
                events.Add(new WebhookEvent(result.Event.Id, result.Created, draft.EventType, draft.SourceId));
                tally = result.Created ? tally with { Created = tally.Created + 1 } : tally with { Existing = tally.Existing + 1 };
            }
            catch (ValidationFailedException rejected)
            {
                var entry = await deadLetters.RecordFailureAsync(new DeadLetterFailure
                {
                    Connector = connector,
                    Source = draft.Source,
                    Kind = EventDraftPayload.Kind,
                    Payload = EventDraftPayload.Serialize(draft),
                    Error = $"ingest rejected the event: {rejected.Message}",
                }, cancellationToken);
                deadLetterIds.Add(entry.Id);
                tally = tally with { DeadLettered = tally.DeadLettered + 1 };
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new IngestInterruptedException(tally with { Events = events, DeadLetterIds = deadLetterIds }, e);
            }
            progress?.Invoke(tally);
        }
        metrics.EventsFetched(connector, tally.Created + tally.Existing);
        return tally with { Events = events, DeadLetterIds = deadLetterIds };
    }
}
