using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Search;

/// <summary>An investigation as created, for brute-force answers.</summary>
public sealed record SeededInvestigation(
    string Id, string Title, string Status, string Severity, string Priority, string Component, string Service,
    string? AssignedTo, string CreatedBy, string[] Tags, DateTimeOffset DetectedAt, DateTimeOffset? ResolvedAt, DateTimeOffset CreatedAt, JsonNode Json);

/// <summary>An event as ingested, for brute-force answers.</summary>
public sealed record SeededEvent(
    string Id, string Source, string Severity, string EventType, string Component, string[] Tags, DateTimeOffset Timestamp,
    List<string> InvestigationIds);

/// <summary>
/// A varied, deterministic data set written through the API of a silo pair: investigations over five
/// components in every status, severity and priority, events from every source, some of them linked.
/// Writes use <c>refresh=wait_for</c> on the first silo; the dataset is ready once both silos' indexes
/// show all of it.
/// </summary>
public sealed class SearchDataset
{
    public static readonly string[] Components = ["checkout-api", "payments", "search", "auth", "inventory"];
    public static readonly string[] Statuses = ["open", "in_progress", "resolved", "closed"];
    public static readonly string[] Severities = ["critical", "high", "medium", "low"];
    public static readonly string[] Priorities = ["p0", "p1", "p2", "p3"];
    public static readonly string[] TagPool = ["deploy", "database", "network", "cache", "config"];
    public static readonly string[] Sources = ["git", "ci", "logs", "metrics", "traces", "manual"];
    public static readonly string[] EventSeverities = ["critical", "high", "medium", "low", "info"];
    public static readonly string[] EventTypes = ["commit", "deployment", "build_failed", "error_spike", "latency_anomaly", "span_error"];

    private static readonly string[] Phrases =
    [
        "latency spike after rollout", "connection pool exhausted", "certificate expired on gateway",
        "memory leak in worker", "elevated 5xx from upstream", "disk nearly full on primary",
    ];

    public static readonly DateTimeOffset Base = new(2026, 3, 2, 6, 0, 0, TimeSpan.Zero);

    public List<SeededInvestigation> Investigations { get; } = [];
    public List<SeededEvent> Events { get; } = [];

    /// <summary>The investigation whose title says "kafka", and the one that only mentions it in its description.</summary>
    public string KafkaTitleId { get; private set; } = "";
    public string KafkaBodyId { get; private set; } = "";
    public string NoteOnlyId { get; private set; } = "";
    public string LinkedInvestigationId { get; private set; } = "";

