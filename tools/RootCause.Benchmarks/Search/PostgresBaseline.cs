using Npgsql;

namespace RootCause.Benchmarks.Search;

/// <summary>
/// The PostgreSQL full-text baseline: the same records in typed tables with a weighted tsvector
/// (english configuration, GIN) and btree indexes for every filter and sort the queries use,
/// derived in SQL from the very rows in <c>orleans_storage</c> the index was built from.
/// </summary>
/// <remarks>
/// Weights follow the index's field boosts. Investigations: title A (4), tags B (2.5), root cause
/// C (1.5), description, remediation, lessons and notes D (1; notes are 0.8 in the index).
/// Events: event type A (3), tags B (2), data C (1), metadata D (0.7). ts_rank is given those
/// numbers, scaled into 0..1 as it requires, as its weight array ({D, C, B, A}). Keywords are
/// lower-cased as the index does.
/// </remarks>
public static class PostgresBaseline
{
    public const string InvestigationWeights = "{0.25, 0.375, 0.625, 1}";
    public const string EventWeights = "{0.2333, 0.3333, 0.6667, 1}";

    private const string CreateInvestigations = """
        DROP TABLE IF EXISTS bench_investigations;
        CREATE TABLE bench_investigations AS
        SELECT (p->>'id')::uuid AS id,
               lower(p->>'status') AS status,
               lower(p->>'impact_severity') AS severity,
               lower(p->>'priority') AS priority,
               lower(p->>'component_affected') AS component,
               lower(p->>'service_affected') AS service,
               lower(p->>'assigned_to') AS assigned_to,
               lower(p->>'created_by') AS created_by,
               ARRAY(SELECT lower(t) FROM jsonb_array_elements_text(p->'tags') AS t) AS tags,
               (p->>'detected_at')::timestamptz AS detected_at,
               (p->>'started_at')::timestamptz AS started_at,
               (p->>'resolved_at')::timestamptz AS resolved_at,
               (p->>'created_at')::timestamptz AS created_at,
               (p->>'updated_at')::timestamptz AS updated_at,
               (p->>'deleted_at') IS NOT NULL AS deleted,
               p->>'title' AS title,
               p->>'description' AS description,
               p->>'root_cause' AS root_cause,
               doc,
               setweight(to_tsvector('english', coalesce(p->>'title', '')), 'A')
               || setweight(to_tsvector('english', coalesce((SELECT string_agg(t, ' ') FROM jsonb_array_elements_text(p->'tags') AS t), '')), 'B')
               || setweight(to_tsvector('english', coalesce(p->>'root_cause', '')), 'C')
               || setweight(to_tsvector('english', concat_ws(' ', p->>'description', p->>'remediation', p->>'lessons_learned',
                      (SELECT string_agg(n->>'body', ' ') FROM jsonb_array_elements(coalesce(p->'notes', '[]'::jsonb)) AS n))), 'D') AS tsv
        FROM (SELECT convert_from(payload_binary, 'UTF8') AS doc, convert_from(payload_binary, 'UTF8')::jsonb AS p
              FROM orleans_storage
              WHERE service_id = @service AND grain_type = 'investigation' AND payload_binary IS NOT NULL) AS s;
        """;

