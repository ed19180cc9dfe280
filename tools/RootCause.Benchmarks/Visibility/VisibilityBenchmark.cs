using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Search;

namespace RootCause.Benchmarks.Visibility;

/// <summary>
/// "A change is searchable on every silo within 1 s (p99) under normal load": two silos on one
/// database, a steady stream of writes through the first silo's grains (new investigations, edits,
/// event ingests, links), and for every write the time from its acknowledgement until each silo's
/// search index shows that version. The waits use the index's own read-your-writes signal, which
/// fires after the refresh that makes the document searchable.
/// </summary>
public static class VisibilityBenchmark
{
    public const double AimP99Ms = 1000;

    public const string Usage = """
        usage: RootCause.Benchmarks visibility --connection <server connection string> [options]
          --writes N        writes to measure (default 3000)
          --rate N          writes per second, steady (default 200)
          --keep            keep the benchmark database
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        string? connection = null;
        int writes = 3000, rate = 200;
        var keep = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--connection": connection = args[++i]; break;
                case "--writes": writes = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rate": rate = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--keep": keep = true; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}\n{Usage}");
                    return 2;
            }
        }
        if (connection is null || writes < 1 || rate < 1)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var time = TimeProvider.System;
        var database = await BenchDatabase.CreateAsync(connection, "", time);
        var indexRoot = Path.Combine(Path.GetTempPath(), "rootcause-bench-visibility-" + database.Name);
        var silos = new List<WebApplication>();
        try
        {
            var clusterId = "vis-" + Guid.NewGuid().ToString("N")[..8];
            for (var i = 0; i < 2; i++)
            {
                var app = BenchSilo.Build(database.ConnectionString, clusterId, Path.Combine(indexRoot, i.ToString(CultureInfo.InvariantCulture)));
                await app.StartAsync();
                silos.Add(app);
            }
            Console.Error.WriteLine($"[visibility] two silos up on {database.Name}; {writes} writes at {rate}/s");
            var grains = silos[0].Services.GetRequiredService<IGrainFactory>();
            var indexes = silos.Select(s => s.Services.GetRequiredService<ISearchIndex>()).ToArray();

            var lags = new[] { new List<double>(), new List<double>() };
            var invisible = new int[2];
            var investigations = new List<Guid>();
            var pending = new List<Task>();
            var interval = TimeSpan.FromSeconds(1.0 / rate);
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    await Task.Delay(1000);
                    Console.Error.WriteLine("[visibility] " + string.Join("  ", indexes.Select((x, i) =>
                        $"silo {i}: {x.Status.State} applied {x.Status.ChangesApplied} last {x.Status.LastAppliedAt:HH:mm:ss.fff}")));
                }
            });
            var started = Stopwatch.GetTimestamp();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            for (var n = 0; n < writes; n++)
            {
                // Steady rate: each write starts at its slot, whatever the previous ones took.
                var due = started + (long)(n * interval.TotalSeconds * Stopwatch.Frequency);
                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
                }
                pending.Add(WriteAndWatchAsync(n));
            }
            await Task.WhenAll(pending);
            var elapsed = Stopwatch.GetElapsedTime(started);
            await sampling.CancelAsync();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

            async Task WriteAndWatchAsync(int n)
            {
                var (kind, id, version) = await WriteAsync(n);
                var acknowledged = Stopwatch.GetTimestamp();
                var watches = indexes.Select(async (index, s) =>
                {
                    var visible = await index.WaitForVisibleAsync(kind, id, version, TimeSpan.FromSeconds(30));
                    var lag = Stopwatch.GetElapsedTime(acknowledged).TotalMilliseconds;
                    lock (lags)
                    {
                        if (visible)
                        {
                            lags[s].Add(lag);
                        }
                        else
                        {
                            invisible[s]++;
                        }
                    }
                });
                await Task.WhenAll(watches);
            }

            async Task<(IndexedKind, Guid, long)> WriteAsync(int n)
            {
                bool haveInvestigations;
                lock (investigations)
                {
                    haveInvestigations = investigations.Count > 0;
                }
                switch (n % 4 == 3 && !haveInvestigations ? 1 : n % 4)
                {
                    case 0:
                    {
                        var id = Guid.NewGuid();
                        var created = await grains.GetGrain<IInvestigationGrain>(id).CreateAsync(new InvestigationFields
                        {
                            Title = $"Checkout latency above SLO #{n}",
                            Description = "p99 of POST /checkout above 2 s since the last deployment",
                            ComponentAffected = $"component-{n % 50}",
                            ImpactSeverity = (ImpactSeverity)(n % 4),
                            Tags = ["latency", "deploy"],
                        });
                        lock (investigations)
                        {
                            investigations.Add(id);
                        }
                        return (IndexedKind.Investigation, id, created.Version);
                    }
                    case 1:
                    case 2:
                    {
                        var draft = new EventDraft
                        {
                            Source = EventSource.Logs,
                            SourceId = $"vis-{n}",
                            EventType = "error_spike",
                            Timestamp = time.GetUtcNow().AddMinutes(-1),
                            Severity = EventSeverity.High,
                            Data = $$"""{"component":"component-{{n % 50}}","message":"Timed out waiting for a connection from the pool","count":{{n}}}""",
                        };
                        var result = await grains.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft);
                        return (IndexedKind.Event, result.Event.Id, result.Event.Version);
                    }
                    default:
                    {
                        Guid target;
                        lock (investigations)
                        {
                            target = investigations[Random.Shared.Next(investigations.Count)];
                        }
                        var grain = grains.GetGrain<IInvestigationGrain>(target);
                        for (var attempt = 0; ; attempt++)
                        {
                            var current = (await grain.GetAsync())!;
                            try
                            {
                                var updated = await grain.UpdateAsync(new InvestigationFields
                                {
                                    Title = current.Title,
                                    Description = current.Description + " Update " + n,
                                    Status = current.Status,
                                    ImpactSeverity = current.ImpactSeverity,
                                    Priority = current.Priority,
                                    DetectedAt = current.DetectedAt,
                                    ComponentAffected = current.ComponentAffected,
                                    Tags = current.Tags,
                                }, current.Version);
                                return (IndexedKind.Investigation, target, updated.Version);
                            }
                            catch (RootCause.Common.VersionConflictException) when (attempt < 100)
                            {
                            }
                        }
                    }
                }
            }

            Print(writes, rate, elapsed, cpu, lags, invisible);
            return invisible.Sum() == 0 && lags.All(l => Percentile(l, 99) <= AimP99Ms) ? 0 : 1;
        }
        finally
        {
            foreach (var silo in Enumerable.Reverse(silos))
            {
                await silo.StopAsync();
                await silo.DisposeAsync();
            }
            try
            {
                Directory.Delete(indexRoot, recursive: true);
            }
            catch (IOException)
            {
            }
            if (!keep)
            {
                await database.DropAsync();
            }
        }
    }

    private static void Print(int writes, int rate, TimeSpan elapsed, TimeSpan cpu, List<double>[] lags, int[] invisible)
    {
        var o = Console.Out;
        o.WriteLine("### Change visibility in the search index (two silos, one database)");
        o.WriteLine();
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{writes} writes through silo A at a steady {rate}/s (¼ new investigations, ½ event ingests, ¼ investigation edits), run took {elapsed.TotalSeconds:F1} s, process CPU {cpu.TotalSeconds / elapsed.TotalSeconds * 100:F0} % of one core."));
        o.WriteLine("Lag: from the write's acknowledgement to the silo's index showing that version.");
        o.WriteLine();
        o.WriteLine("| index | visible | p50 ms | p90 ms | p99 ms | max ms | aim p99 ≤ 1000 ms |");
        o.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        for (var s = 0; s < lags.Length; s++)
        {
            var l = lags[s];
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| silo {(s == 0 ? "A (the writer)" : "B")} | {l.Count}/{l.Count + invisible[s]} | {Percentile(l, 50):F1} | {Percentile(l, 90):F1} | {Percentile(l, 99):F1} | {(l.Count == 0 ? 0 : l.Max()):F1} | {(invisible[s] == 0 && Percentile(l, 99) <= AimP99Ms ? "met" : "not met")} |"));
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

}
