namespace RootCause.Investigations;

/// <summary>Where an investigation stands. JSON: <c>open</c>, <c>in_progress</c>, <c>resolved</c>, <c>closed</c>.</summary>
public enum InvestigationStatus
{
    Open,
    InProgress,
    Resolved,
    Closed,
}

/// <summary>How bad the impact is. Shared by investigations and (with <c>info</c>) events.</summary>
public enum ImpactSeverity
{
    Critical,
    High,
    Medium,
    Low,
}

/// <summary>How urgently it is worked on, p0 first.</summary>
public enum Priority
{
    P0,
    P1,
    P2,
    P3,
}

/// <summary>What a note records.</summary>
public enum NoteKind
{
    Note,
    RootCause,
    Remediation,
    Lesson,
}
