using System.Diagnostics;
using System.Globalization;
using RootCause.Linking;

namespace RootCause.Benchmarks.Linking;

/// <summary>A closed-loop ingest phase: the acknowledgements, and (with the linker on) when the last event was evaluated.</summary>
public sealed record IngestPhaseResult(
    string Phase,
    PhaseSample Sample,
    DateTimeOffset StartedAt,
    DateTimeOffset AcknowledgedAt,
    LinkingProgress? Linked,
    long Evaluations,
    double ProcessCpuSeconds,
    double? PostgresCpuSeconds,
    DatabaseActivity Activity,
    string Machine)
{
    public int Acknowledged => Sample.Latencies.Length - Sample.Failures;

    public double AckPerSecond => Acknowledged / ((double)Sample.WallTicks / Stopwatch.Frequency);

    /// <summary>From the phase's first ingest to the last event's <c>linker_checked_at</c>.</summary>
    public double? LinkedSeconds => Linked?.LastCheckedAt is { } last ? (last - StartedAt).TotalSeconds : null;

    public bool AllEvaluated => Linked is null || Linked.Checked >= Acknowledged;

    /// <summary>Events fully linked per second: acknowledged events over the time until the last was evaluated.</summary>
    public double? LinkedPerSecond => AllEvaluated && LinkedSeconds is > 0 ? Acknowledged / LinkedSeconds : null;
}

/// <summary>The linker alone working off a queued backlog, ingest idle.</summary>
public sealed record DrainResult(int Events, DateTimeOffset StartedAt, LinkingProgress Linked, long Evaluations, double ProcessCpuSeconds, double? PostgresCpuSeconds, DatabaseActivity Activity, string Machine)
{
    public double? Seconds => Linked.LastCheckedAt is { } last ? (last - StartedAt).TotalSeconds : null;

    public bool AllEvaluated => Linked.Checked >= Events;

    public double? PerSecond => AllEvaluated && Seconds is > 0 ? Events / Seconds : null;
}

public sealed record LatencyPhaseResult(
    int Events,
    double AchievedRate,
    double Seconds,
    IReadOnlyList<double> Visible,
    IReadOnlyList<double> VisibleLowerBound,
    IReadOnlyList<double> Acks,
    IReadOnlyList<double> Histogram,
    IReadOnlyList<(string Measure, string Kind, IReadOnlyList<double> Values)> Stages,
    long Gets,
    int NotLinked,
    int Failures,
    string? FirstFailure,
    string Machine)
{
    /// <summary><c>push</c> or <c>poll</c> (see <see cref="LinkingBenchmarkOptions.Watch"/>).</summary>
    public string Watch { get; init; } = "poll";

    /// <summary>Push mode: ack → the link's <c>event_link</c> message arrived on its investigation's stream.</summary>
    public IReadOnlyList<double> Pushed { get; init; } = [];

    public int Streams { get; init; }

    public long PushMessages { get; init; }

    public int Resyncs { get; init; }

    public int FailedStreams { get; init; }
}

/// <summary>The linker's in-memory work timed on the run's own catalog, investigations and events.</summary>
public sealed record Diagnostics(int RegistryInvestigations, double CandidatesPerEvent, double ScoringMsPerEvent, double MapRebuildMs, double FullRebuildMs);

/// <summary>One phase's stored events against the generator's intent.</summary>
public sealed class PhaseCheck(string phase, int planned)
{
    public string Phase { get; } = phase;
    public int Planned { get; } = planned;
    public int Stored { get; set; }
    public int Missing { get; set; }
    public int Checked { get; set; }
    public int Linked { get; set; }
    public int Pairs { get; set; }
    public int Suggestions { get; set; }
    public long StoredBytes { get; set; }
    public DateTimeOffset? LastCheckedAt { get; set; }
    public int Targeted { get; set; }
    public int TargetedLinkedToTarget { get; set; }
    public int NoiseLinked { get; set; }

