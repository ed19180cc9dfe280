using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace RootCause.Database;

/// <summary>Settings of change-sequence pruning (configuration section "Changes").</summary>
public sealed record ChangeRetentionOptions
{
    public const string Section = "Changes";

    /// <summary>
    /// How long changes are kept after their transaction ended. Readers further behind than this
    /// (a silo stopped for longer) rebuild from the grain states. Zero or less: never prune.
    /// </summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How often a silo records a mark and prunes (one silo at a time does the work).</summary>
    public TimeSpan PruneInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Rows deleted per statement, so no single transaction holds many locks or much WAL.</summary>
    public int DeleteBatchSize { get; init; } = 10_000;
}

/// <summary>What one pruning run did.</summary>
/// <param name="Ran">False when another silo held the pruning lock.</param>
/// <param name="PrunedThrough">The watermark after the run (null: nothing was ever pruned).</param>
/// <param name="Deleted">Change rows deleted by this run.</param>
public sealed record PruneResult(bool Ran, ulong? PrunedThrough, long Deleted);

/// <summary>
/// Keeps <c>grain_changes</c> from growing forever (migration 0007 explains the tables). A run records
/// a mark (now, the oldest running transaction id), picks the newest mark at least the retention
/// old as the new watermark, commits the watermark, and only then deletes the changes below it in
/// batches. Readers check the watermark in every read (<see cref="ChangeFeed"/>), so one that is
/// behind it rebuilds instead of skipping what was deleted.
/// </summary>
public sealed class ChangeRetention(NpgsqlDataSource dataSource)
{
    /// <summary>The advisory lock a pruning run takes: only one silo of a database moves the watermark at a time.</summary>
    public const long LockKey = 0x52435F4348414E47; // "RC_CHANG"

    private const string MarkSql = """
        INSERT INTO grain_change_marks (taken_at, oldest_running)
        VALUES (now(), pg_snapshot_xmin(pg_current_snapshot()))
        ON CONFLICT (taken_at) DO NOTHING
        """;

    private const string ChooseSql = """
        SELECT taken_at, oldest_running FROM grain_change_marks
        WHERE taken_at <= now() - @retention
        ORDER BY taken_at DESC
        LIMIT 1
        """;

    private const string RaiseSql = """
        INSERT INTO grain_changes_pruned (singleton, through_txid, pruned_at)
        VALUES (true, @through, now())
        ON CONFLICT (singleton) DO UPDATE
            SET through_txid = EXCLUDED.through_txid, pruned_at = EXCLUDED.pruned_at
            WHERE grain_changes_pruned.through_txid < EXCLUDED.through_txid
        """;

    private const string DeleteSql = """
        DELETE FROM grain_changes
        WHERE seq IN (SELECT seq FROM grain_changes WHERE txid < @through ORDER BY txid, seq LIMIT @batch)
        """;

    /// <summary>Records a mark and prunes what lies behind the newest mark at least <paramref name="retention"/> old.</summary>
    public async Task<PruneResult> PruneAsync(TimeSpan retention, int deleteBatchSize, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(deleteBatchSize, 1);
        ulong? through;
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            await using (var locked = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock(@key)", connection, transaction))
            {
                locked.Parameters.Add(new NpgsqlParameter<long>("key", NpgsqlDbType.Bigint) { TypedValue = LockKey });
                if (!(bool)(await locked.ExecuteScalarAsync(ct))!)
                {
                    return new PruneResult(false, null, 0);
                }
            }
            await using (var mark = new NpgsqlCommand(MarkSql, connection, transaction))
            {
                await mark.ExecuteNonQueryAsync(ct);
            }
            DateTimeOffset? chosenAt = null;
            ulong chosen = 0;
            await using (var choose = new NpgsqlCommand(ChooseSql, connection, transaction))
            {
                choose.Parameters.Add(new NpgsqlParameter<TimeSpan>("retention", NpgsqlDbType.Interval) { TypedValue = retention });
                await using var reader = await choose.ExecuteReaderAsync(ct);
                if (await reader.ReadAsync(ct))
                {
                    chosenAt = reader.GetFieldValue<DateTimeOffset>(0);
                    chosen = reader.GetFieldValue<ulong>(1);
                }
            }
            if (chosenAt is { } at)
            {
                await using var raise = new NpgsqlCommand(RaiseSql, connection, transaction);
                raise.Parameters.Add(new NpgsqlParameter<ulong>("through", NpgsqlDbType.Xid8) { TypedValue = chosen });
                await raise.ExecuteNonQueryAsync(ct);
                // Marks older than the chosen one can never be chosen again.
                await using var forget = new NpgsqlCommand("DELETE FROM grain_change_marks WHERE taken_at < @at", connection, transaction);
                forget.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", NpgsqlDbType.TimestampTz) { TypedValue = at });
                await forget.ExecuteNonQueryAsync(ct);
            }
            await using (var current = new NpgsqlCommand("SELECT through_txid FROM grain_changes_pruned", connection, transaction))
            {
                var value = await current.ExecuteScalarAsync(ct);
                through = value is null or DBNull ? null : (ulong)value;
            }
            // The watermark commits before anything is deleted: a read that misses a deleted row sees it.
            await transaction.CommitAsync(ct);
        }

        if (through is not { } watermark)
        {
            return new PruneResult(true, null, 0);
        }
        long deleted = 0;
        while (true)
        {
            await using var delete = dataSource.CreateCommand(DeleteSql);
            delete.Parameters.Add(new NpgsqlParameter<ulong>("through", NpgsqlDbType.Xid8) { TypedValue = watermark });
            delete.Parameters.Add(new NpgsqlParameter<int>("batch", NpgsqlDbType.Integer) { TypedValue = deleteBatchSize });
            var rows = await delete.ExecuteNonQueryAsync(ct);
            deleted += rows;
            if (rows < deleteBatchSize)
            {
                break;
            }
        }
        return new PruneResult(true, watermark, deleted);
    }
}

/// <summary>Runs <see cref="ChangeRetention"/> on every silo every <see cref="ChangeRetentionOptions.PruneInterval"/>.</summary>
public sealed class ChangeRetentionService(
    ChangeRetention retention,
    ChangeRetentionOptions options,
    TimeProvider time,
    ILogger<ChangeRetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Retention <= TimeSpan.Zero)
        {
            logger.LogInformation("Change retention is off (Changes:Retention {Retention}): the change sequence is never pruned", options.Retention);
            return;
        }
        // The first mark soon after start, so a fresh cluster has one a retention later.
        var delay = TimeSpan.FromSeconds(Math.Min(60, options.PruneInterval.TotalSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, time, stoppingToken);
                var result = await retention.PruneAsync(options.Retention, options.DeleteBatchSize, stoppingToken);
                if (result.Deleted > 0)
                {
                    logger.LogInformation("Change retention: deleted {Deleted} changes of transactions below {Watermark} (older than {Retention})",
                        result.Deleted, result.PrunedThrough, options.Retention);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning(e, "Change retention: the pruning run failed; it runs again in {Interval}", options.PruneInterval);
            }
            delay = options.PruneInterval;
        }
    }
}
