using Npgsql;
using RootCause.Database;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Database;

public sealed class ChangeSequenceTests
{
    [Fact]
    public async Task AStateWriteInsertsExactlyOneChangeRowInItsOwnTransaction()
    {
        var connectionString = await TestDatabase.CreateAsync(nameof(AStateWriteInsertsExactlyOneChangeRowInItsOwnTransaction));
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        await using (var rolledBack = await connection.BeginTransactionAsync())
        {
            Assert.Equal(1, await StoredStateQueries.WriteAsync(connection, rolledBack, "g1", null, """{"n":1}"""));
            await rolledBack.RollbackAsync();
        }

        Assert.Equal(0, await StoredStateQueries.CountChangesAsync(connection, "g1"));

        ulong writerTxId;
        await using (var committed = await connection.BeginTransactionAsync())
        {
            Assert.Equal(1, await StoredStateQueries.WriteAsync(connection, committed, "g1", null, """{"n":1}"""));
            await using var txid = new NpgsqlCommand("SELECT pg_current_xact_id()", connection, committed);
            writerTxId = (ulong)(await txid.ExecuteScalarAsync())!;
            await committed.CommitAsync();
        }

        await using var read = new NpgsqlCommand(
            "SELECT txid, version, cleared, grain_id_n0, grain_id_n1, service_id FROM grain_changes WHERE grain_id_extension = 'g1'", connection);
        await using var reader = await read.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(writerTxId, reader.GetFieldValue<ulong>(0));
        Assert.Equal(1, reader.GetInt32(1));
        Assert.False(reader.GetBoolean(2));
        Assert.Equal(0L, reader.GetInt64(3));
        Assert.Equal(0L, reader.GetInt64(4));
        Assert.Equal(StoredStateQueries.ServiceId, reader.GetString(5));
        Assert.False(await reader.ReadAsync());
    }

    [Fact]
    public async Task AWriteThatFailsTheVersionCheckReturnsNoRowAndRecordsNoChange()
    {
        var connectionString = await TestDatabase.CreateAsync(nameof(AWriteThatFailsTheVersionCheckReturnsNoRowAndRecordsNoChange));
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        Assert.Equal(1, await StoredStateQueries.WriteAsync(connection, null, "g", null, """{"n":1}"""));
        Assert.Equal(2, await StoredStateQueries.WriteAsync(connection, null, "g", 1, """{"n":2}"""));

        Assert.Null(await StoredStateQueries.WriteAsync(connection, null, "g", 1, """{"n":"stale"}"""));
        Assert.Null(await StoredStateQueries.WriteAsync(connection, null, "g", null, """{"n":"second first write"}"""));
        Assert.Null(await StoredStateQueries.ClearAsync(connection, "g", 1));

        Assert.Equal(2, await StoredStateQueries.CountChangesAsync(connection, "g"));
        await using var payload = new NpgsqlCommand("SELECT convert_from(payload_binary, 'UTF8'), version FROM orleans_storage", connection);
        await using var reader = await payload.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("""{"n":2}""", reader.GetString(0));
        Assert.Equal(2, reader.GetInt32(1));
    }

    [Fact]
    public async Task ClearingRecordsAClearedChangeAndTheVersionSequenceContinues()
    {
        var connectionString = await TestDatabase.CreateAsync(nameof(ClearingRecordsAClearedChangeAndTheVersionSequenceContinues));
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        Assert.Equal(1, await StoredStateQueries.WriteAsync(connection, null, "g", null, """{"n":1}"""));
        Assert.Equal(2, await StoredStateQueries.ClearAsync(connection, "g", 1));
        Assert.Equal(3, await StoredStateQueries.WriteAsync(connection, null, "g", 2, """{"n":3}"""));

        await using var read = new NpgsqlCommand("SELECT version, cleared FROM grain_changes ORDER BY seq", connection);
        await using var reader = await read.ExecuteReaderAsync();
        var changes = new List<string>();
        while (await reader.ReadAsync())
        {
            changes.Add($"{reader.GetInt32(0)}:{reader.GetBoolean(1)}");
        }

        Assert.Equal(["1:False", "2:True", "3:False"], changes);
    }

