using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using RootCause.Database;

namespace RootCause.Search;

public static class SearchRegistration
{
    /// <summary>
    /// The silo's own search index in <paramref name="indexPath"/> and the tailer that keeps it
    /// current. Needs the <see cref="NpgsqlDataSource"/> of the persistence registration.
    /// </summary>
    public static IServiceCollection AddRootCauseSearch(this IServiceCollection services, string indexPath, Action<SearchOptions>? configure = null)
    {
        var options = new SearchOptions { IndexPath = indexPath };
        configure?.Invoke(options);
        services.AddSingleton(options);
        services.AddSingleton(sp => new LuceneSearchIndex(indexPath,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<LuceneSearchIndex>(), sp.GetRequiredService<TimeProvider>(), options.MemoryMapped)
        {
            CommittedHorizon = sp.GetRequiredService<ChangeFeed>().SnapshotXmaxAsync,
        });
        services.AddSingleton<ISearchIndex>(sp => sp.GetRequiredService<LuceneSearchIndex>());
        services.AddSingleton(sp => new ChangeFeed(sp.GetRequiredService<NpgsqlDataSource>()));
        services.AddSingleton(sp => new IndexSource(sp.GetRequiredService<NpgsqlDataSource>(),
            sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId));
        services.AddSingleton<SearchMetrics>();
        services.AddSingleton<RootCause.Live.LiveUpdates>();
        services.AddSingleton<RootCause.Live.ILiveUpdates>(sp => sp.GetRequiredService<RootCause.Live.LiveUpdates>());
        services.AddSingleton<IndexTailer>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<IndexTailer>());
        return services;
    }
}
