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

    /// <summary>
    /// What an investigation is about: the component and service it names, or, when it names
    /// neither, the first of its tags that is exactly a catalog component's name or alias (the
    /// component) or a catalog service's name (the service). <see cref="Affected.Tag"/> says which
    /// tag stood in; null when the investigation named them itself.
    /// </summary>
    public static Affected AffectedOf(Investigation investigation, ServiceCatalog catalog)
    {
        var component = string.IsNullOrWhiteSpace(investigation.ComponentAffected) ? null : investigation.ComponentAffected;
        var service = string.IsNullOrWhiteSpace(investigation.ServiceAffected) ? null : investigation.ServiceAffected;
        if (component is not null || service is not null)
        {
            return new Affected(component, service, null);
        }
        foreach (var tag in investigation.Tags)
        {
            var name = tag.Trim();
            if (catalog.Resolve(name) is { } named)
            {
                return new Affected(named.Name, null, tag);
            }
            if (catalog.OfService(name).Count > 0)
            {
                return new Affected(null, name, tag);
            }
        }
        return new Affected(null, null, null);
    }

    /// <summary>Canonical component names and service names (lower-case), as <see cref="EventFacts"/> reports them.</summary>
    public static IReadOnlySet<string> For(Investigation investigation, ServiceCatalog catalog)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var component in Neighbourhood(investigation, catalog))
        {
            names.Add(component.Name);
        }
        var affected = AffectedOf(investigation, catalog);
        if (affected.Component is { Length: > 0 } raw && catalog.Resolve(raw) is null)
        {
            names.Add(raw.Trim().ToLowerInvariant());
        }
        if (affected.Service is { Length: > 0 } service)
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
            AddComponentKeys(keys, component);
        }
        foreach (var name in For(investigation, catalog))
        {
            keys.Add("c:" + name);
        }
        // Changes to shared infrastructure can explain any incident that names a component or service.
        if (AffectedOf(investigation, catalog) is { Component: not null } or { Service: not null })
        {
            foreach (var shared in catalog.Shared)
            {
                AddComponentKeys(keys, shared);
            }
        }
        return [.. keys];
    }

    private static void AddComponentKeys(HashSet<string> keys, Component component)
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

    private static IEnumerable<Component> Neighbourhood(Investigation investigation, ServiceCatalog catalog)
    {
        var named = AffectedOf(investigation, catalog);
        var affected = catalog.Resolve(named.Component);
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
        if (named.Service is { Length: > 0 } service && affected is null)
        {
            // Only a service named: the scorer looks from each of its components, so the lookup does too.
            foreach (var component in catalog.OfService(service))
            {
                yield return component;
                foreach (var (name, _, _) in catalog.Neighbourhood(component.Name, Hops))
                {
                    if (catalog.Resolve(name) is { } neighbour)
                    {
                        yield return neighbour;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The forms a workload name can take in the catalog, most specific first: as given, without a
    /// port (<c>host:9100</c>), then without each generated suffix in turn — a Kubernetes pod and
    /// replica-set hash (<c>name-6d9f7c-x2k4p</c>, <c>name-f3356</c>), a stateful-set ordinal
    /// (<c>name-0</c>) — and without a volume claim's <c>data-</c> prefix. IP addresses give nothing.
    /// </summary>
    public static IEnumerable<string> WorkloadVariants(string name)
    {
        var candidate = name.Trim().ToLowerInvariant();
        var colon = candidate.LastIndexOf(':');
        if (colon > 0 && candidate[(colon + 1)..].All(char.IsAsciiDigit))
        {
            candidate = candidate[..colon];
        }
        if (candidate.Length == 0 || System.Net.IPAddress.TryParse(candidate, out _))
        {
            yield break;
        }
        for (var attempt = 0; attempt < 4; attempt++)
        {
            yield return candidate;
            if (candidate.StartsWith("data-", StringComparison.Ordinal) && candidate.Length > 5)
            {
                candidate = candidate[5..];
                continue;
            }
            var dash = candidate.LastIndexOf('-');
            if (dash <= 0)
            {
                yield break;
            }
            var suffix = candidate[(dash + 1)..];
            var generated = suffix.All(char.IsAsciiDigit)
                || (suffix.Length is >= 4 and <= 10 && suffix.All(char.IsAsciiLetterOrDigit) && suffix.Any(char.IsAsciiDigit));
            if (!generated)
            {
                yield break;
            }
            candidate = candidate[..dash];
        }
    }
}

/// <summary>
/// The component and service an investigation is about (either may be null), and the tag that stood
/// in for them when the investigation named neither.
/// </summary>
public readonly record struct Affected(string? Component, string? Service, string? Tag);
