using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Catalog;
using RootCause.Common;
using RootCause.Silo.Hosting;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Api;

/// <summary>The service catalog over real HTTP, on a silo pair with a database of its own.</summary>
public sealed class CatalogApiTests(SiloPairFixture silos) : IClassFixture<SiloPairFixture>
{
    private HttpClient A => silos.Clients[0];
    private HttpClient B => silos.Clients[1];

    private static readonly SemaphoreSlim Sequential = new(1, 1);

    private const string Catalog = """
        {"components":[
          {"name":"checkout-api","service":"checkout","aliases":["checkout","Checkout-Svc"],"repositories":["shop/checkout-api"],
           "path_prefixes":["src/"],"pipelines":["checkout-api CI"],"depends_on":["payments-gateway","inventory"],"owner":"team-checkout"},
          {"name":"payments-gateway","service":"payments","aliases":["payments-gw"],"repositories":["shop/payments"],"path_prefixes":["gateway/"],"depends_on":["payments-db"]},
          {"name":"payments-ledger","service":"payments","repositories":["shop/payments"],"path_prefixes":["ledger/","gateway/ledger/"],"depends_on":["payments-db"]},
          {"name":"payments-db","service":"payments"},
          {"name":"inventory","service":"shop","repositories":["shop/inventory"]},
          {"name":"storefront","service":"shop","depends_on":["checkout-api"]}
        ]}
        """;

    private async Task ImportAsync()
    {
        var (status, body, _) = await A.PostAsync("/api/catalog/import?replace=true", Catalog);
        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
    }

    [Fact]
    public async Task ImportedComponentsAreServedByNameOrAliasFromEitherSilo()
    {
        await Sequential.WaitAsync();
        try
        {
            await ImportAsync();
            var (status, component, response) = await B.GetJsonAsync("/api/catalog/components/checkout-svc");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("checkout-api", component!["name"]!.GetValue<string>());
            Assert.Equal("""["checkout","checkout-svc"]""", component["aliases"]!.ToJsonString());
            Assert.NotNull(response.Headers.ETag);
            Assert.Equal(HttpStatusCode.NotFound, (await A.GetJsonAsync("/api/catalog/components/nope")).Status);

            var (_, all, _) = await A.GetJsonAsync("/api/catalog");
            Assert.Equal(["checkout-api", "inventory", "payments-db", "payments-gateway", "payments-ledger", "storefront"],
                all!["components"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));

            // The same import again changes nothing, not even the version.
            var version = all["version"]!.GetValue<long>();
            var (_, again, _) = await A.PostAsync("/api/catalog/import?replace=true", Catalog);
            Assert.Equal(version, again!["version"]!.GetValue<long>());
        }
        finally
        {
            Sequential.Release();
        }
    }

