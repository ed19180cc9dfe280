using Npgsql;
using NpgsqlTypes;

namespace RootCause.Tests.Streams;

/// <summary>
/// Runs the stream statements stored in OrleansQuery with the parameter names and types the Orleans
/// ADO.NET stream provider binds (text ids, Int32 counts and second timeouts, Int64 message ids,
/// bytea payload, the confirmation items as text), against one queue.
/// </summary>
internal sealed class StreamQueries(string connectionString, string queueId) : IAsyncDisposable
{
    private NpgsqlConnection? _connection;

    public const string ServiceId = "rootcause-tests";
    public const string ProviderId = "events";

    public string QueueId { get; } = queueId;

    public async Task<long> QueueAsync(byte[] payload, int expirySeconds = 600)
    {
        await using var command = await CommandAsync("QueueStreamMessageKey");
        command.Parameters.Add(new NpgsqlParameter("Payload", NpgsqlDbType.Bytea) { Value = payload });
        command.Parameters.Add(Int("ExpiryTimeout", expirySeconds));
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(ServiceId, reader["ServiceId"]);
        Assert.Equal(ProviderId, reader["ProviderId"]);
        Assert.Equal(QueueId, reader["QueueId"]);
        var id = (long)reader["MessageId"];
        Assert.False(await reader.ReadAsync());
        return id;
    }

    public async Task<List<Dequeued>> GetAsync(
        int maxCount = 10, int maxAttempts = 5, int visibilitySeconds = 60, int removalSeconds = 3600,
        int evictionIntervalSeconds = 10, int evictionBatchSize = 1000, NpgsqlConnection? connection = null, bool prepare = false)
    {
        await using var command = await CommandAsync("GetStreamMessagesKey", connection);
        command.Parameters.Add(Int("MaxCount", maxCount));
        command.Parameters.Add(Int("MaxAttempts", maxAttempts));
        command.Parameters.Add(Int("VisibilityTimeout", visibilitySeconds));
        command.Parameters.Add(Int("RemovalTimeout", removalSeconds));
        command.Parameters.Add(Int("EvictionInterval", evictionIntervalSeconds));
        command.Parameters.Add(Int("EvictionBatchSize", evictionBatchSize));
        if (prepare)
        {
            // A server-side prepared statement, as Npgsql makes of a statement the provider repeats.
            await command.PrepareAsync();
        }
        await using var reader = await command.ExecuteReaderAsync();
        var messages = new List<Dequeued>();
        while (await reader.ReadAsync())
        {
            // Read exactly as the provider does: by column name, with these CLR types.
            messages.Add(new Dequeued(
                (long)reader["MessageId"], (int)reader["Dequeued"], (DateTime)reader["VisibleOn"], (DateTime)reader["ExpiresOn"],
                (DateTime)reader["CreatedOn"], (DateTime)reader["ModifiedOn"], (byte[])reader["Payload"]));
            Assert.Equal(QueueId, (string)reader["QueueId"]);
        }

        return messages;
    }

    /// <summary>Runs ConfirmStreamMessagesKey with items "id:receipt|..." (a negative receipt releases); returns the ids it acted on.</summary>
    public async Task<List<long>> ConfirmAsync(params (long MessageId, int Receipt)[] items)
    {
        await using var command = await CommandAsync("ConfirmStreamMessagesKey");
        command.Parameters.Add(new NpgsqlParameter("Items", NpgsqlDbType.Text) { Value = string.Join('|', items.Select(i => $"{i.MessageId}:{i.Receipt}")) });
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<long>();
        while (await reader.ReadAsync())
        {
            Assert.Equal(QueueId, (string)reader["QueueId"]);
            ids.Add((long)reader["MessageId"]);
        }

        ids.Sort();
        return ids;
    }

    public async Task FailAsync(long messageId, int maxAttempts = 5, int removalSeconds = 3600)
    {
        await using var command = await CommandAsync("FailStreamMessageKey");
        command.Parameters.Add(new NpgsqlParameter("MessageId", NpgsqlDbType.Bigint) { Value = messageId });
        command.Parameters.Add(Int("MaxAttempts", maxAttempts));
        command.Parameters.Add(Int("RemovalTimeout", removalSeconds));
        await command.ExecuteNonQueryAsync();
    }

    public async Task EvictMessagesAsync(int maxCount = 1000, int maxAttempts = 5, int removalSeconds = 3600)
    {
        await using var command = await CommandAsync("EvictStreamMessagesKey");
        command.Parameters.Add(Int("MaxCount", maxCount));
        command.Parameters.Add(Int("MaxAttempts", maxAttempts));
        command.Parameters.Add(Int("RemovalTimeout", removalSeconds));
        await command.ExecuteNonQueryAsync();
    }

