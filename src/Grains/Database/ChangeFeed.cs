using Npgsql;
using NpgsqlTypes;

namespace RootCause.Database;

/// <summary>
/// Reads the change sequence (<c>grain_changes</c>) that every grain-state write appends to in the
/// same transaction. A reader keeps a <see cref="ChangeCursor"/> and never misses a committed change,
/// although <c>seq</c> values commit out of order: a row is only handed out once its transaction can
/// no longer be in progress (its xid is below the oldest running xid). docs/schema.md has the argument.
/// </summary>
public sealed class ChangeFeed(NpgsqlDataSource dataSource)
{
    // One statement, so the horizon (xmin of this statement's snapshot) and the rows come from the
    // same snapshot: every transaction with an xid below xmin has ended before that snapshot, so if
    // it committed, its rows are visible here.
    private const string ReadSql = """
        WITH horizon AS (
            SELECT pg_snapshot_xmin(s) AS xmin, pg_snapshot_xmax(s) AS xmax,
                   (SELECT through_txid FROM grain_changes_pruned) AS pruned
            FROM pg_current_snapshot() AS s
        )
        SELECT horizon.xmin, horizon.xmax, c.seq, c.txid, c.grain_type, c.grain_id_hash, c.grain_id_n0, c.grain_id_n1,
               c.grain_id_extension, c.version, c.cleared, c.changed_at, horizon.pruned
        FROM horizon
        LEFT JOIN LATERAL (
            SELECT *
            FROM grain_changes
            WHERE txid >= @horizon
              AND txid < horizon.xmin
              AND (txid > @horizon OR seq > @after_seq)
            ORDER BY txid, seq
            LIMIT @limit
        ) AS c ON true
        ORDER BY c.txid, c.seq
        """;

    // The same read restricted to some state names (e.g. only investigations).
    private static readonly string FilteredReadSql = ReadSql.Replace(
        "AND (txid > @horizon OR seq > @after_seq)", "AND (txid > @horizon OR seq > @after_seq)\n              AND grain_type = ANY(@types)", StringComparison.Ordinal);

    /// <summary>
    /// The xmax of a snapshot taken now: every transaction that committed before this call has an
    /// id below it, so a reader whose horizon has reached it has seen all of them.
    /// </summary>
    public async Task<ulong> SnapshotXmaxAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT pg_snapshot_xmax(pg_current_snapshot())");
        return (ulong)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Reads the changes of transactions with xid at or above <paramref name="horizon"/> that have
    /// ended; same as <see cref="ReadAsync(ChangeCursor, int, CancellationToken)"/> from
    /// <c>new ChangeCursor(horizon)</c>.
    /// </summary>
    public Task<ChangeBatch> ReadAsync(ulong horizon, int maxRows, CancellationToken ct) =>
        ReadAsync(new ChangeCursor(horizon), maxRows, ct);

    /// <summary>
    /// Reads up to <paramref name="maxRows"/> committed changes after <paramref name="cursor"/>, in
    /// (transaction id, seq) order, and the cursor to continue from. Store the returned cursor
    /// together with whatever was derived from the rows (the search index commits it with the index),
    /// and pass it to the next call: no row is returned twice, and none is skipped.
    /// </summary>
    public Task<ChangeBatch> ReadAsync(ChangeCursor cursor, int maxRows, CancellationToken ct) => ReadAsync(cursor, maxRows, null, ct);

    /// <summary>The same, returning only changes of the state names in <paramref name="grainTypes"/> (all when null); the cursor still moves over the others.</summary>
    public async Task<ChangeBatch> ReadAsync(ChangeCursor cursor, int maxRows, IReadOnlyCollection<string>? grainTypes, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);

