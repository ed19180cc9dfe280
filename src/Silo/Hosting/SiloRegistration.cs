using System.Net;
using Npgsql;
using Orleans.Configuration;
using RootCause.Connectors;
using RootCause.Database;
using RootCause.Hosting;
using RootCause.Linking;
using RootCause.Search;

namespace RootCause.Silo.Hosting;

public static class SiloRegistration
{
    /// <summary>The PostgreSQL connection string, from the standard <c>ConnectionStrings:Postgres</c>.</summary>
    public static string PostgresConnectionString(this IConfiguration configuration) =>
        configuration.GetConnectionString("Postgres") is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                "No PostgreSQL connection string: set ConnectionStrings:Postgres (env ConnectionStrings__Postgres).");

    /// <summary>
    /// The schema migrations, which run before the silo starts (hosted services start in
    /// registration order, and the web server starts last).
    /// </summary>
    public static IHostApplicationBuilder AddRootCauseDatabase(this IHostApplicationBuilder builder)
    {
        builder.Configuration.PostgresConnectionString();
        builder.Services.AddHostedService<MigrationService>();
        return builder;
    }

    public static IHostApplicationBuilder AddRootCauseSilo(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.PostgresConnectionString();
        var settings = builder.Configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
        builder.Services.AddOptions<ClusterSettings>().BindConfiguration(ClusterSettings.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = PersistenceRegistration.Invariant;
                o.ConnectionString = connectionString;
            });
            if (settings.AdvertisedAddress is { Length: > 0 } address)
            {
                silo.ConfigureEndpoints(IPAddress.Parse(address), settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: true);
            }
            else
            {
                silo.ConfigureEndpoints(settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: true);
            }
            silo.AddRootCausePersistence(connectionString);
            silo.AddRootCauseStreams(connectionString);
        });
        var search = builder.Configuration.GetSection(SearchOptions.Section).Get<SearchOptions>() ?? new SearchOptions();
        // Each silo needs a directory of its own: Lucene locks it.
        var indexPath = search.IndexPath is { Length: > 0 } path
            ? Path.GetFullPath(path)
            : Path.Combine(Path.GetTempPath(), "rootcause-index", $"{settings.ServiceId}-{settings.ClusterId}-{settings.SiloPort}");
        builder.Services.AddRootCauseSearch(indexPath, o =>
        {
            o.PollIntervalMilliseconds = search.PollIntervalMilliseconds;
            o.BatchSize = search.BatchSize;
            o.CatchUpBatchSize = search.CatchUpBatchSize;
            o.CommitIntervalMilliseconds = search.CommitIntervalMilliseconds;
            o.CatchUpRefreshIntervalMilliseconds = search.CatchUpRefreshIntervalMilliseconds;
            o.LiveRefreshIntervalMilliseconds = search.LiveRefreshIntervalMilliseconds;
            o.MemoryMapped = search.MemoryMapped;
        });
        builder.Services.AddSingleton(builder.Configuration.GetSection(ChangeRetentionOptions.Section).Get<ChangeRetentionOptions>() ?? new ChangeRetentionOptions());
        builder.Services.AddSingleton(sp => new ChangeRetention(sp.GetRequiredService<NpgsqlDataSource>()));
        builder.Services.AddHostedService<ChangeRetentionService>();
        builder.Services.AddRootCauseLinking(builder.Configuration.GetSection(LinkerOptions.Section).Get<LinkerOptions>() ?? new LinkerOptions());
        builder.Services.AddRootCauseConnectors();
        return builder;
    }

    private sealed class MigrationService(IConfiguration configuration, ILogger<MigrationService> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var connectionString = configuration.PostgresConnectionString();
            await DatabaseMigrator.EnsureDatabaseExistsAsync(connectionString, cancellationToken);
            var applied = await DatabaseMigrator.MigrateAsync(connectionString, logger, cancellationToken);
            logger.LogInformation("Database schema is current ({Applied} migrations applied now)", applied);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
