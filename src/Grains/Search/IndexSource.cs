using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;
using RootCause.Database;

namespace RootCause.Search;

/// <summary>A stored grain state as the indexer reads it from <c>orleans_storage</c>.</summary>
/// <param name="StateName">"investigation" or "event".</param>
/// <param name="Id">The grain's Guid key.</param>
/// <param name="Payload">The JSON state, or null when the state was cleared or the row is gone.</param>
public sealed record StoredState(string StateName, Guid Id, byte[]? Payload);

/// <summary>The PostgreSQL side of the indexer: identity, horizon, a full scan, and current states by key.</summary>
public sealed class IndexSource(NpgsqlDataSource dataSource, string serviceId)
{
    public static readonly string[] IndexedStateNames = ["investigation", "event"];

    public string ServiceId => serviceId;

    /// <summary>
    /// Names the database and service an index was built from, so an index directory that outlived
    /// its database (or points at another one) is rebuilt instead of trusted.
    /// </summary>
    public async Task<string> IdentityAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT instance_id::text FROM rootcause_instance LIMIT 1");
        var instance = (string?)await command.ExecuteScalarAsync(ct)
            ?? throw new InvalidOperationException("rootcause_instance is empty: migrations have not run.");
        return $"{instance}/{serviceId}";
    }

    /// <summary>The change-feed horizon now: every transaction below it has ended.</summary>
    public async Task<ulong> HorizonAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT pg_snapshot_xmin(pg_current_snapshot())");
        return (ulong)(await command.ExecuteScalarAsync(ct))!;
    }

    public async Task<long> CountAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT count(*) FROM orleans_storage
            WHERE service_id = @service AND grain_type = ANY(@types) AND payload_binary IS NOT NULL
            """);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("types", IndexedStateNames);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Every stored investigation and event of the service, streamed.</summary>
    public async IAsyncEnumerable<StoredState> ScanAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT grain_type, grain_id_n0, grain_id_n1, payload_binary FROM orleans_storage
            WHERE service_id = @service AND grain_type = ANY(@types) AND payload_binary IS NOT NULL
              AND grain_id_extension IS NULL
            """);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("types", IndexedStateNames);
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
        {
            yield return new StoredState(reader.GetString(0), GuidKeys.Join(reader.GetInt64(1), reader.GetInt64(2)), await reader.GetFieldValueAsync<byte[]>(3, ct));
        }
    }

    /// <summary>The current state of each key (payload null when it is cleared or gone).</summary>
    public async Task<IReadOnlyList<StoredState>> FetchAsync(IReadOnlyCollection<(string StateName, long N0, long N1)> keys, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT k.grain_type, k.n0, k.n1, s.payload_binary
            FROM unnest(@types, @n0, @n1) AS k(grain_type, n0, n1)
            LEFT JOIN orleans_storage s
              ON s.service_id = @service AND s.grain_type = k.grain_type
             AND s.grain_id_n0 = k.n0 AND s.grain_id_n1 = k.n1
             AND coalesce(s.grain_id_extension, '') = ''
            """);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.Add(new NpgsqlParameter<string[]>("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. keys.Select(k => k.StateName)] });
        command.Parameters.Add(new NpgsqlParameter<long[]>("n0", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. keys.Select(k => k.N0)] });
        command.Parameters.Add(new NpgsqlParameter<long[]>("n1", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. keys.Select(k => k.N1)] });
        var result = new List<StoredState>(keys.Count);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result.Add(new StoredState(reader.GetString(0), GuidKeys.Join(reader.GetInt64(1), reader.GetInt64(2)),
                reader.IsDBNull(3) ? null : await reader.GetFieldValueAsync<byte[]>(3, ct)));
        }
        return result;
    }
}
