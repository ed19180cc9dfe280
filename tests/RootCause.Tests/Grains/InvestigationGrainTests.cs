using Npgsql;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class InvestigationGrainTests(ClusterFixture fixture)
{
    private IInvestigationGrain NewInvestigation() => fixture.Client.GetGrain<IInvestigationGrain>(Guid.NewGuid());

    private static InvestigationFields Fields(string title = "Checkout 502s") => new()
    {
        Title = title,
        Description = "Payment confirmations time out.",
        ImpactSeverity = ImpactSeverity.High,
        Priority = Priority.P1,
        DetectedAt = DateTimeOffset.UtcNow.AddMinutes(-30),
        StartedAt = DateTimeOffset.UtcNow.AddMinutes(-40),
        ComponentAffected = "checkout-api",
        ServiceAffected = "checkout",
        Tags = ["payments", "deploy"],
        CreatedBy = "alice",
        AssignedTo = "bob",
    };

    private async Task<Event> NewEventAsync(string sourceId)
    {
        var draft = new EventDraft
        {
            Source = EventSource.Git,
            SourceId = sourceId,
            EventType = "commit",
            Timestamp = DateTimeOffset.UtcNow.AddHours(-1),
        };
        var result = await fixture.Client.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft);
        return result.Event;
    }

    [Fact]
    public async Task StateSurvivesDeactivation()
    {
        var grain = NewInvestigation();
        var created = await grain.CreateAsync(Fields());
        await grain.AddNoteAsync(new NewNote { Author = "alice", Body = "Rolled back." });

        await fixture.Cluster.DeactivateAsync(grain);
        var reloaded = await grain.GetAsync();

        Assert.NotNull(reloaded);
        Assert.Equal(created.Title, reloaded.Title);
        Assert.Equal(created.DetectedAt, reloaded.DetectedAt);
        Assert.Equal(["payments", "deploy"], reloaded.Tags);
        Assert.Equal(ImpactSeverity.High, reloaded.ImpactSeverity);
        Assert.Equal(Priority.P1, reloaded.Priority);
        Assert.Equal(2, reloaded.Version);
        Assert.Equal(1, reloaded.NoteCount);
        var note = Assert.Single(await grain.GetNotesAsync());
        Assert.Equal("Rolled back.", note.Body);
    }

    [Fact]
    public async Task CreatingTwiceReturnsTheFirstRecord()
    {
        var grain = NewInvestigation();
        var first = await grain.CreateAsync(Fields("first"));
        var second = await grain.CreateAsync(Fields("second"));
        Assert.Equal("first", second.Title);
        Assert.Equal(first.Version, second.Version);
    }

    [Fact]
    public async Task StaleUpdateIsRejectedWithTheCurrentVersion()
    {
        var grain = NewInvestigation();
        var created = await grain.CreateAsync(Fields());
        var updated = await grain.UpdateAsync(Fields("renamed"), created.Version);
        Assert.Equal(created.Version + 1, updated.Version);

        var conflict = await Assert.ThrowsAsync<VersionConflictException>(() => grain.UpdateAsync(Fields("lost update"), created.Version));

        Assert.Equal(updated.Version, conflict.CurrentVersion);
        Assert.Equal(created.Version, conflict.ExpectedVersion);
        Assert.Equal("renamed", (await grain.GetAsync())!.Title);
    }

    [Fact]
    public async Task ResolvingSetsResolvedAtAndReopeningClearsIt()
    {
        var grain = NewInvestigation();
        var created = await grain.CreateAsync(Fields());
        Assert.Null(created.ResolvedAt);

        var resolved = await grain.UpdateAsync(Fields() with { Status = InvestigationStatus.Resolved }, created.Version);
        Assert.Equal(InvestigationStatus.Resolved, resolved.Status);
        Assert.NotNull(resolved.ResolvedAt);

        var closed = await grain.CloseAsync();
        Assert.Equal(InvestigationStatus.Closed, closed.Status);
        Assert.Equal(resolved.ResolvedAt, closed.ResolvedAt);

        var moveClosed = await Assert.ThrowsAsync<StateConflictException>(
            () => grain.UpdateAsync(Fields() with { Status = InvestigationStatus.InProgress }, closed.Version));
        Assert.Equal("status", moveClosed.Field);

        var reopened = await grain.ReopenAsync();
        Assert.Equal(InvestigationStatus.Open, reopened.Status);
        Assert.Null(reopened.ResolvedAt);

        await Assert.ThrowsAsync<StateConflictException>(() => grain.ReopenAsync());
    }

    [Fact]
    public async Task ClosingAnUnresolvedInvestigationStampsResolvedAt()
    {
        var grain = NewInvestigation();
        await grain.CreateAsync(Fields());
        var closed = await grain.CloseAsync();
        Assert.NotNull(closed.ResolvedAt);
        var again = await grain.CloseAsync();
        Assert.Equal(closed.Version, again.Version);
    }

    [Fact]
    public async Task SoftDeleteHidesAndRestoreBringsBack()
    {
        var grain = NewInvestigation();
        var created = await grain.CreateAsync(Fields());

        var deleted = await grain.DeleteAsync(created.Version);
        Assert.NotNull(deleted.DeletedAt);
        Assert.Null(await grain.GetAsync());
        Assert.NotNull(await grain.GetAsync(includeDeleted: true));
        await Assert.ThrowsAsync<NotFoundException>(() => grain.AddNoteAsync(new NewNote { Author = "a", Body = "b" }));

        var restored = await grain.RestoreAsync();
        Assert.Null(restored.DeletedAt);
        Assert.NotNull(await grain.GetAsync());
    }

    [Fact]
    public async Task LinkAndUnlinkAreSymmetricAndIdempotent()
    {
        var grain = NewInvestigation();
        var investigation = await grain.CreateAsync(Fields());
        var e = await NewEventAsync($"repo@{Guid.NewGuid():N}");
        var eventGrain = fixture.Client.GetGrain<IEventGrain>(e.Id);
        // Retro-linking records its completion on the investigation (a write): let it finish first.
        await RetroLinkedAsync(grain);

        var before = (await grain.GetAsync())!;
        await grain.LinkEventAsync(e.Id);
        var linkedOnce = (await eventGrain.GetAsync())!;
        var twice = await grain.LinkEventAsync(e.Id);

        // The link is stored on the event alone: the investigation's record (and its version) stays as it was.
        Assert.Equal(before.Version, twice.Version);
        var linkedEvent = (await eventGrain.GetAsync())!;
        Assert.Equal([investigation.Id], linkedEvent.InvestigationIds);
        Assert.Equal(linkedOnce.Version, linkedEvent.Version);
        Assert.NotNull(linkedEvent.LinkedAt);

        await grain.UnlinkEventAsync(e.Id);
        var unlinked = await grain.UnlinkEventAsync(e.Id);
        Assert.Equal(before.Version, unlinked.Version);
        Assert.Empty((await eventGrain.GetAsync())!.InvestigationIds);
    }

    [Fact]
    public async Task LinkingAnUnknownEventIsNotFoundAndRecordsNothing()
    {
        var grain = NewInvestigation();
        await grain.CreateAsync(Fields());
        var unknown = Guid.NewGuid();

        var error = await Assert.ThrowsAsync<NotFoundException>(() => grain.LinkEventAsync(unknown));

        Assert.Equal("event", error.Resource);
        Assert.Null(await fixture.Client.GetGrain<IEventGrain>(unknown).GetAsync(includeDeleted: true));
    }

    [Fact]
    public async Task RelationsAreSymmetricAndIdempotent()
    {
        var a = NewInvestigation();
        var b = NewInvestigation();
        var ia = await a.CreateAsync(Fields("a"));
        var ib = await b.CreateAsync(Fields("b"));

        await a.RelateAsync(ib.Id);
        await a.RelateAsync(ib.Id);
        Assert.Equal([ib.Id], (await a.GetAsync())!.RelatedInvestigationIds);
        Assert.Equal([ia.Id], (await b.GetAsync())!.RelatedInvestigationIds);

        await b.UnrelateAsync(ia.Id);
        Assert.Empty((await a.GetAsync())!.RelatedInvestigationIds);
        Assert.Empty((await b.GetAsync())!.RelatedInvestigationIds);

        await Assert.ThrowsAsync<ValidationFailedException>(() => a.RelateAsync(ia.Id));
        await Assert.ThrowsAsync<NotFoundException>(() => a.RelateAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task AnInvestigationStoredInTheOldMinimalShapeLoadsAndUpdates()
    {
        var grain = NewInvestigation();
        var created = await grain.CreateAsync(Fields());
        // Retro-linking touches the grain after creation: let it finish first.
        await RetroLinkedAsync(grain);

        // Replace the stored record with what the first version of RootCause wrote.
        var minimal = $$"""{"id":"{{created.Id}}","title":"Legacy outage","description":"from v1","status":"resolved"}""";
        await using (var connection = new NpgsqlConnection(fixture.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                """
                UPDATE orleans_storage SET payload_binary = convert_to(@payload, 'UTF8')
                WHERE grain_type = 'investigation'
                  AND convert_from(payload_binary, 'UTF8')::jsonb ->> 'id' = @id
                """, connection);
            command.Parameters.AddWithValue("payload", minimal);
            command.Parameters.AddWithValue("id", created.Id.ToString());
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        // Deactivated after the rewrite: whatever activates it next reads the stored record.
        await fixture.Cluster.DeactivateAsync(grain);

        var legacy = await grain.GetAsync();
        Assert.NotNull(legacy);
        Assert.Equal("Legacy outage", legacy.Title);
        Assert.Equal(InvestigationStatus.Resolved, legacy.Status);
        Assert.Equal(ImpactSeverity.Medium, legacy.ImpactSeverity);
        Assert.Equal(Priority.P2, legacy.Priority);
        Assert.Empty(legacy.Tags);
        Assert.NotNull(legacy.ResolvedAt);
        Assert.Equal(1, legacy.Version);

        var reopened = await grain.ReopenAsync(legacy.Version);
        Assert.Equal(InvestigationStatus.Open, reopened.Status);
        await fixture.Cluster.DeactivateAsync(grain);
        var upgraded = await grain.GetAsync();
        Assert.Equal(InvestigationStatus.Open, upgraded!.Status);
        Assert.Equal(2, upgraded.Version);
    }

    [Fact]
    public async Task ARecordThatListedItsEventsLoadsAndLeavesTheListOutWhenNextWritten()
    {
        var grain = NewInvestigation();
        var created = await grain.CreateAsync(Fields());
        await RetroLinkedAsync(grain);
        var e = await NewEventAsync($"repo@{Guid.NewGuid():N}");
        await grain.LinkEventAsync(e.Id);

        // The shape of schema 2, which held the linked events' ids in the record.
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        async Task<System.Text.Json.Nodes.JsonObject> StoredAsync()
        {
            await using var read = new NpgsqlCommand(
                "SELECT convert_from(payload_binary, 'UTF8') FROM orleans_storage WHERE grain_type = 'investigation' AND convert_from(payload_binary, 'UTF8')::jsonb ->> 'id' = @id",
                connection);
            read.Parameters.AddWithValue("id", created.Id.ToString());
            return System.Text.Json.Nodes.JsonNode.Parse((string)(await read.ExecuteScalarAsync())!)!.AsObject();
        }
        var stored = await StoredAsync();
        Assert.Equal(InvestigationState.CurrentSchemaVersion, stored["schema_version"]!.GetValue<int>());
        Assert.False(stored.ContainsKey("event_ids"));
        stored["schema_version"] = 2;
        stored["event_ids"] = new System.Text.Json.Nodes.JsonArray(e.Id.ToString());
        await using (var write = new NpgsqlCommand(
            "UPDATE orleans_storage SET payload_binary = convert_to(@payload, 'UTF8') WHERE grain_type = 'investigation' AND convert_from(payload_binary, 'UTF8')::jsonb ->> 'id' = @id",
            connection))
        {
            write.Parameters.AddWithValue("payload", stored.ToJsonString());
            write.Parameters.AddWithValue("id", created.Id.ToString());
            Assert.Equal(1, await write.ExecuteNonQueryAsync());
        }
        await fixture.Cluster.DeactivateAsync(grain);

        var loaded = (await grain.GetAsync())!;
        Assert.Equal(created.Title, loaded.Title);
        Assert.Equal(created.Version, loaded.Version);
        await grain.CloseAsync(loaded.Version);
        var rewritten = await StoredAsync();
        Assert.Equal(InvestigationState.CurrentSchemaVersion, rewritten["schema_version"]!.GetValue<int>());
        Assert.False(rewritten.ContainsKey("event_ids"));
        Assert.Equal("closed", rewritten["status"]!.GetValue<string>());
        // The link itself was always on the event, and is still there.
        Assert.Equal([created.Id], (await fixture.Client.GetGrain<IEventGrain>(e.Id).GetAsync())!.InvestigationIds);
    }

    private static async Task RetroLinkedAsync(IInvestigationGrain grain) =>
        await Eventually.ReturnsAsync(() => grain.GetLinkingKeyAsync(), k => k.Done, TimeSpan.FromSeconds(30));
}
