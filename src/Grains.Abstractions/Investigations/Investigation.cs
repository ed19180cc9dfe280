namespace RootCause.Investigations;

/// <summary>An investigation as callers see it. <see cref="Version"/> is the optimistic-concurrency token (ETag).</summary>
[GenerateSerializer, Immutable, Alias("rc.Investigation")]
public sealed record Investigation
{
    [Id(0)] public required Guid Id { get; init; }
    [Id(1)] public required string Title { get; init; }
    [Id(2)] public string? Description { get; init; }
    [Id(3)] public InvestigationStatus Status { get; init; }
    [Id(4)] public ImpactSeverity ImpactSeverity { get; init; }
    [Id(5)] public Priority Priority { get; init; }
    [Id(6)] public DateTimeOffset DetectedAt { get; init; }
    [Id(7)] public DateTimeOffset? StartedAt { get; init; }
    [Id(8)] public DateTimeOffset? ResolvedAt { get; init; }
    [Id(9)] public string? RootCause { get; init; }
    [Id(10)] public string? Remediation { get; init; }
    [Id(11)] public string? LessonsLearned { get; init; }
    [Id(12)] public string? ComponentAffected { get; init; }
    [Id(13)] public string? ServiceAffected { get; init; }
    [Id(14)] public IReadOnlyList<string> Tags { get; init; } = [];
    // Id 15 is retired: it held the linked events' ids, which are now read from the events' link records.
    [Id(16)] public IReadOnlyList<Guid> RelatedInvestigationIds { get; init; } = [];
    [Id(17)] public string? CreatedBy { get; init; }
    [Id(18)] public string? AssignedTo { get; init; }
    [Id(19)] public DateTimeOffset CreatedAt { get; init; }
    [Id(20)] public DateTimeOffset UpdatedAt { get; init; }
    [Id(21)] public DateTimeOffset? DeletedAt { get; init; }
    [Id(22)] public long Version { get; init; }
    [Id(23)] public int NoteCount { get; init; }
    /// <summary>
    /// When the linker last scored existing events against this investigation's current component,
    /// service, times and tags (retro-linking); null while that is still pending.
    /// </summary>
    [Id(24)] public DateTimeOffset? RetroLinkedAt { get; init; }
}

/// <summary>
/// The editable fields of an investigation, used to create one and to replace its fields (PUT).
/// Status changes made through it follow the same workflow as close/reopen.
/// </summary>
[GenerateSerializer, Immutable, Alias("rc.InvestigationFields")]
public sealed record InvestigationFields
{
    [Id(0)] public required string Title { get; init; }
    [Id(1)] public string? Description { get; init; }
    [Id(2)] public InvestigationStatus Status { get; init; } = InvestigationStatus.Open;
    [Id(3)] public ImpactSeverity ImpactSeverity { get; init; } = ImpactSeverity.Medium;
    [Id(4)] public Priority Priority { get; init; } = Priority.P2;
    /// <summary>When the problem was noticed; defaults to now on create.</summary>
    [Id(5)] public DateTimeOffset? DetectedAt { get; init; }
    /// <summary>When the impact began (at or before detection); optional.</summary>
    [Id(6)] public DateTimeOffset? StartedAt { get; init; }
    /// <summary>When it was resolved; only meaningful for resolved/closed, set automatically if absent.</summary>
    [Id(7)] public DateTimeOffset? ResolvedAt { get; init; }
    [Id(8)] public string? RootCause { get; init; }
    [Id(9)] public string? Remediation { get; init; }
    [Id(10)] public string? LessonsLearned { get; init; }
    [Id(11)] public string? ComponentAffected { get; init; }
    [Id(12)] public string? ServiceAffected { get; init; }
    [Id(13)] public IReadOnlyList<string> Tags { get; init; } = [];
    [Id(14)] public string? CreatedBy { get; init; }
    [Id(15)] public string? AssignedTo { get; init; }
}

/// <summary>A note on an investigation: markdown written by a responder.</summary>
[GenerateSerializer, Immutable, Alias("rc.Note")]
public sealed record Note
{
    [Id(0)] public required Guid Id { get; init; }
    [Id(1)] public required string Author { get; init; }
    [Id(2)] public DateTimeOffset CreatedAt { get; init; }
    [Id(3)] public NoteKind Kind { get; init; }
    [Id(4)] public required string Body { get; init; }
}

/// <summary>A note to add.</summary>
[GenerateSerializer, Immutable, Alias("rc.NewNote")]
public sealed record NewNote
{
    [Id(0)] public required string Author { get; init; }
    [Id(1)] public NoteKind Kind { get; init; } = NoteKind.Note;
    [Id(2)] public required string Body { get; init; }
}
