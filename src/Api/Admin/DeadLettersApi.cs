using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using RootCause.Api.Common;
using RootCause.Common;
using RootCause.Connectors;
using RootCause.Events;
using RootCause.Search;

namespace RootCause.Api.Admin;

/// <summary>The dead-letter queue: list, inspect, replay (one or in bulk) and delete payloads that failed.</summary>
public static class DeadLettersApi
{
    public const int DefaultBulkReplay = 100;
    public const int MaxBulkReplay = 1_000;

    public static RouteGroupBuilder MapDeadLetters(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin/dlq").WithTags("Admin");
        group.MapGet("/", ListAsync)
            .WithSummary("Dead letters, newest failure first; filters connector, source, status; paged like every list");
        group.MapGet("/{id:long}", GetAsync).WithSummary("One dead letter with its raw payload");
        group.MapPost("/{id:long}/retry", RetryAsync)
            .WithSummary("Replay it: 200 with the events, 422 when the payload fails again, 503 when ingest is unavailable");
        group.MapDelete("/{id:long}", DeleteAsync).WithSummary("Remove it for good");
        group.MapPost("/replay", ReplayManyAsync)
            .WithSummary("Replay pending dead letters matching connector/source, oldest first, at most max (default 100)");
        return group;
    }

    private static async Task<Ok<IReadOnlyList<DeadLetterView>>> ListAsync(HttpContext context, IDeadLetterQueue queue)
    {
        var q = new QueryParams(context.Request);
        var query = ReadFilters(q, withStatus: true);
        var (page, perPage) = q.Paging();
        q.ThrowIfAny();
        var result = await queue.ListAsync(query with { Page = page, PerPage = perPage }, context.RequestAborted);
        // The paging headers only need the counts of the page.
        Paging.WriteHeaders(context, new SearchPage([], result.Total, result.Page, result.PerPage));
        return TypedResults.Ok<IReadOnlyList<DeadLetterView>>(result.Items.Select(e => DeadLetterView.From(e, withPayload: false)).ToList());
    }

    private static async Task<Ok<DeadLetterView>> GetAsync(long id, IDeadLetterQueue queue, CancellationToken cancellationToken) =>
        TypedResults.Ok(DeadLetterView.From(await queue.GetAsync(id, cancellationToken) ?? throw NotFound(id), withPayload: true));

    private static async Task<Results<Ok<ReplayView>, ProblemHttpResult>> RetryAsync(long id, IDeadLetterReplayer replayer, CancellationToken cancellationToken)
    {
        var outcome = await replayer.ReplayAsync(id, cancellationToken);
        if (outcome.Succeeded)
        {
            return TypedResults.Ok(ReplayView.From(outcome));
        }
        return TypedResults.Problem(
            title: outcome.PayloadRejected ? "The payload failed again" : "The events could not be ingested now",
            detail: outcome.Error,
            statusCode: outcome.PayloadRejected ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status503ServiceUnavailable,
            extensions: new Dictionary<string, object?>
            {
                ["field"] = "payload",
                ["dead_letter_id"] = outcome.Id,
                ["attempts"] = outcome.Attempts,
            });
    }

    private static async Task<NoContent> DeleteAsync(long id, IDeadLetterQueue queue, CancellationToken cancellationToken) =>
        await queue.DeleteAsync(id, cancellationToken) ? TypedResults.NoContent() : throw NotFound(id);

    private static async Task<Ok<BulkReplayView>> ReplayManyAsync(HttpContext context, IDeadLetterReplayer replayer)
    {
        var q = new QueryParams(context.Request);
        var filters = ReadFilters(q, withStatus: false);
        var max = q.Int("max", DefaultBulkReplay, 1, MaxBulkReplay);
        q.ThrowIfAny();
        var result = await replayer.ReplayManyAsync(filters, max, context.RequestAborted);
        return TypedResults.Ok(new BulkReplayView(result.Replayed, result.Failed, result.Outcomes.Select(ReplayView.From).ToList()));
    }

    private static DeadLetterQuery ReadFilters(QueryParams q, bool withStatus)
    {
        var sources = q.EnumList<EventSource>("source").Select(s => Parse<EventSource>(s)).ToList();
        var statuses = withStatus ? q.EnumList<DeadLetterStatus>("status").Select(s => Parse<DeadLetterStatus>(s)).ToList() : [];
        return new DeadLetterQuery { Connectors = q.List("connector"), Sources = sources, Statuses = statuses };
    }

    private static TEnum Parse<TEnum>(string name) where TEnum : struct, Enum =>
        RootCauseJson.TryParse<TEnum>(name, out var value) ? value : default;

    private static NotFoundException NotFound(long id) => new("dead letter", id.ToString(CultureInfo.InvariantCulture));
}

/// <summary>
/// A dead letter on the wire. The payload is text when it is UTF-8 (<c>payload</c>), base64
/// otherwise (<c>payload_base64</c>); lists leave both out and give only <c>payload_size</c>.
/// </summary>
public sealed record DeadLetterView
{
    public long Id { get; init; }
    public required string Connector { get; init; }
    public required string Source { get; init; }
    public required string Kind { get; init; }
    public required string ContentType { get; init; }
    public int PayloadSize { get; init; }
    public string? Payload { get; init; }
    public string? PayloadBase64 { get; init; }
    public required string Error { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset FirstFailedAt { get; init; }
    public DateTimeOffset LastFailedAt { get; init; }
    public required string Status { get; init; }
    public DateTimeOffset? ReplayedAt { get; init; }
    public IReadOnlyList<Guid> ReplayedEventIds { get; init; } = [];

    internal static DeadLetterView From(DeadLetter entry, bool withPayload)
    {
        var text = withPayload ? Utf8Text(entry.Payload) : null;
        return new DeadLetterView
        {
            Id = entry.Id,
            Connector = entry.Connector,
            Source = RootCauseJson.Name(entry.Source),
            Kind = entry.Kind,
            ContentType = entry.ContentType,
            PayloadSize = entry.PayloadSize,
            Payload = text,
            PayloadBase64 = withPayload && text is null ? Convert.ToBase64String(entry.Payload) : null,
            Error = entry.Error,
            Attempts = entry.Attempts,
            FirstFailedAt = entry.FirstFailedAt,
            LastFailedAt = entry.LastFailedAt,
            Status = RootCauseJson.Name(entry.Status),
            ReplayedAt = entry.ReplayedAt,
            ReplayedEventIds = entry.ReplayedEventIds,
        };
    }

    private static string? Utf8Text(byte[] payload)
    {
        try
        {
            return new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(payload);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return null;
        }
    }
}

/// <summary>The outcome of one replay.</summary>
public sealed record ReplayView(long Id, string Status, int Attempts, IReadOnlyList<ReplayedEvent> Events, string? Error)
{
    internal static ReplayView From(ReplayOutcome outcome) =>
        new(outcome.Id, outcome.Succeeded ? "replayed" : "failed", outcome.Attempts, outcome.Events, outcome.Error);
}

/// <summary>The counts of a bulk replay and each entry's outcome.</summary>
public sealed record BulkReplayView(int Replayed, int Failed, IReadOnlyList<ReplayView> Results);
