using System.Text.Json.Nodes;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Metrics;

/// <summary>
/// The whole alerting path with real counterparts: Prometheus evaluates a rule over a target the
/// test serves, hands the alert to a real Alertmanager, which delivers its webhook to the receiver.
/// </summary>
[Collection(ConnectorSiloCollection.Name)]
public sealed class RealAlertmanagerTests(ConnectorSiloFixture silo)
{
    private const string Rules = """
        groups:
          - name: rootcause-test
            rules:
              - alert: CheckoutDiskAlmostFull
                expr: app_disk_free_ratio < 0.1
                labels:
                  severity: critical
                annotations:
                  summary: 'Disk of {{ $labels.instance }} is almost full'
        """;

    private HttpClient Http => silo.Http;

    [Fact]
    public async Task AnAlertFiredByPrometheusReachesTheReceiverThroughAlertmanagerAndItsResolutionFoldsIntoIt()
    {
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/am-real", """{"kind":"alertmanager"}""");
        await using var target = await ScrapeTarget.StartAsync();
        target.Set("/db/metrics", "app_disk_free_ratio", 0.42);
        await using var alertmanager = await AlertmanagerServer.StartAsync(new Uri(Http.BaseAddress!, "/api/receivers/alertmanager/am-real").ToString());
        await using var prometheus = await PrometheusServer.StartAsync(
            [("db", target.Address, "/db/metrics", new Dictionary<string, string> { ["instance"] = "db-7", ["service"] = "checkout-db" })],
            Rules, alertmanager.Address);
        await Eventually.ReturnsAsync(() => prometheus.QueryAsync("count_over_time(app_disk_free_ratio[1m])"), n => n >= 2, TimeSpan.FromSeconds(30));

        target.Set("/db/metrics", "app_disk_free_ratio", 0.04);
        var alert = await Eventually.ReturnsAsync(() => FindAlertAsync(), a => a is not null, TimeSpan.FromSeconds(60));
        Assert.Equal("critical", (string)alert!["severity"]!);
        var data = alert["data"]!;
        Assert.Equal("firing", (string)data["status"]!);
        Assert.Equal("db-7", (string)data["labels"]!["instance"]!);
        Assert.Equal("checkout-db", (string)data["labels"]!["service"]!);
        Assert.Equal("Disk of db-7 is almost full", (string)data["annotations"]!["summary"]!);
        Assert.Matches("^[0-9a-f]{16}$", (string)data["fingerprint"]!);
        Assert.StartsWith(prometheus.Url + "/graph?", (string)data["generator_url"]!, StringComparison.Ordinal);
        Assert.Equal("rootcause", (string)data["receiver"]!);
        Assert.Equal($"{(string)data["fingerprint"]!}:{(string)data["starts_at"]!}", (string)alert["source_id"]!);
        var firstDelivery = await LastDeliveryAsync();

        // The disk recovers: Alertmanager sends the resolution, which folds into the same event.
        target.Set("/db/metrics", "app_disk_free_ratio", 0.42);
        await Eventually.ReturnsAsync(LastDeliveryAsync, at => at > firstDelivery, TimeSpan.FromSeconds(60));
        var (_, after, _) = await Http.GetJsonAsync($"/api/events/{(string)alert["id"]!}");
        Assert.Equal((string)alert["source_id"]!, (string)after!["source_id"]!);
        Assert.Null(await FindAlertAsync(exceptId: (string)alert["id"]!));
    }

    private async Task<JsonNode?> FindAlertAsync(string? exceptId = null)
    {
        var (_, list, _) = await Http.GetJsonAsync("/api/events?source=metrics&event_type=alert&per_page=100");
        return list!.AsArray().FirstOrDefault(e => (string?)e!["data"]!["alertname"] == "CheckoutDiskAlmostFull" && (string)e["id"]! != exceptId);
    }

    private async Task<DateTimeOffset?> LastDeliveryAsync()
    {
        var (_, connector, _) = await Http.GetJsonAsync("/api/admin/connectors/am-real");
        return connector!["last_delivery_at"] is { } at ? (DateTimeOffset)at : null;
    }
}
