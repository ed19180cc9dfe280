using System.Globalization;
using System.Text.Json.Nodes;
using RootCause.Events;

namespace RootCause.Connectors.Metrics;

/// <summary>One series of a range query: its labels and its points, oldest first.</summary>
public sealed record MetricSeries(IReadOnlyDictionary<string, string> Labels, IReadOnlyList<(DateTimeOffset At, double Value)> Points)
{
    /// <summary>The instance the series is about: <c>instance</c>, else <c>pod</c>, <c>host</c>, <c>service</c>, else empty.</summary>
    public string Instance =>
        Labels.GetValueOrDefault("instance") ?? Labels.GetValueOrDefault("pod") ?? Labels.GetValueOrDefault("host") ?? Labels.GetValueOrDefault("service") ?? "";
}

/// <summary>An anomaly of one series.</summary>
public sealed record MetricAnomaly
{
    public required string Metric { get; init; }
    public required MetricSeries Series { get; init; }

    /// <summary><c>spike</c>, <c>drop</c> or <c>threshold</c>.</summary>
    public required string Kind { get; init; }
    public double Value { get; init; }
    public double? Baseline { get; init; }
    public double? Threshold { get; init; }

    /// <summary>Robust z-score of <see cref="Value"/>: (value − median) / (1.4826 × MAD).</summary>
    public double? Score { get; init; }
    public DateTimeOffset Start { get; init; }
    public DateTimeOffset End { get; init; }
    public EventSeverity Severity { get; init; }
    public required string Query { get; init; }
}

/// <summary>
/// Finds anomalies in range-query results and folds those of one instance and window together.
/// <list type="bullet">
/// <item><b>Baseline</b>: the median and the median absolute deviation (MAD) of the points before
/// the evaluated window (at least <see cref="MinHistory"/> of them). Both ignore outliers, so a
/// spike in the history does not drag the baseline along the way a mean and standard deviation would.</item>
/// <item><b>Spike / drop</b>: a point of the window more than <c>sensitivity</c> robust standard
/// deviations (1.4826 × MAD) above / below the median, and at least <see cref="MinRelativeChange"/>
/// of the median away from it. A flat history (MAD 0) uses 1 % of the median as its spread.</item>
/// <item><b>Threshold</b>: a point above <c>above</c> or below <c>below</c> (disk free below 10 % → critical).</item>
/// <item><b>Window</b>: from the first to the last anomalous point; the start goes back over the
/// contiguous anomalous points before the window, so polls that see the same spike give it the same start.</item>
/// <item><b>Correlation</b>: anomalies of the same instance whose windows overlap (or touch within
/// a step) become one event, for the most severe of them; the others are its <c>related</c>.</item>
/// </list>
/// </summary>
public static class AnomalyDetector
{
    public const int MinHistory = 10;
    public const double MinRelativeChange = 0.2;
    private const double MadToSigma = 1.4826;

