using System.IO.Compression;
using System.Text;
using System.Text.Json;
using RootCause.Common;

namespace RootCause.Evaluation.Corpus;

/// <summary>
/// The corpus on disk: <c>catalog.json</c>, the hand-written <c>specs/*.json</c>, and the expanded
/// <c>scenarios/*.json.gz</c> the generator wrote from them (gzip, because a few hundred events of
/// realistic payloads per scenario add up to megabytes of JSON).
/// </summary>
public sealed class CorpusFiles(string root)
{
    public static readonly JsonSerializerOptions Json = new(RootCauseJson.Options) { WriteIndented = true };

    public string Root { get; } = Path.GetFullPath(root);

    public string CatalogPath => Path.Combine(Root, "catalog.json");

    public string SpecsDirectory => Path.Combine(Root, "specs");

    public string ScenariosDirectory => Path.Combine(Root, "scenarios");

    /// <summary>Finds corpus/linking by walking up from <paramref name="start"/> (the working directory or the binaries).</summary>
    public static CorpusFiles Locate(string? start = null)
    {
        foreach (var origin in new[] { start, Directory.GetCurrentDirectory(), AppContext.BaseDirectory }.OfType<string>())
        {
            for (var dir = new DirectoryInfo(origin); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "corpus", "linking");
                if (File.Exists(Path.Combine(candidate, "catalog.json")))
                {
                    return new CorpusFiles(candidate);
                }
            }
        }
        throw new InvalidOperationException("corpus/linking/catalog.json was not found above the working directory; pass --corpus.");
    }

    public CorpusCatalog ReadCatalog() => CorpusCatalog.Parse(File.ReadAllText(CatalogPath));

    /// <summary>The specs in file-name order, which is the scenarios' order in every run.</summary>
    public IReadOnlyList<ScenarioSpec> ReadSpecs() =>
        [.. Directory.GetFiles(SpecsDirectory, "*.json").Order(StringComparer.Ordinal).Select(path =>
        {
            try
            {
                var spec = JsonSerializer.Deserialize<ScenarioSpec>(File.ReadAllText(path), Json) ?? throw new InvalidOperationException("empty");
                return Path.GetFileNameWithoutExtension(path) == spec.Id ? spec
                    : throw new InvalidOperationException($"its id is '{spec.Id}'; the file must be named after it");
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                throw new InvalidOperationException($"{path}: {e.Message}", e);
            }
        })];

    public string ScenarioPath(string id) => Path.Combine(ScenariosDirectory, id + ".json.gz");

    /// <summary>The text the generator's output is stored as (and compared by).</summary>
    public static string Serialize(CorpusScenario scenario) => JsonSerializer.Serialize(scenario, Json) + "\n";

    public static CorpusScenario Deserialize(string json) =>
        JsonSerializer.Deserialize<CorpusScenario>(json, Json) ?? throw new InvalidOperationException("An empty scenario file.");

    public string ReadScenarioText(string id)
    {
        using var file = File.OpenRead(ScenarioPath(id));
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Every expanded scenario, in spec order.</summary>
    public IReadOnlyList<CorpusScenario> ReadScenarios() =>
        [.. ReadSpecs().Select(spec => Deserialize(ReadScenarioText(spec.Id)))];

    /// <summary>Expands every spec and writes it; removes expanded files whose spec is gone.</summary>
    public IReadOnlyList<CorpusScenario> Generate()
    {
        var catalog = ReadCatalog();
        var scenarios = ReadSpecs().Select(spec => ScenarioGenerator.Expand(spec, catalog)).ToList();
        Directory.CreateDirectory(ScenariosDirectory);
        var keep = scenarios.Select(s => ScenarioPath(s.Id)).ToHashSet(StringComparer.Ordinal);
        foreach (var stale in Directory.GetFiles(ScenariosDirectory, "*.json.gz").Where(p => !keep.Contains(p)))
        {
            File.Delete(stale);
        }
        foreach (var scenario in scenarios)
        {
            using var file = File.Create(ScenarioPath(scenario.Id));
            using var gzip = new GZipStream(file, CompressionLevel.SmallestSize);
            gzip.Write(Encoding.UTF8.GetBytes(Serialize(scenario)));
        }
        return scenarios;
    }
}
