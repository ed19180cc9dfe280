using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Storage;
using Orleans.TestingHost;
using RootCause.Common;
using RootCause.Database;
using RootCause.Events;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Database;

/// <summary>
/// An event's first write goes through <see cref="EventStateWriter"/>, not the grain storage: in a
/// real silo, the row it stores is the row the grain storage would have stored for the same key,
/// hash columns included, and the grain storage reads and updates it as its own.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class EventFirstWriteTests(ClusterFixture fixture)
{
    private static GrainId EventGrainId(Guid id) => GrainId.Create(GrainType.Create("event"), GrainIdKeyExtensions.CreateGuidKey(id));

    private async Task<(int TypeHash, int IdHash, int Version, int Changes)> RowAsync(NpgsqlDataSource db, Guid id)
    {
        var (n0, n1) = GuidKeys.Split(id);
        await using var command = db.CreateCommand(
            """
            SELECT s.grain_type_hash, s.grain_id_hash, s.version,
                   (SELECT count(*)::int FROM grain_changes c
                    WHERE c.grain_type = 'event' AND c.grain_id_n0 = s.grain_id_n0 AND c.grain_id_n1 = s.grain_id_n1 AND c.grain_id_hash = s.grain_id_hash)
            FROM orleans_storage s
            WHERE s.grain_type = 'event' AND s.grain_id_n0 = @n0 AND s.grain_id_n1 = @n1 AND s.grain_id_extension IS NULL
            """);
        command.Parameters.AddWithValue("n0", n0);
        command.Parameters.AddWithValue("n1", n1);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"event {id} has a row");
        return (reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3));
    }

    private static async Task ForgetAsync(NpgsqlDataSource db, Guid id)
    {
        var (n0, n1) = GuidKeys.Split(id);
        await using var command = db.CreateCommand(
            """
            WITH gone AS (DELETE FROM orleans_storage WHERE grain_type = 'event' AND grain_id_n0 = @n0 AND grain_id_n1 = @n1 RETURNING 1)
            DELETE FROM grain_changes WHERE grain_type = 'event' AND grain_id_n0 = @n0 AND grain_id_n1 = @n1
            """);
        command.Parameters.AddWithValue("n0", n0);
        command.Parameters.AddWithValue("n1", n1);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task TheWriterStoresTheRowTheGrainStorageWouldAndTheGrainStorageTakesItOver()
    {
        var services = ((InProcessSiloHandle)fixture.Cluster.Silos[0]).SiloHost.Services;
        var storage = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
        var writer = services.GetRequiredService<EventStateWriter>();
        await using var db = NpgsqlDataSource.Create(fixture.ConnectionString);
        var ids = Enumerable.Range(0, 16).Select(_ => Guid.NewGuid()).ToList();
        var draft = new EventDraft { Source = EventSource.Logs, SourceId = "first-write", EventType = "error_spike", Timestamp = DateTimeOffset.UtcNow };
        var valid = EventRules.Validate(draft, DateTimeOffset.UtcNow);
        var keyHashes = new HashSet<int>();

        foreach (var id in ids)
        {
            // The grain storage's first write of the key, then the same key written afresh by the writer.
            var state = new GrainState<EventState>(EventState.Ingested(draft, valid, DateTimeOffset.UtcNow));
            await storage.WriteStateAsync(EventGrain.StateName, EventGrainId(id), state);
            var byStorage = await RowAsync(db, id);
            keyHashes.Add(byStorage.IdHash);
            await ForgetAsync(db, id);

            var again = new GrainState<EventState>(EventState.Ingested(draft, valid, DateTimeOffset.UtcNow));
            var etag = await writer.InsertAsync(EventGrainId(id), again, RootCause.Common.JsonGrainStorageSerializer.ToBytes(again.State!));
            Assert.Equal(byStorage, await RowAsync(db, id));
            Assert.Equal((1, 1), (byStorage.Version, byStorage.Changes));
            Assert.Equal("1", etag);

            // The grain storage reads the row as its own and updates it with the ETag the writer gave.
            var read = new GrainState<EventState>(new EventState());
            await storage.ReadStateAsync(EventGrain.StateName, EventGrainId(id), read);
            Assert.Equal((etag, true, again.State!.Id), (read.ETag, read.RecordExists, read.State!.Id));
            await storage.WriteStateAsync(EventGrain.StateName, EventGrainId(id), read);
            Assert.Equal("2", read.ETag);
        }
        // The key hash depends on the key, so sixteen agreements are not one constant agreeing with itself.
        Assert.True(keyHashes.Count > 1);
    }
}