    public static async Task<SearchDataset> CreateAsync(IReadOnlyList<HttpClient> clients)
    {
        var set = new SearchDataset();
        var http = clients[0];
        var random = new Random(20260302);
        for (var i = 0; i < 60; i++)
        {
            var component = Components[random.Next(Components.Length)];
            var status = Statuses[i % Statuses.Length];
            var severity = Severities[random.Next(Severities.Length)];
            var priority = Priorities[random.Next(Priorities.Length)];
            var detected = Base.AddHours(i * 13 + random.Next(0, 5));
            DateTimeOffset? resolved = status is "resolved" or "closed" ? detected.AddMinutes(20 + random.Next(0, 900)) : null;
            var tags = TagPool.Where(_ => random.Next(3) == 0).ToArray();
            var assigned = new[] { "alice", "bob", "carol", null }[random.Next(4)];
            var createdBy = random.Next(2) == 0 ? "dave" : "erin";
            var service = component is "auth" ? "identity" : "shop";
            var title = $"{component} {Phrases[random.Next(Phrases.Length)]} #{i}";
            var description = $"Responders saw {Phrases[random.Next(Phrases.Length)]} in {component}.";
            if (i == 7)
            {
                title = "Kafka consumer lag on order events";
            }
            if (i == 8)
            {
                description = "Orders were slow. Later we noticed the kafka brokers rebalancing for an hour.";
            }
            var body = new JsonObject
            {
                ["title"] = title,
                ["description"] = description,
                ["status"] = status,
                ["impact_severity"] = severity,
                ["priority"] = priority,
                ["detected_at"] = detected.ToString("O", CultureInfo.InvariantCulture),
                ["started_at"] = detected.AddMinutes(-15).ToString("O", CultureInfo.InvariantCulture),
                ["component_affected"] = component,
                ["service_affected"] = service,
                ["tags"] = new JsonArray([.. tags.Select(t => (JsonNode)t)]),
                ["created_by"] = createdBy,
            };
            if (assigned is not null)
            {
                body["assigned_to"] = assigned;
            }
            if (resolved is { } r)
            {
                body["resolved_at"] = r.ToString("O", CultureInfo.InvariantCulture);
                body["root_cause"] = "A configuration change reduced the pool size.";
            }
            var (code, created, _) = await http.PostAsync("/api/investigations?refresh=wait_for", body.ToJsonString());
            Assert.Equal(HttpStatusCode.Created, code);
            var id = created!["id"]!.GetValue<string>();
            set.Investigations.Add(new SeededInvestigation(id, title, status, severity, priority, component, service, assigned, createdBy,
                tags, detected, resolved, DateTimeOffset.Parse(created["created_at"]!.GetValue<string>(), CultureInfo.InvariantCulture), created));
            if (i == 7)
            {
                set.KafkaTitleId = id;
            }
            if (i == 8)
            {
                set.KafkaBodyId = id;
            }
        }

        set.NoteOnlyId = set.Investigations[11].Id;
        var (noteCode, _, _) = await http.PostAsync($"/api/investigations/{set.NoteOnlyId}/notes?refresh=wait_for",
            """{"author":"alice","kind":"note","body":"The zephyrine cache tier evicted hot keys."}""");
        Assert.Equal(HttpStatusCode.Created, noteCode);

        for (var i = 0; i < 90; i++)
        {
            var source = Sources[i % Sources.Length];
            var severity = EventSeverities[random.Next(EventSeverities.Length)];
            var type = EventTypes[random.Next(EventTypes.Length)];
            var component = Components[random.Next(Components.Length)];
            var tags = TagPool.Where(_ => random.Next(4) == 0).ToArray();
            var timestamp = Base.AddHours(i * 9 + random.Next(0, 3)).AddMinutes(random.Next(0, 60));
            var body = new JsonObject
            {
                ["source"] = source,
                ["source_id"] = $"search-{i}",
                ["event_type"] = type,
                ["severity"] = severity,
                ["timestamp"] = timestamp.ToString("O", CultureInfo.InvariantCulture),
                ["tags"] = new JsonArray([.. tags.Select(t => (JsonNode)t)]),
                ["data"] = new JsonObject { ["component"] = component, ["message"] = $"{type} observed on {component} host-{i % 7}" },
            };
            var (code, created, _) = await http.PostAsync("/api/events?refresh=wait_for", body.ToJsonString());
            Assert.Equal(HttpStatusCode.Created, code);
            set.Events.Add(new SeededEvent(created!["id"]!.GetValue<string>(), source, severity, type, component, tags, timestamp, []));
        }

        set.LinkedInvestigationId = set.Investigations[3].Id;
        foreach (var e in set.Events.Where((_, i) => i % 10 == 0))
        {
            var (code, _, _) = await http.PostAsync($"/api/investigations/{set.LinkedInvestigationId}/link-event", $$"""{"event_id":"{{e.Id}}"}""");
            Assert.Equal(HttpStatusCode.OK, code);
            e.InvestigationIds.Add(set.LinkedInvestigationId);
        }

        // Ready once both silos' indexes show everything, including the links on the event side.
        foreach (var client in clients)
        {
            Assert.Equal(set.Investigations.Count, await Eventually.TotalAsync(client, "/api/investigations?per_page=1", set.Investigations.Count));
            Assert.Equal(set.Events.Count, await Eventually.TotalAsync(client, "/api/events?per_page=1", set.Events.Count));
            Assert.Equal(9, await Eventually.TotalAsync(client, $"/api/events?per_page=1&investigation_id={set.LinkedInvestigationId}", 9));
            Assert.Equal(1, await Eventually.TotalAsync(client, "/api/investigations/search?q=zephyrine&per_page=1", 1));
        }
        return set;
    }
}

/// <summary>One dataset per test class, on that class's own silo pair.</summary>
public sealed class SearchFixture : IAsyncLifetime
{
    public SiloPairFixture Silos { get; } = new();

    public SearchDataset Data { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Silos.InitializeAsync();
        Data = await SearchDataset.CreateAsync(Silos.Clients);
    }

    public Task DisposeAsync() => Silos.DisposeAsync();
}