        await using var command = dataSource.CreateCommand(grainTypes is null ? ReadSql : FilteredReadSql);
        if (grainTypes is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string[]>("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. grainTypes] });
        }
        command.Parameters.Add(new NpgsqlParameter<ulong>("horizon", NpgsqlDbType.Xid8) { TypedValue = cursor.Horizon });
        command.Parameters.Add(new NpgsqlParameter<long>("after_seq", NpgsqlDbType.Bigint) { TypedValue = cursor.AfterSeq });
        // One extra row tells whether the page was truncated.
        command.Parameters.Add(new NpgsqlParameter<int>("limit", NpgsqlDbType.Integer) { TypedValue = maxRows + 1 });

        var rows = new List<ChangeRow>();
        ulong xmin = 0;
        ulong xmax = 0;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                xmin = reader.GetFieldValue<ulong>(0);
                xmax = reader.GetFieldValue<ulong>(1);
                // Changes below the pruning watermark may be gone: a cursor below it cannot go on
                // without possibly skipping some, so the reader must start again from the states.
                if (!reader.IsDBNull(12) && reader.GetFieldValue<ulong>(12) is var pruned && cursor.Horizon < pruned)
                {
                    throw new ChangeFeedExpiredException(cursor, pruned);
                }
                if (reader.IsDBNull(2))
                {
                    continue; // no rows: the LEFT JOIN still returns the horizon
                }

                rows.Add(new ChangeRow(
                    Seq: reader.GetInt64(2),
                    TxId: reader.GetFieldValue<ulong>(3),
                    GrainType: reader.GetString(4),
                    GrainIdHash: reader.GetInt32(5),
                    GrainIdN0: reader.GetInt64(6),
                    GrainIdN1: reader.GetInt64(7),
                    GrainIdExtension: reader.IsDBNull(8) ? null : reader.GetString(8),
                    Version: reader.GetInt32(9),
                    Cleared: reader.GetBoolean(10),
                    ChangedAt: reader.GetFieldValue<DateTimeOffset>(11)));
            }
        }

        if (rows.Count > maxRows)
        {
            // Truncated: everything up to the last returned row is done. Its transaction has ended
            // (its xid is below xmin), so the rest of it is already visible and follows by seq.
            rows.RemoveRange(maxRows, rows.Count - maxRows);
            var last = rows[^1];
            return new ChangeBatch(rows, new ChangeCursor(last.TxId, last.Seq), HasMore: true) { SnapshotXmax = xmax };
        }

        // Complete up to xmin. xmin never moves backwards, but a cursor from elsewhere (another
        // database, a restored backup) might be ahead of it: then keep the cursor as it is.
        var next = xmin > cursor.Horizon ? new ChangeCursor(xmin) : cursor;
        return new ChangeBatch(rows, next, HasMore: false) { SnapshotXmax = xmax };
    }
}

/// <summary>
/// The reader's cursor lies below the pruning watermark (<see cref="ChangeRetention"/>): changes it
/// has not read may have been deleted. It must rebuild what it derives from the grain states and
/// continue from a fresh horizon.
/// </summary>
public sealed class ChangeFeedExpiredException(ChangeCursor cursor, ulong prunedThrough)
    : Exception($"The change feed was pruned through transaction {prunedThrough}; a reader at {cursor.Horizon} must start again from the grain states.")
{
    public ChangeCursor Cursor { get; } = cursor;

    public ulong PrunedThrough { get; } = prunedThrough;
}

/// <summary>
/// Where a change-feed reader stands: every transaction with xid below <see cref="Horizon"/> is fully
/// processed, and of transaction <see cref="Horizon"/> itself the rows with seq up to
/// <see cref="AfterSeq"/> (0 = none of them). Start from <c>new ChangeCursor(0)</c> to read everything.
/// </summary>
public readonly record struct ChangeCursor(ulong Horizon, long AfterSeq = 0);

/// <summary>A page of changes and the cursor to read the next page from.</summary>
/// <param name="Rows">Committed changes in (transaction id, seq) order.</param>
/// <param name="Next">The cursor after these rows.</param>
/// <param name="HasMore">True when the page was cut at the requested size and more rows are ready now.</param>
public sealed record ChangeBatch(IReadOnlyList<ChangeRow> Rows, ChangeCursor Next, bool HasMore)
{
    /// <summary>
    /// The xmax of the read's snapshot: every transaction that committed before the read began has
    /// an id below it, so a later read whose horizon reaches it has seen all of them.
    /// </summary>
    public ulong SnapshotXmax { get; init; }

    /// <summary>The horizon of <see cref="Next"/>.</summary>
    public ulong NewHorizon => Next.Horizon;
}

/// <summary>One state write or clear, as recorded by the persistence SQL.</summary>
/// <param name="Seq">Insertion order (identity); unique, but commits can make it appear out of order.</param>
/// <param name="TxId">The writing transaction's id (xid8).</param>
/// <param name="GrainType">The state name Orleans passes as grain type (e.g. "investigation").</param>
/// <param name="GrainIdHash">Orleans' hash of the grain key (depends on the configured hasher).</param>
/// <param name="GrainIdN0">First 8 bytes of a Guid key (little-endian), 0 otherwise.</param>
/// <param name="GrainIdN1">Last 8 bytes of a Guid key, or the integer key, 0 for string keys.</param>
/// <param name="GrainIdExtension">The string key, or a Guid/integer key's extension; null if none.</param>
/// <param name="Version">The state version this write produced.</param>
/// <param name="Cleared">True for ClearState (the state is gone, payload NULL or row deleted).</param>
/// <param name="ChangedAt">The writing transaction's start time (PostgreSQL now()).</param>
public sealed record ChangeRow(
    long Seq,
    ulong TxId,
    string GrainType,
    int GrainIdHash,
    long GrainIdN0,
    long GrainIdN1,
    string? GrainIdExtension,
    int Version,
    bool Cleared,
    DateTimeOffset ChangedAt)
{
    /// <summary>The Guid key of a Guid-keyed grain, rebuilt from n0 and n1 the way Orleans split it.</summary>
    public Guid GuidKey => GuidKeys.Join(GrainIdN0, GrainIdN1);
}