    /// <summary>Exact by construction (see <see cref="LinkingWorkload"/>): every targeted event linked to its target, no noise linked, all evaluated.</summary>
    public bool Ok => Missing == 0 && Checked == Stored && TargetedLinkedToTarget == Targeted && NoiseLinked == 0;

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Stored}/{Planned} stored, {Checked} evaluated; {Linked} linked events (expected {Targeted}: the targeted ones), "
        + $"{TargetedLinkedToTarget}/{Targeted} targeted linked to their investigation, {NoiseLinked} noise events linked (expected 0); "
        + $"{Pairs} event–investigation links, {Suggestions} suggestions; stored event state {StoredBytes / (double)Math.Max(1, Stored):F0} bytes on average");
}

public sealed class LinkingResults
{
    public double SetUpSeconds { get; set; }
    public Diagnostics? Diagnostics { get; set; }
    public IngestPhaseResult? Baseline { get; set; }
    public DrainResult? Drain { get; set; }
    public IngestPhaseResult? Sustained { get; set; }
    public LatencyPhaseResult? Latency { get; set; }
    /// <summary>Events no investigation can claim, ingested with the linker on: the pipeline's own cost.</summary>
    public IngestPhaseResult? Unclaimed { get; set; }
    /// <summary>Candidate investigations the linker scored during the unclaimed phase (expected 0).</summary>
    public long UnclaimedCandidates { get; set; }
    public List<PhaseCheck> Checks { get; } = [];
    public (long Queued, long DeadLetters) Queues { get; set; }
    public LinkerCounters? Counters { get; set; }
    public List<(string When, string Load)> Load { get; } = [];
    /// <summary>Corroboration reviews asked for and run during a phase (the <c>rootcause.linker.review_requests</c> and <c>reviews</c> counters).</summary>
    public List<(string Phase, long Requested, long Run)> Reviews { get; } = [];

    public bool Ok =>
        Baseline is { Sample.Failures: 0 } && Sustained is { Sample.Failures: 0, AllEvaluated: true } && Drain is { AllEvaluated: true }
        && Latency is { NotLinked: 0, Failures: 0 } && Unclaimed is { Sample.Failures: 0, AllEvaluated: true } && UnclaimedCandidates == 0 && Checks.All(c => c.Ok) && Queues.Queued == 0 && Queues.DeadLetters == 0;
}

/// <summary>The Markdown the linking benchmark prints.</summary>
public static class LinkingReport
{
    public static void Print(TextWriter o, LinkingBenchmarkOptions options, LinkingResults r,
        IReadOnlyList<(string Name, string Value)> serverSettings, DateTimeOffset started, TimeSpan duration)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine();
        o.WriteLine(string.Create(c, $"## Linking throughput and latency, {started:yyyy-MM-dd HH:mm} UTC"));
        o.WriteLine();
        o.WriteLine($"Machine: {FoundationBenchmark.MachineDescription()}. One in-process silo (real Kestrel, loopback), the load generator and PostgreSQL share these cores.");
        o.WriteLine("Load average (1/5/15 min): " + string.Join("; ", r.Load.Select(l => $"{l.When} {l.Load}")) + ".");
        o.WriteLine("PostgreSQL: " + string.Join(", ", serverSettings.Select(s => $"{s.Name}={s.Value}")) + ".");
        o.WriteLine(string.Create(c,
            $"Workload: {options.Components} catalog components, {options.Investigations} open investigations (retro-linked in a set-up of {r.SetUpSeconds:F0} s), "
            + $"{options.Events} events per closed-loop phase at concurrency {options.Concurrency} ({LinkingWorkload.TargetedShare:P0} made to link), "
            + $"latency phase {options.Rate}/s for {options.Duration} s; seed {options.Seed}. Run took {duration.TotalMinutes:F1} min."));
        o.WriteLine();

