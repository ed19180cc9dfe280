using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RootCause.Connectors.Ci;
using RootCause.Connectors.Git;
using RootCause.Events;

namespace RootCause.Connectors.GitLab;

/// <summary>
/// GitLab webhooks: the token check and the parsers of push, tag push, pipeline and job hooks.
/// The hook is named by the <c>X-Gitlab-Event</c> header (<c>Push Hook</c>) and, in the body,
/// by <c>object_kind</c> (<c>push</c>); the body wins where they differ (system hooks send
/// <c>System Hook</c> as the header).
/// </summary>
public static class GitLabWebhook
{
    public const string TokenHeader = "X-Gitlab-Token";
    public const string EventHeader = "X-Gitlab-Event";
    public static readonly IReadOnlyList<string> DeliveryHeaders = ["X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID"];

    /// <summary>Constant time over SHA-256 digests of both, so neither content nor length leaks.</summary>
    public static bool TokenMatches(string secret, string? token)
    {
        if (token is null)
        {
            return false;
        }
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    public static ParsedDelivery Parse(string? eventHeader, JsonElement root, bool keepSuccesses, Provenance provenance)
    {
        var kind = root.Str("object_kind") ?? eventHeader switch
        {
            "Push Hook" => "push",
            "Tag Push Hook" => "tag_push",
            "Pipeline Hook" => "pipeline",
            "Job Hook" => "build",
            _ => null,
        };
        return kind switch
        {
            "push" or "tag_push" => Push(root, kind == "tag_push", provenance with { Via = "gitlab_push" }),
            "pipeline" => Pipeline(root, keepSuccesses, provenance),
            "build" => Job(root, keepSuccesses, provenance),
            _ => ParsedDelivery.Ignore($"GitLab hook '{kind ?? eventHeader}' is not one RootCause reads (Push Hook, Tag Push Hook, Pipeline Hook, Job Hook)."),
        };
    }

    private static ParsedDelivery Push(JsonElement root, bool tagPush, Provenance provenance)
    {
        if (root.Str("after") is { } after && after.All(c => c == '0'))
        {
            return ParsedDelivery.Ignore("push deleted a branch or tag: no commits.");
        }
        var repository = root.Str("project", "path_with_namespace");
        if (repository is null)
        {
            return new ParsedDelivery { Failures = ["project.path_with_namespace is missing."] };
        }
        var reference = root.Str("ref") ?? "";
        var branch = !tagPush && reference.StartsWith("refs/heads/", StringComparison.Ordinal) ? reference["refs/heads/".Length..] : null;
        string[] tags = tagPush && reference.StartsWith("refs/tags/", StringComparison.Ordinal) ? [reference["refs/tags/".Length..]] : [];
        var commits = root.Items("commits").ToList();
        if (commits.Count == 0)
        {
            return ParsedDelivery.Ignore(tagPush
                ? "tag push without commit details (the git poller records tags of commits it reads)."
                : "push without commits.");
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
            // A tag push lists the tagged commit; only it carries the tag.
            var isTagged = tags.Length > 0 && sha == (root.Str("checkout_sha") ?? root.Str("after"));
            drafts.Add(CommitDrafts.Commit(new CommitInfo
            {
                Repository = repository,
                Sha = sha,
                Branch = branch,
                AuthorName = commit.Str("author", "name"),
                AuthorEmail = commit.Str("author", "email"),
                Message = commit.Str("message") ?? commit.Str("title") ?? "",
                Files = [.. commit.Strings("added"), .. commit.Strings("modified"), .. commit.Strings("removed")],
                Tags = isTagged ? tags : [],
                Url = commit.Str("url"),
                Timestamp = timestamp.Value,
            }, provenance));
        }
        return new ParsedDelivery { Drafts = drafts, Failures = failures };
    }

    private static ParsedDelivery Pipeline(JsonElement root, bool keepSuccesses, Provenance provenance)
    {
        var pipeline = root.Get("object_attributes");
        var repository = root.Str("project", "path_with_namespace");
        var id = pipeline?.Str("id");
        if (pipeline is not { } p || repository is null || id is null)
        {
            return new ParsedDelivery { Failures = [repository is null ? "project.path_with_namespace is missing." : "object_attributes.id is missing."] };
        }
        var status = p.Str("status") ?? "unknown";
        if (!CiDrafts.IsFailure(status) && !CiDrafts.IsSuccess(status))
        {
            return ParsedDelivery.Ignore($"pipeline {status}: only finished pipelines become events.");
        }
        // The job that broke the pipeline: the first failed one that was not allowed to fail.
        var failedJob = root.Items("builds")
            .Where(b => b.Str("status") == "failed")
            .OrderBy(b => b.Bool("allow_failure") ? 1 : 0)
            .ThenBy(b => b.Time("finished_at") ?? DateTimeOffset.MaxValue)
            .Select(b => (JsonElement?)b)
            .FirstOrDefault();
        // A successful pipeline names the job that released to production, if one did: a job that
        // started a production environment, or whose name or stage says it releases.
        var releaseJob = CiDrafts.IsSuccess(status)
            ? root.Items("builds")
                .Where(b => b.Str("status") == "success" && ReleaseSteps.Describe(null, b.Str("name"), b.Str("stage"), DeployedEnvironment(b)) is not null)
                .Select(b => (JsonElement?)b)
                .FirstOrDefault()
            : null;
        var named = failedJob ?? releaseJob;
        var webUrl = root.Str("project", "web_url");
        var result = new CiResult
        {
            Provider = "gitlab_ci",
            Repository = repository,
            RunId = id,
            Workflow = p.Str("name") ?? repository,
            Job = named?.Str("name"),
            Stage = named?.Str("stage"),
            Environment = named is { } n ? DeployedEnvironment(n) : null,
            Conclusion = status,
            Sha = p.Str("sha"),
            Branch = p.Bool("tag") ? null : p.Str("ref"),
            DefaultBranch = root.Str("project", "default_branch"),
            Url = p.Str("url") ?? (webUrl is null ? null : $"{webUrl}/-/pipelines/{id}"),
            Timestamp = p.Time("finished_at") ?? p.Time("created_at") ?? default,
            Extra = new JsonObject
            {
                ["failure_reason"] = failedJob?.Str("failure_reason"),
                ["trigger"] = p.Str("source"),
            },
        };
        return Finish(result, keepSuccesses, provenance);
    }

    private static ParsedDelivery Job(JsonElement root, bool keepSuccesses, Provenance provenance)
    {
        var repository = root.Str("project", "path_with_namespace") ?? PathOf(root.Str("repository", "homepage"));
        var jobId = root.Str("build_id");
        if (repository is null || jobId is null)
        {
            return new ParsedDelivery { Failures = [repository is null ? "project.path_with_namespace is missing." : "build_id is missing."] };
        }
        var status = root.Str("build_status") ?? "unknown";
        if (!CiDrafts.IsFailure(status) && !CiDrafts.IsSuccess(status))
        {
            return ParsedDelivery.Ignore($"job {status}: only finished jobs become events.");
        }
        var webUrl = root.Str("project", "web_url") ?? root.Str("repository", "homepage");
        var result = new CiResult
        {
            Provider = "gitlab_ci",
            Repository = repository,
            RunId = root.Str("pipeline_id") ?? "unknown",
            JobId = jobId,
            Workflow = repository,
            Job = root.Str("build_name"),
            Stage = root.Str("build_stage"),
            Environment = DeployedEnvironment(root),
            Conclusion = status,
            Sha = root.Str("sha") ?? root.Str("checkout_sha"),
            Branch = root.Bool("tag") ? null : root.Str("ref"),
            DefaultBranch = root.Str("project", "default_branch"),
            AllowedToFail = root.Bool("build_allow_failure"),
            Url = webUrl is null ? null : $"{webUrl}/-/jobs/{jobId}",
            Timestamp = root.Time("build_finished_at") ?? root.Time("build_started_at") ?? root.Time("build_created_at") ?? default,
            Extra = new JsonObject { ["failure_reason"] = root.Str("build_failure_reason") },
        };
        return Finish(result, keepSuccesses, provenance);
    }

    private static ParsedDelivery Finish(CiResult result, bool keepSuccesses, Provenance provenance)
    {
        if (result.Timestamp == default)
        {
            return new ParsedDelivery { Failures = ["the pipeline or job has no time."] };
        }
        var draft = CiDrafts.Draft(result, keepSuccesses, "gitlab_pipeline", provenance);
        return draft is null
            ? ParsedDelivery.Ignore($"status '{result.Conclusion}' is not kept (keep_successes is off).")
            : new ParsedDelivery { Drafts = [draft] };
    }

    /// <summary>
    /// The environment a job deploys to (its <c>environment</c>, when the action starts a deployment):
    /// the tier when it is production, else the name. Null for jobs without one, and for stops and prepares.
    /// </summary>
    private static string? DeployedEnvironment(JsonElement job)
    {
        if (job.Get("environment") is not { ValueKind: JsonValueKind.Object } environment
            || environment.Str("action") is { } action && action != "start")
        {
            return null;
        }
        return environment.Str("deployment_tier") == "production" ? "production" : environment.Str("name");
    }

    /// <summary><c>http://gitlab.example.com/group/project</c> → <c>group/project</c>.</summary>
    private static string? PathOf(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.AbsolutePath.Trim('/') is { Length: > 0 } path && path.Contains('/') ? path : null;
}
