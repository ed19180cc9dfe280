using System.Collections.Concurrent;
using System.Text.Json;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Live;

/// <summary>
/// Tells the clients connected to this silo what changed in the investigations they watch. It is
/// fed by the silo's search index tailer, which follows the change feed every silo shares: a change
/// made on any silo reaches the watchers on every silo, in commit order, once this silo's tailer
/// has read it (one tailer cycle, about the live poll interval). Nothing is written for it: with no
/// watcher on the silo, a change costs one read of a counter.
/// </summary>
/// <remarks>
/// A watcher is told to <c>resync</c> (reload what it shows) whenever it may have missed something:
/// its buffer overflowed, the index was rebuilt from the states (the changes in between were never
/// read one by one), or it reconnected after a break. It is never left silently behind.
/// </remarks>
public sealed class LiveUpdates : ILiveUpdates
{
    /// <summary>Messages a watcher may have waiting before it is told to resync instead.</summary>
    public const int DefaultCapacity = 1024;

    private readonly ConcurrentDictionary<Guid, LiveSubscription[]> _watchers = new();
    private readonly Lock _gate = new();
    private int _count;

    public int Capacity { get; init; } = DefaultCapacity;

    /// <summary>True while at least one client on this silo watches an investigation.</summary>
    public bool HasWatchers => Volatile.Read(ref _count) > 0;

    /// <inheritdoc />
    public LiveSubscription Watch(Guid investigationId)
    {
        var subscription = new LiveSubscription(investigationId, Capacity, Remove);
        lock (_gate)
        {
            _watchers[investigationId] = _watchers.TryGetValue(investigationId, out var current) ? [.. current, subscription] : [subscription];
            _count++;
        }
        return subscription;
    }

    private void Remove(LiveSubscription subscription)
    {
        lock (_gate)
        {
            if (!_watchers.TryGetValue(subscription.InvestigationId, out var current) || Array.IndexOf(current, subscription) < 0)
            {
                return;
            }
            var rest = current.Where(s => s != subscription).ToArray();
            if (rest.Length == 0)
            {
                _watchers.TryRemove(subscription.InvestigationId, out _);
            }
            else
            {
                _watchers[subscription.InvestigationId] = rest;
            }
            _count--;
        }
    }

    /// <summary>
    /// An event's stored state changed: each watched investigation it has a link record with
    /// (linked, suggested, rejected or unlinked) hears the event's current record for it.
    /// Safe to call from several threads.
    /// </summary>
    public void EventChanged(EventState state)
    {
        if (!HasWatchers || state.Links is not { Count: > 0 } links)
        {
            return;
        }
        foreach (var link in links)
        {
            if (!_watchers.TryGetValue(link.InvestigationId, out var watchers))
            {
                continue;
            }
            var message = new LiveMessage(LiveMessage.EventLinkType, JsonSerializer.Serialize(new LiveEventLink(
                state.Id, link.InvestigationId, link.Status, link.Confidence, link.Summary, link.DecidedBy, link.DecidedAt, link.Note,
                state.Timestamp, state.Source, state.EventType, state.Severity, state.Version, state.DeletedAt is not null), RootCauseJson.Options));
            foreach (var watcher in watchers)
            {
                watcher.Offer(message);
            }
        }
    }

    /// <summary>An investigation's stored record changed (its fields, status, notes, relations or deletion).</summary>
    public void InvestigationChanged(InvestigationState state)
    {
        if (!HasWatchers || !_watchers.TryGetValue(state.Id, out var watchers))
        {
            return;
        }
        var message = new LiveMessage(LiveMessage.InvestigationType, JsonSerializer.Serialize(new LiveInvestigation(
            state.Id, state.Version, state.Status, state.Title, state.UpdatedAt, state.Notes?.Count ?? 0, state.DeletedAt is not null), RootCauseJson.Options));
        foreach (var watcher in watchers)
        {
            watcher.Offer(message);
        }
    }

    /// <summary>Every watcher on this silo may have missed changes: each is told to reload.</summary>
    public void ResyncAll(string reason)
    {
        foreach (var (_, watchers) in _watchers)
        {
            foreach (var watcher in watchers)
            {
                watcher.RequestResync(reason);
            }
        }
    }
}
