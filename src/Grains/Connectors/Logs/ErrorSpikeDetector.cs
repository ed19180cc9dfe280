using System.Text.RegularExpressions;

namespace RootCause.Connectors.Logs;

/// <summary>Errors of one message group within one minute, as a batch saw them.</summary>
[GenerateSerializer, Immutable, Alias("rc.LogErrorGroup")]
public sealed record ErrorGroup([property: Id(0)] string? Type, [property: Id(1)] string Message, [property: Id(2)] int Count);

/// <summary>The errors of one service in one minute of one batch.</summary>
[GenerateSerializer, Immutable, Alias("rc.LogMinuteErrors")]
public sealed record MinuteErrors
{
    /// <summary>Minutes since the Unix epoch (UTC) of the records' own timestamps.</summary>
    [Id(0)] public long Minute { get; init; }
    [Id(1)] public int Count { get; init; }
    [Id(2)] public IReadOnlyList<ErrorGroup> Groups { get; init; } = [];
    [Id(3)] public string? SampleStackTrace { get; init; }
}

/// <summary>What a batch tells one service's detector, with the connector's thresholds.</summary>
[GenerateSerializer, Immutable, Alias("rc.LogErrorObservation")]
public sealed record ErrorObservation
{
    [Id(0)] public required string Connector { get; init; }
    [Id(1)] public required string Via { get; init; }
    [Id(2)] public double Factor { get; init; } = ErrorSpikeDetector.DefaultFactor;
    [Id(3)] public int MinCount { get; init; } = ErrorSpikeDetector.DefaultMinCount;
    [Id(4)] public IReadOnlyList<MinuteErrors> Minutes { get; init; } = [];
}

/// <summary>A detector's state: recent per-minute error counts and the spikes (episodes) found among them.</summary>
public sealed class SpikeDetectorState
{
    /// <summary>Per-minute counts, keyed by minute since the epoch.</summary>
    public SortedDictionary<long, MinuteCounts> Minutes { get; set; } = [];

    public List<SpikeEpisode> Episodes { get; set; } = [];

    /// <summary>The first minute ever seen: before it there is no history, rather than a quiet one.</summary>
    public long? FirstMinute { get; set; }

    public long NewestMinute { get; set; }
}

public sealed class MinuteCounts
{
    public int Count { get; set; }

    public Dictionary<string, GroupCount> Groups { get; set; } = new(StringComparer.Ordinal);

    public string? SampleStackTrace { get; set; }
}

public sealed class GroupCount
{
    public string? Type { get; set; }
    public string Message { get; set; } = "";
    public int Count { get; set; }
}

/// <summary>
/// One spike: consecutive minutes at or over the threshold. It is one <c>error_spike</c> event,
/// written when it starts and rewritten as it grows.
/// </summary>
public sealed class SpikeEpisode
{
    public long StartMinute { get; set; }
    public long LastMinute { get; set; }
    public int Count { get; set; }
    public int PeakPerMinute { get; set; }
    public double Baseline { get; set; }
    public double Threshold { get; set; }
    public Dictionary<string, GroupCount> Groups { get; set; } = new(StringComparer.Ordinal);
    public string? SampleStackTrace { get; set; }
    public string Connector { get; set; } = "";
    public string Via { get; set; } = "";

    /// <summary>The event exists (ingested at least once).</summary>
    public bool Emitted { get; set; }

    /// <summary>What the stored event says, so it is rewritten only when it has grown enough to matter.</summary>
    public int WrittenCount { get; set; }
    public long WrittenLastMinute { get; set; }
}

/// <summary>
/// Error-spike detection for one service, on the records' own minutes (so late or replayed lines
/// land where they belong). A minute is a spike when its errors reach
/// <c>max(factor × baseline, min_count)</c>, the baseline being the mean errors per minute over the
/// <see cref="BaselineMinutes"/> minutes before it (minutes inside earlier spikes left out, so a
/// flood does not raise its own bar). Consecutive spiking minutes are one spike: a flood becomes
/// one event whose count, window and top errors grow with it.
/// </summary>
public static partial class ErrorSpikeDetector
{
    public const double DefaultFactor = 3;
    public const int DefaultMinCount = 20;
    public const int BaselineMinutes = 30;

    /// <summary>Minutes kept behind the newest one seen: the baseline's reach and an hour of late lines.</summary>
    public const int RetainedMinutes = BaselineMinutes + 60;

    /// <summary>Distinct message groups kept per minute and per spike.</summary>
    public const int MaxGroups = 50;

    /// <summary>A stored spike is rewritten when its count has grown by this fraction (or it gained a minute).</summary>
    public const double RewriteGrowth = 0.1;

