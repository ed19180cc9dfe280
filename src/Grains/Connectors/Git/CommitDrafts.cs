using System.Text.Json.Nodes;
using RootCause.Events;

namespace RootCause.Connectors.Git;

/// <summary>A commit as any route sees it: the poller, a GitHub push, a GitLab push.</summary>
public sealed record CommitInfo
{
    public required string Repository { get; init; }
    public required string Sha { get; init; }
    public string? Branch { get; init; }
    public string? AuthorName { get; init; }
    public string? AuthorEmail { get; init; }
    public string Message { get; init; } = "";
    public IReadOnlyList<string> Files { get; init; } = [];
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? Url { get; init; }
    public DateTimeOffset Timestamp { get; init; }
}

/// <summary>A deployment as GitHub reports it (created, then its statuses).</summary>
public sealed record DeploymentInfo
{
    public required string Repository { get; init; }
    public required string DeploymentId { get; init; }
    public required string Environment { get; init; }
    public string? Sha { get; init; }
    public string? Ref { get; init; }
    public required string Status { get; init; }
    public string? Service { get; init; }
    public string? Url { get; init; }
    public string? Description { get; init; }
    public string? Creator { get; init; }
    public DateTimeOffset Timestamp { get; init; }
}

/// <summary>
/// The git event shapes of docs/events.md (<c>commit</c>, <c>deployment</c>), built in one place
/// for every route, so a commit seen by a push webhook and by the poller carries the same data
/// and the same identity.
/// </summary>
public static class CommitDrafts
{
    /// <summary>Paths kept per commit; a larger change keeps the first ones and says so.</summary>
    public const int MaxFiles = 1000;

    /// <summary>Characters of a commit message kept.</summary>
    public const int MaxMessageLength = 16 * 1024;

    public static EventDraft Commit(CommitInfo commit, Provenance provenance)
    {
        var files = commit.Files.Distinct(StringComparer.Ordinal).ToList();
        var data = new JsonObject
        {
            ["repository"] = commit.Repository,
            ["sha"] = commit.Sha,
            ["branch"] = commit.Branch,
            ["author"] = new JsonObject { ["name"] = commit.AuthorName, ["email"] = commit.AuthorEmail },
            ["message"] = commit.Message.Length > MaxMessageLength ? commit.Message[..MaxMessageLength] : commit.Message.TrimEnd(),
            ["files"] = new JsonArray([.. files.Take(MaxFiles).Select(f => JsonValue.Create(f))]),
            ["url"] = commit.Url,
        };
        if (files.Count > MaxFiles)
        {
            data["files_truncated"] = files.Count;
        }
        if (commit.Tags.Count > 0)
        {
            data["tags"] = new JsonArray([.. commit.Tags.Select(t => JsonValue.Create(t))]);
        }
        return ConnectorDrafts.Create(EventSource.Git, $"{commit.Repository}@{commit.Sha}", "commit", commit.Timestamp, EventSeverity.Info,
            data, provenance, dedupKey: $"commit:{commit.Sha}", rawUrl: commit.Url);
    }

    public static EventDraft Deployment(DeploymentInfo deployment, Provenance provenance)
    {
        var data = new JsonObject
        {
            ["repository"] = deployment.Repository,
            ["sha"] = deployment.Sha,
            ["ref"] = deployment.Ref,
            ["environment"] = deployment.Environment,
            ["status"] = deployment.Status,
            ["deployment_id"] = deployment.DeploymentId,
            ["url"] = deployment.Url,
        };
        if (deployment.Service is not null)
        {
            data["service"] = deployment.Service;
        }
        if (deployment.Description is not null)
        {
            data["description"] = deployment.Description;
        }
        if (deployment.Creator is not null)
        {
            data["creator"] = deployment.Creator;
        }
        var severity = deployment.Status is "failure" or "error" ? EventSeverity.High : EventSeverity.Info;
        return ConnectorDrafts.Create(EventSource.Git,
            $"deploy:{deployment.Repository}:{deployment.Environment}:{deployment.DeploymentId}", "deployment", deployment.Timestamp, severity,
            data, provenance, dedupKey: $"deployment:{deployment.Repository}:{deployment.DeploymentId}", rawUrl: deployment.Url);
    }
}
