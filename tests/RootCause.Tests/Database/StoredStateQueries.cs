using Npgsql;
using NpgsqlTypes;

namespace RootCause.Tests.Database;

/// <summary>
/// Runs the persistence statements stored in OrleansQuery with the same parameter names and types
/// the Orleans ADO.NET provider binds (Int32 hashes and versions, Int64 key parts, text strings,
/// bytea payload), so tests can drive them inside transactions they control.
/// </summary>
internal static class StoredStateQueries
{
    public const string ServiceId = "rootcause-tests";

    public static async Task<string> LoadAsync(NpgsqlConnection connection, string key)
    {
        await using var command = new NpgsqlCommand("SELECT QueryText FROM OrleansQuery WHERE QueryKey = @key", connection);
        command.Parameters.AddWithValue("key", key);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Runs WriteToStorageKey; returns the new version, or null when the write was rejected.</summary>
    public static async Task<int?> WriteAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string grainKey, int? expectedVersion, string json)
    {
        var sql = await LoadAsync(connection, "WriteToStorageKey");
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        AddKey(command, grainKey);
        command.Parameters.Add(new NpgsqlParameter("GrainStateVersion", NpgsqlDbType.Integer) { Value = (object?)expectedVersion ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("PayloadBinary", NpgsqlDbType.Bytea) { Value = System.Text.Encoding.UTF8.GetBytes(json) });
        return await ReadVersionAsync(command);
    }

    /// <summary>Runs ClearStorageKey; returns the new version, or null when the clear was rejected.</summary>
    public static async Task<int?> ClearAsync(NpgsqlConnection connection, string grainKey, int? expectedVersion)
    {
        var sql = await LoadAsync(connection, "ClearStorageKey");
        await using var command = new NpgsqlCommand(sql, connection);
        AddKey(command, grainKey);
        command.Parameters.Add(new NpgsqlParameter("GrainStateVersion", NpgsqlDbType.Integer) { Value = (object?)expectedVersion ?? DBNull.Value });
        return await ReadVersionAsync(command);
    }

    public static async Task<long> CountChangesAsync(NpgsqlConnection connection, string grainKey)
    {
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM grain_changes WHERE grain_type = 'probe' AND grain_id_extension = @key", connection);
        command.Parameters.AddWithValue("key", grainKey);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    // A string-keyed grain as Orleans sends it: n0 = n1 = 0, the key as the extension string.
    private static void AddKey(NpgsqlCommand command, string grainKey)
    {
        command.Parameters.Add(new NpgsqlParameter("GrainIdHash", NpgsqlDbType.Integer) { Value = grainKey.Length });
        command.Parameters.Add(new NpgsqlParameter("GrainIdN0", NpgsqlDbType.Bigint) { Value = 0L });
        command.Parameters.Add(new NpgsqlParameter("GrainIdN1", NpgsqlDbType.Bigint) { Value = 0L });
        command.Parameters.Add(new NpgsqlParameter("GrainTypeHash", NpgsqlDbType.Integer) { Value = 42 });
        command.Parameters.Add(new NpgsqlParameter("GrainTypeString", NpgsqlDbType.Text) { Value = "probe" });
        command.Parameters.Add(new NpgsqlParameter("GrainIdExtensionString", NpgsqlDbType.Text) { Value = grainKey });
        command.Parameters.Add(new NpgsqlParameter("ServiceId", NpgsqlDbType.Text) { Value = ServiceId });
    }

    private static async Task<int?> ReadVersionAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }

        var version = reader.GetInt32(0);
        Assert.False(await reader.ReadAsync(), "a state write must return at most one row");
        return version;
    }
}
