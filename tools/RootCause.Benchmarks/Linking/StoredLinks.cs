using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using RootCause.Database;

namespace RootCause.Benchmarks.Linking;

/// <summary>How far the linker got with one phase's events, as stored; the latest <c>linker_checked_at</c> once known.</summary>
public sealed record LinkingProgress(long Events, long Checked, DateTimeOffset? LastCheckedAt);

/// <summary>The database's commits and written rows so far (pg_stat_database), to count what a phase cost in transactions.</summary>
public sealed record DatabaseActivity(long Commits, long RowsWritten)
{
    public static DatabaseActivity operator -(DatabaseActivity after, DatabaseActivity before) =>
        new(after.Commits - before.Commits, after.RowsWritten - before.RowsWritten);
}

/// <summary>One stored event of a phase: whether the linker evaluated it, what it is linked to, how many suggestions it holds.</summary>
public sealed record StoredEventLinks(DateTimeOffset? CheckedAt, IReadOnlyList<Guid> InvestigationIds, int Suggestions, int StoredBytes);

/// <summary>
/// Reads the linker's results straight from storage (<c>orleans_storage</c>) rather than through
/// 60,000 event grains, which would activate them and load their states while the linker is being
/// measured. Two reads:
/// <list type="bullet">
/// <item><see cref="ProgressAsync"/>, cheap enough to repeat: the phase's rows by their keys (the
/// unique index), counting those written again after the ingest (<c>version</c> ≥ 2: in these
/// phases the only write after the ingest's is the linker's, which stores <c>linker_checked_at</c>).</item>
/// <item><see cref="EventsAsync"/>, once at the end: every stored state of the phase parsed as JSON
/// (selected by the <c>bench_phase</c> the workload put in the metadata), for the exact checks and
/// the latest <c>linker_checked_at</c>. It parses every event row once, which at the default size
/// takes PostgreSQL tens of seconds.</item>
/// </list>
/// </summary>
public sealed class StoredLinks(NpgsqlDataSource source, string serviceId)
{
    private const string PhaseEvents = """
        FROM (SELECT convert_from(payload_binary, 'UTF8')::jsonb AS p, octet_length(payload_binary) AS bytes
              FROM orleans_storage
              WHERE service_id = @service AND grain_type = 'event' AND payload_binary IS NOT NULL) AS events
        WHERE p -> 'metadata' ->> 'bench_phase' = @phase
        """;

    /// <summary>How many of these events are stored, and how many the linker has written since their ingest.</summary>
    public async Task<LinkingProgress> ProgressAsync(IReadOnlyCollection<Guid> eventIds)
    {
        var n0 = new long[eventIds.Count];
        var n1 = new long[eventIds.Count];
        var i = 0;
        foreach (var id in eventIds)
        {
            (n0[i], n1[i]) = GuidKeys.Split(id);
            i++;
        }
        await using var command = source.CreateCommand(
            """
            SELECT count(*), count(*) FILTER (WHERE s.version >= 2)
            FROM unnest(@n0, @n1) AS k(n0, n1)
            JOIN orleans_storage s ON s.service_id = @service AND s.grain_type = 'event'
             AND s.grain_id_n0 = k.n0 AND s.grain_id_n1 = k.n1 AND coalesce(s.grain_id_extension, '') = ''
            """);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.Add(new NpgsqlParameter<long[]>("n0", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = n0 });
        command.Parameters.Add(new NpgsqlParameter<long[]>("n1", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = n1 });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new LinkingProgress(reader.GetInt64(0), reader.GetInt64(1), null);
    }

    /// <summary>Every stored event of the phase, by source id.</summary>
    public async Task<Dictionary<string, StoredEventLinks>> EventsAsync(string phase)
    {
        await using var command = source.CreateCommand(
            $"""
            SELECT p ->> 'source_id', (p ->> 'linker_checked_at')::timestamptz, coalesce(p -> 'investigation_ids', '[]'::jsonb)::text,
                   (SELECT count(*) FROM jsonb_array_elements(coalesce(p -> 'links', '[]'::jsonb)) AS l WHERE l ->> 'status' = 'suggested'),
                   bytes
            {PhaseEvents}
            """);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("phase", phase);
        command.CommandTimeout = 900;
        var result = new Dictionary<string, StoredEventLinks>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var ids = JsonSerializer.Deserialize<Guid[]>(reader.GetString(2)) ?? [];
            result[reader.GetString(0)] = new StoredEventLinks(
                reader.IsDBNull(1) ? null : new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero), ids, (int)reader.GetInt64(3), reader.GetInt32(4));
        }
        return result;
    }

    public async Task<DatabaseActivity> ActivityAsync()
    {
        // Statistics read in a transaction are a snapshot: clear it so each call sees the current counts.
        await using var command = source.CreateCommand(
            "SELECT pg_stat_clear_snapshot(), xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = current_database()");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new DatabaseActivity(reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>Stream messages still queued and messages given up on (dead letters).</summary>
    public async Task<(long Queued, long DeadLetters)> QueuesAsync()
    {
        await using var command = source.CreateCommand(
            "SELECT (SELECT count(*) FROM orleans_stream_messages), (SELECT count(*) FROM orleans_stream_dead_letters)");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
