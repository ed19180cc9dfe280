using RootCause.Common;

namespace RootCause.Investigations;

/// <summary>Field limits and the status workflow of an investigation.</summary>
public static class InvestigationRules
{
    public const int MaxTitleLength = 200;
    public const int MaxDescriptionLength = 10_000;
    public const int MaxNarrativeLength = 2_000;
    public const int MaxNameLength = 100;
    public const int MaxNoteLength = 20_000;
    public const int MaxNotes = 1_000;

    /// <summary>
    /// Allowed status moves. A closed investigation must be reopened before it is worked on again;
    /// anything else may move freely, and staying in place is always allowed.
    /// </summary>
    public static bool CanMove(InvestigationStatus from, InvestigationStatus to) => from == to || (from, to) switch
    {
        (InvestigationStatus.Closed, InvestigationStatus.Open) => true,
        (InvestigationStatus.Closed, _) => false,
        _ => true,
    };

    public static bool IsTerminal(InvestigationStatus status) =>
        status is InvestigationStatus.Resolved or InvestigationStatus.Closed;

    /// <summary>
    /// Validates and normalises fields, then applies them to <paramref name="state"/> following the
    /// workflow: entering resolved/closed sets resolved_at (to the given time, the existing one or
    /// now); leaving it for open/in_progress clears resolved_at.
    /// </summary>
    public static void Apply(InvestigationState state, InvestigationFields fields, DateTimeOffset now, bool creating)
    {
        var errors = new ValidationErrors();
        var title = errors.Required("title", fields.Title, MaxTitleLength);
        var description = errors.Optional("description", fields.Description, MaxDescriptionLength);
        var rootCause = errors.Optional("root_cause", fields.RootCause, MaxNarrativeLength);
        var remediation = errors.Optional("remediation", fields.Remediation, MaxNarrativeLength);
        var lessons = errors.Optional("lessons_learned", fields.LessonsLearned, MaxNarrativeLength);
        var component = errors.Optional("component_affected", fields.ComponentAffected, MaxNameLength);
        var service = errors.Optional("service_affected", fields.ServiceAffected, MaxNameLength);
        var createdBy = errors.Optional("created_by", fields.CreatedBy, MaxNameLength);
        var assignedTo = errors.Optional("assigned_to", fields.AssignedTo, MaxNameLength);
        var tags = errors.Tags("tags", fields.Tags);
        errors.Defined("status", fields.Status);
        errors.Defined("impact_severity", fields.ImpactSeverity);
        errors.Defined("priority", fields.Priority);

        var detectedAt = fields.DetectedAt ?? state.DetectedAt ?? now;
        errors.NotInFuture("detected_at", detectedAt, now);
        errors.NotInFuture("started_at", fields.StartedAt, now);
        errors.NotInFuture("resolved_at", fields.ResolvedAt, now);
        if (fields.StartedAt is { } started && started > detectedAt)
        {
            errors.Add("started_at", "started_at (when the impact began) must not be after detected_at.");
        }

        var status = fields.Status;
        DateTimeOffset? resolvedAt = null;
        if (IsTerminal(status))
        {
            resolvedAt = fields.ResolvedAt ?? (IsTerminal(state.Status) && !creating ? state.ResolvedAt : null) ?? now;
            if (resolvedAt < detectedAt)
            {
                errors.Add("resolved_at", "resolved_at must not be before detected_at.");
            }
            if (fields.StartedAt is { } s && resolvedAt < s)
            {
                errors.Add("resolved_at", "resolved_at must not be before started_at.");
            }
        }
        else if (fields.ResolvedAt is not null)
        {
            errors.Add("resolved_at", $"resolved_at can only be set when status is resolved or closed (status is {RootCauseJson.Name(status)}).");
        }
        errors.ThrowIfAny();

        if (!creating && !CanMove(state.Status, status))
        {
            throw new StateConflictException("status",
                $"A {RootCauseJson.Name(state.Status)} investigation cannot move to {RootCauseJson.Name(status)}; reopen it first.");
        }

        state.Title = title;
        state.Description = description;
        state.Status = status;
        state.ImpactSeverity = fields.ImpactSeverity;
        state.Priority = fields.Priority;
        state.DetectedAt = detectedAt;
        state.StartedAt = fields.StartedAt;
        state.ResolvedAt = resolvedAt;
        state.RootCause = rootCause;
        state.Remediation = remediation;
        state.LessonsLearned = lessons;
        state.ComponentAffected = component;
        state.ServiceAffected = service;
        state.Tags = [.. tags];
        state.AssignedTo = assignedTo;
        if (creating)
        {
            state.CreatedBy = createdBy;
        }
    }

    public static Note ValidateNote(NewNote note, Guid id, DateTimeOffset now)
    {
        var errors = new ValidationErrors();
        var author = errors.Required("author", note.Author, MaxNameLength);
        var body = errors.Required("body", note.Body, MaxNoteLength);
        errors.Defined("kind", note.Kind);
        errors.ThrowIfAny();
        return new Note { Id = id, Author = author!, Body = body!, Kind = note.Kind, CreatedAt = now };
    }

}
