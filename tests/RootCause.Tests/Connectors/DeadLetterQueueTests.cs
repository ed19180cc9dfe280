using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using RootCause.Connectors;
using RootCause.Events;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors;

/// <summary>The dead-letter store on real PostgreSQL, on fake time.</summary>
public sealed class DeadLetterQueueTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
    private NpgsqlDataSource _dataSource = null!;
    private ServiceProvider _services = null!;
    private DeadLetterQueue _queue = null!;

    public async Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(await TestDatabase.CreateAsync("dlq"));
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new ConnectorMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        _queue = new DeadLetterQueue(_dataSource, _time, metrics, NullLogger<DeadLetterQueue>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _services.DisposeAsync();
    }

    private static DeadLetterFailure Failure(string connector, EventSource source, string payload, string error = "parse failed") => new()
    {
        Connector = connector,
        Source = source,
        Kind = EventDraftPayload.Kind,
        Payload = Encoding.UTF8.GetBytes(payload),
        Error = error,
    };

    [Fact]
    public async Task TheSamePayloadFailingTwiceIsOneEntryWithTwoAttempts()
    {
        var first = await _queue.RecordFailureAsync(Failure("gh", EventSource.Ci, """{"id":1}""", "first error"));
        _time.Advance(TimeSpan.FromMinutes(5));
        var second = await _queue.RecordFailureAsync(Failure("gh", EventSource.Ci, """{"id":1}""", "second error"));
        var other = await _queue.RecordFailureAsync(Failure("gh", EventSource.Ci, """{"id":2}"""));

        Assert.Equal(first.Id, second.Id);
        Assert.NotEqual(first.Id, other.Id);
        Assert.Equal(2, second.Attempts);
        Assert.Equal("second error", second.Error);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero), second.FirstFailedAt);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 9, 5, 0, TimeSpan.Zero), second.LastFailedAt);
        Assert.Equal(DeadLetterStatus.Pending, second.Status);
        Assert.Equal(2, (await _queue.ListAsync(new DeadLetterQuery())).Total);
        Assert.Equal("""{"id":1}""", Encoding.UTF8.GetString((await _queue.GetAsync(first.Id))!.Payload));
    }

    [Fact]
    public async Task ListsFilterByConnectorSourceAndStatusAndPageNewestFirst()
    {
        var ids = new List<long>();
        for (var i = 0; i < 25; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            var entry = await _queue.RecordFailureAsync(Failure(i % 2 == 0 ? "even" : "odd", i % 5 == 0 ? EventSource.Git : EventSource.Logs, $$"""{"n":{{i}}}"""));
            ids.Add(entry.Id);
        }
        await _queue.MarkReplayedAsync(ids[0], [Guid.NewGuid()]);

        var all = await _queue.ListAsync(new DeadLetterQuery { PerPage = 10, Page = 2 });
        var even = await _queue.ListAsync(new DeadLetterQuery { Connectors = ["even"], PerPage = 100 });
        var evenGit = await _queue.ListAsync(new DeadLetterQuery { Connectors = ["even"], Sources = [EventSource.Git], PerPage = 100 });
        var replayed = await _queue.ListAsync(new DeadLetterQuery { Statuses = [DeadLetterStatus.Replayed] });
        var both = await _queue.ListAsync(new DeadLetterQuery { Connectors = ["even", "odd"], Sources = [EventSource.Git, EventSource.Logs] });
        var beyond = await _queue.ListAsync(new DeadLetterQuery { Page = 4, PerPage = 10 });

        Assert.Equal(25, all.Total);
        Assert.Equal(Enumerable.Range(0, 25).Reverse().Skip(10).Take(10).Select(i => ids[i]), all.Items.Select(e => e.Id));
        Assert.All(all.Items, e => Assert.Empty(e.Payload));
        Assert.All(all.Items, e => Assert.True(e.PayloadSize > 0));
        Assert.Equal(13, even.Total);
        Assert.Equal([20, 10, 0], evenGit.Items.Select(e => ids.IndexOf(e.Id)));
        Assert.Equal([ids[0]], replayed.Items.Select(e => e.Id));
        Assert.Equal(25, both.Total);
        Assert.Equal(25, beyond.Total);
        Assert.Empty(beyond.Items);
        Assert.Equal(24, await _queue.DepthAsync());
    }

    [Fact]
    public async Task AReplayedPayloadThatFailsAgainIsPendingAgainWithOneMoreAttempt()
    {
        var entry = await _queue.RecordFailureAsync(Failure("gh", EventSource.Ci, """{"x":1}"""));
        var eventId = Guid.NewGuid();
        var replayed = await _queue.MarkReplayedAsync(entry.Id, [eventId]);
        _time.Advance(TimeSpan.FromHours(1));
        var again = await _queue.RecordFailureAsync(Failure("gh", EventSource.Ci, """{"x":1}""", "broke again"));
        var replayFailed = await _queue.RecordReplayFailureAsync(entry.Id, "still broken");

        Assert.Equal(DeadLetterStatus.Replayed, replayed!.Status);
        Assert.Equal([eventId], replayed.ReplayedEventIds);
        Assert.Equal((entry.Id, DeadLetterStatus.Pending, 2), (again.Id, again.Status, again.Attempts));
        Assert.Equal((3, "still broken"), (replayFailed!.Attempts, replayFailed.Error));
    }

    [Fact]
    public async Task DeleteRemovesTheEntryOnce()
    {
        var entry = await _queue.RecordFailureAsync(Failure("gh", EventSource.Ci, """{"y":1}"""));

        Assert.True(await _queue.DeleteAsync(entry.Id));
        Assert.False(await _queue.DeleteAsync(entry.Id));
        Assert.Null(await _queue.GetAsync(entry.Id));
        Assert.Equal(0, await _queue.DepthAsync());
    }

    [Fact]
    public async Task BinaryPayloadsAreKeptByteForByte()
    {
        byte[] payload = [0xff, 0x00, 0xfe, 0x80, 0x01];
        var entry = await _queue.RecordFailureAsync(new DeadLetterFailure
        {
            Connector = "bin", Source = EventSource.Traces, Kind = "otlp", ContentType = "application/x-protobuf",
            Payload = payload, Error = "bad protobuf", Attempts = 6,
        });

        var read = await _queue.GetAsync(entry.Id);

        Assert.Equal(payload, read!.Payload);
        Assert.Equal(("application/x-protobuf", 6, 5), (read.ContentType, read.Attempts, read.PayloadSize));
    }
}
