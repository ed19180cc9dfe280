using System.Text.Json.Nodes;
using RootCause.Events;

namespace RootCause.Connectors.Ci;

/// <summary>A finished CI run or job, whichever provider reported it.</summary>
public sealed record CiResult
{
    /// <summary><c>github_actions</c>, <c>github_checks</c> or <c>gitlab_ci</c>.</summary>
    public required string Provider { get; init; }
    public required string Repository { get; init; }
    public required string RunId { get; init; }
    public string? JobId { get; init; }
    public string? Workflow { get; init; }
    public string? Job { get; init; }
    public string? Step { get; init; }
    public string? Stage { get; init; }

    /// <summary>The environment the run deployed to, when the provider says (GitLab's <c>environment</c> of a job).</summary>
    public string? Environment { get; init; }
    public required string Conclusion { get; init; }
    public string? Sha { get; init; }
    public string? Branch { get; init; }
    public string? DefaultBranch { get; init; }
    public string? Url { get; init; }

    /// <summary>A failure the pipeline tolerates (GitLab's <c>allow_failure</c>).</summary>
    public bool AllowedToFail { get; init; }
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>Provider-specific extras (run number, failure reason, check app …), kept in data.</summary>
    public JsonObject Extra { get; init; } = [];
}

/// <summary>
/// The <c>ci_failure</c> / <c>ci_success</c> shape of docs/events.md and its severity, for every
/// CI provider: a failure on the default branch is <c>high</c> (what is deployed is broken),
/// elsewhere <c>medium</c>, a tolerated failure <c>low</c>, a success <c>info</c>.
/// </summary>
public static class CiDrafts
{
    public static bool IsFailure(string? conclusion) => conclusion is "failure" or "failed" or "timed_out" or "startup_failure";

    public static bool IsSuccess(string? conclusion) => conclusion is "success";

    /// <summary>A successful run or job that released to production (<see cref="ReleaseSteps"/>): a deployment, kept whatever <c>keep_successes</c> says.</summary>
    public static bool IsRelease(CiResult result) =>
        IsSuccess(result.Conclusion) && ReleaseSteps.Describe(result.Step, result.Job, result.Stage, result.Environment) is not null;

    /// <summary>
    /// The event for a finished run, or null when its conclusion is not kept (cancelled, skipped,
    /// neutral, or a success not asked for that released nothing to production).
    /// </summary>
    public static EventDraft? Draft(CiResult result, bool keepSuccesses, string via, Provenance provenance)
    {
        var failed = IsFailure(result.Conclusion);
        if (!failed && !(IsSuccess(result.Conclusion) && (keepSuccesses || IsRelease(result))))
        {
            return null;
        }
        var data = new JsonObject
        {
            ["provider"] = result.Provider,
            ["repository"] = result.Repository,
            ["workflow"] = result.Workflow,
            ["job"] = result.Job,
            ["step"] = result.Step,
            ["conclusion"] = result.Conclusion,
            ["sha"] = result.Sha,
            ["branch"] = result.Branch,
            ["url"] = result.Url,
            ["run_id"] = result.RunId,
        };
        if (result.Stage is not null)
        {
            data["stage"] = result.Stage;
        }
        if (result.Environment is not null)
        {
            data["environment"] = result.Environment;
        }
        if (result.JobId is not null)
        {
            data["job_id"] = result.JobId;
        }
        foreach (var (key, value) in result.Extra)
        {
            data[key] = value?.DeepClone();
        }
        var severity = !failed ? EventSeverity.Info
            : result.AllowedToFail ? EventSeverity.Low
            : result.Branch is not null && result.Branch == result.DefaultBranch ? EventSeverity.High
            : EventSeverity.Medium;
        var sourceId = result.JobId is null
            ? $"{result.Provider}:{result.Repository}:{result.RunId}"
            : $"{result.Provider}:{result.Repository}:{result.RunId}:{result.JobId}";
        return ConnectorDrafts.Create(EventSource.Ci, sourceId, failed ? "ci_failure" : "ci_success", result.Timestamp, severity,
            data, provenance with { Via = via }, rawUrl: result.Url);
    }
}
