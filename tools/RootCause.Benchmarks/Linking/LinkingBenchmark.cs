using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Providers.Streams.Common;
using RootCause.Catalog;
using RootCause.Events;
using RootCause.Hosting;
using RootCause.Investigations;
using RootCause.Linking;

namespace RootCause.Benchmarks.Linking;

/// <summary>
/// "Linking throughput and latency": one complete silo in this process on a fresh database, a
/// catalog and open investigations, then (1) a baseline ingest with the stream's pulling agents
/// stopped, (2) the linker draining that backlog, (3) sustained ingest with linking on, measured
/// until every acknowledged event is evaluated, and (4) a steady rate of events that will link,
/// each watched over HTTP until its link shows. See docs/benchmarks.md.
/// </summary>
public static class LinkingBenchmark
{
    /// <summary>Events fully linked per second the linker should sustain on two cores.</summary>
    public const double ThroughputAim = 2_000;

    /// <summary>Acknowledgement → link visible through the API, p99, milliseconds.</summary>
    public const double LatencyAimP99Ms = 1_000;

    /// <summary>How often a pending event is read again over HTTP in the latency phase.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>How long earlier events are read before the latency phase, so it does not compile the read path.</summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(5);

    /// <summary>GETs in flight at once in the latency phase, whatever the number of pending events.</summary>
    public const int PollConcurrency = 32;

    private static readonly TimeSpan LinkTimeout = TimeSpan.FromSeconds(60);
    private const string ServiceId = "rootcause";

