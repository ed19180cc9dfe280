using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Benchmarks;

/// <summary>
/// "Ingest and reads through the grains (foundation)": one in-process silo with real Kestrel on a
/// fresh database, measured phase by phase. Progress goes to stderr, the result table to stdout.
/// </summary>
public static class FoundationBenchmark
{
    /// <summary>The aim for grain ingest: at least this share of the raw-insert baseline's throughput.</summary>
    public const double IngestAimRatio = 0.5;

    /// <summary>The aim for a warm GET of an investigation over HTTP, p99, in milliseconds.</summary>
    public const double WarmGetAimP99Ms = 5;

    private const string ServiceId = "rootcause";

    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var time = TimeProvider.System;
        var started = time.GetUtcNow();
        var database = await BenchDatabase.CreateAsync(options.ConnectionString, options.ConnectionOptions, time);
        Progress($"database {database.Name} created");
        WebApplication? silo = null;
        try
        {
            silo = await StartSiloAsync(database.ConnectionString);
            var settings = await database.ServerSettingsAsync();
            var results = await MeasureAsync(options, silo, database, time);
            var verification = await VerifyAsync(database, options);
            Report.Print(Console.Out, options, results, settings, verification, started, time.GetUtcNow() - started);
            return results.All.Any(r => r.Failures > 0) || !verification.Ok ? 1 : 0;
        }
        finally
        {
            if (silo is not null)
            {
                var stopping = Stopwatch.GetTimestamp();
                await silo.StopAsync();
                await silo.DisposeAsync();
                Progress($"silo stopped in {Stopwatch.GetElapsedTime(stopping).TotalSeconds:F1} s");
            }
            if (options.Keep)
            {
                Progress($"kept database {database.Name}");
            }
            else
            {
                await database.DropAsync();
                Progress($"database {database.Name} dropped");
            }
        }
    }

    private static async Task<WebApplication> StartSiloAsync(string connectionString)
    {
        var app = BenchSilo.Build(connectionString, $"bench-{Guid.NewGuid().ToString("N")[..8]}", serviceId: ServiceId);
        var starting = Stopwatch.GetTimestamp();
        await app.StartAsync();
        Progress($"silo started in {Stopwatch.GetElapsedTime(starting).TotalSeconds:F1} s, API at {app.Urls.First()}");
        return app;
    }

    private static async Task<BenchmarkResults> MeasureAsync(BenchmarkOptions options, WebApplication silo, BenchDatabase database, TimeProvider time)
    {
        var grains = silo.Services.GetRequiredService<IGrainFactory>();
        await using var monitor = NpgsqlDataSource.Create(database.ConnectionString);
        var phases = new PhaseRunner(new PostgresCpu(monitor));
        var workload = new Workload(options.Seed, time.GetUtcNow());
        var concurrency = options.Concurrency;
        var results = new BenchmarkResults(concurrency);

        // Everything a client would already hold before calling is prepared up front, so the
        // timed operations contain the call and nothing of the generator.
        Progress("generating the workload");
        var investigationIds = Enumerable.Range(0, options.Investigations).Select(_ => Guid.NewGuid()).ToArray();
        var investigations = Enumerable.Range(0, options.Investigations).Select(workload.Investigation).ToArray();
        var events = Enumerable.Range(0, options.Events).Select(workload.Event).ToArray();
        // The baseline stores exactly the bytes the grain would: the same state, serialized with
        // RootCauseJson.Options. Serializing ahead of time makes the baseline faster, never slower,
        // so the ratio against it is, if anything, understated.
        var rawPayloads = events.Select(e => Workload.StoredPayload(e, time.GetUtcNow())).ToArray();
        var httpBodies = Enumerable.Range(options.Events, options.EffectiveHttpEvents)
            .Select(i => Workload.RequestBody(workload.Event(i))).ToArray();
        results.AveragePayloadBytes = rawPayloads.Length == 0 ? 0 : rawPayloads.Average(p => p.Length);

        // a. investigations through the grain.
        await phases.RunAsync(results.CreateInvestigation, 0, options.Investigations, concurrency, async i =>
        {
            var created = await grains.GetGrain<IInvestigationGrain>(investigationIds[i]).CreateAsync(investigations[i]);
            if (created.Version != 1)
            {
                throw new InvalidOperationException($"Investigation {created.Id} came back with version {created.Version}, expected 1.");
            }
        });

        // b + c. grain ingest and the raw baseline, alternating in rounds (ABBA order) so that
        // table growth, checkpoints and JIT warm-up fall on both sides alike.
        await using (var baseline = await RawInsertBaseline.CreateAsync(database.ConnectionString, ServiceId))
        {
            for (var round = 0; round < options.Rounds; round++)
            {
                var first = (int)((long)options.Events * round / options.Rounds);
                var count = (int)((long)options.Events * (round + 1) / options.Rounds) - first;
                if (count == 0)
                {
                    continue;
                }
                Func<Task> raw = () => phases.RunAsync(results.RawInsert, first, count, concurrency,
                    i => baseline.InsertAsync(EventKeys.IdFor(events[i].Source, events[i].SourceId), rawPayloads[i]), round + 1);
                Func<Task> grain = () => phases.RunAsync(results.IngestEvent, first, count, concurrency, async i =>
                {
                    var draft = events[i];
                    var result = await grains.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft);
                    if (!result.Created)
                    {
                        throw new InvalidOperationException($"Event {result.Event.Id} already existed: the workload repeated a source id.");
                    }
                }, round + 1);
                if (round % 2 == 0)
                {
                    await raw();
                    await grain();
                }
                else
                {
                    await grain();
                    await raw();
                }
            }
        }

        using var http = new HttpClient(new SocketsHttpHandler
        {
            // Keep-alive connections for the whole run, as a load balancer or SPA would hold them.
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(30),
            MaxConnectionsPerServer = concurrency,
        })
        {
            BaseAddress = new Uri(silo.Urls.First()),
        };

        // e. ingest over HTTP: JSON parsing, validation, routing and the response on top of (b).
        var json = new MediaTypeHeaderValue("application/json");
        await phases.RunAsync(results.IngestEventHttp, 0, httpBodies.Length, concurrency, async i =>
        {
            using var content = new ByteArrayContent(httpBodies[i]);
            content.Headers.ContentType = json;
            using var response = await http.PostAsync("/api/events", content);
            await response.Content.ReadAsByteArrayAsync();
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new InvalidOperationException($"POST /api/events answered {(int)response.StatusCode}, expected 201.");
            }
        });

        // d. warm GETs: one pass over every investigation activates each grain and opens the
        // connections; the measured pass then reads random ones.
        var warmUp = new PhaseResult("warm-up GET (not reported)", concurrency);
        await phases.RunAsync(warmUp, 0, investigationIds.Length, concurrency, i => GetInvestigationAsync(http, investigationIds[i]));
        var random = new Random(options.Seed);
        var targets = Enumerable.Range(0, options.HttpGets).Select(_ => investigationIds[random.Next(investigationIds.Length)]).ToArray();
        await phases.RunAsync(results.GetInvestigationHttp, 0, targets.Length, concurrency, i => GetInvestigationAsync(http, targets[i]));
        // One request at a time: the service time of a GET, without queueing behind the others.
        await phases.RunAsync(results.GetInvestigationHttpAlone, 0, Math.Min(targets.Length, 2_000), 1, i => GetInvestigationAsync(http, targets[i]));
        // The same reads as grain calls, to split the HTTP cost from the grain's.
        await phases.RunAsync(results.GetInvestigationGrain, 0, targets.Length, concurrency, async i =>
        {
            _ = await grains.GetGrain<IInvestigationGrain>(targets[i]).GetAsync()
                ?? throw new InvalidOperationException($"Investigation {targets[i]} not found.");
        });
        return results;
    }

    private static async Task GetInvestigationAsync(HttpClient http, Guid id)
    {
        using var response = await http.GetAsync($"/api/investigations/{id}");
        await response.Content.ReadAsByteArrayAsync();
        if (response.StatusCode != HttpStatusCode.OK || response.Headers.ETag is null)
        {
            throw new InvalidOperationException($"GET /api/investigations/{id} answered {(int)response.StatusCode}, expected 200 with an ETag.");
        }
    }

    /// <summary>Runs measured phases and logs each with its CPU use, this process's and PostgreSQL's.</summary>
    private sealed class PhaseRunner(PostgresCpu postgres)
    {
        /// <summary>Runs one phase and adds it to <paramref name="result"/>.</summary>
        public async Task RunAsync(PhaseResult result, int first, int count, int concurrency, Func<int, Task> operation, int? round = null)
        {
            var pgBefore = await postgres.SnapshotAsync();
            var cpu = CpuMeter.Start();
            var sample = await Measurement.RunAsync(first, count, concurrency, operation);
            var processSeconds = cpu.ProcessSeconds;
            var machine = cpu.Describe();
            var pgSeconds = PostgresCpu.Between(pgBefore, await postgres.SnapshotAsync());
            result.Add(sample, processSeconds, pgSeconds);

            var latency = LatencySummary.Of(sample.Latencies);
            var seconds = (double)sample.WallTicks / Stopwatch.Frequency;
            var name = round is { } r ? string.Create(CultureInfo.InvariantCulture, $"{result.Operation} (round {r})") : result.Operation;
            var perOp = string.Create(CultureInfo.InvariantCulture, $"cpu per op: this process {1000 * processSeconds / Math.Max(count, 1):F2} ms")
                + (pgSeconds is { } pg ? string.Create(CultureInfo.InvariantCulture, $", PostgreSQL {1000 * pg / Math.Max(count, 1):F2} ms") : "");
            var failures = sample.Failures > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {sample.Failures} FAILED, first: {sample.FirstFailure}") : "";
            Progress(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {count} in {seconds:F1} s = {count / seconds:F0}/s, p50 {latency.P50:F2} ms, p99 {latency.P99:F2} ms; {perOp}; {machine}{failures}"));
        }
    }

    private static async Task<Verification> VerifyAsync(BenchDatabase database, BenchmarkOptions options)
    {
        var expectedEvents = (long)options.Events + options.EffectiveHttpEvents;
        var events = await database.CountAsync("SELECT count(*) FROM orleans_storage WHERE grain_type = 'event'");
        var investigations = await database.CountAsync("SELECT count(*) FROM orleans_storage WHERE grain_type = 'investigation'");
        // Every state write records one change in the same statement, so the change rows equal the
        // writes (the sum of the rows' versions), whatever else wrote meanwhile (the linker marks each
        // event evaluated); and each record's first write is there once.
        // One statement, one snapshot: the linker may still be writing.
        var unrecorded = await database.CountAsync(
            "SELECT (SELECT coalesce(sum(version), 0) FROM orleans_storage)::bigint - (SELECT count(*) FROM grain_changes)");
        var changes = await database.CountAsync("SELECT count(*) FROM grain_changes");
        var firstWrites = await database.CountAsync("SELECT count(*) FROM grain_changes WHERE version = 1 AND grain_type IN ('event', 'investigation')");
        var raw = await database.CountAsync($"SELECT count(*) FROM {RawInsertBaseline.Table}");
        var ok = events == expectedEvents && investigations == options.Investigations && raw == options.Events
            && unrecorded == 0 && firstWrites == expectedEvents + options.Investigations;
        return new Verification(ok, string.Create(CultureInfo.InvariantCulture,
            $"orleans_storage: {events} event rows (expected {expectedEvents}), {investigations} investigation rows "
            + $"(expected {options.Investigations}); grain_changes: {changes} rows, {unrecorded} state writes without one, {firstWrites} first writes "
            + $"(expected {expectedEvents + options.Investigations}); {RawInsertBaseline.Table}: {raw} rows (expected {options.Events})"));
    }

    internal static void Progress(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[bench {TimeProvider.System.GetUtcNow():HH:mm:ss}] {message}"));

    /// <summary>Runtime facts printed with the results.</summary>
    internal static string MachineDescription() => string.Create(CultureInfo.InvariantCulture,
        $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, "
        + $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC{GcHeaps()}");

    /// <summary>The heap count and whether DATAS (the adaptive heap count) is on.</summary>
    private static string GcHeaps()
    {
        var gc = GC.GetConfigurationVariables();
        var heaps = gc.TryGetValue("HeapCount", out var count) ? count : "?";
        var datas = gc.TryGetValue("GCDynamicAdaptationMode", out var mode) && Convert.ToInt64(mode, CultureInfo.InvariantCulture) == 1;
        return $" ({heaps} heaps{(datas ? ", DATAS on" : ", DATAS off")})";
    }
}

/// <summary>The rows of the result table.</summary>
public sealed class BenchmarkResults(int concurrency)
{
    public PhaseResult CreateInvestigation { get; } = new("create investigation (grain CreateAsync)", concurrency);
    public PhaseResult IngestEvent { get; } = new("ingest event (grain IngestAsync)", concurrency);
    public PhaseResult RawInsert { get; } = new("baseline: raw Npgsql INSERT, autocommit", concurrency);
    public PhaseResult IngestEventHttp { get; } = new("ingest event (HTTP POST /api/events)", concurrency);
    public PhaseResult GetInvestigationHttp { get; } = new("warm GET /api/investigations/{id} (HTTP)", concurrency);
    public PhaseResult GetInvestigationGrain { get; } = new("warm get investigation (grain GetAsync, in-process)", concurrency);
    public PhaseResult GetInvestigationHttpAlone { get; } = new("warm GET /api/investigations/{id} (HTTP), one at a time", 1);

    public double AveragePayloadBytes { get; set; }

    public IEnumerable<PhaseResult> All =>
        [CreateInvestigation, IngestEvent, RawInsert, IngestEventHttp, GetInvestigationHttp, GetInvestigationGrain, GetInvestigationHttpAlone];
}

public sealed record Verification(bool Ok, string Description);
