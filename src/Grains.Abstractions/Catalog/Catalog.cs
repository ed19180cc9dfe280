namespace RootCause.Catalog;

/// <summary>
/// One component of the service catalog: what it is called (its name and aliases), which service it
/// belongs to, where its code lives (repositories and path prefixes), which CI pipelines build it,
/// and what it depends on. The linker uses all of it to decide whether an event concerns an incident.
/// </summary>
[GenerateSerializer, Immutable, Alias("rc.Component")]
public sealed record Component
{
    /// <summary>The canonical name, lower-case (e.g. "checkout-api").</summary>
    [Id(0)] public string Name { get; init; } = "";
    [Id(1)] public string? Description { get; init; }
    /// <summary>The service (product area) it belongs to, e.g. "checkout".</summary>
    [Id(2)] public string? Service { get; init; }
    /// <summary>Other names events and people use for it: host or deployment names, old names.</summary>
    [Id(3)] public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>Repositories holding its code, as "owner/name".</summary>
    [Id(4)] public IReadOnlyList<string> Repositories { get; init; } = [];
    /// <summary>Path prefixes inside those repositories that belong to it ("services/checkout/").</summary>
    [Id(5)] public IReadOnlyList<string> PathPrefixes { get; init; } = [];
    /// <summary>CI workflow or pipeline names that build it.</summary>
    [Id(6)] public IReadOnlyList<string> Pipelines { get; init; } = [];
    /// <summary>Components it calls (its dependencies); the reverse edges (its dependents) are derived.</summary>
    [Id(7)] public IReadOnlyList<string> DependsOn { get; init; } = [];
    [Id(8)] public string? Owner { get; init; }
    [Id(9)] public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>
    /// Shared infrastructure every component relies on without listing it (cluster DNS, the ingress
    /// controller, certificate issuance): a change to it is weighed as a change to a direct
    /// dependency of whatever component an incident is about.
    /// </summary>
    [Id(10)] public bool Shared { get; init; }
}

/// <summary>The whole catalog at one version.</summary>
[GenerateSerializer, Immutable, Alias("rc.CatalogSnapshot")]
public sealed record CatalogSnapshot
{
    [Id(0)] public long Version { get; init; }
    [Id(1)] public IReadOnlyList<Component> Components { get; init; } = [];
    [Id(2)] public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>
/// The service catalog, one grain for the cluster (key 0): components are few (hundreds, a few
/// thousand) and read far more often than written. Every change is validated against the whole
/// catalog (unique names and aliases, known dependencies) and bumps the version.
/// </summary>
[Alias("rc.ICatalogGrain")]
public interface ICatalogGrain : IGrainWithIntegerKey
{
    Task<CatalogSnapshot> GetAsync();

    /// <summary>Creates or replaces one component; <paramref name="expectedVersion"/> (catalog version) is optional.</summary>
    Task<CatalogSnapshot> UpsertAsync(Component component, long? expectedVersion = null);

    /// <summary>Removes a component; fails while others depend on it.</summary>
    Task<CatalogSnapshot> RemoveAsync(string name, long? expectedVersion = null);

    /// <summary>
    /// Loads many components at once: with <paramref name="replace"/> the catalog becomes exactly
    /// these; otherwise they are upserted. All or nothing.
    /// </summary>
    Task<CatalogSnapshot> ImportAsync(IReadOnlyList<Component> components, bool replace, long? expectedVersion = null);
}
