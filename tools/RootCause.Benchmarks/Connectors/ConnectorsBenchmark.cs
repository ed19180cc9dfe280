using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using LibGit2Sharp;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Connectors;
using RootCause.Connectors.Git;
using RootCause.Connectors.GitHub;
using RootCause.Events;

namespace RootCause.Benchmarks.Connectors;

/// <summary>
/// "Each connector parses and ingests 100 events with p99 under 50 ms": one silo on a fresh
/// database; for each connector 100 events, one at a time, each timed from the request (or the
/// commit's turn) until it is ingested, i.e. until <see cref="IEventGrain.IngestAsync"/> returned
/// (durable and handed to the linker's stream). Webhooks go over real HTTP with real signature
/// checks. The baseline row is the floor all of them share: IngestAsync of a ready-made draft.
/// </summary>
public static partial class ConnectorsBenchmark
{
    public const double AimP99Ms = 50;
    private const string Secret = "bench-webhook-secret";

    public const string Usage = """
        usage: RootCause.Benchmarks connectors --connection <server connection string> [options]
          --events N        events per connector (default 100)
          --keep            keep the benchmark database
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        string? connection = null;
        var events = 100;
        var keep = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--connection": connection = args[++i]; break;
                case "--events": events = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--keep": keep = true; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}\n{Usage}");
                    return 2;
            }
        }
        if (connection is null || events < 1)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        Environment.SetEnvironmentVariable("ROOTCAUSE_BENCH_WEBHOOK_SECRET", Secret);
        var database = await BenchDatabase.CreateAsync(connection, "", TimeProvider.System);
        var repositoryPath = Path.Combine(Path.GetTempPath(), "rootcause-bench-git-" + database.Name);
        var app = BenchSilo.Build(database.ConnectionString, $"bench-{Guid.NewGuid():N}",
            Path.Combine(Path.GetTempPath(), "rootcause-bench-connectors-" + database.Name));
        try
        {
            await app.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            await grains.GetGrain<IConnectorGrain>("github").PutAsync(new ConnectorConfig { Kind = ConnectorKind.Github, Secret = "env:ROOTCAUSE_BENCH_WEBHOOK_SECRET" });
            await grains.GetGrain<IConnectorGrain>("gitlab").PutAsync(new ConnectorConfig { Kind = ConnectorKind.Gitlab, Secret = "env:ROOTCAUSE_BENCH_WEBHOOK_SECRET" });
            await grains.GetGrain<IConnectorGrain>("logs").PutAsync(new ConnectorConfig
            {
                Kind = ConnectorKind.Logs, Input = LogsInput.Push, Secret = "env:ROOTCAUSE_BENCH_WEBHOOK_SECRET", KeepErrors = LogErrorsKept.All,
            });
            Console.Error.WriteLine($"[connectors] silo up on {database.Name}; {events} events per connector");

            var rows = new List<(string Name, string How, LatencySummary Latency)>();
            var run = Guid.NewGuid().ToString("N")[..8];
            var start = DateTimeOffset.UtcNow.AddDays(-1);

            rows.Add(("baseline: IngestAsync", "a ready-made draft, grain call only", await TimeAsync(events, async i =>
            {
                var draft = new EventDraft
                {
                    Source = EventSource.Manual, SourceId = $"bench-{run}-{i}", EventType = "note", Timestamp = start,
                    Data = """{"text":"baseline"}""",
                };
                await grains.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft);
            })));
            rows.Add(("github push", "POST /api/receivers/github, 1 commit per delivery", await TimeAsync(events, i =>
                PostAsync(http, "/api/receivers/github", "X-GitHub-Event", "push", GitHubPush(run, i, start), github: true))));
            rows.Add(("github workflow_job", "POST /api/receivers/github, a failed job", await TimeAsync(events, i =>
                PostAsync(http, "/api/receivers/github", "X-GitHub-Event", "workflow_job", GitHubJob(run, i, start), github: true))));
            rows.Add(("gitlab push", "POST /api/receivers/gitlab, 1 commit per hook", await TimeAsync(events, i =>
                PostAsync(http, "/api/receivers/gitlab", "X-Gitlab-Event", "Push Hook", GitLabPush(run, i, start), github: false))));
            rows.Add(("gitlab pipeline", "POST /api/receivers/gitlab, a failed pipeline", await TimeAsync(events, i =>
                PostAsync(http, "/api/receivers/gitlab", "X-Gitlab-Event", "Pipeline Hook", GitLabPipeline(run, i, start), github: false))));
            rows.Add(("logs push", "POST /api/receivers/logs/logs, 1 ECS error line per batch: parse, spike detector, log_error", await TimeAsync(events, i =>
                PostLogsAsync(http, "/api/receivers/logs/logs", LogsLine(run, i, start)))));

            // The poller: a repository of N commits, read once (as a sync reads a batch), then each
            // commit drafted and ingested the way the connector does; the read's share per commit is added.
            var source = WriteRepository(repositoryPath, events + 10, start); // ten more for the warm-up
            var read = Stopwatch.StartNew();
            var batch = GitRepositoryReader.ReadAfter(source, null, start.AddMinutes(-1), 10_000, CancellationToken.None);
            read.Stop();
            var readShare = read.ElapsedTicks / Math.Max(1, batch.Commits.Count);
            var ingest = app.Services.GetRequiredService<ConnectorIngest>();
            var provenance = new Provenance("bench-git", "git_poll");
            rows.Add(("git poll", $"read {batch.Commits.Count} commits in {Ms(read.ElapsedTicks):0.0} ms, then draft + ingest each", await TimeAsync(events, async i =>
            {
                await ingest.IngestAsync("bench-git", [CommitDrafts.Commit(batch.Commits[i], provenance)]);
            }, extraTicks: readShare)));

            await AddTelemetryRowsAsync(app, http, grains, ingest, events, run, rows);

            Print(Console.Out, events, rows);
            return rows.All(r => r.Latency.P99 < AimP99Ms) ? 0 : 1;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            try
            {
                Directory.Delete(repositoryPath, recursive: true);
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

    /// <summary>Ten warm-up calls (not counted), then N timed calls one after another.</summary>
    private static async Task<LatencySummary> TimeAsync(int count, Func<int, Task> operation, long extraTicks = 0)
    {
        for (var i = 0; i < Math.Min(10, count); i++)
        {
            await operation(count + i);
        }
        var ticks = new List<long>(count);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await operation(i);
            ticks.Add(Stopwatch.GetTimestamp() - started + extraTicks);
        }
        return LatencySummary.Of(ticks);
    }

    private static async Task PostAsync(HttpClient http, string url, string eventHeader, string eventName, string body, bool github)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(eventHeader, eventName);
        if (github)
        {
            request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
            request.Headers.Add("X-Hub-Signature-256", GitHubWebhook.Sign(Secret, bytes));
        }
        else
        {
            request.Headers.Add("X-Gitlab-Token", Secret);
        }
        using var response = await http.SendAsync(request);
        if ((int)response.StatusCode != 200)
        {
            throw new InvalidOperationException($"{url} {eventName} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task PostLogsAsync(HttpClient http, string url, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
        using var response = await http.SendAsync(request);
        if ((int)response.StatusCode != 200)
        {
            throw new InvalidOperationException($"{url} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>One error a minute apart, so each batch is one log_error and no spike.</summary>
    private static string LogsLine(string run, int i, DateTimeOffset start) => $$"""
        {"@timestamp":"{{start.AddMinutes(i):O}}","log.level":"error","message":"Request {{i}} failed: could not reach inventory","ecs.version":"8.11.0","service.name":"orders-{{run}}","host.name":"orders-5c8b","error.type":"java.net.ConnectException","error.message":"Connection refused (inventory:8080)","error.stack_trace":"java.net.ConnectException: Connection refused\n\tat com.acme.orders.InventoryClient.reserve(InventoryClient.java:57)"}
        """.ReplaceLineEndings("") + "\n";

    private static string Sha(string run, int i, string kind) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(Encoding.UTF8.GetBytes($"{run}:{kind}:{i}")));

    private static string GitHubPush(string run, int i, DateTimeOffset start) => $$"""
        {"ref":"refs/heads/main","before":"{{Sha(run, i - 1, "gh")}}","after":"{{Sha(run, i, "gh")}}","created":false,"deleted":false,"forced":false,
         "commits":[{"id":"{{Sha(run, i, "gh")}}","tree_id":"{{Sha(run, i, "tree")}}","distinct":true,"message":"Change {{i}} of the gateway pool",
           "timestamp":"{{start.AddSeconds(i):O}}","url":"https://github.com/acme/payments/commit/{{Sha(run, i, "gh")}}",
           "author":{"name":"Dana Ortiz","email":"dana@example.com","username":"dortiz"},"committer":{"name":"GitHub","email":"noreply@github.com","username":"web-flow"},
           "added":[],"removed":[],"modified":["src/gateway/pool.go","config/gateway.yaml"]}],
         "repository":{"id":1296269,"name":"payments","full_name":"acme/payments","default_branch":"main","html_url":"https://github.com/acme/payments"},
         "pusher":{"name":"dortiz","email":"dana@example.com"},"sender":{"login":"dortiz","id":1} }
        """;

    private static string GitHubJob(string run, int i, DateTimeOffset start) => $$"""
        {"action":"completed","workflow_job":{"id":{{7_000_000 + i}},"run_id":{{9_000_000 + i}},"run_attempt":1,"head_sha":"{{Sha(run, i, "job")}}","head_branch":"main",
           "html_url":"https://github.com/acme/payments/actions/runs/{{9_000_000 + i}}/job/{{7_000_000 + i}}","status":"completed","conclusion":"failure",
           "started_at":"{{start.AddSeconds(i):O}}","completed_at":"{{start.AddSeconds(i + 60):O}}","name":"integration-tests","workflow_name":"payments-gateway-ci-{{run}}",
           "steps":[{"name":"Set up job","status":"completed","conclusion":"success","number":1},{"name":"Run go test ./...","status":"completed","conclusion":"failure","number":2}]},
         "repository":{"id":1296269,"name":"payments","full_name":"acme/payments","default_branch":"main"},"sender":{"login":"dortiz","id":1} }
        """;

    private static string GitLabPush(string run, int i, DateTimeOffset start) => $$"""
        {"object_kind":"push","event_name":"push","before":"{{Sha(run, i - 1, "gl")}}","after":"{{Sha(run, i, "gl")}}","ref":"refs/heads/main","checkout_sha":"{{Sha(run, i, "gl")}}",
         "project":{"id":15,"name":"payments","web_url":"https://gitlab.example.com/acme/payments","path_with_namespace":"acme/payments","default_branch":"main"},
         "commits":[{"id":"{{Sha(run, i, "gl")}}","message":"Change {{i}}\n","title":"Change {{i}}","timestamp":"{{start.AddSeconds(i):O}}",
           "url":"https://gitlab.example.com/acme/payments/-/commit/{{Sha(run, i, "gl")}}","author":{"name":"Sam Lee","email":"sam@example.com"},
           "added":["src/gateway/retry.go"],"modified":[],"removed":[]}],"total_commits_count":1}
        """;

    private static string GitLabPipeline(string run, int i, DateTimeOffset start) => $$"""
        {"object_kind":"pipeline","object_attributes":{"id":{{5_000_000 + i}},"iid":{{i}},"name":"payments-gateway-ci-{{run}}","ref":"main","tag":false,"sha":"{{Sha(run, i, "pl")}}",
           "source":"push","status":"failed","created_at":"{{start.AddSeconds(i):yyyy-MM-dd HH:mm:ss}} UTC","finished_at":"{{start.AddSeconds(i + 300):yyyy-MM-dd HH:mm:ss}} UTC",
           "url":"https://gitlab.example.com/acme/payments/-/pipelines/{{5_000_000 + i}}"},
         "project":{"id":15,"name":"payments","web_url":"https://gitlab.example.com/acme/payments","path_with_namespace":"acme/payments","default_branch":"main"},
         "builds":[{"id":{{6_000_000 + i}},"stage":"test","name":"integration-tests","status":"failed","allow_failure":false,"failure_reason":"script_failure",
           "finished_at":"{{start.AddSeconds(i + 290):yyyy-MM-dd HH:mm:ss}} UTC"}]}
        """;

    private static GitSource WriteRepository(string path, int commits, DateTimeOffset start)
    {
        Repository.Init(path);
        using var repository = new Repository(path);
        for (var i = 0; i < commits; i++)
        {
            var file = Path.Combine(path, "src", $"module{i % 10}.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, $"revision {i}\n");
            Commands.Stage(repository, "*");
            var when = start.AddMinutes(i);
            var signature = new Signature("Dana Ortiz", "dana@example.com", when);
            repository.Commit($"Change {i}", signature, signature);
        }
        return new GitSource(path, "acme/bench", null, "https://git.example.com/acme/bench/commit/{sha}");
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static void Print(TextWriter output, int events, IReadOnlyList<(string Name, string How, LatencySummary Latency)> rows)
    {
        output.WriteLine($"### Connectors: parse and ingest, {events} events each, one at a time ({Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd})");
        output.WriteLine();
        output.WriteLine("| connector | what is timed | p50 ms | p99 ms | max ms | aim: p99 < 50 ms |");
        output.WriteLine("|---|---|---:|---:|---:|---|");
        foreach (var (name, how, latency) in rows)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {how} | {latency.P50:0.00} | {latency.P99:0.00} | {latency.Max:0.00} | {(latency.P99 < AimP99Ms ? "met" : "missed")} |"));
        }
    }
}
