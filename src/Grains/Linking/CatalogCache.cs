using RootCause.Catalog;

namespace RootCause.Linking;

/// <summary>
/// This silo's current <see cref="ServiceCatalog"/>, shared by the grains that read it per call: the
/// snapshot is fetched from the catalog grain at most once a second, and the lookups are built again
/// only when its version moved.
/// </summary>
public sealed class CatalogCache(IGrainFactory grains, TimeProvider time)
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private ServiceCatalog? _catalog;
    private DateTimeOffset _readAt;

    public async Task<ServiceCatalog> GetAsync()
    {
        var current = Volatile.Read(ref _catalog);
        if (current is not null && time.GetUtcNow() - _readAt <= Refresh)
        {
            return current;
        }
        await _gate.WaitAsync();
        try
        {
            if (_catalog is null || time.GetUtcNow() - _readAt > Refresh)
            {
                var snapshot = await grains.GetGrain<ICatalogGrain>(0).GetAsync();
                if (_catalog?.Version != snapshot.Version)
                {
                    Volatile.Write(ref _catalog, new ServiceCatalog(snapshot));
                }
                _readAt = time.GetUtcNow();
            }
            return _catalog!;
        }
        finally
        {
            _gate.Release();
        }
    }
}
