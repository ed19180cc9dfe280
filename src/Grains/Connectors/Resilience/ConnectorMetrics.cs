using System.Diagnostics.Metrics;

namespace RootCause.Connectors;

/// <summary>
/// The connectors' instruments, on the meter <c>RootCause.Connectors</c>. Every instrument except
/// the DLQ depth carries the tag <c>connector</c>.
/// </summary>
public sealed class ConnectorMetrics
{
    public const string MeterName = "RootCause.Connectors";

    private readonly Counter<long> _retries;
    private readonly Counter<long> _breakerOpened;
    private readonly Counter<long> _eventsFetched;
    private readonly Counter<long> _deadLettered;
    private readonly Histogram<double> _fetchLatency;
    private Func<IEnumerable<CircuitBreakerStatus>> _breakers = () => [];
    private long _deadLetterDepth = -1;

    public ConnectorMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = meterFactory.Create(MeterName);
        _retries = Meter.CreateCounter<long>("rootcause.connectors.retries", "{retry}", "Retries of failed upstream calls");
        _breakerOpened = Meter.CreateCounter<long>("rootcause.connectors.breaker_opened", "{open}", "Times a connector's circuit opened (alert on any increase)");
        _eventsFetched = Meter.CreateCounter<long>("rootcause.connectors.events_fetched", "{event}", "Events fetched from upstreams");
        _deadLettered = Meter.CreateCounter<long>("rootcause.connectors.dead_lettered", "{payload}", "Payloads put into the dead-letter queue");
        _fetchLatency = Meter.CreateHistogram<double>("rootcause.connectors.fetch_latency", "s", "Duration of a protected upstream call, retries included");
        Meter.CreateObservableGauge("rootcause.connectors.breaker_state", ObserveBreakers, "{state}",
            "Circuit state per connector: 0 closed, 1 half-open, 2 open");
        Meter.CreateObservableGauge("rootcause.connectors.dlq_depth", ObserveDepth, "{payload}",
            "Pending entries in the dead-letter queue (all connectors, as last read by this silo)");
    }

    public Meter Meter { get; }

    public void Retried(string connector) => _retries.Add(1, Tag(connector));

    public void BreakerOpened(string connector) => _breakerOpened.Add(1, Tag(connector));

    public void EventsFetched(string connector, long count) => _eventsFetched.Add(count, Tag(connector));

    public void DeadLettered(string connector) => _deadLettered.Add(1, Tag(connector));

    public void FetchCompleted(string connector, TimeSpan duration, bool succeeded) =>
        _fetchLatency.Record(duration.TotalSeconds, Tag(connector), new KeyValuePair<string, object?>("outcome", succeeded ? "success" : "failure"));

    /// <summary>The latest pending count of the dead-letter queue.</summary>
    public void ReportDeadLetterDepth(long depth) => Interlocked.Exchange(ref _deadLetterDepth, depth);

    internal void ObserveBreakersOf(Func<IEnumerable<CircuitBreakerStatus>> breakers) => _breakers = breakers;

    public static int StateValue(CircuitState state) => state switch
    {
        CircuitState.Closed => 0,
        CircuitState.HalfOpen => 1,
        _ => 2,
    };

    private IEnumerable<Measurement<int>> ObserveBreakers() =>
        _breakers().Select(b => new Measurement<int>(StateValue(b.State), Tag(b.Connector)));

    private IEnumerable<Measurement<long>> ObserveDepth()
    {
        var depth = Interlocked.Read(ref _deadLetterDepth);
        return depth < 0 ? [] : [new Measurement<long>(depth)];
    }

    private static KeyValuePair<string, object?> Tag(string connector) => new("connector", connector);
}
