using System.Diagnostics;
using RootCause.Database;

namespace RootCause.Linking;

/// <summary>
/// The <c>xmax</c> of a database snapshot taken after the call, shared: callers that arrive while a
/// snapshot query runs join the next one, so a burst of waiters costs one query per round trip
/// instead of one each. Every transaction that committed before a caller arrived has an xid below
/// the value it gets (the query that serves it starts after it arrived). Queries start at least
/// <see cref="Gap"/> apart, so under load each serves the callers of a few milliseconds (the index
/// wait that follows takes a refresh, about 200 ms); an idle caller is served at once.
/// </summary>
public sealed class SharedSnapshot(Func<CancellationToken, Task<ulong>> snapshotXmax)
{
    public SharedSnapshot(ChangeFeed feed) : this(feed.SnapshotXmaxAsync)
    {
    }

    /// <summary>The least time between the starts of two snapshot queries.</summary>
    public static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(4);

    private readonly object _gate = new();
    private TaskCompletionSource<ulong>? _next;
    private bool _running;

    public Task<ulong> XmaxAfterNowAsync()
    {
        lock (_gate)
        {
            _next ??= new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
            var mine = _next.Task;
            if (!_running)
            {
                _running = true;
                _ = Task.Run(RunAsync);
            }
            return mine;
        }
    }

    private async Task RunAsync()
    {
        long? started = null;
        while (true)
        {
            if (started is { } last && Gap - Stopwatch.GetElapsedTime(last) is { Ticks: > 0 } rest)
            {
                await Task.Delay(rest);
            }
            TaskCompletionSource<ulong> batch;
            lock (_gate)
            {
                if (_next is null)
                {
                    _running = false;
                    return;
                }
                // Detached before the query starts: everyone in it arrived before the snapshot.
                batch = _next;
                _next = null;
            }
            started = Stopwatch.GetTimestamp();
            try
            {
                batch.SetResult(await snapshotXmax(CancellationToken.None));
            }
            catch (Exception e)
            {
                batch.SetException(e);
            }
        }
    }
}
