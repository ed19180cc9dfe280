using System.Net;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Api;

/// <summary>
/// <c>GET /api/investigations/{id}/live</c> over real HTTP on two silos: a change made through one
/// silo reaches a watcher connected to the other, and a watcher that may have missed something is
/// told to reload.
/// </summary>
[Collection(SiloPairCollection.Name)]
public sealed class InvestigationLiveTests(SiloPairFixture silos)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private HttpClient A => silos.Clients[0];
    private HttpClient B => silos.Clients[1];

    private async Task<string> OpenInvestigationAsync()
    {
        var (status, json, _) = await A.PostAsync("/api/investigations",
            """{"title":"Checkout fails","impact_severity":"high","component_affected":"live-checkout","detected_at":"2026-01-10T10:00:00Z"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        return json!["id"]!.GetValue<string>();
    }

    private async Task<string> IngestAsync()
    {
        var (status, json, _) = await A.PostAsync("/api/events",
            $$"""{"source":"git","source_id":"shop/live@{{Guid.NewGuid():N}}","event_type":"commit","timestamp":"2026-01-10T09:30:00Z","severity":"info"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        return json!["id"]!.GetValue<string>();
    }

    [Fact]
    public async Task AWatcherOnOneSiloHearsOfLinksAndNotesMadeThroughTheOther()
    {
        var investigation = await OpenInvestigationAsync();
        await using var live = await LiveStream.OpenAsync(B, investigation);
        var (type, ready, id) = await live.NextAsync(Wait);
        Assert.Equal("ready", type);
        Assert.Equal(investigation, ready["investigation_id"]!.GetValue<string>());
        Assert.Equal(1, ready["version"]!.GetValue<long>());
        Assert.Equal("1", id);
        Assert.Equal("no-store", live.Response.Headers.CacheControl?.ToString());

        var eventId = await IngestAsync();
        var (linked, _, _) = await A.PostAsync($"/api/investigations/{investigation}/link-event",
            $$"""{"event_id":"{{eventId}}","decided_by":"dana","note":"the deploy before the errors"}""");
        Assert.Equal(HttpStatusCode.OK, linked);
        var link = await live.NextAsync("event_link", d => d["event_id"]!.GetValue<string>() == eventId, Wait);
        Assert.Equal(investigation, link["investigation_id"]!.GetValue<string>());
        Assert.Equal("linked", link["status"]!.GetValue<string>());
        Assert.Equal("dana", link["decided_by"]!.GetValue<string>());
        Assert.Equal("the deploy before the errors", link["note"]!.GetValue<string>());
        Assert.Equal("git", link["source"]!.GetValue<string>());
        Assert.Equal("commit", link["event_type"]!.GetValue<string>());
        Assert.False(link["deleted"]!.GetValue<bool>());
        // While the silo has watchers its tailer reads more often and holds refreshes back to the
        // live refresh interval: the index still shows the link to a request made after it.
        var (listed, events, _) = await B.GetJsonAsync($"/api/investigations/{investigation}/events");
        Assert.Equal(HttpStatusCode.OK, listed);
        Assert.Equal([eventId], events!.AsArray().Select(e => e!["id"]!.GetValue<string>()));

        var (noted, _, _) = await A.PostAsync($"/api/investigations/{investigation}/notes", """{"author":"dana","body":"Rolling back."}""");
        Assert.Equal(HttpStatusCode.Created, noted);
        var record = await live.NextAsync("investigation", d => d["notes"]!.GetValue<int>() == 1, Wait);
        Assert.Equal(investigation, record["id"]!.GetValue<string>());
        Assert.Equal("Checkout fails", record["title"]!.GetValue<string>());

        // Unlinking is announced as the event's record for this investigation, now "unlinked".
        var (unlinked, _, _) = await B.SendAsync(HttpMethod.Delete, $"/api/investigations/{investigation}/unlink-event/{eventId}?decided_by=sam");
        Assert.Equal(HttpStatusCode.OK, unlinked);
        var removed = await live.NextAsync("event_link", d => d["event_id"]!.GetValue<string>() == eventId && d["status"]!.GetValue<string>() == "unlinked", Wait);
        Assert.Equal("sam", removed["decided_by"]!.GetValue<string>());
    }

    [Fact]
    public async Task AWatcherHearsOnlyItsOwnInvestigation()
    {
        var watched = await OpenInvestigationAsync();
        var other = await OpenInvestigationAsync();
        await using var live = await LiveStream.OpenAsync(A, watched);
        Assert.Equal("ready", (await live.NextAsync(Wait)).Type);

        var elsewhere = await IngestAsync();
        Assert.Equal(HttpStatusCode.OK, (await B.PostAsync($"/api/investigations/{other}/link-event", $$"""{"event_id":"{{elsewhere}}"}""")).Status);
        Assert.Equal(HttpStatusCode.Created, (await B.PostAsync($"/api/investigations/{other}/notes", """{"author":"a","body":"elsewhere"}""")).Status);
        var here = await IngestAsync();
        Assert.Equal(HttpStatusCode.OK, (await B.PostAsync($"/api/investigations/{watched}/link-event", $$"""{"event_id":"{{here}}"}""")).Status);

        // The changes made elsewhere were committed first: every message up to the link made here
        // (the watched record's own creation may come before it) is about this investigation.
        while (true)
        {
            var (type, data, _) = await live.NextAsync(Wait);
            if (type == "investigation")
            {
                Assert.Equal(watched, data["id"]!.GetValue<string>());
                continue;
            }
            Assert.Equal("event_link", type);
            Assert.Equal(here, data["event_id"]!.GetValue<string>());
            Assert.Equal(watched, data["investigation_id"]!.GetValue<string>());
            break;
        }
    }

    [Fact]
    public async Task WatchingAnInvestigationThatDoesNotExistIs404()
    {
        var (status, problem, _) = await A.GetJsonAsync($"/api/investigations/{Guid.NewGuid()}/live");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal(404, problem!["status"]!.GetValue<int>());
        Assert.Contains("investigation", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task AWatcherThatReconnectsIsToldToReloadFirst()
    {
        var investigation = await OpenInvestigationAsync();
        await using var live = await LiveStream.OpenAsync(A, investigation, lastEventId: "7");
        var (type, data, _) = await live.NextAsync(Wait);
        Assert.Equal("resync", type);
        Assert.Contains("reconnected", data["reason"]!.GetValue<string>());
        Assert.Equal("ready", (await live.NextAsync(Wait)).Type);
    }

    [Fact]
    public async Task ARebuildOfTheSilosIndexTellsItsWatchersToReload()
    {
        var investigation = await OpenInvestigationAsync();
        await using var onB = await LiveStream.OpenAsync(B, investigation);
        Assert.Equal("ready", (await onB.NextAsync(Wait)).Type);

        Assert.Equal(HttpStatusCode.Accepted, (await B.PostAsync("/api/admin/search/rebuild", "")).Status);
        var resync = await onB.NextAsync("resync", _ => true, TimeSpan.FromSeconds(60));
        Assert.Contains("rebuilt", resync["reason"]!.GetValue<string>());
    }
}
