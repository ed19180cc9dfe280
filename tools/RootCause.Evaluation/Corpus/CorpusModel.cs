using System.Text.Json.Nodes;

namespace RootCause.Evaluation.Corpus;

/// <summary>
/// One expanded scenario: the investigations of the story and every event a replay ingests, with
/// times as seconds relative to the main investigation's detection so that a replay can anchor the
/// scenario anywhere in the past. This is the shape of <c>corpus/linking/scenarios/*.json.gz</c>.
/// </summary>
public sealed record CorpusScenario
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    /// <summary>What kind of failure the story is (bad_deploy, config_change, dependency_saturation, ...).</summary>
    public required string Kind { get; init; }
    /// <summary>Where the cause lies relative to the affected component: itself, a dependency, the platform, outside git.</summary>
    public required string CauseLocation { get; init; }
    public required string Story { get; init; }
    public IReadOnlyList<CorpusInvestigation> Investigations { get; init; } = [];
    public IReadOnlyList<CorpusEvent> Events { get; init; } = [];
    /// <summary>The labels: which event explains which investigation. Everything not listed explains nothing.</summary>
    public IReadOnlyList<TruthLink> GroundTruth { get; init; } = [];

    public CorpusInvestigation Main => Investigations.Single(i => i.Key == CorpusInvestigation.MainKey);
}

/// <summary>An investigation as a responder filed it; times are seconds relative to the main detection.</summary>
public sealed record CorpusInvestigation
{
    public const string MainKey = "main";
    public const string EarlierKey = "earlier";

    /// <summary><c>main</c> for the incident under evaluation, <c>earlier</c> for a resolved one before it.</summary>
    public required string Key { get; init; }
    public required string Title { get; init; }
    public string? Description { get; init; }
    public string Status { get; init; } = "open";
    public string ImpactSeverity { get; init; } = "medium";
    public string Priority { get; init; } = "p2";
    public long DetectedAt { get; init; }
    public long? StartedAt { get; init; }
    public long? ResolvedAt { get; init; }
    /// <summary>When the responder created it; a replay ingests the events dated before this first.</summary>
    public long OpenedAt { get; init; }
    public string? RootCause { get; init; }
    public string? ComponentAffected { get; init; }
    public string? ServiceAffected { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? CreatedBy { get; init; }
    public string? AssignedTo { get; init; }
}

/// <summary>
/// One event exactly as a connector would post it, except that times are offsets: <see cref="At"/>
/// in seconds, and <c>{t:SECONDS}</c> tokens inside <see cref="SourceId"/> and <see cref="Data"/>
/// strings (window starts, alert start times) that anchoring turns into ISO 8601 timestamps.
/// </summary>
public sealed record CorpusEvent
{
    /// <summary>The event's key inside its scenario (e001, e002, ... in time order).</summary>
    public required string Key { get; init; }
    public long At { get; init; }
    public required string Source { get; init; }
    public required string SourceId { get; init; }
    public required string EventType { get; init; }
    public string Severity { get; init; } = "info";
    public IReadOnlyList<string> Tags { get; init; } = [];
    public JsonObject Data { get; init; } = [];
    public JsonObject Metadata { get; init; } = [];
    /// <summary>Why the event is in the scenario: cause, symptom, or the kind of decoy (see <see cref="Roles"/>).</summary>
    public required string Role { get; init; }
}

/// <summary>A ground-truth link: the event explains the investigation with that key.</summary>
public sealed record TruthLink(string Event, string Investigation);

/// <summary>The roles an event plays in a scenario.</summary>
public static class Roles
{
    /// <summary>A change or condition that brought the incident about (ground truth).</summary>
    public const string Cause = "cause";
    /// <summary>What the incident looked like: errors, anomalies, failing spans, alerts (ground truth).</summary>
    public const string Symptom = "symptom";
    /// <summary>The cause or a symptom of the earlier, resolved incident (ground truth for that one).</summary>
    public const string EarlierIncident = "earlier_incident";
    /// <summary>A commit to a component that has nothing to do with the story.</summary>
    public const string OtherComponentCommit = "other_component_commit";
    /// <summary>A commit to the repository of the story outside the paths that matter (docs, CI, other modules, unmerged branches).</summary>
    public const string SameRepositoryCommit = "same_repository_commit";
    /// <summary>A deployment of something unrelated.</summary>
    public const string UnrelatedDeploy = "unrelated_deploy";
    /// <summary>Errors that are always there: other services' noise, the affected service's known warnings long before.</summary>
    public const string BackgroundErrors = "background_errors";
    /// <summary>An alert that fires and resolves again and again in another service.</summary>
    public const string FlappingAlert = "flapping_alert";
    /// <summary>CI runs of other pipelines: flaky tests, lint failures, green builds.</summary>
    public const string CiNoise = "ci_noise";
    /// <summary>Slow or failing spans elsewhere.</summary>
    public const string TraceNoise = "trace_noise";
    /// <summary>Metric anomalies elsewhere (batch jobs, autoscaling, daily peaks).</summary>
    public const string MetricNoise = "metric_noise";
    /// <summary>A hand-written red herring from the story (e.g. a harmless deploy of the affected service).</summary>
    public const string StoryDecoy = "story_decoy";

    /// <summary>The decoy kinds every scenario must contain.</summary>
    public static readonly IReadOnlyList<string> RequiredDecoys =
        [OtherComponentCommit, SameRepositoryCommit, UnrelatedDeploy, BackgroundErrors, FlappingAlert];
}
