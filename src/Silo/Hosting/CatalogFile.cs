using System.Text.Json;
using RootCause.Api.Catalog;
using RootCause.Catalog;
using RootCause.Common;

namespace RootCause.Silo.Hosting;

/// <summary>
/// <c>Catalog:File</c>: a JSON file <c>{"components": [...]}</c> (the body of POST /api/catalog/import)
/// loaded into the service catalog when the silo starts, merged with what is there, or replacing it
/// with <c>Catalog:Replace=true</c>. A file that cannot be read or fails validation stops the start-up
/// with a message naming the problem: a silo should not run on a catalog other than the one configured.
/// </summary>
public static class CatalogFile
{
    public static IHostApplicationBuilder AddCatalogFile(this IHostApplicationBuilder builder)
    {
        if (builder.Configuration["Catalog:File"] is { Length: > 0 } path)
        {
            var replace = builder.Configuration.GetValue<bool>("Catalog:Replace");
            builder.Services.AddHostedService(sp => new Loader(path, replace, sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<ILogger<Loader>>()));
        }
        return builder;
    }

    public static async Task<CatalogSnapshot> LoadAsync(string path, bool replace, IGrainFactory grains, CancellationToken ct)
    {
        CatalogImport? file;
        try
        {
            await using var stream = File.OpenRead(path);
            file = await JsonSerializer.DeserializeAsync<CatalogImport>(stream, RootCauseJson.Options, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new InvalidOperationException($"The catalog file {path} cannot be read: {e.Message}", e);
        }
        if (file?.Components is null)
        {
            throw new InvalidOperationException($"The catalog file {path} has no \"components\" list.");
        }
        try
        {
            return await grains.GetGrain<ICatalogGrain>(0).ImportAsync(file.Components, replace);
        }
        catch (ValidationFailedException e)
        {
            var problems = string.Join("; ", e.Errors.SelectMany(kv => kv.Value.Select(m => $"{kv.Key}: {m}")));
            throw new InvalidOperationException($"The catalog file {path} is not valid: {problems}", e);
        }
    }

    private sealed class Loader(string path, bool replace, IGrainFactory grains, ILogger<Loader> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var snapshot = await LoadAsync(path, replace, grains, cancellationToken);
            logger.LogInformation("Service catalog loaded from {Path}: version {Version}, {Count} components", path, snapshot.Version, snapshot.Components.Count);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
