using System.Text.Json.Nodes;
using RootCause.Events;
using RootCause.Linking;
using RootCause.Live;

namespace RootCause.Tests.Domain;

/// <summary>The silo's hub of live changes: who hears what, and what a watcher that falls behind hears.</summary>
public sealed class LiveUpdatesTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private static EventState EventLinkedTo(params (Guid Investigation, EventLinkStatus Status)[] links) => new()
    {
        SchemaVersion = EventState.CurrentSchemaVersion,
        Id = Guid.NewGuid(),
        Source = EventSource.Logs,
        EventType = "error_spike",
        Timestamp = DateTimeOffset.Parse("2026-01-10T09:30:00Z", System.Globalization.CultureInfo.InvariantCulture),
        Version = 1,
        Links = [.. links.Select(l => new EventLink { InvestigationId = l.Investigation, Status = l.Status, Confidence = 0.8, Summary = "why" })],
    };

    private static async Task<LiveMessage> ReadAsync(LiveSubscription subscription)
    {
        using var timeout = new CancellationTokenSource(Wait);
        return await subscription.ReadAsync(timeout.Token);
    }

    [Fact]
    public async Task EachWatcherHearsOnlyTheLinkRecordsOfItsInvestigation()
    {
        var hub = new LiveUpdates();
        var (first, second, unwatched) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        using var watchFirst = hub.Watch(first);
        using var watchSecond = hub.Watch(second);
        var state = EventLinkedTo((unwatched, EventLinkStatus.Linked), (second, EventLinkStatus.Suggested), (first, EventLinkStatus.Linked));

        hub.EventChanged(state);

        var toFirst = await ReadAsync(watchFirst);
        Assert.Equal(LiveMessage.EventLinkType, toFirst.Type);
        var data = JsonNode.Parse(toFirst.Data)!;
        Assert.Equal(first.ToString(), data["investigation_id"]!.GetValue<string>());
        Assert.Equal(state.Id.ToString(), data["event_id"]!.GetValue<string>());
        Assert.Equal("linked", data["status"]!.GetValue<string>());
        Assert.Equal("logs", data["source"]!.GetValue<string>());
        var toSecond = JsonNode.Parse((await ReadAsync(watchSecond)).Data)!;
        Assert.Equal(second.ToString(), toSecond["investigation_id"]!.GetValue<string>());
        Assert.Equal("suggested", toSecond["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task AWatcherThatFallsBehindHearsOneResyncInsteadOfWhatItMissed()
    {
        var hub = new LiveUpdates { Capacity = 2 };
        var investigation = Guid.NewGuid();
        using var watch = hub.Watch(investigation);
        for (var i = 0; i < 3; i++)
        {
            hub.EventChanged(EventLinkedTo((investigation, EventLinkStatus.Linked)));
        }

        var first = await ReadAsync(watch);
        Assert.Equal(LiveMessage.ResyncType, first.Type);
        Assert.Contains("fell behind", JsonNode.Parse(first.Data)!["reason"]!.GetValue<string>());

        // The buffered messages went with the resync; what comes after it is heard again.
        var later = EventLinkedTo((investigation, EventLinkStatus.Linked));
        hub.EventChanged(later);
        var next = await ReadAsync(watch);
        Assert.Equal(LiveMessage.EventLinkType, next.Type);
        Assert.Equal(later.Id.ToString(), JsonNode.Parse(next.Data)!["event_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AResyncReachesAWatcherThatIsWaiting()
    {
        var hub = new LiveUpdates();
        using var watch = hub.Watch(Guid.NewGuid());
        var reading = ReadAsync(watch);
        Assert.False(reading.IsCompleted);

        hub.ResyncAll("rebuilt");

        var message = await reading;
        Assert.Equal(LiveMessage.ResyncType, message.Type);
        Assert.Equal("rebuilt", JsonNode.Parse(message.Data)!["reason"]!.GetValue<string>());
    }

    [Fact]
    public void AWatchEndsWithItsSubscription()
    {
        var hub = new LiveUpdates();
        var investigation = Guid.NewGuid();
        var first = hub.Watch(investigation);
        var second = hub.Watch(investigation);
        Assert.True(hub.HasWatchers);

        first.Dispose();
        Assert.True(hub.HasWatchers);
        first.Dispose();
        Assert.True(hub.HasWatchers);
        second.Dispose();
        Assert.False(hub.HasWatchers);
    }
}