    public static async Task<int> RunAsync(string[] args)
    {
        if (!LinkingBenchmarkOptions.TryParse(args, out var options, out var problem))
        {
            if (problem is not null)
            {
                Console.Error.WriteLine(problem);
            }
            Console.Error.WriteLine(LinkingBenchmarkOptions.Usage);
            return problem is null ? 0 : 2;
        }

        var time = TimeProvider.System;
        var started = time.GetUtcNow();
        var database = await BenchDatabase.CreateAsync(options.ConnectionString, "", time);
        var indexPath = Path.Combine(Path.GetTempPath(), "rootcause-bench-linking-" + database.Name);
        Progress($"database {database.Name} created");
        using var meter = new LinkerMeter();
        WebApplication? silo = null;
        try
        {
            silo = await StartSiloAsync(database.ConnectionString, indexPath);
            await using var monitor = NpgsqlDataSource.Create(database.ConnectionString);
            var run = new Run(options, silo, monitor, meter, time);
            var results = await run.MeasureAsync();
            var settings = await database.ServerSettingsAsync();
            LinkingReport.Print(Console.Out, options, results, settings, started, time.GetUtcNow() - started);
            return results.Ok ? 0 : 1;
        }
        finally
        {
            if (silo is not null)
            {
                await silo.StopAsync();
                await silo.DisposeAsync();
                Progress("silo stopped");
            }
            try
            {
                Directory.Delete(indexPath, recursive: true);
            }
            catch (IOException)
            {
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

    private static async Task<WebApplication> StartSiloAsync(string connectionString, string indexPath)
    {
        var app = BenchSilo.Build(connectionString, $"bench-{Guid.NewGuid().ToString("N")[..8]}", indexPath, ServiceId);
        var starting = Stopwatch.GetTimestamp();
        await app.StartAsync();
        Progress($"silo started in {Stopwatch.GetElapsedTime(starting).TotalSeconds:F1} s, API at {app.Urls.First()}");
        return app;
    }

    /// <summary>One run's phases, sharing the silo, the workload and the measuring tools.</summary>
    private sealed class Run(LinkingBenchmarkOptions options, WebApplication silo, NpgsqlDataSource monitor, LinkerMeter meter, TimeProvider time)
    {
        private readonly IGrainFactory _grains = silo.Services.GetRequiredService<IGrainFactory>();
        private readonly StoredLinks _stored = new(monitor, ServiceId);
        private readonly PostgresCpu _postgres = new(monitor);
        private readonly List<string> _loads = [];

        public async Task<LinkingResults> MeasureAsync()
        {
            var results = new LinkingResults();
            var workload = new LinkingWorkload(options.Seed, time.GetUtcNow(), options.Components, options.Investigations);
            var sustained = workload.Events("sustained", options.Events, LinkingWorkload.TargetedShare);
            var baseline = LinkingWorkload.Rekeyed(sustained, "baseline");
            var latency = workload.Events("latency", options.Rate * options.Duration, targetedShare: 1);
            var unclaimed = workload.Unclaimed("unclaimed", Math.Max(1, options.Events / 3));
            results.Load.Add(("start", LoadAverage()));

            await SetUpAsync(workload, results);
            results.Diagnostics = Diagnose(workload, sustained);

            // Baseline: the same drafts under other keys, acknowledged with the hand-off (event row +
            // stream message) but no linker consuming: the pulling agents are stopped.
            await SetAgentsAsync(running: false);
            var agents = await RunningAgentsAsync();
            Progress($"stream pulling agents stopped ({agents} running)");
            results.Baseline = await IngestPhaseAsync("baseline", baseline, waitForLinker: false);
            results.Load.Add(("after baseline", LoadAverage()));

            // The linker alone, draining what the baseline left queued.
            var pgBefore = await _postgres.SnapshotAsync();
            var activityBefore = await _stored.ActivityAsync();
            var drainCpu = CpuMeter.Start();
            var evaluatedBefore = meter.Evaluated;
            var reviewsBefore = meter.Reviews;
            var drainStarted = time.GetUtcNow();
            await SetAgentsAsync(running: true);
            Progress($"stream pulling agents started ({await RunningAgentsAsync()} running); draining {baseline.Length} queued events");
            var expected = baseline.Length - results.Baseline.Sample.Failures;
            await WaitForCounterAsync("baseline", expected, evaluatedBefore);
            var drainProcess = drainCpu.ProcessSeconds;
            var drainMachine = drainCpu.Describe();
            var drainPg = PostgresCpu.Between(pgBefore, await _postgres.SnapshotAsync());
            var drainActivity = await _stored.ActivityAsync() - activityBefore;
            var drainEvaluations = meter.Evaluated - evaluatedBefore;
            results.Reviews.Add(("drain", meter.Reviews.Requested - reviewsBefore.Requested, meter.Reviews.Run - reviewsBefore.Run));
            var drained = await ConfirmStoredAsync("baseline", baseline, expected);
            results.Drain = new DrainResult(baseline.Length, drainStarted, drained, drainEvaluations, drainProcess, drainPg, drainActivity, drainMachine);
            results.Load.Add(("after drain", LoadAverage()));

            // The sustained phase repeats the drain's drafts, timestamps included. Corroboration grains
            // remember the windows they reviewed, so without this they would skip every review the
            // drain ran; collected, they review the sustained phase's symptoms as they would new traffic.
            // The collection goes on after the call returns; the phase starts once it has ended, so
            // it does not pay for deactivating the drain's event grains.
            var management = _grains.GetGrain<IManagementGrain>(0);
            var activations = await management.GetTotalActivationCount();
            await management.ForceActivationCollection(TimeSpan.Zero);
            for (var before = activations; ; before = activations)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                if ((activations = await management.GetTotalActivationCount()) >= before)
                {
                    break;
                }
            }
            Progress($"idle activations collected, {activations} left (corroboration grains forget the windows they reviewed)");
            reviewsBefore = meter.Reviews;
            results.Sustained = await IngestPhaseAsync("sustained", sustained, waitForLinker: true);
            results.Reviews.Add(("sustained", meter.Reviews.Requested - reviewsBefore.Requested, meter.Reviews.Run - reviewsBefore.Run));
            results.Load.Add(("after sustained", LoadAverage()));
            // Corroboration reviews run one-way and can go on after the last event is evaluated: the
            // latency phase starts once none has started for three seconds, so it does not share the
            // machine with the sustained phase's follow-ups.
            var reviewsSettled = time.GetTimestamp();
            for (var (quiet, run) = (0, meter.Reviews.Run); quiet < 3; )
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                (quiet, run) = meter.Reviews.Run == run ? (quiet + 1, run) : (0, meter.Reviews.Run);
            }
            Progress($"corroboration reviews settled {Math.Max(0, time.GetElapsedTime(reviewsSettled).TotalSeconds - 3):0} s after the last evaluation");

            var beforeLatency = meter.Evaluated;
            results.Latency = await LatencyPhaseAsync(latency, warmUp: sustained);
            results.Load.Add(("after latency", LoadAverage()));
            // Above the linker's capacity the phase ends with a backlog: let it drain before the checks.
            await WaitForCounterAsync("latency", latency.Length - results.Latency.Failures, beforeLatency);

            // The pipeline's own cost: events no investigation can claim, ingested as the sustained
            // phase's are. Nothing is scored; what is left is the hand-off, the delivery, the linker's
            // reads and its one write per event, and the index following both writes.
            var countersBefore = await CountersAsync();
            results.Unclaimed = await IngestPhaseAsync("unclaimed", unclaimed, waitForLinker: true);
            var countersAfter = await CountersAsync();
            results.UnclaimedCandidates = countersAfter.Candidates - countersBefore.Candidates;
            results.Load.Add(("after unclaimed", LoadAverage()));

            foreach (var (phase, events) in new[] { ("baseline", baseline), ("sustained", sustained), ("latency", latency), ("unclaimed", unclaimed) })
            {
                results.Checks.Add(await CheckAsync(phase, events));
            }
            // The phases end when their last event was evaluated, by its own linker_checked_at.
            results.Drain = results.Drain with { Linked = results.Drain.Linked with { LastCheckedAt = results.Checks[0].LastCheckedAt } };
            results.Sustained = results.Sustained with { Linked = results.Sustained.Linked! with { LastCheckedAt = results.Checks[1].LastCheckedAt } };
            results.Unclaimed = results.Unclaimed with { Linked = results.Unclaimed.Linked! with { LastCheckedAt = results.Checks[3].LastCheckedAt } };
            results.Queues = await _stored.QueuesAsync();
            results.Counters = await CountersAsync();
            return results;
        }

        private async Task SetUpAsync(LinkingWorkload workload, LinkingResults results)
        {
            var setUp = Stopwatch.GetTimestamp();
            var snapshot = await _grains.GetGrain<ICatalogGrain>(0).ImportAsync(workload.Catalog, replace: true);
            Progress($"catalog version {snapshot.Version}: {snapshot.Components.Count} components");
            var investigations = workload.Investigations;
            var created = await Measurement.RunAsync(0, investigations.Count, options.Concurrency, async i =>
            {
                var investigation = await _grains.GetGrain<IInvestigationGrain>(investigations[i].Id).CreateAsync(investigations[i].Fields);
                if (investigation.Status != InvestigationStatus.Open)
                {
                    throw new InvalidOperationException($"Investigation {investigation.Id} is {investigation.Status}, expected open.");
                }
            });
            if (created.Failures > 0)
            {
                throw new InvalidOperationException($"{created.Failures} investigations could not be created; first: {created.FirstFailure}");
            }
            Progress($"{investigations.Count} investigations created; waiting for retro-linking of each");

            var pending = investigations.Select(i => i.Id).ToHashSet();
            var deadline = Stopwatch.GetTimestamp() + (long)(options.TimeoutSeconds * (double)Stopwatch.Frequency);
            while (pending.Count > 0)
            {
                var states = await Task.WhenAll(pending.Select(async id => (id, (await _grains.GetGrain<IInvestigationGrain>(id).GetLinkingKeyAsync()).Done)));
                pending.ExceptWith(states.Where(s => s.Done).Select(s => s.id));
                if (pending.Count == 0)
                {
                    break;
                }
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"{pending.Count} investigations were not retro-linked within {options.TimeoutSeconds} s.");
                }
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
            results.SetUpSeconds = Stopwatch.GetElapsedTime(setUp).TotalSeconds;
            Progress($"set-up done in {results.SetUpSeconds:F1} s: every investigation retro-linked");
        }

        /// <summary>
        /// What the linker's in-memory work costs per event, timed here on the same objects it uses:
        /// the registry's candidate lookup and the scorer over the candidates, and the candidate map
        /// rebuild (<see cref="LinkNames.For"/> over every investigation), which the registry repeats
        /// after every investigation change it reads.
        /// </summary>
        private Diagnostics Diagnose(LinkingWorkload workload, PlannedEvent[] sample)
        {
            var registry = silo.Services.GetRequiredService<InvestigationRegistry>();
            var linkerOptions = silo.Services.GetRequiredService<LinkerOptions>();
            var catalog = new ServiceCatalog(_grains.GetGrain<ICatalogGrain>(0).GetAsync().GetAwaiter().GetResult());
            var investigations = workload.Investigations.Select(i => new Investigation
            {
                Id = i.Id,
                Title = i.Fields.Title,
                ComponentAffected = i.Fields.ComponentAffected,
                ServiceAffected = i.Fields.ServiceAffected,
                DetectedAt = i.Fields.DetectedAt!.Value,
                StartedAt = i.Fields.StartedAt,
                Tags = i.Fields.Tags,
            }).ToList();

            var rebuilds = new List<double>();
            for (var round = 0; round < 7; round++)
            {
                var started = Stopwatch.GetTimestamp();
                var names = 0;
                foreach (var investigation in investigations)
                {
                    names += LinkNames.For(investigation, catalog).Count;
                }
                rebuilds.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                GC.KeepAlive(names);
            }

            var scorer = new LinkScorer(linkerOptions);
            var events = sample.Take(2_000).Select(e => new Event
            {
                Id = e.Id,
                Timestamp = e.Draft.Timestamp,
                Source = e.Draft.Source,
                EventType = e.Draft.EventType,
                Data = e.Draft.Data,
                Tags = e.Draft.Tags,
                SourceId = e.Draft.SourceId,
                Metadata = e.Draft.Metadata,
            }).ToList();
            registry.CandidatesFor(EventFacts.From(events[0], catalog), events[0].Tags, catalog); // builds the map once
            long candidates = 0;
            var scoring = Stopwatch.GetTimestamp();
            foreach (var ev in events)
            {
                var facts = EventFacts.From(ev, catalog);
                var found = registry.CandidatesFor(facts, ev.Tags, catalog);
                candidates += found.Count;
                foreach (var investigation in found)
                {
                    // As the linker scores: without reasons first, with them for the pairs it keeps.
                    scorer.AssessIfKept(investigation, ev, facts, catalog, null, always: false);
                }
            }
            var perEvent = Stopwatch.GetElapsedTime(scoring).TotalMilliseconds / events.Count;

            // A whole map rebuild, as the registry does it after reading any investigation change: a
            // catalog of another version makes CandidatesFor rebuild (the linker's next call rebuilds
            // it back for the real catalog, before any phase is measured).
            var snapshot = _grains.GetGrain<ICatalogGrain>(0).GetAsync().GetAwaiter().GetResult();
            var other = new ServiceCatalog(snapshot with { Version = snapshot.Version + 1 });
            var facts0 = EventFacts.From(events[0], catalog);
            var fullRebuilds = new List<double>();
            for (var round = 0; round < 7; round++)
            {
                var started = Stopwatch.GetTimestamp();
                registry.CandidatesFor(facts0, events[0].Tags, round % 2 == 0 ? other : catalog);
                fullRebuilds.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            var result = new Diagnostics(registry.Count, (double)candidates / events.Count, perEvent, Median(rebuilds), Median(fullRebuilds));
            Progress(string.Create(CultureInfo.InvariantCulture,
                $"diagnostics: registry holds {result.RegistryInvestigations} investigations; {result.CandidatesPerEvent:F1} candidates per event; "
                + $"lookup + scoring {result.ScoringMsPerEvent:F3} ms per event; candidate map names for every investigation {result.MapRebuildMs:F1} ms, whole map rebuild {result.FullRebuildMs:F1} ms"));
            return result;
        }

        /// <summary>Closed-loop ingest of <paramref name="events"/>; with <paramref name="waitForLinker"/>, then until each is evaluated.</summary>
        private async Task<IngestPhaseResult> IngestPhaseAsync(string phase, PlannedEvent[] events, bool waitForLinker)
        {
            Progress($"{phase}: ingesting {events.Length} events{(waitForLinker ? " with the linker on" : "")}");
            var evaluatedBefore = meter.Evaluated;
            var pgBefore = await _postgres.SnapshotAsync();
            var activityBefore = await _stored.ActivityAsync();
            var cpu = CpuMeter.Start();
            var startedAt = time.GetUtcNow();
            var sample = await Measurement.RunAsync(0, events.Length, options.Concurrency, i => IngestAsync(events[i]));
            var acknowledgedAt = time.GetUtcNow();
            var ackSeconds = (double)sample.WallTicks / Stopwatch.Frequency;
            var latency = LatencySummary.Of(sample.Latencies);
            Progress(string.Create(CultureInfo.InvariantCulture,
                $"{phase}: {events.Length} acknowledged in {ackSeconds:F1} s = {events.Length / ackSeconds:F0}/s, p50 {latency.P50:F2} ms, p99 {latency.P99:F2} ms, "
                + $"{sample.Failures} failed; linker evaluated {meter.Evaluated - evaluatedBefore} meanwhile; {cpu.Describe()}"));
            if (waitForLinker)
            {
                await WaitForCounterAsync(phase, events.Length - sample.Failures, evaluatedBefore);
            }
            var processSeconds = cpu.ProcessSeconds;
            var machine = cpu.Describe();
            var pgSeconds = PostgresCpu.Between(pgBefore, await _postgres.SnapshotAsync());
            var activity = await _stored.ActivityAsync() - activityBefore;
            var evaluations = meter.Evaluated - evaluatedBefore;
            var linked = waitForLinker ? await ConfirmStoredAsync(phase, events, events.Length - sample.Failures) : null;
            return new IngestPhaseResult(phase, sample, startedAt, acknowledgedAt, linked, evaluations, processSeconds, pgSeconds, activity, machine);
        }

        private async Task IngestAsync(PlannedEvent planned)
        {
            var result = await _grains.GetGrain<IEventGrain>(planned.Id).IngestAsync(planned.Draft);
            if (!result.Created)
            {
                throw new InvalidOperationException($"Event {result.Event.Id} already existed: the workload repeated a source id.");
            }
        }

        /// <summary>
        /// Waits until the linker has probably handled every event of the phase: the linker grains of
        /// this silo (the only one) have counted <paramref name="expected"/> evaluations since
        /// <paramref name="evaluatedBefore"/>, and the stream queue is empty. The counter costs nothing
        /// to read but counts redeliveries too (under a backlog older than the stream's visibility
        /// timeout there are many), so once it is reached the queue is counted every half second
        /// until no message is left; <see cref="ConfirmStoredAsync"/> then checks storage.
        /// </summary>
        private async Task WaitForCounterAsync(string phase, int expected, long evaluatedBefore)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(options.TimeoutSeconds * (double)Stopwatch.Frequency);
            var lastReport = Stopwatch.GetTimestamp();
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var reached = meter.Evaluated - evaluatedBefore >= expected;
                var report = Stopwatch.GetElapsedTime(lastReport) > TimeSpan.FromSeconds(5);
                if (reached || report)
                {
                    var (queued, dead) = await _stored.QueuesAsync();
                    if (reached && queued == 0)
                    {
                        return;
                    }
                    if (report)
                    {
                        Progress(string.Create(CultureInfo.InvariantCulture,
                            $"{phase}: linker evaluations {meter.Evaluated - evaluatedBefore} (of {expected} events; redeliveries count again); {queued} stream messages queued, {dead} dead letters; load {LoadAverage()}"));
                        lastReport = Stopwatch.GetTimestamp();
                    }
                }
                await Task.Delay(TimeSpan.FromMilliseconds(reached ? 500 : 50));
            }
        }

