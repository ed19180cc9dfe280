using System.Text.Json;
using RootCause.Catalog;
using RootCause.Common;

namespace RootCause.Evaluation.Corpus;

/// <summary>
/// The organisation's catalog (<c>corpus/linking/catalog.json</c>, the body of POST /api/catalog/import):
/// the generator draws repositories, paths, pipelines and names from it, the scorer mode scores against it,
/// and the pipeline mode imports it.
/// </summary>
public sealed class CorpusCatalog
{
    private CorpusCatalog(string json, IReadOnlyList<Component> components)
    {
        Json = json;
        Components = components;
        Catalog = new ServiceCatalog(new CatalogSnapshot { Version = 1, Components = components });
    }

    /// <summary>The file's text, posted as it is to /api/catalog/import.</summary>
    public string Json { get; }

    public IReadOnlyList<Component> Components { get; }

    public ServiceCatalog Catalog { get; }

    public Component this[string name] => Catalog.Resolve(name)
        ?? throw new InvalidOperationException($"The corpus names component '{name}', which is not in catalog.json.");

    public static CorpusCatalog Parse(string json)
    {
        var file = JsonSerializer.Deserialize<CatalogFileShape>(json, RootCauseJson.Options)
            ?? throw new InvalidOperationException("catalog.json is empty.");
        return new CorpusCatalog(json, file.Components ?? throw new InvalidOperationException("catalog.json has no \"components\" list."));
    }

    /// <summary>The language or technology a component is built with, from its catalog tags.</summary>
    public static string Stack(Component component) => component.Tags.FirstOrDefault() ?? "go";

    /// <summary>Components that run as processes and so log, emit spans and get deployed.</summary>
    public static bool IsApplication(Component component) =>
        Stack(component) is "go" or "dotnet" or "java" or "kotlin" or "python" or "typescript";

    private sealed record CatalogFileShape(IReadOnlyList<Component>? Components);
}
