using RootCause.Common;
using RootCause.Events;

namespace RootCause.Tests.Domain;

public sealed class EventRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static EventDraft Valid => new()
    {
        Source = EventSource.Metrics,
        SourceId = "prometheus/cpu/1",
        EventType = "cpu_anomaly",
        Timestamp = Now.AddMinutes(-1),
        Severity = EventSeverity.Medium,
        Data = """{"value": 0.97}""",
    };

    private static string[] Rejected(EventDraft draft) =>
        [.. Assert.Throws<ValidationFailedException>(() => EventRules.Validate(draft, Now)).Errors.Keys.Order(StringComparer.Ordinal)];

    public static TheoryData<EventSource> Sources => [.. Enum.GetValues<EventSource>()];
    public static TheoryData<EventSeverity> Severities => [.. Enum.GetValues<EventSeverity>()];

    [Theory]
    [MemberData(nameof(Sources))]
    public void EverySourceIsAccepted(EventSource source) => EventRules.Validate(Valid with { Source = source }, Now);

    [Theory]
    [MemberData(nameof(Severities))]
    public void EverySeverityIsAccepted(EventSeverity severity) => EventRules.Validate(Valid with { Severity = severity }, Now);

    [Fact]
    public void UndefinedEnumValuesAreRejectedByName()
    {
        Assert.Equal(["source"], Rejected(Valid with { Source = (EventSource)77 }));
        Assert.Equal(["severity"], Rejected(Valid with { Severity = (EventSeverity)77 }));
        Assert.Equal("git, ci, logs, metrics, traces, manual", RootCauseJson.Names<EventSource>());
        Assert.Equal("critical, high, medium, low, info", RootCauseJson.Names<EventSeverity>());
    }

    [Fact]
    public void IdentityAndTypeAreRequiredWithinLimits()
    {
        Assert.Equal(["source_id"], Rejected(Valid with { SourceId = " " }));
        Assert.Equal(["source_id"], Rejected(Valid with { SourceId = new string('s', 513) }));
        EventRules.Validate(Valid with { SourceId = new string('s', 512) }, Now);
        Assert.Equal(["event_type"], Rejected(Valid with { EventType = "" }));
        Assert.Equal(["event_type"], Rejected(Valid with { EventType = "two words" }));
        Assert.Equal(["event_type"], Rejected(Valid with { EventType = new string('e', 101) }));
    }

    [Fact]
    public void TimestampIsRequiredAndNotInTheFuture()
    {
        Assert.Equal(["timestamp"], Rejected(Valid with { Timestamp = default }));
        Assert.Equal(["timestamp"], Rejected(Valid with { Timestamp = Now.AddMinutes(6) }));
        EventRules.Validate(Valid with { Timestamp = Now.AddMinutes(4) }, Now);
    }

    [Fact]
    public void DataAndMetadataAreJsonObjectsWithinTheSizeLimit()
    {
        Assert.Equal(["data"], Rejected(Valid with { Data = "[1,2]" }));
        Assert.Equal(["data"], Rejected(Valid with { Data = "{not json" }));
        Assert.Equal(["metadata"], Rejected(Valid with { Metadata = "\"text\"" }));
        var big = $$"""{"blob":"{{new string('b', EventRules.MaxJsonBytes)}}"}""";
        Assert.Equal(["data"], Rejected(Valid with { Data = big }));
        Assert.Equal("{}", EventRules.Validate(Valid with { Data = "" }, Now).Data);
    }
}
