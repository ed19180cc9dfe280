using System.Globalization;

namespace RootCause.Benchmarks;

/// <summary>The Markdown the benchmark prints: the table, the aims, and the facts needed to read them.</summary>
public static class Report
{
    public static void Print(TextWriter output, BenchmarkOptions options, BenchmarkResults results,
        IReadOnlyList<(string Name, string Value)> serverSettings, Verification verification,
        DateTimeOffset started, TimeSpan duration)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine();
        output.WriteLine(string.Create(c, $"## Ingest and reads through the grains (foundation), {started:yyyy-MM-dd HH:mm} UTC"));
        output.WriteLine();
        output.WriteLine(string.Create(c,
            $"Machine: {FoundationBenchmark.MachineDescription()}. One in-process silo (real Kestrel, loopback) and the load generator share these cores with PostgreSQL."));
        output.WriteLine("PostgreSQL: " + string.Join(", ", serverSettings.Select(s => $"{s.Name}={s.Value}")) + ".");
        output.WriteLine("Npgsql connection options: " + (options.ConnectionOptions.Length > 0 ? options.ConnectionOptions : "defaults (as the silo ships)") + ".");
        output.WriteLine(string.Create(c,
            $"Workload: {options.Investigations} investigations, {options.Events} events in {options.Rounds} alternating baseline/grain rounds, "
            + $"{options.EffectiveHttpEvents} events over HTTP, {options.HttpGets} warm GETs; seed {options.Seed}; "
            + $"stored event state averages {results.AveragePayloadBytes:F0} bytes of JSON. Run took {duration.TotalMinutes:F1} min."));
        output.WriteLine();
        output.WriteLine("| operation | count | concurrency | ops/s | p50 ms | p99 ms | max ms |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var row in results.All)
        {
            var latency = row.Latency();
            var failed = row.Failures > 0 ? string.Create(c, $" ({row.Failures} failed)") : "";
            output.WriteLine(string.Create(c,
                $"| {row.Operation}{failed} | {row.Count} | {row.Concurrency} | {row.OpsPerSecond:F0} | {latency.P50:F2} | {latency.P99:F2} | {latency.Max:F1} |"));
        }
        output.WriteLine();

        var ratio = results.RawInsert.OpsPerSecond > 0 ? results.IngestEvent.OpsPerSecond / results.RawInsert.OpsPerSecond : 0;
        var getP99 = results.GetInvestigationHttp.Latency().P99;
        output.WriteLine(string.Create(c,
            $"- Event ingest vs raw insert baseline: **{ratio:F2}×** ({results.IngestEvent.OpsPerSecond:F0} vs {results.RawInsert.OpsPerSecond:F0} ops/s). "
            + $"Aim ≥ {FoundationBenchmark.IngestAimRatio:F1}×: **{(ratio >= FoundationBenchmark.IngestAimRatio ? "met" : "not met")}**."));
        output.WriteLine(string.Create(c,
            $"- Warm GET over HTTP: p99 **{getP99:F2} ms** at concurrency {options.Concurrency}. "
            + $"Aim ≤ {FoundationBenchmark.WarmGetAimP99Ms:F0} ms: **{(getP99 <= FoundationBenchmark.WarmGetAimP99Ms ? "met" : "not met")}**."));
        output.WriteLine("- Per round, ops/s: grain ingest " + Rounds(results.IngestEvent) + "; raw baseline " + Rounds(results.RawInsert) + ".");
        output.WriteLine($"- Check: {verification.Description}: {(verification.Ok ? "all present" : "MISMATCH")}.");
        output.WriteLine();
        output.WriteLine("CPU per operation, averaged over each phase (this process = silo + load generator):");
        output.WriteLine();
        output.WriteLine("| operation | this process ms/op | PostgreSQL ms/op |");
        output.WriteLine("|---|---:|---:|");
        foreach (var row in results.All.Where(r => r.Count > 0))
        {
            var pg = row.PostgresCpuSeconds is { } seconds ? (1000 * seconds / row.Count).ToString("F2", c) : "n/a";
            output.WriteLine(string.Create(c, $"| {row.Operation} | {1000 * row.ProcessCpuSeconds / row.Count:F2} | {pg} |"));
        }
        output.WriteLine();
        foreach (var row in results.All.Where(r => r.Failures > 0))
        {
            output.WriteLine($"- {row.Operation}: {row.Failures} failed; first: {row.FirstFailure}");
        }
    }

    private static string Rounds(PhaseResult result) => string.Join(" / ", result.Samples.Select(s =>
        (s.Latencies.Length / ((double)s.WallTicks / System.Diagnostics.Stopwatch.Frequency)).ToString("F0", CultureInfo.InvariantCulture)));
}
