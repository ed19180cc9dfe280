using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using RootCause.Connectors.GitHub;
using RootCause.Events;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors;

/// <summary>
/// GitHub's real example payloads (npm @octokit/webhooks-examples) and GitLab hooks written from
/// GitLab's documented shapes, posted over real HTTP to a running silo, signed right and wrong.
/// </summary>
[Collection(ConnectorSiloCollection.Name)]
public sealed class WebhookTests(ConnectorSiloFixture silo) : IAsyncLifetime
{
    private static readonly string[] GitHubEvents = ["push", "deployment", "deployment_status", "workflow_run", "workflow_job", "check_run", "check_suite"];

    private HttpClient Http => silo.Http;

    public async Task InitializeAsync()
    {
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/github",
            $$"""{"kind":"github","secret":"env:{{ConnectorSiloFixture.GitHubSecretVariable}}"}""");
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/github-all",
            $$"""{"kind":"github","secret":"env:{{ConnectorSiloFixture.GitHubSecretVariable}}","keep_successes":true}""");
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/gitlab",
            $$"""{"kind":"gitlab","secret":"file:{{silo.GitLabTokenFile}}"}""");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    internal static async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> PostGitHubAsync(
        HttpClient http, string url, string eventName, string body, string? signature, string? delivery = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", eventName);
        request.Headers.Add("X-GitHub-Delivery", delivery ?? Guid.NewGuid().ToString());
        request.Headers.Add("User-Agent", "GitHub-Hookshot/044aadd");
        if (signature is not null)
        {
            request.Headers.Add("X-Hub-Signature-256", signature);
        }
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> PostGitLabAsync(HttpClient http, string hook, string body, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/receivers/gitlab") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Gitlab-Event", hook);
        request.Headers.Add("X-Gitlab-Event-UUID", Guid.NewGuid().ToString());
        if (token is not null)
        {
            request.Headers.Add("X-Gitlab-Token", token);
        }
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private static string Sign(string body, string secret = ConnectorSiloFixture.GitHubSecret) =>
        GitHubWebhook.Sign(secret, Encoding.UTF8.GetBytes(body));

    [Fact]
    public async Task EveryGitHubExampleIsAcceptedWithItsSignatureAndRefusedWithAWrongOrMissingOne()
    {
        var answers = new List<string>();
        foreach (var name in GitHubEvents)
        {
            foreach (var example in Payloads.GitHub(name))
            {
                var body = Payloads.Compact(example);
                var (wrong, problem, _) = await PostGitHubAsync(Http, "/api/receivers/github", name, body, Sign(body, "not the secret"));
                var (tampered, _, _) = await PostGitHubAsync(Http, "/api/receivers/github", name, body + " ", Sign(body));
                var (missing, _, _) = await PostGitHubAsync(Http, "/api/receivers/github", name, body, null);
                var (status, answer, _) = await PostGitHubAsync(Http, "/api/receivers/github", name, body, Sign(body));

                Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (wrong, tampered, missing));
                Assert.Equal("X-Hub-Signature-256", (string?)problem!["field"]);
                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Accepted, $"{name}: {status} {answer}");
                answers.Add($"{name}:{(string?)answer!["status"]}");
            }
        }

        // Which examples become events: completed failures (and every push and deployment); the rest are ignored with a reason.
        Assert.Equal(7, answers.Count(a => a.StartsWith("push:", StringComparison.Ordinal)));
        // Four of the seven pushes delete a tag; the tag push that creates one names its commit in head_commit.
        Assert.Equal(3, answers.Count(a => a == "push:ingested"));
        Assert.Equal(["deployment:ingested", "deployment:ingested", "deployment:ingested", "deployment:ingested"], answers.Where(a => a.StartsWith("deployment:", StringComparison.Ordinal)));
        Assert.Equal(1, answers.Count(a => a == "workflow_job:ingested"));
        Assert.Equal(1, answers.Count(a => a == "check_run:ingested"));
        Assert.Equal(0, answers.Count(a => a is "workflow_run:ingested" or "check_suite:ingested"));
    }

    [Fact]
    public async Task AGitHubPushBecomesCommitEventsWithTheirRawReference()
    {
        var push = Payloads.GitHub("push").First(p => p["ref"]!.ToString() == "refs/heads/master" && p["commits"]!.AsArray().Count == 1);
        var body = Payloads.Compact(push);
        var delivery = Guid.NewGuid().ToString();

        var (status, answer, _) = await PostGitHubAsync(Http, "/api/receivers/github", "push", body, Sign(body), delivery);
        var stored = await GitConnectorTests.CommitEventAsync(Http, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("ingested", delivery), ((string?)answer!["status"], (string?)answer["delivery"]));
        var e = Assert.Single(answer["events"]!.AsArray());
        Assert.Equal(("commit", "Codertocat/Hello-World@6113728f27ae82c7b1a177c8d03f9e96e0adf246"), ((string?)e!["event_type"], (string?)e["source_id"]));
        Assert.Equal((string?)e["id"], (string?)stored!["id"]);
        var data = stored["data"]!;
        Assert.Equal(("Codertocat/Hello-World", "master", "Codertocat", "Initial commit"),
            ((string?)data["repository"], (string?)data["branch"], (string?)data["author"]!["name"], (string?)data["message"]));
        Assert.Equal(["README.md"], data["files"]!.AsArray().Select(f => (string)f!));
        Assert.Equal("https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246", (string?)data["url"]);
        Assert.Equal(DateTimeOffset.Parse("2019-05-15T15:19:25Z", System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse((string)stored["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("github", (string?)stored["metadata"]!["connector"]);
        Assert.Contains(stored["references"]!.AsArray(), r => (string?)r!["via"] == "github_push");
    }

    [Fact]
    public async Task AFailedWorkflowJobNamesTheFailingJobStepCommitBranchAndLink()
    {
        var job = Payloads.GitHub("workflow_job").First(p => (string?)p["workflow_job"]!["conclusion"] == "failure");
        var body = Payloads.Compact(job);

        var (status, answer, _) = await PostGitHubAsync(Http, "/api/receivers/github", "workflow_job", body, Sign(body));
        var stored = await GitConnectorTests.EventAsync(Http, Guid.Parse((string)answer!["events"]![0]!["id"]!));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("ci", "ci_failure", "github_actions:Codertocat/Hello-World:2202229078:289782451", "medium"),
            ((string?)stored!["source"], (string?)stored["event_type"], (string?)stored["source_id"], (string?)stored["severity"]));
        var data = stored["data"]!;
        Assert.Equal(("github_actions", "linters", "Run yarn run format-check", "failure"),
            ((string?)data["provider"], (string?)data["job"], (string?)data["step"], (string?)data["conclusion"]));
        Assert.Equal(("3484a3fb816e0859fd6e1cea078d76385ff50625", "main", "https://github.com/octo-org/octo-repo/runs/1291536064"),
            ((string?)data["sha"], (string?)data["branch"], (string?)data["url"]));
    }

    [Fact]
    public async Task ASuccessfulJobThatReleasesToProductionIsKeptWithItsReleaseStep()
    {
        // The example's failed job, turned into a successful one; only the step names differ below.
        JsonObject Success(string? releaseStep)
        {
            var job = Payloads.GitHub("workflow_job").First(p => (string?)p["workflow_job"]!["conclusion"] == "failure").DeepClone().AsObject();
            var run = job["workflow_job"]!.AsObject();
            run["id"] = 700_000_000 + Random.Shared.Next(1_000_000);
            run["conclusion"] = "success";
            var steps = run["steps"]!.AsArray();
            foreach (var step in steps)
            {
                step!["conclusion"] = "success";
            }
            if (releaseStep is not null)
            {
                steps[^1]!["name"] = releaseStep;
            }
            return job;
        }
        var release = Payloads.Compact(Success("helm upgrade --install web charts/web --namespace production"));
        var build = Payloads.Compact(Success(null));

        // The receiver without keep_successes: the release is kept, the plain success is not.
        var (keptStatus, kept, _) = await PostGitHubAsync(Http, "/api/receivers/github", "workflow_job", release, Sign(release));
        var (ignoredStatus, ignored, _) = await PostGitHubAsync(Http, "/api/receivers/github", "workflow_job", build, Sign(build));

        Assert.Equal(HttpStatusCode.OK, keptStatus);
        var stored = await GitConnectorTests.EventAsync(Http, Guid.Parse((string)kept!["events"]![0]!["id"]!));
        Assert.Equal(("ci_success", "info", "helm upgrade --install web charts/web --namespace production", "success"),
            ((string?)stored!["event_type"], (string?)stored["severity"], (string?)stored["data"]!["step"], (string?)stored["data"]!["conclusion"]));
        Assert.Equal(HttpStatusCode.Accepted, ignoredStatus);
        Assert.Equal("ignored", (string?)ignored!["status"]);
    }

    [Fact]
    public async Task AFailedCheckRunIsACiFailureAndSuccessesAreKeptOnlyWhenAskedFor()
    {
        var check = Payloads.GitHub("check_run").First(p => (string?)p["check_run"]!["conclusion"] == "failure");
        var checkBody = Payloads.Compact(check);
        var run = Payloads.GitHub("workflow_run").First(p => (string?)p["workflow_run"]!["conclusion"] == "success");
        run["workflow_run"]!["id"] = 987654321 + Random.Shared.Next(1000);
        var runBody = Payloads.Compact(run);

        var (_, failed, _) = await PostGitHubAsync(Http, "/api/receivers/github", "check_run", checkBody, Sign(checkBody));
        var (ignoredStatus, ignored, _) = await PostGitHubAsync(Http, "/api/receivers/github", "workflow_run", runBody, Sign(runBody));
        var (keptStatus, kept, _) = await PostGitHubAsync(Http, "/api/receivers/github/github-all", "workflow_run", runBody, Sign(runBody));

        var checkEvent = await GitConnectorTests.EventAsync(Http, Guid.Parse((string)failed!["events"]![0]!["id"]!));
        Assert.Equal(("ci_failure", "github_checks:Codertocat/Hello-World:118578147:128620228"), ((string?)checkEvent!["event_type"], (string?)checkEvent["source_id"]));
        Assert.Equal(("Octocoders-linter", "changes", "octocoders-linter"),
            ((string?)checkEvent["data"]!["job"], (string?)checkEvent["data"]!["branch"], (string?)checkEvent["data"]!["check_app"]));
        Assert.Equal(HttpStatusCode.Accepted, ignoredStatus);
        Assert.Equal(("ignored", "conclusion 'success' is not kept (keep_successes is off)."), ((string?)ignored!["status"], (string?)ignored["reason"]));
        Assert.Equal(HttpStatusCode.OK, keptStatus);
        Assert.Equal("ci_success", (string?)kept!["events"]![0]!["event_type"]);
    }

    [Fact]
    public async Task ADeploymentAndItsStatusesFoldIntoOneEvent()
    {
        var id = 500_000_000 + Random.Shared.Next(1_000_000);
        var deployment = Payloads.GitHub("deployment")[0];
        deployment["deployment"]!["id"] = id;
        var status = Payloads.GitHub("deployment_status").First(p => (string?)p["deployment_status"]!["state"] == "success");
        status["deployment"]!["id"] = id;
        var first = Payloads.Compact(deployment);
        var second = Payloads.Compact(status);

        var (_, created, _) = await PostGitHubAsync(Http, "/api/receivers/github", "deployment", first, Sign(first));
        var (_, folded, _) = await PostGitHubAsync(Http, "/api/receivers/github", "deployment_status", second, Sign(second));
        var stored = await GitConnectorTests.EventAsync(Http, EventKeys.IdForDedupKey(EventSource.Git, $"deployment:Codertocat/Hello-World:{id}"));

        Assert.True((bool)created!["events"]![0]!["created"]!);
        Assert.False((bool)folded!["events"]![0]!["created"]!);
        Assert.Equal((string?)created["events"]![0]!["id"], (string?)folded["events"]![0]!["id"]);
        Assert.Equal(("deployment", $"deploy:Codertocat/Hello-World:production:{id}"), ((string?)stored!["event_type"], (string?)stored["source_id"]));
        // The later status report brings the deployment's status up to date.
        Assert.Equal(("production", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "success"),
            ((string?)stored["data"]!["environment"], (string?)stored["data"]!["sha"], (string?)stored["data"]!["status"]));
        Assert.Equal(["github_deployment"], stored["references"]!.AsArray().Select(r => (string)r!["via"]!).Distinct());
    }

    [Fact]
    public async Task BadDeliveriesGetClearAnswersAndUnreadableOnesAreDeadLettered()
    {
        var (pingStatus, ping, _) = await PostGitHubAsync(Http, "/api/receivers/github", "ping", """{"zen":"Keep it logically awesome."}""",
            Sign("""{"zen":"Keep it logically awesome."}"""));
        var (unknownStatus, unknown, _) = await PostGitHubAsync(Http, "/api/receivers/github/nobody", "push", "{}", Sign("{}"));
        var (issueStatus, issue, _) = await PostGitHubAsync(Http, "/api/receivers/github", "issues", "{}", Sign("{}"));
        var broken = """{"ref":"refs/heads/main","commits":[""";
        var (brokenStatus, deadLettered, _) = await PostGitHubAsync(Http, "/api/receivers/github", "push", broken, Sign(broken));
        var (gitlabOnGithub, _, _) = await PostGitHubAsync(Http, "/api/receivers/github/gitlab", "push", "{}", Sign("{}"));

        Assert.Equal((HttpStatusCode.Accepted, "ignored"), (pingStatus, (string?)ping!["status"]));
        Assert.Equal(HttpStatusCode.NotFound, unknownStatus);
        Assert.Equal("No enabled github connector is named 'nobody'.", (string?)unknown!["detail"]);
        Assert.Equal(HttpStatusCode.Accepted, issueStatus);
        Assert.StartsWith("GitHub event 'issues' is not one RootCause reads", (string?)issue!["reason"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, gitlabOnGithub);
        Assert.Equal((HttpStatusCode.Accepted, "dead_lettered"), (brokenStatus, (string?)deadLettered!["status"]));

        var id = (long)deadLettered["dead_letter_ids"]![0]!;
        var (_, entry, _) = await Http.GetJsonAsync($"/api/admin/dlq/{id}");
        var (retryStatus, retry, _) = await Http.PostAsync($"/api/admin/dlq/{id}/retry", "");
        Assert.Equal(("github", "github_webhook", "git"), ((string?)entry!["connector"], (string?)entry["kind"], (string?)entry["source"]));
        Assert.Equal(broken, (string?)JsonNode.Parse((string)entry["payload"]!)!["body"]);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, retryStatus);
        Assert.Equal("payload", (string?)retry!["field"]);
    }

    [Fact]
    public async Task AGitLabPipelineThatDeployedToProductionIsKeptAndNamesItsDeployJob()
    {
        string Pipeline(bool deployed)
        {
            var pipeline = JsonNode.Parse(Payloads.GitLab("pipeline_failed"))!.AsObject();
            pipeline["object_attributes"]!["id"] = 600_000 + Random.Shared.Next(100_000);
            pipeline["object_attributes"]!["status"] = "success";
            foreach (var build in pipeline["builds"]!.AsArray())
            {
                // The fixture's "production" job (stage deploy, environment production) ran or was skipped.
                build!["status"] = (string?)build["name"] == "production" && !deployed ? "skipped" : "success";
            }
            return pipeline.ToJsonString();
        }

        var (deployedStatus, deployed) = await PostGitLabAsync(Http, "Pipeline Hook", Pipeline(deployed: true), ConnectorSiloFixture.GitLabToken);
        var (builtStatus, built) = await PostGitLabAsync(Http, "Pipeline Hook", Pipeline(deployed: false), ConnectorSiloFixture.GitLabToken);

        Assert.Equal(HttpStatusCode.OK, deployedStatus);
        var stored = await GitConnectorTests.EventAsync(Http, Guid.Parse((string)deployed!["events"]![0]!["id"]!));
        var data = stored!["data"]!;
        Assert.Equal(("ci_success", "production", "deploy", "production"),
            ((string?)stored["event_type"], (string?)data["job"], (string?)data["stage"], (string?)data["environment"]));
        // keep_successes is off for this receiver: a pipeline that only built and tested is not kept.
        Assert.Equal((HttpStatusCode.Accepted, "ignored"), (builtStatus, (string?)built!["status"]));
    }

    [Fact]
    public async Task GitLabPushPipelineAndJobHooksBecomeEventsOnlyWithTheRightToken()
    {
        var push = Payloads.GitLab("push");
        var pipeline = Payloads.GitLab("pipeline_failed");
        var job = Payloads.GitLab("job_failed");

        var (wrongStatus, wrong) = await PostGitLabAsync(Http, "Push Hook", push, "guess");
        var (missingStatus, _) = await PostGitLabAsync(Http, "Push Hook", push, null);
        var (pushStatus, pushed) = await PostGitLabAsync(Http, "Push Hook", push, ConnectorSiloFixture.GitLabToken);
        var (pipelineStatus, failed) = await PostGitLabAsync(Http, "Pipeline Hook", pipeline, ConnectorSiloFixture.GitLabToken);
        var (jobStatus, jobFailed) = await PostGitLabAsync(Http, "Job Hook", job, ConnectorSiloFixture.GitLabToken);
        var running = pipeline.Replace("\"status\": \"failed\",\n    \"detailed_status\"", "\"status\": \"running\",\n    \"detailed_status\"", StringComparison.Ordinal);
        var (runningStatus, ignored) = await PostGitLabAsync(Http, "Pipeline Hook", running, ConnectorSiloFixture.GitLabToken);

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (wrongStatus, missingStatus));
        Assert.Equal("X-Gitlab-Token", (string?)wrong!["field"]);
        Assert.Equal(HttpStatusCode.OK, pushStatus);
        Assert.Equal(["acme/payments@b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "acme/payments@da1560886d4f094c3e6c9ef40349f7d38b5d27d7"],
            pushed!["events"]!.AsArray().Select(e => (string)e!["source_id"]!));
        var commit = await GitConnectorTests.CommitEventAsync(Http, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
        Assert.Equal(["src/gateway/retry.go", "src/gateway/legacy_retry.go"], commit!["data"]!["files"]!.AsArray().Select(f => (string)f!));
        Assert.Equal(("main", "Sam Lee"), ((string?)commit["data"]!["branch"], (string?)commit["data"]!["author"]!["name"]));
        Assert.Equal(DateTimeOffset.Parse("2026-02-03T08:40:02Z", System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse((string)commit["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(HttpStatusCode.OK, pipelineStatus);
        var pipelineEvent = await GitConnectorTests.EventAsync(Http, Guid.Parse((string)failed!["events"]![0]!["id"]!));
        Assert.Equal(("ci_failure", "gitlab_ci:acme/payments:31", "high"),
            ((string?)pipelineEvent!["event_type"], (string?)pipelineEvent["source_id"], (string?)pipelineEvent["severity"]));
        var data = pipelineEvent["data"]!;
        Assert.Equal(("payments-gateway-ci", "integration-tests", "test", "main", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"),
            ((string?)data["workflow"], (string?)data["job"], (string?)data["stage"], (string?)data["branch"], (string?)data["sha"]));
        Assert.Equal("https://gitlab.example.com/acme/payments/-/pipelines/31", (string?)data["url"]);
        Assert.Equal(DateTimeOffset.Parse("2026-02-03T08:47:55Z", System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse((string)pipelineEvent["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(HttpStatusCode.OK, jobStatus);
        var jobEvent = await GitConnectorTests.EventAsync(Http, Guid.Parse((string)jobFailed!["events"]![0]!["id"]!));
        Assert.Equal(("gitlab_ci:acme/payments:33:1977", "medium", "feature/retry-charges", "https://gitlab.example.com/acme/payments/-/jobs/1977"),
            ((string?)jobEvent!["source_id"], (string?)jobEvent["severity"], (string?)jobEvent["data"]!["branch"], (string?)jobEvent["data"]!["url"]));
        Assert.Equal("gitlab_pipeline", (string?)jobEvent["references"]![0]!["via"]);

        Assert.Equal((HttpStatusCode.Accepted, "pipeline running: only finished pipelines become events."), (runningStatus, (string?)ignored!["reason"]));
    }
}
