using System.Collections.Concurrent;
using System.Text;
using Npgsql;
using RootCause.Hosting;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Streams;

/// <summary>One migrated database for the stream statement tests; each test uses queues of its own.</summary>
public sealed class StreamDatabaseFixture : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync() => ConnectionString = await TestDatabase.CreateAsync("stream_queries");

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>
/// The statements in 0006_orleans_streams.sql, run the way the ADO.NET stream provider runs them.
/// Time is moved by ageing the rows (<see cref="StreamQueries.AgeAsync"/>), never by sleeping.
/// </summary>
public sealed class StreamQueryTests(StreamDatabaseFixture fixture) : IClassFixture<StreamDatabaseFixture>
{
    private StreamQueries Queue() => new(fixture.ConnectionString, $"events-{Guid.NewGuid():N}");

    private static byte[] Payload(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task AQueuedMessageIsDeliveredOnceAndStaysInvisibleUntilItsVisibilityTimeout()
    {
        await using var queue = Queue();
        var first = await queue.QueueAsync(Payload("one"), expirySeconds: 600);
        var second = await queue.QueueAsync(Payload("two"), expirySeconds: 600);

        var delivered = await queue.GetAsync(visibilitySeconds: 60);
        var again = await queue.GetAsync(visibilitySeconds: 60);

        Assert.Equal([first, second], delivered.Select(m => m.MessageId));
        Assert.True(second > first);
        Assert.All(delivered, m => Assert.Equal(1, m.Count));
        Assert.Equal(["one", "two"], delivered.Select(m => Encoding.UTF8.GetString(m.Payload)));
        Assert.All(delivered, m =>
        {
            Assert.Equal(DateTimeKind.Utc, m.VisibleOn.Kind);
            Assert.Equal(TimeSpan.FromSeconds(600), m.ExpiresOn - m.CreatedOn);
            Assert.Equal(TimeSpan.FromSeconds(60), m.VisibleOn - m.ModifiedOn);
        });
        Assert.Empty(again);

        await queue.AgeAsync(61);
        var redelivered = await queue.GetAsync();
        Assert.Equal([(first, 2), (second, 2)], redelivered.Select(m => (m.MessageId, m.Count)));
    }

    /// <summary>
    /// Both states of a queue table's statistics a backlog meets: none yet (a new database, or one
    /// autovacuum has not reached: PostgreSQL then expects about one row per queue) and statistics
    /// that know the backlog.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TakingAndConfirmingFromALongQueueReadsOnlyTheMessagesConcerned(bool analysed)
    {
        var connectionString = analysed ? fixture.ConnectionString : await TestDatabase.CreateAsync("stream_unanalysed");
        await using var queue = new StreamQueries(connectionString, $"events-{Guid.NewGuid():N}");
        await queue.QueueManyAsync(3_000);
        if (analysed)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var analyze = new NpgsqlCommand("ANALYZE orleans_stream_messages", connection);
            await analyze.ExecuteNonQueryAsync();
        }
        var first = await queue.GetAsync(maxCount: 10); // the queue's first poll also runs its eviction

        var taking = await queue.BuffersOfGetAsync(maxCount: 10);
        var confirming = await queue.BuffersOfConfirmAsync([.. first.Select(m => (m.MessageId, m.Count))]);

        // A few buffers per message concerned (and the 10 leased ones the poll passes over): 63 and
        // 60 here with either statistics. The statements as 0006 wrote them joined the queue with
        // the chosen messages, and their plans followed the statistics: taking read 241 buffers
        // without them (83 with), confirming 188 without and 282 with.
        Assert.True(taking < 150, $"taking 10 of 3,000 messages read {taking} buffers");
        Assert.True(confirming < 120, $"confirming 10 of 3,000 messages read {confirming} buffers");
        var queued = await queue.QueuedAsync();
        Assert.Equal(2_990, queued.Count); // the first 10 confirmed
        Assert.Equal(10, queued.Count(m => m.Dequeued == 1)); // the 10 taken by the measured poll
        Assert.DoesNotContain(queued, m => first.Any(f => f.MessageId == m.MessageId));
    }

