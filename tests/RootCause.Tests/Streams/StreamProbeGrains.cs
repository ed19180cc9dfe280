using Npgsql;
using Orleans.Concurrency;
using Orleans.Streams;
using RootCause.Hosting;

namespace RootCause.Tests.Streams;

/// <summary>A message on the probe streams: its id is unique across the whole test run.</summary>
[GenerateSerializer, Immutable, Alias("stream-probe-message")]
public sealed record StreamProbeMessage([property: Id(0)] long Id);

public static class StreamProbe
{
    public const string Namespace = "stream-probe";

    /// <summary>One row per message id processed, with how many times it was delivered.</summary>
    public const string CreateTable = """
        CREATE TABLE IF NOT EXISTS stream_probe_deliveries
        (
            message_id bigint PRIMARY KEY,
            deliveries integer NOT NULL,
            first_silo text NOT NULL,
            first_delivered_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """;

    public static async Task CreateTableAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(CreateTable, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Waits, up to <paramref name="within"/>, for the end state: <paramref name="total"/> messages
    /// processed and nothing left in the queues; returns the last state read either way.
    /// </summary>
    public static async Task<(long Processed, long Deliveries, long Queued, long DeadLetters)> WaitUntilDrainedAsync(string connectionString, long total, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var state = await ReadStateAsync(connectionString);
            if ((state.Processed == total && state.Queued == 0) || DateTime.UtcNow > deadline)
            {
                return state;
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Messages processed, deliveries in all, messages still queued, dead letters.</summary>
    public static async Task<(long Processed, long Deliveries, long Queued, long DeadLetters)> ReadStateAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT (SELECT count(*) FROM stream_probe_deliveries),
                   (SELECT coalesce(sum(deliveries), 0)::bigint FROM stream_probe_deliveries),
                   (SELECT count(*) FROM orleans_stream_messages),
                   (SELECT count(*) FROM orleans_stream_dead_letters)
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }
}

public interface IStreamProbeProducerGrain : IGrainWithIntegerKey
{
    /// <summary>Publishes the messages on the probe stream <paramref name="stream"/>; returns once every one is durably queued.</summary>
    Task PublishAsync(Guid stream, long[] messageIds);
}

public interface IStreamProbeConsumerGrain : IGrainWithGuidKey
{
}

[StatelessWorker]
public sealed class StreamProbeProducerGrain : Grain, IStreamProbeProducerGrain
{
    public async Task PublishAsync(Guid stream, long[] messageIds)
    {
        var target = this.GetStreamProvider(StreamRegistration.ProviderName)
            .GetStream<StreamProbeMessage>(StreamId.Create(StreamProbe.Namespace, stream));
        foreach (var id in messageIds)
        {
            await target.OnNextAsync(new StreamProbeMessage(id));
        }
    }
}

/// <summary>
/// Implicitly subscribed to its probe stream. Records each message durably and idempotently: the
/// first delivery inserts the row, a redelivery only counts itself, so the outcome of processing is
/// the same however often a message arrives.
/// </summary>
[ImplicitStreamSubscription(StreamProbe.Namespace)]
public sealed class StreamProbeConsumerGrain(NpgsqlDataSource database, ILocalSiloDetails silo) : Grain, IStreamProbeConsumerGrain
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var stream = this.GetStreamProvider(StreamRegistration.ProviderName)
            .GetStream<StreamProbeMessage>(StreamId.Create(StreamProbe.Namespace, this.GetPrimaryKey()));
        await stream.SubscribeAsync((message, _) => RecordAsync(message));
    }

    private async Task RecordAsync(StreamProbeMessage message)
    {
        // Stands in for the work a linker does, so that deliveries pile up in the silos' queue caches.
        await Task.Delay(20);
        await using var command = database.CreateCommand(
            """
            INSERT INTO stream_probe_deliveries (message_id, deliveries, first_silo) VALUES (@id, 1, @silo)
            ON CONFLICT (message_id) DO UPDATE SET deliveries = stream_probe_deliveries.deliveries + 1
            """);
        command.Parameters.AddWithValue("id", message.Id);
        command.Parameters.AddWithValue("silo", silo.SiloAddress.ToString());
        await command.ExecuteNonQueryAsync();
    }
}
