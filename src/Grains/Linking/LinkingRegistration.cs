using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace RootCause.Linking;

public static class LinkingRegistration
{
    /// <summary>
    /// The linker's silo services: the investigation registry (a hosted service tailing the change
    /// sequence) and the metrics. Needs the search registration (<c>AddRootCauseSearch</c>: the change
    /// feed, the index source and the index) and the <c>events</c> stream provider.
    /// </summary>
    public static IServiceCollection AddRootCauseLinking(this IServiceCollection services, LinkerOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<LinkerMetrics>();
        services.AddSingleton<CatalogCache>();
        services.AddSingleton<SharedSnapshot>();
        services.AddSingleton<InvestigationRegistry>();
        services.AddSingleton<RetroLinkSlots>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<InvestigationRegistry>());
        return services;
    }
}
