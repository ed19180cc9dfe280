using RootCause.Common;
using RootCause.Investigations;

namespace RootCause.Tests.Domain;

public sealed class InvestigationRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static InvestigationFields Valid => new()
    {
        Title = "Checkout 502s",
        DetectedAt = Now.AddHours(-1),
        StartedAt = Now.AddHours(-2),
    };

    private static InvestigationState Create(InvestigationFields fields)
    {
        var state = new InvestigationState { Id = Guid.NewGuid(), SchemaVersion = InvestigationState.CurrentSchemaVersion };
        InvestigationRules.Apply(state, fields, Now, creating: true);
        return state;
    }

    private static string[] FieldsRejected(InvestigationFields fields) =>
        Assert.Throws<ValidationFailedException>(() => Create(fields)).Errors.Keys.Order(StringComparer.Ordinal).ToArray();

    public static TheoryData<InvestigationStatus> Statuses => [.. Enum.GetValues<InvestigationStatus>()];
    public static TheoryData<ImpactSeverity> Severities => [.. Enum.GetValues<ImpactSeverity>()];
    public static TheoryData<Priority> Priorities => [.. Enum.GetValues<Priority>()];

    [Theory]
    [MemberData(nameof(Statuses))]
    public void EveryStatusIsAcceptedOnCreate(InvestigationStatus status)
    {
        var state = Create(Valid with { Status = status });
        Assert.Equal(status, state.Status);
        Assert.Equal(InvestigationRules.IsTerminal(status), state.ResolvedAt is not null);
    }

    [Theory]
    [MemberData(nameof(Severities))]
    public void EverySeverityIsAccepted(ImpactSeverity severity) =>
        Assert.Equal(severity, Create(Valid with { ImpactSeverity = severity }).ImpactSeverity);

    [Theory]
    [MemberData(nameof(Priorities))]
    public void EveryPriorityIsAccepted(Priority priority) =>
        Assert.Equal(priority, Create(Valid with { Priority = priority }).Priority);

    [Fact]
    public void UndefinedEnumValuesAreRejectedByName()
    {
        Assert.Equal(["status"], FieldsRejected(Valid with { Status = (InvestigationStatus)42 }));
        Assert.Equal(["impact_severity"], FieldsRejected(Valid with { ImpactSeverity = (ImpactSeverity)42 }));
        Assert.Equal(["priority"], FieldsRejected(Valid with { Priority = (Priority)42 }));
    }

    [Fact]
    public void EnumNamesOnTheWireAreSnakeCase()
    {
        Assert.Equal("open, in_progress, resolved, closed", RootCauseJson.Names<InvestigationStatus>());
        Assert.Equal("critical, high, medium, low", RootCauseJson.Names<ImpactSeverity>());
        Assert.Equal("p0, p1, p2, p3", RootCauseJson.Names<Priority>());
        Assert.Equal("note, root_cause, remediation, lesson", RootCauseJson.Names<NoteKind>());
    }

    [Theory]
    [InlineData("title", 200)]
    [InlineData("description", 10_000)]
    [InlineData("root_cause", 2_000)]
    [InlineData("remediation", 2_000)]
    [InlineData("lessons_learned", 2_000)]
    [InlineData("component_affected", 100)]
    [InlineData("service_affected", 100)]
    [InlineData("created_by", 100)]
    [InlineData("assigned_to", 100)]
    public void TextFieldsAcceptTheirLimitAndRejectOneMore(string field, int limit)
    {
        InvestigationFields With(string text) => field switch
        {
            "title" => Valid with { Title = text },
            "description" => Valid with { Description = text },
            "root_cause" => Valid with { RootCause = text },
            "remediation" => Valid with { Remediation = text },
            "lessons_learned" => Valid with { LessonsLearned = text },
            "component_affected" => Valid with { ComponentAffected = text },
            "service_affected" => Valid with { ServiceAffected = text },
            "created_by" => Valid with { CreatedBy = text },
            "assigned_to" => Valid with { AssignedTo = text },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };
        Create(With(new string('x', limit)));
        Assert.Equal([field], FieldsRejected(With(new string('x', limit + 1))));
    }

    [Fact]
    public void TitleIsRequiredAndTrimmed()
    {
        Assert.Equal(["title"], FieldsRejected(Valid with { Title = "   " }));
        Assert.Equal("Checkout", Create(Valid with { Title = "  Checkout \n" }).Title);
    }

    [Fact]
    public void ControlCharactersAreRejected() =>
        Assert.Equal(["title"], FieldsRejected(Valid with { Title = "bad\u0007bell" }));

    [Fact]
    public void TagsAreTrimmedDeduplicatedAndLimited()
    {
        Assert.Equal(["db", "Deploy"], Create(Valid with { Tags = [" db", "Deploy", "deploy", "db "] }).Tags);
        Assert.Equal(["tags"], FieldsRejected(Valid with { Tags = ["two words"] }));
        Assert.Equal(["tags"], FieldsRejected(Valid with { Tags = [""] }));
        Assert.Equal(["tags"], FieldsRejected(Valid with { Tags = [new string('t', 65)] }));
        Create(Valid with { Tags = [.. Enumerable.Range(0, 50).Select(i => $"t{i}")] });
        Assert.Equal(["tags"], FieldsRejected(Valid with { Tags = [.. Enumerable.Range(0, 51).Select(i => $"t{i}")] }));
    }

    [Fact]
    public void TimestampsMayNotLieInTheFutureBeyondClockSkew()
    {
        Create(Valid with { DetectedAt = Now.AddMinutes(4), StartedAt = null });
        Assert.Equal(["detected_at"], FieldsRejected(Valid with { DetectedAt = Now.AddMinutes(6), StartedAt = null }));
        Assert.Contains("resolved_at", FieldsRejected(Valid with { Status = InvestigationStatus.Resolved, ResolvedAt = Now.AddDays(1) }));
    }

    [Fact]
    public void TheImpactStartsAtOrBeforeDetection()
    {
        Create(Valid with { StartedAt = Valid.DetectedAt });
        Assert.Equal(["started_at"], FieldsRejected(Valid with { StartedAt = Valid.DetectedAt!.Value.AddSeconds(1) }));
    }

    [Fact]
    public void ResolvedAtBelongsToResolvedOrClosedAndFollowsDetection()
    {
        Assert.Equal(["resolved_at"], FieldsRejected(Valid with { ResolvedAt = Now.AddMinutes(-5) }));
        Assert.Equal(["resolved_at"], FieldsRejected(Valid with { Status = InvestigationStatus.Resolved, ResolvedAt = Now.AddHours(-3) }));
        var given = Now.AddMinutes(-5);
        Assert.Equal(given, Create(Valid with { Status = InvestigationStatus.Closed, ResolvedAt = given }).ResolvedAt);
        Assert.Equal(Now, Create(Valid with { Status = InvestigationStatus.Resolved }).ResolvedAt);
    }

    [Fact]
    public void DetectedAtDefaultsToNow() =>
        Assert.Equal(Now, Create(new InvestigationFields { Title = "t" }).DetectedAt);

    [Theory]
    [InlineData(InvestigationStatus.Open, InvestigationStatus.InProgress, true)]
    [InlineData(InvestigationStatus.Open, InvestigationStatus.Resolved, true)]
    [InlineData(InvestigationStatus.InProgress, InvestigationStatus.Open, true)]
    [InlineData(InvestigationStatus.Resolved, InvestigationStatus.InProgress, true)]
    [InlineData(InvestigationStatus.Resolved, InvestigationStatus.Closed, true)]
    [InlineData(InvestigationStatus.Closed, InvestigationStatus.Open, true)]
    [InlineData(InvestigationStatus.Closed, InvestigationStatus.Closed, true)]
    [InlineData(InvestigationStatus.Closed, InvestigationStatus.InProgress, false)]
    [InlineData(InvestigationStatus.Closed, InvestigationStatus.Resolved, false)]
    public void TheStatusWorkflow(InvestigationStatus from, InvestigationStatus to, bool allowed)
    {
        Assert.Equal(allowed, InvestigationRules.CanMove(from, to));
        var state = Create(Valid with { Status = from });
        var move = () => InvestigationRules.Apply(state, Valid with { Status = to }, Now, creating: false);
        if (allowed)
        {
            move();
            Assert.Equal(to, state.Status);
            Assert.Equal(InvestigationRules.IsTerminal(to), state.ResolvedAt is not null);
        }
        else
        {
            Assert.Equal("status", Assert.Throws<StateConflictException>(move).Field);
            Assert.Equal(from, state.Status);
        }
    }

    [Fact]
    public void NotesNeedAnAuthorAndABodyWithinLimits()
    {
        var ok = InvestigationRules.ValidateNote(new NewNote { Author = " ana ", Body = "text", Kind = NoteKind.Lesson }, Guid.NewGuid(), Now);
        Assert.Equal("ana", ok.Author);
        Assert.Equal(Now, ok.CreatedAt);
        string[] Rejected(NewNote note) =>
            [.. Assert.Throws<ValidationFailedException>(() => InvestigationRules.ValidateNote(note, Guid.NewGuid(), Now)).Errors.Keys.Order()];
        Assert.Equal(["author"], Rejected(new NewNote { Author = "", Body = "b" }));
        Assert.Equal(["body"], Rejected(new NewNote { Author = "a", Body = new string('b', 20_001) }));
        Assert.Equal(["kind"], Rejected(new NewNote { Author = "a", Body = "b", Kind = (NoteKind)9 }));
    }
}
