using Npgsql;
using NpgsqlTypes;
using RootCause.Database;

namespace RootCause.Benchmarks;

/// <summary>
/// The baseline: what storing an event costs without Orleans. One autocommitted single-row
/// INSERT of the same JSON bytes the event grain stores, into a table shaped like
/// <c>orleans_storage</c> (same columns, same unique natural-key index), through a pooled Npgsql
/// data source on the same connection string the silo uses. Like the grain storage provider it
/// opens a pooled connection per operation and sends an unprepared, parameterised statement.
/// It does none of what the grain path adds: no activation, no storage read, no validation, no
/// grain_changes row.
/// </summary>
public sealed class RawInsertBaseline : IAsyncDisposable
{
    public const string Table = "bench_raw_events";

    private const string InsertSql = $"""
        INSERT INTO {Table}
            (service_id, grain_type, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1,
             grain_id_extension, payload_binary, version)
        VALUES (@service_id, 'event', @grain_type_hash, @grain_id_hash, @n0, @n1, NULL, @payload, 1)
        """;

    private readonly NpgsqlDataSource _source;
    private readonly string _serviceId;

    private RawInsertBaseline(NpgsqlDataSource source, string serviceId)
    {
        _source = source;
        _serviceId = serviceId;
    }

    public static async Task<RawInsertBaseline> CreateAsync(string connectionString, string serviceId)
    {
        var source = NpgsqlDataSource.Create(connectionString);
        await using var create = source.CreateCommand($"""
            CREATE TABLE {Table}
            (
                service_id text NOT NULL,
                grain_type text NOT NULL,
                grain_type_hash integer NOT NULL,
                grain_id_hash integer NOT NULL,
                grain_id_n0 bigint NOT NULL,
                grain_id_n1 bigint NOT NULL,
                grain_id_extension text NULL,
                payload_binary bytea NULL,
                version integer NOT NULL,
                modified_on timestamptz NOT NULL DEFAULT now()
            );
            CREATE UNIQUE INDEX {Table}_grain_key ON {Table}
                (service_id, grain_type, grain_id_n0, grain_id_n1, (coalesce(grain_id_extension, '')));
            """);
        await create.ExecuteNonQueryAsync();
        return new RawInsertBaseline(source, serviceId);
    }

    public async Task InsertAsync(Guid id, byte[] payload)
    {
        var (n0, n1) = GuidKeys.Split(id);
        await using var command = _source.CreateCommand(InsertSql);
        command.Parameters.Add(new NpgsqlParameter<string>("service_id", NpgsqlDbType.Text) { TypedValue = _serviceId });
        command.Parameters.Add(new NpgsqlParameter<int>("grain_type_hash", NpgsqlDbType.Integer) { TypedValue = 0x6576_656e });
        command.Parameters.Add(new NpgsqlParameter<int>("grain_id_hash", NpgsqlDbType.Integer) { TypedValue = id.GetHashCode() });
        command.Parameters.Add(new NpgsqlParameter<long>("n0", NpgsqlDbType.Bigint) { TypedValue = n0 });
        command.Parameters.Add(new NpgsqlParameter<long>("n1", NpgsqlDbType.Bigint) { TypedValue = n1 });
        command.Parameters.Add(new NpgsqlParameter<byte[]>("payload", NpgsqlDbType.Bytea) { TypedValue = payload });
        await command.ExecuteNonQueryAsync();
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