    private const string CreateEvents = """
        DROP TABLE IF EXISTS bench_events;
        CREATE TABLE bench_events AS
        SELECT (p->>'id')::uuid AS id,
               lower(p->>'source') AS source,
               lower(p->>'severity') AS severity,
               lower(p->>'event_type') AS event_type,
               lower(p->'data'->>'component') AS component,
               ARRAY(SELECT lower(t) FROM jsonb_array_elements_text(p->'tags') AS t) AS tags,
               (p->>'timestamp')::timestamptz AS "timestamp",
               (p->>'parsed_at')::timestamptz AS parsed_at,
               (p->>'linked_at')::timestamptz AS linked_at,
               (p->>'deleted_at') IS NOT NULL AS deleted,
               p->>'event_type' AS event_type_text,
               p->'data' AS data,
               doc,
               setweight(to_tsvector('english', replace(replace(p->>'event_type', '_', ' '), '.', ' ') || ' ' || (p->>'event_type')), 'A')
               || setweight(to_tsvector('english', coalesce((SELECT string_agg(t, ' ') FROM jsonb_array_elements_text(p->'tags') AS t), '')), 'B')
               || setweight(jsonb_to_tsvector('english', p->'data', '["string", "numeric", "boolean", "key"]'), 'C')
               || setweight(jsonb_to_tsvector('english', p->'metadata', '["string", "numeric", "boolean", "key"]'), 'D') AS tsv
        FROM (SELECT convert_from(payload_binary, 'UTF8') AS doc, convert_from(payload_binary, 'UTF8')::jsonb AS p
              FROM orleans_storage
              WHERE service_id = @service AND grain_type = 'event' AND payload_binary IS NOT NULL) AS s;
        """;

    private static readonly string[] InvestigationIndexes =
    [
        "ALTER TABLE bench_investigations ADD PRIMARY KEY (id)",
        "CREATE INDEX bench_investigations_tsv ON bench_investigations USING gin (tsv)",
        "CREATE INDEX bench_investigations_created ON bench_investigations (created_at DESC, id)",
        "CREATE INDEX bench_investigations_status ON bench_investigations (status, created_at DESC, id)",
        "CREATE INDEX bench_investigations_component ON bench_investigations (component, created_at DESC, id)",
        "CREATE INDEX bench_investigations_detected ON bench_investigations (detected_at DESC, id)",
        "CREATE INDEX bench_investigations_resolved ON bench_investigations (resolved_at)",
        // A vacuum now, not autovacuum later: it sets hint bits and the visibility map (index-only
        // scans) before the queries, instead of running beside them.
        "VACUUM (ANALYZE) bench_investigations",
    ];

    private static readonly string[] EventIndexes =
    [
        "ALTER TABLE bench_events ADD PRIMARY KEY (id)",
        "CREATE INDEX bench_events_tsv ON bench_events USING gin (tsv)",
        "CREATE INDEX bench_events_timestamp ON bench_events (\"timestamp\" DESC, id)",
        "CREATE INDEX bench_events_component ON bench_events (component, \"timestamp\" DESC, id)",
        "CREATE INDEX bench_events_source ON bench_events (source, \"timestamp\" DESC, id)",
        "CREATE INDEX bench_events_severity ON bench_events (severity, \"timestamp\" DESC, id)",
        "VACUUM (ANALYZE) bench_events",
    ];

    /// <summary>Builds both tables and their indexes, the two kinds side by side on two connections.</summary>
    public static async Task BuildAsync(NpgsqlDataSource dataSource, string serviceId)
    {
        await Task.WhenAll(
            BuildOneAsync(dataSource, serviceId, CreateInvestigations, InvestigationIndexes),
            BuildOneAsync(dataSource, serviceId, CreateEvents, EventIndexes));
    }

    private static async Task BuildOneAsync(NpgsqlDataSource dataSource, string serviceId, string create, string[] indexes)
    {
        await Task.Yield();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var settings = new NpgsqlCommand("SET maintenance_work_mem = '512MB'", connection))
        {
            await settings.ExecuteNonQueryAsync();
        }
        await using (var command = new NpgsqlCommand(create, connection) { CommandTimeout = 0 })
        {
            command.Parameters.AddWithValue("service", serviceId);
            await command.ExecuteNonQueryAsync();
        }
        foreach (var sql in indexes)
        {
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Table plus index size of both tables, in bytes.</summary>
    public static async Task<(long Investigations, long Events)> SizesAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT pg_total_relation_size('bench_investigations'), pg_total_relation_size('bench_events')");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
