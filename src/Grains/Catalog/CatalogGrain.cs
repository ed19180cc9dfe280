using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using RootCause.Common;

namespace RootCause.Catalog;

/// <summary>The stored catalog.</summary>
public sealed class CatalogState
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; }
    public long Version { get; set; }
    public List<Component> Components { get; set; } = [];
    public DateTimeOffset? UpdatedAt { get; set; }

    public CatalogSnapshot ToSnapshot() => new() { Version = Version, Components = [.. Components], UpdatedAt = UpdatedAt };
}

/// <summary>
/// The service catalog (key 0). Each change is checked against the whole resulting catalog and
/// persisted before the call returns.
/// </summary>
[GrainType("catalog")]
public sealed partial class CatalogGrain(
    [PersistentState("catalog", StorageNames.Default)] IPersistentState<CatalogState> store,
    TimeProvider time,
    ILogger<CatalogGrain> logger) : Grain, ICatalogGrain
{
    public const int MaxComponents = 5000;
    public const int MaxListItems = 100;

    public Task<CatalogSnapshot> GetAsync() => Task.FromResult(store.State.ToSnapshot());

    public Task<CatalogSnapshot> UpsertAsync(Component component, long? expectedVersion = null)
    {
        var errors = new ValidationErrors();
        var valid = Normalize(errors, "", component);
        errors.ThrowIfAny();
        return ChangeAsync(expectedVersion, components =>
        {
            var index = components.FindIndex(c => c.Name == valid.Name);
            if (index >= 0)
            {
                components[index] = valid;
            }
            else
            {
                components.Add(valid);
            }
        }, $"component {valid.Name} saved");
    }

    public Task<CatalogSnapshot> RemoveAsync(string name, long? expectedVersion = null)
    {
        var key = (name ?? "").Trim().ToLowerInvariant();
        if (store.State.Components.All(c => c.Name != key))
        {
            throw new NotFoundException("component", key);
        }
        var dependents = store.State.Components.Where(c => c.DependsOn.Contains(key)).Select(c => c.Name).ToList();
        if (dependents.Count > 0)
        {
            throw new StateConflictException("depends_on", $"{string.Join(", ", dependents)} still depend on {key}; change them first.");
        }
        return ChangeAsync(expectedVersion, components => components.RemoveAll(c => c.Name == key), $"component {key} removed");
    }

    public Task<CatalogSnapshot> ImportAsync(IReadOnlyList<Component> components, bool replace, long? expectedVersion = null)
    {
        var errors = new ValidationErrors();
        var valid = new List<Component>();
        for (var i = 0; i < (components?.Count ?? 0); i++)
        {
            valid.Add(Normalize(errors, $"components[{i}].", components![i]));
        }
        foreach (var duplicate in valid.GroupBy(c => c.Name).Where(g => g.Count() > 1))
        {
            errors.Add("components", $"{duplicate.Key} appears {duplicate.Count()} times.");
        }
        errors.ThrowIfAny();
        return ChangeAsync(expectedVersion, current =>
        {
            if (replace)
            {
                current.Clear();
            }
            foreach (var component in valid)
            {
                current.RemoveAll(c => c.Name == component.Name);
                current.Add(component);
            }
        }, $"{valid.Count} components imported{(replace ? " (replacing the catalog)" : "")}");
    }

    private async Task<CatalogSnapshot> ChangeAsync(long? expectedVersion, Action<List<Component>> change, string what)
    {
        var state = store.State;
        if (expectedVersion is { } expected && expected != state.Version)
        {
            throw new VersionConflictException(expected, state.Version);
        }
        var next = new List<Component>(state.Components);
        change(next);
        CheckWhole(next);
        next.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        if (System.Text.Json.JsonSerializer.Serialize(next, RootCauseJson.Options) == System.Text.Json.JsonSerializer.Serialize(state.Components, RootCauseJson.Options))
        {
            // Nothing changes: no new version, nothing written (a repeated PUT or import is a no-op).
            return state.ToSnapshot();
        }
        store.State = new CatalogState
        {
            SchemaVersion = CatalogState.CurrentSchemaVersion,
            Version = state.Version + 1,
            Components = next,
            UpdatedAt = time.GetUtcNow(),
        };
        try
        {
            await store.WriteStateAsync();
        }
        catch
        {
            store.State = state;
            throw;
        }
        logger.LogInformation("Service catalog version {Version}: {Change}", store.State.Version, what);
        return store.State.ToSnapshot();
    }

    /// <summary>Rules that concern the catalog as a whole: size, unique names and aliases, known dependencies.</summary>
    private static void CheckWhole(List<Component> components)
    {
        var errors = new ValidationErrors();
        if (components.Count > MaxComponents)
        {
            errors.Add("components", $"The catalog may hold at most {MaxComponents} components.");
        }
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var component in components)
        {
            foreach (var key in component.Aliases.Prepend(component.Name))
            {
                if (owners.TryGetValue(key, out var other) && other != component.Name)
                {
                    errors.Add(key == component.Name ? "name" : "aliases", $"'{key}' already names {other}.");
                }
                owners[key] = component.Name;
            }
        }
        var names = components.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var component in components)
        {
            foreach (var dependency in component.DependsOn.Where(d => !names.Contains(d)))
            {
                errors.Add("depends_on", $"{component.Name} depends on {dependency}, which is not in the catalog.");
            }
        }
        errors.ThrowIfAny();
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")]
    private static partial Regex RepositoryPattern();

    /// <summary>Trims and lower-cases names, checks each field and names the field in every error.</summary>
    internal static Component Normalize(ValidationErrors errors, string prefix, Component component)
    {
        var name = Slug(errors, prefix + "name", component.Name, required: true)!;
        var aliases = Slugs(errors, prefix + "aliases", component.Aliases);
        var dependsOn = Slugs(errors, prefix + "depends_on", component.DependsOn);
        if (dependsOn.Contains(name))
        {
            errors.Add(prefix + "depends_on", $"{name} cannot depend on itself.");
        }
        if (aliases.Contains(name))
        {
            aliases.Remove(name);
        }
        var repositories = Texts(errors, prefix + "repositories", component.Repositories, 200);
        foreach (var repository in repositories.Where(r => !RepositoryPattern().IsMatch(r)))
        {
            errors.Add(prefix + "repositories", $"'{repository}' is not a repository path like owner/name.");
        }
        var given = Texts(errors, prefix + "path_prefixes", component.PathPrefixes, 300);
        var paths = given.Select(p => (p.StartsWith("./", StringComparison.Ordinal) ? p[2..] : p).TrimStart('/')).ToList();
        if (paths.Any(p => p.Length == 0 || p.Split('/').Contains("..")))
        {
            errors.Add(prefix + "path_prefixes", "Path prefixes are relative paths inside the repository, without '..'.");
        }
        return new Component
        {
            Name = name,
            Description = errors.Optional(prefix + "description", component.Description, 2000),
            Service = errors.Optional(prefix + "service", component.Service, 100)?.ToLowerInvariant(),
            Aliases = aliases,
            Repositories = repositories,
            PathPrefixes = paths,
            Pipelines = Texts(errors, prefix + "pipelines", component.Pipelines, 200),
            DependsOn = dependsOn,
            Owner = errors.Optional(prefix + "owner", component.Owner, 100),
            Tags = errors.Tags(prefix + "tags", component.Tags),
            Shared = component.Shared,
        };
    }

    private static string? Slug(ValidationErrors errors, string field, string? value, bool required)
    {
        var text = required ? errors.Required(field, value, 100) : errors.Optional(field, value, 100);
        if (text is null)
        {
            return required ? "" : null;
        }
        var slug = text.ToLowerInvariant();
        if (!NamePattern().IsMatch(slug))
        {
            errors.Add(field, $"{field} must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (got '{(slug.Length > 40 ? slug[..40] + "…" : slug)}').");
        }
        return slug;
    }

    private static List<string> Slugs(ValidationErrors errors, string field, IReadOnlyList<string>? values)
    {
        if ((values?.Count ?? 0) > MaxListItems)
        {
            errors.Add(field, $"{field} may hold at most {MaxListItems} entries.");
            return [];
        }
        return [.. (values ?? []).Select((v, i) => Slug(errors, $"{field}[{i}]", v, required: true)!).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal)];
    }

    private static List<string> Texts(ValidationErrors errors, string field, IReadOnlyList<string>? values, int maxLength)
    {
        if ((values?.Count ?? 0) > MaxListItems)
        {
            errors.Add(field, $"{field} may hold at most {MaxListItems} entries.");
            return [];
        }
        return [.. (values ?? []).Select((v, i) => errors.Required($"{field}[{i}]", v, maxLength)).OfType<string>().Distinct(StringComparer.Ordinal)];
    }
}
