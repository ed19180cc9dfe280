using System.Globalization;
using System.Text.Json.Nodes;
using RootCause.Catalog;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Benchmarks.Linking;

/// <summary>An investigation to open: its grain id, its fields, and the component it is about.</summary>
public sealed record PlannedInvestigation(Guid Id, InvestigationFields Fields, string Component);

/// <summary>
/// An event to ingest, with what the generator means by it: <see cref="Target"/> is the
/// investigation it was made to explain (its affected component, during its impact), or null for
/// background noise, which by construction links to no investigation.
/// </summary>
public sealed record PlannedEvent(EventDraft Draft, Guid Id, Guid? Target, string Kind);

/// <summary>
/// The linking benchmark's world: a service catalog of services with five components each (web,
/// api, worker, db, cache) in one repository per service (a path prefix per component) and a
/// pipeline per component, with dependencies inside each service and from each api to the api of
/// an earlier service; open investigations spread evenly over the components, detected in the last
/// hour; and events in the shapes of docs/events.md.
/// </summary>
/// <remarks>
/// Ground truth. A targeted event names its investigation's component and is timestamped in its
/// impact (a symptom between started and detected; a change shortly before the start), where every
/// kind scores above the 0.75 link threshold against that investigation (time 1, component 1, a
/// symptom's evidence; commits, CI runs and deployments come 1–20 min before the impact began).
/// Noise is of three kinds, none able to reach the threshold with the default weights: events of
/// components missing from the catalog (no candidates at all); events of catalog components from
/// before every investigation's look-back (time 0); and live events of catalog components after
/// every detection, from staging (the other environment scales the confidence by 0.4). Event tags
/// never overlap investigation tags, so tags add nothing.
/// </remarks>
public sealed class LinkingWorkload
{
    /// <summary>The share of the sustained phase's events made to link to an open investigation.</summary>
    public const double TargetedShare = 0.25;

    private static readonly string[] Roles = ["web", "api", "worker", "db", "cache"];

    private static readonly string[] ServiceNames =
    [
        "checkout", "payments", "cart", "search", "catalog", "pricing", "inventory", "shipping", "orders", "accounts",
        "identity", "notifications", "emails", "recommendations", "reviews", "media", "billing", "invoicing", "tax", "fraud",
        "loyalty", "coupons", "gateway", "sessions", "analytics", "reporting", "ledger", "refunds", "returns", "warehouse",
        "fulfilment", "support", "chat", "feeds", "pdp", "wishlist", "subscriptions", "partners", "webhooks", "exports",
    ];

    private static readonly string[] InvestigationTags = ["customer-facing", "sev2", "on-call", "slo-breach", "regression", "capacity"];
    private static readonly string[] Symptoms = ["error rate above SLO", "p99 latency above 2 s", "timeouts from downstream", "5xx after deploy", "queue backlog growing", "connection pool exhausted"];
    private static readonly string[] EventTags = ["production"];

    /// <summary>Kinds with their weights in the mix (per 100 events).</summary>
    private static readonly (string Kind, int Weight)[] Mix =
    [
        ("commit", 20), ("deployment", 5), ("ci_failure", 5), ("error_spike", 20), ("metric_anomaly", 25), ("span", 25),
    ];

    private readonly Random _random;
    private readonly DateTimeOffset _now;
    private readonly List<Component> _components = [];
    private readonly List<PlannedInvestigation> _investigations = [];
    private int _sequence;

    public LinkingWorkload(int seed, DateTimeOffset now, int components, int investigations)
    {
        _random = new Random(seed);
        _now = now;
        BuildCatalog(components);
        OpenInvestigations(investigations);
    }

    public IReadOnlyList<Component> Catalog => _components;

    public IReadOnlyList<PlannedInvestigation> Investigations => _investigations;

