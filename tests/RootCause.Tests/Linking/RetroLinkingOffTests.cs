using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using RootCause.Tests.Connectors;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Linking;

/// <summary>
/// <c>Linker:RetroLinking=false</c> on a running silo: a new investigation is not scored against the
/// events stored before it (and says so: no <c>retro_linked_at</c>), while new events still link.
/// </summary>
public sealed class RetroLinkingOffTests : IAsyncLifetime
{
    private Microsoft.AspNetCore.Builder.WebApplication? _app;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var connectionString = await TestDatabase.CreateAsync("retrooff", migrate: false);
        (_app, _http) = await ConnectorSiloFixture.StartSiloAsync(connectionString, "retro-" + Guid.NewGuid().ToString("N")[..8], "--Linker:RetroLinking=false");
        var (status, body, _) = await _http.PostAsync("/api/catalog/import?replace=true", """{"components":[{"name":"r-web","service":"r-shop"}]}""");
        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await ConnectorSiloFixture.StopAsync(_app, _http);
        }
    }

    private static string Iso(DateTimeOffset t) => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private async Task<string> SpikeAsync(DateTimeOffset at)
    {
        var (status, created, _) = await _http.PostAsync("/api/events",
            $$$"""{"source":"logs","source_id":"spike:r-web:{{{Guid.NewGuid():N}}}","event_type":"error_spike","timestamp":"{{{Iso(at)}}}","severity":"high","data":{"service":"r-web","count":900}}""");
        Assert.True(status == HttpStatusCode.Created, created?.ToJsonString());
        var id = created!["id"]!.GetValue<string>();
        await Eventually.ReturnsAsync(async () => (await _http.GetJsonAsync($"/api/events/{id}")).Body!,
            e => e["linker_checked_at"] is JsonValue, TimeSpan.FromSeconds(30));
        return id;
    }

    [Fact]
    public async Task StoredEventsAreNotScoredAgainstANewInvestigationButNewEventsLink()
    {
        var now = DateTimeOffset.UtcNow;
        var before = await SpikeAsync(now.AddMinutes(-15));
        var (status, investigation, _) = await _http.PostAsync("/api/investigations",
            $$"""{"title":"r-web errors","component_affected":"r-web","detected_at":"{{Iso(now.AddMinutes(-10))}}","started_at":"{{Iso(now.AddMinutes(-20))}}"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        var id = investigation!["id"]!.GetValue<string>();

        // A later event links: the registry knows the investigation.
        var after = await SpikeAsync(now.AddMinutes(-12));
        await Eventually.ReturnsAsync(async () => await LinkerApiTests.LinkedEventIdsAsync(_http, id),
            ids => ids.Contains(after), TimeSpan.FromSeconds(30));

        // With retro-linking on, a run takes well under a second here (LinkerApiTests wait for it);
        // two more seconds and it has not happened.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var linked = (await _http.GetJsonAsync($"/api/investigations/{id}")).Body!;
        Assert.DoesNotContain(before, await LinkerApiTests.LinkedEventIdsAsync(_http, id));
        Assert.Null(linked["retro_linked_at"]?.GetValue<string>());
        var earlier = (await _http.GetJsonAsync($"/api/events/{before}")).Body!;
        Assert.Empty(earlier["links"]!.AsArray());
    }
}