    public async Task EvictDeadLettersAsync(int maxCount = 1000)
    {
        await using var command = await CommandAsync("EvictStreamDeadLettersKey");
        command.Parameters.Add(Int("MaxCount", maxCount));
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Message ids still queued, with their dequeue counts.</summary>
    public Task<List<(long MessageId, int Dequeued)>> QueuedAsync() =>
        ReadPairsAsync("SELECT message_id, dequeued FROM orleans_stream_messages WHERE queue_id = @q ORDER BY message_id");

    /// <summary>Message ids in dead letters, with their dequeue counts.</summary>
    public Task<List<(long MessageId, int Dequeued)>> DeadLettersAsync() =>
        ReadPairsAsync("SELECT message_id, dequeued FROM orleans_stream_dead_letters WHERE queue_id = @q ORDER BY message_id");

    /// <summary>Moves the clock for this queue's rows: everything happened <paramref name="seconds"/> earlier.</summary>
    public async Task AgeAsync(int seconds)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var shift = $"make_interval(secs => {seconds})";
        await using var command = new NpgsqlCommand(
            $"""
            UPDATE orleans_stream_messages SET visible_on = visible_on - {shift}, expires_on = expires_on - {shift},
                created_on = created_on - {shift}, modified_on = modified_on - {shift} WHERE queue_id = @q;
            UPDATE orleans_stream_dead_letters SET dead_on = dead_on - {shift}, remove_on = remove_on - {shift} WHERE queue_id = @q;
            UPDATE orleans_stream_control SET evict_on = evict_on - {shift} WHERE queue_id = @q;
            """, connection);
        command.Parameters.AddWithValue("q", QueueId);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<List<(long, int)>> ReadPairsAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("q", QueueId);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(long, int)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt64(0), reader.GetInt32(1)));
        }

        return rows;
    }

    /// <summary>
    /// Buffers (shared, hit or read) that one run of a stored statement touched, from
    /// EXPLAIN (ANALYZE, BUFFERS): the statement runs and its changes stay.
    /// </summary>
    public async Task<long> BuffersOfGetAsync(int maxCount = 10, int maxAttempts = 5, int evictionIntervalSeconds = 10)
    {
        await using var command = await CommandAsync("GetStreamMessagesKey", explain: true);
        command.Parameters.Add(Int("MaxCount", maxCount));
        command.Parameters.Add(Int("MaxAttempts", maxAttempts));
        command.Parameters.Add(Int("VisibilityTimeout", 60));
        command.Parameters.Add(Int("RemovalTimeout", 3600));
        command.Parameters.Add(Int("EvictionInterval", evictionIntervalSeconds));
        command.Parameters.Add(Int("EvictionBatchSize", 1000));
        return await BuffersAsync(command);
    }

    /// <inheritdoc cref="BuffersOfGetAsync"/>
    public async Task<long> BuffersOfConfirmAsync(params (long MessageId, int Receipt)[] items)
    {
        await using var command = await CommandAsync("ConfirmStreamMessagesKey", explain: true);
        command.Parameters.Add(new NpgsqlParameter("Items", NpgsqlDbType.Text) { Value = string.Join('|', items.Select(i => $"{i.MessageId}:{i.Receipt}")) });
        return await BuffersAsync(command);
    }

    private static async Task<long> BuffersAsync(NpgsqlCommand command)
    {
        var plan = System.Text.Json.Nodes.JsonNode.Parse((string)(await command.ExecuteScalarAsync())!)![0]!["Plan"]!;
        return plan["Shared Hit Blocks"]!.GetValue<long>() + plan["Shared Read Blocks"]!.GetValue<long>();
    }

    /// <summary>Queues <paramref name="count"/> messages in one statement (as many QueueAsync calls would).</summary>
    public async Task QueueManyAsync(int count)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO orleans_stream_messages (service_id, provider_id, queue_id, dequeued, visible_on, expires_on, created_on, modified_on, payload)
            SELECT @s, @p, @q, 0, now(), now() + interval '1 hour', now(), now(), convert_to(repeat('x', 200), 'UTF8')
            FROM generate_series(1, @n)
            """, connection);
        command.Parameters.AddWithValue("s", ServiceId);
        command.Parameters.AddWithValue("p", ProviderId);
        command.Parameters.AddWithValue("q", QueueId);
        command.Parameters.AddWithValue("n", count);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<NpgsqlCommand> CommandAsync(string key, NpgsqlConnection? connection = null, bool explain = false)
    {
        if (connection is null)
        {
            _connection ??= new NpgsqlConnection(connectionString);
            if (_connection.State != System.Data.ConnectionState.Open)
            {
                await _connection.OpenAsync();
            }

            connection = _connection;
        }

        string sql;
        await using (var load = new NpgsqlCommand("SELECT QueryText FROM OrleansQuery WHERE QueryKey = @key", connection))
        {
            load.Parameters.AddWithValue("key", key);
            sql = (string)(await load.ExecuteScalarAsync())!;
        }

        var command = new NpgsqlCommand(explain ? "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql : sql, connection);
        command.Parameters.Add(new NpgsqlParameter("ServiceId", NpgsqlDbType.Text) { Value = ServiceId });
        command.Parameters.Add(new NpgsqlParameter("ProviderId", NpgsqlDbType.Text) { Value = ProviderId });
        command.Parameters.Add(new NpgsqlParameter("QueueId", NpgsqlDbType.Text) { Value = QueueId });
        return command;
    }

    private static NpgsqlParameter Int(string name, int value) => new(name, NpgsqlDbType.Integer) { Value = value };

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}

internal sealed record Dequeued(long MessageId, int Count, DateTime VisibleOn, DateTime ExpiresOn, DateTime CreatedOn, DateTime ModifiedOn, byte[] Payload);