    /// <summary>Events of one phase: <paramref name="targetedShare"/> of them made to link, the rest noise.</summary>
    public PlannedEvent[] Events(string phase, int count, double targetedShare)
    {
        var metadata = new JsonObject { ["bench_phase"] = phase }.ToJsonString();
        var events = new PlannedEvent[count];
        for (var i = 0; i < count; i++)
        {
            events[i] = _random.NextDouble() < targetedShare ? Targeted(metadata) : Noise(metadata);
        }
        return events;
    }

    /// <summary>
    /// Events of one phase that no investigation can claim: every one names a system the catalog does
    /// not know (the first kind of noise), so the registry offers no candidate and nothing is scored.
    /// What the linker still does for them (wait for the registry, read the event, look up a change's
    /// deployment and symptoms, store that it was evaluated) is the pipeline's own cost.
    /// </summary>
    public PlannedEvent[] Unclaimed(string phase, int count)
    {
        var metadata = new JsonObject { ["bench_phase"] = phase }.ToJsonString();
        var events = new PlannedEvent[count];
        for (var i = 0; i < count; i++)
        {
            events[i] = Unknown(PickKind(), metadata);
        }
        return events;
    }

    /// <summary>The same drafts under other source ids (so other grains), for a phase of their own.</summary>
    public static PlannedEvent[] Rekeyed(IEnumerable<PlannedEvent> events, string phase)
    {
        var metadata = new JsonObject { ["bench_phase"] = phase }.ToJsonString();
        return [.. events.Select(e =>
        {
            var draft = e.Draft with { SourceId = phase + "/" + e.Draft.SourceId, Metadata = metadata };
            return e with { Draft = draft, Id = EventKeys.For(draft) };
        })];
    }

    private void BuildCatalog(int count)
    {
        var services = (count + Roles.Length - 1) / Roles.Length;
        for (var s = 0; s < services; s++)
        {
            var service = s < ServiceNames.Length ? ServiceNames[s] : ServiceNames[s % ServiceNames.Length] + (s / ServiceNames.Length + 1).ToString(CultureInfo.InvariantCulture);
            var roles = Roles.Take(Math.Min(Roles.Length, count - s * Roles.Length)).ToList();
            foreach (var role in roles)
            {
                var dependsOn = role switch
                {
                    "web" => new List<string> { "api" },
                    "api" => ["db", "cache"],
                    "worker" => ["db", "api"],
                    _ => [],
                };
                var names = dependsOn.Where(roles.Contains).Select(r => $"{service}-{r}").ToList();
                if (role == "api" && s > 0 && _random.NextDouble() < 0.6)
                {
                    // Services call each other through their apis; always an earlier one, so the graph stays acyclic.
                    var other = _components.Where(c => c.Name.EndsWith("-api", StringComparison.Ordinal)).ToList();
                    if (other.Count > 0)
                    {
                        names.Add(other[_random.Next(other.Count)].Name);
                    }
                }
                _components.Add(new Component
                {
                    Name = $"{service}-{role}",
                    Description = $"The {role} of {service}",
                    Service = service,
                    Aliases = [$"{service}-{role}-prod"],
                    Repositories = [$"acme/{service}"],
                    PathPrefixes = [$"services/{role}/"],
                    Pipelines = [$"{service}-{role}-ci"],
                    DependsOn = names,
                    Owner = $"team-{service}",
                });
            }
        }
    }

