using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RootCause.Common;
using RootCause.Database;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Benchmarks.Search;

/// <summary>
/// "Search and queries at scale": a realistic dataset bulk-loaded into the grain storage, an
/// in-process silo that indexes it from scratch, then the same queries through HTTP, inside the
/// index and against a PostgreSQL full-text baseline, side by side. See docs/benchmarks.md.
/// </summary>
public static class SearchBenchmark
{
    public const double SearchAimP99Ms = 20;
    public const double AnalyticsAimP99Ms = 100;
    public const double CatchUpAimPerSecond = 10_000;

    private const string ServiceId = "rootcause";
    private const int IdentitySample = 100;
    private const int WarmUp = 50;
    private const int TailBatch = 1_000;

    public static async Task<int> RunAsync(string[] args)
    {
        if (!SearchBenchmarkOptions.TryParse(args, out var options, out var problem))
        {
            if (problem is not null)
            {
                Console.Error.WriteLine(problem);
            }
            Console.Error.WriteLine(SearchBenchmarkOptions.Usage);
            return problem is null ? 0 : 2;
        }
        var time = TimeProvider.System;
        var started = time.GetUtcNow();
        if (options.Rows.Count > 0)
        {
            var names = SearchQueries.Build(new SearchDataset(options.Seed, options.Investigations, options.Components, started), 1, options.Seed + 1).Select(r => r.Name).ToList();
            if (options.Rows.FirstOrDefault(prefix => !names.Any(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))) is { } unknown)
            {
                Console.Error.WriteLine($"--rows: no query row's name starts with '{unknown}'. The rows are: {string.Join("; ", names)}.");
                return 2;
            }
        }
        var database = await BenchDatabase.CreateAsync(options.ConnectionString, "", time);
        var indexPath = Path.Combine(Path.GetTempPath(), $"rootcause-searchbench-{Guid.NewGuid():N}");
        Progress($"database {database.Name} created; index directory {indexPath}");
        WebApplication? silo = null;
        var report = new SearchReport { Options = options, Started = started };
        try
        {
            await DatabaseMigrator.MigrateAsync(database.ConnectionString, NullLogger.Instance);
            await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
            var dataset = new SearchDataset(options.Seed, options.Investigations, options.Components, started);
            report.Dataset = dataset;

            await LoadAsync(dataset, options, dataSource, report);
            var loadedUpTo = await MaxTxidAsync(dataSource);

            // The silo starts on the loaded database with an empty index directory: it rebuilds.
            var starting = Stopwatch.GetTimestamp();
            silo = await StartSiloAsync(database.ConnectionString, indexPath);
            var index = silo.Services.GetRequiredService<ISearchIndex>();
            await WaitAsync(index, s => s.Rebuild?.FinishedAt is not null && s.Horizon > loadedUpTo && s.State == "live", TimeSpan.FromMinutes(30), "the rebuild");
            report.SiloToLiveSeconds = Stopwatch.GetElapsedTime(starting).TotalSeconds;
            var rebuild = index.Status.Rebuild!;
            report.RebuildRecords = rebuild.Indexed;
            report.RebuildSeconds = (rebuild.FinishedAt!.Value - rebuild.StartedAt).TotalSeconds;
            Progress(string.Create(CultureInfo.InvariantCulture,
                $"rebuild: {rebuild.Indexed} records in {report.RebuildSeconds:F1} s = {rebuild.Indexed / report.RebuildSeconds:F0}/s; live after {report.SiloToLiveSeconds:F1} s"));
            report.AfterRebuild = Memory(index);

            await TailAsync(dataset, options, dataSource, index, report);
            if (options.LiveSeconds > 0)
            {
                await LiveAsync(dataset, options, dataSource, index, report);
            }
            if (options.IndexingOnly)
            {
                report.Duration = time.GetUtcNow() - started;
                report.PrintIndexing(Console.Out);
                return 0;
            }
            await IdentityCheckAsync(dataset, options, silo, dataSource, report);
            var everything = await MaxTxidAsync(dataSource);
            await WaitAsync(index, s => s.Horizon > everything && s.State == "live", TimeSpan.FromMinutes(5), "the final changes");

            var building = Stopwatch.GetTimestamp();
            await PostgresBaseline.BuildAsync(dataSource, ServiceId);
            report.BaselineBuildSeconds = Stopwatch.GetElapsedTime(building).TotalSeconds;
            report.BaselineSizes = await PostgresBaseline.SizesAsync(dataSource);
            Progress(string.Create(CultureInfo.InvariantCulture, $"PostgreSQL baseline tables and indexes built in {report.BaselineBuildSeconds:F1} s"));
            await CheckDocumentCountsAsync(index, dataSource, report);

            // The bulk-loaded and tailed silo tables would be vacuumed by autovacuum in the middle of
            // the queries: done now, with a checkpoint, so neither runs beside the measurements.
            foreach (var sql in new[] { "VACUUM (ANALYZE) orleans_storage", "VACUUM (ANALYZE) grain_changes", "CHECKPOINT" })
            {
                await using var command = dataSource.CreateCommand(sql);
                command.CommandTimeout = 0;
                await command.ExecuteNonQueryAsync();
            }
            Progress("vacuumed the silo's tables and checkpointed");
            report.Rows = await MeasureAsync(dataset, options, silo, index, dataSource);
            report.AfterQueries = Memory(index);
            report.Settings = await database.ServerSettingsAsync();
            report.Duration = time.GetUtcNow() - started;
            report.Print(Console.Out);
            return report.Ok ? 0 : 1;
        }
        finally
        {
            if (silo is not null)
            {
                await silo.StopAsync();
                await silo.DisposeAsync();
                Progress("silo stopped");
            }
            if (options.Keep)
            {
                Progress($"kept database {database.Name} and index {indexPath}");
            }
            else
            {
                await database.DropAsync();
                try
                {
                    Directory.Delete(indexPath, recursive: true);
                }
                catch (IOException)
                {
                }
                Progress($"database {database.Name} and the index directory removed");
            }
        }
    }

    // ----- the dataset -----

    /// <summary>The connector's delay between an event happening and its ingest.</summary>
    private static DateTimeOffset ParsedAt(EventDraft draft, int i) => draft.Timestamp.AddSeconds(2 + (i % 9));

    private static StoredRow EventRow(SearchDataset dataset, int i)
    {
        var draft = dataset.Event(i);
        var state = StoredRecords.Event(draft, ParsedAt(draft, i));
        return new StoredRow("event", state.Id, 1, StoredRecords.Serialize(state));
    }

    private static StoredRow InvestigationRow(SearchDataset dataset, int i)
    {
        var (fields, created, updated) = dataset.Investigation(i);
        var state = StoredRecords.Investigation(dataset.InvestigationId(i), fields, created, updated);
        return new StoredRow("investigation", state.Id, 1, StoredRecords.Serialize(state));
    }

    private static async Task LoadAsync(SearchDataset dataset, SearchBenchmarkOptions options, NpgsqlDataSource dataSource, SearchReport report)
    {
        var loader = new BulkLoader(dataSource, ServiceId);
        var loading = Stopwatch.GetTimestamp();
        long bytes = 0;
        async Task LoadKindAsync(string name, int count, int chunk, Func<int, StoredRow> make)
        {
            for (var first = 0; first < count; first += chunk)
            {
                var rows = Enumerable.Range(first, Math.Min(chunk, count - first)).AsParallel().AsOrdered().Select(make).ToArray();
                bytes += rows.Sum(r => (long)r.Payload.Length);
                await loader.CopyAsync(rows);
                Progress(string.Create(CultureInfo.InvariantCulture, $"loaded {first + rows.Length} of {count} {name}"));
            }
        }
        await LoadKindAsync("investigations", options.Investigations, 25_000, i => InvestigationRow(dataset, i));
        await LoadKindAsync("events", options.Events, 50_000, i => EventRow(dataset, i));
        report.LoadSeconds = Stopwatch.GetElapsedTime(loading).TotalSeconds;
        report.PayloadBytes = bytes;
        await using (var analyze = dataSource.CreateCommand("ANALYZE orleans_storage; ANALYZE grain_changes"))
        {
            await analyze.ExecuteNonQueryAsync();
        }
        Progress(string.Create(CultureInfo.InvariantCulture,
            $"bulk load: {options.Investigations + options.Events} records ({bytes / 1e6:F0} MB of JSON) in {report.LoadSeconds:F1} s"));
    }

    // ----- tailing -----

    /// <summary>
    /// Changes while the silo runs: links of existing events to investigations (as
    /// EventGrain.SetInvestigationLinkAsync writes them), reassigned investigations and new events,
    /// committed in transactions of <see cref="TailBatch"/>. A transaction that holds an xid stays
    /// open while they are written, so the change feed's horizon cannot pass it: the index sees none
    /// of them until it commits, and then catches up on the whole backlog. That measures the
    /// tailer's rate, not the writer's. With --tail-rounds, each round writes the next version of
    /// the same records (and new events of its own).
    /// </summary>
    private static async Task TailAsync(SearchDataset dataset, SearchBenchmarkOptions options, NpgsqlDataSource dataSource, ISearchIndex index, SearchReport report)
    {
        var total = options.EffectiveTailChanges;
        var links = Math.Min(options.Events, total * 4 / 10);
        var reassigned = Math.Min(options.Investigations, total / 10);
        var fresh = total - links - reassigned;
        report.TailLinks = links * options.TailRounds;
        report.TailReassigned = reassigned * options.TailRounds;
        report.TailNewEvents = fresh * options.TailRounds;
        for (var round = 0; round < options.TailRounds; round++)
        {
            var changes = Changes(dataset, options, links, reassigned, fresh, round, options.Events + round * fresh);
            var rng = new Random(options.Seed + round);
            var shuffled = changes.OrderBy(_ => rng.Next()).ToList();
            await TailRoundAsync(shuffled, dataSource, index, report);
        }
    }

    /// <summary>
    /// One round's changes: <paramref name="links"/> events linked to one more investigation,
    /// <paramref name="reassigned"/> investigations given another assignee, and
    /// <paramref name="fresh"/> new events from dataset index <paramref name="firstNewEvent"/>;
    /// round r writes version r + 2 of the records it changes.
    /// </summary>
    private static List<Func<StoredRow>> Changes(SearchDataset dataset, SearchBenchmarkOptions options, int links, int reassigned, int fresh, int round, int firstNewEvent)
    {
        var changes = new List<Func<StoredRow>>(links + reassigned + fresh);
        for (var k = 0; k < links; k++)
        {
            var i = (int)((long)k * 7_919 % options.Events);
            changes.Add(() =>
            {
                var draft = dataset.Event(i);
                var parsed = ParsedAt(draft, i);
                var state = StoredRecords.Event(draft, parsed);
                for (var r = 0; r <= round; r++)
                {
                    state = StoredRecords.Linked(state, dataset.InvestigationId((int)(((long)k * 31 + r) % options.Investigations)), parsed.AddMinutes(30));
                }
                return new StoredRow("event", state.Id, (int)state.Version, StoredRecords.Serialize(state));
            });
        }
        for (var k = 0; k < reassigned; k++)
        {
            var i = (int)((long)k * 104_729 % options.Investigations);
            changes.Add(() =>
            {
                var (fields, created, updated) = dataset.Investigation(i);
                var people = SearchDataset.PeopleNames;
                var state = StoredRecords.Investigation(dataset.InvestigationId(i),
                    fields with { AssignedTo = people[(i + 1 + round) % people.Count] }, created, updated);
                state.Version = 2 + round;
                return new StoredRow("investigation", state.Id, (int)state.Version, StoredRecords.Serialize(state));
            });
        }
        for (var k = 0; k < fresh; k++)
        {
            var i = firstNewEvent + k;
            changes.Add(() => EventRow(dataset, i));
        }
        return changes;
    }

    private static async Task TailRoundAsync(List<Func<StoredRow>> shuffled, NpgsqlDataSource dataSource, ISearchIndex index, SearchReport report)
    {
        var before = index.Status.ChangesApplied;
        ulong lastXid = 0;
        double writeSeconds;
        TimeSpan settled;
        await using (var blocker = await dataSource.OpenConnectionAsync())
        {
            await using var hold = await blocker.BeginTransactionAsync();
            await using (var xid = new NpgsqlCommand("SELECT pg_current_xact_id()", blocker, hold))
            {
                await xid.ExecuteScalarAsync();
            }
            var loader = new BulkLoader(dataSource, ServiceId);
            var writing = Stopwatch.GetTimestamp();
            for (var first = 0; first < shuffled.Count; first += TailBatch)
            {
                var rows = shuffled.Skip(first).Take(TailBatch).AsParallel().AsOrdered().Select(make => make()).ToArray();
                lastXid = Math.Max(lastXid, await loader.WriteAsync(rows));
            }
            writeSeconds = Stopwatch.GetElapsedTime(writing).TotalSeconds;
            if (index.Status.ChangesApplied != before)
            {
                throw new InvalidOperationException("The index applied changes while the horizon was held back; the tailing measurement would be wrong.");
            }
            // The rebuild's (or the previous round's) merges may still run: measured once they are done.
            using var idle = Process.GetCurrentProcess();
            (settled, _) = await SettleAsync(idle);
            await hold.CommitAsync();
        }
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpuFrom = process.TotalProcessorTime;
        var catching = Stopwatch.GetTimestamp();
        await WaitAsync(index, s => s.Horizon > lastXid, TimeSpan.FromMinutes(10), "the tailed changes", pollMs: 5);
        var seconds = Stopwatch.GetElapsedTime(catching).TotalSeconds;
        process.Refresh();
        var round = new TailRound(index.Status.ChangesApplied - before, seconds, writeSeconds, (process.TotalProcessorTime - cpuFrom).TotalMilliseconds);
        report.TailRounds.Add(round);
        Progress(string.Create(CultureInfo.InvariantCulture,
            $"tailing: {round.Applied} changes ({shuffled.Count} written in {round.WriteSeconds:F1} s; {settled.TotalSeconds:F0} s for earlier merges to finish) applied in {round.Seconds:F2} s = {round.Rate:F0}/s, process CPU {round.CpuMs / round.Applied * 1000:F0} ms per 1000 changes (load average {LoadAverage()})"));
    }

    /// <summary>
    /// Waits until the process has used less than a fifth of a core for a second (or 20 s have
    /// passed): background merges of earlier writes are done. Returns how long it waited and the
    /// process's CPU milliseconds in its last second.
    /// </summary>
    private static async Task<(TimeSpan Waited, double IdleCpuPerSecond)> SettleAsync(Process process)
    {
        var settling = Stopwatch.GetTimestamp();
        double idleCpuPerSecond;
        do
        {
            process.Refresh();
            var from = process.TotalProcessorTime;
            await Task.Delay(TimeSpan.FromSeconds(1));
            process.Refresh();
            idleCpuPerSecond = (process.TotalProcessorTime - from).TotalMilliseconds;
        }
        while (idleCpuPerSecond > 200 && Stopwatch.GetElapsedTime(settling) < TimeSpan.FromSeconds(20));
        return (Stopwatch.GetElapsedTime(settling), idleCpuPerSecond);
    }

    // ----- the live index -----

    private const int LiveTransaction = 10;

    /// <summary>
    /// With the index caught up, writes --live-rate changes per second for --live-seconds in
    /// transactions of <see cref="LiveTransaction"/> (the same mix as the tailing; rows serialized
    /// beforehand), each started at its slot whatever the earlier ones took. Measures the process's
    /// CPU time per change applied (the writes' own CPU included, the same in every run) and each
    /// transaction's lag from its commit until the index's searcher shows it.
    /// </summary>
    private static async Task LiveAsync(SearchDataset dataset, SearchBenchmarkOptions options, NpgsqlDataSource dataSource, ISearchIndex index, SearchReport report)
    {
        var total = options.LiveSeconds * options.LiveRate;
        var links = Math.Min(options.Events, total * 4 / 10);
        var reassigned = Math.Min(options.Investigations, total / 10);
        var fresh = total - links - reassigned;
        var rng = new Random(options.Seed - 1);
        var rows = Changes(dataset, options, links, reassigned, fresh, options.TailRounds, options.Events + report.TailNewEvents)
            .OrderBy(_ => rng.Next()).AsParallel().AsOrdered().Select(make => make()).ToArray();
        report.LiveNewEvents = fresh;
        var loader = new BulkLoader(dataSource, ServiceId);
        var everything = await MaxTxidAsync(dataSource);
        await WaitAsync(index, s => s.Horizon > everything && s.State == "live", TimeSpan.FromMinutes(5), "the backlog before the live writes");

        // Merges started by the backlogs may still run: the measurement starts once they are done.
        using var process = Process.GetCurrentProcess();
        var (_, idleCpuPerSecond) = await SettleAsync(process);

        var before = index.Status.ChangesApplied;
        var lags = new long[(rows.Length + LiveTransaction - 1) / LiveTransaction];
        process.Refresh();
        var cpuFrom = process.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        var writes = new List<Task>(lags.Length);
        for (var t = 0; t < lags.Length; t++)
        {
            var slot = TimeSpan.FromSeconds((double)t * LiveTransaction / options.LiveRate);
            var wait = slot - Stopwatch.GetElapsedTime(started);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
            var transaction = t;
            var batch = rows.Skip(t * LiveTransaction).Take(LiveTransaction).ToArray();
            writes.Add(Task.Run(async () =>
            {
                var xid = await loader.WriteAsync(batch);
                var committed = Stopwatch.GetTimestamp();
                if (!await index.WaitForHorizonAsync(xid + 1, TimeSpan.FromSeconds(30)))
                {
                    throw new TimeoutException($"A live write (xid {xid}) was not visible within 30 s.");
                }
                lags[transaction] = Stopwatch.GetTimestamp() - committed;
            }));
        }
        await Task.WhenAll(writes);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpuFrom).TotalMilliseconds;
        report.Live = new LiveResult(index.Status.ChangesApplied - before, seconds, cpu, idleCpuPerSecond, LatencySummary.Of(lags));
        Progress(string.Create(CultureInfo.InvariantCulture,
            $"live: {report.Live.Applied} changes in {seconds:F1} s, process CPU {cpu / report.Live.Applied * 1000:F0} ms per 1000 changes "
            + $"(idle {idleCpuPerSecond:F0} ms/s), lag p50 {report.Live.Lag.P50:F0} / p99 {report.Live.Lag.P99:F0} ms (load average {LoadAverage()})"));
    }

    internal static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    // ----- identity of the bulk path -----

    /// <summary>
    /// Sends records the bulk path never wrote through the real grains, then builds the same records
    /// the bulk way and compares bytes. The grains stamp parsed_at (events) and created_at/updated_at
    /// (investigations) from their clock: those are taken from the stored state before building.
    /// </summary>
    private static async Task IdentityCheckAsync(SearchDataset dataset, SearchBenchmarkOptions options, WebApplication silo, NpgsqlDataSource dataSource, SearchReport report)
    {
        var grains = silo.Services.GetRequiredService<IGrainFactory>();
        var firstEvent = options.Events + report.TailNewEvents + report.LiveNewEvents;
        var mismatches = new List<string>();
        var compared = 0;
        for (var k = 0; k < IdentitySample; k++)
        {
            var i = firstEvent + k;
            var draft = dataset.Event(i);
            var result = await grains.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft);
            if (!result.Created)
            {
                mismatches.Add($"event {i} already existed");
                continue;
            }
            var stored = await StoredAsync(dataSource, "event", result.Event.Id);
            var parsedAt = JsonSerializer.Deserialize<EventState>(stored.Payload, RootCauseJson.Options)!.ParsedAt;
            var bulk = StoredRecords.Serialize(StoredRecords.Event(draft, parsedAt));
            Compare($"event {i}", bulk, stored);
        }
        for (var k = 0; k < IdentitySample; k++)
        {
            var i = options.Investigations + k;
            var id = dataset.InvestigationId(i);
            var (fields, _, _) = dataset.Investigation(i);
            await grains.GetGrain<IInvestigationGrain>(id).CreateAsync(fields);
            var stored = await StoredAsync(dataSource, "investigation", id);
            var state = JsonSerializer.Deserialize<InvestigationState>(stored.Payload, RootCauseJson.Options)!;
            var bulk = StoredRecords.Serialize(StoredRecords.Investigation(id, fields, state.CreatedAt!.Value, state.UpdatedAt!.Value));
            Compare($"investigation {i}", bulk, stored);
        }
        report.IdentityCompared = compared;
        report.IdentityMismatches = mismatches;
        report.IdentityHashes = await HashColumnsAsync(dataSource);
        Progress(mismatches.Count == 0
            ? $"identity check: {compared} records written through the grains equal the bulk path's bytes"
            : $"IDENTITY MISMATCH: {string.Join("; ", mismatches.Take(5))}");

        void Compare(string what, byte[] bulk, (byte[] Payload, int Version) stored)
        {
            compared++;
            if (!bulk.AsSpan().SequenceEqual(stored.Payload) || stored.Version != 1)
            {
                mismatches.Add($"{what}: bulk {System.Text.Encoding.UTF8.GetString(bulk)} vs grain {System.Text.Encoding.UTF8.GetString(stored.Payload)} (version {stored.Version})");
            }
        }
    }

    private static async Task<(byte[] Payload, int Version)> StoredAsync(NpgsqlDataSource dataSource, string stateName, Guid id)
    {
        var (n0, n1) = GuidKeys.Split(id);
        await using var command = dataSource.CreateCommand(
            """
            SELECT payload_binary, version FROM orleans_storage
            WHERE service_id = @service AND grain_type = @type AND grain_id_n0 = @n0 AND grain_id_n1 = @n1 AND grain_id_extension IS NULL
            """);
        command.Parameters.AddWithValue("service", ServiceId);
        command.Parameters.AddWithValue("type", stateName);
        command.Parameters.AddWithValue("n0", n0);
        command.Parameters.AddWithValue("n1", n1);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            throw new InvalidOperationException($"The grain wrote no {stateName} row for {id}.");
        }
        return (reader.GetFieldValue<byte[]>(0), reader.GetInt32(1));
    }

    /// <summary>How many grain-written rows carry non-zero hashes (the bulk path writes 0).</summary>
    private static async Task<string> HashColumnsAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT count(*) FILTER (WHERE grain_id_hash <> 0), count(*) FILTER (WHERE grain_type_hash <> 0) FROM orleans_storage");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return string.Create(CultureInfo.InvariantCulture, $"{reader.GetInt64(0)} rows with a non-zero grain_id_hash, {reader.GetInt64(1)} with a non-zero grain_type_hash");
    }

    private static async Task CheckDocumentCountsAsync(ISearchIndex index, NpgsqlDataSource dataSource, SearchReport report)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT (SELECT count(*) FROM bench_investigations), (SELECT count(*) FROM bench_events)");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var (investigations, events) = (reader.GetInt64(0), reader.GetInt64(1));
        // The tailer refreshes the status counts about once a second.
        await Task.Delay(1_500);
        var status = index.Status;
        report.DocumentCheck = string.Create(CultureInfo.InvariantCulture,
            $"index {status.Investigations} investigations / {status.Events} events, PostgreSQL {investigations} / {events}");
        report.DocumentCheckOk = status.Investigations == investigations && status.Events == events;
        Progress("document counts: " + report.DocumentCheck);
    }

    // ----- queries -----

    private static async Task<IReadOnlyList<RowResult>> MeasureAsync(SearchDataset dataset, SearchBenchmarkOptions options,
        WebApplication silo, ISearchIndex index, NpgsqlDataSource dataSource)
    {
        var rows = SearchQueries.Build(dataset, WarmUp + options.Queries, options.Seed + 1)
            .Where(row => options.Rows.Count == 0 || options.Rows.Any(prefix => row.Name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        using var http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(30),
        })
        {
            BaseAddress = new Uri(silo.Urls.First()),
        };
        await using var connection = await dataSource.OpenConnectionAsync();
        var results = new List<RowResult>();
        using var phases = new GcPhases();
        foreach (var row in rows)
        {
            phases.Take();
            var result = new RowResult(row.Name, row.Class, options.Queries);
            var rowGc = GcMark.Now();
            // Query by query, the three sides in turn: noise from the neighbours falls on all three alike.
            for (var k = 0; k < row.Instances.Count; k++)
            {
                var query = row.Instances[k];
                var measured = k >= WarmUp;

                long t0, t1, t2, t3, indexCount, pgCount;
                long? httpCount;
                GcMark g0, g1, g2;
                long allocated;
                try
                {
                    g0 = GcMark.Now();
                    allocated = GC.GetAllocatedBytesForCurrentThread();
                    t0 = Stopwatch.GetTimestamp();
                    indexCount = query.Index(index);
                    t1 = Stopwatch.GetTimestamp();
                    allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
                    g1 = GcMark.Now();
                    httpCount = await HttpAsync(http, query.Url);
                    t2 = Stopwatch.GetTimestamp();
                    g2 = GcMark.Now();
                    pgCount = await query.Postgres(connection);
                    t3 = Stopwatch.GetTimestamp();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Counted and reported; one failing query must not lose the whole run.
                    result.Compared++;
                    result.Failures++;
                    result.FirstMismatch ??= $"{query.Url} FAILED: {e.GetType().Name}: {e.Message}";
                    continue;
                }

                if (measured)
                {
                    result.Index.Add(t1 - t0);
                    result.Http.Add(t2 - t1);
                    result.Postgres.Add(t3 - t2);
                    result.IndexDuringGc.Add(g1.Collections > g0.Collections);
                    result.IndexAllocated.Add(allocated);
                    result.HttpDuringGc.Add(g2.Collections > g1.Collections);
                }
                result.Compared++;
                if (indexCount != pgCount || (httpCount is { } h && h != indexCount))
                {
                    result.Mismatches++;
                    result.FirstMismatch ??= string.Create(CultureInfo.InvariantCulture,
                        $"{query.Url}: index {indexCount}, HTTP {(httpCount?.ToString(CultureInfo.InvariantCulture) ?? "n/a")}, PostgreSQL {pgCount}");
                }
                result.IndexMatches += indexCount;
                result.PostgresMatches += pgCount;
            }
            result.Gc = GcMark.Now() - rowGc;
            var i = LatencySummary.Of(result.Index);
            var w = LatencySummary.Of(result.Http);
            var p = LatencySummary.Of(result.Postgres);
            var first = result.FirstMismatch is { } m ? $"; first: {m}" : "";
            Progress(string.Create(CultureInfo.InvariantCulture,
                $"{row.Name}: index {i.P50:F2}/{i.P99:F2} ms, HTTP {w.P50:F2}/{w.P99:F2} ms, PostgreSQL {p.P50:F2}/{p.P99:F2} ms; "
                + $"{result.Mismatches} count mismatches and {result.Failures} failures of {result.Compared}; mean matches {result.IndexMatches / (double)result.Compared:F0}; "
                + $"GCs {result.Gc.Gen0}/{result.Gc.Gen1}/{result.Gc.Gen2} pausing {result.Gc.Pause.TotalMilliseconds:F0} ms, in {result.IndexDuringGc.Count(x => x)} index calls (p99 without {LatencySummary.Of(RowResult.WithoutGc(result.Index, result.IndexDuringGc)).P99:F2} ms); "
                + $"index call allocates {result.IndexAllocated.Order().ElementAtOrDefault(result.IndexAllocated.Count / 2) / 1024.0:F0} KiB (median); {LastEphemeralGc()}; {phases.Take()}{first}"));
            results.Add(result);
        }
        return results;
    }

    /// <summary>What the last gen0/gen1 collection did: its pause, what it promoted, pinned and found.</summary>
    private static string LastEphemeralGc()
    {
        var info = GC.GetGCMemoryInfo(GCKind.Ephemeral);
        if (info.Index == 0)
        {
            return "no ephemeral GC yet";
        }
        var gen0 = info.GenerationInfo[0];
        return string.Create(CultureInfo.InvariantCulture,
            $"last ephemeral GC (gen{info.Generation}): pause {info.PauseDurations[0].TotalMilliseconds:F1} ms, promoted {info.PromotedBytes / 1e6:F1} MB, "
            + $"{info.PinnedObjectsCount} pinned, gen0 {gen0.SizeBeforeBytes / 1e6:F0} → {gen0.SizeAfterBytes / 1e6:F0} MB, heap {info.HeapSizeBytes / 1e6:F0} MB, "
            + $"{(info.Compacted ? "compacted" : "swept")}, time in GC {info.PauseTimePercentage:F1} %");
    }

    /// <summary>GETs a URL, reads the whole body; returns X-Total-Count when the endpoint sends one.</summary>
    private static async Task<long?> HttpAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseContentRead);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var body = await response.Content.ReadAsStringAsync();
            throw new InvalidOperationException($"GET {url} answered {(int)response.StatusCode}: {body}");
        }
        return response.Headers.TryGetValues("X-Total-Count", out var values)
            ? long.Parse(values.First(), CultureInfo.InvariantCulture)
            : null;
    }

    // ----- plumbing -----

    private static async Task<WebApplication> StartSiloAsync(string connectionString, string indexPath)
    {
        var app = BenchSilo.Build(connectionString, $"searchbench-{Guid.NewGuid().ToString("N")[..8]}", indexPath, ServiceId,
            "--Logging:LogLevel:RootCause.Search=Information",
            // This benchmark measures queries: the bulk-loaded investigations are not retro-linked,
            // nor the bulk-loaded events swept to the linker, in the background while they are measured.
            "--Linker:RetroLinking=false", "--Linker:Sweep=false");
        await app.StartAsync();
        Progress($"silo started, API at {app.Urls.First()}");
        return app;
    }

    private static async Task<ulong> MaxTxidAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT coalesce(max(txid), '0')::text FROM grain_changes");
        return ulong.Parse((string)(await command.ExecuteScalarAsync())!, CultureInfo.InvariantCulture);
    }

    private static async Task WaitAsync(ISearchIndex index, Func<IndexStatus, bool> done, TimeSpan timeout, string what, int pollMs = 50)
    {
        var started = Stopwatch.GetTimestamp();
        var lastLog = started;
        while (!done(index.Status))
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"The index did not finish {what} within {timeout}: {JsonSerializer.Serialize(index.Status, RootCauseJson.Options)}");
            }
            if (Stopwatch.GetElapsedTime(lastLog) > TimeSpan.FromSeconds(15))
            {
                var s = index.Status;
                Progress(string.Create(CultureInfo.InvariantCulture,
                    $"waiting for {what}: state {s.State}, {s.Rebuild?.Indexed ?? 0} of {s.Rebuild?.Total ?? 0} rebuilt, {s.ChangesApplied} changes applied"));
                lastLog = Stopwatch.GetTimestamp();
            }
            await Task.Delay(pollMs);
        }
    }

    private static MemorySample Memory(ISearchIndex index)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        using var process = Process.GetCurrentProcess();
        return new MemorySample(process.WorkingSet64, GC.GetGCMemoryInfo().HeapSizeBytes, GC.GetTotalMemory(false), index.Status.SizeBytes);
    }


    internal static void Progress(string message) => FoundationBenchmark.Progress(message);
}

