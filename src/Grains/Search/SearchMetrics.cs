using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RootCause.Search;

/// <summary>
/// The index tailer's instruments (meter <c>RootCause.Search</c>): how long each step of applying a
/// change-feed page takes. A change the linker waits for becomes searchable after the tailer's
/// pause, one read, one apply and one refresh, so these say where the index's lag goes.
/// </summary>
public sealed class SearchMetrics : IDisposable
{
    public const string MeterName = "RootCause.Search";

    private static readonly KeyValuePair<string, object?> Live = new("mode", "live");
    private static readonly KeyValuePair<string, object?> CatchingUp = new("mode", "catching_up");

    private readonly Meter _meter = new(MeterName);
    private readonly Histogram<double> _step;
    private readonly Counter<long> _changes;

    public SearchMetrics()
    {
        _step = _meter.CreateHistogram<double>("rootcause.search.page_step", unit: "ms",
            description: "How long a step of applying one change-feed page took, tagged step (read: the feed page and the current states of its records; apply: building and writing the documents; refresh: making them searchable) and mode (live or catching_up).");
        _changes = _meter.CreateCounter<long>("rootcause.search.changes", description: "Change-feed rows the index applied.");
    }

    /// <summary>Records a step that started at <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void Step(string step, long started, bool catchingUp) =>
        _step.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("step", step), catchingUp ? CatchingUp : Live);

    public void Applied(int changes) => _changes.Add(changes);

    /// <summary>Whether <paramref name="instrument"/> is one of this instance's (a process can hold several silos).</summary>
    public bool Owns(Instrument instrument) => instrument.Meter == _meter;

    public void Dispose() => _meter.Dispose();
}