    private void OpenInvestigations(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var component = _components[i % _components.Count];
            // Detected between 2 and 60 minutes ago, impact 5 to 30 minutes before that.
            var detected = _now - TimeSpan.FromMinutes(2 + 58 * _random.NextDouble());
            var started = detected - TimeSpan.FromMinutes(5 + 25 * _random.NextDouble());
            var tags = InvestigationTags.OrderBy(_ => _random.Next()).Take(1 + _random.Next(2)).ToList();
            _investigations.Add(new PlannedInvestigation(Guid.NewGuid(), new InvestigationFields
            {
                Title = $"{component.Name}: {Symptoms[_random.Next(Symptoms.Length)]}",
                Description = "Opened by the linking benchmark.",
                ImpactSeverity = (ImpactSeverity)_random.Next(4),
                DetectedAt = detected,
                StartedAt = started,
                ComponentAffected = component.Name,
                ServiceAffected = component.Service,
                Tags = tags,
            }, component.Name));
        }
    }

    private PlannedEvent Targeted(string metadata)
    {
        var investigation = _investigations[_random.Next(_investigations.Count)];
        var component = _components.First(c => c.Name == investigation.Component);
        var kind = PickKind();
        var started = investigation.Fields.StartedAt!.Value;
        var detected = investigation.Fields.DetectedAt!.Value;
        // Changes come before the impact (a commit made after it began cannot have caused it);
        // symptoms during it.
        var at = kind is "deployment" or "commit" or "ci_failure"
            ? started - TimeSpan.FromMinutes(1 + 19 * _random.NextDouble())
            : started + (detected - started) * _random.NextDouble();
        return Make(kind, component.Name, component.Service!, at, metadata, investigation.Id);
    }

    private PlannedEvent Noise(string metadata)
    {
        var kind = PickKind();
        var roll = _random.NextDouble();
        if (roll < 0.25)
        {
            return Unknown(kind, metadata);
        }
        var component = _components[_random.Next(_components.Count)];
        var at = roll < 0.60
            // Older than every look-back: 8–20 days for changes (7 days), 4–24 h for the rest (2 h).
            ? (kind is "commit" or "ci_failure" or "deployment"
                ? _now - TimeSpan.FromDays(8 + 12 * _random.NextDouble())
                : _now - TimeSpan.FromHours(4 + 20 * _random.NextDouble()))
            // Live, after every investigation's detection (the latest is 2 minutes before the workload's
            // now), but from staging: the linker scales events of another environment down.
            : _now - TimeSpan.FromSeconds(90 * _random.NextDouble());
        return Make(kind, component.Name, component.Service!, at, metadata, null, roll < 0.60 ? "production" : "staging");
    }

    /// <summary>Something the catalog does not know: a sandbox, a batch job, a retired system.</summary>
    private PlannedEvent Unknown(string kind, string metadata)
    {
        var n = _random.Next(50).ToString(CultureInfo.InvariantCulture);
        return Make(kind, $"legacy-batch-{n}", $"sandbox-{n}", _now - TimeSpan.FromMinutes(30 * _random.NextDouble()), metadata, null);
    }

    private string PickKind()
    {
        var roll = _random.Next(Mix.Sum(m => m.Weight));
        foreach (var (kind, weight) in Mix)
        {
            if (roll < weight)
            {
                return kind;
            }
            roll -= weight;
        }
        return Mix[^1].Kind;
    }

    /// <summary>One event of <paramref name="kind"/> about <paramref name="component"/>, in the shapes of docs/events.md.</summary>
    private PlannedEvent Make(string kind, string component, string service, DateTimeOffset at, string metadata, Guid? target, string environment = "production")
    {
        var seq = Interlocked.Increment(ref _sequence);
        var role = component[(component.LastIndexOf('-') + 1)..];
        var repository = $"acme/{service}";
        var sha = Hex(40);
        var iso = at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        var end = at.AddMinutes(5).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        var (source, type, sourceId, severity, data) = kind switch
        {
            "commit" => (EventSource.Git, "commit", $"{repository}@{sha}", EventSeverity.Info, new JsonObject
            {
                ["repository"] = repository,
                ["sha"] = sha,
                ["branch"] = "main",
                ["author"] = new JsonObject { ["name"] = "Dana Ortiz", ["email"] = "dana@example.com" },
                ["message"] = $"Tune the {role} connection pool ({seq})",
                ["files"] = new JsonArray($"services/{role}/pool.go", $"services/{role}/config.yaml"),
                ["url"] = $"https://git.example.com/{repository}/commit/{sha[..7]}",
            }),
            "deployment" => (EventSource.Git, "deployment", $"deploy:{repository}:production:{seq}", EventSeverity.Low, new JsonObject
            {
                ["repository"] = repository,
                ["sha"] = sha,
                ["environment"] = "production",
                ["status"] = "success",
                ["service"] = component,
                ["url"] = $"https://git.example.com/{repository}/deployments/{seq}",
            }),
            "ci_failure" => (EventSource.Ci, "ci_failure", $"github_actions:{repository}:{seq}:integration-tests", EventSeverity.Medium, new JsonObject
            {
                ["provider"] = "github_actions",
                ["repository"] = repository,
                ["workflow"] = $"{component}-ci",
                ["job"] = "integration-tests",
                ["step"] = "Run go test ./...",
                ["conclusion"] = "failure",
                ["sha"] = sha,
                ["branch"] = "main",
                ["url"] = $"https://git.example.com/{repository}/actions/runs/{seq}",
            }),
            "error_spike" => (EventSource.Logs, "error_spike", $"spike:{component}:{iso}:{seq}", EventSeverity.High, new JsonObject
            {
                ["service"] = component,
                ["count"] = 200 + _random.Next(5000),
                ["baseline_per_minute"] = 3.2,
                ["window_start"] = iso,
                ["window_end"] = end,
                ["top_errors"] = new JsonArray(new JsonObject
                {
                    ["exception_type"] = "System.TimeoutException",
                    ["message"] = $"Timed out waiting for {service}-db",
                    ["count"] = 150 + _random.Next(4000),
                }),
                ["sample_stack_trace"] = "System.TimeoutException: The operation has timed out.\n   at Pool.Acquire()",
            }),
            "metric_anomaly" => (EventSource.Metrics, "metric_anomaly", $"anomaly:http_request_duration_seconds:{component}-{seq % 7}:{iso}:{seq}", EventSeverity.Medium, new JsonObject
            {
                ["metric"] = "http_request_duration_seconds",
                ["labels"] = new JsonObject { ["instance"] = $"{component}-{seq % 7}:9100", ["job"] = "node", ["service"] = component },
                ["kind"] = "spike",
                ["value"] = Math.Round(1 + 4 * _random.NextDouble(), 3),
                ["baseline"] = 0.18,
                ["threshold"] = 1.0,
                ["window_start"] = iso,
                ["window_end"] = end,
            }),
            _ => Span(component, service),
        };
        data["environment"] = environment;
        if (data["resource"] is JsonObject resource)
        {
            resource["deployment.environment"] = environment;
        }
        var draft = new EventDraft
        {
            Source = source,
            SourceId = sourceId,
            EventType = type,
            Timestamp = at,
            Severity = severity,
            Data = data.ToJsonString(),
            Tags = EventTags,
            Metadata = metadata,
        };
        return new PlannedEvent(draft, EventKeys.For(draft), target, kind);
    }

    private (EventSource, string, string, EventSeverity, JsonObject) Span(string component, string service)
    {
        var trace = Hex(32);
        var span = Hex(16);
        var failed = _random.Next(2) == 0;
        return (EventSource.Traces, failed ? "error_span" : "slow_span", $"{trace}:{span}", failed ? EventSeverity.High : EventSeverity.Medium, new JsonObject
        {
            ["trace_id"] = trace,
            ["span_id"] = span,
            ["service"] = component,
            ["operation"] = "POST /charge",
            ["duration_ms"] = 800 + _random.Next(5000),
            ["baseline_ms"] = 180,
            ["status"] = failed ? "error" : "ok",
            ["peer_service"] = $"{service}-db",
            ["attributes"] = new JsonObject { ["http.route"] = "/charge", ["http.status_code"] = failed ? 503 : 200 },
            ["resource"] = new JsonObject { ["service.name"] = component, ["deployment.environment"] = "production" },
        });
    }

    private string Hex(int length)
    {
        Span<byte> bytes = stackalloc byte[length / 2];
        _random.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
