using System.Diagnostics.Tracing;

namespace RootCause.Benchmarks.Search;

/// <summary>
/// Listens to the runtime's own GC events in this process and splits every pause into its phases:
/// suspending the threads (GCSuspendEEBegin → GCSuspendEEEnd), the collection itself (GCStart →
/// GCEnd) and the rest until the threads run again (→ GCRestartEEEnd). <see cref="Take"/> returns
/// and clears what was seen since the last call.
/// </summary>
public sealed class GcPhases : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private readonly object _gate = new();
    private readonly List<(double Suspend, double Collect, double Total)> _pauses = [];
    private DateTime? _suspendBegin, _suspendEnd, _start, _end;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == RuntimeSource)
        {
            EnableEvents(source, EventLevel.Informational, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        lock (_gate)
        {
            switch (e.EventId)
            {
                case 9: // GCSuspendEEBegin
                    _suspendBegin = e.TimeStamp;
                    _suspendEnd = _start = _end = null;
                    break;
                case 8: // GCSuspendEEEnd
                    _suspendEnd = e.TimeStamp;
                    break;
                case 1: // GCStart
                    _start = e.TimeStamp;
                    break;
                case 2: // GCEnd
                    _end = e.TimeStamp;
                    break;
                case 3: // GCRestartEEEnd
                    if (_suspendBegin is { } b && _suspendEnd is { } s && _start is { } st && _end is { } en)
                    {
                        _pauses.Add(((s - b).TotalMilliseconds, (en - st).TotalMilliseconds, (e.TimeStamp - b).TotalMilliseconds));
                    }
                    _suspendBegin = null;
                    break;
            }
        }
    }

    /// <summary>The pauses seen since the last call, summarised: count, then median and max of each phase.</summary>
    public string Take()
    {
        List<(double Suspend, double Collect, double Total)> pauses;
        lock (_gate)
        {
            pauses = [.. _pauses];
            _pauses.Clear();
        }
        if (pauses.Count == 0)
        {
            return "no GC pauses seen";
        }
        static string Of(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{sorted[sorted.Length / 2]:F1}/{sorted[^1]:F1}");
        }
        return $"{pauses.Count} pauses, ms median/max: suspend {Of(pauses.Select(p => p.Suspend))}, collect {Of(pauses.Select(p => p.Collect))}, whole {Of(pauses.Select(p => p.Total))}";
    }
}
