using System.Text.Json;
using Npgsql;

namespace RootCause.Benchmarks.Linking;

/// <summary>How far the linker got with one phase's events, as stored.</summary>
public sealed record LinkingProgress(long Events, long Checked, DateTimeOffset? LastCheckedAt);

/// <summary>The database's commits and written rows so far (pg_stat_database), to count what a phase cost in transactions.</summary>
public sealed record DatabaseActivity(long Commits, long RowsWritten)
{
    public static DatabaseActivity operator -(DatabaseActivity after, DatabaseActivity before) =>
        new(after.Commits - before.Commits, after.RowsWritten - before.RowsWritten);
}

/// <summary>One stored event of a phase: whether the linker evaluated it, what it is linked to, how many suggestions it holds.</summary>
public sealed record StoredEventLinks(bool Checked, IReadOnlyList<Guid> InvestigationIds, int Suggestions, int StoredBytes);

/// <summary>
/// Reads the linker's results straight from the stored event states (<c>orleans_storage</c>, JSON in
/// <c>payload_binary</c>), selecting a phase's events by the <c>bench_phase</c> the workload put in
/// their metadata. One query parses every stored event once (some hundreds of milliseconds of
/// PostgreSQL CPU at this size), so it runs only once the cheap in-process counter says a phase
/// is done (and then until storage agrees), and once for the checks at the end. Reading storage
/// rather than calling each event grain's GetAsync keeps the check from activating 60,000 grains
/// (and loading their states) while the linker is being measured.
/// </summary>
public sealed class StoredLinks(NpgsqlDataSource source, string serviceId)
{
    private const string PhaseEvents = """
        FROM (SELECT convert_from(payload_binary, 'UTF8')::jsonb AS p, octet_length(payload_binary) AS bytes
              FROM orleans_storage
              WHERE service_id = @service AND grain_type = 'event' AND payload_binary IS NOT NULL) AS events
        WHERE p -> 'metadata' ->> 'bench_phase' = @phase
        """;

    public async Task<LinkingProgress> ProgressAsync(string phase)
    {
        await using var command = source.CreateCommand(
            $"SELECT count(*), count(p ->> 'linker_checked_at'), max((p ->> 'linker_checked_at')::timestamptz) {PhaseEvents}");
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("phase", phase);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        DateTimeOffset? last = reader.IsDBNull(2) ? null : new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero);
        return new LinkingProgress(reader.GetInt64(0), reader.GetInt64(1), last);
    }

    /// <summary>Every stored event of the phase, by source id.</summary>
    public async Task<Dictionary<string, StoredEventLinks>> EventsAsync(string phase)
    {
        await using var command = source.CreateCommand(
            $"""
            SELECT p ->> 'source_id', p ->> 'linker_checked_at' IS NOT NULL, coalesce(p -> 'investigation_ids', '[]'::jsonb)::text,
                   (SELECT count(*) FROM jsonb_array_elements(coalesce(p -> 'links', '[]'::jsonb)) AS l WHERE l ->> 'status' = 'suggested'),
                   bytes
            {PhaseEvents}
            """);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("phase", phase);
        var result = new Dictionary<string, StoredEventLinks>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var ids = JsonSerializer.Deserialize<Guid[]>(reader.GetString(2)) ?? [];
            result[reader.GetString(0)] = new StoredEventLinks(reader.GetBoolean(1), ids, (int)reader.GetInt64(3), reader.GetInt32(4));
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
