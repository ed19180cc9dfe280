using System.Diagnostics.Metrics;

namespace RootCause.Linking;

/// <summary>The linker's instruments (meter <c>RootCause.Linker</c>).</summary>
public sealed class LinkerMetrics : IDisposable
{
    public const string MeterName = "RootCause.Linker";

    private readonly Meter _meter = new(MeterName);

    public LinkerMetrics()
    {
        EventsEvaluated = _meter.CreateCounter<long>("rootcause.linker.events", description: "Events the linker evaluated (redeliveries included).");
        Decisions = _meter.CreateCounter<long>("rootcause.linker.decisions", description: "Link and suggest decisions, tagged by decision and by trigger (event, retro, deployment, later deployment, corroboration).");
        HandOffLatency = _meter.CreateHistogram<double>("rootcause.linker.latency", unit: "ms", description: "From the ingest acknowledgement to the event's links being stored (and, for a change, its follow-up re-scorings), tagged by the event's kind.");
        DeliveryWait = _meter.CreateHistogram<double>("rootcause.linker.delivery_wait", unit: "ms", description: "From the ingest acknowledgement to the linker starting on the event (the stream's queueing and delivery), tagged by the event's kind.");
        IndexWait = _meter.CreateHistogram<double>("rootcause.linker.index_wait", unit: "ms", description: "How long a commit or deployment waited for the search index to show everything committed before it was handled, tagged by the event's kind.");
        RetroRuns = _meter.CreateCounter<long>("rootcause.linker.retro_runs", description: "Retro-linking runs completed.");
        ReviewRequests = _meter.CreateCounter<long>("rootcause.linker.review_requests", description: "Corroboration reviews asked for: a symptom linked to or suggested for an investigation that does not name its component.");
        Reviews = _meter.CreateCounter<long>("rootcause.linker.reviews", description: "Corroboration reviews run: one index wait and the lookups of the changes not reviewed before (requests covered by earlier reviews, or merged with others, run none).");
    }

    public Counter<long> EventsEvaluated { get; }

    public Counter<long> Decisions { get; }

    public Histogram<double> HandOffLatency { get; }

    public Histogram<double> DeliveryWait { get; }

    public Histogram<double> IndexWait { get; }

    public Counter<long> RetroRuns { get; }

    public Counter<long> ReviewRequests { get; }

    public Counter<long> Reviews { get; }

    public void Dispose() => _meter.Dispose();
}
