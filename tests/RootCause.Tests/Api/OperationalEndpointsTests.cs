using System.Net;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Api;

[Collection(SiloPairCollection.Name)]
public sealed class OperationalEndpointsTests(SiloPairFixture silos)
{
    [Fact]
    public async Task BothSilosReportLiveAndReady()
    {
        foreach (var client in silos.Clients)
        {
            var (live, _, _) = await client.GetJsonAsync("/health/live");
            Assert.Equal(HttpStatusCode.OK, live);
            var (ready, report, _) = await client.GetJsonAsync("/health/ready");
            Assert.Equal(HttpStatusCode.OK, ready);
            Assert.Equal("healthy", report!["checks"]!["postgres"]!["status"]!.GetValue<string>());
            Assert.Equal("healthy", report["checks"]!["silo"]!["status"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesEveryRoute()
    {
        var (status, document, _) = await silos.Http.GetJsonAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, status);
        var paths = document!["paths"]!.AsObject().Select(p => p.Key).ToHashSet();
        foreach (var path in new[]
                 {
                     "/api/investigations", "/api/investigations/{id}", "/api/investigations/{id}/close",
                     "/api/investigations/{id}/reopen", "/api/investigations/{id}/restore", "/api/investigations/{id}/notes",
                     "/api/investigations/{id}/link-event", "/api/investigations/{id}/unlink-event/{eventId}",
                     "/api/investigations/{id}/events", "/api/investigations/{id}/related",
                     "/api/investigations/{id}/related/{otherId}", "/api/events", "/api/events/{id}", "/api/events/{id}/restore",
                 })
        {
            Assert.Contains(path, paths);
        }
        var reference = await silos.Http.GetAsync("/docs/api");
        Assert.Equal(HttpStatusCode.OK, reference.StatusCode);
        Assert.Contains("RootCause API", await reference.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheWebPageIsServedAtTheRoot()
    {
        var page = await silos.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>RootCause</title>", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UnknownApiRoutesAre404ProblemDetails()
    {
        var (status, problem, response) = await silos.Http.GetJsonAsync("/api/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(404, problem!["status"]!.GetValue<int>());
    }
}
