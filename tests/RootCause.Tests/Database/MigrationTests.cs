using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RootCause.Database;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Database;

public sealed class MigrationTests
{
    private static readonly string[] ProviderQueryKeys =
    [
        // clustering
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey", "MembershipReadAllKey", "GatewaysQueryKey", "DeleteMembershipTableEntriesKey",
        "CleanupDefunctSiloEntriesKey",
        // persistence
        "ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey",
        // reminders
        "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key",
        "ReadRangeRows2Key", "DeleteReminderRowKey", "DeleteReminderRowsKey",
        // streams
        "QueueStreamMessageKey", "GetStreamMessagesKey", "ConfirmStreamMessagesKey", "FailStreamMessageKey",
        "EvictStreamMessagesKey", "EvictStreamDeadLettersKey",
    ];

    [Fact]
    public async Task MigrationsApplyToAnEmptyDatabaseAndReapplyingIsANoOp()
    {
        var connectionString = await TestDatabase.CreateAsync(nameof(MigrationsApplyToAnEmptyDatabaseAndReapplyingIsANoOp), migrate: false);
        var embedded = DatabaseMigrator.LoadEmbeddedMigrations();

        var first = await DatabaseMigrator.MigrateAsync(connectionString, NullLogger.Instance);
        var afterFirst = await ReadSchemaMigrationsAsync(connectionString);
        var second = await DatabaseMigrator.MigrateAsync(connectionString, NullLogger.Instance);
        var afterSecond = await ReadSchemaMigrationsAsync(connectionString);

        Assert.Equal(9, embedded.Count);
        Assert.Equal(embedded.Count, first);
        Assert.Equal(0, second);
        Assert.Equal(
            embedded.Select(m => $"{m.Version}|{m.Name}|{m.Checksum}"),
            afterFirst.Select(r => $"{r.Version}|{r.Name}|{r.Checksum}"));
        Assert.Equal(afterFirst, afterSecond);
        Assert.Equal(ProviderQueryKeys.Order(StringComparer.Ordinal), await ReadQueryKeysAsync(connectionString));
    }

    [Fact]
    public void MigrationsAreNumberedAndOrdered()
    {
        var embedded = DatabaseMigrator.LoadEmbeddedMigrations();

        Assert.Equal(
            ["1|orleans_clustering", "2|orleans_persistence", "3|orleans_reminders", "4|instance_identity", "5|event_dlq", "6|orleans_streams", "7|change_retention", "8|state_compression", "9|stream_statements_by_key"],
            embedded.Select(m => $"{m.Version}|{m.Name}"));
    }

    [Fact]
    public async Task GrainStatesAreCompressedWithLz4WhenTheServerHasIt()
    {
        var connectionString = await TestDatabase.CreateAsync(nameof(GrainStatesAreCompressedWithLz4WhenTheServerHasIt));
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var probe = new NpgsqlCommand("SET default_toast_compression = lz4", connection))
        {
            try
            {
                await probe.ExecuteNonQueryAsync();
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidParameterValue)
            {
                Assert.Fail("This PostgreSQL server was built without lz4; the migration keeps pglz there, but the suites expect a server with lz4 (Debian's and the official images have it).");
            }
        }
        await using (var column = new NpgsqlCommand(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'orleans_storage'::regclass AND attname = 'payload_binary'", connection))
        {
            Assert.Equal("l", Convert.ToString(await column.ExecuteScalarAsync()));
        }
        // A large state written now is stored compressed with lz4.
        await using (var write = new NpgsqlCommand(
            """
            INSERT INTO orleans_storage (service_id, grain_type, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1, payload_binary, version)
            VALUES ('compression-test', 'event', 0, 0, 1, 2, convert_to(repeat('{"reason":"a repeated sentence"}', 400), 'UTF8'), 1)
            """, connection))
        {
            await write.ExecuteNonQueryAsync();
        }
        await using var method = new NpgsqlCommand(
            "SELECT pg_column_compression(payload_binary) FROM orleans_storage WHERE service_id = 'compression-test'", connection);
        Assert.Equal("lz4", await method.ExecuteScalarAsync());
    }

    [Fact]
    public async Task TwoMigratorsStartedTogetherBothSucceedAndApplyEachMigrationExactlyOnce()
    {
        var connectionString = await TestDatabase.CreateAsync(nameof(TwoMigratorsStartedTogetherBothSucceedAndApplyEachMigrationExactlyOnce), migrate: false);
        var embedded = DatabaseMigrator.LoadEmbeddedMigrations();

        var results = await Task.WhenAll(
            Task.Run(() => DatabaseMigrator.MigrateAsync(connectionString, NullLogger.Instance)),
            Task.Run(() => DatabaseMigrator.MigrateAsync(connectionString, NullLogger.Instance)));

        // One of them applied everything while the other waited on the advisory lock and then found nothing to do.
        Assert.Equal([0, embedded.Count], results.Order());
        var rows = await ReadSchemaMigrationsAsync(connectionString);
        Assert.Equal(embedded.Select(m => m.Version), rows.Select(r => r.Version));
    }

    [Fact]
    public async Task AChangedChecksumIsRefused()
    {
        var connectionString = await TestDatabase.CreateAsync(nameof(AChangedChecksumIsRefused));
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var tamper = new NpgsqlCommand("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2", connection);
            Assert.Equal(1, await tamper.ExecuteNonQueryAsync());
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => DatabaseMigrator.MigrateAsync(connectionString, NullLogger.Instance));

        Assert.StartsWith("Migration 0002_orleans_persistence was changed after it was applied", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureDatabaseExistsCreatesAMissingDatabaseOnlyOnce()
    {
        var name = $"t_ensure_{Guid.NewGuid():N}"[..30];
        var connectionString = new NpgsqlConnectionStringBuilder(TestDatabase.ServerConnectionString) { Database = name }.ConnectionString;

        var created = await DatabaseMigrator.EnsureDatabaseExistsAsync(connectionString);
        var createdAgain = await DatabaseMigrator.EnsureDatabaseExistsAsync(connectionString);
        var applied = await DatabaseMigrator.MigrateAsync(connectionString, NullLogger.Instance);

        Assert.True(created);
        Assert.False(createdAgain);
        Assert.Equal(DatabaseMigrator.LoadEmbeddedMigrations().Count, applied);
    }

    private static async Task<List<SchemaMigrationRow>> ReadSchemaMigrationsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<SchemaMigrationRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new SchemaMigrationRow(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return rows;
    }

    private static async Task<List<string>> ReadQueryKeysAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey COLLATE \"C\"", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new List<string>();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    private sealed record SchemaMigrationRow(int Version, string Name, string Checksum, DateTimeOffset AppliedAt);
}
