using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Connectors.Metrics;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Metrics;

/// <summary>
/// A real Prometheus scrapes a target the test serves; the test spikes the target's CPU and
/// memory and empties its disk, then the prometheus connector reads Prometheus' query_range API.
/// </summary>
[Collection(ConnectorSiloCollection.Name)]
public sealed class PrometheusPollingTests(ConnectorSiloFixture silo)
{
    private HttpClient Http => silo.Http;

    [Fact]
    public async Task ASpikeScrapedByARealPrometheusBecomesOneCorrelatedAnomalyAndANearlyFullDiskACriticalOne()
    {
        await using var target = await ScrapeTarget.StartAsync();
        var baseline = new[] { 0.20, 0.21, 0.19, 0.20, 0.22 };
        target.Set("/checkout/metrics", "app_cpu_usage_ratio", 0.20);
        target.Set("/checkout/metrics", "app_memory_bytes", 210e6);
        target.Set("/db/metrics", "app_disk_free_ratio", 0.42);
        await using var prometheus = await PrometheusServer.StartAsync(
        [
            ("checkout", target.Address, "/checkout/metrics", new Dictionary<string, string> { ["instance"] = "checkout-1", ["service"] = "checkout-api" }),
            ("db", target.Address, "/db/metrics", new Dictionary<string, string> { ["instance"] = "db-1", ["service"] = "payments-db" }),
        ]);

        // A quiet history first (with a little noise), at least 15 scrapes of it.
        var tick = 0;
        await Eventually.ReturnsAsync(async () =>
        {
            tick++;
            target.Set("/checkout/metrics", "app_cpu_usage_ratio", baseline[tick % baseline.Length]);
            target.Set("/checkout/metrics", "app_memory_bytes", 200e6 + (tick % 3 * 5e6));
            await Task.Delay(250);
            return await prometheus.QueryAsync("count_over_time(app_cpu_usage_ratio[1m])");
        }, n => n >= 15, TimeSpan.FromSeconds(60));

        var spikeAt = DateTimeOffset.UtcNow;
        target.Set("/checkout/metrics", "app_cpu_usage_ratio", 0.93);
        target.Set("/checkout/metrics", "app_memory_bytes", 1.8e9);
        target.Set("/db/metrics", "app_disk_free_ratio", 0.05);
        // Until every sample of the last 3 s is the spiked one.
        await Eventually.ReturnsAsync(() => prometheus.QueryAsync("min_over_time(app_memory_bytes[3s])"), v => v > 1e9, TimeSpan.FromSeconds(30));
        await Eventually.ReturnsAsync(() => prometheus.QueryAsync("max_over_time(app_disk_free_ratio[3s])"), v => v < 0.1, TimeSpan.FromSeconds(30));

        var (put, putBody, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/prometheus-shop", $$"""
            {"kind":"prometheus","url":"{{prometheus.Url}}","step":"00:00:01","lookback":"00:01:00","queries":[
              {"name":"cpu_usage_ratio","query":"app_cpu_usage_ratio"},
              {"name":"memory_bytes","query":"app_memory_bytes"},
              {"name":"disk_free_ratio","query":"app_disk_free_ratio","below":0.1,"severity":"critical","detect_spikes":false}]}
            """);
        Assert.True(put == HttpStatusCode.Created, putBody?.ToJsonString());

        var from = spikeAt.AddSeconds(-4);
        var to = DateTimeOffset.UtcNow;
        var range = $$"""{"from":"{{from:O}}","to":"{{to:O}}"}""";
        var (status, run, _) = await Http.SendAsync(HttpMethod.Post, "/api/admin/connectors/prometheus-shop/backfill?wait=true", range);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True((string)run!["state"]! == "succeeded", run.ToJsonString());
        Assert.Equal(3, (int)run["found"]!);   // cpu, memory, disk
        Assert.Equal(2, (int)run["created"]!); // cpu + memory of checkout-1 are one event

        // Lists come from the search index, which follows the database within a second or so.
        var list = await Eventually.ReturnsAsync(async () => (await Http.GetJsonAsync("/api/events?source=metrics&event_type=metric_anomaly&per_page=10")).Body,
            b => b!.AsArray().Count >= 2);
        var events = list!.AsArray().Select(e => e!).ToList();
        Assert.Equal(2, events.Count);

        var checkout = events.Single(e => (string)e["data"]!["instance"]! == "checkout-1");
        var data = checkout["data"]!;
        Assert.Equal("spike", (string)data["kind"]!);
        var metrics = new[] { (string)data["metric"]!, (string)data["related"]![0]!["metric"]! }.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["cpu_usage_ratio", "memory_bytes"], metrics);
        Assert.Single(data["related"]!.AsArray());
        Assert.Equal("spike", (string)data["related"]![0]!["kind"]!);
        Assert.Equal("checkout-api", (string)data["labels"]!["service"]!);
        var windowStart = DateTimeOffset.Parse((string)data["window_start"]!, CultureInfo.InvariantCulture);
        Assert.InRange(windowStart, spikeAt.AddSeconds(-1), spikeAt.AddSeconds(3));
        Assert.Equal($"anomaly:{(string)data["metric"]!}:checkout-1:{(string)data["window_start"]!}", (string)checkout["source_id"]!);
        var cpu = (string)data["metric"]! == "cpu_usage_ratio" ? data : data["related"]![0]!;
        Assert.Equal(0.93, (double)cpu["value"]!);
        Assert.InRange((double)cpu["baseline"]!, 0.19, 0.22);

        var disk = events.Single(e => (string)e["data"]!["instance"]! == "db-1");
        Assert.Equal("critical", (string)disk["severity"]!);
        Assert.Equal("threshold", (string)disk["data"]!["kind"]!);
        Assert.Equal("disk_free_ratio", (string)disk["data"]!["metric"]!);
        Assert.Equal(0.05, (double)disk["data"]!["value"]!);
        Assert.Equal(0.1, (double)disk["data"]!["threshold"]!);
        Assert.Equal(0.42, (double)disk["data"]!["baseline"]!);
        Assert.Empty(disk["data"]!["related"]!.AsArray());

        // The same range again is answered from the range cache: no request to Prometheus, and the same events.
        var client = silo.App.Services.GetRequiredService<PrometheusClient>();
        var requests = client.Requests;
        var (_, again, _) = await Http.SendAsync(HttpMethod.Post, "/api/admin/connectors/prometheus-shop/backfill?wait=true", range);
        Assert.Equal(requests, client.Requests);
        Assert.Equal(0, (int)again!["created"]!);
        Assert.Equal(2, (int)again["existing"]!);

        // A sync (the last minute, up to a step before now) meets the same anomalies as the same events:
        // the disk's for sure; the spike's too once Prometheus holds ten quiet samples before that minute.
        var (_, sync, _) = await Http.SendAsync(HttpMethod.Post, "/api/admin/connectors/prometheus-shop/sync?wait=true");
        Assert.True((string)sync!["state"]! == "succeeded", sync.ToJsonString());
        Assert.Equal(0, (int)sync["created"]!);
        Assert.InRange((int)sync["existing"]!, 1, 2);
        Assert.NotNull((string?)sync["cursor_after"]);
    }

    [Fact]
    public async Task APrometheusThatIsNotThereFailsTheRunAndTheSiloKeepsServing()
    {
        var closed = $"http://127.0.0.1:{SiloPairFixture.FreePort()}";
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/prometheus-gone", $$"""{"kind":"prometheus","url":"{{closed}}"}""");
        var (_, run, _) = await Http.SendAsync(HttpMethod.Post, "/api/admin/connectors/prometheus-gone/sync?wait=true");
        Assert.Equal("failed", (string)run!["state"]!);
        Assert.Contains("HttpRequestException", (string)run["error"]!, StringComparison.Ordinal);
        var (ready, _, _) = await Http.GetJsonAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready);
    }
}