    [Fact]
    public async Task TheFeedHoldsBackALaterCommittedChangeUntilAnEarlierOpenTransactionEnds()
    {
        var connectionString = await TestDatabase.CreateAsync(nameof(TheFeedHoldsBackALaterCommittedChangeUntilAnEarlierOpenTransactionEnds));
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var feed = new ChangeFeed(dataSource);
        var start = (await feed.ReadAsync(0, 100, CancellationToken.None)).NewHorizon;

        await using var connectionA = await dataSource.OpenConnectionAsync();
        await using var connectionB = await dataSource.OpenConnectionAsync();

        // A writes first (so it holds the lower xid and the lower seq) and stays open.
        await using var transactionA = await connectionA.BeginTransactionAsync();
        Assert.Equal(1, await StoredStateQueries.WriteAsync(connectionA, transactionA, "a", null, "{}"));
        // B writes later (higher seq) and commits.
        Assert.Equal(1, await StoredStateQueries.WriteAsync(connectionB, null, "b", null, "{}"));
        Assert.Equal(1, await StoredStateQueries.CountChangesAsync(connectionB, "b"));

        var whileAOpen = await feed.ReadAsync(start, 100, CancellationToken.None);
        Assert.Empty(whileAOpen.Rows);
        Assert.False(whileAOpen.HasMore);
        Assert.True(whileAOpen.NewHorizon >= start);

        await transactionA.CommitAsync();

        // Both come now, in seq order, one per read, each exactly once. Other tests' transactions
        // (on any database of this server) can hold the horizon back for a moment, hence the bound.
        var seen = new List<ChangeRow>();
        var cursor = new ChangeCursor(whileAOpen.NewHorizon);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (seen.Count < 2 && DateTime.UtcNow < deadline)
        {
            var batch = await feed.ReadAsync(cursor, 1, CancellationToken.None);
            Assert.True(batch.Rows.Count <= 1);
            seen.AddRange(batch.Rows);
            cursor = batch.Next;
            if (batch.Rows.Count == 0)
            {
                await Task.Delay(20);
            }
        }

        Assert.Equal(["a", "b"], seen.Select(r => r.GrainIdExtension));
        Assert.True(seen[0].Seq < seen[1].Seq);
        Assert.True(seen[0].TxId < seen[1].TxId);
        var after = await feed.ReadAsync(cursor, 100, CancellationToken.None);
        Assert.Empty(after.Rows);
    }

    [Fact]
    public async Task PagingThroughOneLargeTransactionReturnsEveryRowOnceInSeqOrder()
    {
        var connectionString = await TestDatabase.CreateAsync(nameof(PagingThroughOneLargeTransactionReturnsEveryRowOnceInSeqOrder));
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var feed = new ChangeFeed(dataSource);

        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await using var transaction = await connection.BeginTransactionAsync();
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(1, await StoredStateQueries.WriteAsync(connection, transaction, $"k{i}", null, "{}"));
            }

            await transaction.CommitAsync();
            Assert.Equal(1, await StoredStateQueries.WriteAsync(connection, null, "k5", null, "{}"));
        }

        var pages = new List<int>();
        var seen = new List<ChangeRow>();
        var cursor = new ChangeCursor(0);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (seen.Count < 6 && DateTime.UtcNow < deadline)
        {
            var batch = await feed.ReadAsync(cursor, 2, CancellationToken.None);
            if (batch.Rows.Count > 0)
            {
                pages.Add(batch.Rows.Count);
            }

            seen.AddRange(batch.Rows);
            cursor = batch.Next;
            if (!batch.HasMore && seen.Count < 6)
            {
                await Task.Delay(20);
            }
        }

        Assert.Equal(["k0", "k1", "k2", "k3", "k4", "k5"], seen.Select(r => r.GrainIdExtension));
        Assert.Equal(seen.Select(r => r.Seq).Order(), seen.Select(r => r.Seq));
        Assert.Equal(6, pages.Sum());
        Assert.All(pages, p => Assert.InRange(p, 1, 2));
        Assert.Empty((await feed.ReadAsync(cursor, 100, CancellationToken.None)).Rows);
    }
}