        /// <summary>
        /// Reads storage until <paramref name="expected"/> events of the phase are stored as evaluated
        /// (or the timeout passes). When the last one was evaluated is filled in by the checks at the
        /// end, from the events' own <c>linker_checked_at</c>.
        /// </summary>
        private async Task<LinkingProgress> ConfirmStoredAsync(string phase, PlannedEvent[] events, int expected)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(options.TimeoutSeconds * (double)Stopwatch.Frequency);
            var ids = events.Select(e => e.Id).ToArray();
            while (true)
            {
                var progress = await _stored.ProgressAsync(ids);
                if (progress.Checked >= expected)
                {
                    Progress($"{phase}: all {progress.Checked} stored as evaluated");
                    return progress;
                }
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    Progress($"{phase}: TIMEOUT after {options.TimeoutSeconds} s with {expected - progress.Checked} events not evaluated");
                    return progress;
                }
                Progress($"{phase}: {progress.Checked} of {expected} stored as evaluated; looking again in 5 s");
                await Task.Delay(TimeSpan.FromSeconds(5));
            }
        }

        /// <summary>
        /// Events that will link, at a steady rate (each starts at its slot, whatever the others
        /// take). With <c>--watch push</c> (the default), every targeted investigation's live stream
        /// is open, and each event waits for its link to be pushed there, then is read over HTTP
        /// until the link shows (one GET, as a rule). With <c>--watch poll</c>, each event is read over
        /// HTTP every <see cref="PollInterval"/> from its acknowledgement until a link with status
        /// <c>linked</c> shows.
        /// </summary>
        private async Task<LatencyPhaseResult> LatencyPhaseAsync(PlannedEvent[] events, PlannedEvent[] warmUp)
        {
            using var http = new HttpClient(new SocketsHttpHandler
            {
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                MaxConnectionsPerServer = PollConcurrency,
            })
            {
                BaseAddress = new Uri(silo.Urls.First()),
            };
            var push = options.Watch == "push";
            using var gate = new SemaphoreSlim(PollConcurrency);
            var lags = new ConcurrentBag<double>();
            var lowerBounds = new ConcurrentBag<double>();
            var pushLags = new ConcurrentBag<double>();
            var acks = new ConcurrentBag<double>();
            var gets = 0L;
            var missing = 0;
            var failures = 0;
            string? firstFailure = null;
            await using var pushes = push
                ? await LinkPushes.OpenAsync(http.BaseAddress, [.. events.Select(e => e.Target ?? throw new InvalidOperationException("A latency event without a target.")).Distinct()])
                : null;
            if (pushes is not null)
            {
                Progress($"latency: watching {pushes.Streams} investigations' live streams");
            }

            // Whether the event shows its link, and when the GET was sent (once a slot was free).
            async Task<(bool Linked, long Asked)> ReadAsync(Guid id)
            {
                await gate.WaitAsync();
                try
                {
                    Interlocked.Increment(ref gets);
                    var asked = Stopwatch.GetTimestamp();
                    return (await ShowsLinkAsync(http, id), asked);
                }
                finally
                {
                    gate.Release();
                }
            }

            async Task WatchAsync(PlannedEvent planned)
            {
                var pushed = pushes?.ExpectAsync(planned.Id, planned.Target!.Value);
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    await IngestAsync(planned);
                }
                catch (Exception e)
                {
                    if (Interlocked.Increment(ref failures) == 1)
                    {
                        firstFailure = $"{e.GetType().Name}: {e.Message}";
                    }
                    return;
                }
                var acknowledged = Stopwatch.GetTimestamp();
                acks.Add(Stopwatch.GetElapsedTime(sent, acknowledged).TotalMilliseconds);
                if (pushed is not null)
                {
                    try
                    {
                        var arrived = await pushed.WaitAsync(LinkTimeout);
                        // A push that beat the acknowledgement back counts as 0.
                        pushLags.Add(Math.Max(0, Stopwatch.GetElapsedTime(acknowledged, arrived).TotalMilliseconds));
                    }
                    catch (TimeoutException)
                    {
                        Interlocked.Increment(ref missing);
                        return;
                    }
                }
                // The link became visible after the last GET that did not show it was sent, and before
                // the response that shows it arrived: both ends are kept.
                var lastMiss = acknowledged;
                while (Stopwatch.GetElapsedTime(acknowledged) < LinkTimeout)
                {
                    var (linked, asked) = await ReadAsync(planned.Id);
                    if (linked)
                    {
                        lags.Add(Stopwatch.GetElapsedTime(acknowledged).TotalMilliseconds);
                        if (pushed is null)
                        {
                            // Pushed, the read comes after the push: no lower bound of its own.
                            lowerBounds.Add(Stopwatch.GetElapsedTime(acknowledged, lastMiss).TotalMilliseconds);
                        }
                        return;
                    }
                    lastMiss = asked;
                    await Task.Delay(PollInterval);
                }
                Interlocked.Increment(ref missing);
            }

            // No earlier phase reads over HTTP: a silo that serves an API has its read path compiled
            // and tiered up long before, this one would do it during the phase (2,140 methods in
            // 15 s, nearly all Kestrel's and HttpClient's). Read the sustained phase's events first,
            // as the phase will (the same client, as many in flight), for a few seconds, then let the
            // background compilation finish.
            var warmed = Stopwatch.GetTimestamp();
            var reads = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, PollConcurrency), async (worker, _) =>
            {
                for (var n = worker; Stopwatch.GetElapsedTime(warmed) < WarmUp; n += PollConcurrency)
                {
                    await ShowsLinkAsync(http, warmUp[n % warmUp.Length].Id);
                    Interlocked.Increment(ref reads);
                }
            });
            await Task.Delay(TimeSpan.FromSeconds(2));
            Progress($"latency: read path warmed with {reads} GETs in {WarmUp.TotalSeconds:F0} s");

            Progress($"latency: {events.Length} events that will link, {options.Rate}/s for {options.Duration} s");
            var evaluatedBefore = meter.Evaluated;
            meter.Record = true;
            var cpu = CpuMeter.Start();
            var pending = new List<Task>(events.Length);
            var started = Stopwatch.GetTimestamp();
            for (var n = 0; n < events.Length; n++)
            {
                var due = started + (long)(n * (double)Stopwatch.Frequency / options.Rate);
                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
                }
                pending.Add(WatchAsync(events[n]));
            }
            var issued = Stopwatch.GetElapsedTime(started).TotalSeconds;
            await Task.WhenAll(pending);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
            // The histogram is recorded once the linker has finished with the event, a little after
            // the link shows on it: give the last ones a moment.
            var settle = Stopwatch.GetTimestamp();
            while (meter.Evaluated - evaluatedBefore < events.Length && Stopwatch.GetElapsedTime(settle) < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(50);
            }
            meter.Record = false;
            var machine = cpu.Describe();
            var result = new LatencyPhaseResult(events.Length, events.Length / issued, elapsed, [.. lags], [.. lowerBounds], [.. acks], meter.Latencies, meter.ByKind(), gets, missing, failures, firstFailure, machine)
            {
                Watch = options.Watch,
                Pushed = [.. pushLags],
                Streams = pushes?.Streams ?? 0,
                PushMessages = pushes?.Messages ?? 0,
                Resyncs = pushes?.Resyncs ?? 0,
                FailedStreams = pushes?.Failed ?? 0,
            };
            var pushedSummary = push
                ? string.Create(CultureInfo.InvariantCulture, $"pushed p50 {Percentile(result.Pushed, 50):F0} ms, p99 {Percentile(result.Pushed, 99):F0} ms, {result.Resyncs} resyncs, {result.FailedStreams} streams failed; ")
                : "";
            Progress(string.Create(CultureInfo.InvariantCulture,
                $"latency ({options.Watch}): linked visible for {lags.Count}, p50 {Percentile(result.Visible, 50):F0} ms, p99 {Percentile(result.Visible, 99):F0} ms; {pushedSummary}"
                + $"{missing} not linked within {LinkTimeout.TotalSeconds:F0} s, {failures} failed; {gets} GETs; {machine}"));
            return result;
        }

        private static async Task<bool> ShowsLinkAsync(HttpClient http, Guid id)
        {
            using var response = await http.GetAsync($"/api/events/{id}");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"GET /api/events/{id} answered {(int)response.StatusCode}, expected 200.");
            }
            await using var body = await response.Content.ReadAsStreamAsync();
            using var json = await JsonDocument.ParseAsync(body);
            return json.RootElement.TryGetProperty("links", out var links) && links.ValueKind == JsonValueKind.Array
                && links.EnumerateArray().Any(l => l.TryGetProperty("status", out var status) && status.GetString() == "linked");
        }

        /// <summary>The phase's stored events against the generator's intent.</summary>
        private async Task<PhaseCheck> CheckAsync(string phase, PlannedEvent[] events)
        {
            var stored = await _stored.EventsAsync(phase);
            var check = new PhaseCheck(phase, events.Length);
            foreach (var planned in events)
            {
                if (!stored.TryGetValue(planned.Draft.SourceId, out var ev))
                {
                    check.Missing++;
                    continue;
                }
                check.Stored++;
                if (ev.CheckedAt is { } checkedAt)
                {
                    check.Checked++;
                    check.LastCheckedAt = check.LastCheckedAt is { } last && last > checkedAt ? last : checkedAt;
                }
                check.Pairs += ev.InvestigationIds.Count;
                check.Suggestions += ev.Suggestions;
                check.StoredBytes += ev.StoredBytes;
                if (ev.InvestigationIds.Count > 0)
                {
                    check.Linked++;
                }
                if (planned.Target is { } target)
                {
                    check.Targeted++;
                    check.TargetedLinkedToTarget += ev.InvestigationIds.Contains(target) ? 1 : 0;
                }
                else if (ev.InvestigationIds.Count > 0)
                {
                    check.NoiseLinked++;
                }
            }
            Progress($"check {phase}: {check.Describe()}");
            return check;
        }

        private async Task<LinkerCounters> CountersAsync()
        {
            var counters = await Task.WhenAll(Enumerable.Range(0, LinkerStreams.Partitions).Select(p =>
                _grains.GetGrain<ILinkerGrain>(p.ToString(CultureInfo.InvariantCulture)).GetCountersAsync()));
            return new LinkerCounters(counters.Sum(c => c.Events), counters.Sum(c => c.Candidates), counters.Sum(c => c.Linked), counters.Sum(c => c.Suggested));
        }

        private async Task SetAgentsAsync(bool running)
        {
            var command = running ? PersistentStreamProviderCommand.StartAgents : PersistentStreamProviderCommand.StopAgents;
            await _grains.GetGrain<IManagementGrain>(0).SendControlCommandToProvider<PersistentStreamProvider>(
                StreamRegistration.ProviderName, (int)command, null!);
        }

        private async Task<int> RunningAgentsAsync()
        {
            var answers = await _grains.GetGrain<IManagementGrain>(0).SendControlCommandToProvider<PersistentStreamProvider>(
                StreamRegistration.ProviderName, (int)PersistentStreamProviderCommand.GetNumberRunningAgents, null!);
            return answers.Sum(a => Convert.ToInt32(a, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The 1-, 5- and 15-minute load averages, from /proc/loadavg.</summary>
    internal static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    internal static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    private static double Median(IReadOnlyList<double> values) => Percentile(values, 50);


    private static void Progress(string message) => FoundationBenchmark.Progress("linking: " + message);
}
