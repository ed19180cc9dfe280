using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using RootCause.Linking;
using RootCause.Search;

namespace RootCause.Benchmarks.Linking;

/// <summary>
/// Listens to the silo's <c>RootCause.Linker</c> meter in this process: the count of evaluated
/// events (a cheap progress signal; it includes redeliveries, so completion is always confirmed
/// from storage), the corroboration reviews asked for and run, and, while <see cref="Record"/> is
/// on, every value of the linker's own <c>rootcause.linker.latency</c> histogram and of its two
/// stages, <c>rootcause.linker.delivery_wait</c> and <c>rootcause.linker.index_wait</c>, with the
/// event kind each was tagged with, and of the search index's <c>rootcause.search.page_step</c>.
/// </summary>
public sealed class LinkerMeter : IDisposable
{
    private const string EventsInstrument = "rootcause.linker.events";
    private const string LatencyInstrument = "rootcause.linker.latency";
    private const string ReviewRequestsInstrument = "rootcause.linker.review_requests";
    private const string ReviewsInstrument = "rootcause.linker.reviews";
    private const string DeliveryWaitInstrument = "rootcause.linker.delivery_wait";
    private const string IndexWaitInstrument = "rootcause.linker.index_wait";
    private const string PageStepInstrument = "rootcause.search.page_step";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, string Kind, double Value)> _tagged = new();
    private long _evaluated;
    private long _reviewRequests;
    private long _reviews;
    private volatile bool _recording;

    public LinkerMeter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if ((instrument.Meter.Name == LinkerMetrics.MeterName && instrument.Name is EventsInstrument or LatencyInstrument or ReviewRequestsInstrument or ReviewsInstrument
                    or DeliveryWaitInstrument or IndexWaitInstrument)
                || (instrument.Meter.Name == SearchMetrics.MeterName && instrument.Name == PageStepInstrument))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            switch (instrument.Name)
            {
                case EventsInstrument:
                    Interlocked.Add(ref _evaluated, value);
                    break;
                case ReviewRequestsInstrument:
                    Interlocked.Add(ref _reviewRequests, value);
                    break;
                case ReviewsInstrument:
                    Interlocked.Add(ref _reviews, value);
                    break;
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (!_recording)
            {
                return;
            }
            string? kind = null, step = null, mode = null;
            foreach (var tag in tags)
            {
                switch (tag.Key)
                {
                    case "kind":
                        kind = tag.Value as string;
                        break;
                    case "step":
                        step = tag.Value as string;
                        break;
                    case "mode":
                        mode = tag.Value as string;
                        break;
                }
            }
            _tagged.Enqueue((instrument.Name, kind ?? $"{step} ({mode})", value));
        });
        _listener.Start();
    }

    /// <summary>Events the linker grains of this process evaluated since the listener started (redeliveries included).</summary>
    public long Evaluated => Interlocked.Read(ref _evaluated);

    /// <summary>Corroboration reviews asked for, and reviews run (index wait and lookups), since the listener started.</summary>
    public (long Requested, long Run) Reviews => (Interlocked.Read(ref _reviewRequests), Interlocked.Read(ref _reviews));

    /// <summary>Whether histogram values are kept.</summary>
    public bool Record
    {
        get => _recording;
        set => _recording = value;
    }

    /// <summary>The histogram values kept so far, in milliseconds.</summary>
    public IReadOnlyList<double> Latencies => [.. _tagged.Where(t => t.Instrument == LatencyInstrument).Select(t => t.Value)];

    /// <summary>
    /// The kept values of the latency histogram and of its stages per event kind ("latency",
    /// "delivery wait", "index wait"), and of the index's page steps per step and mode, in milliseconds.
    /// </summary>
    public IReadOnlyList<(string Measure, string Kind, IReadOnlyList<double> Values)> ByKind() =>
        [.. _tagged.GroupBy(t => (t.Instrument, t.Kind))
            .Select(g => (Measure(g.Key.Instrument), g.Key.Kind, (IReadOnlyList<double>)[.. g.Select(t => t.Value)]))
            .OrderBy(r => r.Item1, StringComparer.Ordinal).ThenBy(r => r.Kind, StringComparer.Ordinal)];

    private static string Measure(string instrument) => instrument switch
    {
        LatencyInstrument => "latency (ack → stored)",
        DeliveryWaitInstrument => "delivery wait (ack → linker starts)",
        PageStepInstrument => "index page step (per page, not per event)",
        _ => "index wait (commits and deployments)",
    };

    public void Dispose() => _listener.Dispose();
}