    /// <summary>
    /// The provider's statements are prepared, and PostgreSQL may keep a generic plan of a prepared
    /// statement, costed for the table as it was when it was made. Made while the queue was empty,
    /// such a plan took the few messages of a poll by scanning the whole table, and went on doing so
    /// once a backlog had built up. The stream's connections plan each execution afresh.
    /// </summary>
    [Fact]
    public async Task APollPreparedWhileTheQueueWasEmptyReadsOnlyTheMessagesConcernedOnceABacklogHasBuiltUp()
    {
        var connectionString = await TestDatabase.CreateAsync("stream_prepared");
        await using var queue = new StreamQueries(connectionString, $"events-{Guid.NewGuid():N}");
        await using var connection = new NpgsqlConnection(PersistenceRegistration.StreamConnectionString(connectionString));
        await connection.OpenAsync();
        for (var i = 0; i < 12; i++)
        {
            Assert.Empty(await queue.GetAsync(connection: connection, prepare: true));
        }
        await queue.QueueManyAsync(3_000);

        await using var transaction = await connection.BeginTransactionAsync();
        var taken = await queue.GetAsync(maxCount: 10, connection: connection, prepare: true);
        await using var blocks = new NpgsqlCommand("SELECT pg_stat_get_xact_blocks_fetched('orleans_stream_messages'::regclass)", connection, transaction);
        var fetched = (long)(await blocks.ExecuteScalarAsync())!;
        await transaction.CommitAsync();

        Assert.Equal(10, taken.Count);
        // A poll that finds its 10 by the key and updates them by address fetches a few blocks per
        // message (62 here: the new row versions go to pages with room). Planned generically while
        // the queue was empty, it scanned the whole table for the update and for the eviction that
        // found nothing to evict: 314.
        Assert.True(fetched < 120, $"taking 10 of 3,000 messages fetched {fetched} table blocks");
    }

