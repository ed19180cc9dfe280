using System.Net;
using System.Net.Http.Headers;
using Polly.CircuitBreaker;
using RootCause.Connectors;
using CircuitState = RootCause.Connectors.CircuitState;

namespace RootCause.Tests.Connectors;

public sealed class RetryTests
{
    private static HttpRequestException Unreachable() => new("connection refused");

    [Fact]
    public async Task AFailingUpstreamIsRetriedAfter1_2_4_8SecondsUntilTheFifthFailureOpensTheBreaker()
    {
        using var h = new ResilienceHarness();

        var outcome = await h.RunAsync((_, _) => ResilienceHarness.Throw(Unreachable()));

        Assert.IsType<HttpRequestException>(outcome.Exception);
        Assert.Equal([1, 2, 4, 8], h.Delays.Select(d => d.TotalSeconds));
        Assert.Equal([0, 1, 3, 7, 15], h.AttemptSecondsSinceStart());
        Assert.Equal(CircuitState.Open, h.Pipeline.Breaker.State);
        // The failed call is logged with its attempts; each retry with its delay.
        Assert.Contains(h.Logs.Lines, l => l.Id.Id == 4101 && l.Message.Contains("after 5 attempt(s)", StringComparison.Ordinal));
        Assert.Equal(4, h.Logs.Lines.Count(l => l.Id.Id == 4100));
        Assert.Contains(h.Logs.Lines, l => l.Id.Id == 4100 && l.Message.Contains("retry 4 in 8000 ms", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RetriesStopAfterFiveRetriesAt16Seconds()
    {
        using var h = new ResilienceHarness(o => o with { FailureThreshold = 100 });

        var outcome = await h.RunAsync((_, _) => ResilienceHarness.Throw(Unreachable()));

        Assert.IsType<HttpRequestException>(outcome.Exception);
        Assert.Equal([1, 2, 4, 8, 16], h.Delays.Select(d => d.TotalSeconds));
        Assert.Equal([0, 1, 3, 7, 15, 31], h.AttemptSecondsSinceStart());
        Assert.Equal(CircuitState.Closed, h.Pipeline.Breaker.State);
    }

    [Fact]
    public async Task AnUpstreamThatRecoversAnswersThroughTheRetries()
    {
        using var h = new ResilienceHarness();

        var outcome = await h.RunAsync((attempt, _) => attempt < 3 ? ResilienceHarness.Throw(Unreachable()) : ValueTask.FromResult(42));

        Assert.Null(outcome.Exception);
        Assert.Equal(42, outcome.Result);
        Assert.Equal([0, 1, 3, 7], h.AttemptSecondsSinceStart());
        Assert.Equal(0, h.Pipeline.Breaker.Status().ConsecutiveFailures);
    }

    [Theory]
    [InlineData(0.0, 0.9)]
    [InlineData(0.999999, 1.1)]
    public async Task JitterMovesEachDelayByAtMostTenPercent(double random, double factor)
    {
        using var h = new ResilienceHarness(o => o with { FailureThreshold = 100 }, jitterRandom: random);

        await h.RunAsync((_, _) => ResilienceHarness.Throw(Unreachable()));

        Assert.Equal(5, h.Delays.Count);
        for (var i = 0; i < 5; i++)
        {
            // Timers count whole milliseconds.
            Assert.Equal(Math.Pow(2, i) * factor, h.Delays[i].TotalSeconds, tolerance: 0.002);
        }
    }

    [Fact]
    public void EveryScheduledDelayLiesWithinItsJitterBounds()
    {
        var random = new Random(1234);
        for (var n = 0; n < 10_000; n++)
        {
            var retry = n % 5;
            var delay = RetrySchedule.Delay(retry, TimeSpan.FromSeconds(1), 0.1, random.NextDouble());
            var exact = Math.Pow(2, retry);
            Assert.InRange(delay.TotalSeconds, exact * 0.9, exact * 1.1);
        }
    }

    public static TheoryData<string> NonTransient => new()
    {
        "400", "401", "403", "404", "422", "501", "invalid-operation", "format", "null-reference",
    };

    [Theory]
    [MemberData(nameof(NonTransient))]
    public async Task NonTransientFailuresAreNotRetried(string failure)
    {
        using var h = new ResilienceHarness();
        Exception error = failure switch
        {
            "invalid-operation" => new InvalidOperationException("bug"),
            "format" => new FormatException("unparseable"),
            "null-reference" => new NullReferenceException(),
            _ => new UpstreamHttpException((HttpStatusCode)int.Parse(failure, System.Globalization.CultureInfo.InvariantCulture), "no"),
        };

        var outcome = await h.RunAsync((_, _) => ResilienceHarness.Throw(error));

        Assert.Same(error, outcome.Exception);
        Assert.Single(h.Attempts);
        Assert.Empty(h.Delays);
    }

    [Theory]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    public async Task TransientStatusesAreRetried(int status)
    {
        using var h = new ResilienceHarness();

        var outcome = await h.RunAsync((attempt, _) => attempt == 0
            ? ResilienceHarness.Throw(new UpstreamHttpException((HttpStatusCode)status, "try again"))
            : ValueTask.FromResult(1));

        Assert.Null(outcome.Exception);
        Assert.Equal([1.0], h.Delays.Select(d => d.TotalSeconds));
    }

    [Fact]
    public async Task TimeoutsAndTransientDatabaseErrorsAreRetried()
    {
        using var h = new ResilienceHarness(o => o with { AttemptTimeout = TimeSpan.FromSeconds(5) });

        // Attempts 0 and 1 hang until the attempt timeout cancels them; attempt 2 answers.
        var outcome = await h.RunAsync(async (attempt, ct) =>
        {
            if (attempt < 2)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            }
            return 7;
        }, advanceTimeouts: true);

        Assert.Equal(7, outcome.Result);
        Assert.Equal([0, 6, 13], h.AttemptSecondsSinceStart());
        Assert.True(TransientFailures.IsTransient(new Npgsql.NpgsqlException("broken pipe", new IOException())));
        Assert.False(TransientFailures.IsTransient(new Npgsql.PostgresException("syntax", "ERROR", "ERROR", "42601")));
    }

    [Fact]
    public async Task RetryAfterDeltaSecondsOnA429IsWaitedExactly()
    {
        using var h = new ResilienceHarness();

        await h.RunAsync((attempt, _) => attempt == 0
            ? ResilienceHarness.Throw(UpstreamHttpException.WithRetryAfter(HttpStatusCode.TooManyRequests, new RetryConditionHeaderValue(TimeSpan.FromSeconds(30))))
            : ValueTask.FromResult(1));

        Assert.Equal([30.0], h.Delays.Select(d => d.TotalSeconds));
    }

    [Fact]
    public async Task RetryAfterAsAnHttpDateOnA503IsWaitedUntilThatTime()
    {
        using var h = new ResilienceHarness();
        var until = h.Time.GetUtcNow().AddSeconds(45);

        await h.RunAsync((attempt, _) => attempt == 0
            ? ResilienceHarness.Throw(UpstreamHttpException.WithRetryAfter(HttpStatusCode.ServiceUnavailable, new RetryConditionHeaderValue(until)))
            : ValueTask.FromResult(1));

        Assert.Equal([45.0], h.Delays.Select(d => d.TotalSeconds));
        Assert.Equal(until, h.Attempts[1]);
    }

    [Fact]
    public async Task ALongRetryAfterIsCutToTheCapAndOneOnA500IsIgnored()
    {
        using var h = new ResilienceHarness();

        await h.RunAsync((attempt, _) => attempt switch
        {
            0 => ResilienceHarness.Throw(UpstreamHttpException.WithRetryAfter(HttpStatusCode.TooManyRequests, new RetryConditionHeaderValue(TimeSpan.FromHours(3)))),
            1 => ResilienceHarness.Throw(UpstreamHttpException.WithRetryAfter(HttpStatusCode.InternalServerError, new RetryConditionHeaderValue(TimeSpan.FromSeconds(90)))),
            _ => ValueTask.FromResult(1),
        });

        Assert.Equal([120.0, 2.0], h.Delays.Select(d => d.TotalSeconds));
    }

    [Fact]
    public void RetryAfterIsReadFromTheResponseHeader()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(12));

        var error = Assert.Throws<UpstreamHttpException>(() => UpstreamHttpException.ThrowIfFailed(response));

        Assert.Equal(HttpStatusCode.TooManyRequests, error.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(12), TransientFailures.RetryAfter(error, DateTimeOffset.UnixEpoch, TimeSpan.FromMinutes(2)));
    }

    [Fact]
    public async Task AFastFailWhileOpenIsNotRetried()
    {
        using var h = new ResilienceHarness();
        await h.RunAsync((_, _) => ResilienceHarness.Throw(Unreachable()));
        h.Delays.Clear();

        var outcome = await h.RunAsync((_, _) => ResilienceHarness.Throw(Unreachable()));

        Assert.IsType<BrokenCircuitException>(outcome.Exception);
        Assert.Empty(h.Delays);
        Assert.Equal(5, h.Attempts.Count);
    }

    [Fact]
    public void IdempotencyKeysAreStablePerConnectorAndItem()
    {
        var key = IdempotencyKeys.For("github-main", "run/123");

        Assert.Equal(key, IdempotencyKeys.For("github-main", "run/123"));
        Assert.Equal(key, IdempotencyKeys.For(" github-main ", "run/123 "));
        Assert.NotEqual(key, IdempotencyKeys.For("github-main", "run/124"));
        Assert.NotEqual(key, IdempotencyKeys.For("github-other", "run/123"));
        Assert.Matches("^[0-9a-f]{32}$", key);
    }
}
