using System.Text.Json;
using System.Threading.Channels;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Linking;

namespace RootCause.Live;

/// <summary>The silo's announcements of changes to the clients that watch investigations (see LiveUpdates in the grains).</summary>
public interface ILiveUpdates
{
    /// <summary>Watch one investigation until the subscription is disposed.</summary>
    LiveSubscription Watch(Guid investigationId);
}

/// <summary>One client's watch of one investigation: a bounded buffer of messages, read by one writer.</summary>
public sealed class LiveSubscription : IDisposable
{
    private readonly Action<LiveSubscription> _dispose;
    private readonly Channel<LiveMessage> _messages;
    private string? _resync;

    public LiveSubscription(Guid investigationId, int capacity, Action<LiveSubscription> dispose)
    {
        _dispose = dispose;
        InvestigationId = investigationId;
        _messages = Channel.CreateBounded<LiveMessage>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public Guid InvestigationId { get; }

    /// <summary>Buffers a message; a full buffer turns into a resync.</summary>
    public void Offer(LiveMessage message)
    {
        if (!_messages.Writer.TryWrite(message))
        {
            RequestResync("the client fell behind: more than the buffer's messages were waiting");
        }
    }

    /// <summary>The next read drops what is buffered and returns a resync with this reason.</summary>
    public void RequestResync(string reason)
    {
        Interlocked.Exchange(ref _resync, reason);
        // Wakes a reader that waits: the resync must not wait for the next change.
        _messages.Writer.TryWrite(LiveMessage.Wake);
    }

    /// <summary>
    /// The next message, in order. After an overflow or a rebuild, the messages still buffered are
    /// dropped and one <c>resync</c> comes instead: reloading covers them.
    /// </summary>
    public async ValueTask<LiveMessage> ReadAsync(CancellationToken ct)
    {
        while (true)
        {
            if (Interlocked.Exchange(ref _resync, null) is { } reason)
            {
                while (_messages.Reader.TryRead(out _))
                {
                }
                return LiveMessage.Resync(reason);
            }
            var message = await _messages.Reader.ReadAsync(ct);
            if (!ReferenceEquals(message, LiveMessage.Wake))
            {
                return message;
            }
        }
    }

    public void Dispose() => _dispose(this);
}

/// <summary>One server-sent event: its type (the SSE <c>event:</c> field) and its JSON data.</summary>
public sealed record LiveMessage(string Type, string Data)
{
    public const string EventLinkType = "event_link";
    public const string InvestigationType = "investigation";
    public const string ResyncType = "resync";

    internal static readonly LiveMessage Wake = new("", "");

    public static LiveMessage Resync(string reason) =>
        new(ResyncType, JsonSerializer.Serialize(new LiveResync(reason), RootCauseJson.Options));
}

/// <summary>An event's link record with the watched investigation, as stored after the change.</summary>
public sealed record LiveEventLink(
    Guid EventId,
    Guid InvestigationId,
    EventLinkStatus Status,
    double? Confidence,
    string Summary,
    string DecidedBy,
    DateTimeOffset DecidedAt,
    string? Note,
    DateTimeOffset Timestamp,
    EventSource Source,
    string? EventType,
    EventSeverity Severity,
    long EventVersion,
    bool Deleted);

/// <summary>The watched investigation's record after a change.</summary>
public sealed record LiveInvestigation(
    Guid Id,
    long Version,
    InvestigationStatus Status,
    string? Title,
    DateTimeOffset? UpdatedAt,
    int Notes,
    bool Deleted);

/// <summary>Why the client must reload what it shows.</summary>
public sealed record LiveResync(string Reason);
