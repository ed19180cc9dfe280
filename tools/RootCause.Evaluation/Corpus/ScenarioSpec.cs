using System.Globalization;

namespace RootCause.Evaluation.Corpus;

/// <summary>
/// A hand-written scenario (<c>corpus/linking/specs/*.json</c>): the story, the investigations as
/// responders filed them, the story's own events with their ground truth, and how much background
/// the generator adds. Offsets are written like <c>-40m</c>, <c>-3d4h</c>, <c>+15m</c>, relative to
/// the main investigation's detection (the earlier incident's own events: to its detection).
/// </summary>
public sealed record ScenarioSpec
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    public required string Kind { get; init; }
    public required string CauseLocation { get; init; }
    public required string Story { get; init; }
    public required InvestigationSpec Investigation { get; init; }
    public EarlierSpec? Earlier { get; init; }
    public IReadOnlyList<StoryEventSpec> Events { get; init; } = [];
    /// <summary>The component whose repository gets the same-repository decoys; defaults to the affected component.</summary>
    public string? FocusComponent { get; init; }
    /// <summary>How many background events the generator adds (before the required minimum per kind).</summary>
    public int Noise { get; init; } = 120;
}

public sealed record InvestigationSpec
{
    public required string Title { get; init; }
    public string? Description { get; init; }
    public string Severity { get; init; } = "medium";
    public string Priority { get; init; } = "p2";
    public string? ComponentAffected { get; init; }
    public string? ServiceAffected { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>When the impact began, if the responder knew it.</summary>
    public string? StartedAt { get; init; }
    /// <summary>When the responder opened the investigation (after detection).</summary>
    public string OpenedAt { get; init; } = "+5m";
    public string? CreatedBy { get; init; }
    public string? AssignedTo { get; init; }
}

/// <summary>An earlier incident, resolved before the main one, with its own events.</summary>
public sealed record EarlierSpec
{
    /// <summary>Its detection, relative to the main detection (e.g. <c>-4d</c>).</summary>
    public required string DetectedAt { get; init; }
    /// <summary>How long it lasted from detection to resolution (e.g. <c>2h</c>).</summary>
    public required string Lasted { get; init; }
    public required InvestigationSpec Investigation { get; init; }
    public string? RootCause { get; init; }
    /// <summary>Its own events; their offsets are relative to its detection.</summary>
    public IReadOnlyList<StoryEventSpec> Events { get; init; } = [];
}

/// <summary>
/// One event of the story, or a series of them (<see cref="Repeat"/> every <see cref="Every"/>).
/// Only the fields of its kind matter; the generator fills in ids, shas, urls, authors and stack
/// traces in the shapes of docs/events.md.
/// </summary>
public sealed record StoryEventSpec
{
    /// <summary>commit, deployment, ci_failure, ci_success, error_spike, log_error, metric_anomaly, alert, slow_span, error_span.</summary>
    public required string Kind { get; init; }
    public required string At { get; init; }
    /// <summary>cause, symptom or story_decoy (which is labelled as explaining nothing).</summary>
    public string Role { get; init; } = Roles.Symptom;
    /// <summary>An id other entries can refer to with <see cref="Ref"/> (a deployment of this commit).</summary>
    public string? Id { get; init; }
    public string? Ref { get; init; }
    /// <summary>The catalog component the event comes from (repository, pipeline, language of stack traces).</summary>
    public string? Component { get; init; }
    /// <summary>The name the event itself uses for the component (an alias, a pod label); defaults to the component.</summary>
    public string? Name { get; init; }
    /// <summary>false: the event names no service at all (a deployment naming only its repository).</summary>
    public bool NamesService { get; init; } = true;
    public string? Repository { get; init; }
    public IReadOnlyList<string>? Files { get; init; }
    public string? Message { get; init; }
    public string? Author { get; init; }
    public string? Branch { get; init; }
    public string? Environment { get; init; }
    public string? Status { get; init; }
    public string? Version { get; init; }
    public string? Workflow { get; init; }
    public string? Job { get; init; }
    public string? Step { get; init; }
    public string? Exception { get; init; }
    public IReadOnlyList<string>? Frames { get; init; }
    public int? Count { get; init; }
    public double? Baseline { get; init; }
    public string? Level { get; init; }
    public string? Logger { get; init; }
    public string? Metric { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public string? AnomalyKind { get; init; }
    public double? Value { get; init; }
    public double? Threshold { get; init; }
    public string? Alertname { get; init; }
    public string? Summary { get; init; }
    public string? Operation { get; init; }
    public int? DurationMs { get; init; }
    public string? Peer { get; init; }
    public IReadOnlyDictionary<string, string>? Attributes { get; init; }
    /// <summary>How long a window, spike or alert lasted (default 5m).</summary>
    public string? Lasting { get; init; }
    public int Repeat { get; init; } = 1;
    public string Every { get; init; } = "5m";
    public IReadOnlyList<string>? Tags { get; init; }
    public string? Severity { get; init; }
}

/// <summary>Offsets such as <c>-3d4h</c>, <c>+40m</c>, <c>90s</c>, <c>0</c> in seconds.</summary>
public static class Offset
{
    public static long Parse(string text)
    {
        var s = text.Trim();
        var sign = 1;
        if (s.StartsWith('-'))
        {
            sign = -1;
            s = s[1..];
        }
        else if (s.StartsWith('+'))
        {
            s = s[1..];
        }
        long total = 0;
        var number = 0L;
        var digits = 0;
        foreach (var c in s)
        {
            if (char.IsAsciiDigit(c))
            {
                number = number * 10 + (c - '0');
                digits++;
                continue;
            }
            var unit = c switch
            {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => throw new FormatException($"'{text}' is not an offset: unknown unit '{c}' (use d, h, m, s)."),
            };
            if (digits == 0)
            {
                throw new FormatException($"'{text}' is not an offset: a unit without a number.");
            }
            total += number * unit;
            number = 0;
            digits = 0;
        }
        if (digits > 0)
        {
            // A bare number is minutes only when it is zero; anything else must say its unit.
            total += number == 0 ? 0 : throw new FormatException($"'{text}' is not an offset: the last number has no unit.");
        }
        return sign * total;
    }

    public static string Format(long seconds) => seconds.ToString(CultureInfo.InvariantCulture);
}