        o.WriteLine("| phase | events | ingest ack/s | ack p50 ms | ack p99 ms | fully linked/s | last evaluated after (s) | process CPU ms/event | PostgreSQL CPU ms/event | transactions/event | rows written/event |");
        o.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        if (r.Baseline is { } b)
        {
            var l = LatencySummary.Of(b.Sample.Latencies);
            o.WriteLine(string.Create(c,
                $"| baseline: ingest, stream agents stopped (no linker) | {b.Acknowledged} | {b.AckPerSecond:F0} | {l.P50:F2} | {l.P99:F2} | – | – | {PerEvent(b.ProcessCpuSeconds, b.Acknowledged)} | {PerEvent(b.PostgresCpuSeconds, b.Acknowledged)} | {Ratio(b.Activity.Commits, b.Acknowledged)} | {Ratio(b.Activity.RowsWritten, b.Acknowledged)} |"));
        }
        if (r.Drain is { } d)
        {
            o.WriteLine(string.Create(c,
                $"| linker alone, draining the baseline's backlog | {d.Events} | – | – | – | {Rate(d.PerSecond)} | {Seconds(d.Seconds)} | {PerEvent(d.ProcessCpuSeconds, d.Events)} | {PerEvent(d.PostgresCpuSeconds, d.Events)} | {Ratio(d.Activity.Commits, d.Events)} | {Ratio(d.Activity.RowsWritten, d.Events)} |"));
        }
        if (r.Sustained is { } s)
        {
            var l = LatencySummary.Of(s.Sample.Latencies);
            o.WriteLine(string.Create(c,
                $"| sustained ingest with linking on | {s.Acknowledged} | {s.AckPerSecond:F0} | {l.P50:F2} | {l.P99:F2} | {Rate(s.LinkedPerSecond)} | {Seconds(s.LinkedSeconds)} | {PerEvent(s.ProcessCpuSeconds, s.Acknowledged)} | {PerEvent(s.PostgresCpuSeconds, s.Acknowledged)} | {Ratio(s.Activity.Commits, s.Acknowledged)} | {Ratio(s.Activity.RowsWritten, s.Acknowledged)} |"));
        }
        if (r.Unclaimed is { } u)
        {
            var l = LatencySummary.Of(u.Sample.Latencies);
            o.WriteLine(string.Create(c,
                $"| unclaimed: ingest with linking on, events no investigation can claim (nothing scored) | {u.Acknowledged} | {u.AckPerSecond:F0} | {l.P50:F2} | {l.P99:F2} | {Rate(u.LinkedPerSecond)} | {Seconds(u.LinkedSeconds)} | {PerEvent(u.ProcessCpuSeconds, u.Acknowledged)} | {PerEvent(u.PostgresCpuSeconds, u.Acknowledged)} | {Ratio(u.Activity.Commits, u.Acknowledged)} | {Ratio(u.Activity.RowsWritten, u.Acknowledged)} |"));
        }
        o.WriteLine();
        if (r.Baseline is { } baseline && r.Sustained is { } sustained)
        {
            var linked = sustained.LinkedPerSecond ?? 0;
            o.WriteLine(string.Create(c,
                $"- Cost of linking: fully linked {linked:F0}/s against the baseline's {baseline.AckPerSecond:F0} acknowledged/s = **{linked / baseline.AckPerSecond:F2}×**; "
                + $"acknowledgements alone ran at {sustained.AckPerSecond / baseline.AckPerSecond:F2}× the baseline while the linker worked beside them."));
            o.WriteLine(string.Create(c,
                $"- Sustained, events fully linked per second: **{linked:F0}/s**. Aim ≥ {LinkingBenchmark.ThroughputAim:F0}/s: **{(linked >= LinkingBenchmark.ThroughputAim ? "met" : "not met")}**."));
            o.WriteLine(string.Create(c,
                $"- When the last acknowledgement returned, the linker was {(sustained.Linked?.LastCheckedAt is { } last ? (last - sustained.AcknowledgedAt).TotalSeconds : double.NaN):F1} s from done."));
            o.WriteLine($"- CPU: baseline {baseline.Machine}; drain {r.Drain?.Machine}; sustained (ingest until all evaluated) {sustained.Machine}.");
            o.WriteLine(string.Create(c,
                $"- Linker evaluations (the `rootcause.linker.events` counter, redeliveries included): drain {r.Drain?.Evaluations} for {r.Drain?.Events} events, sustained {sustained.Evaluations} for {sustained.Acknowledged} events."));
            if (r.Unclaimed is { } unclaimed)
            {
                var floor = unclaimed.LinkedPerSecond ?? 0;
                o.WriteLine(string.Create(c,
                    $"- The pipeline's own cost (unclaimed phase, run after the latency phase): {floor:F0} events/s evaluated with nothing to score "
                    + $"({r.UnclaimedCandidates} candidates scored, expected 0), against the baseline's {baseline.AckPerSecond:F0} acknowledged/s; "
                    + $"linking proper (candidates, scoring, lookups, reviews) takes the sustained phase from there to {linked:F0}/s; {unclaimed.Machine}."));
            }
            foreach (var (phase, requested, run) in r.Reviews)
            {
                o.WriteLine(string.Create(c,
                    $"- Corroboration reviews, {phase}: {requested} asked for, {run} run (an index wait and the lookups each; the rest were covered by earlier reviews or merged)."));
            }
        }
        o.WriteLine();

