using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using RootCause.Silo;

namespace RootCause.Tests.Infrastructure;

/// <summary>
/// Two complete silos, as the product runs them: real Kestrel on loopback ports, Orleans
/// clustering, grain state and reminders on one fresh PostgreSQL database. Tests talk to them
/// over real HTTP and may alternate between the two.
/// </summary>
public sealed class SiloPairFixture : IAsyncLifetime
{
    private readonly List<WebApplication> _silos = [];

    public string ConnectionString { get; private set; } = "";

    /// <summary>The silo applications, for tests that need a service of a silo.</summary>
    public IReadOnlyList<WebApplication> Silos => _silos;

    public IReadOnlyList<HttpClient> Clients { get; private set; } = [];

    /// <summary>The first silo's client.</summary>
    public HttpClient Http => Clients[0];

    /// <summary>Each silo's search-index directory (deleted on dispose).</summary>
    public IReadOnlyList<string> IndexPaths { get; private set; } = [];

    public async Task InitializeAsync()
    {
        ConnectionString = await TestDatabase.CreateAsync("api", migrate: false);
        var clusterId = "api-" + Guid.NewGuid().ToString("N")[..8];
        var clients = new List<HttpClient>();
        var indexPaths = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var indexPath = Path.Combine(Path.GetTempPath(), "rootcause-test-index", $"{clusterId}-{i}");
            indexPaths.Add(indexPath);
            var app = RootCauseSilo.Build(
            [
                "--urls", "http://127.0.0.1:0",
                $"--ConnectionStrings:Postgres={ConnectionString}",
                $"--Cluster:ClusterId={clusterId}",
                $"--Cluster:SiloPort={FreePort()}",
                $"--Cluster:GatewayPort={FreePort()}",
                "--Cluster:AdvertisedAddress=127.0.0.1",
                "--Logging:LogLevel:Default=Warning",
                $"--Search:IndexPath={indexPath}",
                "--Search:PollIntervalMilliseconds=50",
            ]);
            await app.StartAsync();
            _silos.Add(app);
            clients.Add(new HttpClient { BaseAddress = new Uri(app.Urls.First()) });
        }
        Clients = clients;
        IndexPaths = indexPaths;
    }

    public async Task DisposeAsync()
    {
        foreach (var client in Clients)
        {
            client.Dispose();
        }
        foreach (var silo in Enumerable.Reverse(_silos))
        {
            await silo.StopAsync();
            await silo.DisposeAsync();
        }
        foreach (var path in IndexPaths)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class SiloPairCollection : ICollectionFixture<SiloPairFixture>
{
    public const string Name = "silo pair over HTTP";
}
