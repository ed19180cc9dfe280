using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Connectors;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors;

/// <summary>
/// A connector's breaker lives on the silo that runs the connector; the status API reads it from
/// there, so behind a load balancer every silo gives the same answer.
/// </summary>
[Collection(SiloPairCollection.Name)]
public sealed class ClusterBreakerStatusTests(SiloPairFixture silos)
{
    private const string TokenVariable = "ROOTCAUSE_TEST_BREAKER_TOKEN";

    [Fact]
    public async Task EverySiloAnswersWithTheBreakerOfTheSiloThatRunsTheConnector()
    {
        Environment.SetEnvironmentVariable(TokenVariable, "breaker-token");
        var name = "far-" + Guid.NewGuid().ToString("N")[..8];
        var (put, putBody, _) = await silos.Clients[0].SendAsync(HttpMethod.Put, $"/api/admin/connectors/{name}",
            $$"""{"kind":"logs","input":"push","secret":"env:{{TokenVariable}}"}""");
        Assert.True(put is HttpStatusCode.OK or HttpStatusCode.Created, putBody?.ToJsonString());

        // Both silos hold a breaker under the name, as after the connector moved from one to the
        // other: open on the first, two failures on the second. Only the running one's counts.
        for (var i = 0; i < silos.Silos.Count; i++)
        {
            var resilience = silos.Silos[i].Services.GetRequiredService<ConnectorResilience>();
            var pipeline = resilience.For(name, resilience.Defaults with { BreakDuration = TimeSpan.FromMinutes(10) });
            for (var failure = 0; failure < (i == 0 ? 6 : 2); failure++)
            {
                await pipeline.TryExecuteAsync<int>(_ => throw new InvalidOperationException($"failure {failure} on silo {i}"));
            }
        }

        var listed = new List<string>();
        var statuses = new List<string>();
        foreach (var client in silos.Clients)
        {
            var (status, breakers, _) = await client.GetJsonAsync("/api/admin/circuit-breaker-status");
            Assert.Equal(HttpStatusCode.OK, status);
            listed.Add(Assert.Single(breakers!.AsArray(), b => (string?)b!["connector"] == name)!.ToJsonString());
            var (connectorStatus, view, _) = await client.GetJsonAsync($"/api/admin/connectors/{name}/status");
            Assert.Equal(HttpStatusCode.OK, connectorStatus);
            statuses.Add(view!["circuit_breaker"]!.ToJsonString());
        }
        Assert.Equal(listed[0], listed[1]);
        Assert.Equal(listed[0], statuses[0]);
        Assert.Equal(statuses[0], statuses[1]);

        // A reset through either silo closes the running silo's breaker, as both then report.
        var (reset, closed, _) = await silos.Clients[1].PostAsync($"/api/admin/circuit-breaker/{name}/reset", "");
        Assert.Equal(HttpStatusCode.OK, reset);
        Assert.Equal(("closed", 0), ((string?)closed!["state"], (int)closed["consecutive_failures"]!));
        foreach (var client in silos.Clients)
        {
            var (_, view, _) = await client.GetJsonAsync($"/api/admin/connectors/{name}/status");
            Assert.Equal(("closed", 0), ((string?)view!["circuit_breaker"]!["state"], (int)view["circuit_breaker"]!["consecutive_failures"]!));
        }
        var (unknown, problem, _) = await silos.Clients[0].PostAsync("/api/admin/circuit-breaker/nobody-here/reset", "");
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Equal("connector nobody-here was not found.", (string?)problem!["detail"]);
    }
}
