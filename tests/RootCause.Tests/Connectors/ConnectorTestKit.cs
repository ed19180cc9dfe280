using System.Text.Json;
using System.Text.Json.Nodes;
using LibGit2Sharp;
using Microsoft.AspNetCore.Builder;
using RootCause.Silo;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors;

/// <summary>
/// One whole silo for the connector tests, on its own database, with retries shortened so an
/// upstream that keeps failing gives up in milliseconds rather than the production 15 seconds.
/// </summary>
public sealed class ConnectorSiloFixture : IAsyncLifetime
{
    public const string GitHubSecretVariable = "ROOTCAUSE_TEST_GITHUB_WEBHOOK_SECRET";
    public const string GitHubSecret = "It's a Secret to Everybody";
    public const string GitLabToken = "gitlab-hook-token-7f3a";

    public WebApplication App { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    /// <summary>A file holding the GitLab token, as a mounted secret would.</summary>
    public string GitLabTokenFile { get; } = Path.Combine(Path.GetTempPath(), $"rootcause-gitlab-token-{Guid.NewGuid():N}");

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(GitHubSecretVariable, GitHubSecret);
        await File.WriteAllTextAsync(GitLabTokenFile, GitLabToken + "\n");
        ConnectionString = await TestDatabase.CreateAsync("connectors", migrate: false);
        (App, Http) = await StartSiloAsync(ConnectionString, "conn-" + Guid.NewGuid().ToString("N")[..8]);
    }

    public static async Task<(WebApplication App, HttpClient Http)> StartSiloAsync(string connectionString, string clusterId, params string[] extra)
    {
        var app = RootCauseSilo.Build(
        [
            .. extra,
            "--urls", "http://127.0.0.1:0",
            $"--ConnectionStrings:Postgres={connectionString}",
            $"--Cluster:ClusterId={clusterId}",
            $"--Cluster:SiloPort={SiloPairFixture.FreePort()}",
            $"--Cluster:GatewayPort={SiloPairFixture.FreePort()}",
            "--Cluster:AdvertisedAddress=127.0.0.1",
            "--Logging:LogLevel:Default=Warning",
            $"--Search:IndexPath={Path.Combine(Path.GetTempPath(), "rootcause-test-index", $"{clusterId}-{Guid.NewGuid():N}")}",
            "--Connectors:Resilience:RetryBaseDelay=00:00:00.005",
            "--Connectors:Resilience:Qps=1000",
        ]);
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromMinutes(2) });
    }

    public static async Task StopAsync(WebApplication app, HttpClient http)
    {
        http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    public async Task DisposeAsync()
    {
        await StopAsync(App, Http);
        File.Delete(GitLabTokenFile);
    }
}

[CollectionDefinition(Name)]
public sealed class ConnectorSiloCollection : ICollectionFixture<ConnectorSiloFixture>
{
    public const string Name = "connector silo";
}

/// <summary>Real upstream payloads: GitHub's from the npm package @octokit/webhooks-examples, GitLab's written from its documented shapes.</summary>
public static class Payloads
{
    private static readonly Lazy<Dictionary<string, JsonArray>> GitHubExamples = new(LoadGitHub);

    public static string FixturesDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "RootCause.sln")))
                {
                    return Path.Combine(dir.FullName, "tests", "fixtures");
                }
            }
            throw new InvalidOperationException("The repository root (RootCause.sln) was not found above the test binaries.");
        }
    }

    /// <summary>The examples of one GitHub event, each as compact JSON text (the body GitHub would send).</summary>
    public static IReadOnlyList<JsonObject> GitHub(string eventName) =>
        GitHubExamples.Value[eventName].Select(e => e!.AsObject().DeepClone().AsObject()).ToList();

    public static string GitLab(string name) => File.ReadAllText(Path.Combine(FixturesDirectory, "gitlab", name + ".json"));

    private static Dictionary<string, JsonArray> LoadGitHub()
    {
        var path = Path.Combine(FixturesDirectory, "node_modules", "@octokit", "webhooks-examples", "api.github.com", "index.json");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing: run `npm ci` in tests/fixtures (scripts/test.sh does).");
        }
        var all = JsonNode.Parse(File.ReadAllText(path))!.AsArray();
        return all.ToDictionary(e => (string)e!["name"]!, e => e!["examples"]!.AsArray());
    }

    public static string Compact(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
}

/// <summary>A real git repository in a temporary directory, written commit by commit with chosen times.</summary>
public sealed class TestRepository : IDisposable
{
    private readonly Repository _repository;
    private DateTimeOffset _clock;

    public TestRepository(DateTimeOffset start)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"rootcause-git-{Guid.NewGuid():N}");
        Repository.Init(Path);
        _repository = new Repository(Path);
        _clock = start;
    }

    public string Path { get; }

    public string Branch => _repository.Head.FriendlyName;

    /// <summary>Writes (or with null content deletes) files and commits them one minute after the previous commit.</summary>
    public Commit Commit(string message, string author, params (string Path, string? Content)[] files)
    {
        foreach (var (path, content) in files)
        {
            var full = System.IO.Path.Combine(Path, path);
            if (content is null)
            {
                File.Delete(full);
                Commands.Remove(_repository, path);
            }
            else
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
                File.WriteAllText(full, content);
                Commands.Stage(_repository, path);
            }
        }
        _clock = _clock.AddMinutes(1);
        var signature = new Signature(author, $"{author.ToLowerInvariant().Replace(' ', '.')}@example.com", _clock);
        return _repository.Commit(message, signature, signature);
    }

    public void Tag(string name, Commit commit, bool annotated)
    {
        if (annotated)
        {
            _repository.ApplyTag(name, commit.Sha, new Signature("Release Bot", "release@example.com", _clock), $"Release {name}");
        }
        else
        {
            _repository.ApplyTag(name, commit.Sha);
        }
    }

    public void Dispose()
    {
        _repository.Dispose();
        try
        {
            foreach (var file in Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories))
            {
                File.SetAttributes(file, FileAttributes.Normal);
            }
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