    /// <summary>Folds a batch's errors in; returns the spikes whose event should be written now.</summary>
    public static IReadOnlyList<SpikeEpisode> Observe(SpikeDetectorState state, ErrorObservation observation)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(observation);
        var changed = new HashSet<SpikeEpisode>();
        foreach (var part in observation.Minutes.OrderBy(m => m.Minute))
        {
            if (part.Count <= 0 || (state.FirstMinute is not null && part.Minute < state.NewestMinute - RetainedMinutes))
            {
                continue;
            }
            state.FirstMinute = state.FirstMinute is { } first ? Math.Min(first, part.Minute) : part.Minute;
            state.NewestMinute = Math.Max(state.NewestMinute, part.Minute);
            if (!state.Minutes.TryGetValue(part.Minute, out var minute))
            {
                state.Minutes[part.Minute] = minute = new MinuteCounts();
            }
            minute.Count += part.Count;
            Merge(minute.Groups, part.Groups.Select(g => (g.Type, g.Message, g.Count)));
            minute.SampleStackTrace ??= part.SampleStackTrace;

            var episode = state.Episodes.Find(e => e.StartMinute <= part.Minute && part.Minute <= e.LastMinute);
            if (episode is not null)
            {
                episode.Count += part.Count;
                episode.PeakPerMinute = Math.Max(episode.PeakPerMinute, minute.Count);
                Merge(episode.Groups, part.Groups.Select(g => (g.Type, g.Message, g.Count)));
                episode.SampleStackTrace ??= part.SampleStackTrace;
                changed.Add(episode);
                continue;
            }
            var baseline = Baseline(state, part.Minute);
            var threshold = Math.Max(observation.Factor * baseline, observation.MinCount);
            if (minute.Count < threshold)
            {
                continue;
            }
            // The whole minute joins (or starts) a spike, including what earlier batches brought.
            episode = state.Episodes.Find(e => e.LastMinute == part.Minute - 1);
            if (episode is null)
            {
                episode = new SpikeEpisode
                {
                    StartMinute = part.Minute,
                    LastMinute = part.Minute,
                    Baseline = baseline,
                    Threshold = threshold,
                    Connector = observation.Connector,
                    Via = observation.Via,
                };
                state.Episodes.Add(episode);
            }
            episode.LastMinute = part.Minute;
            episode.Count += minute.Count;
            episode.PeakPerMinute = Math.Max(episode.PeakPerMinute, minute.Count);
            Merge(episode.Groups, minute.Groups.Values.Select(g => (g.Type, g.Message, g.Count)));
            episode.SampleStackTrace ??= minute.SampleStackTrace;
            changed.Add(episode);
        }
        Prune(state);
        return changed.Where(e => !e.Emitted || e.LastMinute != e.WrittenLastMinute || e.Count >= e.WrittenCount * (1 + RewriteGrowth))
            .OrderBy(e => e.StartMinute).ToList();
    }

    /// <summary>Mean errors per minute over the minutes before <paramref name="minute"/>, leaving out minutes inside spikes and minutes before any history.</summary>
    public static double Baseline(SpikeDetectorState state, long minute)
    {
        ArgumentNullException.ThrowIfNull(state);
        var from = Math.Max(minute - BaselineMinutes, state.FirstMinute ?? minute);
        long total = 0;
        var minutes = 0;
        for (var m = from; m < minute; m++)
        {
            if (state.Episodes.Exists(e => e.StartMinute <= m && m <= e.LastMinute))
            {
                continue;
            }
            total += state.Minutes.TryGetValue(m, out var counts) ? counts.Count : 0;
            minutes++;
        }
        return minutes == 0 ? 0 : (double)total / minutes;
    }

    /// <summary>Severity by how far the worst minute rose over the baseline.</summary>
    public static Events.EventSeverity Severity(SpikeEpisode episode)
    {
        ArgumentNullException.ThrowIfNull(episode);
        var ratio = episode.PeakPerMinute / Math.Max(episode.Baseline, 1);
        return ratio >= 50 ? Events.EventSeverity.Critical : ratio >= 10 ? Events.EventSeverity.High : Events.EventSeverity.Medium;
    }

    /// <summary>The key a message is grouped by: its type, and the message with ids and numbers blanked.</summary>
    public static string GroupKey(string? type, string message) => $"{type}\n{Variable().Replace(message.Length > 300 ? message[..300] : message, "#")}";

    private static void Merge(Dictionary<string, GroupCount> into, IEnumerable<(string? Type, string Message, int Count)> groups)
    {
        foreach (var (type, message, count) in groups)
        {
            var key = GroupKey(type, message);
            if (into.TryGetValue(key, out var existing))
            {
                existing.Count += count;
            }
            else if (into.Count < MaxGroups)
            {
                into[key] = new GroupCount { Type = type, Message = message, Count = count };
            }
        }
    }

    private static void Prune(SpikeDetectorState state)
    {
        var horizon = state.NewestMinute - RetainedMinutes;
        foreach (var old in state.Minutes.Keys.TakeWhile(k => k < horizon).ToList())
        {
            state.Minutes.Remove(old);
        }
        state.Episodes.RemoveAll(e => e.LastMinute < horizon);
    }

    [GeneratedRegex(@"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\b0x[0-9a-fA-F]+\b|\b[0-9a-fA-F]{16,}\b|\d+")]
    private static partial Regex Variable();
}
