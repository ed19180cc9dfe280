using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Connectors;
using RootCause.Events;
using RootCause.Silo;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors;

/// <summary>Whole silos started and stopped by the test: restarts, and connectors that misbehave.</summary>
public sealed class ConnectorSiloTests
{
    private static async Task<(WebApplication App, HttpClient Http)> StartSiloAsync(string connectionString, string clusterId)
    {
        var app = RootCauseSilo.Build(
        [
            "--urls", "http://127.0.0.1:0",
            $"--ConnectionStrings:Postgres={connectionString}",
            $"--Cluster:ClusterId={clusterId}",
            $"--Cluster:SiloPort={SiloPairFixture.FreePort()}",
            $"--Cluster:GatewayPort={SiloPairFixture.FreePort()}",
            "--Cluster:AdvertisedAddress=127.0.0.1",
            "--Logging:LogLevel:Default=Warning",
            $"--Search:IndexPath={Path.Combine(Path.GetTempPath(), "rootcause-test-index", $"{clusterId}-{Guid.NewGuid():N}")}",
        ]);
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = new Uri(app.Urls.First()) });
    }

    private static async Task StopAsync(WebApplication app, HttpClient http)
    {
        http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    [Fact]
    public async Task ADeadLetterSurvivesASiloRestartAndReplaysAfterIt()
    {
        var connectionString = await TestDatabase.CreateAsync("dlq_restart", migrate: false);
        var clusterId = "dlq-" + Guid.NewGuid().ToString("N")[..8];
        var sourceId = "restart-" + Guid.NewGuid().ToString("N");
        var payload = $$"""{"source":"git","source_id":"{{sourceId}}","event_type":"push","timestamp":"2026-02-01T08:00:00Z"}""";

        var (first, firstHttp) = await StartSiloAsync(connectionString, clusterId);
        var entry = await first.Services.GetRequiredService<IDeadLetterQueue>().RecordFailureAsync(new DeadLetterFailure
        {
            Connector = "git-main",
            Source = EventSource.Git,
            Kind = EventDraftPayload.Kind,
            Payload = Encoding.UTF8.GetBytes(payload),
            Error = "ingest timed out",
            Attempts = 6,
        });
        await StopAsync(first, firstHttp);

        var (second, http) = await StartSiloAsync(connectionString, clusterId);
        try
        {
            var (status, stored, _) = await http.GetJsonAsync($"/api/admin/dlq/{entry.Id}");
            var (retryStatus, replay, _) = await http.PostAsync($"/api/admin/dlq/{entry.Id}/retry", "");

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(("git-main", "git", 6, "pending"), ((string?)stored!["connector"], (string?)stored["source"], (int)stored["attempts"]!, (string?)stored["status"]));
            Assert.Equal(payload, (string?)stored["payload"]);
            Assert.Equal(HttpStatusCode.OK, retryStatus);
            Assert.Equal(EventKeys.IdFor(EventSource.Git, sourceId).ToString(), (string?)replay!["events"]![0]!["id"]);
            Assert.True((bool)replay["events"]![0]!["created"]!);
        }
        finally
        {
            await StopAsync(second, http);
        }
    }

    [Fact]
    public async Task AThrowingUpstreamNeverTakesTheSiloDownAndItsBreakerIsVisibleAndResettable()
    {
        var connectionString = await TestDatabase.CreateAsync("connector_faults", migrate: false);
        var (app, http) = await StartSiloAsync(connectionString, "faults-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            // The status API lists configured connectors: this one is configured, and its pipeline
            // is driven by hand (the same silo runs its grain).
            Environment.SetEnvironmentVariable("ROOTCAUSE_TEST_EXPLODING_TOKEN", "exploding-token");
            var (configured, configuredBody, _) = await http.SendAsync(HttpMethod.Put, "/api/admin/connectors/exploding",
                """{"kind":"logs","input":"push","secret":"env:ROOTCAUSE_TEST_EXPLODING_TOKEN"}""");
            Assert.True(configured is HttpStatusCode.OK or HttpStatusCode.Created, configuredBody?.ToJsonString());
            var resilience = app.Services.GetRequiredService<ConnectorResilience>();
            var pipeline = resilience.For("exploding", resilience.Defaults with
            {
                RetryBaseDelay = TimeSpan.FromMilliseconds(5),
                BreakDuration = TimeSpan.FromMinutes(10),
                Qps = 1_000,
                Burst = 100,
            });
            Exception[] failures =
            [
                new HttpRequestException("connection reset"), new InvalidOperationException("connector bug"),
                new NullReferenceException(), new UpstreamHttpException(HttpStatusCode.BadGateway, "bad gateway"),
                new StackGuardException(), new AggregateException(new IOException("disk")),
            ];

            var outcomes = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Task.Run(async () =>
                await pipeline.TryExecuteAsync<int>(_ => throw failures[i % failures.Length]))));
            var thrown = await Record.ExceptionAsync(async () => await pipeline.ExecuteAsync<int>(_ => throw new InvalidOperationException("again")));

            Assert.All(outcomes, o => Assert.NotNull(o.Exception));
            Assert.NotNull(thrown);
            var (ready, _, _) = await http.GetJsonAsync("/health/ready");
            Assert.Equal(HttpStatusCode.OK, ready);

            var (statusCode, breakers, _) = await http.GetJsonAsync("/api/admin/circuit-breaker-status");
            var breaker = Assert.Single(breakers!.AsArray(), b => (string?)b!["connector"] == "exploding");
            Assert.Equal(HttpStatusCode.OK, statusCode);
            Assert.Equal("open", (string?)breaker!["state"]);
            Assert.True((int)breaker["consecutive_failures"]! >= 5);
            Assert.Equal(5, (int)breaker["failure_threshold"]!);
            Assert.NotNull((string?)breaker["opened_at"]);

            var (resetStatus, reset, _) = await http.PostAsync("/api/admin/circuit-breaker/exploding/reset", "");
            var (unknownStatus, unknown, _) = await http.PostAsync("/api/admin/circuit-breaker/nobody/reset", "");
            var after = await pipeline.TryExecuteAsync(_ => ValueTask.FromResult(1));

            Assert.Equal(HttpStatusCode.OK, resetStatus);
            Assert.Equal(("closed", 0), ((string?)reset!["state"], (int)reset["consecutive_failures"]!));
            Assert.Equal(HttpStatusCode.NotFound, unknownStatus);
            Assert.Equal("connector nobody was not found.", (string?)unknown!["detail"]);
            Assert.Equal(1, after.Result);
        }
        finally
        {
            await StopAsync(app, http);
        }
    }

    /// <summary>An exception type no code handles on purpose.</summary>
    private sealed class StackGuardException() : Exception("unexpected");
}
