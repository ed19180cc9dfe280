using Npgsql;
using NpgsqlTypes;
using RootCause.Database;

namespace RootCause.Benchmarks.Search;

/// <summary>One stored grain state: its state name ("investigation" or "event"), key, version and JSON.</summary>
public sealed record StoredRow(string StateName, Guid Id, int Version, byte[] Payload);

/// <summary>
/// The bulk path: writes grain states straight into <c>orleans_storage</c>, with one
/// <c>grain_changes</c> row per state in the same transaction, exactly as the storage SQL
/// (WriteToStorageKey in 0002_orleans_persistence.sql) would, minus the two hash columns, which are
/// written as 0 (nothing reads them: lookups go by the natural key). See docs/benchmarks.md.
/// </summary>
public sealed class BulkLoader(NpgsqlDataSource dataSource, string serviceId)
{
    /// <summary>First writes of many states: COPY into both tables in one transaction.</summary>
    public async Task CopyAsync(IReadOnlyList<StoredRow> rows, CancellationToken ct = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var storage = await connection.BeginBinaryImportAsync(
            """
            COPY orleans_storage (service_id, grain_type, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1,
                                  grain_id_extension, payload_binary, version) FROM STDIN (FORMAT BINARY)
            """, ct))
        {
            foreach (var row in rows)
            {
                var (n0, n1) = GuidKeys.Split(row.Id);
                await storage.StartRowAsync(ct);
                await storage.WriteAsync(serviceId, NpgsqlDbType.Text, ct);
                await storage.WriteAsync(row.StateName, NpgsqlDbType.Text, ct);
                await storage.WriteAsync(0, NpgsqlDbType.Integer, ct);
                await storage.WriteAsync(0, NpgsqlDbType.Integer, ct);
                await storage.WriteAsync(n0, NpgsqlDbType.Bigint, ct);
                await storage.WriteAsync(n1, NpgsqlDbType.Bigint, ct);
                await storage.WriteNullAsync(ct);
                await storage.WriteAsync(row.Payload, NpgsqlDbType.Bytea, ct);
                await storage.WriteAsync(row.Version, NpgsqlDbType.Integer, ct);
            }
            await storage.CompleteAsync(ct);
        }
        await using (var changes = await connection.BeginBinaryImportAsync(
            """
            COPY grain_changes (service_id, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_extension,
                                version, cleared) FROM STDIN (FORMAT BINARY)
            """, ct))
        {
            foreach (var row in rows)
            {
                var (n0, n1) = GuidKeys.Split(row.Id);
                await changes.StartRowAsync(ct);
                await changes.WriteAsync(serviceId, NpgsqlDbType.Text, ct);
                await changes.WriteAsync(row.StateName, NpgsqlDbType.Text, ct);
                await changes.WriteAsync(0, NpgsqlDbType.Integer, ct);
                await changes.WriteAsync(n0, NpgsqlDbType.Bigint, ct);
                await changes.WriteAsync(n1, NpgsqlDbType.Bigint, ct);
                await changes.WriteNullAsync(ct);
                await changes.WriteAsync(row.Version, NpgsqlDbType.Integer, ct);
                await changes.WriteAsync(false, NpgsqlDbType.Boolean, ct);
            }
            await changes.CompleteAsync(ct);
        }
        await transaction.CommitAsync(ct);
    }

    /// <summary>
    /// New states and new versions of existing ones, as one transaction (the storage SQL's
    /// effect for each: the row holds the new payload and version, and a change row records it).
    /// Returns the transaction id.
    /// </summary>
    public async Task<ulong> WriteAsync(IReadOnlyList<StoredRow> rows, CancellationToken ct = default)
    {
        var types = rows.Select(r => r.StateName).ToArray();
        var halves = rows.Select(r => GuidKeys.Split(r.Id)).ToArray();
        var n0 = halves.Select(h => h.N0).ToArray();
        var n1 = halves.Select(h => h.N1).ToArray();
        var versions = rows.Select(r => r.Version).ToArray();
        var payloads = rows.Select(r => r.Payload).ToArray();

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var upsert = new NpgsqlCommand(
            """
            INSERT INTO orleans_storage
                (service_id, grain_type, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_extension, payload_binary, version)
            SELECT @service, t.grain_type, 0, 0, t.n0, t.n1, NULL, t.payload, t.version
            FROM unnest(@types, @n0, @n1, @payloads, @versions) AS t(grain_type, n0, n1, payload, version)
            ON CONFLICT (service_id, grain_type, grain_id_n0, grain_id_n1, (coalesce(grain_id_extension, '')))
                DO UPDATE SET payload_binary = excluded.payload_binary, version = excluded.version, modified_on = now();
            INSERT INTO grain_changes (service_id, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_extension, version, cleared)
            SELECT @service, t.grain_type, 0, t.n0, t.n1, NULL, t.version, false
            FROM unnest(@types, @n0, @n1, @versions) AS t(grain_type, n0, n1, version);
            SELECT pg_current_xact_id();
            """, connection, transaction))
        {
            upsert.Parameters.AddWithValue("service", serviceId);
            upsert.Parameters.Add(new NpgsqlParameter<string[]>("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = types });
            upsert.Parameters.Add(new NpgsqlParameter<long[]>("n0", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = n0 });
            upsert.Parameters.Add(new NpgsqlParameter<long[]>("n1", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = n1 });
            upsert.Parameters.Add(new NpgsqlParameter<byte[][]>("payloads", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = payloads });
            upsert.Parameters.Add(new NpgsqlParameter<int[]>("versions", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = versions });
            var xid = await upsert.ExecuteScalarAsync(ct);
            await transaction.CommitAsync(ct);
            return Convert.ToUInt64(xid, System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