        if (r.Latency is { } lat)
        {
            var watched = lat.Watch == "push"
                ? string.Create(c, $"each event's link waited for on the live streams of the {lat.Streams} investigations the events were made for ({lat.PushMessages} messages received, {lat.Resyncs} resyncs, {lat.FailedStreams} streams failed), then read over HTTP until it showed: {lat.Gets} GETs ({lat.Gets / (double)Math.Max(1, lat.Visible.Count):F2} per event)")
                : string.Create(c, $"{lat.Gets} GETs (each pending event read again {LinkingBenchmark.PollInterval.TotalMilliseconds:F0} ms after its previous answer, at most {LinkingBenchmark.PollConcurrency} GETs in flight; "
                    + $"{lat.Visible.Sum() / Math.Max(1, lat.Gets):F0} ms between GETs of one event on average, the effective polling resolution)");
            o.WriteLine(string.Create(c,
                $"Latency phase (--watch {lat.Watch}): {lat.Events} events that link, issued at {lat.AchievedRate:F0}/s (asked {options.Rate}/s); the last watch ended {lat.Seconds:F1} s after the first ingest; "
                + $"{watched}; {lat.Machine}."));
            o.WriteLine();
            o.WriteLine("| measured as | events | p50 ms | p95 ms | p99 ms | max ms |");
            o.WriteLine("|---|---:|---:|---:|---:|---:|");
            Row(o, "ingest acknowledgement (IngestAsync)", lat.Acks);
            if (lat.Watch == "push")
            {
                Row(o, "ack → the link's `event_link` (status `linked`) arrives on its investigation's live stream", lat.Pushed);
                Row(o, "ack → GET /api/events/{id} shows a `linked` link (HTTP, read after the push; response received)", lat.Visible);
            }
            else
            {
                Row(o, "ack → GET /api/events/{id} shows a `linked` link (HTTP; response received)", lat.Visible);
                Row(o, "lower bound: ack → the last GET that did not show it was sent", lat.VisibleLowerBound);
            }
            Row(o, "`rootcause.linker.latency` histogram (silo side)", lat.Histogram);
            o.WriteLine();
            if (lat.Stages.Count > 0)
            {
                o.WriteLine("Silo side by event kind (the linker's histograms): the stream's queueing and delivery, a change's wait for the search index, and the whole; "
                    + "then the search index's steps per page of changes during the phase (`rootcause.search.page_step`: read the feed page and its records' states, apply the documents, refresh the searcher).");
                o.WriteLine();
                o.WriteLine("| measured as | events | p50 ms | p95 ms | p99 ms | max ms |");
                o.WriteLine("|---|---:|---:|---:|---:|---:|");
                foreach (var (measure, kind, values) in lat.Stages)
                {
                    Row(o, $"{measure}: {kind}", values);
                }
                o.WriteLine();
            }
            var p99 = LinkingBenchmark.Percentile(lat.Visible, 99);
            o.WriteLine(string.Create(c,
                $"- Ack → link visible, p99 **{p99:F0} ms**{(lat.NotLinked > 0 ? $" ({lat.NotLinked} never seen linked within 60 s)" : "")}. "
                + $"Aim ≤ {LinkingBenchmark.LatencyAimP99Ms:F0} ms: **{(lat.NotLinked == 0 && p99 <= LinkingBenchmark.LatencyAimP99Ms ? "met" : "not met")}**."));
            if (lat.Failures > 0)
            {
                o.WriteLine($"- {lat.Failures} ingests failed; first: {lat.FirstFailure}");
            }
        }
        o.WriteLine();

