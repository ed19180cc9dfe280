using RootCause.Database;

namespace RootCause.Linking;

/// <summary>
/// The <c>xmax</c> of a database snapshot taken after the call, shared: callers that arrive while a
/// snapshot query runs join the next one, so a burst of waiters costs one query per round trip
/// instead of one each. Every transaction that committed before a caller arrived has an xid below
/// the value it gets (the query that serves it starts after it arrived).
/// </summary>
public sealed class SharedSnapshot(ChangeFeed feed)
{
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
        while (true)
        {
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
            try
            {
                batch.SetResult(await feed.SnapshotXmaxAsync(CancellationToken.None));
            }
            catch (Exception e)
            {
                batch.SetException(e);
            }
        }
    }
}
