using Microsoft.Extensions.Logging;
using RootCause.Common;
using RootCause.Events;

namespace RootCause.Connectors;

/// <summary>
/// Where parsers plug in: a payload kind (usually the connector kind, e.g. <c>github</c>) and the
/// function that turns a stored payload back into event drafts. A parser throws
/// <see cref="ValidationFailedException"/> (or any exception) for a payload it cannot read.
/// <see cref="EventDraftPayload.Kind"/> is registered from the start.
/// </summary>
public sealed class DeadLetterParsers
{
    private readonly Dictionary<string, Func<DeadLetter, IReadOnlyList<EventDraft>>> _parsers = new(StringComparer.Ordinal)
    {
        [EventDraftPayload.Kind] = EventDraftPayload.Parse,
    };

    private readonly Lock _lock = new();

    public void Register(string kind, Func<DeadLetter, IReadOnlyList<EventDraft>> parser)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(parser);
        lock (_lock)
        {
            _parsers[kind] = parser;
        }
    }

    public Func<DeadLetter, IReadOnlyList<EventDraft>>? Find(string kind)
    {
        lock (_lock)
        {
            return _parsers.GetValueOrDefault(kind);
        }
    }

    public IReadOnlyList<string> Kinds
    {
        get
        {
            lock (_lock)
            {
                return _parsers.Keys.Order(StringComparer.Ordinal).ToList();
            }
        }
    }
}

/// <summary>
/// Replays dead letters through <see cref="IEventGrain.IngestAsync"/>, keyed by
/// <see cref="EventKeys.IdFor"/>, so an event that already exists is found, not duplicated.
/// </summary>
public sealed class DeadLetterReplayer(DeadLetterQueue queue, DeadLetterParsers parsers, IGrainFactory grains, ILogger<DeadLetterReplayer> logger)
    : IDeadLetterReplayer
{
    public async Task<ReplayOutcome> ReplayAsync(long id, CancellationToken cancellationToken = default)
    {
        var entry = await queue.GetAsync(id, cancellationToken) ?? throw new NotFoundException("dead letter", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        IReadOnlyList<EventDraft> drafts;
        try
        {
            var parser = parsers.Find(entry.Kind)
                ?? throw new ValidationFailedException("kind", $"No parser is registered for payload kind '{entry.Kind}' (known: {string.Join(", ", parsers.Kinds)}).");
            drafts = parser(entry);
        }
        catch (Exception e)
        {
            return await FailAsync(entry, e, payloadRejected: true, cancellationToken);
        }

        var events = new List<ReplayedEvent>();
        try
        {
            foreach (var draft in drafts)
            {
                var result = await grains.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft);
                events.Add(new ReplayedEvent(result.Event.Id, result.Created));
            }
        }
        catch (Exception e)
        {
            // Events ingested before the failure stay: the next replay finds them (Created = false).
            return await FailAsync(entry, e, payloadRejected: e is ValidationFailedException, cancellationToken);
        }

        var replayed = await queue.MarkReplayedAsync(id, events.Select(e => e.Id).ToList(), cancellationToken);
        return new ReplayOutcome { Id = id, Succeeded = true, Events = events, Attempts = replayed?.Attempts ?? entry.Attempts };
    }

    public async Task<BulkReplayResult> ReplayManyAsync(DeadLetterQuery filters, int max, CancellationToken cancellationToken = default)
    {
        var outcomes = new List<ReplayOutcome>();
        foreach (var id in await queue.PendingIdsAsync(filters, max, cancellationToken))
        {
            try
            {
                outcomes.Add(await ReplayAsync(id, cancellationToken));
            }
            catch (NotFoundException)
            {
                // Deleted since the ids were read.
            }
        }
        return new BulkReplayResult(outcomes.Count(o => o.Succeeded), outcomes.Count(o => !o.Succeeded), outcomes);
    }

    private async Task<ReplayOutcome> FailAsync(DeadLetter entry, Exception error, bool payloadRejected, CancellationToken cancellationToken)
    {
        var message = $"Replay failed: {error.Message}";
        var updated = await queue.RecordReplayFailureAsync(entry.Id, message, cancellationToken);
        var attempts = updated?.Attempts ?? entry.Attempts + 1;
        ConnectorLog.ReplayFailed(logger, entry.Id, entry.Connector, message, attempts);
        return new ReplayOutcome { Id = entry.Id, Succeeded = false, Error = message, PayloadRejected = payloadRejected, Attempts = attempts };
    }
}
