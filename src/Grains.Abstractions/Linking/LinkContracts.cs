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

    [Id(4)] public double SuggestThreshold { get; init; } = 0.45;

    [Id(5)] public double TimeWeight { get; init; } = 0.15;

    [Id(6)] public double ComponentWeight { get; init; } = 0.45;

    [Id(7)] public double EvidenceWeight { get; init; } = 0.30;

    [Id(8)] public double TagWeight { get; init; } = 0.10;

    /// <summary>Commits and CI runs take effect when deployed, possibly days later: their look-back is longer.</summary>
    [Id(9)] public TimeSpan ChangeLookBack { get; init; } = TimeSpan.FromDays(7);
}

/// <summary>Scores investigation/event pairs on the silo that is asked (a stateless worker).</summary>
[Alias("rc.ILinkScoringGrain")]
public interface ILinkScoringGrain : IGrainWithIntegerKey
{
    /// <summary>Every strategy's sub-score and reason for one pair, whether it is linked or not.</summary>
    Task<LinkAssessment> AssessAsync(Guid investigationId, Guid eventId);
}
