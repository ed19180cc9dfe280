using RootCause.Common;

namespace RootCause.Connectors;

public sealed class ConnectorDirectoryState
{
    public SortedSet<string> Names { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The names of the configured connectors (key 0): grains cannot be enumerated, so the list lives here.</summary>
[GrainType("connector-directory")]
public sealed class ConnectorDirectoryGrain(
    [PersistentState("connector-directory", StorageNames.Default)] IPersistentState<ConnectorDirectoryState> store)
    : Grain, IConnectorDirectoryGrain
{
    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. store.State.Names]);

    public async Task AddAsync(string name)
    {
        if (store.State.Names.Add(name))
        {
            await store.WriteStateAsync();
        }
    }

    public async Task RemoveAsync(string name)
    {
        if (store.State.Names.Remove(name))
        {
            await store.WriteStateAsync();
        }
    }
}
