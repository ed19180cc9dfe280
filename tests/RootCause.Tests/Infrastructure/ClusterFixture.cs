using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using RootCause.Hosting;
using RootCause.Linking;
using RootCause.Search;

namespace RootCause.Tests.Infrastructure;

/// <summary>
/// An in-process Orleans cluster of two silos whose grain state and reminders live in a fresh
/// real PostgreSQL database, shared by the tests of one collection.
/// </summary>
public class ClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public IClusterClient Client => Cluster.Client;

    protected virtual string DatabaseName => "grains";

    public async Task InitializeAsync()
    {
        ConnectionString = await TestDatabase.CreateAsync(DatabaseName);
        var connectionString = ConnectionString;
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddRootCausePersistence(connectionString);
            silo.AddRootCauseStreams(connectionString, ConfigureStreams);
        });
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton(TimeProvider.System);
            // The whole pipeline, as a silo runs it: each silo its own index, the linker on the stream.
            host.Services.AddRootCauseSearch(Path.Combine(Path.GetTempPath(), "rootcause-test-index", Guid.NewGuid().ToString("N")),
                o => o.PollIntervalMilliseconds = 20);
            host.Services.AddRootCauseLinking(new LinkerOptions());
        });
        Configure(builder);
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>Stream settings of this fixture's silos.</summary>
    protected virtual void ConfigureStreams(EventStreamOptions options)
    {
    }

    /// <summary>Fixtures that need other settings add them here.</summary>
    protected virtual void Configure(InProcessTestClusterBuilder builder)
    {
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "grain cluster";
}
