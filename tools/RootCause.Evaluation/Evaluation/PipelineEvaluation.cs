using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Npgsql;
using RootCause.Database;
using RootCause.Evaluation.Corpus;

namespace RootCause.Evaluation.Evaluation;

/// <summary>The silo does not (yet) expose what the linker decided, so the pipeline cannot be measured.</summary>
public sealed class PipelineUnavailableException(string message) : Exception(message);

/// <summary>
/// The real thing: one complete silo (Kestrel, Orleans, migrations, the linker) in this process on
/// its own fresh database, fed over HTTP as connectors and responders would feed it. Scenario i is
/// anchored with detection at now − 6 h − i × 30 days, so scenarios never share a time window and
/// every event (at most 4 h after detection) lies in the past. Within a scenario the replay follows
/// the story's clock: events dated before an investigation was opened are ingested first, then the
/// investigation is created, then the rest; the earlier incident is resolved when its story says.
/// After each scenario it waits until linking has settled: every event has
/// <c>linker_checked_at</c>, every investigation <c>retro_linked_at</c>, and nothing changed for 1 s.
/// </summary>
public static class PipelineEvaluation
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    public static async Task<EvaluationResults> RunAsync(IReadOnlyList<CorpusScenario> scenarios, CorpusCatalog catalog, EvaluationOptions options)
    {
        var time = TimeProvider.System;
        var started = time.GetTimestamp();
        var databaseName = string.Create(CultureInfo.InvariantCulture, $"evaluation_{time.GetUtcNow():yyyyMMdd_HHmmss}_{Random.Shared.Next():x8}");
        var connectionString = new NpgsqlConnectionStringBuilder(options.ConnectionString) { Database = databaseName }.ConnectionString;
        if (!await DatabaseMigrator.EnsureDatabaseExistsAsync(connectionString))
        {
            throw new InvalidOperationException($"Database {databaseName} already exists; refusing to evaluate into it.");
        }
        Progress($"database {databaseName} created");
        WebApplication? silo = null;
        try
        {
            silo = await StartSiloAsync(connectionString);
            using var http = new HttpClient { BaseAddress = new Uri(silo.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };
            await SendAsync(http, HttpMethod.Post, "/api/catalog/import?replace=true", catalog.Json);
            Progress($"catalog imported: {catalog.Components.Count} components");

            var now = time.GetUtcNow();
            now = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);
            var replays = new List<Replay>();
            for (var i = 0; i < scenarios.Count; i++)
            {
                var replay = new Replay(scenarios[i], now - TimeSpan.FromHours(6) - TimeSpan.FromDays(30 * i));
                await replay.RunAsync(http);
                await replay.SettleAsync(http, options.SettleTimeout, time);
                replays.Add(replay);
                Progress($"{i + 1}/{scenarios.Count} {replay.Scenario.Id}: {replay.Scenario.Events.Count} events replayed and settled");
            }

            // Read every outcome once more at the end: a later scenario may still have touched an earlier one's events.
            var investigations = replays.SelectMany(r => r.InvestigationIds.Select(kv => (kv.Value, Key: EvaluationResults.InvestigationKey(r.Scenario, kv.Key))))
                .ToDictionary(x => x.Value, x => x.Key);
            var outcomes = new List<PairOutcome>();
            foreach (var replay in replays)
            {
                outcomes.AddRange(await replay.OutcomesAsync(http, investigations));
            }
            return new EvaluationResults("pipeline", time.GetUtcNow(), time.GetElapsedTime(started), scenarios, outcomes,
                ["Pipeline mode: one in-process silo on a fresh database, every scenario replayed over HTTP in story order; outcomes read from each event's `links`."]);
        }
        finally
        {
            if (silo is not null)
            {
                await silo.StopAsync();
                await silo.DisposeAsync();
            }
            if (options.Keep)
            {
                Progress($"kept database {databaseName}");
            }
            else
            {
                await DropAsync(options.ConnectionString!, databaseName);
                Progress($"database {databaseName} dropped");
            }
        }
    }

    /// <summary>One scenario's replay: the ids the silo gave its events and investigations.</summary>
    private sealed class Replay(CorpusScenario scenario, DateTimeOffset detection)
    {
        public CorpusScenario Scenario { get; } = scenario;

        public Dictionary<string, Guid> EventIds { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Guid> InvestigationIds { get; } = new(StringComparer.Ordinal);

        public async Task RunAsync(HttpClient http)
        {
            // The story's clock: (time, order, action). Opening comes before an event at the same second, resolving after.
            var steps = new List<(long At, int Order, Func<Task> Run)>();
            foreach (var e in Scenario.Events)
            {
                steps.Add((e.At, 1, async () =>
                {
                    var stored = await SendAsync(http, HttpMethod.Post, "/api/events", Anchoring.EventRequestBody(e, detection));
                    if (EventIds.Count == 0 && !stored.ContainsKey("linker_checked_at"))
                    {
                        throw new PipelineUnavailableException(
                            "an ingested event has no `linker_checked_at` field, so this silo does not report what the linker decided " +
                            "(the event fields `linker_checked_at` and `links` and the investigation field `retro_linked_at` come with the linker). " +
                            "Run `scripts/evaluate.sh --mode scorer` for the scorer's numbers meanwhile.");
                    }
                    EventIds[e.Key] = Guid.Parse(stored["id"]!.GetValue<string>());
                }));
            }
            foreach (var investigation in Scenario.Investigations)
            {
                steps.Add((investigation.OpenedAt, 0, async () =>
                {
                    var created = await SendAsync(http, HttpMethod.Post, "/api/investigations", Anchoring.InvestigationRequestBody(investigation, detection, asOpened: true));
                    if (!created.ContainsKey("retro_linked_at"))
                    {
                        throw new PipelineUnavailableException("a created investigation has no `retro_linked_at` field, so this silo does not report when retro-linking has run.");
                    }
                    InvestigationIds[investigation.Key] = Guid.Parse(created["id"]!.GetValue<string>());
                }));
                if (investigation.ResolvedAt is { } resolved)
                {
                    steps.Add((resolved, 2, async () =>
                    {
                        var id = InvestigationIds[investigation.Key];
                        var current = await SendAsync(http, HttpMethod.Get, $"/api/investigations/{id}", null);
                        var version = current["version"]!.GetValue<long>();
                        await SendAsync(http, HttpMethod.Put, $"/api/investigations/{id}", Anchoring.InvestigationRequestBody(investigation, detection, asOpened: false), version);
                    }));
                }
            }
            foreach (var step in steps.OrderBy(s => s.At).ThenBy(s => s.Order))
            {
                await step.Run();
            }
        }

        /// <summary>Waits until every event has been checked, every investigation retro-linked, and nothing has changed for a second.</summary>
        public async Task SettleAsync(HttpClient http, TimeSpan timeout, TimeProvider time)
        {
            var deadline = time.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            string? previous = null;
            var stableSince = time.GetTimestamp();
            while (true)
            {
                var (state, pending) = await SnapshotAsync(http);
                if (state != previous)
                {
                    previous = state;
                    stableSince = time.GetTimestamp();
                }
                else if (pending == 0 && time.GetElapsedTime(stableSince) >= Quiet)
                {
                    return;
                }
                if (time.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"{Scenario.Id}: linking did not settle within {timeout.TotalSeconds:F0} s ({pending} events or investigations still unchecked).");
                }
                await Task.Delay(TimeSpan.FromMilliseconds(200), time);
            }
        }

        private async Task<(string State, int Pending)> SnapshotAsync(HttpClient http)
        {
            var state = new StringBuilder();
            var pending = 0;
            foreach (var (key, id) in InvestigationIds.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                var investigation = await SendAsync(http, HttpMethod.Get, $"/api/investigations/{id}", null);
                var retro = investigation["retro_linked_at"]?.ToJsonString() ?? "null";
                pending += retro == "null" ? 1 : 0;
                state.Append(key).Append(retro).Append(investigation["version"]?.ToJsonString()).Append('\n');
            }
            var events = await Task.WhenAll(EventIds.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Chunk(Math.Max(1, EventIds.Count / 8 + 1))
                .Select(async chunk =>
                {
                    var part = new StringBuilder();
                    var unchecked_ = 0;
                    foreach (var (key, id) in chunk)
                    {
                        var ev = await SendAsync(http, HttpMethod.Get, $"/api/events/{id}", null);
                        var checkedAt = ev["linker_checked_at"]?.ToJsonString() ?? "null";
                        unchecked_ += checkedAt == "null" ? 1 : 0;
                        part.Append(key).Append(checkedAt).Append(ev["links"]?.ToJsonString()).Append('\n');
                    }
                    return (Text: part.ToString(), Pending: unchecked_);
                }));
            foreach (var (text, count) in events)
            {
                state.Append(text);
                pending += count;
            }
            return (state.ToString(), pending);
        }

        public async Task<IReadOnlyList<PairOutcome>> OutcomesAsync(HttpClient http, IReadOnlyDictionary<Guid, string> investigations)
        {
            var outcomes = new List<PairOutcome>();
            foreach (var e in Scenario.Events)
            {
                var stored = await SendAsync(http, HttpMethod.Get, $"/api/events/{EventIds[e.Key]}", null);
                foreach (var link in stored["links"]?.AsArray() ?? [])
                {
                    if (link is null)
                    {
                        continue;
                    }
                    var investigationId = Guid.Parse(link["investigation_id"]!.GetValue<string>());
                    var investigation = investigations.GetValueOrDefault(investigationId) ?? "unknown/" + investigationId.ToString("N");
                    outcomes.Add(new PairOutcome(Scenario.Id, e.Key, e.Source, investigation,
                        link["status"]?.GetValue<string>() ?? LinkStatus.Unlinked, link["confidence"]?.GetValue<double>() ?? 0));
                }
            }
            return outcomes;
        }
    }

    private static async Task<JsonObject> SendAsync(HttpClient http, HttpMethod method, string path, string? body, long? ifMatch = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        if (ifMatch is { } version)
        {
            request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{version.ToString(CultureInfo.InvariantCulture)}\""));
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode}: {text}");
        }
        return JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException($"{method} {path} did not answer a JSON object.");
    }

    private static async Task<WebApplication> StartSiloAsync(string connectionString)
    {
        var app = Benchmarks.BenchSilo.Build(connectionString, $"evaluation-{Guid.NewGuid().ToString("N")[..8]}", serviceId: "rootcause");
        await app.StartAsync();
        Progress($"silo started, API at {app.Urls.First()}");
        return app;
    }

    private static async Task DropAsync(string serverConnectionString, string name)
    {
        var maintenance = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    private static void Progress(string message) => Console.Error.WriteLine($"[evaluate] {message}");
}
