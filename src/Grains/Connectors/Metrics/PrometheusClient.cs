using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace RootCause.Connectors.Metrics;

/// <summary>The upstream answered, but not with data (Prometheus' <c>"status": "error"</c>, or not JSON).</summary>
public sealed class PrometheusQueryException(string message, int? statusCode = null) : Exception(message)
{
    public int? StatusCode { get; } = statusCode;
}

/// <summary>
/// Prometheus' HTTP API, <c>GET /api/v1/query_range</c>, with a cache of results per query and
/// step: a poll whose range overlaps what an earlier one fetched asks Prometheus only for the
/// rest (plus the last two steps again, whose samples may have been incomplete), so polling every
/// minute over an hour of history fetches about a minute of points per poll, not an hour.
/// </summary>
public sealed class PrometheusClient(TimeProvider time, HttpMessageHandler? handler = null)
{
    /// <summary>Query results kept at most: a cached query costs a few points per series in memory.</summary>
    public const int MaxCachedQueries = 500;

    private readonly HttpClient _http = new(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, disposeHandler: handler is null)
    {
        Timeout = Timeout.InfiniteTimeSpan, // the resilience pipeline times attempts out
    };

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Url, string Query, TimeSpan Step), CachedRange> _cache = [];

    /// <summary>HTTP requests made so far (tests and the benchmark read it to see the cache work).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    private long _requests;

    /// <summary>Range queries answered from the cache alone.</summary>
    public long CacheHits => Interlocked.Read(ref _cacheHits);

    private long _cacheHits;

    /// <summary>The series of <paramref name="query"/> over [start, end] at <paramref name="step"/>; times aligned to the step.</summary>
    public async Task<IReadOnlyList<MetricSeries>> QueryRangeAsync(string url, string query, DateTimeOffset start, DateTimeOffset end, TimeSpan step,
        string? bearer, CancellationToken cancellationToken)
    {
        var from = Align(start, step);
        var to = Align(end, step);
        var key = (url, query, step);
        CachedRange? cached;
        lock (_lock)
        {
            cached = _cache.GetValueOrDefault(key);
        }
        var fetchFrom = from;
        if (cached is not null && cached.From <= from && cached.To >= from)
        {
            fetchFrom = cached.To - (2 * step) > from ? cached.To - (2 * step) : from;
            if (cached.To >= to && cached.Fetched > to)
            {
                // Fetched after the range ended: its last points were complete then.
                Interlocked.Increment(ref _cacheHits);
                fetchFrom = to + step;
            }
        }
        else
        {
            cached = new CachedRange();
        }
        if (fetchFrom <= to)
        {
            var fresh = await FetchAsync(url, query, fetchFrom, to, step, bearer, cancellationToken);
            cached = cached.Merge(fresh, from, to, time.GetUtcNow());
            lock (_lock)
            {
                if (_cache.Count >= MaxCachedQueries && !_cache.ContainsKey(key))
                {
                    _cache.Clear();
                }
                _cache[key] = cached;
            }
        }
        return cached.Slice(from, to);
    }

    private async Task<Dictionary<string, (Dictionary<string, string> Labels, SortedList<DateTimeOffset, double> Points)>> FetchAsync(
        string url, string query, DateTimeOffset from, DateTimeOffset to, TimeSpan step, string? bearer, CancellationToken cancellationToken)
    {
        var uri = $"{url}/api/v1/query_range?query={Uri.EscapeDataString(query)}&start={from.ToUnixTimeSeconds()}&end={to.ToUnixTimeSeconds()}&step={step.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        Interlocked.Increment(ref _requests);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            // Not Prometheus answering (a proxy's error page): a 5xx is worth retrying, the rest is not.
            UpstreamHttpException.ThrowIfFailed(response);
            throw new PrometheusQueryException($"query_range answered {(int)response.StatusCode} without JSON.", (int)response.StatusCode);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.Str("status") != "success")
            {
                var message = $"query_range failed ({(int)response.StatusCode} {root.Str("errorType")}): {root.Str("error")}";
                if (TransientFailures.IsTransientStatus(response.StatusCode))
                {
                    throw new UpstreamHttpException(response.StatusCode, message, response.Headers.RetryAfter?.Delta, response.Headers.RetryAfter?.Date);
                }
                throw new PrometheusQueryException(message, (int)response.StatusCode);
            }
            var result = new Dictionary<string, (Dictionary<string, string>, SortedList<DateTimeOffset, double>)>(StringComparer.Ordinal);
            foreach (var series in root.Items("data", "result"))
            {
                var labels = new Dictionary<string, string>(StringComparer.Ordinal);
                if (series.Get("metric") is { ValueKind: JsonValueKind.Object } metric)
                {
                    foreach (var label in metric.EnumerateObject())
                    {
                        labels[label.Name] = label.Value.GetString() ?? "";
                    }
                }
                var points = new SortedList<DateTimeOffset, double>();
                foreach (var pair in series.Items("values"))
                {
                    // [ <unix seconds, float>, "<value as text>" ]; NaN and ±Inf are "NaN", "+Inf", "-Inf".
                    var at = DateTimeOffset.UnixEpoch.AddMilliseconds(Math.Round(pair[0].GetDouble() * 1000));
                    var text = pair[1].GetString();
                    points[at] = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                        : text switch { "+Inf" => double.PositiveInfinity, "-Inf" => double.NegativeInfinity, _ => double.NaN };
                }
                result[Key(labels)] = (labels, points);
            }
            return result;
        }
    }

    private static string Key(Dictionary<string, string> labels) =>
        string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    private static DateTimeOffset Align(DateTimeOffset at, TimeSpan step)
    {
        var ticks = at.UtcTicks - (at.UtcTicks % step.Ticks);
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    /// <summary>One query's points over [From, To], per series; replaced, never changed, so readers need no lock.</summary>
    private sealed class CachedRange
    {
        public DateTimeOffset From { get; private init; } = DateTimeOffset.MaxValue;
        public DateTimeOffset To { get; private init; } = DateTimeOffset.MinValue;
        public DateTimeOffset Fetched { get; private init; }
        private Dictionary<string, (Dictionary<string, string> Labels, SortedList<DateTimeOffset, double> Points)> Series { get; init; } = new(StringComparer.Ordinal);

        public CachedRange Merge(Dictionary<string, (Dictionary<string, string> Labels, SortedList<DateTimeOffset, double> Points)> fresh,
            DateTimeOffset from, DateTimeOffset to, DateTimeOffset fetched)
        {
            var merged = new Dictionary<string, (Dictionary<string, string>, SortedList<DateTimeOffset, double>)>(StringComparer.Ordinal);
            foreach (var key in Series.Keys.Union(fresh.Keys))
            {
                var labels = fresh.TryGetValue(key, out var f) ? f.Labels : Series[key].Labels;
                var points = new SortedList<DateTimeOffset, double>();
                if (Series.TryGetValue(key, out var old))
                {
                    foreach (var (at, value) in old.Points)
                    {
                        if (at >= from)
                        {
                            points[at] = value;
                        }
                    }
                }
                if (fresh.TryGetValue(key, out var latest))
                {
                    foreach (var (at, value) in latest.Points)
                    {
                        points[at] = value;
                    }
                }
                if (points.Count > 0)
                {
                    merged[key] = (labels, points);
                }
            }
            return new CachedRange { From = from, To = to, Fetched = fetched, Series = merged };
        }

        public IReadOnlyList<MetricSeries> Slice(DateTimeOffset from, DateTimeOffset to) =>
            [.. Series.Values
                .Select(s => new MetricSeries(s.Labels, [.. s.Points.Where(p => p.Key >= from && p.Key <= to).Select(p => (p.Key, p.Value))]))
                .Where(s => s.Points.Count > 0)];
    }
}
