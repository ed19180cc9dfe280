namespace RootCause.Linking;

/// <summary>
/// How many retro-linking runs this silo lets work at once. A run first waits until the search index
/// shows every change committed before it started (one or two index refreshes, a few hundred
/// milliseconds, nearly no CPU); only then does it look up and score events, which can take a core
/// for as long as the events in its window need. So many runs may wait for the index together,
/// and only <see cref="Working"/> of them score at a time, leaving the rest of the machine to the
/// linking of new events.
/// </summary>
public sealed class RetroLinkSlots
{
    /// <summary>Runs that look up and score events at once on a silo.</summary>
    public const int Working = 2;

    private readonly SemaphoreSlim _work = new(Working, Working);
    private readonly object _gate = new();
    private int _working;
    private int _waiting;

    /// <summary>The most runs seen scoring at once (for tests and diagnostics).</summary>
    public int PeakWorking { get; private set; }

    /// <summary>The most runs seen between their start and their turn to score at once, index wait included (for tests and diagnostics).</summary>
    public int PeakWaiting { get; private set; }

    /// <summary>
    /// Runs <paramref name="beforeTurn"/> (the index wait) without a slot, then <paramref name="work"/>
    /// in one of the <see cref="Working"/> slots once it is free. A failure of either escapes; a run
    /// whose wait fails never takes a slot.
    /// </summary>
    public async Task RunAsync(Func<Task> beforeTurn, Func<Task> work)
    {
        Count(ref _waiting, +1);
        try
        {
            await beforeTurn();
            await _work.WaitAsync();
        }
        finally
        {
            Count(ref _waiting, -1);
        }
        Count(ref _working, +1);
        try
        {
            await work();
        }
        finally
        {
            Count(ref _working, -1);
            _work.Release();
        }
    }

    private void Count(ref int counter, int delta)
    {
        lock (_gate)
        {
            counter += delta;
            PeakWorking = Math.Max(PeakWorking, _working);
            PeakWaiting = Math.Max(PeakWaiting, _waiting);
        }
    }
}
