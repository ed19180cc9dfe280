using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RootCause.Connectors.Logs;

/// <summary>One page of an upstream's answer: the records, and what the cursor becomes once they are ingested.</summary>
public sealed record UpstreamPage(IReadOnlyList<LogRecord> Records, string Position, bool HasMore)
{
    /// <summary>Elasticsearch: the last hit's sort values, where the next page of this run starts.</summary>
    public JsonElement? SearchAfter { get; init; }
}

/// <summary>
/// Pulls from Grafana Loki's <c>GET /loki/api/v1/query_range</c> (LogQL, <c>direction=forward</c>,
/// times in Unix nanoseconds). Loki has no page token, so the next page starts at the last entry's
/// time; entries at exactly that time that were already taken are remembered in the position
/// (<c>&lt;ns&gt;|&lt;hash&gt;,…</c>) and skipped, so nothing is read twice and nothing is missed.
/// </summary>
public static class LokiQuery
{
    public static async Task<UpstreamPage> PageAsync(HttpClient http, ConnectorConfig config, string? authorization, string? position,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(config);
        var (fromNs, seen) = ParsePosition(position);
        var lookback = config.InitialLookback ?? LogsRules.DefaultInitialLookback;
        var start = fromNs ?? Nanos(now - lookback);
        var limit = config.PageSize ?? LogsRules.DefaultPageSize;
        var url = $"{config.Url!.TrimEnd('/')}/loki/api/v1/query_range?query={Uri.EscapeDataString(config.Query!)}"
            + string.Create(CultureInfo.InvariantCulture, $"&start={start}&end={Nanos(now)}&limit={limit}&direction=forward");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        using var response = await http.SendAsync(request, cancellationToken);
        UpstreamHttpException.ThrowIfFailed(response);
        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        var root = document.RootElement;
        if (root.Str("status") != "success" || root.Str("data", "resultType") is not ("streams" or null))
        {
            throw new InvalidDataException($"Loki answered status {root.Str("status") ?? "?"}, result type {root.Str("data", "resultType") ?? "?"}; a log query (streams) was expected.");
        }
        var entries = new List<(long Ns, string Key, LogRecord Record)>();
        foreach (var stream in root.Items("data", "result"))
        {
            var labels = stream.Get("stream");
            var labelText = labels?.GetRawText() ?? "";
            foreach (var value in stream.Items("values"))
            {
                if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() < 2
                    || !long.TryParse(value[0].GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var ns))
                {
                    continue;
                }
                var line = value[1].GetString() ?? "";
                entries.Add((ns, Key(labelText, line), LogShapes.FromLokiEntry(labels, value[0], line)));
            }
        }
        var total = entries.Count;
        entries.Sort((a, b) => a.Ns.CompareTo(b.Ns));
        var fresh = entries.Where(e => !(e.Ns == start && seen.Contains(e.Key))).ToList();
        if (total == 0)
        {
            return new UpstreamPage([], position ?? Format(start, []), false);
        }
        var last = entries[^1].Ns;
        var atLast = entries.Where(e => e.Ns == last).Select(e => e.Key);
        var keys = last == start ? seen.Concat(atLast).Distinct(StringComparer.Ordinal).ToList() : atLast.Distinct(StringComparer.Ordinal).ToList();
        // A full page of entries all at one instant, all seen: step past the instant rather than ask again forever.
        var stuck = fresh.Count == 0 && total >= limit;
        var next = stuck ? Format(last + 1, []) : Format(last, keys);
        return new UpstreamPage(fresh.Select(e => e.Record).ToList(), next, total >= limit);
    }

    private static long Nanos(DateTimeOffset at) => (at - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static string Key(string labels, string line) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(labels + "\n" + line)).AsSpan(0, 6));

    private static (long? Ns, HashSet<string> Seen) ParsePosition(string? position)
    {
        if (position is null)
        {
            return (null, []);
        }
        var bar = position.IndexOf('|', StringComparison.Ordinal);
        var nsText = bar < 0 ? position : position[..bar];
        var seen = bar < 0 ? [] : position[(bar + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        return long.TryParse(nsText, NumberStyles.None, CultureInfo.InvariantCulture, out var ns) ? (ns, seen) : (null, []);
    }

    private static string Format(long ns, IReadOnlyList<string> keys) =>
        string.Create(CultureInfo.InvariantCulture, $"{ns}|{string.Join(',', keys)}");
}

/// <summary>
/// Pulls from Elasticsearch or OpenSearch: <c>POST /&lt;index&gt;/_search</c> filtered on
/// <c>@timestamp</c> (and the optional <c>query_string</c>), sorted by <c>@timestamp</c> then
/// <c>_doc</c>, paged with <c>search_after</c> (the last hit's <c>sort</c> values). Between runs the
/// position is <c>&lt;epoch ms&gt;|&lt;_id&gt;,…</c>: the next run asks from that time on and skips the
/// hits already taken at it.
/// </summary>
public static class ElasticsearchQuery
{
    public static async Task<UpstreamPage> PageAsync(HttpClient http, ConnectorConfig config, string? authorization, string? position,
        JsonElement? searchAfter, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(config);
        var (fromMs, seen) = ParsePosition(position);
        var lookback = config.InitialLookback ?? LogsRules.DefaultInitialLookback;
        var start = fromMs ?? (now - lookback).ToUnixTimeMilliseconds();
        var size = config.PageSize ?? LogsRules.DefaultPageSize;
        var filter = new JsonArray
        {
            new JsonObject { ["range"] = new JsonObject { ["@timestamp"] = new JsonObject { ["gte"] = start, ["lte"] = now.ToUnixTimeMilliseconds(), ["format"] = "epoch_millis" } } },
        };
        if (config.Query is { Length: > 0 } query)
        {
            filter.Add(new JsonObject { ["query_string"] = new JsonObject { ["query"] = query } });
        }
        var body = new JsonObject
        {
            ["size"] = size,
            ["track_total_hits"] = false,
            ["query"] = new JsonObject { ["bool"] = new JsonObject { ["filter"] = filter } },
            ["sort"] = new JsonArray { new JsonObject { ["@timestamp"] = "asc" }, new JsonObject { ["_doc"] = "asc" } },
        };
        if (searchAfter is { } after)
        {
            body["search_after"] = JsonNode.Parse(after.GetRawText());
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{config.Url!.TrimEnd('/')}/{Uri.EscapeDataString(config.Index!).Replace("%2A", "*", StringComparison.Ordinal).Replace("%2C", ",", StringComparison.Ordinal)}/_search")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        using var response = await http.SendAsync(request, cancellationToken);
        UpstreamHttpException.ThrowIfFailed(response);
        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        var hits = document.RootElement.Get("hits", "hits") is { ValueKind: JsonValueKind.Array } array
            ? array.EnumerateArray().ToList()
            : throw new InvalidDataException("The _search answer has no hits.hits array.");
        var records = new List<LogRecord>();
        long? lastMs = null;
        var idsAtLast = new List<string>();
        foreach (var hit in hits)
        {
            var id = hit.Str("_id");
            var ms = hit.Get("sort") is { ValueKind: JsonValueKind.Array } sort && sort.GetArrayLength() > 0 && sort[0].TryGetInt64(out var value) ? value : (long?)null;
            if (ms is { } m)
            {
                if (m != lastMs)
                {
                    idsAtLast.Clear();
                }
                lastMs = m;
                if (id is not null)
                {
                    idsAtLast.Add(id);
                }
            }
            if (ms == start && id is not null && seen.Contains(id))
            {
                continue;
            }
            if (hit.Get("_source") is { ValueKind: JsonValueKind.Object } source)
            {
                var index = hit.Str("_index") ?? config.Index;
                records.Add(LogShapes.Single(source, source.GetRawText()) with { Id = id is null ? null : $"{index}/{id}" });
            }
        }
        var next = lastMs is null ? position ?? Format(start, []) : Format(lastMs.Value, lastMs == start ? [.. seen.Union(idsAtLast)] : idsAtLast);
        return new UpstreamPage(records, next, hits.Count >= size) { SearchAfter = hits.Count > 0 ? hits[^1].Get("sort")?.Clone() : null };
    }

    private static (long? Ms, HashSet<string> Seen) ParsePosition(string? position)
    {
        if (position is null)
        {
            return (null, []);
        }
        var bar = position.IndexOf('|', StringComparison.Ordinal);
        var msText = bar < 0 ? position : position[..bar];
        var seen = bar < 0 ? [] : position[(bar + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        return long.TryParse(msText, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? (ms, seen) : (null, []);
    }

    private static string Format(long ms, IReadOnlyList<string> ids) =>
        string.Create(CultureInfo.InvariantCulture, $"{ms}|{string.Join(',', ids)}");
}
