using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using RootCause.Investigations;
using RootCause.Common;
using RootCause.Live;

namespace RootCause.Api.Investigations;

/// <summary>
/// <c>GET /api/investigations/{id}/live</c>: a server-sent event stream of what changes in one
/// investigation, its record and the link records of its events, on whichever silo the change was
/// made. First <c>ready</c> (load what you show now: everything after it is announced), then
/// <c>event_link</c>, <c>investigation</c> and <c>resync</c> (reload: something may have been
/// missed) as they happen, and a comment line every <see cref="Heartbeat"/> so proxies keep the
/// connection open.
/// </summary>
public static class InvestigationLive
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    /// <summary>The client's reconnection delay, sent as the stream's <c>retry:</c> field.</summary>
    public const int RetryMilliseconds = 2000;

    /// <summary>Sent by an EventSource that reconnects, with the id of the last message it received.</summary>
    public const string LastEventIdHeader = "Last-Event-ID";

    public static async Task StreamAsync(Guid id, IGrainFactory grains, ILiveUpdates live, HttpContext context)
    {
        // Watch before reading the record: a change between the two is announced, not lost.
        using var subscription = live.Watch(id);
        var investigation = await grains.GetGrain<IInvestigationGrain>(id).GetAsync(includeDeleted: true)
            ?? throw new NotFoundException("investigation", id.ToString());

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        // Reverse proxies that buffer responses (nginx) would hold the events back.
        response.Headers["X-Accel-Buffering"] = "no";
        var ct = context.RequestAborted;
        var sequence = 0L;

        async Task SendAsync(string type, string data)
        {
            sequence++;
            var text = string.Create(CultureInfo.InvariantCulture, $"id: {sequence}\nevent: {type}\ndata: {data}\n\n");
            await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), ct);
            await response.Body.FlushAsync(ct);
        }

        try
        {
            await response.Body.WriteAsync(Encoding.UTF8.GetBytes($"retry: {RetryMilliseconds}\n\n"), ct);
            if (context.Request.Headers.ContainsKey(LastEventIdHeader))
            {
                // A reconnection: what changed during the break is not replayed.
                await SendAsync(LiveMessage.ResyncType, LiveMessage.Resync("reconnected; changes made while disconnected are not replayed").Data);
            }
            await SendAsync("ready", JsonSerializer.Serialize(new LiveReady(id, investigation.Version), RootCauseJson.Options));

            Task<LiveMessage>? next = null;
            Task? heartbeat = null;
            while (!ct.IsCancellationRequested)
            {
                next ??= subscription.ReadAsync(ct).AsTask();
                heartbeat ??= Task.Delay(Heartbeat, ct);
                if (await Task.WhenAny(next, heartbeat) == next)
                {
                    var message = await next;
                    next = null;
                    await SendAsync(message.Type, message.Data);
                }
                else
                {
                    heartbeat = null;
                    await response.Body.WriteAsync(": keep-alive\n\n"u8.ToArray(), ct);
                    await response.Body.FlushAsync(ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
    }
}

/// <summary>The first message: the stream is live from here; the record's version as read just after watching began.</summary>
public sealed record LiveReady(Guid InvestigationId, long Version);
