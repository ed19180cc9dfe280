using System.Net;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Api;

[Collection(SiloPairCollection.Name)]
public sealed class InvestigationsApiTests(SiloPairFixture silos)
{
    private HttpClient A => silos.Clients[0];
    private HttpClient B => silos.Clients[1];

    private const string ValidBody = """
        {"title":"Checkout 502s","description":"Payments time out","status":"open","impact_severity":"high","priority":"p1",
         "detected_at":"2026-01-10T10:00:00Z","started_at":"2026-01-10T09:50:00Z","component_affected":"checkout-api",
         "service_affected":"checkout","tags":["payments","deploy"],"created_by":"alice","assigned_to":"bob"}
        """;

    private async Task<string> CreateAsync(string body = ValidBody)
    {
        var (status, json, _) = await A.PostAsync("/api/investigations", body);
        Assert.Equal(HttpStatusCode.Created, status);
        return json!["id"]!.GetValue<string>();
    }

    private async Task<string> CreateEventAsync(string timestamp = "2026-01-10T09:30:00Z")
    {
        var (status, json, _) = await A.PostAsync("/api/events",
            $$"""{"source":"git","source_id":"shop/checkout@{{Guid.NewGuid():N}}","event_type":"commit","timestamp":"{{timestamp}}"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        return json!["id"]!.GetValue<string>();
    }

    [Fact]
    public async Task CreatedInvestigationIsReadableFromTheOtherSiloWithEveryField()
    {
        var (status, created, response) = await A.PostAsync("/api/investigations", ValidBody);

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal($"/api/investigations/{created!["id"]}", response.Headers.Location!.OriginalString);
        Assert.Equal("\"1\"", response.Headers.ETag!.Tag);
        var (getStatus, read, getResponse) = await B.GetJsonAsync($"/api/investigations/{created["id"]}");
        Assert.Equal(HttpStatusCode.OK, getStatus);
        Assert.Equal("\"1\"", getResponse.Headers.ETag!.Tag);
        foreach (var field in new[] { "title", "description", "status", "impact_severity", "priority", "component_affected",
                     "service_affected", "created_by", "assigned_to" })
        {
            Assert.Equal(created[field]!.ToJsonString(), read![field]!.ToJsonString());
        }
        Assert.Equal("in_progress", (await A.SendAsync(HttpMethod.Put, $"/api/investigations/{created["id"]}",
            ValidBody.Replace("\"status\":\"open\"", "\"status\":\"in_progress\""), ifMatch: "\"1\"")).Body!["status"]!.GetValue<string>());
        Assert.Equal("2026-01-10T10:00:00+00:00", read!["detected_at"]!.GetValue<string>());
        Assert.Equal("""["payments","deploy"]""", read["tags"]!.ToJsonString());
        Assert.Null(read["event_ids"]); // linked events are listed by /events, not held in the record
        Assert.Equal("[]", read["related_investigation_ids"]!.ToJsonString());
        Assert.Null(read["resolved_at"]?.GetValue<string>());
        Assert.Null(read["deleted_at"]?.GetValue<string>());
        Assert.NotNull(read["created_at"]);
        Assert.NotNull(read["updated_at"]);
    }

    [Fact]
    public async Task InvalidFieldsAreAnsweredWith400NamingEachField()
    {
        var longText = new string('x', 2001);
        var cases = new (string Body, string Field)[]
        {
            ("""{"title":""}""", "title"),
            ("""{"description":"no title"}""", "title"),
            ($$"""{"title":"{{new string('t', 201)}}"}""", "title"),
            ("""{"title":"t","status":"done"}""", "status"),
            ("""{"title":"t","impact_severity":"sev1"}""", "impact_severity"),
            ("""{"title":"t","priority":"p4"}""", "priority"),
            ("""{"title":"t","detected_at":"next tuesday"}""", "detected_at"),
            ("""{"title":"t","detected_at":"2999-01-01T00:00:00Z"}""", "detected_at"),
            ("""{"title":"t","detected_at":"2026-01-10T10:00:00Z","started_at":"2026-01-10T11:00:00Z"}""", "started_at"),
            ("""{"title":"t","status":"open","resolved_at":"2026-01-10T11:00:00Z"}""", "resolved_at"),
            ("""{"title":"t","status":"resolved","detected_at":"2026-01-10T10:00:00Z","resolved_at":"2026-01-10T09:00:00Z"}""", "resolved_at"),
            ($$"""{"title":"t","root_cause":"{{longText}}"}""", "root_cause"),
            ($$"""{"title":"t","remediation":"{{longText}}"}""", "remediation"),
            ($$"""{"title":"t","lessons_learned":"{{longText}}"}""", "lessons_learned"),
            ("""{"title":"t","tags":["has space"]}""", "tags"),
            ("""{"title":"t","tags":"not-a-list"}""", "tags"),
            ("""{"title":["not","text"]}""", "title"),
        };
        foreach (var (body, field) in cases)
        {
            var (status, problem, _) = await A.PostAsync("/api/investigations", body);
            Assert.True(status == HttpStatusCode.BadRequest, $"{body} gave {status}");
            Assert.Contains(field, problem.ErrorFields());
            Assert.Equal(400, problem!["status"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task MalformedOversizedAndNonJsonBodiesGetProblemDetails()
    {
        var (malformed, problem, _) = await A.PostAsync("/api/investigations", "{\"title\":");
        Assert.Equal(HttpStatusCode.BadRequest, malformed);
        Assert.Equal(["body"], problem.ErrorFields());

        var (empty, emptyProblem, _) = await A.SendAsync(HttpMethod.Post, "/api/investigations", "");
        Assert.Equal(HttpStatusCode.BadRequest, empty);
        Assert.Equal(["body"], emptyProblem.ErrorFields());

        var (wrongType, typeProblem, typeResponse) = await A.SendAsync(HttpMethod.Post, "/api/investigations", "title=x", contentType: "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType);
        Assert.Equal("application/problem+json", typeResponse.Content.Headers.ContentType!.MediaType);
        Assert.Equal(415, typeProblem!["status"]!.GetValue<int>());

        var huge = $$"""{"title":"t","description":"{{new string('d', 1_100_000)}}"}""";
        var (tooLarge, largeProblem, _) = await A.SendAsync(HttpMethod.Post, "/api/investigations", huge, expectContinue: true);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge);
        Assert.Equal(413, largeProblem!["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task UnknownInvestigationsAre404OnEveryRoute()
    {
        var id = Guid.NewGuid();
        var eventId = await CreateEventAsync();
        var requests = new (HttpMethod Method, string Url, string? Body)[]
        {
            (HttpMethod.Get, $"/api/investigations/{id}", null),
            (HttpMethod.Put, $"/api/investigations/{id}", """{"title":"t","version":1}"""),
            (HttpMethod.Delete, $"/api/investigations/{id}", null),
            (HttpMethod.Post, $"/api/investigations/{id}/restore", null),
            (HttpMethod.Post, $"/api/investigations/{id}/close", null),
            (HttpMethod.Post, $"/api/investigations/{id}/reopen", null),
            (HttpMethod.Post, $"/api/investigations/{id}/notes", """{"author":"a","body":"b"}"""),
            (HttpMethod.Get, $"/api/investigations/{id}/notes", null),
            (HttpMethod.Post, $"/api/investigations/{id}/link-event", $$"""{"event_id":"{{eventId}}"}"""),
            (HttpMethod.Delete, $"/api/investigations/{id}/unlink-event/{eventId}", null),
            (HttpMethod.Get, $"/api/investigations/{id}/events", null),
            (HttpMethod.Post, $"/api/investigations/{id}/related", $$"""{"investigation_id":"{{Guid.NewGuid()}}"}"""),
            (HttpMethod.Delete, $"/api/investigations/{id}/related/{Guid.NewGuid()}", null),
        };
        foreach (var (method, url, body) in requests)
        {
            var (status, problem, _) = await A.SendAsync(method, url, body);
            Assert.True(status == HttpStatusCode.NotFound, $"{method} {url} gave {status}");
            Assert.Equal(404, problem!["status"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task UpdatesNeedTheVersionTheyReadAndStaleOnesAreRefusedWithTheCurrentVersion()
    {
        var id = await CreateAsync();
        var url = $"/api/investigations/{id}";
        var renamed = ValidBody.Replace("Checkout 502s", "Checkout 502s after deploy");

        var (missing, missingProblem, _) = await A.SendAsync(HttpMethod.Put, url, renamed);
        Assert.Equal((HttpStatusCode)428, missing);
        Assert.Equal("version", missingProblem!["field"]!.GetValue<string>());

        var (ok, updated, okResponse) = await A.SendAsync(HttpMethod.Put, url, renamed, ifMatch: "\"1\"");
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(2, updated!["version"]!.GetValue<long>());
        Assert.Equal("\"2\"", okResponse.Headers.ETag!.Tag);

        var (staleHeader, headerProblem, _) = await B.SendAsync(HttpMethod.Put, url, ValidBody, ifMatch: "\"1\"");
        Assert.Equal(HttpStatusCode.PreconditionFailed, staleHeader);
        Assert.Equal(2, headerProblem!["current_version"]!.GetValue<long>());
        Assert.Equal(1, headerProblem["expected_version"]!.GetValue<long>());

        var (staleBody, bodyProblem, _) = await B.SendAsync(HttpMethod.Put, url, ValidBody.Replace("{\"title\"", "{\"version\":1,\"title\""));
        Assert.Equal(HttpStatusCode.Conflict, staleBody);
        Assert.Equal(2, bodyProblem!["current_version"]!.GetValue<long>());

        var (badTag, badTagProblem, _) = await A.SendAsync(HttpMethod.Put, url, ValidBody, ifMatch: "\"abc\"");
        Assert.Equal(HttpStatusCode.BadRequest, badTag);
        Assert.Equal(["If-Match"], badTagProblem.ErrorFields());

        var (_, current, _) = await B.GetJsonAsync(url);
        Assert.Equal("Checkout 502s after deploy", current!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task CloseReopenAndTheWorkflowRules()
    {
        var id = await CreateAsync();
        var url = $"/api/investigations/{id}";

        var (reopenOpen, reopenProblem, _) = await A.SendAsync(HttpMethod.Post, $"{url}/reopen");
        Assert.Equal(HttpStatusCode.Conflict, reopenOpen);
        Assert.Equal("status", reopenProblem!["field"]!.GetValue<string>());

        var (closed, closedBody, _) = await A.SendAsync(HttpMethod.Post, $"{url}/close");
        Assert.Equal(HttpStatusCode.OK, closed);
        Assert.Equal("closed", closedBody!["status"]!.GetValue<string>());
        Assert.NotNull(closedBody["resolved_at"]?.GetValue<string>());

        var version = closedBody["version"]!.GetValue<long>();
        var (moveClosed, _, _) = await A.SendAsync(HttpMethod.Put, url,
            ValidBody.Replace("\"status\":\"open\"", "\"status\":\"in_progress\""), ifMatch: $"\"{version}\"");
        Assert.Equal(HttpStatusCode.Conflict, moveClosed);

        var (reopened, reopenedBody, _) = await B.SendAsync(HttpMethod.Post, $"{url}/reopen", ifMatch: $"\"{version}\"");
        Assert.Equal(HttpStatusCode.OK, reopened);
        Assert.Equal("open", reopenedBody!["status"]!.GetValue<string>());
        Assert.Null(reopenedBody["resolved_at"]?.GetValue<string>());

        var (resolved, resolvedBody, _) = await A.SendAsync(HttpMethod.Put, url,
            ValidBody.Replace("\"status\":\"open\"", "\"status\":\"resolved\""), ifMatch: $"\"{reopenedBody["version"]}\"");
        Assert.Equal(HttpStatusCode.OK, resolved);
        Assert.NotNull(resolvedBody!["resolved_at"]?.GetValue<string>());
    }

    [Fact]
    public async Task SoftDeleteHidesTheInvestigationUntilRestored()
    {
        var id = await CreateAsync();
        var url = $"/api/investigations/{id}";

        var (deleted, _, _) = await A.SendAsync(HttpMethod.Delete, url);
        Assert.Equal(HttpStatusCode.NoContent, deleted);
        Assert.Equal(HttpStatusCode.NotFound, (await B.GetJsonAsync(url)).Status);
        var (withDeleted, hidden, _) = await B.GetJsonAsync($"{url}?include_deleted=true");
        Assert.Equal(HttpStatusCode.OK, withDeleted);
        Assert.NotNull(hidden!["deleted_at"]?.GetValue<string>());
        Assert.Equal(HttpStatusCode.NoContent, (await A.SendAsync(HttpMethod.Delete, url)).Status);

        var (restored, body, _) = await A.SendAsync(HttpMethod.Post, $"{url}/restore");
        Assert.Equal(HttpStatusCode.OK, restored);
        Assert.Null(body!["deleted_at"]?.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await B.GetJsonAsync(url)).Status);

        var (badFlag, flagProblem, _) = await A.GetJsonAsync($"{url}?include_deleted=maybe");
        Assert.Equal(HttpStatusCode.BadRequest, badFlag);
        Assert.Equal(["include_deleted"], flagProblem.ErrorFields());
    }

    [Fact]
    public async Task NotesAreAddedAndListedInOrder()
    {
        var id = await CreateAsync();
        var url = $"/api/investigations/{id}/notes";

        var (first, note, response) = await A.PostAsync(url, """{"author":"maria","kind":"root_cause","body":"Pool limit **20** too low."}""");
        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Equal($"{url}/{note!["id"]}", response.Headers.Location!.OriginalString);
        Assert.Equal("root_cause", note["kind"]!.GetValue<string>());
        await B.PostAsync(url, """{"author":"jonas","body":"Rolled back."}""");

        var (listed, notes, _) = await B.GetJsonAsync(url);
        Assert.Equal(HttpStatusCode.OK, listed);
        Assert.Equal(["maria", "jonas"], notes!.AsArray().Select(n => n!["author"]!.GetValue<string>()).ToArray());
        Assert.Equal("note", notes[1]!["kind"]!.GetValue<string>());

        var (badKind, kindProblem, _) = await A.PostAsync(url, """{"author":"a","kind":"rant","body":"b"}""");
        Assert.Equal(HttpStatusCode.BadRequest, badKind);
        Assert.Equal(["kind"], kindProblem.ErrorFields());
        var (noBody, bodyProblem, _) = await A.PostAsync(url, """{"author":"a"}""");
        Assert.Equal(HttpStatusCode.BadRequest, noBody);
        Assert.Equal(["body"], bodyProblem.ErrorFields());
        var (tooLong, longProblem, _) = await A.PostAsync(url, $$"""{"author":"a","body":"{{new string('n', 20_001)}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        Assert.Equal(["body"], longProblem.ErrorFields());
    }

    [Fact]
    public async Task LinkedEventsArePagedOldestFirstAndTheRecordStaysTheSame()
    {
        var id = await CreateAsync();
        var url = $"/api/investigations/{id}";
        var before = (await A.GetJsonAsync(url)).Body!;
        var ids = new List<string>();
        foreach (var minute in new[] { 40, 10, 30, 20, 50 })
        {
            var eventId = await CreateEventAsync($"2026-01-10T09:{minute}:00Z");
            Assert.Equal(HttpStatusCode.OK, (await (minute % 20 == 0 ? A : B).PostAsync($"{url}/link-event", $$"""{"event_id":"{{eventId}}"}""")).Status);
            ids.Add(eventId);
        }
        var oldestFirst = new[] { 1, 3, 2, 0, 4 }.Select(i => ids[i]).ToArray();
        // A link changes the event, not the investigation: its record and version are as they were.
        var after = (await B.GetJsonAsync(url)).Body!;
        Assert.Equal(before["version"]!.GetValue<long>(), after["version"]!.GetValue<long>());
        Assert.Equal(before["updated_at"]!.GetValue<string>(), after["updated_at"]!.GetValue<string>());

        var (status, first, response) = await A.GetJsonAsync($"{url}/events?per_page=2");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("5", string.Join(",", response.Headers.GetValues("X-Total-Count")));
        var (_, second, _) = await B.GetJsonAsync($"{url}/events?per_page=2&page=2");
        var (_, third, _) = await A.GetJsonAsync($"{url}/events?per_page=2&page=3");
        var listed = first!.AsArray().Concat(second!.AsArray()).Concat(third!.AsArray()).Select(e => e!["id"]!.GetValue<string>()).ToArray();
        Assert.Equal(oldestFirst, listed);
        var (_, newest, _) = await B.GetJsonAsync($"{url}/events?sort=-timestamp&per_page=1");
        Assert.Equal(ids[4], Assert.Single(newest!.AsArray())!["id"]!.GetValue<string>());

        // A soft-deleted event keeps its link but leaves the list.
        Assert.Equal(HttpStatusCode.NoContent, (await A.SendAsync(HttpMethod.Delete, $"/api/events/{ids[0]}")).Status);
        var (_, remaining, remainingResponse) = await B.GetJsonAsync($"{url}/events");
        Assert.Equal("4", string.Join(",", remainingResponse.Headers.GetValues("X-Total-Count")));
        Assert.DoesNotContain(ids[0], remaining!.AsArray().Select(e => e!["id"]!.GetValue<string>()));

        var (badPage, problem, _) = await A.GetJsonAsync($"{url}/events?per_page=0");
        Assert.Equal(HttpStatusCode.BadRequest, badPage);
        Assert.Equal(["per_page"], problem.ErrorFields());
    }

    [Fact]
    public async Task LinkingEventsIsVisibleOnBothSidesAndUnlinkingRemovesIt()
    {
        var id = await CreateAsync();
        var eventId = await CreateEventAsync();
        var url = $"/api/investigations/{id}";

        var (linked, investigation, _) = await A.PostAsync($"{url}/link-event", $$"""{"event_id":"{{eventId}}"}""");
        Assert.Equal(HttpStatusCode.OK, linked);
        Assert.Null(investigation!["event_ids"]);
        await B.PostAsync($"{url}/link-event", $$"""{"event_id":"{{eventId}}"}""");

        // Linked through A and B a moment ago: B's list waits until its index holds both writes.
        var (listed, events, listResponse) = await B.GetJsonAsync($"{url}/events");
        Assert.Equal(HttpStatusCode.OK, listed);
        Assert.Equal("true", string.Join(",", listResponse.Headers.GetValues("X-Index-Visible")));
        var e = Assert.Single(events!.AsArray());
        Assert.Equal(eventId, e!["id"]!.GetValue<string>());
        Assert.Equal($"[\"{id}\"]", e["investigation_ids"]!.ToJsonString());

        var (unlinked, _, _) = await B.SendAsync(HttpMethod.Delete, $"{url}/unlink-event/{eventId}");
        Assert.Equal(HttpStatusCode.OK, unlinked);
        Assert.Equal("[]", (await A.GetJsonAsync($"/api/events/{eventId}")).Body!["investigation_ids"]!.ToJsonString());
        Assert.Empty((await A.GetJsonAsync($"{url}/events")).Body!.AsArray());

        var (unknown, _, _) = await A.PostAsync($"{url}/link-event", $$"""{"event_id":"{{Guid.NewGuid()}}"}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        var (missing, missingProblem, _) = await A.PostAsync($"{url}/link-event", "{}");
        Assert.Equal(HttpStatusCode.BadRequest, missing);
        Assert.Equal(["event_id"], missingProblem.ErrorFields());
        var (badId, badIdProblem, _) = await A.PostAsync($"{url}/link-event", """{"event_id":"abc"}""");
        Assert.Equal(HttpStatusCode.BadRequest, badId);
        Assert.Equal(["event_id"], badIdProblem.ErrorFields());
    }

    [Fact]
    public async Task RelatedInvestigationsAreRecordedOnBothSides()
    {
        var a = await CreateAsync();
        var b = await CreateAsync();

        var (related, body, _) = await A.PostAsync($"/api/investigations/{a}/related", $$"""{"investigation_id":"{{b}}"}""");
        Assert.Equal(HttpStatusCode.OK, related);
        Assert.Equal($"[\"{b}\"]", body!["related_investigation_ids"]!.ToJsonString());
        Assert.Equal($"[\"{a}\"]", (await B.GetJsonAsync($"/api/investigations/{b}")).Body!["related_investigation_ids"]!.ToJsonString());

        var (self, selfProblem, _) = await A.PostAsync($"/api/investigations/{a}/related", $$"""{"investigation_id":"{{a}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, self);
        Assert.Equal(["investigation_id"], selfProblem.ErrorFields());

        var (removed, _, _) = await B.SendAsync(HttpMethod.Delete, $"/api/investigations/{b}/related/{a}");
        Assert.Equal(HttpStatusCode.OK, removed);
        Assert.Equal("[]", (await A.GetJsonAsync($"/api/investigations/{a}")).Body!["related_investigation_ids"]!.ToJsonString());
    }
}
