using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RootCause.Connectors;
using RootCause.Events;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors;

/// <summary>The dead-letter admin API over HTTP against the silo pair; entries are put in the shared database directly.</summary>
[Collection(SiloPairCollection.Name)]
public sealed class DeadLetterApiTests(SiloPairFixture fixture) : IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;
    private DeadLetterQueue _queue = null!;

    public Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(fixture.ConnectionString);
        var metrics = new ConnectorMetrics(new ServiceCollection().AddMetrics()
            .BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        _queue = new DeadLetterQueue(_dataSource, TimeProvider.System, metrics, NullLogger<DeadLetterQueue>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static string DraftJson(string sourceId) => $$$"""
        {"source":"ci","source_id":"{{{sourceId}}}","event_type":"build_failed","timestamp":"2026-02-01T10:00:00Z",
         "severity":"high","data":{"pipeline":"checkout","run":17},"tags":["deploy"],"metadata":{"via":"dlq"}}
        """;

    private Task<DeadLetter> DeadLetterAsync(string connector, string payload, string kind = EventDraftPayload.Kind, EventSource source = EventSource.Ci) =>
        _queue.RecordFailureAsync(new DeadLetterFailure
        {
            Connector = connector,
            Source = source,
            Kind = kind,
            Payload = Encoding.UTF8.GetBytes(payload),
            Error = "ingest failed: PostgreSQL unavailable",
            Attempts = 6,
        });

    [Fact]
    public async Task AReplayYieldsTheSameEventAsADirectIngestAndNeverADuplicate()
    {
        var sourceId = Unique("run");
        var (ingestStatus, ingested, _) = await fixture.Http.PostAsync("/api/events", DraftJson(sourceId));
        var entry = await DeadLetterAsync(Unique("ci"), DraftJson(sourceId));

        var (status, body, _) = await fixture.Clients[1].PostAsync($"/api/admin/dlq/{entry.Id}/retry", "");

        Assert.Equal(HttpStatusCode.Created, ingestStatus);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("replayed", (string?)body!["status"]);
        var replayed = Assert.Single(body["events"]!.AsArray());
        Assert.Equal((string?)ingested!["id"], (string?)replayed!["id"]);
        Assert.False((bool)replayed["created"]!);
    }

    [Fact]
    public async Task ReplayingTwiceGivesTheSameEventWithCreatedFalse()
    {
        var sourceId = Unique("run");
        var entry = await DeadLetterAsync(Unique("ci"), DraftJson(sourceId));
        var expectedId = EventKeys.IdFor(EventSource.Ci, sourceId).ToString();

        var (firstStatus, first, _) = await fixture.Http.PostAsync($"/api/admin/dlq/{entry.Id}/retry", "");
        var (secondStatus, second, _) = await fixture.Clients[1].PostAsync($"/api/admin/dlq/{entry.Id}/retry", "");
        var (_, stored, _) = await fixture.Http.GetJsonAsync($"/api/admin/dlq/{entry.Id}");
        var (_, evt, _) = await fixture.Http.GetJsonAsync($"/api/events/{expectedId}");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (firstStatus, secondStatus));
        Assert.Equal(expectedId, (string?)first!["events"]![0]!["id"]);
        Assert.True((bool)first["events"]![0]!["created"]!);
        Assert.Equal(expectedId, (string?)second!["events"]![0]!["id"]);
        Assert.False((bool)second["events"]![0]!["created"]!);
        Assert.Equal("replayed", (string?)stored!["status"]);
        Assert.Equal([expectedId], stored["replayed_event_ids"]!.AsArray().Select(n => (string?)n));
        // One report of one event: the second replay found it and added nothing (the linker's own
        // bookkeeping may have moved the version on, so the version is no measure of that).
        Assert.Single(evt!["references"]!.AsArray());
        Assert.Equal("build_failed", (string?)evt["event_type"]);
        Assert.Equal("high", (string?)evt["severity"]);
        Assert.Equal(17, (int)evt["data"]!["run"]!);
    }

    [Fact]
    public async Task AReplayThatFailsAgainIs422AndKeepsTheEntryWithOneMoreAttempt()
    {
        var entry = await DeadLetterAsync(Unique("ci"), """{"source":"ci","event_type":"build_failed"}""");
        var unknownKind = await DeadLetterAsync(Unique("ci"), DraftJson(Unique("run")), kind: "no-such-format");

        var (status, problem, _) = await fixture.Http.PostAsync($"/api/admin/dlq/{entry.Id}/retry", "");
        var (_, stored, _) = await fixture.Http.GetJsonAsync($"/api/admin/dlq/{entry.Id}");
        var (kindStatus, kindProblem, _) = await fixture.Http.PostAsync($"/api/admin/dlq/{unknownKind.Id}/retry", "");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("payload", (string?)problem!["field"]);
        Assert.Equal(7, (int)problem["attempts"]!);
        Assert.Contains("source_id", (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Equal("pending", (string?)stored!["status"]);
        Assert.Equal(7, (int)stored["attempts"]!);
        Assert.StartsWith("Replay failed:", (string?)stored["error"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, kindStatus);
        Assert.Contains("no-such-format", (string?)kindProblem!["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListsFilterAndPageWithTheUsualHeaders()
    {
        var connector = Unique("list");
        for (var i = 0; i < 3; i++)
        {
            await DeadLetterAsync(connector, DraftJson($"{connector}-{i}"), source: i == 0 ? EventSource.Git : EventSource.Ci);
        }

        var (status, page1, response1) = await fixture.Http.GetJsonAsync($"/api/admin/dlq?connector={connector}&per_page=2");
        var (_, page2, _) = await fixture.Clients[1].GetJsonAsync($"/api/admin/dlq?connector={connector}&per_page=2&page=2");
        var (_, git, gitResponse) = await fixture.Http.GetJsonAsync($"/api/admin/dlq?connector={connector}&source=git");
        var (_, replayed, replayedResponse) = await fixture.Http.GetJsonAsync($"/api/admin/dlq?connector={connector}&status=replayed");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("3", response1.Headers.GetValues("X-Total-Count").Single());
        Assert.Contains("rel=\"next\"", response1.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        Assert.Equal(2, page1!.AsArray().Count);
        Assert.Single(page2!.AsArray());
        Assert.Null(page1[0]!["payload"]);
        Assert.True((int)page1[0]!["payload_size"]! > 0);
        Assert.Equal("1", gitResponse.Headers.GetValues("X-Total-Count").Single());
        Assert.Equal("git", (string?)git![0]!["source"]);
        Assert.Equal("0", replayedResponse.Headers.GetValues("X-Total-Count").Single());
        Assert.Empty(replayed!.AsArray());
    }

    [Theory]
    [InlineData("/api/admin/dlq?source=nope", "source")]
    [InlineData("/api/admin/dlq?status=gone", "status")]
    [InlineData("/api/admin/dlq?per_page=0", "per_page")]
    [InlineData("/api/admin/dlq?page=x", "page")]
    public async Task BadListFiltersAre400NamingTheField(string url, string field)
    {
        var (status, problem, _) = await fixture.Http.GetJsonAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal([field], problem.ErrorFields());
    }

    [Theory]
    [InlineData("/api/admin/dlq/replay?max=0", "max")]
    [InlineData("/api/admin/dlq/replay?max=5000", "max")]
    [InlineData("/api/admin/dlq/replay?source=svn", "source")]
    public async Task BadBulkReplayParametersAre400NamingTheField(string url, string field)
    {
        var (status, problem, _) = await fixture.Http.PostAsync(url, "");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal([field], problem.ErrorFields());
    }

    [Fact]
    public async Task UnknownIdsAre404ProblemDetails()
    {
        var get = await fixture.Http.GetJsonAsync("/api/admin/dlq/987654321");
        var delete = await fixture.Http.SendAsync(HttpMethod.Delete, "/api/admin/dlq/987654321");
        var retry = await fixture.Http.PostAsync("/api/admin/dlq/987654321/retry", "");
        var notAnId = await fixture.Http.GetJsonAsync("/api/admin/dlq/abc");

        Assert.All([get, delete, retry, notAnId], r => Assert.Equal(HttpStatusCode.NotFound, r.Status));
        Assert.Equal("dead letter 987654321 was not found.", (string?)get.Body!["detail"]);
        Assert.Equal("dead letter 987654321 was not found.", (string?)retry.Body!["detail"]);
    }

    [Fact]
    public async Task DeleteRemovesAnEntry()
    {
        var entry = await DeadLetterAsync(Unique("del"), "not json at all");

        var (status, _, _) = await fixture.Http.SendAsync(HttpMethod.Delete, $"/api/admin/dlq/{entry.Id}");
        var (after, _, _) = await fixture.Clients[1].GetJsonAsync($"/api/admin/dlq/{entry.Id}");

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(HttpStatusCode.NotFound, after);
    }

    [Fact]
    public async Task ABulkReplayCountsWhatWasReplayedAndWhatFailed()
    {
        var connector = Unique("bulk");
        await DeadLetterAsync(connector, DraftJson($"{connector}-a"));
        await DeadLetterAsync(connector, DraftJson($"{connector}-b"));
        var bad = await DeadLetterAsync(connector, "{ broken");

        var (status, first, _) = await fixture.Http.PostAsync($"/api/admin/dlq/replay?connector={connector}", "");
        var (_, second, _) = await fixture.Http.PostAsync($"/api/admin/dlq/replay?connector={connector}&max=10", "");
        var (_, stored, _) = await fixture.Http.GetJsonAsync($"/api/admin/dlq/{bad.Id}");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((2, 1), ((int)first!["replayed"]!, (int)first["failed"]!));
        Assert.Equal((0, 1), ((int)second!["replayed"]!, (int)second["failed"]!));
        Assert.Equal(8, (int)stored!["attempts"]!);
        Assert.Equal("{ broken", (string?)stored["payload"]);
    }
}
