using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RootCause.Connectors.Ci;
using RootCause.Connectors.Git;
using RootCause.Events;

namespace RootCause.Connectors.GitHub;

/// <summary>
/// GitHub webhooks: the signature check and the parsers of push, deployment,
/// deployment_status, workflow_run, workflow_job, check_run and check_suite.
/// </summary>
public static class GitHubWebhook
{
    public const string SignatureHeader = "X-Hub-Signature-256";
    public const string EventHeader = "X-GitHub-Event";
    public const string DeliveryHeader = "X-GitHub-Delivery";

    public static readonly IReadOnlyList<string> HandledEvents =
        ["push", "deployment", "deployment_status", "workflow_run", "workflow_job", "check_run", "check_suite"];

    /// <summary>
    /// <c>X-Hub-Signature-256</c> is <c>sha256=</c> and the hex HMAC-SHA256 of the raw body under
    /// the secret. Compared in constant time; anything malformed is simply a mismatch.
    /// </summary>
    public static bool SignatureMatches(string secret, ReadOnlySpan<byte> body, string? header)
    {
        const string Prefix = "sha256=";
        if (header is null || !header.StartsWith(Prefix, StringComparison.Ordinal) || header.Length != Prefix.Length + 64)
        {
            return false;
        }
        Span<byte> given = stackalloc byte[32];
        if (Convert.FromHexString(header.AsSpan(Prefix.Length), given, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
        {
            return false;
        }
        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, expected);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    /// <summary>The header value GitHub would send for this body and secret (tests and tools use it).</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>
    /// The JSON of a delivery: the body itself, or for the <c>application/x-www-form-urlencoded</c>
    /// content type, its <c>payload</c> field.
    /// </summary>
    public static byte[] JsonOf(string contentType, byte[] body)
    {
        if (!contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return body;
        }
        foreach (var pair in Encoding.UTF8.GetString(body).Split('&'))
        {
            if (pair.StartsWith("payload=", StringComparison.Ordinal))
            {
                return Encoding.UTF8.GetBytes(Uri.UnescapeDataString(pair[8..].Replace('+', ' ')));
            }
        }
        throw new JsonException("The form body has no payload field.");
    }

    public static ParsedDelivery Parse(string eventName, JsonElement root, bool keepSuccesses, Provenance provenance) => eventName switch
    {
        "ping" => ParsedDelivery.Ignore("ping: the webhook reaches RootCause."),
        "push" => Push(root, provenance with { Via = "github_push" }),
        "deployment" => Deployment(root, root.Get("deployment"), null, provenance with { Via = "github_deployment" }),
        "deployment_status" => Deployment(root, root.Get("deployment"), root.Get("deployment_status"), provenance with { Via = "github_deployment" }),
        "workflow_run" => WorkflowRun(root, keepSuccesses, provenance),
        "workflow_job" => WorkflowJob(root, keepSuccesses, provenance),
        "check_run" => CheckRun(root, keepSuccesses, provenance),
        "check_suite" => CheckSuite(root, keepSuccesses, provenance),
        _ => ParsedDelivery.Ignore($"GitHub event '{eventName}' is not one RootCause reads ({string.Join(", ", HandledEvents)})."),
    };

    private static ParsedDelivery Push(JsonElement root, Provenance provenance)
    {
        if (root.Bool("deleted"))
        {
            return ParsedDelivery.Ignore("push deleted a branch or tag: no commits.");
        }
        var repository = root.Str("repository", "full_name");
        if (repository is null)
        {
            return new ParsedDelivery { Failures = ["repository.full_name is missing."] };
        }
        var reference = root.Str("ref") ?? "";
        var branch = reference.StartsWith("refs/heads/", StringComparison.Ordinal) ? reference["refs/heads/".Length..] : null;
        string[] tags = reference.StartsWith("refs/tags/", StringComparison.Ordinal) ? [reference["refs/tags/".Length..]] : [];
        var commits = root.Items("commits").ToList();
        if (commits.Count == 0 && root.Get("head_commit") is { } head)
        {
            // A tag push (or a push of commits the repository already had) names only the head.
            commits.Add(head);
        }
        if (commits.Count == 0)
        {
            return ParsedDelivery.Ignore("push without commits.");
        }
        var drafts = new List<EventDraft>();
        var failures = new List<string>();
        for (var i = 0; i < commits.Count; i++)
        {
            var commit = commits[i];
            var sha = commit.Str("id");
            var timestamp = commit.Time("timestamp");
            if (sha is null || timestamp is null)
            {
                failures.Add($"commits[{i}]: {(sha is null ? "id" : "timestamp")} is missing.");
                continue;
            }
            drafts.Add(CommitDrafts.Commit(new CommitInfo
            {
                Repository = repository,
                Sha = sha,
                Branch = branch,
                AuthorName = commit.Str("author", "name"),
                AuthorEmail = commit.Str("author", "email"),
                Message = commit.Str("message") ?? "",
                Files = [.. commit.Strings("added"), .. commit.Strings("modified"), .. commit.Strings("removed")],
                Tags = tags,
                Url = commit.Str("url"),
                Timestamp = timestamp.Value,
            }, provenance));
        }
        return new ParsedDelivery { Drafts = drafts, Failures = failures };
    }

    private static ParsedDelivery Deployment(JsonElement root, JsonElement? deployment, JsonElement? status, Provenance provenance)
    {
        var repository = root.Str("repository", "full_name");
        var id = deployment?.Str("id");
        var environment = status?.Str("environment") ?? deployment?.Str("environment");
        var timestamp = status?.Time("created_at") ?? deployment?.Time("created_at");
        if (repository is null || deployment is null || id is null || environment is null || timestamp is null)
        {
            var missing = repository is null ? "repository.full_name" : deployment is null || id is null ? "deployment.id"
                : environment is null ? "deployment.environment" : "created_at";
            return new ParsedDelivery { Failures = [$"{missing} is missing."] };
        }
        var payload = deployment.Value.Get("payload");
        var draft = CommitDrafts.Deployment(new DeploymentInfo
        {
            Repository = repository,
            DeploymentId = id,
            Environment = environment,
            Sha = deployment.Value.Str("sha"),
            Ref = deployment.Value.Str("ref"),
            Status = status?.Str("state") ?? "created",
            Service = payload?.Str("service") ?? payload?.Str("component"),
            Url = status?.Str("target_url") ?? status?.Str("environment_url") ?? status?.Str("log_url") ?? deployment.Value.Str("url"),
            Description = status?.Str("description") ?? deployment.Value.Str("description"),
            Creator = (status ?? deployment)?.Str("creator", "login"),
            Timestamp = timestamp.Value,
        }, provenance);
        return new ParsedDelivery { Drafts = [draft] };
    }

    private static ParsedDelivery WorkflowRun(JsonElement root, bool keepSuccesses, Provenance provenance)
    {
        if (root.Str("action") != "completed")
        {
            return ParsedDelivery.Ignore($"workflow_run {root.Str("action")}: only completed runs become events.");
        }
        var run = root.Get("workflow_run");
        return Ci(root, run, keepSuccesses, "github_actions", provenance, r => new CiResult
        {
            Provider = "github_actions",
            Repository = r.Repository,
            RunId = r.Run.Str("id")!,
            Workflow = r.Run.Str("name") ?? root.Str("workflow", "name"),
            Conclusion = r.Conclusion,
            Sha = r.Run.Str("head_sha"),
            Branch = r.Run.Str("head_branch"),
            DefaultBranch = r.DefaultBranch,
            Url = r.Run.Str("html_url"),
            Timestamp = r.Run.Time("updated_at") ?? r.Run.Time("run_started_at") ?? r.Run.Time("created_at") ?? default,
            Extra = new JsonObject
            {
                ["run_number"] = r.Run.Str("run_number"),
                ["run_attempt"] = r.Run.Str("run_attempt"),
                ["trigger"] = r.Run.Str("event"),
            },
        });
    }

    private static ParsedDelivery WorkflowJob(JsonElement root, bool keepSuccesses, Provenance provenance)
    {
        if (root.Str("action") != "completed")
        {
            return ParsedDelivery.Ignore($"workflow_job {root.Str("action")}: only completed jobs become events.");
        }
        var job = root.Get("workflow_job");
        return Ci(root, job, keepSuccesses, "github_actions", provenance, r => new CiResult
        {
            Provider = "github_actions",
            Repository = r.Repository,
            RunId = r.Run.Str("run_id") ?? "unknown",
            JobId = r.Run.Str("id"),
            Workflow = r.Run.Str("workflow_name"),
            Job = r.Run.Str("name"),
            // A failed job names its failed step; a successful one the step that released to production, if any.
            Step = r.Run.Items("steps").FirstOrDefault(s => CiDrafts.IsFailure(s.Str("conclusion"))
                    || (CiDrafts.IsSuccess(r.Conclusion) && ReleaseSteps.IsRelease(s.Str("name")))) is { ValueKind: JsonValueKind.Object } step
                ? step.Str("name") : null,
            Conclusion = r.Conclusion,
            Sha = r.Run.Str("head_sha"),
            Branch = r.Run.Str("head_branch"),
            DefaultBranch = r.DefaultBranch,
            Url = r.Run.Str("html_url"),
            Timestamp = r.Run.Time("completed_at") ?? r.Run.Time("started_at") ?? default,
            Extra = new JsonObject { ["run_attempt"] = r.Run.Str("run_attempt") },
        });
    }

    private static ParsedDelivery CheckRun(JsonElement root, bool keepSuccesses, Provenance provenance)
    {
        if (root.Str("action") != "completed")
        {
            return ParsedDelivery.Ignore($"check_run {root.Str("action")}: only completed check runs become events.");
        }
        var check = root.Get("check_run");
        return Ci(root, check, keepSuccesses, "github_checks", provenance, r => new CiResult
        {
            Provider = "github_checks",
            Repository = r.Repository,
            RunId = r.Run.Str("check_suite", "id") ?? "unknown",
            JobId = r.Run.Str("id"),
            Job = r.Run.Str("name"),
            Conclusion = r.Conclusion,
            Sha = r.Run.Str("head_sha"),
            Branch = r.Run.Str("check_suite", "head_branch"),
            DefaultBranch = r.DefaultBranch,
            Url = r.Run.Str("html_url") ?? r.Run.Str("details_url"),
            Timestamp = r.Run.Time("completed_at") ?? r.Run.Time("started_at") ?? default,
            Extra = new JsonObject
            {
                ["check_app"] = r.Run.Str("app", "name"),
                ["summary"] = r.Run.Str("output", "title"),
            },
        });
    }

    private static ParsedDelivery CheckSuite(JsonElement root, bool keepSuccesses, Provenance provenance)
    {
        if (root.Str("action") != "completed")
        {
            return ParsedDelivery.Ignore($"check_suite {root.Str("action")}: only completed check suites become events.");
        }
        var suite = root.Get("check_suite");
        return Ci(root, suite, keepSuccesses, "github_checks", provenance, r => new CiResult
        {
            Provider = "github_checks",
            Repository = r.Repository,
            RunId = r.Run.Str("id")!,
            Conclusion = r.Conclusion,
            Sha = r.Run.Str("head_sha"),
            Branch = r.Run.Str("head_branch"),
            DefaultBranch = r.DefaultBranch,
            Url = r.Run.Str("url"),
            Timestamp = r.Run.Time("updated_at") ?? r.Run.Time("created_at") ?? default,
            Extra = new JsonObject { ["check_app"] = r.Run.Str("app", "name") },
        });
    }

    private readonly record struct RunContext(JsonElement Run, string Repository, string Conclusion, string? DefaultBranch);

    private static ParsedDelivery Ci(JsonElement root, JsonElement? run, bool keepSuccesses, string via, Provenance provenance, Func<RunContext, CiResult> describe)
    {
        var repository = root.Str("repository", "full_name");
        if (run is not { ValueKind: JsonValueKind.Object } body || repository is null || body.Str("id") is null)
        {
            return new ParsedDelivery { Failures = [repository is null ? "repository.full_name is missing." : "the run or its id is missing."] };
        }
        var conclusion = body.Str("conclusion") ?? "none";
        var result = describe(new RunContext(body, repository, conclusion, root.Str("repository", "default_branch")));
        if (result.Timestamp == default)
        {
            return new ParsedDelivery { Failures = ["the run has no completion time."] };
        }
        var draft = CiDrafts.Draft(result, keepSuccesses, via, provenance);
        return draft is null
            ? ParsedDelivery.Ignore($"conclusion '{conclusion}' is not kept{(CiDrafts.IsSuccess(conclusion) ? " (keep_successes is off)" : "")}.")
            : new ParsedDelivery { Drafts = [draft] };
    }
}
