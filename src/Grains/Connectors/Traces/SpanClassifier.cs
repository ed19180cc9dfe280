using System.Text.Json.Nodes;
using RootCause.Events;

namespace RootCause.Connectors.Traces;

/// <summary>How a traces connector judges spans; from its config, with defaults filled in.</summary>
[GenerateSerializer, Immutable, Alias("rc.TraceRules")]
public sealed record TraceRules
{
    public static readonly TimeSpan DefaultSlowThreshold = TimeSpan.FromSeconds(1);
    public const double DefaultSlowFactor = 3;
    public const int DefaultSampleLimit = 5;

    [Id(0)] public TimeSpan SlowThreshold { get; init; } = DefaultSlowThreshold;
    [Id(1)] public double SlowFactor { get; init; } = DefaultSlowFactor;
    [Id(2)] public int SampleLimit { get; init; } = DefaultSampleLimit;

    public static TraceRules From(ConnectorConfig config) => new()
    {
        SlowThreshold = config.SlowThreshold ?? DefaultSlowThreshold,
        SlowFactor = config.SlowFactor ?? DefaultSlowFactor,
        SampleLimit = config.SampleLimit ?? DefaultSampleLimit,
    };
}

/// <summary>What a batch of spans turned into.</summary>
[GenerateSerializer, Immutable, Alias("rc.SpanAnalysis")]
public sealed record SpanAnalysis
{
    [Id(0)] public IReadOnlyList<EventDraft> Drafts { get; init; } = [];

    /// <summary>Spans that were slow or failed.</summary>
    [Id(1)] public int ProblemSpans { get; init; }

    /// <summary>Slow traces left out because their operation had had its share this minute.</summary>
    [Id(2)] public int SampledOut { get; init; }
}

/// <summary>
/// Finds the problem traces in batches of spans and keeps what it needs to judge the next ones.
/// <list type="bullet">
/// <item><b>Error</b>: status code ERROR (exception details from the span's <c>exception</c> event).</item>
/// <item><b>Slow</b>: longer than the threshold (1 s) unless its operation is usually that slow
/// (not above <c>factor</c> × the operation's median), or, once an operation has a baseline
/// (<see cref="MinSamples"/> spans), longer than <c>factor</c> × its median and at least
/// <see cref="RelativeFloor"/>. The baseline is the median of the operation's last
/// <see cref="WindowSize"/> durations, taken before the batch is added.</item>
/// <item><b>Correlation</b>: problem spans of one trace whose parent is a problem span too belong
/// to their parent's problem. Each trace gives one event, for its top-most problem span; the
/// deepest problem span under it names the downstream (<c>peer_service</c>: its <c>peer.service</c>
/// attribute or, for a span of another service, that service), and an error anywhere in the chain
/// makes it an <c>error_span</c> carrying the deepest exception.</item>
/// <item><b>Sampling</b>: at most <c>sample_limit</c> slow traces per service, operation and minute
/// (of the span's start); errors are always kept. The rest are counted, not ingested.</item>
/// </list>
/// Not thread-safe: one instance lives in one grain activation.
/// </summary>
public sealed class SpanClassifier
{
    public const int WindowSize = 256;
    public const int MinSamples = 20;
    public static readonly TimeSpan RelativeFloor = TimeSpan.FromMilliseconds(100);
    private const int MaxOperations = 10_000;
    private const int MaxDownstream = 10;

    private readonly Dictionary<(string Service, string Operation), DurationWindow> _baselines = [];
    private readonly Dictionary<(string Service, string Operation, long Minute), int> _kept = [];
    private long _newestMinute;

    /// <summary>The operation's median duration (ms), or null while it has fewer than <see cref="MinSamples"/> spans.</summary>
    public double? Baseline(string service, string operation) =>
        _baselines.TryGetValue((service, operation), out var window) ? window.Median() : null;

