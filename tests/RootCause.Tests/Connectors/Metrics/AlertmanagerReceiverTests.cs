using System.Net;
using RootCause.Events;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Metrics;

/// <summary>Alertmanager webhook deliveries (version 4, written from Alertmanager's documented payload) over real HTTP.</summary>
[Collection(ConnectorSiloCollection.Name)]
public sealed class AlertmanagerReceiverTests(ConnectorSiloFixture silo) : IAsyncLifetime
{
    private HttpClient Http => silo.Http;

    public async Task InitializeAsync() =>
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/alertmanager", """{"kind":"alertmanager"}""");

    public Task DisposeAsync() => Task.CompletedTask;

    private static string Fixture(string name) => File.ReadAllText(Path.Combine(Payloads.FixturesDirectory, "metrics", name));

    [Fact]
    public async Task FiringAlertsBecomeAlertEventsAndTheirResolutionFoldsIntoThem()
    {
        var (status, answer, _) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/alertmanager", Fixture("alertmanager-firing.json"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ingested", (string)answer!["status"]!);
        var events = answer["events"]!.AsArray();
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal("alert", (string)e!["event_type"]!));
        Assert.Equal("c4a1d2e3f4b5a697:2026-11-20T13:58:12.452Z", (string)events[0]!["source_id"]!);
        // Alertmanager's nanoseconds, rounded to the 100 ns that .NET keeps.
        Assert.Equal("0b9e8d7c6a5f4e3d:2026-11-20T14:01:42.0039136Z", (string)events[1]!["source_id"]!);

        var id = EventKeys.IdForDedupKey(EventSource.Metrics, "alert:c4a1d2e3f4b5a697:2026-11-20T13:58:12.452Z");
        Assert.Equal(id.ToString(), (string)events[0]!["id"]!);
        var (_, critical, _) = await Http.GetJsonAsync($"/api/events/{id}");
        Assert.Equal("metrics", (string)critical!["source"]!);
        Assert.Equal("critical", (string)critical["severity"]!);
        Assert.Equal(DateTimeOffset.Parse("2026-11-20T13:58:12.452Z", System.Globalization.CultureInfo.InvariantCulture), (DateTimeOffset)critical["timestamp"]!);
        var data = critical["data"]!;
        Assert.Equal("PaymentsDbDiskAlmostFull", (string)data["alertname"]!);
        Assert.Equal("firing", (string)data["status"]!);
        Assert.Equal("payments-db", (string)data["labels"]!["service"]!);
        Assert.Equal("Disk on db-1 is 96% full", (string)data["annotations"]!["summary"]!);
        Assert.Null(data["ends_at"]);
        Assert.Equal("c4a1d2e3f4b5a697", (string)data["fingerprint"]!);
        Assert.StartsWith("http://prometheus.monitoring.svc:9090/graph?", (string)data["generator_url"]!, StringComparison.Ordinal);
        var (_, warning, _) = await Http.GetJsonAsync($"/api/events/{(string)events[1]!["id"]!}");
        Assert.Equal("medium", (string)warning!["severity"]!);

        // Alertmanager repeats a firing group and later sends its resolution: both fold into the event.
        var (_, repeat, _) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/alertmanager", Fixture("alertmanager-firing.json"));
        Assert.All(repeat!["events"]!.AsArray(), e => Assert.False((bool)e!["created"]!));
        var (resolvedStatus, resolved, _) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/alertmanager", Fixture("alertmanager-resolved.json"));
        Assert.Equal(HttpStatusCode.OK, resolvedStatus);
        var folded = Assert.Single(resolved!["events"]!.AsArray());
        Assert.False((bool)folded!["created"]!);
        Assert.Equal(id.ToString(), (string)folded["id"]!);
        var (_, after, _) = await Http.GetJsonAsync($"/api/events/{id}");
        Assert.Contains(after!["references"]!.AsArray(), r => r!.ToJsonString().Contains("alertmanager", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUnknownConnectorIs404AndABodyThatIsNotJsonIsDeadLettered()
    {
        var (unknown, _, _) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/alertmanager/nope", Fixture("alertmanager-firing.json"));
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        var (broken, answer, _) = await Http.SendAsync(HttpMethod.Post, "/api/receivers/alertmanager", """{"version":"4","alerts":[""");
        Assert.Equal(HttpStatusCode.Accepted, broken);
        Assert.Equal("dead_lettered", (string)answer!["status"]!);
        var (_, entry, _) = await Http.GetJsonAsync($"/api/admin/dlq/{(long)answer["dead_letter_ids"]![0]!}");
        Assert.Equal("alertmanager_webhook", (string)entry!["kind"]!);
        Assert.Equal("metrics", (string)entry["source"]!);
    }
}
