using RootCause.Catalog;
using RootCause.Investigations;

namespace RootCause.Linking;

/// <summary>
/// What an investigation can be found by when looking for candidates: the same neighbourhood the
/// scorer's component strategy rewards (the affected component and everything within
/// <see cref="Hops"/> dependency hops either way, and the affected service), so no pair the scorer
/// would link is left out of the lookup.
/// </summary>
public static class LinkNames
{
    /// <summary>The dependency distance the component strategy still gives a score for.</summary>
    public const int Hops = 3;

    /// <summary>Canonical component names and service names (lower-case), as <see cref="EventFacts"/> reports them.</summary>
    public static IReadOnlySet<string> For(Investigation investigation, ServiceCatalog catalog)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var component in Neighbourhood(investigation, catalog))
        {
            names.Add(component.Name);
        }
        if (investigation.ComponentAffected is { Length: > 0 } raw && catalog.Resolve(raw) is null)
        {
            names.Add(raw.Trim().ToLowerInvariant());
        }
        if (investigation.ServiceAffected is { Length: > 0 } service)
        {
            names.Add(service.Trim().ToLowerInvariant());
        }
        return names;
    }

    /// <summary>
    /// The <c>link_keys</c> values of the search index an event of this neighbourhood can carry:
    /// names and aliases (<c>c:</c>), their services, repositories (<c>r:</c>) and pipelines (<c>p:</c>).
    /// </summary>
    public static IReadOnlyList<string> IndexKeys(Investigation investigation, ServiceCatalog catalog)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var component in Neighbourhood(investigation, catalog))
        {
            keys.Add("c:" + component.Name);
            foreach (var alias in component.Aliases)
            {
                keys.Add("c:" + alias.Trim().ToLowerInvariant());
            }
            if (component.Service is { Length: > 0 } service)
            {
                keys.Add("c:" + service.Trim().ToLowerInvariant());
            }
            foreach (var repository in component.Repositories)
            {
                keys.Add("r:" + repository.Trim().ToLowerInvariant());
            }
            foreach (var pipeline in component.Pipelines)
            {
                keys.Add("p:" + pipeline.Trim().ToLowerInvariant());
            }
        }
        foreach (var name in For(investigation, catalog))
        {
            keys.Add("c:" + name);
        }
        return [.. keys];
    }

    private static IEnumerable<Component> Neighbourhood(Investigation investigation, ServiceCatalog catalog)
    {
        var affected = catalog.Resolve(investigation.ComponentAffected);
        if (affected is not null)
        {
            yield return affected;
            foreach (var (name, _, _) in catalog.Neighbourhood(affected.Name, Hops))
            {
                if (catalog.Resolve(name) is { } neighbour)
                {
                    yield return neighbour;
                }
            }
        }
        if (investigation.ServiceAffected is { Length: > 0 } service)
        {
            foreach (var component in catalog.Components.Where(c => string.Equals(c.Service, service.Trim(), StringComparison.OrdinalIgnoreCase)))
            {
                yield return component;
            }
        }
    }
}
