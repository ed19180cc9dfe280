using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Orleans.Configuration;
using Orleans.Storage;
using RootCause.Common;
using RootCause.Database;

namespace RootCause.Events;

/// <summary>
/// Writes stored events to <c>orleans_storage</c>, many events in one statement: their first
/// writes (<see cref="InsertAsync"/>) and their changes (<see cref="UpdateAsync"/>).
/// </summary>
/// <remarks>
/// <para>
/// Under load nearly every event is written twice: once when it is ingested, once when the linker
/// stores its decisions. Through the grain storage each write is a statement and a transaction of
/// its own, and PostgreSQL spends more on starting the statement and committing it than on the row.
/// Here the writes that arrive while a statement runs wait for it to end and then go together in
/// the next one: one round trip and one commit for all of them. First writes and updates each have
/// their own statement and queue. When a queue is idle, a write starts at once, so a single write
/// waits no longer than before.
/// </para>
/// <para>
/// Each row keeps the grain storage's rules (<c>WriteToStorageKey</c>): a first write inserts version 1
/// only where no row exists for the key; an update applies only while the stored version is still the
/// one the grain holds, and the version goes up by one; either way the change sequence gets a row in
/// the same statement. A row that already exists, or whose version moved on, is left alone and its
/// caller gets an <see cref="InconsistentStateException"/>, as the grain storage would throw. The ETag
/// handed back is the new version, in the grain storage's own form, so reads through the grain storage
/// and writes through here follow one version sequence. A first write stores the two hash columns the
/// grain storage would (with its configured hasher), so a row reads the same whichever wrote it.
/// </para>
/// <para>
/// A statement that fails (the connection breaks, PostgreSQL restarts) fails every write in it; each
/// caller then does what it does when a single write fails. Rows are locked in address order, so
/// two silos writing the same events cannot deadlock each other.
/// </para>
/// </remarks>
public sealed class EventStateWriter
{
    /// <summary>Most events one statement writes; more wait for the next.</summary>
    public const int MaxBatch = 64;

    /// <summary>
    /// The end both statements share: a <c>grain_changes</c> row for each row the <c>written</c> step
    /// returned, in the same statement, and the keys and new versions of those rows as the answer.
    /// </summary>
    private const string RecordWritten =
        """
        ,
        recorded AS (
            INSERT INTO grain_changes
                (service_id, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_extension, version, cleared)
            SELECT @service, @type, grain_id_hash, grain_id_n0, grain_id_n1, NULL, version, false
            FROM written
            RETURNING grain_id_n0, grain_id_n1, version
        )
        SELECT grain_id_n0, grain_id_n1, version FROM recorded
        """;

