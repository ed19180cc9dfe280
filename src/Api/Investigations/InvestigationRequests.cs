using RootCause.Api.Common;
using RootCause.Common;
using RootCause.Investigations;
using Severity = RootCause.Investigations.ImpactSeverity;
using Urgency = RootCause.Investigations.Priority;

namespace RootCause.Api.Investigations;

/// <summary>The body of POST and PUT /api/investigations. Missing optional fields are empty.</summary>
public sealed record InvestigationRequest
{
    public string? Title { get; init; }
    public string? Description { get; init; }
    /// <summary>open, in_progress, resolved, closed (default open).</summary>
    public string? Status { get; init; }
    /// <summary>critical, high, medium, low (default medium).</summary>
    public string? ImpactSeverity { get; init; }
    /// <summary>p0, p1, p2, p3 (default p2).</summary>
    public string? Priority { get; init; }
    public DateTimeOffset? DetectedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
    public string? RootCause { get; init; }
    public string? Remediation { get; init; }
    public string? LessonsLearned { get; init; }
    public string? ComponentAffected { get; init; }
    public string? ServiceAffected { get; init; }
    public List<string>? Tags { get; init; }
    public string? CreatedBy { get; init; }
    public string? AssignedTo { get; init; }
    /// <summary>On PUT: the version you read, unless you send If-Match.</summary>
    public long? Version { get; init; }

    internal InvestigationFields ToFields()
    {
        var errors = new ValidationErrors();
        var fields = new InvestigationFields
        {
            Title = Title ?? "",
            Description = Description,
            Status = EnumField.Parse(errors, "status", Status, InvestigationStatus.Open),
            ImpactSeverity = EnumField.Parse(errors, "impact_severity", ImpactSeverity, Severity.Medium),
            Priority = EnumField.Parse(errors, "priority", Priority, Urgency.P2),
            DetectedAt = DetectedAt,
            StartedAt = StartedAt,
            ResolvedAt = ResolvedAt,
            RootCause = RootCause,
            Remediation = Remediation,
            LessonsLearned = LessonsLearned,
            ComponentAffected = ComponentAffected,
            ServiceAffected = ServiceAffected,
            Tags = Tags ?? [],
            CreatedBy = CreatedBy,
            AssignedTo = AssignedTo,
        };
        errors.ThrowIfAny();
        return fields;
    }
}

public sealed record NoteRequest
{
    public string? Author { get; init; }
    /// <summary>note, root_cause, remediation, lesson (default note).</summary>
    public string? Kind { get; init; }
    public string? Body { get; init; }

    internal NewNote ToNewNote()
    {
        var errors = new ValidationErrors();
        var kind = EnumField.Parse(errors, "kind", Kind, NoteKind.Note);
        errors.ThrowIfAny();
        return new NewNote { Author = Author ?? "", Body = Body ?? "", Kind = kind };
    }
}

public sealed record LinkEventRequest
{
    public Guid? EventId { get; init; }
    /// <summary>Who decided (recorded on the link); "api" when absent.</summary>
    public string? DecidedBy { get; init; }
    /// <summary>Why, in a sentence (optional, recorded on the link).</summary>
    public string? Note { get; init; }
}

/// <summary>The body of accepting or rejecting a suggestion (optional).</summary>
public sealed record LinkDecisionRequest
{
    public string? DecidedBy { get; init; }
    public string? Note { get; init; }

    internal const int MaxDecidedByLength = 200;
    internal const int MaxNoteLength = 2000;

    internal static void Validate(string? decidedBy, string? note)
    {
        var errors = new ValidationErrors();
        if (decidedBy is { Length: > MaxDecidedByLength })
        {
            errors.Add("decided_by", $"decided_by must be at most {MaxDecidedByLength} characters.");
        }
        if (note is { Length: > MaxNoteLength })
        {
            errors.Add("note", $"note must be at most {MaxNoteLength} characters.");
        }
        errors.ThrowIfAny();
    }
}

public sealed record RelateRequest
{
    public Guid? InvestigationId { get; init; }
}
