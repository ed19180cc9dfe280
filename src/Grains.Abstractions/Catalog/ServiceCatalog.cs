using System.Collections.Concurrent;

namespace RootCause.Catalog;

/// <summary>
/// Lookups over one catalog snapshot: a name or alias to its component, a repository path or a
/// pipeline to the components it belongs to, and the dependency distance between two components.
/// Immutable; build one per snapshot version and share it.
/// </summary>
public sealed class ServiceCatalog
{
    private readonly Dictionary<string, Component> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Component> _byPipeline = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<Component>> _byRepository = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<string>> _dependents = new(StringComparer.OrdinalIgnoreCase);

    public ServiceCatalog(CatalogSnapshot snapshot)
    {
        Version = snapshot.Version;
        Components = snapshot.Components;
        Shared = [.. snapshot.Components.Where(c => c.Shared)];
        foreach (var component in snapshot.Components)
        {
            _byName[component.Name] = component;
            foreach (var alias in component.Aliases)
            {
                _byName.TryAdd(alias, component);
            }
            foreach (var pipeline in component.Pipelines)
            {
                _byPipeline.TryAdd(pipeline, component);
            }
            foreach (var repository in component.Repositories)
            {
                if (!_byRepository.TryGetValue(repository, out var list))
                {
                    _byRepository[repository] = list = [];
                }
                list.Add(component);
            }
            foreach (var dependency in component.DependsOn)
            {
                if (!_dependents.TryGetValue(dependency, out var list))
                {
                    _dependents[dependency] = list = [];
                }
                list.Add(component.Name);
            }
        }
    }

    public const string Dependency = "dependency";
    public const string Dependent = "dependent";

    public long Version { get; }

    public IReadOnlyList<Component> Components { get; }

    /// <summary>The components marked shared infrastructure (<see cref="Component.Shared"/>).</summary>
    public IReadOnlyList<Component> Shared { get; }

    /// <summary>The component a name or alias stands for (case-insensitive).</summary>
    public Component? Resolve(string? nameOrAlias) =>
        nameOrAlias is { Length: > 0 } key && _byName.TryGetValue(key.Trim(), out var component) ? component : null;

    public Component? ForPipeline(string? pipeline) =>
        pipeline is { Length: > 0 } key && _byPipeline.TryGetValue(key.Trim(), out var component) ? component : null;

    /// <summary>
    /// The components owning a file of a repository: those listing the repository whose path
    /// prefixes match the path (longest prefix wins), or, when none has prefixes, all listing it.
    /// </summary>
    public IReadOnlyList<Component> ForPath(string repository, string path)
    {
        if (!_byRepository.TryGetValue(repository.Trim(), out var candidates))
        {
            return [];
        }
        var normalized = path.TrimStart('/').Replace('\\', '/');
        var matches = candidates
            .Select(c => (Component: c, Length: c.PathPrefixes.Where(p => normalized.StartsWith(p, StringComparison.Ordinal)).Select(p => p.Length).DefaultIfEmpty(-1).Max()))
            .Where(m => m.Length >= 0)
            .ToList();
        if (matches.Count == 0)
        {
            return [.. candidates.Where(c => c.PathPrefixes.Count == 0)];
        }
        var longest = matches.Max(m => m.Length);
        return [.. matches.Where(m => m.Length == longest).Select(m => m.Component)];
    }

    /// <summary>Every component listing the repository, whatever its path prefixes.</summary>
    public IReadOnlyList<Component> ForRepository(string repository) =>
        _byRepository.TryGetValue(repository.Trim(), out var list) ? list : [];

    /// <summary>The components of a service, by its name (case-insensitive); none for an unknown service.</summary>
    public IReadOnlyList<Component> OfService(string? service) =>
        string.IsNullOrWhiteSpace(service)
            ? []
            : [.. Components.Where(c => string.Equals(c.Service, service.Trim(), StringComparison.OrdinalIgnoreCase))];

    /// <summary>Components <paramref name="name"/> depends on directly (calls).</summary>
    public IReadOnlyList<string> Dependencies(string name) => Resolve(name)?.DependsOn ?? [];

    /// <summary>Components that depend on <paramref name="name"/> directly (call it).</summary>
    public IReadOnlyList<string> Dependents(string name) =>
        Resolve(name) is { } c && _dependents.TryGetValue(c.Name, out var list) ? list : [];

    /// <summary>
    /// Every component within <paramref name="maxHops"/> dependency edges of <paramref name="name"/>,
    /// in either direction, with its distance and the direction ("dependency": <paramref name="name"/>
    /// depends on it, possibly through others; "dependent": it depends on <paramref name="name"/>).
    /// Breadth-first, so each distance is the shortest.
    /// </summary>
    public IReadOnlyList<(string Name, int Hops, string Direction)> Neighbourhood(string name, int maxHops)
    {
        var start = Resolve(name);
        if (start is null)
        {
            return [];
        }
        // The scorer asks for the same few neighbourhoods for every candidate pair: each is walked
        // once per catalog version (the catalog never changes) and shared.
        return _neighbourhoods.GetOrAdd((start.Name, maxHops), key => Walk(key.Name, key.MaxHops));
    }

    private readonly ConcurrentDictionary<(string Name, int MaxHops), (string Name, int Hops, string Direction)[]> _neighbourhoods = new();

    private (string Name, int Hops, string Direction)[] Walk(string startName, int maxHops)
    {
        var start = _byName[startName];
        var result = new List<(string, int, string)>();
        foreach (var direction in new[] { Dependency, Dependent })
        {
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { start.Name };
            var frontier = new List<string> { start.Name };
            for (var hop = 1; hop <= maxHops && frontier.Count > 0; hop++)
            {
                var next = new List<string>();
                foreach (var current in frontier)
                {
                    foreach (var neighbour in direction == Dependency ? Dependencies(current) : Dependents(current))
                    {
                        if (seen.Add(neighbour))
                        {
                            next.Add(neighbour);
                            result.Add((neighbour, hop, direction));
                        }
                    }
                }
                frontier = next;
            }
        }
        return [.. result];
    }
}