    public SpanAnalysis Analyze(IReadOnlyList<TraceSpan> spans, TraceRules rules, Provenance provenance, Func<string, string?>? traceUrl = null)
    {
        ArgumentNullException.ThrowIfNull(spans);
        ArgumentNullException.ThrowIfNull(rules);
        var verdicts = new Dictionary<TraceSpan, Verdict>(ReferenceEqualityComparer.Instance);
        foreach (var span in spans)
        {
            var baseline = Baseline(span.Service, span.Operation);
            var slow = IsSlow(span.DurationMs, baseline, rules);
            if (span.IsError || slow)
            {
                verdicts[span] = new Verdict(slow, baseline);
            }
        }
        foreach (var span in spans)
        {
            Record(span);
        }

        var drafts = new List<EventDraft>();
        var sampledOut = 0;
        foreach (var trace in spans.Where(verdicts.ContainsKey).GroupBy(s => s.TraceId))
        {
            var problems = trace.ToDictionary(s => s.SpanId);
            var all = spans.Where(s => s.TraceId == trace.Key).GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());
            var tops = problems.Values.Where(s => s.ParentSpanId is null || !problems.ContainsKey(s.ParentSpanId)).ToList();
            var top = tops.OrderBy(s => Depth(s, all)).ThenByDescending(s => s.DurationMs).ThenBy(s => s.Start).First();
            var below = Subtree(top, problems);
            var isError = top.IsError || below.Any(s => s.IsError);
            if (!isError && !Keep(top, rules))
            {
                sampledOut++;
                continue;
            }
            var leaf = Deepest(top, problems);
            // The chain under the top span first, then the trace's other problems (kept in the same event).
            var others = problems.Values.Where(s => !ReferenceEquals(s, top) && !below.Contains(s)).OrderBy(s => s.Start);
            isError |= others.Any(s => s.IsError);
            drafts.Add(Draft(top, verdicts[top], leaf, isError, [.. below, .. others], rules, provenance, traceUrl?.Invoke(top.TraceId)));
        }
        Forget();
        return new SpanAnalysis { Drafts = drafts, ProblemSpans = verdicts.Count, SampledOut = sampledOut };
    }

    private static bool IsSlow(double durationMs, double? baseline, TraceRules rules)
    {
        var threshold = rules.SlowThreshold.TotalMilliseconds;
        if (baseline is not { } median)
        {
            return durationMs > threshold;
        }
        var aboveUsual = durationMs > rules.SlowFactor * median;
        return aboveUsual && (durationMs > threshold || durationMs >= RelativeFloor.TotalMilliseconds);
    }

    private void Record(TraceSpan span)
    {
        var key = (span.Service, span.Operation);
        if (!_baselines.TryGetValue(key, out var window))
        {
            if (_baselines.Count >= MaxOperations)
            {
                // An unbounded set of operation names (ids in span names) must not grow the silo's memory without end.
                _baselines.Clear();
            }
            _baselines[key] = window = new DurationWindow();
        }
        window.Add(span.DurationMs);
    }

    private bool Keep(TraceSpan top, TraceRules rules)
    {
        var minute = top.Start.ToUnixTimeSeconds() / 60;
        _newestMinute = Math.Max(_newestMinute, minute);
        var key = (top.Service, top.Operation, minute);
        var kept = _kept.GetValueOrDefault(key);
        if (kept >= rules.SampleLimit)
        {
            return false;
        }
        _kept[key] = kept + 1;
        return true;
    }

    /// <summary>Sampling counts of minutes long gone are not needed (late spans of those minutes start counting afresh).</summary>
    private void Forget()
    {
        if (_kept.Count < 1000)
        {
            return;
        }
        foreach (var key in _kept.Keys.Where(k => k.Minute < _newestMinute - 10).ToList())
        {
            _kept.Remove(key);
        }
    }

    private static int Depth(TraceSpan span, Dictionary<string, TraceSpan> all)
    {
        var depth = 0;
        var current = span;
        while (current.ParentSpanId is { } parent && all.TryGetValue(parent, out var next) && depth < all.Count)
        {
            depth++;
            current = next;
        }
        return depth;
    }

    private static List<TraceSpan> Subtree(TraceSpan top, Dictionary<string, TraceSpan> problems)
    {
        var result = new List<TraceSpan>();
        var pending = new Queue<TraceSpan>([top]);
        while (pending.TryDequeue(out var span) && result.Count < problems.Count)
        {
            foreach (var child in problems.Values.Where(c => c.ParentSpanId == span.SpanId))
            {
                result.Add(child);
                pending.Enqueue(child);
            }
        }
        return result;
    }

    /// <summary>Down the chain of problem spans: an erroring child first, else the longest.</summary>
    private static TraceSpan Deepest(TraceSpan top, Dictionary<string, TraceSpan> problems)
    {
        var current = top;
        for (var step = 0; step < problems.Count; step++)
        {
            var next = problems.Values.Where(c => c.ParentSpanId == current.SpanId)
                .OrderByDescending(c => c.IsError).ThenByDescending(c => c.DurationMs).FirstOrDefault();
            if (next is null)
            {
                break;
            }
            current = next;
        }
        return current;
    }

    private static EventDraft Draft(TraceSpan top, Verdict verdict, TraceSpan leaf, bool isError, List<TraceSpan> related,
        TraceRules rules, Provenance provenance, string? rawUrl)
    {
        var failing = new[] { leaf }.Concat(related.Where(s => s.IsError)).Append(top)
            .FirstOrDefault(s => s.IsError && (s.ExceptionType ?? s.ExceptionMessage ?? s.StatusMessage) is not null)
            ?? (isError ? related.Append(top).FirstOrDefault(s => s.IsError) : null);
        var peer = !ReferenceEquals(leaf, top)
            ? leaf.PeerService ?? (leaf.Service != top.Service ? leaf.Service : null)
            : top.PeerService;
        var data = new JsonObject
        {
            ["trace_id"] = top.TraceId,
            ["span_id"] = top.SpanId,
            ["service"] = top.Service,
            ["operation"] = top.Operation,
            ["span_kind"] = top.Kind,
            ["duration_ms"] = Math.Round(top.DurationMs, 3),
            ["baseline_ms"] = verdict.Baseline is { } b ? Math.Round(b, 3) : null,
            ["threshold_ms"] = rules.SlowThreshold.TotalMilliseconds,
            ["slow"] = verdict.Slow,
            ["status"] = isError ? "error" : "ok",
            ["peer_service"] = peer,
        };
        if (failing is not null)
        {
            data["exception"] = new JsonObject
            {
                ["type"] = failing.ExceptionType,
                ["message"] = failing.ExceptionMessage ?? failing.StatusMessage,
                ["stacktrace"] = failing.ExceptionStackTrace,
                ["service"] = failing.Service,
                ["operation"] = failing.Operation,
                ["span_id"] = failing.SpanId,
            };
        }
        data["downstream"] = new JsonArray([.. related.Take(MaxDownstream).Select(s => (JsonNode)new JsonObject
        {
            ["span_id"] = s.SpanId,
            ["service"] = s.Service,
            ["operation"] = s.Operation,
            ["duration_ms"] = Math.Round(s.DurationMs, 3),
            ["status"] = s.IsError ? "error" : "ok",
            ["peer_service"] = s.PeerService,
        })]);
        data["problem_spans"] = related.Count + 1;
        data["attributes"] = JsonNode.Parse(top.Attributes);
        data["resource"] = JsonNode.Parse(top.Resource);
        return ConnectorDrafts.Create(EventSource.Traces, $"{top.TraceId}:{top.SpanId}", isError ? "error_span" : "slow_span", top.Start,
            isError ? EventSeverity.High : EventSeverity.Medium, data, provenance, dedupKey: $"trace:{top.TraceId}", rawUrl: rawUrl);
    }

    private sealed record Verdict(bool Slow, double? Baseline);

    /// <summary>The last <see cref="WindowSize"/> durations of one operation, and their median.</summary>
    private sealed class DurationWindow
    {
        private readonly double[] _values = new double[WindowSize];
        private int _count;
        private int _next;
        private double? _median;

        public void Add(double value)
        {
            _values[_next] = value;
            _next = (_next + 1) % WindowSize;
            _count = Math.Min(_count + 1, WindowSize);
            _median = null;
        }

        public double? Median()
        {
            if (_count < MinSamples)
            {
                return null;
            }
            if (_median is null)
            {
                var sorted = _values.AsSpan(0, _count).ToArray();
                Array.Sort(sorted);
                _median = _count % 2 == 1 ? sorted[_count / 2] : (sorted[(_count / 2) - 1] + sorted[_count / 2]) / 2;
            }
            return _median;
        }
    }
}
