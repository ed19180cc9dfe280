using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Linking;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Linking;

/// <summary>
/// The linker end to end over real HTTP on two silos: events ingested on one silo are scored by the
/// stream's linker grains wherever they live, new investigations pick up stored events
/// (retro-linking), suggestions wait for a decision, and engineers' decisions stand.
/// Each test uses components of its own, so their investigations never compete for events.
/// </summary>
public sealed class LinkerApiTests(SiloPairFixture silos) : IClassFixture<SiloPairFixture>
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private static readonly SemaphoreSlim CatalogOnce = new(1, 1);
    private static bool _imported;

    private HttpClient A => silos.Clients[0];
    private HttpClient B => silos.Clients[1];

    /// <summary>Per test prefix p: p-web depends on p-api, which depends on p-db (two hops from p-web).</summary>
    private async Task CatalogAsync()
    {
        await CatalogOnce.WaitAsync();
        try
        {
            if (_imported)
            {
                return;
            }
            var components = new JsonArray();
            // Shared infrastructure: nobody lists it as a dependency.
            components.Add(JsonNode.Parse("""{"name":"shared-dns","service":"platform","aliases":["kube-dns"],"repositories":["acme/platform"],"path_prefixes":["k8s/dns/"],"shared":true}"""));
            foreach (var p in new[] { "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11", "t12", "t13", "t14", "t15", "t16", "t17", "t18" })
            {
                components.Add(JsonNode.Parse($$"""{"name":"{{p}}-web","service":"{{p}}-shop","repositories":["acme/{{p}}-web"],"path_prefixes":["src/"],"pipelines":["{{p}}-web-ci"],"depends_on":["{{p}}-api"]}"""));
                components.Add(JsonNode.Parse($$"""{"name":"{{p}}-api","service":"{{p}}-core","aliases":["{{p}}-api-svc"],"repositories":["acme/{{p}}-api"],"path_prefixes":["api/"],"depends_on":["{{p}}-db"]}"""));
                components.Add(JsonNode.Parse($$"""{"name":"{{p}}-db","service":"{{p}}-core"}"""));
                components.Add(JsonNode.Parse($$"""{"name":"{{p}}-unrelated","service":"{{p}}-other","repositories":["acme/{{p}}-unrelated"]}"""));
            }
            var (status, body, _) = await A.PostAsync("/api/catalog/import?replace=true", new JsonObject { ["components"] = components }.ToJsonString());
            Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
            _imported = true;
        }
        finally
        {
            CatalogOnce.Release();
        }
    }

    private static string Iso(DateTimeOffset t) => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static async Task<string> OpenAsync(HttpClient client, string component, DateTimeOffset detected, DateTimeOffset started, params string[] tags)
    {
        var body = new JsonObject
        {
            ["title"] = $"{component} is failing",
            ["impact_severity"] = "high",
            ["component_affected"] = component,
            ["detected_at"] = Iso(detected),
            ["started_at"] = Iso(started),
            ["tags"] = new JsonArray([.. tags.Select(t => (JsonNode)t)]),
        };
        var (status, created, _) = await client.PostAsync("/api/investigations", body.ToJsonString());
        Assert.True(status == HttpStatusCode.Created, created?.ToJsonString());
        return created!["id"]!.GetValue<string>();
    }

    private static async Task<string> IngestAsync(HttpClient client, string source, string sourceId, string type, DateTimeOffset at, JsonObject data,
        string severity = "high", string? dedupKey = null, string? via = null)
    {
        var body = new JsonObject
        {
            ["source"] = source,
            ["source_id"] = sourceId,
            ["event_type"] = type,
            ["timestamp"] = Iso(at),
            ["severity"] = severity,
            ["data"] = data,
        };
        if (dedupKey is not null)
        {
            body["dedup_key"] = dedupKey;
        }
        if (via is not null)
        {
            body["via"] = via;
        }
        var (status, created, _) = await client.PostAsync("/api/events", body.ToJsonString());
        Assert.True(status is HttpStatusCode.Created or HttpStatusCode.OK, created?.ToJsonString());
        return created!["id"]!.GetValue<string>();
    }

    private async Task<JsonNode> CheckedAsync(string eventId) =>
        (await Eventually.ReturnsAsync(async () => (await B.GetJsonAsync($"/api/events/{eventId}")).Body!,
            e => e["linker_checked_at"] is JsonValue, Settle))!;

    /// <summary>The ids the investigation's linked-events list names (it includes every link committed before the request).</summary>
    internal static async Task<string[]> LinkedEventIdsAsync(HttpClient client, string investigation)
    {
        var (status, list, _) = await client.GetJsonAsync($"/api/investigations/{investigation}/events?per_page=100");
        Assert.Equal(HttpStatusCode.OK, status);
        return [.. list!.AsArray().Select(e => e!["id"]!.GetValue<string>())];
    }

    private static JsonNode? LinkTo(JsonNode ev, string investigationId) =>
        ev["links"]!.AsArray().FirstOrDefault(l => l!["investigation_id"]!.GetValue<string>() == investigationId);

    private async Task<JsonNode> LinkAsync(string eventId, string investigationId, Func<JsonNode?, bool> done) =>
        (await Eventually.ReturnsAsync(async () => (await A.GetJsonAsync($"/api/events/{eventId}")).Body!,
            e => done(LinkTo(e, investigationId)), Settle))!;

    private async Task<JsonNode> RetroLinkedAsync(string investigationId) =>
        (await Eventually.ReturnsAsync(async () => (await A.GetJsonAsync($"/api/investigations/{investigationId}")).Body!,
            i => i["retro_linked_at"] is JsonValue, Settle))!;

    [Fact]
    public async Task AnIngestedEventIsLinkedWithItsReasonsAndAnUnrelatedOneIsCheckedButNotLinked()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var investigation = await OpenAsync(A, "t1-web", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(investigation);

        var spike = await IngestAsync(A, "logs", $"spike:t1-web:{Guid.NewGuid():N}", "error_spike", now.AddMinutes(-15),
            new JsonObject { ["service"] = "t1-web", ["count"] = 1843, ["baseline_per_minute"] = 3.2 });
        var decoy = await IngestAsync(B, "git", $"acme/t1-unrelated@{Guid.NewGuid():N}", "commit", now.AddHours(-30),
            new JsonObject { ["repository"] = "acme/t1-unrelated", ["files"] = new JsonArray("README.md"), ["message"] = "Fix typo" }, severity: "info");

        var linked = await LinkAsync(spike, investigation, l => l?["status"]?.GetValue<string>() == "linked");
        var link = LinkTo(linked, investigation)!;
        Assert.Equal("linked", link["status"]!.GetValue<string>());
        Assert.Equal("linker", link["decided_by"]!.GetValue<string>());
        Assert.True(link["confidence"]!.GetValue<double>() >= 0.75, link.ToJsonString());
        Assert.Equal(["component", "source_evidence", "tags", "time"],
            link["strategies"]!.AsArray().Select(s => s!["strategy"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(link["strategies"]!.AsArray(), s => Assert.False(string.IsNullOrWhiteSpace(s!["reason"]!.GetValue<string>())));
        Assert.Contains(investigation, linked["investigation_ids"]!.AsArray().Select(i => i!.GetValue<string>()));

        // The investigation's list of linked events names it, on the other silo too, right away.
        Assert.Contains(spike, await LinkedEventIdsAsync(B, investigation));

        // The stored confidence is what explain computes now.
        var (_, explained, _) = await B.GetJsonAsync($"/api/investigations/{investigation}/explain?event_id={spike}");
        Assert.Equal(link["confidence"]!.GetValue<double>(), explained!["confidence"]!.GetValue<double>());

        var checkedDecoy = await CheckedAsync(decoy);
        Assert.Empty(checkedDecoy["links"]!.AsArray());
        Assert.Empty(checkedDecoy["investigation_ids"]!.AsArray());
    }

    [Fact]
    public async Task ALinkTheLinkerMakesOnOneSiloIsPushedToAWatcherOnTheOther()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var investigation = await OpenAsync(A, "t17-web", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(investigation);
        await using var live = await LiveStream.OpenAsync(B, investigation);

        var spike = await IngestAsync(A, "logs", $"spike:t17-web:{Guid.NewGuid():N}", "error_spike", now.AddMinutes(-15),
            new JsonObject { ["service"] = "t17-web", ["count"] = 912 });

        var pushed = await live.NextAsync("event_link", d => d["event_id"]!.GetValue<string>() == spike, Settle);
        Assert.Equal("linked", pushed["status"]!.GetValue<string>());
        Assert.Equal("linker", pushed["decided_by"]!.GetValue<string>());
        // What was pushed is what the API shows.
        var stored = LinkTo((await B.GetJsonAsync($"/api/events/{spike}")).Body!, investigation)!;
        Assert.Equal(stored["confidence"]!.GetValue<double>(), pushed["confidence"]!.GetValue<double>());
        Assert.Equal(stored["summary"]!.GetValue<string>(), pushed["summary"]!.GetValue<string>());
    }

    [Fact]
    public async Task ANewInvestigationPicksUpEventsStoredBeforeIt()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var spike = await IngestAsync(A, "logs", $"spike:t2-web:{Guid.NewGuid():N}", "error_spike", now.AddMinutes(-12),
            new JsonObject { ["service"] = "t2-web", ["count"] = 900 });
        var commit = await IngestAsync(B, "git", $"acme/t2-web@{Guid.NewGuid():N}", "commit", now.AddHours(-3),
            new JsonObject { ["repository"] = "acme/t2-web", ["files"] = new JsonArray("src/checkout/cart.ts"), ["message"] = "Cache the cart totals" }, severity: "info");
        await CheckedAsync(spike);
        await CheckedAsync(commit);

        var investigation = await OpenAsync(B, "t2-web", now.AddMinutes(-5), now.AddMinutes(-14));
        var retro = await RetroLinkedAsync(investigation);
        Assert.NotNull(retro["retro_linked_at"]);
        var linked = await LinkAsync(spike, investigation, l => l?["status"]?.GetValue<string>() == "linked");
        Assert.Equal("linked", LinkTo(linked, investigation)!["status"]!.GetValue<string>());
        // The commit changed the affected component's files before detection: linked or at least suggested, with its path named.
        var commitLinks = await LinkAsync(commit, investigation, l => l is not null);
        var commitLink = LinkTo(commitLinks, investigation)!;
        Assert.Contains(commitLink["status"]!.GetValue<string>(), new[] { "linked", "suggested" });
        Assert.Contains("src/checkout/cart.ts", commitLink.ToJsonString());

        // Moving the investigation to another component scores its events again: the spike no longer fits.
        var (_, current, response) = await A.GetJsonAsync($"/api/investigations/{investigation}");
        current!["component_affected"] = "t2-unrelated";
        var (status, _, _) = await A.SendAsync(HttpMethod.Put, $"/api/investigations/{investigation}", current.ToJsonString(), response.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.OK, status);
        var moved = await LinkAsync(spike, investigation, l => l is null || l["status"]!.GetValue<string>() != "linked");
        Assert.NotEqual("linked", LinkTo(moved, investigation)?["status"]?.GetValue<string>());
    }

    [Fact]
    public async Task SuggestionsWaitForADecisionAndDecisionsStand()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var investigation = await OpenAsync(A, "t3-web", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(investigation);

        // Anomalies two dependency hops down, before detection: related, but not enough to link on their own.
        var first = await IngestAsync(A, "metrics", $"anomaly:{Guid.NewGuid():N}", "metric_anomaly", now.AddMinutes(-18),
            new JsonObject { ["metric"] = "pg_stat_activity_count", ["labels"] = new JsonObject { ["service"] = "t3-db" }, ["kind"] = "spike" }, severity: "medium");
        var second = await IngestAsync(A, "metrics", $"anomaly:{Guid.NewGuid():N}", "metric_anomaly", now.AddMinutes(-17),
            new JsonObject { ["metric"] = "pg_locks_count", ["labels"] = new JsonObject { ["service"] = "t3-db" }, ["kind"] = "spike" }, severity: "medium");
        foreach (var id in new[] { first, second })
        {
            var ev = await LinkAsync(id, investigation, l => l is not null);
            Assert.Equal("suggested", LinkTo(ev, investigation)!["status"]!.GetValue<string>());
        }
        var suggestions = await Eventually.ReturnsAsync(async () => (await B.GetJsonAsync($"/api/investigations/{investigation}/suggestions")).Body!.AsArray(),
            list => list.Count == 2, Settle);
        Assert.Equal(new[] { first, second }.Order(StringComparer.Ordinal), suggestions.Select(e => e!["id"]!.GetValue<string>()).Order(StringComparer.Ordinal));

        var (accepted, acceptedBody, _) = await B.PostAsync($"/api/investigations/{investigation}/suggestions/{first}/accept", """{"decided_by":"dana","note":"connection storm"}""");
        Assert.True(accepted == HttpStatusCode.OK, acceptedBody?.ToJsonString());
        Assert.Contains(first, await LinkedEventIdsAsync(A, investigation));
        var (rejected, _, _) = await A.PostAsync($"/api/investigations/{investigation}/suggestions/{second}/reject", """{"decided_by":"dana"}""");
        Assert.Equal(HttpStatusCode.OK, rejected);

        var firstLink = LinkTo((await A.GetJsonAsync($"/api/events/{first}")).Body!, investigation)!;
        Assert.Equal("linked", firstLink["status"]!.GetValue<string>());
        Assert.Equal("dana", firstLink["decided_by"]!.GetValue<string>());
        Assert.Equal("connection storm", firstLink["note"]!.GetValue<string>());
        Assert.True(firstLink["confidence"]!.GetValue<double>() > 0, "the suggestion's assessment is kept");
        var secondLink = LinkTo((await A.GetJsonAsync($"/api/events/{second}")).Body!, investigation)!;
        Assert.Equal("rejected", secondLink["status"]!.GetValue<string>());

        // Deciding again on what is no longer a suggestion is a conflict.
        var (again, problem, _) = await A.PostAsync($"/api/investigations/{investigation}/suggestions/{second}/accept", "{}");
        Assert.Equal(HttpStatusCode.Conflict, again);
        Assert.Contains("not a pending suggestion", problem!["detail"]!.GetValue<string>());

        // An edit that makes retro-linking run again leaves the decisions as they were.
        var (_, current, response) = await A.GetJsonAsync($"/api/investigations/{investigation}");
        current!["tags"] = new JsonArray("database");
        Assert.Equal(HttpStatusCode.OK, (await A.SendAsync(HttpMethod.Put, $"/api/investigations/{investigation}", current.ToJsonString(), response.Headers.ETag!.Tag)).Status);
        await RetroLinkedAsync(investigation);
        Assert.Equal("rejected", LinkTo((await A.GetJsonAsync($"/api/events/{second}")).Body!, investigation)!["status"]!.GetValue<string>());
        Assert.Equal("linked", LinkTo((await A.GetJsonAsync($"/api/events/{first}")).Body!, investigation)!["status"]!.GetValue<string>());
        Assert.Empty((await Eventually.ReturnsAsync(async () => (await B.GetJsonAsync($"/api/investigations/{investigation}/suggestions")).Body!.AsArray(),
            list => list.Count == 0, Settle)));
    }

    [Fact]
    public async Task AnAutomaticLinkAnEngineerRemovedIsNeverLinkedAgain()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var investigation = await OpenAsync(A, "t4-web", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(investigation);
        var spike = await IngestAsync(A, "logs", $"spike:t4-web:{Guid.NewGuid():N}", "error_spike", now.AddMinutes(-15),
            new JsonObject { ["service"] = "t4-web", ["count"] = 300 });
        await LinkAsync(spike, investigation, l => l?["status"]?.GetValue<string>() == "linked");

        var (status, _, _) = await B.SendAsync(HttpMethod.Delete, $"/api/investigations/{investigation}/unlink-event/{spike}?decided_by=sam&note=unrelated%20batch%20job");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.DoesNotContain(spike, await LinkedEventIdsAsync(A, investigation));
        var (_, current, response) = await A.GetJsonAsync($"/api/investigations/{investigation}");
        current!["tags"] = new JsonArray("retry");
        Assert.Equal(HttpStatusCode.OK, (await A.SendAsync(HttpMethod.Put, $"/api/investigations/{investigation}", current.ToJsonString(), response.Headers.ETag!.Tag)).Status);
        await RetroLinkedAsync(investigation);

        var link = LinkTo((await B.GetJsonAsync($"/api/events/{spike}")).Body!, investigation)!;
        Assert.Equal("unlinked", link["status"]!.GetValue<string>());
        Assert.Equal("sam", link["decided_by"]!.GetValue<string>());
        Assert.DoesNotContain(spike, await LinkedEventIdsAsync(A, investigation));
    }

    [Fact]
    public async Task TheSameOccurrenceReportedByTwoRoutesIsOneEventWithBothReferences()
    {
        var sha = Guid.NewGuid().ToString("N") + "abcdefgh";
        var at = DateTimeOffset.UtcNow.AddMinutes(-30);
        var data = new JsonObject { ["repository"] = "acme/t5-web", ["sha"] = sha, ["files"] = new JsonArray("src/a.ts") };
        var pushed = await IngestAsync(A, "git", $"acme/t5-web@{sha}", "commit", at, data, "info", dedupKey: $"commit:{sha}", via: "github_push");
        var polled = await IngestAsync(B, "git", $"https://git.example.com/acme/t5-web.git@{sha}", "commit", at, (JsonObject)data.DeepClone(), "info",
            dedupKey: $"commit:{sha}", via: "git_poll");
        var again = await IngestAsync(A, "git", $"acme/t5-web@{sha}", "commit", at, (JsonObject)data.DeepClone(), "info", dedupKey: $"commit:{sha}", via: "github_push");
        Assert.Equal(pushed, polled);
        Assert.Equal(pushed, again);

        var (_, ev, _) = await B.GetJsonAsync($"/api/events/{pushed}");
        Assert.Equal($"commit:{sha}", ev!["dedup_key"]!.GetValue<string>());
        Assert.Equal($"acme/t5-web@{sha}", ev["source_id"]!.GetValue<string>());
        Assert.Equal(["github_push", "git_poll"], ev["references"]!.AsArray().Select(r => r!["via"]!.GetValue<string>()));

        var (bad, problem, _) = await A.PostAsync("/api/events",
            """{"source":"git","source_id":"x","event_type":"commit","via":"git poll","dedup_key":"   "}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal(["dedup_key", "via"], problem.ErrorFields());
    }

    [Fact]
    public async Task AChangeToSharedInfrastructureLinksInBothDirections()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var web = await OpenAsync(A, "t6-web", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(web);

        // New event → open investigations: the registry offers it to every investigation naming a component.
        var deploy = await IngestAsync(B, "git", $"acme/platform@dns-{Guid.NewGuid():N}", "deployment", now.AddMinutes(-22),
            new JsonObject { ["repository"] = "acme/platform", ["component"] = "shared-dns", ["environment"] = "production" }, severity: "info");
        var linked = await LinkAsync(deploy, web, l => l?["status"]?.GetValue<string>() == "linked");
        var reason = LinkTo(linked, web)!["strategies"]!.AsArray().Single(s => s!["strategy"]!.GetValue<string>() == "component")!["reason"]!.GetValue<string>();
        Assert.Contains("shared infrastructure", reason, StringComparison.Ordinal);

        // New investigation → stored events: retro-linking looks up shared infrastructure's changes too.
        var api = await OpenAsync(A, "t6-api", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(api);
        await LinkAsync(deploy, api, l => l?["status"]?.GetValue<string>() == "linked");

        // Its symptoms are not offered as the incident's: background errors of the platform stay unlinked.
        var spike = await IngestAsync(A, "logs", $"spike:kube-dns:{Guid.NewGuid():N}", "error_spike", now.AddMinutes(-15),
            new JsonObject { ["service"] = "kube-dns", ["count"] = 120 });
        var checkedSpike = await CheckedAsync(spike);
        Assert.Null(LinkTo(checkedSpike, web));
        Assert.Null(LinkTo(checkedSpike, api));
    }
    /// <summary>A production deployment of <paramref name="component"/> (no sha: it stands for itself).</summary>
    private static Task<string> DeployAsync(HttpClient client, string component, DateTimeOffset at, string environment = "production") =>
        IngestAsync(client, "git", $"deploy:{component}:{Guid.NewGuid():N}", "deployment", at,
            new JsonObject { ["component"] = component, ["environment"] = environment }, severity: "info");

    private static Task<string> SpikeAsync(HttpClient client, string component, DateTimeOffset at) =>
        IngestAsync(client, "logs", $"spike:{component}:{Guid.NewGuid():N}", "error_spike", at, new JsonObject { ["service"] = component, ["count"] = 300 });

    private static string ComponentReason(JsonNode ev, string investigationId) =>
        LinkTo(ev, investigationId)!["strategies"]!.AsArray().Single(s => s!["strategy"]!.GetValue<string>() == "component")!["reason"]!.GetValue<string>();

    private static bool Has(JsonNode? link, string status) => link?["status"]?.GetValue<string>() == status;

    /// <summary>
    /// p-db is two hops below p-web: alone, its deployment 10 min before the impact is only suggested
    /// for a p-web incident. Once p-db's own error spike (suggested too) follows it inside the incident,
    /// the deployment is linked, whichever of the two arrives first, and when the investigation is
    /// opened after both. A p-db deployment 4 h before the spike is outside the corroboration window
    /// and stays a suggestion.
    /// </summary>
    [Theory]
    [InlineData("t7", "change first")]
    [InlineData("t8", "symptom first")]
    [InlineData("t9", "investigation last")]
    public async Task AChangeFollowedByItsOwnComponentsSymptomsInTheIncidentIsLinked(string p, string order)
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var (detected, started) = (now.AddMinutes(-10), now.AddMinutes(-20));
        string? web = null;
        if (order != "investigation last")
        {
            web = await OpenAsync(A, $"{p}-web", detected, started);
            await RetroLinkedAsync(web);
        }
        string deploy, old, spike;
        if (order == "symptom first")
        {
            spike = await SpikeAsync(A, $"{p}-db", now.AddMinutes(-15));
            await CheckedAsync(spike);
            deploy = await DeployAsync(B, $"{p}-db", now.AddMinutes(-30));
            old = await DeployAsync(B, $"{p}-db", now.AddMinutes(-255));
        }
        else
        {
            deploy = await DeployAsync(B, $"{p}-db", now.AddMinutes(-30));
            old = await DeployAsync(B, $"{p}-db", now.AddMinutes(-255));
            await CheckedAsync(deploy);
            await CheckedAsync(old);
            spike = await SpikeAsync(A, $"{p}-db", now.AddMinutes(-15));
            await CheckedAsync(spike);
        }
        if (web is null)
        {
            web = await OpenAsync(A, $"{p}-web", detected, started);
            await RetroLinkedAsync(web);
        }

        Assert.True(Has(LinkTo(await CheckedAsync(spike), web), "suggested"), order);
        var linked = await LinkAsync(deploy, web, l => Has(l, "linked"));
        Assert.Contains($"{p}-db's own error spike began 15 min after this change reached production; that error spike is suggested for this investigation",
            ComponentReason(linked, web), StringComparison.Ordinal);
        // The investigation's list follows the event's record.
        Assert.Contains(deploy, await LinkedEventIdsAsync(A, web));
        // The explanation agrees with the stored link, on either silo once its index has caught up.
        await Eventually.ReturnsAsync(async () => (await B.GetJsonAsync($"/api/investigations/{web}/explain?event_id={deploy}")).Body!,
            e => e["confidence"]!.GetValue<double>() == LinkTo(linked, web)!["confidence"]!.GetValue<double>(), Settle);

        var stale = await CheckedAsync(old);
        Assert.True(Has(LinkTo(stale, web), "suggested"), order);
        Assert.DoesNotContain("reached production", ComponentReason(stale, web), StringComparison.Ordinal);

        if (order == "change first")
        {
            // A later deployment (a hotfix inside the impact) and then a later spike: the review of the
            // second spike looks at what the first review had not covered, and finds the hotfix.
            var hotfix = await DeployAsync(B, $"{p}-db", now.AddMinutes(-12));
            Assert.Null(LinkTo(await CheckedAsync(hotfix), web));
            await CheckedAsync(await SpikeAsync(A, $"{p}-db", now.AddMinutes(-11)));
            var reviewed = await LinkAsync(hotfix, web, l => Has(l, "suggested"));
            Assert.Contains($"{p}-db's own error spike began 1 min after this change reached production", ComponentReason(reviewed, web), StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// p-api calls p-db and p-web calls p-api: p-db's deployment 10 min before the impact of a p-web
    /// incident is only suggested on its own (two hops), and linked once p-api's error spike follows it
    /// inside the impact, whichever arrives first and when the investigation is opened after both:
    /// the change looks up its callers' symptoms, a linked symptom has the changes of what its
    /// component calls reviewed, and retro-linking's second pass does the same.
    /// </summary>
    [Theory]
    [InlineData("t12", "change first")]
    [InlineData("t13", "symptom first")]
    [InlineData("t14", "investigation last")]
    public async Task AChangeFollowedByItsDirectCallersSymptomsUpstreamOfTheIncidentIsLinked(string p, string order)
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var web = "";
        if (order != "investigation last")
        {
            web = await OpenAsync(A, $"{p}-web", now.AddMinutes(-10), now.AddMinutes(-20));
            await RetroLinkedAsync(web);
        }
        string deploy, spike;
        if (order == "investigation last")
        {
            deploy = await DeployAsync(B, $"{p}-db", now.AddMinutes(-30));
            spike = await SpikeAsync(A, $"{p}-api", now.AddMinutes(-15));
            await CheckedAsync(deploy);
            await CheckedAsync(spike);
            web = await OpenAsync(A, $"{p}-web", now.AddMinutes(-10), now.AddMinutes(-20));
            await RetroLinkedAsync(web);
        }
        else if (order == "change first")
        {
            deploy = await DeployAsync(B, $"{p}-db", now.AddMinutes(-30));
            Assert.True(Has(LinkTo(await CheckedAsync(deploy), web), "suggested"));
            spike = await SpikeAsync(A, $"{p}-api", now.AddMinutes(-15));
        }
        else
        {
            spike = await SpikeAsync(A, $"{p}-api", now.AddMinutes(-15));
            await CheckedAsync(spike);
            deploy = await DeployAsync(B, $"{p}-db", now.AddMinutes(-30));
        }
        Assert.NotNull(LinkTo(await CheckedAsync(spike), web));
        var linked = await LinkAsync(deploy, web, l => Has(l, "linked"));
        Assert.Contains($"The event concerns {p}-db (named in component), which {p}-api calls directly, and {p}-api's error spike began 15 min after this change reached production",
            ComponentReason(linked, web), StringComparison.Ordinal);
        await Eventually.ReturnsAsync(async () => (await B.GetJsonAsync($"/api/investigations/{web}/explain?event_id={deploy}")).Body!,
            e => e["confidence"]!.GetValue<double>() == LinkTo(linked, web)!["confidence"]!.GetValue<double>(), Settle);
    }

    /// <summary>
    /// A change reads at most 100 symptoms after it of its own components, and apart from those at
    /// most 100 of their callers: 110 error spikes of t15-api (which calls t15-db) between the
    /// deployment of t15-db and the impact do not hide t15-db's own spike inside the impact, when
    /// the spike was decided before the deployment arrived (so only the change side can meet it).
    /// </summary>
    [Fact]
    public async Task ABusyCallerDoesNotHideAChangedComponentsOwnSymptom()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var web = await OpenAsync(A, "t15-web", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(web);
        var own = await SpikeAsync(A, "t15-db", now.AddMinutes(-15));
        Assert.True(Has(LinkTo(await CheckedAsync(own), web), "suggested"));
        for (var i = 0; i < 110; i++)
        {
            await SpikeAsync(i % 2 == 0 ? A : B, "t15-api", now.AddMinutes(-29).AddSeconds(i * 4));
        }
        var deploy = await DeployAsync(B, "t15-db", now.AddMinutes(-30));
        var linked = await LinkAsync(deploy, web, l => Has(l, "linked"));
        Assert.Contains("t15-db's own error spike began 15 min after this change reached production", ComponentReason(linked, web), StringComparison.Ordinal);
    }

    /// <summary>
    /// Twelve error spikes of t16-db and t16-api inside a t16-web incident, sent together through
    /// both silos after both components were deployed: the investigation's corroboration grain takes
    /// the requests that arrive while a review runs into one review of every component asked for,
    /// and each deployment still ends up corroborated by its own component's spike.
    /// </summary>
    [Fact]
    public async Task ABurstOfSymptomsOfSeveralComponentsHasEachComponentsChangeReviewed()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var web = await OpenAsync(A, "t16-web", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(web);
        var db = await DeployAsync(B, "t16-db", now.AddMinutes(-30));
        var api = await DeployAsync(B, "t16-api", now.AddMinutes(-29));
        Assert.DoesNotContain("own error spike", ComponentReason(await CheckedAsync(db), web), StringComparison.Ordinal);
        Assert.DoesNotContain("own error spike", ComponentReason(await CheckedAsync(api), web), StringComparison.Ordinal);

        var spikes = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            SpikeAsync(i % 2 == 0 ? A : B, i % 2 == 0 ? "t16-db" : "t16-api", now.AddMinutes(-15).AddSeconds(i * 10))));
        foreach (var spike in spikes)
        {
            Assert.NotNull(LinkTo(await CheckedAsync(spike), web));
        }

        // Which of t16-db's spikes the reason names depends on the order the burst's reviews ran in
        // (a spike that arrives after a later one's review covered the span is not reviewed again):
        // it names one of them, a quarter of an hour after the deployment.
        var dbLinked = await LinkAsync(db, web, l => Has(l, "linked") && OwnSpike(l, "t16-db"));
        Assert.Matches("t16-db's own error spike began 1[5-7] min after this change reached production", ComponentReason(dbLinked, web));
        var apiLinked = await LinkAsync(api, web, l => OwnSpike(l, "t16-api"));
        Assert.True(Has(LinkTo(apiLinked, web), "linked"), ComponentReason(apiLinked, web));
    }

    private static bool OwnSpike(JsonNode? link, string component) =>
        link?["strategies"]?.AsArray().Any(s => s!["strategy"]!.GetValue<string>() == "component"
            && s["reason"]!.GetValue<string>().Contains($"{component}'s own error spike began", StringComparison.Ordinal)) == true;

    /// <summary>
    /// A review asked for by a caller's symptom finds the changes of what the caller calls too, and
    /// never lowers what the linker stored for them: t18-db's deployment, corroborated by t18-db's
    /// own error spike, stays so when an error spike of t18-api (which calls t18-db) is reviewed
    /// afterwards, instead of falling back to the caller's spike.
    /// </summary>
    [Fact]
    public async Task ACallersLaterSymptomDoesNotDemoteAChangeCorroboratedByItsOwnComponent()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var web = await OpenAsync(A, "t18-web", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(web);
        var db = await DeployAsync(B, "t18-db", now.AddMinutes(-30));
        var api = await DeployAsync(B, "t18-api", now.AddMinutes(-29));
        await CheckedAsync(db);
        await CheckedAsync(api);

        Assert.NotNull(LinkTo(await CheckedAsync(await SpikeAsync(A, "t18-db", now.AddMinutes(-15))), web));
        Assert.True(OwnSpike(LinkTo(await LinkAsync(db, web, l => OwnSpike(l, "t18-db")), web), "t18-db"));

        Assert.NotNull(LinkTo(await CheckedAsync(await SpikeAsync(B, "t18-api", now.AddMinutes(-14))), web));
        // The caller's review scores both deployments, the earlier first: once t18-api's shows its own
        // spike, whatever that review made of t18-db's is stored.
        Assert.True(OwnSpike(LinkTo(await LinkAsync(api, web, l => OwnSpike(l, "t18-api")), web), "t18-api"));
        var stored = (await A.GetJsonAsync($"/api/events/{db}")).Body!;
        Assert.Contains("t18-db's own error spike began 15 min after this change reached production", ComponentReason(stored, web), StringComparison.Ordinal);
        Assert.True(Has(LinkTo(stored, web), "linked"), ComponentReason(stored, web));
    }

    /// <summary>
    /// The latest deployment of the affected component before the impact is its first suspect even
    /// 9 h earlier, and stops being it when a later deployment of the component arrives: the earlier
    /// one is scored again and drops to a suggestion. A staging deployment in between changes nothing
    /// (production did not change), and does not hide the earlier one from the later one. The
    /// explanation agrees with the stored links.
    /// </summary>
    [Fact]
    public async Task TheLatestDeploymentOfTheAffectedComponentIsTheFirstSuspectUntilALaterOneArrives()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var api = await OpenAsync(A, "t10-api", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(api);

        var release = await DeployAsync(B, "t10-api", now.AddHours(-9));
        var linked = await LinkAsync(release, api, l => Has(l, "linked"));
        Assert.True(Has(LinkTo(linked, api), "linked"));
        var evidence = LinkTo(linked, api)!["strategies"]!.AsArray().Single(s => s!["strategy"]!.GetValue<string>() == "source_evidence")!["reason"]!.GetValue<string>();
        Assert.Contains("the latest of the affected component before the impact began", evidence, StringComparison.Ordinal);

        var staging = await DeployAsync(B, "t10-api", now.AddHours(-6), environment: "staging");
        await CheckedAsync(staging);
        Assert.True(Has(LinkTo(await LinkAsync(release, api, l => Has(l, "linked")), api), "linked"));

        var later = await DeployAsync(A, "t10-api", now.AddHours(-3));
        Assert.True(Has(LinkTo(await LinkAsync(later, api, l => Has(l, "linked")), api), "linked"));
        var superseded = await LinkAsync(release, api, l => Has(l, "suggested"));
        Assert.True(Has(LinkTo(superseded, api), "suggested"));
        var explained = await Eventually.ReturnsAsync(async () => (await B.GetJsonAsync($"/api/investigations/{api}/explain?event_id={release}")).Body!,
            e => e["confidence"]!.GetValue<double>() == LinkTo(superseded, api)!["confidence"]!.GetValue<double>(), Settle);
        Assert.Equal(LinkTo(superseded, api)!["confidence"]!.GetValue<double>(), explained["confidence"]!.GetValue<double>());
        Assert.DoesNotContain(release, await LinkedEventIdsAsync(A, api));
    }

    /// <summary>
    /// A commit to a file no path prefix owns, in a directory named after the affected component's
    /// service (a rotated secret in a repository the catalog does not list), stored before the
    /// investigation is opened: retro-linking finds it
    /// through the directory's name and links it, and the reason says why.
    /// </summary>
    [Fact]
    public async Task AChangeInADirectoryNamedAfterTheServiceIsFoundAndLinked()
    {
        await CatalogAsync();
        var now = DateTimeOffset.UtcNow;
        var commit = await IngestAsync(B, "git", $"acme/secrets@{Guid.NewGuid():N}", "commit", now.AddMinutes(-25),
            new JsonObject { ["repository"] = "acme/secrets", ["branch"] = "main", ["files"] = new JsonArray("k8s/secrets/t11-core/credentials.sops.yaml") }, severity: "info");
        await CheckedAsync(commit);
        var api = await OpenAsync(A, "t11-api", now.AddMinutes(-10), now.AddMinutes(-20));
        await RetroLinkedAsync(api);
        var linked = await LinkAsync(commit, api, l => Has(l, "linked"));
        Assert.True(Has(LinkTo(linked, api), "linked"));
        Assert.Contains("in a directory named after its service t11-core", ComponentReason(linked, api), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLinkersHistogramsSplitTheWaitIntoDeliveryAndAChangesIndexWaitByKind()
    {
        await CatalogAsync();
        // Only this fixture's silos: other classes run their own silos in this process meanwhile.
        var mine = silos.Silos.Select(s => s.Services.GetRequiredService<LinkerMetrics>())
            .SelectMany(m => new Instrument[] { m.HandOffLatency, m.DeliveryWait, m.IndexWait }).ToHashSet();
        var seen = new ConcurrentQueue<(string Instrument, string? Kind, double Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (mine.Contains(instrument))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            string? kind = null;
            foreach (var tag in tags)
            {
                kind = tag.Key == "kind" ? tag.Value as string : kind;
            }
            seen.Enqueue((instrument.Name, kind, value));
        });
        listener.Start();

        // A system the catalog does not know: nothing links, each event is evaluated once.
        var now = DateTimeOffset.UtcNow;
        var commit = await IngestAsync(A, "git", $"acme/histogram-probe@{Guid.NewGuid():N}", "commit", now.AddMinutes(-3),
            new JsonObject { ["repository"] = "acme/histogram-probe", ["sha"] = Guid.NewGuid().ToString("N"), ["files"] = new JsonArray("src/probe.cs") }, severity: "info");
        var spike = await IngestAsync(B, "logs", $"spike:histogram-probe:{Guid.NewGuid():N}", "error_spike", now.AddMinutes(-2),
            new JsonObject { ["service"] = "histogram-probe", ["count"] = 120 });
        await CheckedAsync(commit);
        await CheckedAsync(spike);
        // Recorded right after the write that marks an event evaluated.
        bool Has(string instrument, string kind) => seen.Any(m => m.Instrument == instrument && m.Kind == kind);
        await Eventually.ReturnsAsync(() => Task.FromResult(Has("rootcause.linker.latency", "commit") && Has("rootcause.linker.latency", "error_spike")), done => done);

        Assert.True(Has("rootcause.linker.latency", "commit"));
        Assert.True(Has("rootcause.linker.latency", "error_spike"));
        Assert.True(Has("rootcause.linker.delivery_wait", "commit"));
        Assert.True(Has("rootcause.linker.delivery_wait", "error_spike"));
        // Only a change waits for the index.
        Assert.True(Has("rootcause.linker.index_wait", "commit"));
        Assert.DoesNotContain(seen, m => m.Instrument == "rootcause.linker.index_wait" && m.Kind != "commit" && m.Kind != "deployment");
        Assert.All(seen, m => Assert.True(m.Value >= 0, $"{m.Instrument} {m.Kind} {m.Value}"));
        // Each event's whole latency includes its delivery wait.
        foreach (var kind in new[] { "commit", "error_spike" })
        {
            Assert.True(seen.Where(m => m.Instrument == "rootcause.linker.latency" && m.Kind == kind).Max(m => m.Value)
                >= seen.Where(m => m.Instrument == "rootcause.linker.delivery_wait" && m.Kind == kind).Min(m => m.Value));
        }
    }
}
