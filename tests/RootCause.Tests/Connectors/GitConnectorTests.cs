using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using RootCause.Connectors.GitHub;
using RootCause.Events;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors;

/// <summary>The git connector polling a real repository the test writes, through the admin API of a running silo.</summary>
[Collection(ConnectorSiloCollection.Name)]
public sealed class GitConnectorTests(ConnectorSiloFixture silo)
{
    private HttpClient Http => silo.Http;

    private static string GitConfig(TestRepository repository, string name = "acme/payments") => $$"""
        {"kind":"git","repository":"{{name}}","path":"{{repository.Path}}","initial_lookback":"1.00:00:00",
         "commit_url":"https://git.example.com/{{name}}/commit/{sha}"}
        """;

    internal static Task<JsonNode?> CommitEventAsync(HttpClient http, string sha) =>
        EventAsync(http, EventKeys.IdForDedupKey(EventSource.Git, $"commit:{sha}"));

    internal static async Task<JsonNode?> EventAsync(HttpClient http, Guid id)
    {
        var (status, body, _) = await http.GetJsonAsync($"/api/events/{id}");
        return status == HttpStatusCode.OK ? body : null;
    }

    [Fact]
    public async Task APolledRepositoryGivesOneCommitEventPerCommitWithAuthorMessagePathsAndTags()
    {
        using var repository = new TestRepository(DateTimeOffset.UtcNow.AddHours(-3));
        var first = repository.Commit("Add the gateway", "Dana Ortiz", ("README.md", "payments"), ("src/gateway/pool.go", "size = 16"));
        var second = repository.Commit("Lower the gateway connection pool to 8\n\nThe database allows 100.", "Sam Lee",
            ("src/gateway/pool.go", "size = 8"), ("config/gateway.yaml", "pool: 8"));
        var third = repository.Commit("Drop the readme", "Dana Ortiz", ("README.md", null));
        repository.Tag("v1.0.0", second, annotated: true);
        repository.Tag("deployed", second, annotated: false);

        var (putStatus, put, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/git-poll", GitConfig(repository));
        var (syncStatus, run, _) = await Http.PostAsync("/api/admin/connectors/git-poll/sync?wait=true", "");

        Assert.Equal(HttpStatusCode.Created, putStatus);
        Assert.True((bool)put!["polling"]!);
        Assert.Equal(HttpStatusCode.OK, syncStatus);
        Assert.Equal(("succeeded", 3, 3, 3, 0, 0), ((string?)run!["state"], (int)run["found"]!, (int)run["processed"]!, (int)run["created"]!,
            (int)run["existing"]!, (int)run["dead_lettered"]!));
        Assert.Equal(third.Sha, (string?)run["cursor_after"]);

        var commit = await CommitEventAsync(Http, second.Sha);
        Assert.NotNull(commit);
        Assert.Equal(("git", "commit", $"acme/payments@{second.Sha}", "info"),
            ((string?)commit!["source"], (string?)commit["event_type"], (string?)commit["source_id"], (string?)commit["severity"]));
        var data = commit["data"]!;
        Assert.Equal(("acme/payments", second.Sha, repository.Branch, "Sam Lee", "sam.lee@example.com"),
            ((string?)data["repository"], (string?)data["sha"], (string?)data["branch"], (string?)data["author"]!["name"], (string?)data["author"]!["email"]));
        Assert.Equal("Lower the gateway connection pool to 8\n\nThe database allows 100.", (string?)data["message"]);
        Assert.Equal(["config/gateway.yaml", "src/gateway/pool.go"], data["files"]!.AsArray().Select(f => (string)f!).Order(StringComparer.Ordinal));
        Assert.Equal(["deployed", "v1.0.0"], data["tags"]!.AsArray().Select(t => (string)t!));
        Assert.Equal($"https://git.example.com/acme/payments/commit/{second.Sha}", (string?)data["url"]);
        Assert.Equal(second.Committer.When.ToUniversalTime(), DateTimeOffset.Parse((string)commit["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("git_poll", (string?)commit["references"]![0]!["via"]);

        var removal = await CommitEventAsync(Http, third.Sha);
        Assert.Equal(["README.md"], removal!["data"]!["files"]!.AsArray().Select(f => (string)f!));
        Assert.Null(removal["data"]!["tags"]);
        Assert.NotNull(await CommitEventAsync(Http, first.Sha));

        var fourth = repository.Commit("Retry idempotent charges once", "Sam Lee", ("src/gateway/retry.go", "retry"));
        var fifth = repository.Commit("Log retries", "Sam Lee", ("src/gateway/retry.go", "retry + log"));
        var (_, next, _) = await Http.PostAsync("/api/admin/connectors/git-poll/sync?wait=true", "");
        var (statusCode, status, _) = await Http.GetJsonAsync("/api/admin/connectors/git-poll/status");

        Assert.Equal(("succeeded", 2, 2, 0, third.Sha, fifth.Sha), ((string?)next!["state"], (int)next["found"]!, (int)next["created"]!,
            (int)next["existing"]!, (string?)next["cursor_before"], (string?)next["cursor_after"]));
        Assert.Equal(HttpStatusCode.OK, statusCode);
        Assert.Equal(fifth.Sha, (string?)status!["cursor"]!["position"]);
        Assert.Equal(fifth.Committer.When.ToUniversalTime(), DateTimeOffset.Parse((string)status["cursor"]!["at"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotNull(await CommitEventAsync(Http, fourth.Sha));
    }

    [Fact]
    public async Task ARestartedSiloResumesAfterTheCursorWithNoGapAndNoDuplicate()
    {
        using var repository = new TestRepository(DateTimeOffset.UtcNow.AddHours(-5));
        var shas = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            shas.Add(repository.Commit($"change {i}", "Dana Ortiz", ($"src/file{i}.txt", $"{i}")).Sha);
        }
        var connectionString = await TestDatabase.CreateAsync("connector_restart", migrate: false);
        var (first, firstHttp) = await ConnectorSiloFixture.StartSiloAsync(connectionString, "restart-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await firstHttp.SendAsync(HttpMethod.Put, "/api/admin/connectors/payments", GitConfig(repository));
            var (_, run, _) = await firstHttp.PostAsync("/api/admin/connectors/payments/sync?wait=true", "");
            Assert.Equal((3, 0), ((int)run!["created"]!, (int)run["existing"]!));
        }
        finally
        {
            await ConnectorSiloFixture.StopAsync(first, firstHttp);
        }

        for (var i = 3; i < 5; i++)
        {
            shas.Add(repository.Commit($"change {i}", "Sam Lee", ($"src/file{i}.txt", $"{i}")).Sha);
        }
        var (second, http) = await ConnectorSiloFixture.StartSiloAsync(connectionString, "restart-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var (_, before, _) = await http.GetJsonAsync("/api/admin/connectors/payments/status");
            var (_, resumed, _) = await http.PostAsync("/api/admin/connectors/payments/sync?wait=true", "");
            // Reading everything again finds every event and makes none: ingest is idempotent.
            var (backfillStatus, again, _) = await http.PostAsync("/api/admin/connectors/payments/backfill?wait=true",
                $$"""{"from":"{{DateTimeOffset.UtcNow.AddDays(-1):O}}","to":"{{DateTimeOffset.UtcNow.AddMinutes(1):O}}"}""");

            Assert.Equal(shas[2], (string?)before!["cursor"]!["position"]);
            Assert.Equal(("succeeded", 2, 2, 0, shas[2], shas[4]), ((string?)resumed!["state"], (int)resumed["found"]!, (int)resumed["created"]!,
                (int)resumed["existing"]!, (string?)resumed["cursor_before"], (string?)resumed["cursor_after"]));
            Assert.Equal(HttpStatusCode.OK, backfillStatus);
            Assert.Equal(("backfill", "succeeded", 5, 0, 5), ((string?)again!["kind"], (string?)again["state"], (int)again["found"]!,
                (int)again["created"]!, (int)again["existing"]!));
            Assert.Equal(shas[4], (string?)again["cursor_after"]);
            foreach (var sha in shas)
            {
                Assert.NotNull(await CommitEventAsync(http, sha));
            }
        }
        finally
        {
            await ConnectorSiloFixture.StopAsync(second, http);
        }
    }

    [Fact]
    public async Task ACommitSeenByAPushWebhookAndByThePollerIsOneEvent()
    {
        using var repository = new TestRepository(DateTimeOffset.UtcNow.AddHours(-2));
        var commit = repository.Commit("Initial commit", "Codertocat", ("README.md", "hello"));
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/fold-github",
            $$"""{"kind":"github","secret":"env:{{ConnectorSiloFixture.GitHubSecretVariable}}"}""");
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/fold-git", GitConfig(repository, "Codertocat/Hello-World"));

        // GitHub's push example, pointed at the commit the test wrote.
        var push = Payloads.GitHub("push").First(p => p["commits"]!.AsArray().Count == 1);
        push["commits"]![0]!["id"] = commit.Sha;
        push["head_commit"]!["id"] = commit.Sha;
        var body = Payloads.Compact(push);
        var (pushStatus, pushed, _) = await WebhookTests.PostGitHubAsync(Http, "/api/receivers/github/fold-github", "push", body,
            GitHubWebhook.Sign(ConnectorSiloFixture.GitHubSecret, Encoding.UTF8.GetBytes(body)));
        var (_, run, _) = await Http.PostAsync("/api/admin/connectors/fold-git/sync?wait=true", "");
        var stored = await CommitEventAsync(Http, commit.Sha);

        Assert.Equal(HttpStatusCode.OK, pushStatus);
        Assert.True((bool)pushed!["events"]![0]!["created"]!);
        Assert.Equal((1, 0, 1), ((int)run!["found"]!, (int)run["created"]!, (int)run["existing"]!));
        Assert.Equal((string?)pushed["events"]![0]!["id"], (string?)stored!["id"]);
        Assert.Equal(["git_poll", "github_push"], stored["references"]!.AsArray().Select(r => (string)r!["via"]!).Order(StringComparer.Ordinal));
        Assert.Equal("README.md", (string?)stored["data"]!["files"]![0]);
    }

    [Fact]
    public async Task AnUnreadableRepositoryFailsTheRunOpensTheBreakerAndLeavesTheSiloServing()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"rootcause-missing-{Guid.NewGuid():N}");
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/broken-git",
            $$"""{"kind":"git","repository":"acme/broken","path":"{{missing}}"}""");

        var (syncStatus, run, _) = await Http.PostAsync("/api/admin/connectors/broken-git/sync?wait=true", "");
        var (ready, _, _) = await Http.GetJsonAsync("/health/ready");
        var (_, status, _) = await Http.GetJsonAsync("/api/admin/connectors/broken-git/status");

        Assert.Equal(HttpStatusCode.OK, syncStatus);
        Assert.Equal(("failed", 0), ((string?)run!["state"], (int)run["created"]!));
        Assert.Contains(missing, (string?)run["error"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, ready);
        Assert.Equal("open", (string?)status!["circuit_breaker"]!["state"]);
        Assert.Null(status["cursor"]);
        Assert.Equal("failed", (string?)status["run"]!["state"]);
    }
}