    [Fact]
    public async Task MaxCountLimitsADeliveryToTheOldestMessages()
    {
        await using var queue = Queue();
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await queue.QueueAsync(Payload($"m{i}")));
        }

        var firstThree = await queue.GetAsync(maxCount: 3);
        var rest = await queue.GetAsync(maxCount: 3);

        Assert.Equal(ids.Take(3), firstThree.Select(m => m.MessageId));
        Assert.Equal(ids.Skip(3), rest.Select(m => m.MessageId));
    }

    [Fact]
    public async Task AConfirmWithTheCurrentReceiptDeletesTheMessage()
    {
        await using var queue = Queue();
        var id = await queue.QueueAsync(Payload("x"));
        var other = await queue.QueueAsync(Payload("y"));
        await queue.GetAsync();

        var confirmed = await queue.ConfirmAsync((id, 1));

        Assert.Equal([id], confirmed);
        Assert.Equal([(other, 1)], await queue.QueuedAsync());
    }

    [Fact]
    public async Task AStaleConfirmAfterARedeliveryDeletesNothing()
    {
        await using var queue = Queue();
        var id = await queue.QueueAsync(Payload("x"));
        await queue.GetAsync();
        await queue.AgeAsync(61);
        var redelivered = await queue.GetAsync();

        var stale = await queue.ConfirmAsync((id, 1));
        var queuedAfterStale = await queue.QueuedAsync();
        var current = await queue.ConfirmAsync((id, 2));

        Assert.Equal(2, Assert.Single(redelivered).Count);
        Assert.Empty(stale);
        Assert.Equal([(id, 2)], queuedAfterStale);
        Assert.Equal([id], current);
        Assert.Empty(await queue.QueuedAsync());
    }

    [Fact]
    public async Task AConfirmAfterTheLeaseRanOutDeletesNothingAndTheMessageIsDeliveredAgain()
    {
        await using var queue = Queue();
        var id = await queue.QueueAsync(Payload("x"));
        await queue.GetAsync(visibilitySeconds: 60);
        await queue.AgeAsync(61);

        var confirmed = await queue.ConfirmAsync((id, 1));
        var redelivered = await queue.GetAsync();

        Assert.Empty(confirmed);
        Assert.Equal((id, 2), (Assert.Single(redelivered).MessageId, redelivered[0].Count));
    }

    [Fact]
    public async Task ANegativeReceiptReleasesTheMessageForImmediateRedelivery()
    {
        await using var queue = Queue();
        var id = await queue.QueueAsync(Payload("x"));
        var kept = await queue.QueueAsync(Payload("y"));
        await queue.GetAsync(visibilitySeconds: 600);

        var released = await queue.ConfirmAsync((id, -1));
        var redelivered = await queue.GetAsync(visibilitySeconds: 600);
        var staleRelease = await queue.ConfirmAsync((id, -1));

        Assert.Equal([id], released);
        // Only the released message comes back at once, counted as another delivery; the other is still leased.
        Assert.Equal((id, 2), (Assert.Single(redelivered).MessageId, redelivered[0].Count));
        Assert.Empty(staleRelease);
        Assert.Equal([(id, 2), (kept, 1)], await queue.QueuedAsync());
    }

    [Fact]
    public async Task OneCallCanConfirmSomeMessagesAndReleaseOthers()
    {
        await using var queue = Queue();
        var a = await queue.QueueAsync(Payload("a"));
        var b = await queue.QueueAsync(Payload("b"));
        var c = await queue.QueueAsync(Payload("c"));
        await queue.GetAsync();

        var acted = await queue.ConfirmAsync((a, 1), (b, -1), (c, 7));

        Assert.Equal([a, b], acted);
        Assert.Equal([(b, 1), (c, 1)], await queue.QueuedAsync());
        Assert.Equal([b], (await queue.GetAsync()).Select(m => m.MessageId));
    }

    [Fact]
    public async Task AFailedDeliveryWithAttemptsLeftIsDeliveredAgainAndItsReceiptCanNoLongerConfirm()
    {
        await using var queue = Queue();
        var id = await queue.QueueAsync(Payload("x"));
        await queue.GetAsync(visibilitySeconds: 600);

        await queue.FailAsync(id, maxAttempts: 5);
        var staleConfirm = await queue.ConfirmAsync((id, 1));
        var redelivered = await queue.GetAsync();

        Assert.Empty(staleConfirm);
        Assert.Equal((id, 2), (Assert.Single(redelivered).MessageId, redelivered[0].Count));
        Assert.Empty(await queue.DeadLettersAsync());
    }

    [Fact]
    public async Task AFailedDeliveryWithoutAttemptsLeftMovesToDeadLetters()
    {
        await using var queue = Queue();
        var id = await queue.QueueAsync(Payload("poison"));
        await queue.GetAsync(maxAttempts: 2);
        await queue.FailAsync(id, maxAttempts: 2);
        await queue.GetAsync(maxAttempts: 2);

        await queue.FailAsync(id, maxAttempts: 2, removalSeconds: 3600);

        Assert.Empty(await queue.QueuedAsync());
        Assert.Equal([(id, 2)], await queue.DeadLettersAsync());
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT convert_from(payload, 'UTF8'), extract(epoch FROM remove_on - dead_on)::int FROM orleans_stream_dead_letters WHERE message_id = @id", connection);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("poison", reader.GetString(0));
        Assert.Equal(3600, reader.GetInt32(1));
    }

    [Fact]
    public async Task AMessageThatUsedUpItsAttemptsIsNotDeliveredAgainAndIsEvictedOnceItsLeaseIsOver()
    {
        await using var queue = Queue();
        var id = await queue.QueueAsync(Payload("x"));
        await queue.GetAsync(maxAttempts: 2);
        await queue.AgeAsync(61);
        await queue.GetAsync(maxAttempts: 2);

        await queue.EvictMessagesAsync(maxAttempts: 2);
        var whileLeased = await queue.QueuedAsync();
        await queue.AgeAsync(61);
        var notAgain = await queue.GetAsync(maxAttempts: 2, evictionIntervalSeconds: 3600);
        await queue.EvictMessagesAsync(maxAttempts: 2);

        Assert.Equal([(id, 2)], whileLeased);
        Assert.Empty(notAgain);
        Assert.Empty(await queue.QueuedAsync());
        Assert.Equal([(id, 2)], await queue.DeadLettersAsync());
    }

    [Fact]
    public async Task AnExpiredMessageIsNotDeliveredAndIsEvictedToDeadLetters()
    {
        await using var queue = Queue();
        await queue.GetAsync(evictionIntervalSeconds: 3600); // the queue's first poll: its next eviction is an hour away
        var expired = await queue.QueueAsync(Payload("old"), expirySeconds: 60);
        var fresh = await queue.QueueAsync(Payload("new"), expirySeconds: 600);
        await queue.AgeAsync(61);

        var delivered = await queue.GetAsync(evictionIntervalSeconds: 3600);
        var queued = await queue.QueuedAsync();
        await queue.EvictMessagesAsync();

        Assert.Equal([fresh], delivered.Select(m => m.MessageId));
        Assert.Equal([(expired, 0), (fresh, 1)], queued);
        Assert.Equal([(expired, 0)], await queue.DeadLettersAsync());
        Assert.Equal([(fresh, 1)], await queue.QueuedAsync());
    }

    [Fact]
    public async Task DeliveryEvictsAtTheQueuesFirstPollAndThenOncePerInterval()
    {
        await using var queue = Queue();
        var first = await queue.QueueAsync(Payload("a"), expirySeconds: 60);
        await queue.AgeAsync(61);

        await queue.GetAsync(evictionIntervalSeconds: 30);
        var afterFirstPoll = await queue.DeadLettersAsync();
        var second = await queue.QueueAsync(Payload("b"), expirySeconds: 60);
        await queue.AgeAsync(61);
        await queue.GetAsync(evictionIntervalSeconds: 30);
        var afterSecondPoll = await queue.DeadLettersAsync();

        Assert.Equal([(first, 0)], afterFirstPoll);
        Assert.Equal([(first, 0), (second, 0)], afterSecondPoll);
        Assert.Empty(await queue.QueuedAsync());
    }

    [Fact]
    public async Task DeliveryDoesNotEvictBeforeTheIntervalHasPassed()
    {
        await using var queue = Queue();
        await queue.GetAsync(evictionIntervalSeconds: 3600); // creates the control row, next eviction in an hour
        var expired = await queue.QueueAsync(Payload("a"), expirySeconds: 60);
        await queue.AgeAsync(61);

        await queue.GetAsync(evictionIntervalSeconds: 3600);

        Assert.Empty(await queue.DeadLettersAsync());
        Assert.Equal([(expired, 0)], await queue.QueuedAsync());
    }

    [Fact]
    public async Task DeadLettersAreDeletedAfterTheirRemovalTime()
    {
        await using var queue = Queue();
        var id = await queue.QueueAsync(Payload("x"));
        await queue.GetAsync(maxAttempts: 1);
        await queue.FailAsync(id, maxAttempts: 1, removalSeconds: 120);

        await queue.EvictDeadLettersAsync();
        var beforeRemoval = await queue.DeadLettersAsync();
        await queue.AgeAsync(121);
        await queue.EvictDeadLettersAsync();

        Assert.Equal([(id, 1)], beforeRemoval);
        Assert.Empty(await queue.DeadLettersAsync());
    }

    [Fact]
    public async Task ASecondPollerSkipsMessagesLockedByAnUncommittedDequeueInsteadOfTakingOrWaitingForThem()
    {
        await using var queue = Queue();
        // Polls run in transactions of their own; the queue's control row exists after its first poll.
        await queue.GetAsync(evictionIntervalSeconds: 3600);
        var ids = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await queue.QueueAsync(Payload($"m{i}")));
        }

        await using var first = new NpgsqlConnection(fixture.ConnectionString);
        await using var second = new NpgsqlConnection(fixture.ConnectionString);
        await first.OpenAsync();
        await second.OpenAsync();
        await using (var transaction = await first.BeginTransactionAsync())
        {
            var taken = await queue.GetAsync(maxCount: 3, evictionIntervalSeconds: 3600, connection: first);
            // The first dequeue has not committed: its rows are locked and still look visible.
            var skipped = await queue.GetAsync(maxCount: 10, evictionIntervalSeconds: 3600, connection: second)
                .WaitAsync(TimeSpan.FromSeconds(30));
            await transaction.CommitAsync();

            Assert.Equal(ids.Take(3), taken.Select(m => m.MessageId));
            Assert.Equal(ids.Skip(3), skipped.Select(m => m.MessageId));
        }

        Assert.All(await queue.QueuedAsync(), row => Assert.Equal(1, row.Dequeued));
    }

    [Fact]
    public async Task ConcurrentPollersNeverGetTheSameMessage()
    {
        await using var producer = Queue();
        const int count = 400;
        var queued = new HashSet<long>();
        for (var i = 0; i < count; i++)
        {
            queued.Add(await producer.QueueAsync(Payload($"m{i}")));
        }

        var deliveries = new ConcurrentBag<(int Poller, long MessageId, int Count)>();
        var pollers = Enumerable.Range(0, 4).Select(poller => Task.Run(async () =>
        {
            await using var queue = new StreamQueries(fixture.ConnectionString, producer.QueueId);
            while (true)
            {
                var batch = await queue.GetAsync(maxCount: 7, visibilitySeconds: 600);
                if (batch.Count == 0)
                {
                    return;
                }

                foreach (var message in batch)
                {
                    deliveries.Add((poller, message.MessageId, message.Count));
                }
            }
        })).ToArray();
        await Task.WhenAll(pollers).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(count, deliveries.Count);
        Assert.Equal(queued.Order(), deliveries.Select(d => d.MessageId).Order());
        Assert.All(deliveries, d => Assert.Equal(1, d.Count));
    }
}
