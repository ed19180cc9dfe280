using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RootCause.Connectors;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors;

/// <summary>The admin API of connectors: validation naming the field, secrets as references only, the config file.</summary>
[Collection(ConnectorSiloCollection.Name)]
public sealed class ConnectorsApiTests(ConnectorSiloFixture silo)
{
    private HttpClient Http => silo.Http;

    [Fact]
    public async Task InvalidConfigsGet400NamingTheFieldAndALiteralSecretIsNeitherStoredNorEchoed()
    {
        var (noKind, noKindProblem, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/x1", """{"repository":"acme/x"}""");
        var (badKind, badKindProblem, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/x1", """{"kind":"svn"}""");
        var (gitMissing, gitProblem, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/x1",
            """{"kind":"git","path":"relative/dir","poll_interval":"00:00:05"}""");
        var (literal, literalProblem, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/x1",
            """{"kind":"github","secret":"hunter2-the-real-secret"}""");
        var (badName, badNameProblem, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/Bad%20Name", """{"kind":"github","secret":"env:X"}""");
        var (missing, _, _) = await Http.GetJsonAsync("/api/admin/connectors/x1");

        Assert.Equal(HttpStatusCode.BadRequest, noKind);
        Assert.Equal(["kind"], noKindProblem.ErrorFields());
        Assert.Equal(HttpStatusCode.BadRequest, badKind);
        Assert.Equal(["kind"], badKindProblem.ErrorFields());
        Assert.Equal(HttpStatusCode.BadRequest, gitMissing);
        Assert.Equal(["path", "poll_interval", "repository"], gitProblem.ErrorFields());
        Assert.Equal(HttpStatusCode.BadRequest, literal);
        Assert.Equal(["secret"], literalProblem.ErrorFields());
        Assert.DoesNotContain("hunter2", literalProblem!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badName);
        Assert.Equal(["name"], badNameProblem.ErrorFields());
        Assert.Equal(HttpStatusCode.NotFound, missing);
    }

    [Fact]
    public async Task AWebhookConnectorShowsItsSecretReferenceNeverTheSecretAndHasNothingToSync()
    {
        var (created, info, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/gh-admin",
            $$"""{"kind":"github","secret":"env:{{ConnectorSiloFixture.GitHubSecretVariable}}"}""");
        var (replaced, again, _) = await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/gh-admin",
            $$"""{"kind":"github","secret":"env:{{ConnectorSiloFixture.GitHubSecretVariable}}","keep_successes":true}""");
        using var listResponse = await Http.GetAsync("/api/admin/connectors");
        var list = await listResponse.Content.ReadAsStringAsync();
        var (syncStatus, syncProblem, _) = await Http.PostAsync("/api/admin/connectors/gh-admin/sync", "");
        var (deleted, _, _) = await Http.SendAsync(HttpMethod.Delete, "/api/admin/connectors/gh-admin");
        var (gone, _, _) = await Http.GetJsonAsync("/api/admin/connectors/gh-admin");

        Assert.Equal((HttpStatusCode.Created, 1L, "github", false), (created, (long)info!["version"]!, (string?)info["config"]!["kind"], (bool)info["polling"]!));
        Assert.Equal((HttpStatusCode.OK, 2L, true), (replaced, (long)again!["version"]!, (bool)again["config"]!["keep_successes"]!));
        Assert.Equal($"env:{ConnectorSiloFixture.GitHubSecretVariable}", (string?)again["config"]!["secret"]);
        Assert.Contains("\"name\":\"gh-admin\"", list, StringComparison.Ordinal);
        Assert.DoesNotContain(ConnectorSiloFixture.GitHubSecret, list, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.Conflict, "kind"), (syncStatus, (string?)syncProblem!["field"]));
        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.NotFound), (deleted, gone));
    }

    [Fact]
    public async Task ABackfillNeedsAnOrderedRangeAndAnUnknownConnectorIs404()
    {
        using var repository = new TestRepository(DateTimeOffset.UtcNow.AddHours(-1));
        repository.Commit("one", "Dana Ortiz", ("a.txt", "a"));
        await Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/backfill-check",
            $$"""{"kind":"git","repository":"acme/backfill","path":"{{repository.Path}}"}""");

        var (noRange, noRangeProblem, _) = await Http.PostAsync("/api/admin/connectors/backfill-check/backfill", "{}");
        var (reversed, reversedProblem, _) = await Http.PostAsync("/api/admin/connectors/backfill-check/backfill",
            """{"from":"2026-02-01T00:00:00Z","to":"2026-01-01T00:00:00Z"}""");
        var (unknown, _, _) = await Http.PostAsync("/api/admin/connectors/nobody/sync", "");

        Assert.Equal(HttpStatusCode.BadRequest, noRange);
        Assert.Equal(["from", "to"], noRangeProblem.ErrorFields());
        Assert.Equal(HttpStatusCode.BadRequest, reversed);
        Assert.Equal(["to"], reversedProblem.ErrorFields());
        Assert.Equal(HttpStatusCode.NotFound, unknown);
    }

    [Fact]
    public async Task TheConnectorsFileCreatesEveryConnectorOrNoneWhenOneIsInvalid()
    {
        var grains = silo.App.Services.GetRequiredService<IGrainFactory>();
        var good = Path.GetTempFileName();
        var bad = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(good, """
                {"connectors": [
                  {"name": "file-github", "kind": "github", "secret": "env:ROOTCAUSE_TEST_GITHUB_WEBHOOK_SECRET"},
                  {"name": "file-git", "kind": "git", "repository": "acme/file", "path": "/srv/git/file.git", "poll_interval": "00:05:00"}
                ]}
                """);
            await File.WriteAllTextAsync(bad, """
                {"connectors": [
                  {"name": "file-ok", "kind": "gitlab", "secret": "file:/run/secrets/gitlab"},
                  {"name": "file-bad", "kind": "gitlab", "secret": "plain-text"}
                ]}
                """);

            var applied = await ConnectorHosting.ApplyFileAsync(good, grains, CancellationToken.None);
            var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => ConnectorHosting.ApplyFileAsync(bad, grains, CancellationToken.None));
            var (_, git, _) = await Http.GetJsonAsync("/api/admin/connectors/file-git");
            var (okStatus, _, _) = await Http.GetJsonAsync("/api/admin/connectors/file-ok");

            Assert.Equal(2, applied);
            Assert.Equal(("00:05:00", true), ((string?)git!["config"]!["poll_interval"], (bool)git["polling"]!));
            Assert.Contains("connectors[1] (file-bad): secret", failure.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("plain-text", failure.Message, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, okStatus);
        }
        finally
        {
            File.Delete(good);
            File.Delete(bad);
        }
    }
}