    public static IReadOnlyList<MetricAnomaly> Detect(MetricQuery query, IReadOnlyList<MetricSeries> series, DateTimeOffset windowStart,
        DateTimeOffset windowEnd, double sensitivity)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(series);
        var anomalies = new List<MetricAnomaly>();
        foreach (var s in series)
        {
            var name = query.Name ?? s.Labels.GetValueOrDefault("__name__") ?? query.Query!;
            var history = s.Points.Where(p => p.At < windowStart && double.IsFinite(p.Value)).Select(p => p.Value).ToArray();
            var window = s.Points.Where(p => p.At >= windowStart && p.At <= windowEnd && double.IsFinite(p.Value)).ToList();
            if (window.Count == 0)
            {
                continue;
            }
            double? median = history.Length > 0 ? Median(history) : null;
            if (query.Below is { } below && window.Any(p => p.Value < below))
            {
                anomalies.Add(Threshold(query, s, name, window, p => p < below, below, minimum: true, median));
            }
            else if (query.Above is { } above && window.Any(p => p.Value > above))
            {
                anomalies.Add(Threshold(query, s, name, window, p => p > above, above, minimum: false, median));
            }
            else if (query.DetectSpikes != false && history.Length >= MinHistory)
            {
                var m = median!.Value;
                var spread = MadToSigma * Median(history.Select(v => Math.Abs(v - m)).ToArray());
                if (spread <= 0)
                {
                    spread = Math.Max(Math.Abs(m) * 0.01, 1e-9);
                }
                double Score(double v) => (v - m) / spread;
                bool Anomalous(double v) => Math.Abs(Score(v)) > sensitivity && Math.Abs(v - m) >= MinRelativeChange * Math.Abs(m);
                var hits = window.Where(p => Anomalous(p.Value)).ToList();
                if (hits.Count == 0)
                {
                    continue;
                }
                var peak = hits.MaxBy(p => Math.Abs(Score(p.Value)));
                var up = peak.Value > m;
                var start = RunStart(s.Points, hits[0].At, v => Anomalous(v) && v > m == up);
                var score = Score(peak.Value);
                anomalies.Add(new MetricAnomaly
                {
                    Metric = name,
                    Series = s,
                    Kind = up ? "spike" : "drop",
                    Value = peak.Value,
                    Baseline = m,
                    Score = score,
                    Start = start,
                    End = hits[^1].At,
                    Severity = Math.Abs(score) >= 3 * sensitivity ? EventSeverity.High : EventSeverity.Medium,
                    Query = query.Query!,
                });
            }
        }
        return anomalies;
    }

    private static MetricAnomaly Threshold(MetricQuery query, MetricSeries series, string name, List<(DateTimeOffset At, double Value)> window,
        Func<double, bool> crosses, double limit, bool minimum, double? median)
    {
        var hits = window.Where(p => crosses(p.Value)).ToList();
        var worst = minimum ? hits.MinBy(p => p.Value) : hits.MaxBy(p => p.Value);
        return new MetricAnomaly
        {
            Metric = name,
            Series = series,
            Kind = "threshold",
            Value = worst.Value,
            Baseline = median,
            Threshold = limit,
            Start = RunStart(series.Points, hits[0].At, crosses),
            End = hits[^1].At,
            Severity = query.Severity ?? EventSeverity.High,
            Query = query.Query!,
        };
    }

    /// <summary>The first point of the contiguous run of anomalous points that <paramref name="first"/> belongs to.</summary>
    private static DateTimeOffset RunStart(IReadOnlyList<(DateTimeOffset At, double Value)> points, DateTimeOffset first, Func<double, bool> anomalous)
    {
        var index = -1;
        for (var i = 0; i < points.Count; i++)
        {
            if (points[i].At == first)
            {
                index = i;
                break;
            }
        }
        while (index > 0 && anomalous(points[index - 1].Value))
        {
            index--;
        }
        return index >= 0 ? points[index].At : first;
    }

    public static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        var n = sorted.Length;
        return n == 0 ? double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>Folds the anomalies of one instance and overlapping windows into one draft each.</summary>
    public static IReadOnlyList<EventDraft> Correlate(IReadOnlyList<MetricAnomaly> anomalies, TimeSpan step, Provenance provenance, string? prometheusUrl)
    {
        ArgumentNullException.ThrowIfNull(anomalies);
        var drafts = new List<EventDraft>();
        foreach (var instance in anomalies.GroupBy(a => a.Series.Instance))
        {
            var clusters = new List<List<MetricAnomaly>>();
            foreach (var anomaly in instance.OrderBy(a => a.Start))
            {
                var last = clusters.LastOrDefault();
                if (last is not null && anomaly.Start <= last.Max(a => a.End) + step)
                {
                    last.Add(anomaly);
                }
                else
                {
                    clusters.Add([anomaly]);
                }
            }
            foreach (var cluster in clusters)
            {
                drafts.Add(Draft(cluster, provenance, prometheusUrl));
            }
        }
        return drafts;
    }

    private static EventDraft Draft(List<MetricAnomaly> cluster, Provenance provenance, string? prometheusUrl)
    {
        // Severity enum: Critical is 0, so the smallest value is the most severe.
        var primary = cluster.OrderBy(a => a.Severity).ThenByDescending(a => a.Kind == "threshold").ThenByDescending(a => Math.Abs(a.Score ?? 0)).First();
        var start = cluster.Min(a => a.Start);
        var end = cluster.Max(a => a.End);
        var instance = primary.Series.Instance;
        var labels = new JsonObject();
        foreach (var (key, value) in primary.Series.Labels.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            labels[key] = value;
        }
        var data = new JsonObject
        {
            ["metric"] = primary.Metric,
            ["labels"] = labels,
            ["instance"] = instance.Length > 0 ? instance : null,
            ["kind"] = primary.Kind,
            ["value"] = Round(primary.Value),
            ["baseline"] = primary.Baseline is { } b ? Round(b) : null,
            ["threshold"] = primary.Threshold,
            ["score"] = primary.Score is { } z ? Math.Round(z, 2) : null,
            ["query"] = primary.Query,
            ["window_start"] = Iso(start),
            ["window_end"] = Iso(end),
            ["related"] = new JsonArray([.. cluster.Where(a => !ReferenceEquals(a, primary)).Select(a => (JsonNode)new JsonObject
            {
                ["metric"] = a.Metric,
                ["kind"] = a.Kind,
                ["value"] = Round(a.Value),
                ["baseline"] = a.Baseline is { } rb ? Round(rb) : null,
                ["threshold"] = a.Threshold,
                ["window_start"] = Iso(a.Start),
                ["window_end"] = Iso(a.End),
            })]),
        };
        var rawUrl = prometheusUrl is null ? null
            : $"{prometheusUrl}/graph?g0.expr={Uri.EscapeDataString(primary.Query)}&g0.tab=0&g0.range_input=1h";
        return ConnectorDrafts.Create(EventSource.Metrics, $"anomaly:{primary.Metric}:{instance}:{Iso(start)}", "metric_anomaly", start,
            cluster.Min(a => a.Severity), data, provenance, rawUrl: rawUrl);
    }

    private static double Round(double value) => Math.Round(value, 6);

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
