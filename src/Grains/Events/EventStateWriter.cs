using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Orleans.Configuration;
using Orleans.Storage;
using RootCause.Database;

namespace RootCause.Events;

/// <summary>
/// Writes the changes of stored events to <c>orleans_storage</c>, many events in one statement.
/// </summary>
/// <remarks>
/// <para>
/// Under load nearly every event is written twice: once when it is ingested, once when the linker
/// stores its decisions. Through the grain storage each write is a statement and a transaction of
/// its own, and PostgreSQL spends more on starting the statement and committing it than on the row.
/// Here the updates that arrive while a statement runs wait for it to end and then go together in
/// the next one: one round trip and one commit for all of them. When the writer is idle, a write
/// starts at once, so a single write waits no longer than before.
/// </para>
/// <para>
/// Each row keeps the grain storage's rules (<c>WriteToStorageKey</c>): it is updated only while its
/// version is still the one the grain holds, the version goes up by one, and the change sequence gets
/// a row in the same statement. A row whose version moved on is left alone and its caller gets an
/// <see cref="InconsistentStateException"/>, as the grain storage would throw. The ETag it hands back is
/// the new version, in the grain storage's own form, so reads and first writes through the grain
/// storage and updates through here follow one version sequence.
/// </para>
/// <para>
/// A statement that fails (the connection breaks, PostgreSQL restarts) fails every write in it; each
/// caller then does what it does when a single write fails. Rows are locked in address order, so
/// two silos writing the same events cannot deadlock each other.
/// </para>
/// </remarks>
public sealed class EventStateWriter(NpgsqlDataSource dataSource, IOptions<ClusterOptions> cluster)
{
    /// <summary>Most events one statement writes; more wait for the next.</summary>
    public const int MaxBatch = 64;

    private const string Sql =
        """
        WITH target AS MATERIALIZED (
            SELECT found.row_id, i.expected, i.payload
            FROM unnest(@n0, @n1, @expected, @payload) AS i(n0, n1, expected, payload)
            CROSS JOIN LATERAL (
                SELECT s.ctid AS row_id
                FROM orleans_storage s
                WHERE s.service_id = @service
                  AND s.grain_type = @type
                  AND s.grain_id_n0 = i.n0
                  AND s.grain_id_n1 = i.n1
                  AND coalesce(s.grain_id_extension, '') = ''
                LIMIT 1
            ) found
        ),
        updated AS (
            UPDATE orleans_storage s
            SET payload_binary = (SELECT t.payload FROM target t WHERE t.row_id = s.ctid),
                version = s.version + 1,
                modified_on = now()
            WHERE s.ctid = ANY(ARRAY(SELECT row_id FROM target))
              AND s.version = (SELECT t.expected FROM target t WHERE t.row_id = s.ctid)
            RETURNING s.grain_id_hash, s.grain_id_n0, s.grain_id_n1, s.version
        ),
        recorded AS (
            INSERT INTO grain_changes
                (service_id, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_extension, version, cleared)
            SELECT @service, @type, grain_id_hash, grain_id_n0, grain_id_n1, NULL, version, false
            FROM updated
            RETURNING grain_id_n0, grain_id_n1, version
        )
        SELECT grain_id_n0, grain_id_n1, version FROM recorded
        """;

    private readonly string _serviceId = cluster.Value.ServiceId;
    private readonly object _gate = new();
    private readonly List<Pending> _queue = [];
    private bool _running;

    /// <summary>Statements run so far (for tests and diagnostics).</summary>
    public long Statements => Interlocked.Read(ref _statements);

    /// <summary>Rows written so far.</summary>
    public long Rows => Interlocked.Read(ref _rows);

    private long _statements;
    private long _rows;

    /// <summary>
    /// Replaces the stored state of the event <paramref name="id"/> if its stored version is still
    /// <paramref name="etag"/>; returns the new ETag.
    /// </summary>
    /// <exception cref="InconsistentStateException">The stored version is no longer <paramref name="etag"/> (or the row is gone).</exception>
    public Task<string> UpdateAsync(Guid id, string etag, byte[] payload)
    {
        var expected = int.Parse(etag, NumberStyles.Integer, CultureInfo.InvariantCulture);
        var (n0, n1) = GuidKeys.Split(id);
        var pending = new Pending(id, n0, n1, expected, payload);
        lock (_gate)
        {
            _queue.Add(pending);
            if (!_running)
            {
                _running = true;
                _ = Task.Run(RunAsync);
            }
        }
        return pending.Done.Task;
    }

    private async Task RunAsync()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _running = false;
                    return;
                }
                // One write per event in a statement: a second one for the same event (its grain
                // writes again only after the first returned, so this is a safeguard) waits.
                batch = [];
                var keys = new HashSet<Guid>();
                for (var i = 0; i < _queue.Count && batch.Count < MaxBatch; i++)
                {
                    if (keys.Add(_queue[i].Id))
                    {
                        batch.Add(_queue[i]);
                        _queue.RemoveAt(i--);
                    }
                }
            }
            try
            {
                await WriteAsync(batch);
            }
            catch (Exception e)
            {
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(e);
                }
            }
        }
    }

    private async Task WriteAsync(List<Pending> batch)
    {
        // Each row is found by one lookup of its full key, then updated by its address: a join of
        // the keys with orleans_storage would be planned once, while the table may still be small,
        // and scan every event's row ever after (measured: thousands of buffers per statement).
        // A row whose version moved on between the lookup and the update is passed over by the
        // update's recheck, like a stale version. The update visits the addresses in order, so two
        // writers lock the rows they share in the same order.
        await using var command = dataSource.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<long[]>("n0", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. batch.Select(p => p.N0)] });
        command.Parameters.Add(new NpgsqlParameter<long[]>("n1", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. batch.Select(p => p.N1)] });
        command.Parameters.Add(new NpgsqlParameter<int[]>("expected", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [.. batch.Select(p => p.Expected)] });
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("payload", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = [.. batch.Select(p => p.Payload)] });
        command.Parameters.Add(new NpgsqlParameter<string>("service", NpgsqlDbType.Text) { TypedValue = _serviceId });
        command.Parameters.Add(new NpgsqlParameter<string>("type", NpgsqlDbType.Text) { TypedValue = EventGrain.StateName });
        var written = new Dictionary<(long, long), int>(batch.Count);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                written[(reader.GetInt64(0), reader.GetInt64(1))] = reader.GetInt32(2);
            }
        }
        Interlocked.Increment(ref _statements);
        Interlocked.Add(ref _rows, written.Count);
        foreach (var pending in batch)
        {
            if (written.TryGetValue((pending.N0, pending.N1), out var version))
            {
                pending.Done.TrySetResult(version.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                pending.Done.TrySetException(new InconsistentStateException(
                    $"Version conflict (write): event {pending.Id} is no longer at version {pending.Expected}."));
            }
        }
    }

    private sealed record Pending(Guid Id, long N0, long N1, int Expected, byte[] Payload)
    {
        public TaskCompletionSource<string> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
