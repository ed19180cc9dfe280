using System.Globalization;

namespace RootCause.Benchmarks.Search;

/// <summary>What the search benchmark found, and the Markdown it prints.</summary>
public sealed class SearchReport
{
    public required SearchBenchmarkOptions Options { get; init; }
    public DateTimeOffset Started { get; init; }
    public TimeSpan Duration { get; set; }
    public SearchDataset? Dataset { get; set; }
    public IReadOnlyList<(string Name, string Value)> Settings { get; set; } = [];

    public double LoadSeconds { get; set; }
    public long PayloadBytes { get; set; }

    public double SiloToLiveSeconds { get; set; }
    public long RebuildRecords { get; set; }
    public double RebuildSeconds { get; set; }
    public MemorySample? AfterRebuild { get; set; }
    public MemorySample? AfterQueries { get; set; }

    public int TailLinks { get; set; }
    public int TailReassigned { get; set; }
    public int TailNewEvents { get; set; }
    public List<TailRound> TailRounds { get; } = [];
    public int LiveNewEvents { get; set; }
    public LiveResult? Live { get; set; }

    public int IdentityCompared { get; set; }
    public IReadOnlyList<string> IdentityMismatches { get; set; } = [];
    public string IdentityHashes { get; set; } = "";

    public double BaselineBuildSeconds { get; set; }
    public (long Investigations, long Events) BaselineSizes { get; set; }
    public string DocumentCheck { get; set; } = "";
    public bool DocumentCheckOk { get; set; }

    public IReadOnlyList<RowResult> Rows { get; set; } = [];

    public double RebuildRate => RebuildSeconds > 0 ? RebuildRecords / RebuildSeconds : 0;
    /// <summary>The median round's rate.</summary>
    public double TailRate => TailRounds.Count == 0 ? 0 : TailRounds.Select(r => r.Rate).Order().ElementAt(TailRounds.Count / 2);

    /// <summary>
    /// Filters, ranges and aggregations must count exactly what PostgreSQL counts. Full-text totals
    /// may differ where the two tokenizers split text differently (see docs/benchmarks.md); they are
    /// reported, and fail the run only if a query failed outright.
    /// </summary>
    public bool Ok => IdentityMismatches.Count == 0 && DocumentCheckOk
        && Rows.All(r => r.Failures == 0 && (r.Class == QueryClass.Search || r.Mismatches == 0));

