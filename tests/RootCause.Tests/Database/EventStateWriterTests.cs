using System.Text;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Storage;
using RootCause.Events;
using RootCause.Tests.Infrastructure;
using RootCause.Database;

namespace RootCause.Tests.Database;

/// <summary>
/// The batched writer of event states on real PostgreSQL: updates that wait together go in one
/// statement, each row keeps the grain storage's version rule and change-sequence row, and a stale
/// version fails only its own write.
/// </summary>
public sealed class EventStateWriterTests
{
    private static readonly IOptions<ClusterOptions> Cluster = Options.Create(new ClusterOptions { ServiceId = StoredStateQueries.ServiceId });

    private static async Task InsertAsync(NpgsqlDataSource db, Guid id, string json)
    {
        var (n0, n1) = GuidKeys.Split(id);
        await using var command = db.CreateCommand(
            """
            INSERT INTO orleans_storage (service_id, grain_type, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1, payload_binary, version)
            VALUES (@service, 'event', 7, 11, @n0, @n1, @payload, 1)
            """);
        command.Parameters.AddWithValue("service", StoredStateQueries.ServiceId);
        command.Parameters.AddWithValue("n0", n0);
        command.Parameters.AddWithValue("n1", n1);
        command.Parameters.AddWithValue("payload", Encoding.UTF8.GetBytes(json));
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The stored payload and version, read with the grain storage's own statement.</summary>
    private static async Task<(string Json, int Version)> ReadAsync(NpgsqlDataSource db, Guid id)
    {
        await using var connection = await db.OpenConnectionAsync();
        var sql = await StoredStateQueries.LoadAsync(connection, "ReadFromStorageKey");
        var (n0, n1) = GuidKeys.Split(id);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("ServiceId", StoredStateQueries.ServiceId);
        command.Parameters.AddWithValue("GrainTypeString", "event");
        command.Parameters.AddWithValue("GrainIdN0", n0);
        command.Parameters.AddWithValue("GrainIdN1", n1);
        command.Parameters.Add(new NpgsqlParameter("GrainIdExtensionString", NpgsqlTypes.NpgsqlDbType.Text) { Value = DBNull.Value });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(0)), reader.GetInt32(1));
    }

    private static async Task<List<(Guid Id, int Version, bool Cleared)>> ChangesAsync(NpgsqlDataSource db)
    {
        await using var command = db.CreateCommand("SELECT grain_id_n0, grain_id_n1, version, cleared, grain_id_hash FROM grain_changes WHERE grain_type = 'event' ORDER BY seq");
        await using var reader = await command.ExecuteReaderAsync();
        var changes = new List<(Guid, int, bool)>();
        while (await reader.ReadAsync())
        {
            Assert.Equal(11, reader.GetInt32(4)); // the row's own key hash, as the grain storage records it
            changes.Add((GuidKeys.Join(reader.GetInt64(0), reader.GetInt64(1)), reader.GetInt32(2), reader.GetBoolean(3)));
        }
        return changes;
    }

    /// <summary>Locks the row of <paramref name="id"/> in a transaction left open on <paramref name="connection"/>.</summary>
    private static async Task<NpgsqlTransaction> HoldRowAsync(NpgsqlConnection connection, Guid id)
    {
        var transaction = await connection.BeginTransactionAsync();
        var (n0, n1) = GuidKeys.Split(id);
        await using var lockRow = new NpgsqlCommand("SELECT 1 FROM orleans_storage WHERE grain_id_n0 = @n0 AND grain_id_n1 = @n1 FOR UPDATE", connection, transaction);
        lockRow.Parameters.AddWithValue("n0", n0);
        lockRow.Parameters.AddWithValue("n1", n1);
        await lockRow.ExecuteScalarAsync();
        return transaction;
    }

    /// <summary>Returns once a session of this database waits for a row lock: the writer's statement has started and is held.</summary>
    private static async Task WaitForALockWaitAsync(NpgsqlDataSource db)
    {
        await using var command = db.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        for (var started = DateTime.UtcNow; (long)(await command.ExecuteScalarAsync())! == 0; await Task.Delay(20))
        {
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), "the writer's statement never waited for the held row");
        }
    }

    [Fact]
    public async Task UpdatesThatWaitTogetherGoInOneStatementAndEachRecordsItsChange()
    {
        await using var db = NpgsqlDataSource.Create(await TestDatabase.CreateAsync("event-writer"));
        var ids = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            await InsertAsync(db, id, """{"n":0}""");
        }
        var writer = new EventStateWriter(db, Cluster);

        // Another transaction holds the first event's row, so the statement carrying it waits, and
        // the other writes queue up behind it meanwhile.
        await using var blocker = await db.OpenConnectionAsync();
        await using var transaction = await HoldRowAsync(blocker, ids[0]);
        var first = writer.UpdateAsync(ids[0], "1", Encoding.UTF8.GetBytes("""{"n":1}"""));
        await WaitForALockWaitAsync(db);
        var rest = ids.Skip(1).Select((id, i) => writer.UpdateAsync(id, "1", Encoding.UTF8.GetBytes($$"""{"n":{{i + 2}}}"""))).ToList();
        await Task.Delay(200);
        Assert.False(first.IsCompleted, "the first write waits for the row lock");
        await transaction.CommitAsync();

        var etags = await Task.WhenAll([first, .. rest]);
        Assert.All(etags, etag => Assert.Equal("2", etag));
        Assert.Equal(2, writer.Statements); // the first alone, the other 19 together
        Assert.Equal(20, writer.Rows);
        Assert.Equal(("""{"n":1}""", 2), await ReadAsync(db, ids[0]));
        Assert.Equal(("""{"n":20}""", 2), await ReadAsync(db, ids[19]));
        var changes = await ChangesAsync(db);
        Assert.Equal(ids.Order(), changes.Select(c => c.Id).Order());
        Assert.All(changes, c => Assert.Equal((2, false), (c.Version, c.Cleared)));
    }

    [Fact]
    public async Task AStaleVersionFailsOnlyItsOwnWriteAndLeavesTheRowAsItWas()
    {
        await using var db = NpgsqlDataSource.Create(await TestDatabase.CreateAsync("event-writer-stale"));
        var (fresh, stale, missing) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await InsertAsync(db, fresh, """{"n":"fresh"}""");
        await InsertAsync(db, stale, """{"n":"stale"}""");
        var held = Guid.NewGuid();
        await InsertAsync(db, held, """{"n":"held"}""");
        var writer = new EventStateWriter(db, Cluster);
        Assert.Equal("2", await writer.UpdateAsync(stale, "1", Encoding.UTF8.GetBytes("""{"n":"moved on"}""")));

        // A write held by a row lock keeps the three below waiting, so they go in one statement.
        await using var blocker = await db.OpenConnectionAsync();
        await using var transaction = await HoldRowAsync(blocker, held);
        var heldWrite = writer.UpdateAsync(held, "1", Encoding.UTF8.GetBytes("""{"n":"held 2"}"""));
        await WaitForALockWaitAsync(db);
        var writes = new[]
        {
            writer.UpdateAsync(fresh, "1", Encoding.UTF8.GetBytes("""{"n":"fresh 2"}""")),
            writer.UpdateAsync(stale, "1", Encoding.UTF8.GetBytes("""{"n":"lost"}""")),
            writer.UpdateAsync(missing, "1", Encoding.UTF8.GetBytes("""{"n":"nowhere"}""")),
        };
        await transaction.CommitAsync();
        Assert.Equal("2", await heldWrite);
        await Assert.ThrowsAsync<InconsistentStateException>(() => writes[1]);
        await Assert.ThrowsAsync<InconsistentStateException>(() => writes[2]);
        Assert.Equal("2", await writes[0]);

        Assert.Equal(("""{"n":"fresh 2"}""", 2), await ReadAsync(db, fresh));
        Assert.Equal(("""{"n":"moved on"}""", 2), await ReadAsync(db, stale));
        var changes = await ChangesAsync(db);
        Assert.Equal(3, writer.Statements); // the stale row's first update, the held write, then the three together
        Assert.Equal([(stale, 2, false), (held, 2, false), (fresh, 2, false)], changes);
    }

    private static GrainId EventGrainId(Guid id) => GrainId.Create(GrainType.Create("event"), GrainIdKeyExtensions.CreateGuidKey(id));

    private static Task<string> InsertThroughWriterAsync(EventStateWriter writer, Guid id, string json) =>
        writer.InsertAsync(EventGrainId(id), new GrainState<Events.EventState>(new Events.EventState()), Encoding.UTF8.GetBytes(json));

    [Fact]
    public async Task FirstWritesThatWaitTogetherGoInOneStatementAndAnExistingRowFailsOnlyItsOwn()
    {
        await using var db = NpgsqlDataSource.Create(await TestDatabase.CreateAsync("event-writer-insert"));
        var existing = Guid.NewGuid();
        await InsertAsync(db, existing, """{"n":"first"}""");
        var writer = new EventStateWriter(db, Cluster);
        var fresh = Enumerable.Range(0, 12).Select(_ => Guid.NewGuid()).ToList();

        // An uncommitted insert of the first fresh key holds the writer's first statement; the rest
        // queue behind it meanwhile, the existing key among them.
        await using var blocker = await db.OpenConnectionAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        var (n0, n1) = GuidKeys.Split(fresh[0]);
        await using (var hold = new NpgsqlCommand(
            "INSERT INTO orleans_storage (service_id, grain_type, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1, payload_binary, version) VALUES (@service, 'event', 7, 11, @n0, @n1, @payload, 1)",
            blocker, transaction))
        {
            hold.Parameters.AddWithValue("service", StoredStateQueries.ServiceId);
            hold.Parameters.AddWithValue("n0", n0);
            hold.Parameters.AddWithValue("n1", n1);
            hold.Parameters.AddWithValue("payload", Encoding.UTF8.GetBytes("""{"n":"held"}"""));
            await hold.ExecuteNonQueryAsync();
        }
        var first = InsertThroughWriterAsync(writer, fresh[0], """{"n":0}""");
        await WaitForALockWaitAsync(db);
        var rest = fresh.Skip(1).Select((id, i) => InsertThroughWriterAsync(writer, id, $$"""{"n":{{i + 1}}}""")).ToList();
        var duplicate = InsertThroughWriterAsync(writer, existing, """{"n":"again"}""");
        await Task.Delay(200);
        Assert.False(first.IsCompleted, "the first write waits for the other insert of its key");
        await transaction.RollbackAsync();

        Assert.Equal("1", await first); // the other insert rolled back: this one went in
        Assert.All(await Task.WhenAll(rest), etag => Assert.Equal("1", etag));
        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => duplicate);
        Assert.Contains(existing.ToString(), conflict.Message);
        Assert.Equal(2, writer.Statements); // the first alone, the other twelve together
        Assert.Equal(12, writer.Rows);
        Assert.Equal(("""{"n":0}""", 1), await ReadAsync(db, fresh[0]));
        Assert.Equal(("""{"n":11}""", 1), await ReadAsync(db, fresh[11]));
        Assert.Equal(("""{"n":"first"}""", 1), await ReadAsync(db, existing));

        // Each fresh row recorded its change; the existing one recorded none.
        await using var command = db.CreateCommand("SELECT grain_id_n0, grain_id_n1, version FROM grain_changes WHERE grain_type = 'event'");
        var changes = new List<(Guid, int)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                changes.Add((GuidKeys.Join(reader.GetInt64(0), reader.GetInt64(1)), reader.GetInt32(2)));
            }
        }
        Assert.Equal(fresh.Order(), changes.Select(c => c.Item1).Order());
        Assert.All(changes, c => Assert.Equal(1, c.Item2));

        // Updates follow on from the version the first write handed out.
        Assert.Equal("2", await writer.UpdateAsync(fresh[3], "1", Encoding.UTF8.GetBytes("""{"n":"updated"}""")));
    }
}
