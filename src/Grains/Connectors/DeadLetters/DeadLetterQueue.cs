using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using RootCause.Common;
using RootCause.Events;

namespace RootCause.Connectors;

/// <summary>
/// The dead-letter queue in PostgreSQL (table <c>event_dlq</c>, migration 0005), shared by every
/// silo. Times come from the <see cref="TimeProvider"/>, so tests on fake time see exact values.
/// </summary>
public sealed class DeadLetterQueue(NpgsqlDataSource dataSource, TimeProvider time, ConnectorMetrics metrics, ILogger<DeadLetterQueue> logger)
    : IDeadLetterQueue
{
    private const string Columns = """
        id, connector, source, kind, content_type, payload, octet_length(payload), error, attempts,
        first_failed_at, last_failed_at, status, replayed_at, replayed_event_ids
        """;

    private const string ListColumns = """
        id, connector, source, kind, content_type, NULL::bytea, octet_length(payload), error, attempts,
        first_failed_at, last_failed_at, status, replayed_at, replayed_event_ids
        """;

    private const string Filter = """
        (cardinality(@connectors) = 0 OR connector = ANY(@connectors))
        AND (cardinality(@sources) = 0 OR source = ANY(@sources))
        AND (cardinality(@statuses) = 0 OR status = ANY(@statuses))
        """;

    public async Task<DeadLetter> RecordFailureAsync(DeadLetterFailure failure, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentException.ThrowIfNullOrWhiteSpace(failure.Connector);
        ArgumentException.ThrowIfNullOrWhiteSpace(failure.Kind);
        ArgumentOutOfRangeException.ThrowIfLessThan(failure.Attempts, 1);
        var source = RootCauseJson.Name(failure.Source);
        await using var command = dataSource.CreateCommand($"""
            INSERT INTO event_dlq (connector, source, kind, content_type, payload, fingerprint, error, attempts, first_failed_at, last_failed_at)
            VALUES (@connector, @source, @kind, @content_type, @payload, @fingerprint, @error, @attempts, @now, @now)
            ON CONFLICT (fingerprint) DO UPDATE SET
                attempts = event_dlq.attempts + EXCLUDED.attempts,
                error = EXCLUDED.error,
                last_failed_at = GREATEST(event_dlq.last_failed_at, EXCLUDED.last_failed_at),
                status = 'pending'
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("connector", failure.Connector);
        command.Parameters.AddWithValue("source", source);
        command.Parameters.AddWithValue("kind", failure.Kind);
        command.Parameters.AddWithValue("content_type", failure.ContentType);
        command.Parameters.AddWithValue("payload", failure.Payload);
        command.Parameters.AddWithValue("fingerprint", Fingerprint(failure.Connector, source, failure.Kind, failure.ContentType, failure.Payload));
        command.Parameters.AddWithValue("error", failure.Error);
        command.Parameters.AddWithValue("attempts", failure.Attempts);
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        var entry = await ReadOneAsync(command, cancellationToken) ?? throw new InvalidOperationException("The dead-letter upsert returned no row.");
        metrics.DeadLettered(entry.Connector);
        ConnectorLog.DeadLettered(logger, entry.Id, entry.Connector, source, entry.Kind, entry.Error, entry.Attempts);
        await RefreshDepthAsync(cancellationToken);
        return entry;
    }

    public async Task<DeadLetterPage> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var batch = dataSource.CreateBatch();
        var count = new NpgsqlBatchCommand($"SELECT count(*) FROM event_dlq WHERE {Filter}");
        AddFilters(count.Parameters, query);
        var page = new NpgsqlBatchCommand($"""
            SELECT {ListColumns} FROM event_dlq WHERE {Filter}
            ORDER BY last_failed_at DESC, id DESC LIMIT @limit OFFSET @offset
            """);
        AddFilters(page.Parameters, query);
        page.Parameters.AddWithValue("limit", query.PerPage);
        page.Parameters.AddWithValue("offset", (long)(query.Page - 1) * query.PerPage);
        batch.BatchCommands.Add(count);
        batch.BatchCommands.Add(page);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var total = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken);
        var items = new List<DeadLetter>();
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(Read(reader));
        }
        return new DeadLetterPage(items, total, query.Page, query.PerPage);
    }

    public async Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM event_dlq WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        return await ReadOneAsync(command, cancellationToken);
    }

    public async Task<bool> DeleteAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM event_dlq WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        await RefreshDepthAsync(cancellationToken);
        return deleted;
    }

    public async Task<long> DepthAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM event_dlq WHERE status = 'pending'");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The entry was replayed into these events.</summary>
    public async Task<DeadLetter?> MarkReplayedAsync(long id, IReadOnlyList<Guid> eventIds, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE event_dlq SET status = 'replayed', replayed_at = @now, replayed_event_ids = @ids
            WHERE id = @id RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        command.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid, eventIds.ToArray());
        var entry = await ReadOneAsync(command, cancellationToken);
        await RefreshDepthAsync(cancellationToken);
        return entry;
    }

    /// <summary>A replay failed: one more attempt, the new error, pending again.</summary>
    public async Task<DeadLetter?> RecordReplayFailureAsync(long id, string error, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE event_dlq SET attempts = attempts + 1, error = @error, last_failed_at = GREATEST(last_failed_at, @now), status = 'pending'
            WHERE id = @id RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("error", error);
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        var entry = await ReadOneAsync(command, cancellationToken);
        await RefreshDepthAsync(cancellationToken);
        return entry;
    }

    /// <summary>Ids of pending entries matching the filters, oldest failure first.</summary>
    public async Task<IReadOnlyList<long>> PendingIdsAsync(DeadLetterQuery filters, int max, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT id FROM event_dlq WHERE status = 'pending' AND {Filter}
            ORDER BY first_failed_at, id LIMIT @limit
            """);
        AddFilters(command.Parameters, filters with { Statuses = [] });
        command.Parameters.AddWithValue("limit", max);
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetInt64(0));
        }
        return ids;
    }

    /// <summary>Reads the pending count into the depth gauge.</summary>
    public async Task RefreshDepthAsync(CancellationToken cancellationToken = default) =>
        metrics.ReportDeadLetterDepth(await DepthAsync(cancellationToken));

    /// <summary>What makes two failures the same dead letter.</summary>
    public static string Fingerprint(string connector, string source, string kind, string contentType, byte[] payload)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"rootcause:dlq:v1\n{connector}\n{source}\n{kind}\n{contentType}\n"));
        hash.AppendData(payload);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void AddFilters(NpgsqlParameterCollection parameters, DeadLetterQuery query)
    {
        parameters.AddWithValue("connectors", NpgsqlDbType.Array | NpgsqlDbType.Text, query.Connectors.ToArray());
        parameters.AddWithValue("sources", NpgsqlDbType.Array | NpgsqlDbType.Text, query.Sources.Select(s => RootCauseJson.Name(s)).ToArray());
        parameters.AddWithValue("statuses", NpgsqlDbType.Array | NpgsqlDbType.Text, query.Statuses.Select(s => RootCauseJson.Name(s)).ToArray());
    }

    private static async Task<DeadLetter?> ReadOneAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static DeadLetter Read(NpgsqlDataReader reader)
    {
        RootCauseJson.TryParse<EventSource>(reader.GetString(2), out var source);
        RootCauseJson.TryParse<DeadLetterStatus>(reader.GetString(11), out var status);
        return new DeadLetter
        {
            Id = reader.GetInt64(0),
            Connector = reader.GetString(1),
            Source = source,
            Kind = reader.GetString(3),
            ContentType = reader.GetString(4),
            Payload = reader.IsDBNull(5) ? [] : reader.GetFieldValue<byte[]>(5),
            PayloadSize = reader.GetInt32(6),
            Error = reader.GetString(7),
            Attempts = reader.GetInt32(8),
            FirstFailedAt = reader.GetFieldValue<DateTimeOffset>(9),
            LastFailedAt = reader.GetFieldValue<DateTimeOffset>(10),
            Status = status,
            ReplayedAt = reader.IsDBNull(12) ? null : reader.GetFieldValue<DateTimeOffset>(12),
            ReplayedEventIds = reader.GetFieldValue<Guid[]>(13),
        };
    }
}