    public void Print(TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        var o = Options;
        output.WriteLine();
        output.WriteLine(string.Create(c, $"## Search and queries at scale, {Started:yyyy-MM-dd HH:mm} UTC"));
        output.WriteLine();
        output.WriteLine(string.Create(c,
            $"Machine: {FoundationBenchmark.MachineDescription()}. One in-process silo (real Kestrel, loopback), the load generator and PostgreSQL share these cores."));
        output.WriteLine("PostgreSQL: " + string.Join(", ", Settings.Select(s => $"{s.Name}={s.Value}")) + ".");
        output.WriteLine(string.Create(c,
            $"Dataset: {o.Investigations} investigations and {o.Events} events over {o.Components} components and {SearchDataset.SpanDays} days "
            + $"({PayloadBytes / 1e6:F0} MB of stored JSON), bulk-loaded in {LoadSeconds:F0} s; then {TailLinks + TailReassigned + TailNewEvents} tailed changes "
            + $"({TailLinks} event links, {TailReassigned} investigation updates, {TailNewEvents} new events) and {IdentityCompared} records through the grains. "
            + $"Seed {o.Seed}; {o.Queries} measured queries per row and side after {50} warm-up queries, concurrency 1.{(o.Rows.Count > 0 ? $" Only the rows starting with: {string.Join("; ", o.Rows)}." : "")} Run took {Duration.TotalMinutes:F1} min."));
        output.WriteLine();
        output.WriteLine("| query | index p50 / p99 ms (in-process) | HTTP p50 / p99 ms | PostgreSQL p50 / p99 ms | PG / HTTP p50 | PG / HTTP p99 | HTTP aim | met |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var row in Rows)
        {
            var i = LatencySummary.Of(row.Index);
            var h = LatencySummary.Of(row.Http);
            var p = LatencySummary.Of(row.Postgres);
            var aim = Aim(row);
            var met = h.P99 <= aim && h.P50 < p.P50 && h.P99 < p.P99;
            output.WriteLine(string.Create(c,
                $"| {row.Name} | {i.P50:F2} / {i.P99:F2} | {h.P50:F2} / {h.P99:F2} | {p.P50:F2} / {p.P99:F2} | {Ratio(p.P50, h.P50)} | {Ratio(p.P99, h.P99)} | p99 ≤ {aim:F0} ms, < PG | {(met ? "yes" : "**no**")} |"));
        }
        output.WriteLine();
        PrintGc(output);
        output.WriteLine("Mean matches per query (index total): " + string.Join("; ", Rows.Select(r =>
            string.Create(c, $"{r.Name} {r.IndexMatches / (double)Math.Max(1, r.Compared):F0}"))) + ".");
        output.WriteLine();
        var afterRebuild = AfterRebuild!;
        var afterQueries = AfterQueries!;
        output.WriteLine(string.Create(c,
            $"- Index rebuild from PostgreSQL (silo started on the loaded database, empty index directory): **{RebuildRecords} records in {RebuildSeconds:F1} s = {RebuildRate:F0} records/s**; the silo answered from a live index {SiloToLiveSeconds:F1} s after start."));
        PrintTailing(output);
        output.WriteLine(string.Create(c,
            $"- Index size on disk: **{afterRebuild.IndexBytes / 1e6:F0} MB** after the rebuild, {afterQueries.IndexBytes / 1e6:F0} MB at the end. PostgreSQL baseline tables with their indexes: {BaselineSizes.Investigations / 1e6:F0} MB (investigations) + {BaselineSizes.Events / 1e6:F0} MB (events), built in {BaselineBuildSeconds:F0} s."));
        output.WriteLine(string.Create(c,
            $"- Silo process memory with the full dataset indexed (after a full GC): working set **{afterRebuild.WorkingSetBytes / 1e6:F0} MB**, GC heap {afterRebuild.GcHeapBytes / 1e6:F0} MB ({afterRebuild.ManagedLiveBytes / 1e6:F0} MB live) after the rebuild; "
            + $"working set {afterQueries.WorkingSetBytes / 1e6:F0} MB, GC heap {afterQueries.GcHeapBytes / 1e6:F0} MB ({afterQueries.ManagedLiveBytes / 1e6:F0} MB live) after the queries. The process also runs the load generator."));
        output.WriteLine($"- Bulk path identity: {IdentityCompared} records written through IEventGrain.IngestAsync / IInvestigationGrain.CreateAsync compared byte for byte with the bulk path's payloads: "
            + (IdentityMismatches.Count == 0 ? "**identical**" : $"**{IdentityMismatches.Count} MISMATCHES**, first: {IdentityMismatches[0]}")
            + $". Hash columns: {IdentityHashes} (the bulk path writes 0; nothing reads them).");
        output.WriteLine($"- Documents: {DocumentCheck}: {(DocumentCheckOk ? "equal" : "**MISMATCH**")}.");
        var exact = Rows.Where(r => r.Class != QueryClass.Search).ToList();
        var mismatched = exact.Where(r => r.Mismatches > 0 || r.Failures > 0).ToList();
        output.WriteLine(mismatched.Count == 0
            ? string.Create(c, $"- Counts, filters, ranges and aggregations: all {exact.Sum(r => r.Compared)} queries (warm-up included) returned the same total from the index, over HTTP (X-Total-Count, where sent) and from PostgreSQL.")
            : "- Count **MISMATCHES**: " + string.Join("; ", mismatched.Select(r => string.Create(c, $"{r.Name}: {r.Mismatches} of {r.Compared}, first {r.FirstMismatch}"))));
        foreach (var row in Rows.Where(r => r.Class == QueryClass.Search))
        {
            var first = row.FirstMismatch is { } f ? $" First difference: {f}" : "";
            output.WriteLine(string.Create(c,
                $"- Counts, {row.Name}: {row.Compared - row.Mismatches - row.Failures} of {row.Compared} queries matched exactly as many records as PostgreSQL"
                + $" (index {row.IndexMatches} matches in all, PostgreSQL {row.PostgresMatches}); {row.Failures} failed.{first}"));
        }
        output.WriteLine();
    }

    /// <summary>The indexing figures alone (--indexing-only).</summary>
    public void PrintIndexing(TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine();
        output.WriteLine(string.Create(c, $"## Search indexing, {Started:yyyy-MM-dd HH:mm} UTC"));
        output.WriteLine();
        output.WriteLine(string.Create(c,
            $"Machine: {FoundationBenchmark.MachineDescription()}. Dataset: {Options.Investigations} investigations and {Options.Events} events; run took {Duration.TotalMinutes:F1} min."));
        output.WriteLine();
        output.WriteLine(string.Create(c,
            $"- Index rebuild from PostgreSQL: **{RebuildRecords} records in {RebuildSeconds:F1} s = {RebuildRate:F0} records/s**; the silo answered from a live index {SiloToLiveSeconds:F1} s after start."));
        PrintTailing(output);
        output.WriteLine();
    }

    private void PrintTailing(TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        var rounds = TailRounds.Count == 1 ? "" : " (median of " + string.Join(", ", TailRounds.Select(r => r.Rate.ToString("F0", c))) + ")";
        var cpu = TailRounds.Select(r => r.CpuMs / r.Applied * 1000).Order().ElementAt(TailRounds.Count / 2);
        var median = TailRounds.OrderBy(r => r.Rate).ElementAt(TailRounds.Count / 2);
        output.WriteLine(string.Create(c,
            $"- Tailing the change feed: a backlog of **{median.Applied} changes applied in {median.Seconds:F2} s = {TailRate:F0} changes/s**{rounds}, process CPU {cpu:F0} ms per 1000 changes (median) (written in {median.WriteSeconds:F1} s, in transactions of 1000, while the horizon was held back; applied once earlier merges had finished). Aim ≥ {SearchBenchmark.CatchUpAimPerSecond:F0}/s: **{(TailRate >= SearchBenchmark.CatchUpAimPerSecond ? "met" : "not met")}** (rebuild: {(RebuildRate >= SearchBenchmark.CatchUpAimPerSecond ? "met" : "not met")})."));
        if (Live is { } live)
        {
            output.WriteLine(string.Create(c,
                $"- Live index: {live.Applied} changes written at {Options.LiveRate}/s in transactions of 10 for {live.Seconds:F1} s: process CPU **{live.CpuMs / live.Applied * 1000:F0} ms per 1000 changes** "
                + $"(the writes' own CPU included; idle {live.IdleCpuMsPerSecond:F0} ms per second); commit → searchable p50 **{live.Lag.P50:F0} ms**, p99 **{live.Lag.P99:F0} ms**."));
        }
    }

    /// <summary>
    /// Which timed calls a garbage collection ran in (any generation counts, since a gen0 collection
    /// of server GC stops every thread too), and the tails without them.
    /// </summary>
    private void PrintGc(TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine("Garbage collections during the measured calls (the benchmark and the silo share one process):");
        output.WriteLine();
        output.WriteLine("| query | index calls with a GC | index p99 ms, calls with / without a GC | HTTP calls with a GC | HTTP p99 ms, with / without | GCs in the row (gen0 / gen1 / gen2) | GC pause in the row ms | index call allocates, median KiB |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in Rows)
        {
            var indexWith = LatencySummary.Of(row.Index.Where((_, k) => row.IndexDuringGc[k]));
            var indexWithout = LatencySummary.Of(RowResult.WithoutGc(row.Index, row.IndexDuringGc));
            var httpWith = LatencySummary.Of(row.Http.Where((_, k) => row.HttpDuringGc[k]));
            var httpWithout = LatencySummary.Of(RowResult.WithoutGc(row.Http, row.HttpDuringGc));
            output.WriteLine(string.Create(c,
                $"| {row.Name} | {row.IndexDuringGc.Count(x => x)} of {row.IndexDuringGc.Count} | {indexWith.P99:F2} / {indexWithout.P99:F2} | {row.HttpDuringGc.Count(x => x)} of {row.HttpDuringGc.Count} | {httpWith.P99:F2} / {httpWithout.P99:F2} | {row.Gc.Gen0} / {row.Gc.Gen1} / {row.Gc.Gen2} | {row.Gc.Pause.TotalMilliseconds:F0} | {row.IndexAllocated.Order().ElementAtOrDefault(row.IndexAllocated.Count / 2) / 1024.0:F0} |"));
        }
        output.WriteLine();
    }

    private static double Aim(RowResult row) => row.Class == QueryClass.Analytics ? SearchBenchmark.AnalyticsAimP99Ms : SearchBenchmark.SearchAimP99Ms;

    private static string Ratio(double postgres, double http) =>
        http > 0 ? (postgres / http).ToString("F1", CultureInfo.InvariantCulture) + "×" : "n/a";
}

/// <summary>One backlog applied: changes, seconds until the horizon passed them, seconds to write them, and the process's CPU meanwhile.</summary>
public sealed record TailRound(long Applied, double Seconds, double WriteSeconds, double CpuMs)
{
    public double Rate => Seconds > 0 ? Applied / Seconds : 0;
}

/// <summary>Steady writes to a live index: changes applied, wall seconds, process CPU, idle CPU per second, commit-to-searchable lag.</summary>
public sealed record LiveResult(long Applied, double Seconds, double CpuMs, double IdleCpuMsPerSecond, LatencySummary Lag);
