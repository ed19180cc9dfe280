using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using RootCause.Connectors.Metrics;

namespace RootCause.Tests.Connectors.Metrics;

/// <summary>The range cache in front of query_range, against an upstream that records what it was asked.</summary>
public sealed class PrometheusRangeCacheTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 14, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task AnOverlappingPollFetchesOnlyWhatItHasNotSeenPlusTheLastTwoStepsAgain()
    {
        var time = new FakeTimeProvider(Start.AddMinutes(10));
        var upstream = new RecordingPrometheus();
        var client = new PrometheusClient(time, upstream);
        var step = TimeSpan.FromSeconds(30);

        var first = await client.QueryRangeAsync("http://prom", "up", Start, Start.AddMinutes(10), step, null, CancellationToken.None);
        Assert.Equal(21, first.Single().Points.Count);

        // The next poll covers [1 min, 11 min], a step behind the clock as polls are: only 9:00 to 11:00
        // is asked for (the first poll's last two steps again, then the new minute).
        time.Advance(TimeSpan.FromSeconds(90));
        var second = await client.QueryRangeAsync("http://prom", "up", Start.AddMinutes(1), Start.AddMinutes(11), step, null, CancellationToken.None);
        Assert.Equal(2, upstream.Ranges.Count);
        Assert.Equal((Start.AddMinutes(9), Start.AddMinutes(11)), upstream.Ranges[1]);
        var points = second.Single().Points;
        Assert.Equal(21, points.Count);
        Assert.Equal(Start.AddMinutes(1), points[0].At);
        Assert.Equal(Start.AddMinutes(11), points[^1].At);
        Assert.Equal(RecordingPrometheus.ValueAt(Start.AddMinutes(11)), points[^1].Value);

        // The same range again: it was fetched after it ended, so it comes from the cache alone.
        var third = await client.QueryRangeAsync("http://prom", "up", Start.AddMinutes(1), Start.AddMinutes(11), step, null, CancellationToken.None);
        Assert.Equal(2, upstream.Ranges.Count);
        Assert.Equal(1, client.CacheHits);
        Assert.Equal(points, third.Single().Points);

        // Another query, or a range before what is cached, goes to Prometheus whole.
        await client.QueryRangeAsync("http://prom", "up", Start.AddMinutes(-5), Start.AddMinutes(1), step, null, CancellationToken.None);
        Assert.Equal((Start.AddMinutes(-5), Start.AddMinutes(1)), upstream.Ranges[2]);
    }

    [Fact]
    public async Task AQueryPrometheusRefusesIsAnErrorNamingItsMessage()
    {
        var client = new PrometheusClient(TimeProvider.System, new RecordingPrometheus(refuse: true));
        var error = await Assert.ThrowsAsync<PrometheusQueryException>(() =>
            client.QueryRangeAsync("http://prom", "rate(up[", Start, Start.AddMinutes(5), TimeSpan.FromSeconds(30), null, CancellationToken.None));
        Assert.Equal(400, error.StatusCode);
        Assert.Contains("bad_data", error.Message, StringComparison.Ordinal);
        Assert.Contains("unclosed left bracket", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Answers query_range like Prometheus (matrix of one series, a value per step) and keeps the ranges it was asked for.</summary>
    private sealed class RecordingPrometheus(bool refuse = false) : HttpMessageHandler
    {
        public List<(DateTimeOffset Start, DateTimeOffset End)> Ranges { get; } = [];

        public static double ValueAt(DateTimeOffset at) => at.ToUnixTimeSeconds() % 1000 / 10.0;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (refuse)
            {
                return Task.FromResult(Json(HttpStatusCode.BadRequest,
                    """{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:9: parse error: unclosed left bracket"}"""));
            }
            var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri!.Query);
            var start = long.Parse(query["start"]!, CultureInfo.InvariantCulture);
            var end = long.Parse(query["end"]!, CultureInfo.InvariantCulture);
            var step = (long)double.Parse(query["step"]!.TrimEnd('s'), CultureInfo.InvariantCulture);
            Ranges.Add((DateTimeOffset.FromUnixTimeSeconds(start), DateTimeOffset.FromUnixTimeSeconds(end)));
            var values = new StringBuilder();
            for (var t = start; t <= end; t += step)
            {
                values.Append(values.Length == 0 ? "" : ",")
                    .Append(CultureInfo.InvariantCulture, $"[{t},\"{ValueAt(DateTimeOffset.FromUnixTimeSeconds(t)).ToString(CultureInfo.InvariantCulture)}\"]");
            }
            return Task.FromResult(Json(HttpStatusCode.OK,
                $$"""{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"api-1:9090","job":"api"},"values":[{{values}}]}]} }"""));
        }

        private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
            new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    }
}