    [Fact]
    public async Task DependenciesAreFollowedBothWaysWithShortestHops()
    {
        await Sequential.WaitAsync();
        try
        {
            await ImportAsync();
            var (status, body, _) = await A.GetJsonAsync("/api/catalog/components/checkout/dependencies?hops=2");
            Assert.Equal(HttpStatusCode.OK, status);
            var entries = body!["dependencies"]!.AsArray()
                .Select(d => $"{d!["name"]}:{d["hops"]}:{d["direction"]}").Order(StringComparer.Ordinal).ToList();
            Assert.Equal(["inventory:1:dependency", "payments-db:2:dependency", "payments-gateway:1:dependency", "storefront:1:dependent"], entries);
            var (_, one, _) = await A.GetJsonAsync("/api/catalog/components/payments-db/dependencies?hops=1");
            Assert.Equal(["payments-gateway", "payments-ledger"], one!["dependencies"]!.AsArray().Select(d => d!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
            Assert.Equal(["hops"], (await A.GetJsonAsync("/api/catalog/components/checkout/dependencies?hops=0")).Body.ErrorFields());
        }
        finally
        {
            Sequential.Release();
        }
    }

    [Fact]
    public async Task PutDeleteAndTheirConflicts()
    {
        await Sequential.WaitAsync();
        try
        {
            await ImportAsync();
            var (status, snapshot, response) = await A.SendAsync(HttpMethod.Put, "/api/catalog/components/search-api",
                """{"service":"search","aliases":["search"],"depends_on":["inventory"]}""");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Contains(snapshot!["components"]!.AsArray(), c => c!["name"]!.GetValue<string>() == "search-api");
            var etag = response.Headers.ETag!.Tag;

            // A stale If-Match is refused; the current one works.
            var (stale, problem, _) = await B.SendAsync(HttpMethod.Put, "/api/catalog/components/search-api", """{"owner":"x"}""", ifMatch: "\"1\"");
            Assert.Equal(HttpStatusCode.PreconditionFailed, stale);
            Assert.NotNull(problem!["current_version"]);
            Assert.Equal(HttpStatusCode.OK, (await B.SendAsync(HttpMethod.Put, "/api/catalog/components/search-api", """{"owner":"team-search","depends_on":["inventory"]}""", ifMatch: etag)).Status);

            // Others depend on inventory: it cannot go. search-api can.
            var (blocked, conflict, _) = await A.SendAsync(HttpMethod.Delete, "/api/catalog/components/inventory");
            Assert.Equal(HttpStatusCode.Conflict, blocked);
            Assert.Contains("checkout-api", conflict!.ToJsonString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NoContent, (await A.SendAsync(HttpMethod.Delete, "/api/catalog/components/search-api")).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await A.SendAsync(HttpMethod.Delete, "/api/catalog/components/search-api")).Status);
        }
        finally
        {
            Sequential.Release();
        }
    }

    [Theory]
    [InlineData("/api/catalog/components/Bad Name", """{}""", "name")]
    [InlineData("/api/catalog/components/x1", """{"name":"x2"}""", "name")]
    [InlineData("/api/catalog/components/x1", """{"aliases":["checkout"]}""", "aliases")]
    [InlineData("/api/catalog/components/x1", """{"aliases":["has space"]}""", "aliases[0]")]
    [InlineData("/api/catalog/components/x1", """{"depends_on":["x1"]}""", "depends_on")]
    [InlineData("/api/catalog/components/x1", """{"depends_on":["missing"]}""", "depends_on")]
    [InlineData("/api/catalog/components/x1", """{"repositories":["not-a-repo"]}""", "repositories")]
    [InlineData("/api/catalog/components/x1", """{"path_prefixes":["../etc"]}""", "path_prefixes")]
    [InlineData("/api/catalog/components/x1", """{"tags":["a b"]}""", "tags")]
    public async Task InvalidComponentsAreNamedIn400(string url, string body, string field)
    {
        await Sequential.WaitAsync();
        try
        {
            await ImportAsync();
            var (status, problem, _) = await A.SendAsync(HttpMethod.Put, url, body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains(problem.ErrorFields(), f => f.StartsWith(field, StringComparison.Ordinal));
        }
        finally
        {
            Sequential.Release();
        }
    }

    [Fact]
    public async Task AnImportIsAllOrNothing()
    {
        await Sequential.WaitAsync();
        try
        {
            await ImportAsync();
            var (_, before, _) = await A.GetJsonAsync("/api/catalog");
            var (status, problem, _) = await A.PostAsync("/api/catalog/import",
                """{"components":[{"name":"fine-one"},{"name":"broken","depends_on":["nowhere"]},{"name":"fine-one"}]}""");
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("components", problem.ErrorFields());
            var (_, after, _) = await A.GetJsonAsync("/api/catalog");
            Assert.Equal(before!.ToJsonString(), after!.ToJsonString());
            Assert.Equal(["components"], (await A.PostAsync("/api/catalog/import", "{}")).Body.ErrorFields());
        }
        finally
        {
            Sequential.Release();
        }
    }

    [Fact]
    public async Task ACatalogFileIsLoadedAndABadOneIsRefusedWithItsProblem()
    {
        await Sequential.WaitAsync();
        var path = Path.Combine(Path.GetTempPath(), $"catalog-{Guid.NewGuid():N}.json");
        try
        {
            await ImportAsync();
            var grains = silos.Silos[0].Services.GetRequiredService<IGrainFactory>();
            await File.WriteAllTextAsync(path, """{"components":[{"name":"billing","depends_on":["payments-gateway"]}]}""");
            var merged = await CatalogFile.LoadAsync(path, replace: false, grains, CancellationToken.None);
            Assert.Contains(merged.Components, c => c.Name == "billing");
            Assert.Contains(merged.Components, c => c.Name == "checkout-api");

            await File.WriteAllTextAsync(path, """{"components":[{"name":"billing","depends_on":["nowhere"]}]}""");
            var bad = await Assert.ThrowsAsync<InvalidOperationException>(() => CatalogFile.LoadAsync(path, replace: false, grains, CancellationToken.None));
            Assert.Contains("depends_on", bad.Message, StringComparison.Ordinal);
            await File.WriteAllTextAsync(path, "{not json");
            Assert.Contains("cannot be read", (await Assert.ThrowsAsync<InvalidOperationException>(() => CatalogFile.LoadAsync(path, false, grains, CancellationToken.None))).Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
            Sequential.Release();
        }
    }

    [Fact]
    public async Task ExplainGivesEveryStrategysScoreAndReasonLinkedOrNot()
    {
        await Sequential.WaitAsync();
        try
        {
            await ImportAsync();
            var detected = DateTimeOffset.UtcNow.AddMinutes(-30);
            var (_, investigation, _) = await A.PostAsync("/api/investigations",
                $$"""{"title":"Checkout 502s","component_affected":"checkout","detected_at":"{{detected:O}}","tags":["deploy"]}""");
            var id = investigation!["id"]!.GetValue<string>();
            var (_, ev, _) = await B.PostAsync("/api/events",
                $$"""{"source":"git","source_id":"shop/checkout-api@deploy-{{Guid.NewGuid():N}}","event_type":"deployment","timestamp":"{{detected.AddMinutes(-12):O}}","data":{"repository":"shop/checkout-api","environment":"production"},"tags":["deploy"]}""");
            var eventId = ev!["id"]!.GetValue<string>();

            var (status, explained, _) = await B.GetJsonAsync($"/api/investigations/{id}/explain?event_id={eventId}");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("link", explained!["decision"]!.GetValue<string>());
            // "linked" says whether it is linked right now: the linker may already have done it.
            Assert.True(explained["confidence"]!.GetValue<double>() >= 0.75);
            Assert.Equal(["component", "source_evidence", "tags", "time"],
                explained["strategies"]!.AsArray().Select(s => s!["strategy"]!.GetValue<string>()).Order(StringComparer.Ordinal));
            Assert.Contains("12 min before detection", explained.ToJsonString(), StringComparison.Ordinal);
            Assert.Contains("checkout-api, the affected component", explained.ToJsonString(), StringComparison.Ordinal);

            Assert.Equal(HttpStatusCode.OK, (await A.PostAsync($"/api/investigations/{id}/link-event", $$"""{"event_id":"{{eventId}}"}""")).Status);
            Assert.True((await A.GetJsonAsync($"/api/investigations/{id}/explain?event_id={eventId}")).Body!["linked"]!.GetValue<bool>());

            Assert.Equal(["event_id"], (await A.GetJsonAsync($"/api/investigations/{id}/explain")).Body.ErrorFields());
            Assert.Equal(["event_id"], (await A.GetJsonAsync($"/api/investigations/{id}/explain?event_id=nope")).Body.ErrorFields());
            Assert.Equal(HttpStatusCode.NotFound, (await A.GetJsonAsync($"/api/investigations/{id}/explain?event_id={Guid.NewGuid()}")).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await A.GetJsonAsync($"/api/investigations/{Guid.NewGuid()}/explain?event_id={eventId}")).Status);
        }
        finally
        {
            Sequential.Release();
        }
    }

    [Fact]
    public void PathsResolveToTheComponentWithTheLongestMatchingPrefix()
    {
        var catalog = new ServiceCatalog(new CatalogSnapshot
        {
            Components = JsonSerializer.Deserialize<List<Component>>(JsonDocument.Parse(Catalog).RootElement.GetProperty("components"), RootCauseJson.Options)!,
        });
        Assert.Equal(["payments-gateway"], catalog.ForPath("shop/payments", "gateway/client.go").Select(c => c.Name));
        Assert.Equal(["payments-ledger"], catalog.ForPath("shop/payments", "gateway/ledger/post.go").Select(c => c.Name));
        Assert.Empty(catalog.ForPath("shop/payments", "docs/readme.md"));
        Assert.Equal(["inventory"], catalog.ForPath("shop/inventory", "anything/at/all.cs").Select(c => c.Name));
        Assert.Equal("checkout-api", catalog.ForPipeline("checkout-api ci")!.Name);
        Assert.Equal("checkout-api", catalog.Resolve("CHECKOUT")!.Name);
    }
}
