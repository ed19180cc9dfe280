using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Concurrency;
using Orleans.Configuration;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Queries;

/// <summary>
/// Lists straight from the stored grain state in PostgreSQL, the source of truth. This serves
/// small and medium installations; filtered lists, search and analytics at scale are answered
/// from the per-silo search index instead.
/// </summary>
[StatelessWorker]
[GrainType("query")]
public sealed class QueryGrain(NpgsqlDataSource dataSource, IOptions<ClusterOptions> cluster) : Grain, IQueryGrain
{
    public async Task<Page<Investigation>> ListInvestigationsAsync(PageRequest request)
    {
        var states = await ListAsync<InvestigationState>("investigation", "created_at", request);
        return new Page<Investigation>([.. states.Items.Select(s => s.ToInvestigation())], states.Total, request.Number, request.PerPage);
    }

    public async Task<Page<Event>> ListEventsAsync(PageRequest request)
    {
        var states = await ListAsync<EventState>("event", "timestamp", request);
        return new Page<Event>([.. states.Items.Select(s => s.ToEvent())], states.Total, request.Number, request.PerPage);
    }

    private async Task<(List<T> Items, long Total)> ListAsync<T>(string stateName, string sortField, PageRequest request)
    {
        // sortField is one of two constants above, never input.
        var sql = $"""
            WITH records AS (
                SELECT convert_from(payload_binary, 'UTF8')::jsonb AS doc
                FROM orleans_storage
                WHERE service_id = @service AND grain_type = @type AND payload_binary IS NOT NULL
            )
            SELECT doc::text, count(*) OVER () AS total
            FROM records
            WHERE (@includeDeleted OR doc ->> 'deleted_at' IS NULL) AND coalesce(doc ->> 'id', '') <> ''
            ORDER BY (doc ->> '{sortField}')::timestamptz DESC NULLS LAST, doc ->> 'id'
            LIMIT @limit OFFSET @offset
            """;
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("service", cluster.Value.ServiceId);
        command.Parameters.AddWithValue("type", stateName);
        command.Parameters.AddWithValue("includeDeleted", request.IncludeDeleted);
        command.Parameters.AddWithValue("limit", request.PerPage);
        command.Parameters.AddWithValue("offset", (long)(request.Number - 1) * request.PerPage);
        var items = new List<T>();
        long total = 0;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            items.Add(System.Text.Json.JsonSerializer.Deserialize<T>(reader.GetString(0), RootCauseJson.Options)!);
            total = reader.GetInt64(1);
        }
        if (items.Count == 0 && request.Number > 1)
        {
            total = await CountAsync(stateName, request.IncludeDeleted);
        }
        return (items, total);
    }

    private async Task<long> CountAsync(string stateName, bool includeDeleted)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT count(*) FROM orleans_storage
            WHERE service_id = @service AND grain_type = @type AND payload_binary IS NOT NULL
              AND (@includeDeleted OR convert_from(payload_binary, 'UTF8')::jsonb ->> 'deleted_at' IS NULL)
            """);
        command.Parameters.AddWithValue("service", cluster.Value.ServiceId);
        command.Parameters.AddWithValue("type", stateName);
        command.Parameters.AddWithValue("includeDeleted", includeDeleted);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
