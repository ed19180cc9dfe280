namespace RootCause.Investigations;

/// <summary>
/// The stored form of an investigation (System.Text.Json, snake_case). Fields may be missing in
/// records written by older versions; <see cref="Upgrade"/> brings any stored shape to the
/// current one when the grain activates, and the next write stores the current shape.
/// </summary>
public sealed class InvestigationState
{
    /// <summary>
    /// 1: the original minimal shape (id, title, description, status).
    /// 2: every field of the investigation, notes, version.
    /// 3: no <c>event_ids</c>: a link is stored on the event alone, and an older record's list is
    /// dropped when it is next written (the event side of every link it named was written first).
    /// </summary>
    public const int CurrentSchemaVersion = 3;

    public int SchemaVersion { get; set; }
    public Guid Id { get; set; }
    public string? Title { get; set; }
    public string? Description { get; set; }
    public InvestigationStatus Status { get; set; }
    public ImpactSeverity? ImpactSeverity { get; set; }
    public Priority? Priority { get; set; }
    public DateTimeOffset? DetectedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? ResolvedAt { get; set; }
    public string? RootCause { get; set; }
    public string? Remediation { get; set; }
    public string? LessonsLearned { get; set; }
    public string? ComponentAffected { get; set; }
    public string? ServiceAffected { get; set; }
    public List<string>? Tags { get; set; }
    public List<Guid>? RelatedInvestigationIds { get; set; }
    public string? CreatedBy { get; set; }
    public string? AssignedTo { get; set; }
    public DateTimeOffset? CreatedAt { get; set; }
    public DateTimeOffset? UpdatedAt { get; set; }
    public DateTimeOffset? DeletedAt { get; set; }
    public long Version { get; set; }
    public List<Note>? Notes { get; set; }
    /// <summary>The <see cref="LinkingKey"/> the last completed retro-linking ran for (absent until one has).</summary>
    public string? RetroLinkedKey { get; set; }
    public DateTimeOffset? RetroLinkedAt { get; set; }

    /// <summary>
    /// A digest of the fields that decide which events an investigation can absorb (component,
    /// service, times, tags, status, deletion). When it differs from <see cref="RetroLinkedKey"/>,
    /// the investigation's existing events need scoring again (retro-linking).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string LinkingKey
    {
        get
        {
            var tags = string.Join(",", (Tags ?? []).Order(StringComparer.Ordinal));
            var text = string.Join("\n", ComponentAffected, ServiceAffected, DetectedAt?.UtcTicks, StartedAt?.UtcTicks,
                ResolvedAt?.UtcTicks, Status, DeletedAt is null ? "live" : "deleted", tags);
            return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)), 0, 12);
        }
    }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool Exists => Id != Guid.Empty;

    /// <summary>
    /// Fills what older shapes lack. A record with no creation time gets the time of this first
    /// load (the best that is known), and the documented defaults for severity and priority.
    /// </summary>
    public void Upgrade(DateTimeOffset now)
    {
        if (!Exists || SchemaVersion >= CurrentSchemaVersion)
        {
            return;
        }
        if (SchemaVersion >= 2)
        {
            SchemaVersion = CurrentSchemaVersion; // 2 → 3 only leaves event_ids out
            return;
        }
        ImpactSeverity ??= Investigations.ImpactSeverity.Medium;
        Priority ??= Investigations.Priority.P2;
        CreatedAt ??= now;
        UpdatedAt ??= CreatedAt;
        DetectedAt ??= CreatedAt;
        Tags ??= [];
        RelatedInvestigationIds ??= [];
        Notes ??= [];
        if (Status is InvestigationStatus.Resolved or InvestigationStatus.Closed)
        {
            ResolvedAt ??= UpdatedAt;
        }
        if (Version < 1)
        {
            Version = 1;
        }
        SchemaVersion = CurrentSchemaVersion;
    }

    /// <summary>A copy whose lists can be changed without touching this one.</summary>
    public InvestigationState Clone()
    {
        var copy = (InvestigationState)MemberwiseClone();
        copy.Tags = Tags is null ? null : [.. Tags];
        copy.RelatedInvestigationIds = RelatedInvestigationIds is null ? null : [.. RelatedInvestigationIds];
        copy.Notes = Notes is null ? null : [.. Notes];
        return copy;
    }

    public Investigation ToInvestigation() => new()
    {
        Id = Id,
        Title = Title ?? "",
        Description = Description,
        Status = Status,
        ImpactSeverity = ImpactSeverity ?? Investigations.ImpactSeverity.Medium,
        Priority = Priority ?? Investigations.Priority.P2,
        DetectedAt = DetectedAt ?? default,
        StartedAt = StartedAt,
        ResolvedAt = ResolvedAt,
        RootCause = RootCause,
        Remediation = Remediation,
        LessonsLearned = LessonsLearned,
        ComponentAffected = ComponentAffected,
        ServiceAffected = ServiceAffected,
        Tags = Tags?.ToArray() ?? [],
        RelatedInvestigationIds = RelatedInvestigationIds?.ToArray() ?? [],
        CreatedBy = CreatedBy,
        AssignedTo = AssignedTo,
        CreatedAt = CreatedAt ?? default,
        UpdatedAt = UpdatedAt ?? default,
        DeletedAt = DeletedAt,
        Version = Version,
        NoteCount = Notes?.Count ?? 0,
        RetroLinkedAt = RetroLinkedKey == LinkingKey ? RetroLinkedAt : null,
    };
}
