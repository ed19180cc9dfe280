namespace RootCause.Linking;

/// <summary>What the scores mean for a link.</summary>
public enum LinkDecision
{
    /// <summary>At or above the auto-link threshold.</summary>
    Link,
    /// <summary>Between the suggestion and the auto-link threshold: an engineer decides.</summary>
    Suggest,
    /// <summary>Below the suggestion threshold.</summary>
    None,
}

/// <summary>One strategy's part of a confidence: its sub-score in [0, 1], its weight, and why.</summary>
[GenerateSerializer, Immutable, Alias("rc.StrategyScore")]
public sealed record StrategyScore(
    [property: Id(0)] string Strategy,
    [property: Id(1)] double Score,
    [property: Id(2)] double Weight,
    [property: Id(3)] string Reason);

/// <summary>How well one event explains one investigation, with every strategy's reason.</summary>
[GenerateSerializer, Immutable, Alias("rc.LinkAssessment")]
public sealed record LinkAssessment
{
    [Id(0)] public required Guid InvestigationId { get; init; }
    [Id(1)] public required Guid EventId { get; init; }
    /// <summary>The combined confidence in [0, 1].</summary>
    [Id(2)] public double Confidence { get; init; }
    /// <summary>What the thresholds make of <see cref="Confidence"/>.</summary>
    [Id(3)] public LinkDecision Decision { get; init; }
    /// <summary>Whether the event is linked to the investigation right now (by anyone).</summary>
    [Id(4)] public bool Linked { get; init; }
    [Id(5)] public IReadOnlyList<StrategyScore> Strategies { get; init; } = [];
    /// <summary>One sentence a responder can read.</summary>
    [Id(6)] public string Summary { get; init; } = "";
    /// <summary>The catalog version the assessment used.</summary>
    [Id(7)] public long CatalogVersion { get; init; }
}

/// <summary>Settings of the scorer (configuration section "Linker").</summary>
[GenerateSerializer, Alias("rc.LinkerOptions")]
public sealed record LinkerOptions
{
    public const string Section = "Linker";

    /// <summary>How long before the start of impact an event can still explain it.</summary>
    [Id(0)] public TimeSpan LookBack { get; init; } = TimeSpan.FromHours(2);

    /// <summary>How long after detection an unresolved investigation keeps absorbing events.</summary>
    [Id(1)] public TimeSpan MaxAge { get; init; } = TimeSpan.FromHours(72);

    /// <summary>A deployment this close before detection is strong evidence.</summary>
    [Id(2)] public TimeSpan DeployHorizon { get; init; } = TimeSpan.FromHours(2);

    [Id(3)] public double LinkThreshold { get; init; } = 0.75;

    [Id(4)] public double SuggestThreshold { get; init; } = 0.6;

    [Id(5)] public double TimeWeight { get; init; } = 0.15;

    [Id(6)] public double ComponentWeight { get; init; } = 0.45;

    [Id(7)] public double EvidenceWeight { get; init; } = 0.30;

    [Id(8)] public double TagWeight { get; init; } = 0.10;

    /// <summary>Commits and CI runs take effect when deployed, possibly days later: their look-back is longer.</summary>
    [Id(9)] public TimeSpan ChangeLookBack { get; init; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Whether investigations that were created or whose linking fields changed are scored against
    /// existing events (<c>Linker:RetroLinking</c>). Off: only new events are linked, and
    /// <c>retro_linked_at</c> stays empty.
    /// </summary>
    [Id(10)] public bool RetroLinking { get; init; } = true;

    /// <summary>
    /// The time weight for symptoms (error spikes, anomalies, failing or slow spans): when they happen
    /// says more about them than it says about changes, whose look-back is days.
    /// </summary>
    [Id(12)] public double SymptomTimeWeight { get; init; } = 0.25;

    /// <summary>The evidence weight for symptoms (the rest of <see cref="TimeWeight"/> + <see cref="EvidenceWeight"/> goes to time).</summary>
    [Id(13)] public double SymptomEvidenceWeight { get; init; } = 0.20;

    /// <summary>Most events one retro-linking run scores (the most recent first within each lookup).</summary>
    [Id(11)] public int RetroLinkMaxEvents { get; init; } = 10_000;

    /// <summary>
    /// Whether the cluster sweeps for events stored but never evaluated and hands them to the linker
    /// again (<c>Linker:Sweep</c>, every 2 minutes). Off: an event whose hand-off was lost stays
    /// unevaluated until it is handed off by other means.
    /// </summary>
    [Id(14)] public bool Sweep { get; init; } = true;

    /// <summary>
    /// How soon after a change reached production a symptom of the component it changed still
    /// corroborates it (<c>Linker:CorroborationWindow</c>): a linked or suggested symptom of X in this
    /// window makes the change of X count as part of the incident's neighbourhood.
    /// </summary>
    [Id(15)] public TimeSpan CorroborationWindow { get; init; } = TimeSpan.FromHours(3);
}

/// <summary>Scores investigation/event pairs on the silo that is asked (a stateless worker).</summary>
[Alias("rc.ILinkScoringGrain")]
public interface ILinkScoringGrain : IGrainWithIntegerKey
{
    /// <summary>Every strategy's sub-score and reason for one pair, whether it is linked or not.</summary>
    Task<LinkAssessment> AssessAsync(Guid investigationId, Guid eventId);
}

/// <summary>Where an event stands with one investigation.</summary>
public enum EventLinkStatus
{
    /// <summary>Linked: by the linker above the auto-link threshold, by an accepted suggestion, or by hand.</summary>
    Linked,
    /// <summary>Between the thresholds: waits for an engineer to accept or reject it.</summary>
    Suggested,
    /// <summary>A suggestion an engineer rejected: the linker never suggests or links the pair again.</summary>
    Rejected,
    /// <summary>A link an engineer removed: the linker never links or suggests the pair again.</summary>
    Unlinked,
}

/// <summary>
/// One event/investigation pair's link record, kept on the event: its status, the assessment that
/// led to it (confidence and every strategy's reason), and who decided it and when.
/// </summary>
[GenerateSerializer, Immutable, Alias("rc.EventLink")]
public sealed record EventLink
{
    [Id(0)] public required Guid InvestigationId { get; init; }
    [Id(1)] public EventLinkStatus Status { get; init; }
    /// <summary>The confidence of the last assessment, in [0, 1]; null for a link made by hand without one.</summary>
    [Id(2)] public double? Confidence { get; init; }
    [Id(3)] public string Summary { get; init; } = "";
    [Id(4)] public IReadOnlyList<StrategyScore> Strategies { get; init; } = [];
    /// <summary><c>linker</c> for the linker's own decisions, else the engineer who decided.</summary>
    [Id(5)] public string DecidedBy { get; init; } = LinkDeciders.Linker;
    [Id(6)] public DateTimeOffset DecidedAt { get; init; }
    /// <summary>When the assessment was computed.</summary>
    [Id(7)] public DateTimeOffset? AssessedAt { get; init; }
    /// <summary>An engineer's reason for an accept, reject or unlink, when given.</summary>
    [Id(8)] public string? Note { get; init; }

    /// <summary>A decision an engineer made, which the linker must never override.</summary>
    public bool IsHumanDecision => DecidedBy != LinkDeciders.Linker;
}

public static class LinkDeciders
{
    /// <summary>The <see cref="EventLink.DecidedBy"/> of the linker's own decisions.</summary>
    public const string Linker = "linker";
}