    private const string UpdateSql =
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
        written AS (
            UPDATE orleans_storage s
            SET payload_binary = (SELECT t.payload FROM target t WHERE t.row_id = s.ctid),
                version = s.version + 1,
                modified_on = now()
            WHERE s.ctid = ANY(ARRAY(SELECT row_id FROM target))
              AND s.version = (SELECT t.expected FROM target t WHERE t.row_id = s.ctid)
            RETURNING s.grain_id_hash, s.grain_id_n0, s.grain_id_n1, s.version
        )
        """ + RecordWritten;

    private const string InsertSql =
        """
        WITH written AS (
            INSERT INTO orleans_storage
                (service_id, grain_type, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1,
                 grain_id_extension, payload_binary, version)
            SELECT @service, @type, @type_hash, i.id_hash, i.n0, i.n1, NULL, i.payload, 1
            FROM unnest(@n0, @n1, @id_hash, @payload) AS i(n0, n1, id_hash, payload)
            ORDER BY i.n0, i.n1
            ON CONFLICT (service_id, grain_type, grain_id_n0, grain_id_n1, (coalesce(grain_id_extension, '')))
                DO NOTHING
            RETURNING grain_id_hash, grain_id_n0, grain_id_n1, version
        )
        """ + RecordWritten;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _serviceId;
    private readonly IStorageHasherPicker _hashes;
    private readonly Lane _inserts;
    private readonly Lane _updates;

    /// <param name="dataSource">The silo's own pool.</param>
    /// <param name="cluster">The service whose rows these are.</param>
    /// <param name="hashes">
    /// The grain storage's hasher picker (<see cref="AdoNetGrainStorageOptions.HashPicker"/>); by
    /// default the one Orleans configures when none is set.
    /// </param>
    public EventStateWriter(NpgsqlDataSource dataSource, IOptions<ClusterOptions> cluster, IStorageHasherPicker? hashes = null)
    {
        _dataSource = dataSource;
        _serviceId = cluster.Value.ServiceId;
        _hashes = hashes ?? new StorageHasherPicker([new OrleansDefaultHasher()]);
        _inserts = new Lane(InsertBatchAsync);
        _updates = new Lane(UpdateBatchAsync);
    }

    /// <summary>Statements run so far (for tests and diagnostics).</summary>
    public long Statements => Interlocked.Read(ref _statements);

    /// <summary>Rows written so far.</summary>
    public long Rows => Interlocked.Read(ref _rows);

    private long _statements;
    private long _rows;

    /// <summary>
    /// Stores the first state of the event grain <paramref name="grainId"/> (version 1) unless a row
    /// already exists for it; returns the ETag.
    /// </summary>
    /// <exception cref="InconsistentStateException">A row already exists for the event.</exception>
    public Task<string> InsertAsync(GrainId grainId, IGrainState<EventState> state, byte[] payload)
    {
        var id = grainId.GetGuidKey(out var extension);
        if (extension is not null)
        {
            throw new ArgumentException("An event's grain key has no extension.", nameof(grainId));
        }
        var hasher = _hashes.PickHasher(_serviceId, StorageNames.Default, EventGrain.StateName, grainId, state)
            ?? throw new InvalidOperationException("The grain storage's hasher picker gave no hasher.");
        var (n0, n1) = GuidKeys.Split(id);
        return _inserts.Enqueue(new Pending(id, n0, n1, 0, hasher.Hash(KeyHashBytes(id)), hasher.Hash(TypeHashBytes), payload));
    }

    /// <summary>
    /// Replaces the stored state of the event <paramref name="id"/> if its stored version is still
    /// <paramref name="etag"/>; returns the new ETag.
    /// </summary>
    /// <exception cref="InconsistentStateException">The stored version is no longer <paramref name="etag"/> (or the row is gone).</exception>
    public Task<string> UpdateAsync(Guid id, string etag, byte[] payload)
    {
        var expected = int.Parse(etag, NumberStyles.Integer, CultureInfo.InvariantCulture);
        var (n0, n1) = GuidKeys.Split(id);
        return _updates.Enqueue(new Pending(id, n0, n1, expected, 0, 0, payload));
    }

    private static readonly byte[] TypeHashBytes = Encoding.UTF8.GetBytes(EventGrain.StateName);

    /// <summary>
    /// The bytes the grain storage hashes for a Guid key without extension: the Guid's bytes in
    /// <see cref="Guid.ToByteArray()"/> order, reversed.
    /// </summary>
    internal static byte[] KeyHashBytes(Guid id)
    {
        var bytes = id.ToByteArray();
        Array.Reverse(bytes);
        return bytes;
    }

    private async Task InsertBatchAsync(List<Pending> batch)
    {
        // Rows are inserted in key order, so two silos inserting the same events wait for each
        // other in one order and cannot deadlock.
        await using var command = BatchCommand(InsertSql, batch);
        command.Parameters.Add(new NpgsqlParameter<int[]>("id_hash", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [.. batch.Select(p => p.IdHash)] });
        command.Parameters.Add(new NpgsqlParameter<int>("type_hash", NpgsqlDbType.Integer) { TypedValue = batch[0].TypeHash });
        await ExecuteAsync(command, batch, "event {0} is already stored");
    }

    private async Task UpdateBatchAsync(List<Pending> batch)
    {
        // Each row is found by one lookup of its full key, then updated by its address: a join of
        // the keys with orleans_storage would be planned once, while the table may still be small,
        // and scan every event's row ever after (measured: thousands of buffers per statement).
        // A row whose version moved on between the lookup and the update is passed over by the
        // update's recheck, like a stale version. The update visits the addresses in order, so two
        // writers lock the rows they share in the same order.
        await using var command = BatchCommand(UpdateSql, batch);
        command.Parameters.Add(new NpgsqlParameter<int[]>("expected", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [.. batch.Select(p => p.Expected)] });
        await ExecuteAsync(command, batch, "event {0} is no longer at version {1}");
    }

    /// <summary>A batch's statement with the parameters both kinds share: the service, the state name, and each row's key and payload.</summary>
    private NpgsqlCommand BatchCommand(string sql, List<Pending> batch)
    {
        var command = _dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string>("service", NpgsqlDbType.Text) { TypedValue = _serviceId });
        command.Parameters.Add(new NpgsqlParameter<string>("type", NpgsqlDbType.Text) { TypedValue = EventGrain.StateName });
        command.Parameters.Add(new NpgsqlParameter<long[]>("n0", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. batch.Select(p => p.N0)] });
        command.Parameters.Add(new NpgsqlParameter<long[]>("n1", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. batch.Select(p => p.N1)] });
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("payload", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = [.. batch.Select(p => p.Payload)] });
        return command;
    }

    /// <summary>
    /// Runs a batch's statement (which returns the key and new version of each row it wrote) and
    /// settles each write: its ETag, or a version conflict described by <paramref name="conflict"/>.
    /// </summary>
    private async Task ExecuteAsync(NpgsqlCommand command, List<Pending> batch, string conflict)
    {
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
                    "Version conflict (write): " + string.Format(CultureInfo.InvariantCulture, conflict, pending.Id, pending.Expected) + "."));
            }
        }
    }

    /// <summary>
    /// Writes of one kind: those that arrive while a statement runs wait and go together in the next
    /// one, at most <see cref="MaxBatch"/> and one per event.
    /// </summary>
    private sealed class Lane(Func<List<Pending>, Task> write)
    {
        private readonly object _gate = new();
        private readonly List<Pending> _queue = [];
        private bool _running;

        public Task<string> Enqueue(Pending pending)
        {
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
                    await write(batch);
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
    }

    private sealed record Pending(Guid Id, long N0, long N1, int Expected, int IdHash, int TypeHash, byte[] Payload)
    {
        public TaskCompletionSource<string> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
