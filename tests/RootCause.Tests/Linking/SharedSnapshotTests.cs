using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using RootCause.Database;
using RootCause.Linking;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Linking;

/// <summary>
/// The shared snapshot query: every caller gets the xmax of a snapshot that started after it
/// called, a burst of callers shares a few queries, and queries start at least the gap apart.
/// Against a counting query, and once against PostgreSQL.
/// </summary>
public sealed class SharedSnapshotTests
{
    /// <summary>A query that numbers itself, records when it started, and takes a while.</summary>
    private sealed class CountingQuery(TimeSpan takes)
    {
        private long _started;
        public ConcurrentQueue<long> StartTimes { get; } = new();

        /// <summary>How many queries have started so far.</summary>
        public long Started => Interlocked.Read(ref _started);

        public async Task<ulong> RunAsync(CancellationToken ct)
        {
            var number = Interlocked.Increment(ref _started);
            StartTimes.Enqueue(Stopwatch.GetTimestamp());
            await (takes > TimeSpan.Zero ? Task.Delay(takes, ct) : Task.Run(() => { }, ct));
            return (ulong)number;
        }
    }

    [Fact]
    public async Task EveryCallerGetsASnapshotStartedAfterItCalledAndABurstSharesAFewQueries()
    {
        var query = new CountingQuery(TimeSpan.Zero);
        var shared = new SharedSnapshot(query.RunAsync);
        var calls = new List<(long StartedBefore, Task<ulong> Xmax)>();
        // A caller about every 0.1 ms for 80 ms: without the gap, the (instant) queries would run about as often.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMilliseconds(80))
        {
            calls.Add((query.Started, shared.XmaxAfterNowAsync()));
            var next = clock.Elapsed + TimeSpan.FromMilliseconds(0.1);
            while (clock.Elapsed < next)
            {
                Thread.SpinWait(20);
            }
        }
        foreach (var (startedBefore, xmax) in calls)
        {
            // The query that served the caller is numbered after every query started before it called.
            Assert.True(await xmax > (ulong)startedBefore, $"served by query {await xmax}, but {startedBefore} had started before the call");
        }
        Assert.Equal(TimeSpan.FromMilliseconds(4), SharedSnapshot.Gap);
        Assert.InRange(query.Started, 2, 30);
        // The gap is 4 ms. Measured on average (a start is recorded by the query itself, which a busy
        // machine can delay by a millisecond or two) and with a timer's whole-millisecond slack.
        var starts = query.StartTimes.ToArray();
        var spacing = Stopwatch.GetElapsedTime(starts[0], starts[^1]) / (starts.Length - 1);
        Assert.True(spacing >= TimeSpan.FromMilliseconds(3), $"{starts.Length} queries, {spacing.TotalMilliseconds} ms apart on average");
    }

    [Fact]
    public async Task AnIdleCallerIsServedAtOnceAndAQueryFailureReachesItsCallersOnly()
    {
        var fail = true;
        var shared = new SharedSnapshot(async ct =>
        {
            await Task.Yield();
            return fail ? throw new InvalidOperationException("database gone") : 7UL;
        });
        await Assert.ThrowsAsync<InvalidOperationException>(shared.XmaxAfterNowAsync);
        fail = false;
        await Task.Delay(SharedSnapshot.Gap * 3);
        var clock = Stopwatch.StartNew();
        Assert.Equal(7UL, await shared.XmaxAfterNowAsync());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task ATransactionCommittedBeforeTheCallIsBelowTheXmaxItGets()
    {
        await using var db = NpgsqlDataSource.Create(await TestDatabase.CreateAsync("shared-snapshot", migrate: false));
        var shared = new SharedSnapshot(new ChangeFeed(db));
        for (var i = 0; i < 5; i++)
        {
            await using var connection = await db.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var command = new NpgsqlCommand("SELECT pg_current_xact_id()::text::bigint", connection, transaction);
            var xid = (ulong)(long)(await command.ExecuteScalarAsync())!;
            await transaction.CommitAsync();
            Assert.True(await shared.XmaxAfterNowAsync() > xid);
        }
    }
}
