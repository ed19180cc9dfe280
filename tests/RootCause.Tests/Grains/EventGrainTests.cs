using Npgsql;
using RootCause.Common;
using RootCause.Events;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class EventGrainTests(ClusterFixture fixture)
{
    private static EventDraft Draft(string sourceId) => new()
    {
        Source = EventSource.Ci,
        SourceId = sourceId,
        EventType = "build_failed",
        Timestamp = DateTimeOffset.UtcNow.AddMinutes(-3),
        Severity = EventSeverity.High,
        Data = """{"workflow":"integration-tests","conclusion":"failure"}""",
        Tags = ["checkout-api"],
    };

    private IEventGrain GrainFor(EventDraft draft) => fixture.Client.GetGrain<IEventGrain>(EventKeys.For(draft));

    [Fact]
    public async Task ConcurrentIngestOfOneSourceIdCreatesExactlyOneEvent()
    {
        var draft = Draft($"run/{Guid.NewGuid():N}");

        // Every task goes through its own grain reference, as separate receivers on separate silos would.
        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() => GrainFor(draft).IngestAsync(draft))));

        Assert.Single(results, r => r.Created);
        Assert.Single(results.Select(r => r.Event.Id).Distinct());
        Assert.All(results, r => Assert.Equal(1, r.Event.Version));
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT count(*) FROM grain_changes c
            JOIN orleans_storage s USING (service_id, grain_type, grain_id_n0, grain_id_n1)
            WHERE c.grain_type = 'event' AND c.version = 1 AND convert_from(s.payload_binary, 'UTF8')::jsonb ->> 'id' = @id
            """, connection);
        command.Parameters.AddWithValue("id", results[0].Event.Id.ToString());
        Assert.Equal(1L, await command.ExecuteScalarAsync()); // one creating write, whatever the linker wrote after it
    }

    [Fact]
    public async Task TheSameExternalEventAlwaysGetsTheSameId()
    {
        var id = EventKeys.IdFor(EventSource.Git, "shop/api@abc123");
        Assert.Equal(id, EventKeys.IdFor(EventSource.Git, "shop/api@abc123"));
        Assert.NotEqual(id, EventKeys.IdFor(EventSource.Ci, "shop/api@abc123"));
        Assert.NotEqual(id, EventKeys.IdFor(EventSource.Git, "shop/api@abc124"));
        Assert.Equal(8, id.Version);
    }

    [Fact]
    public async Task AnEventSurvivesDeactivationWithItsJsonIntact()
    {
        var draft = Draft($"run/{Guid.NewGuid():N}");
        var grain = GrainFor(draft);
        var created = (await grain.IngestAsync(draft)).Event;

        await fixture.Cluster.DeactivateAsync(grain);
        var reloaded = await grain.GetAsync();

        Assert.NotNull(reloaded);
        Assert.Equal(created.Id, reloaded.Id);
        Assert.Equal("""{"workflow":"integration-tests","conclusion":"failure"}""", reloaded.Data);
        Assert.Equal("{}", reloaded.Metadata);
        Assert.Equal(draft.Timestamp, reloaded.Timestamp);
        Assert.Equal(EventSeverity.High, reloaded.Severity);
    }

    [Fact]
    public async Task IngestingIntoTheWrongGrainIsRefused()
    {
        var draft = Draft("run/1");
        var wrong = fixture.Client.GetGrain<IEventGrain>(Guid.NewGuid());
        var error = await Assert.ThrowsAsync<ValidationFailedException>(() => wrong.IngestAsync(draft));
        Assert.Contains("source_id", error.Errors.Keys);
    }

    [Fact]
    public async Task UpdatesCarryTheVersionAndSoftDeleteCanBeUndone()
    {
        var draft = Draft($"run/{Guid.NewGuid():N}");
        var grain = GrainFor(draft);
        var created = (await grain.IngestAsync(draft)).Event;
        var changes = new EventChanges
        {
            EventType = "build_fixed",
            Timestamp = created.Timestamp,
            Severity = EventSeverity.Low,
            Tags = ["checkout-api", "ci"],
        };

        var updated = await grain.UpdateAsync(changes, created.Version);
        Assert.Equal("build_fixed", updated.EventType);
        await Assert.ThrowsAsync<VersionConflictException>(() => grain.UpdateAsync(changes, created.Version));

        await grain.DeleteAsync();
        Assert.Null(await grain.GetAsync());
        // Re-ingesting a deleted event does not resurrect or duplicate it.
        var again = await grain.IngestAsync(draft);
        Assert.False(again.Created);
        Assert.NotNull(again.Event.DeletedAt);
        await grain.RestoreAsync();
        Assert.Equal("build_fixed", (await grain.GetAsync())!.EventType);
    }

    [Fact]
    public async Task ReingestInANewActivationReturnsTheStoredEventAndWritesNothing()
    {
        var draft = Draft($"run/{Guid.NewGuid():N}");
        var grain = GrainFor(draft);
        var created = await grain.IngestAsync(draft);
        Assert.True(created.Created);
        // The linker records that it evaluated the event (a write of its own that keeps the version): wait for it.
        var evaluated = (await Eventually.ReturnsAsync(() => grain.GetAsync(), e => e!.LinkerCheckedAt is not null))!;
        Assert.Equal(1, evaluated.Version);

        // The new activation tries its first write, finds the row, and answers from storage.
        await fixture.Cluster.DeactivateAsync(grain);
        var again = await grain.IngestAsync(draft with { Data = """{"conclusion":"success"}""", Severity = EventSeverity.Low });

        Assert.False(again.Created);
        Assert.Equal(created.Event.Id, again.Event.Id);
        Assert.Equal(1, again.Event.Version);
        Assert.Equal("""{"workflow":"integration-tests","conclusion":"failure"}""", again.Event.Data);
        Assert.Equal(EventSeverity.High, again.Event.Severity);
        Assert.Equal(2, (await ChangeVersionsAsync(created.Event.Id)).Count); // the ingest and the linker's mark

        // The activation now holds the stored state: an update goes on from version 1.
        var updated = await grain.UpdateAsync(new EventChanges
        {
            EventType = "build_fixed",
            Timestamp = created.Event.Timestamp,
            Severity = EventSeverity.Low,
        }, expectedVersion: 1);
        Assert.Equal(2, updated.Version);
        Assert.Equal(3, (await ChangeVersionsAsync(created.Event.Id)).Count);
    }

    [Fact]
    public async Task AnEventLookedUpBeforeItExistsCanStillBeIngested()
    {
        var draft = Draft($"run/{Guid.NewGuid():N}");
        var grain = GrainFor(draft);

        Assert.Null(await grain.GetAsync());
        var created = await grain.IngestAsync(draft);

        Assert.True(created.Created);
        Assert.Equal(1, created.Event.Version);
        Assert.Equal(created.Event.Id, (await grain.GetAsync())!.Id);
        // The lookup wrote nothing: the event's first change is the ingest's. (The linker may have
        // marked the event evaluated since, a later version of its own.)
        var versions = await ChangeVersionsAsync(created.Event.Id);
        Assert.Equal(1, versions[0]);
        Assert.Equal(versions.Count, versions.Distinct().Count());
        Assert.False((await grain.IngestAsync(draft)).Created);
    }

    [Fact]
    public async Task ASoftDeletedEventStaysDeletedWhenReingestedInANewActivation()
    {
        var draft = Draft($"run/{Guid.NewGuid():N}");
        var grain = GrainFor(draft);
        await grain.IngestAsync(draft);
        // The linker marks the event evaluated (a write of its own); wait for it, then delete.
        await Eventually.ReturnsAsync(() => grain.GetAsync(), e => e!.LinkerCheckedAt is not null);
        var deleted = await grain.DeleteAsync();

        await fixture.Cluster.DeactivateAsync(grain);
        var again = await grain.IngestAsync(draft);

        Assert.False(again.Created);
        Assert.NotNull(again.Event.DeletedAt);
        Assert.Equal(deleted.Version, again.Event.Version);
        Assert.Null(await grain.GetAsync());
    }

    private async Task<List<int>> ChangeVersionsAsync(Guid eventId)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT c.version FROM grain_changes c
            JOIN orleans_storage s USING (service_id, grain_type, grain_id_n0, grain_id_n1)
            WHERE c.grain_type = 'event' AND convert_from(s.payload_binary, 'UTF8')::jsonb ->> 'id' = @id
            ORDER BY c.seq
            """, connection);
        command.Parameters.AddWithValue("id", eventId.ToString());
        await using var reader = await command.ExecuteReaderAsync();
        var versions = new List<int>();
        while (await reader.ReadAsync())
        {
            versions.Add(reader.GetInt32(0));
        }
        return versions;
    }
}