public sealed record MemorySample(long WorkingSetBytes, long GcHeapBytes, long ManagedLiveBytes, long IndexBytes);

/// <summary>Latencies of one row on the three sides, and how its counts compared.</summary>
public sealed class RowResult(string name, QueryClass @class, int capacity)
{
    public string Name { get; } = name;
    public QueryClass Class { get; } = @class;
    public List<long> Index { get; } = new(capacity);
    public List<long> Http { get; } = new(capacity);
    public List<long> Postgres { get; } = new(capacity);
    public int Compared { get; set; }
    public int Mismatches { get; set; }
    public int Failures { get; set; }
    public long PostgresMatches { get; set; }
    public string? FirstMismatch { get; set; }
    public long IndexMatches { get; set; }

    /// <summary>Per measured query: whether a garbage collection ran while the index call, or the HTTP request, was timed.</summary>
    public List<bool> IndexDuringGc { get; } = new(capacity);
    public List<bool> HttpDuringGc { get; } = new(capacity);

    /// <summary>Per measured query: bytes the index call allocated (it runs on the calling thread).</summary>
    public List<long> IndexAllocated { get; } = new(capacity);

    /// <summary>Collections and pause time over the whole row, warm-up and PostgreSQL side included.</summary>
    public GcMark Gc { get; set; }

    /// <summary>The latencies of the queries during which no collection ran.</summary>
    public static IEnumerable<long> WithoutGc(List<long> ticks, List<bool> duringGc) => ticks.Where((_, k) => !duringGc[k]);
}

/// <summary>
/// The process's garbage collections so far (by generation) and their total pause: read before and
/// after each timed call, it tells whether a collection ran inside it.
/// </summary>
public readonly record struct GcMark(int Gen0, int Gen1, int Gen2, TimeSpan Pause)
{
    public int Collections => Gen0;

    public static GcMark Now() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());

    public static GcMark operator -(GcMark a, GcMark b) => new(a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2, a.Pause - b.Pause);
}