        o.WriteLine("Checks (stored event states against the generator's ground truth):");
        o.WriteLine();
        foreach (var check in r.Checks)
        {
            o.WriteLine($"- {check.Phase}: {check.Describe()}: **{(check.Ok ? "as expected" : "MISMATCH")}**.");
        }
        o.WriteLine(string.Create(c, $"- Stream: {r.Queues.Queued} messages still queued, {r.Queues.DeadLetters} dead letters (expected 0 and 0)."));
        if (r.Counters is { } counters)
        {
            o.WriteLine(string.Create(c,
                $"- Linker grains' counters: {counters.Events} evaluations (redeliveries included), {counters.Candidates / (double)Math.Max(1, counters.Events):F1} candidate investigations scored per event, "
                + $"{counters.Linked} link and {counters.Suggested} suggest decisions."));
        }
        if (r.Diagnostics is { } diag)
        {
            o.WriteLine(string.Create(c,
                $"- In-memory work, timed in this process on the run's data: candidate lookup + scoring {diag.ScoringMsPerEvent:F3} ms per event "
                + $"({diag.CandidatesPerEvent:F1} candidates); a whole candidate-map rebuild over {diag.RegistryInvestigations} investigations (`InvestigationRegistry.CandidatesFor` after a change) {diag.FullRebuildMs:F1} ms, of which `LinkNames.For` {diag.MapRebuildMs:F1} ms."));
        }
        if (r.Baseline is { Sample.Failures: > 0 } || r.Sustained is { Sample.Failures: > 0 })
        {
            o.WriteLine($"- Failed ingests: baseline {r.Baseline?.Sample.Failures} ({r.Baseline?.Sample.FirstFailure}); sustained {r.Sustained?.Sample.Failures} ({r.Sustained?.Sample.FirstFailure}).");
        }
    }

    private static void Row(TextWriter o, string name, IReadOnlyList<double> values) =>
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {values.Count} | {LinkingBenchmark.Percentile(values, 50):F0} | {LinkingBenchmark.Percentile(values, 95):F0} | {LinkingBenchmark.Percentile(values, 99):F0} | {(values.Count == 0 ? double.NaN : values.Max()):F0} |"));

    private static string Ratio(long count, int events) => events > 0 ? (count / (double)events).ToString("F1", CultureInfo.InvariantCulture) : "n/a";

    private static string Rate(double? perSecond) => perSecond is { } v ? v.ToString("F0", CultureInfo.InvariantCulture) : "not all evaluated";

    private static string Seconds(double? seconds) => seconds is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) : "–";

    private static string PerEvent(double? seconds, int events) =>
        seconds is { } v && events > 0 ? (1000 * v / events).ToString("F2", CultureInfo.InvariantCulture) : "n/a";
}
