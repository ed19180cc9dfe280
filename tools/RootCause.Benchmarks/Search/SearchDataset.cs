using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Benchmarks.Search;

/// <summary>
/// A deterministic, realistic dataset for the search benchmark: investigations over about two
/// years on a catalog of service components, and the events the connectors would have brought in
/// around them (commits, CI runs, log errors, metric anomalies, trace spans). Record <c>i</c>
/// depends only on the seed and <c>i</c>.
/// </summary>
public sealed class SearchDataset
{
    /// <summary>The dataset spans this many days back from <see cref="End"/>.</summary>
    public const int SpanDays = 730;

    private static readonly string[] Domains =
    [
        "checkout", "payments", "cart", "catalog", "search", "recommendations", "identity", "auth", "notifications", "email",
        "orders", "inventory", "shipping", "pricing", "promotions", "reviews", "media", "billing", "invoicing", "ledger",
        "fraud", "risk", "loyalty", "accounts", "profile", "sessions", "geo", "tax", "fulfillment", "returns",
        "warehouse", "analytics", "reporting", "ads", "feed", "messaging", "chat", "support", "onboarding", "subscriptions",
    ];

    private static readonly string[] Roles =
        ["api", "gateway", "worker", "consumer", "scheduler", "db", "cache", "frontend", "indexer", "proxy", "sync", "webhooks"];

    private static readonly string[] People =
    [
        "maria.santos", "jonas.weber", "aiko.tanaka", "sam.okafor", "lena.kowalski", "dev.patel", "noor.haddad", "tom.becker",
        "olivia.chen", "mateo.garcia", "freya.nilsson", "kwame.mensah", "ines.moreau", "ravi.iyer", "hana.kim", "lucas.silva",
        "emma.jensen", "yusuf.demir", "chloe.martin", "arjun.rao", "sofia.rossi", "ben.carter", "mila.novak", "omar.farouk",
        "julia.schmidt", "kenji.sato", "amara.obi", "nils.larsen", "priya.nair", "diego.lopez", "zoe.walker", "ivan.petrov",
        "lea.dubois", "ali.hassan", "nina.berg", "pablo.ruiz", "tara.singh", "felix.braun", "maya.cohen", "leo.fischer",
    ];

    private static readonly string[] Symptoms =
    [
        "returns 502 for a share of checkout requests", "p99 latency above 2 s", "error rate climbing to 8 %",
        "consumer lag growing without bound", "timeouts against the primary database", "memory climbing until the pods are OOM killed",
        "serves stale results after cache invalidation", "login loops for a subset of users", "connection pool exhausted under load",
        "CPU throttled at the container limit", "disk full on the write-ahead log volume", "TLS handshake failures from clients",
        "duplicate messages delivered to subscribers", "deadlocks during nightly reconciliation", "DNS resolution failures for internal hosts",
        "5xx spike after the canary rollout", "replica lag above 60 seconds", "webhook deliveries failing with 429",
        "queue depth backing up in the outbox", "intermittent 404 for existing resources",
    ];

    private static readonly string[] Triggers =
    [
        "after the {version} deployment", "since the config change to the retry policy", "during the nightly batch window",
        "after the node pool upgrade", "following a traffic spike from the marketing campaign", "after the certificate rotation",
        "since the schema migration {migration}", "with no deploy in sight", "after a dependency bumped its client library",
        "when the region failed over", "after the feature flag {flag} was enabled", "during the load test",
    ];

    private static readonly string[] RootCauses =
    [
        "Connection pool exhaustion in {component}: the retry policy multiplied calls to {dependency} under latency, holding every connection.",
        "A missing index on {table} turned the status query into a sequential scan once the table passed 40 million rows.",
        "The {version} release changed the serializer settings, so {dependency} rejected payloads with unknown enum values.",
        "An expired intermediate certificate in the {component} trust store broke TLS to {dependency}.",
        "Memory leak: the HTTP client factory was bypassed and sockets accumulated in TIME_WAIT until the pods were OOM killed.",
        "Kafka consumer rebalances looped because max.poll.interval.ms was lower than the slowest batch.",
        "A cache stampede on {component} after the TTL was shortened sent all reads to the primary at once.",
        "The autoscaler's CPU target was set against requests, not limits, so {component} was throttled before it scaled.",
        "DNS negative caching kept resolving {dependency} to a decommissioned load balancer.",
        "A long-running migration held an ACCESS EXCLUSIVE lock on {table}, blocking writes for eleven minutes.",
        "Rate limiting at the {dependency} edge started returning 429 after the partner lowered our quota.",
        "A race in the idempotency check let retried webhooks create duplicate {table} rows.",
        "Replica lag from a bulk backfill made read-after-write checks fail in {component}.",
        "The feature flag {flag} enabled an unbounded fan-out query in {component}.",
        "Disk pressure on the WAL volume: archiving to object storage stalled after credentials were rotated.",
        "A circuit breaker stayed open because its health probe used the wrong port after the service mesh upgrade.",
    ];

    private static readonly string[] Remediations =
    [
        "Rolled back to the previous release and pinned the client version.", "Added the missing index concurrently and re-ran the job.",
        "Rotated the certificate and added expiry alerts at 30 and 7 days.", "Raised the pool size to 50 and capped retries at two with jitter.",
        "Restarted the consumers with a longer poll interval and smaller batches.", "Disabled the feature flag and added a query limit.",
        "Scaled the node pool and corrected the autoscaler target.", "Flushed the DNS cache and shortened the negative TTL.",
    ];

    private static readonly string[] Lessons =
    [
        "Load tests must include the retry path, not only the happy path.", "Schema migrations on large tables need a lock timeout.",
        "Every certificate in the chain needs an owner and an alert.", "Dashboards should show pool saturation next to latency.",
        "Feature flags that change query shapes need a staged rollout.", "Runbooks should name the rollback command, not just the dashboard.",
    ];

    private static readonly string[] Categories = ["deploy", "latency", "errors", "capacity", "config", "dependency", "database", "network", "security", "data-quality"];

    private static readonly string[] Tables = ["orders", "payments", "line_items", "sessions", "ledger_entries", "shipments", "invoices", "carts"];

    private static readonly string[] Flags = ["new-checkout-flow", "async-pricing", "bulk-export", "smart-retries", "edge-cache", "v2-search"];

    private static readonly string[] CommitVerbs = ["Fix", "Add", "Remove", "Refactor", "Bump", "Revert", "Tune", "Handle", "Cache", "Retry"];

    private static readonly string[] CommitObjects =
    [
        "null check in the payment callback handler", "connection pool size for the gateway client", "timeout on the inventory reservation call",
        "idempotency key validation for webhooks", "Npgsql to 10.0.3", "\"Enable async pricing\"", "stale cache entries on price updates",
        "retry budget for downstream calls", "index on orders(customer_id, created_at)", "graceful shutdown of the outbox worker",
        "pagination cursor encoding", "TLS settings for the partner endpoint", "memory usage of the report exporter",
        "serializer settings for enum values", "Kafka consumer poll interval", "circuit breaker thresholds",
    ];

    private static readonly string[] CiWorkflows = ["build-and-test", "deploy-production", "deploy-staging", "nightly-integration", "security-scan", "release"];

    private static readonly string[] CiJobs = ["unit-tests", "integration-tests", "docker-build", "helm-upgrade", "smoke-tests", "lint", "migrations", "e2e"];

    private static readonly string[] CiSteps =
        ["dotnet test", "docker build", "helm upgrade --install", "npm run e2e", "dotnet ef database update", "trivy image scan", "dotnet format --verify-no-changes"];

    private static readonly string[] CiFailures =
    [
        "Assert.Equal() Failure: expected 200, actual 503", "error: failed to solve: process \"/bin/sh -c dotnet restore\" did not complete successfully",
        "Error: UPGRADE FAILED: timed out waiting for the condition", "Timeout of 30000ms exceeded waiting for selector #checkout-confirm",
        "Npgsql.PostgresException: 40P01: deadlock detected", "CRITICAL vulnerability CVE-2024-38095 in System.Formats.Asn1",
        "The job exceeded the maximum execution time of 60 minutes", "readiness probe failed: connection refused",
    ];

    private static readonly (string Type, string Message)[] LogErrors =
    [
        ("System.TimeoutException", "The operation has timed out after 00:00:30 waiting for a connection from the pool"),
        ("Npgsql.NpgsqlException", "Exception while reading from stream: connection reset by peer"),
        ("Npgsql.PostgresException", "53300: sorry, too many clients already"),
        ("System.Net.Http.HttpRequestException", "Connection refused ({dependency}:443)"),
        ("System.OperationCanceledException", "The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing"),
        ("System.InvalidOperationException", "Sequence contains no elements in PriceCalculator.Apply"),
        ("System.OutOfMemoryException", "Insufficient memory to continue the execution of the program"),
        ("Confluent.Kafka.KafkaException", "Broker: Not coordinator for group during rebalance"),
        ("StackExchange.Redis.RedisTimeoutException", "Timeout performing GET cart:session, inst: 12, qs: 340, mgr: 10 of 10 available"),
        ("System.Security.Authentication.AuthenticationException", "The remote certificate is invalid because of errors in the certificate chain: NotTimeValid"),
        ("Polly.CircuitBreaker.BrokenCircuitException", "The circuit is now open and is not allowing calls to {dependency}"),
        ("System.Text.Json.JsonException", "The JSON value could not be converted to PaymentStatus. Path: $.status"),
    ];

    private static readonly (string Metric, string Unit, double Baseline)[] Metrics =
    [
        ("http_server_request_duration_seconds_p99", "s", 0.35), ("http_server_errors_total:rate5m", "1/s", 0.4),
        ("process_working_set_bytes", "bytes", 6.1e8), ("db_client_connections_pending", "connections", 1.5),
        ("kafka_consumer_lag_records", "records", 1200), ("container_cpu_throttled_ratio", "ratio", 0.05),
        ("dotnet_gc_pause_ratio", "ratio", 0.01), ("pg_replication_lag_seconds", "s", 0.8), ("redis_commands_timeouts_total:rate5m", "1/s", 0.02),
    ];

    private static readonly string[] Spans =
    [
        "POST /api/checkout/confirm", "GET /api/catalog/items/{id}", "POST /api/payments/authorize", "GET /api/search", "PUT /api/orders/{id}",
        "POST /api/login", "SELECT orders", "INSERT ledger_entries", "redis GET", "kafka publish order-events", "grpc pricing.Quote", "POST /webhooks/stripe",
    ];

    private readonly int _seed;
    private readonly (string Component, string Service, long DetectedMs)[] _investigationAnchors;

    public SearchDataset(int seed, int investigations, int components, DateTimeOffset end)
    {
        _seed = seed;
        End = new DateTimeOffset(end.UtcDateTime.Date, TimeSpan.Zero);
        Start = End.AddDays(-SpanDays);
        ComponentNames = BuildComponents(seed, components);
        _investigationAnchors = new (string, string, long)[investigations];
        for (var i = 0; i < investigations; i++)
        {
            var rng = RandomFor(i, 11);
            var component = PickComponent(rng);
            _investigationAnchors[i] = (component, ServiceOf(component), DetectedAt(rng).ToUnixTimeMilliseconds());
        }
    }

    public DateTimeOffset Start { get; }

    public DateTimeOffset End { get; }

    public IReadOnlyList<string> ComponentNames { get; }

    public static IReadOnlyList<string> PeopleNames => People;

    public static string ServiceOf(string component) => component[..component.LastIndexOf('-')];

    /// <summary>Words a responder would search for; each one is indexed the same way by Lucene and PostgreSQL.</summary>
    public static readonly string[] SearchWords =
    [
        "timeout", "deadlock", "latency", "exhausted", "certificate", "memory", "replica", "throttled", "rollback", "migration",
        "kafka", "redis", "dns", "webhook", "cache", "pool", "rebalance", "canary", "serializer", "retry", "lag", "disk", "quota",
        "expired", "duplicate", "stale", "leak", "refused", "circuit", "index",
    ];

    /// <summary>The stable id of investigation <paramref name="i"/>.</summary>
    public Guid InvestigationId(int i) => new(MD5.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{_seed}:investigation:{i}"))));

    /// <summary>Investigation <paramref name="i"/> as its fields, and the times it was opened and last changed.</summary>
    public (InvestigationFields Fields, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt) Investigation(int i)
    {
        var rng = RandomFor(i, 11);
        var (component, service, detectedMs) = Anchor(i, rng);
        var detected = DateTimeOffset.FromUnixTimeMilliseconds(detectedMs);
        var severity = rng.Next(100) switch
        {
            < 6 => ImpactSeverity.Critical,
            < 26 => ImpactSeverity.High,
            < 71 => ImpactSeverity.Medium,
            _ => ImpactSeverity.Low,
        };
        var priority = (Priority)Math.Clamp((int)severity + rng.Next(-1, 2), 0, 3);
        var ageDays = (End - detected).TotalDays;
        var roll = rng.NextDouble();
        var status = ageDays > 30
            ? roll switch { < 0.02 => InvestigationStatus.Open, < 0.04 => InvestigationStatus.InProgress, < 0.55 => InvestigationStatus.Resolved, _ => InvestigationStatus.Closed }
            : roll switch { < 0.35 => InvestigationStatus.Open, < 0.60 => InvestigationStatus.InProgress, < 0.85 => InvestigationStatus.Resolved, _ => InvestigationStatus.Closed };
        // Resolution times are log-normal around a median that grows as severity drops.
        var medianHours = severity switch
        {
            ImpactSeverity.Critical => 1.5,
            ImpactSeverity.High => 4,
            ImpactSeverity.Medium => 20,
            _ => 72,
        };
        var hours = medianHours * Math.Exp(0.9 * Gaussian(rng));
        DateTimeOffset? resolved = null;
        if (status is InvestigationStatus.Resolved or InvestigationStatus.Closed)
        {
            var r = detected.AddHours(hours);
            resolved = r > End ? End.AddMinutes(-rng.Next(1, 60)) : r;
            if (resolved < detected)
            {
                resolved = detected;
            }
        }
        var created = detected.AddMinutes(rng.Next(0, 25));
        if (resolved is { } res && created > res)
        {
            created = res;
        }
        var updated = resolved is { } done ? done.AddMinutes(rng.Next(0, 120)) : created.AddMinutes(rng.Next(0, 600));
        if (updated > End)
        {
            updated = End;
        }
        if (created > updated)
        {
            created = updated;
        }
        var dependency = PickComponent(rng);
        var symptom = Fill(Pick(rng, Symptoms), rng, component, dependency);
        var trigger = Fill(Pick(rng, Triggers), rng, component, dependency);
        var title = rng.Next(3) switch
        {
            0 => $"{component}: {symptom}",
            1 => $"{component} {symptom} {trigger}",
            _ => $"[{service}] {Capitalise(symptom)}",
        };
        if (title.Length > InvestigationRules.MaxTitleLength)
        {
            title = title[..InvestigationRules.MaxTitleLength];
        }
        var alertMinutes = rng.Next(1, 40);
        var description = $"On-call was paged when {component} {symptom}. The first alert fired {alertMinutes} minutes before the page; "
            + $"customers of {service} saw failed requests. Suspected trigger: {trigger}. Upstream dependency {dependency} "
            + (rng.Next(2) == 0 ? "looked healthy on its dashboards." : "showed elevated latency at the same time.");
        var terminal = status is InvestigationStatus.Resolved or InvestigationStatus.Closed;
        var category = Pick(rng, Categories);
        var tags = new List<string> { service, category, $"sev{(int)severity + 1}" };
        if (rng.Next(3) == 0)
        {
            tags.Add(rng.Next(4) == 0 ? "staging" : "prod");
        }
        if (rng.Next(5) == 0)
        {
            tags.Add("customer-facing");
        }
        var fields = new InvestigationFields
        {
            Title = title,
            Description = description,
            Status = status,
            ImpactSeverity = severity,
            Priority = priority,
            DetectedAt = detected,
            StartedAt = rng.Next(3) == 0 ? null : detected.AddMinutes(-rng.Next(0, 120)),
            ResolvedAt = resolved,
            RootCause = terminal || rng.Next(5) == 0 ? Fill(Pick(rng, RootCauses), rng, component, dependency) : null,
            Remediation = terminal ? Pick(rng, Remediations) : null,
            LessonsLearned = status == InvestigationStatus.Closed && rng.Next(2) == 0 ? Pick(rng, Lessons) : null,
            ComponentAffected = component,
            ServiceAffected = service,
            Tags = tags,
            CreatedBy = rng.Next(4) == 0 ? "alertmanager-bot" : Pick(rng, People),
            AssignedTo = rng.Next(8) == 0 ? null : Pick(rng, People),
        };
        return (fields, created, updated);
    }

    /// <summary>
    /// Event <paramref name="i"/>: about a third cluster around an investigation (same component,
    /// within hours of its detection), the rest are spread over the whole span.
    /// </summary>
    public EventDraft Event(int i)
    {
        var rng = RandomFor(i, 22);
        string component;
        DateTimeOffset at;
        if (_investigationAnchors.Length > 0 && rng.Next(3) == 0)
        {
            var anchor = _investigationAnchors[rng.Next(_investigationAnchors.Length)];
            component = anchor.Component;
            at = DateTimeOffset.FromUnixTimeMilliseconds(anchor.DetectedMs + (long)((rng.NextDouble() * 6 - 4.5) * 3_600_000));
        }
        else
        {
            component = PickComponent(rng);
            at = Start.AddSeconds(rng.NextDouble() * SpanDays * 86_400);
        }
        if (at > End)
        {
            at = End.AddSeconds(-rng.Next(1, 3600));
        }
        at = DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds() / 1000 * 1000);
        var metadata = Json(new
        {
            connector = $"{ConnectorName(i)}-prod",
            received_via = i % 3 == 0 ? "push" : "pull",
            region = Pick(rng, ["eu-west-1", "us-east-1", "ap-southeast-2"]),
        });
        var dependency = PickComponent(rng);
        return (i % 10) switch
        {
            0 or 1 => Commit(i, rng, component, at, metadata),
            2 or 3 => Ci(i, rng, component, at, metadata),
            4 or 5 or 6 => Log(i, rng, component, dependency, at, metadata),
            7 or 8 => Metric(i, rng, component, at, metadata),
            _ => Trace(i, rng, component, dependency, at, metadata),
        };
    }

    private EventDraft Commit(int i, Random rng, string component, DateTimeOffset at, string metadata)
    {
        var sha = Hex(i, "sha", 40);
        var author = Pick(rng, People);
        var repository = $"shop/{component}";
        var message = $"{Pick(rng, CommitVerbs)} {Pick(rng, CommitObjects)}";
        if (rng.Next(3) == 0)
        {
            message += $" (#{rng.Next(1000, 9999)})";
        }
        return new EventDraft
        {
            Source = EventSource.Git,
            SourceId = $"{repository}@{sha}",
            EventType = rng.Next(6) == 0 ? "merge" : "commit",
            Timestamp = at,
            Severity = EventSeverity.Info,
            Tags = [component, "commit"],
            Metadata = metadata,
            Data = Json(new
            {
                component,
                repository,
                sha,
                branch = rng.Next(5) == 0 ? "release/2.14" : "main",
                author = new { name = author, email = $"{author}@example.com" },
                message,
                files = Enumerable.Range(0, rng.Next(1, 6)).Select(f => $"src/{ServiceOf(component)}/{Pick(rng, Roles)}/{Pick(rng, ["Handler", "Client", "Options", "Repository", "Worker"])}{f}.cs").ToArray(),
                additions = rng.Next(1, 400),
                deletions = rng.Next(0, 200),
            }),
        };
    }

    private EventDraft Ci(int i, Random rng, string component, DateTimeOffset at, string metadata)
    {
        var run = 4_000_000 + i;
        var failed = rng.Next(3) != 0;
        var workflow = Pick(rng, CiWorkflows);
        var deploy = workflow.StartsWith("deploy", StringComparison.Ordinal);
        return new EventDraft
        {
            Source = EventSource.Ci,
            SourceId = $"github-actions:shop/{component}:run/{run}/attempt/1",
            EventType = (deploy, failed) switch
            {
                (true, true) => "deployment_failed",
                (true, false) => "deployment",
                (false, true) => "build_failed",
                _ => "build_succeeded",
            },
            Timestamp = at,
            Severity = failed ? (deploy ? EventSeverity.High : EventSeverity.Medium) : EventSeverity.Info,
            Tags = [component, "ci", deploy ? "deploy" : "build"],
            Metadata = metadata,
            Data = Json(new
            {
                component,
                workflow,
                job = Pick(rng, CiJobs),
                step = Pick(rng, CiSteps),
                conclusion = failed ? "failure" : "success",
                run_id = run,
                branch = "main",
                head_sha = Hex(i, "ci-sha", 40),
                duration_s = rng.Next(40, 2400),
                message = failed ? Pick(rng, CiFailures) : "All checks passed",
                url = $"https://github.example.com/shop/{component}/actions/runs/{run}",
            }),
        };
    }

    private EventDraft Log(int i, Random rng, string component, string dependency, DateTimeOffset at, string metadata)
    {
        var (type, message) = LogErrors[rng.Next(LogErrors.Length)];
        var count = rng.Next(20, 6000);
        return new EventDraft
        {
            Source = EventSource.Logs,
            SourceId = $"loki:{component}:{Hex(i, "log", 20)}",
            EventType = rng.Next(4) == 0 ? "log_error" : "error_spike",
            Timestamp = at,
            Severity = count > 3000 ? EventSeverity.Critical : count > 500 ? EventSeverity.High : EventSeverity.Medium,
            Tags = [component, "errors", rng.Next(6) == 0 ? "staging" : "prod"],
            Metadata = metadata,
            Data = Json(new
            {
                component,
                level = count > 3000 ? "fatal" : "error",
                message = $"{type}: {message.Replace("{dependency}", dependency, StringComparison.Ordinal)}",
                exception = new
                {
                    type,
                    stack = $"   at {Capitalise(ServiceOf(component))}.{Pick(rng, ["Handlers", "Clients", "Workers"])}.{Pick(rng, ["Process", "Send", "Execute"])}Async()",
                },
                count,
                window_s = 300,
                pod = $"{component}-{Hex(i, "pod", 10)}",
                trace_id = Hex(i, "trace", 32),
            }),
        };
    }

    private EventDraft Metric(int i, Random rng, string component, DateTimeOffset at, string metadata)
    {
        var (metric, unit, typical) = Metrics[rng.Next(Metrics.Length)];
        var baseline = Math.Round(typical * (0.5 + rng.NextDouble()), 4);
        var factor = 2 + rng.NextDouble() * 10;
        var value = Math.Round(baseline * factor, 4);
        return new EventDraft
        {
            Source = EventSource.Metrics,
            SourceId = $"prometheus:{metric}:{component}:{Hex(i, "alert", 16)}",
            EventType = "metric_anomaly",
            Timestamp = at,
            Severity = factor > 9 ? EventSeverity.Critical : factor > 6 ? EventSeverity.High : factor > 3 ? EventSeverity.Medium : EventSeverity.Low,
            Tags = [component, "metrics"],
            Metadata = metadata,
            Data = Json(new
            {
                component,
                metric,
                unit,
                value,
                baseline,
                deviation = $"{factor:0.0}x above the 7-day baseline",
                window = "5m",
                description = $"{metric} on {component} is {factor:0.0} times its baseline",
            }),
        };
    }

    private EventDraft Trace(int i, Random rng, string component, string dependency, DateTimeOffset at, string metadata)
    {
        var failed = rng.Next(2) == 0;
        var span = Pick(rng, Spans);
        return new EventDraft
        {
            Source = EventSource.Traces,
            SourceId = $"{Hex(i, "trace", 32)}:{Hex(i, "span", 16)}",
            EventType = failed ? "error_span" : "slow_span",
            Timestamp = at,
            Severity = failed ? EventSeverity.High : EventSeverity.Low,
            Tags = [component, "traces"],
            Metadata = metadata,
            Data = Json(new
            {
                component,
                trace_id = Hex(i, "trace", 32),
                span_id = Hex(i, "span", 16),
                span,
                duration_ms = Math.Round(150 + (rng.NextDouble() * rng.NextDouble() * 12_000), 1),
                status = failed ? "error" : "ok",
                status_message = failed ? $"upstream {dependency} returned 503 Service Unavailable" : "",
                peer = dependency,
            }),
        };
    }

    private (string Component, string Service, long DetectedMs) Anchor(int i, Random rng)
    {
        if (i < _investigationAnchors.Length)
        {
            // The same draws the constructor made, so the stream continues identically.
            PickComponent(rng);
            DetectedAt(rng);
            return _investigationAnchors[i];
        }
        var component = PickComponent(rng);
        return (component, ServiceOf(component), DetectedAt(rng).ToUnixTimeMilliseconds());
    }

    /// <summary>Detection times over the span, more of them recently (the organisation grew).</summary>
    private DateTimeOffset DetectedAt(Random rng)
    {
        var position = Math.Sqrt(rng.NextDouble());
        var at = Start.AddSeconds(position * SpanDays * 86_400);
        return DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(at.ToUnixTimeMilliseconds(), End.AddMinutes(-5).ToUnixTimeMilliseconds()) / 1000 * 1000);
    }

    /// <summary>Components are hit unevenly: a few busy services see most incidents.</summary>
    private string PickComponent(Random rng)
    {
        var skewed = Math.Pow(rng.NextDouble(), 1.6);
        return ComponentNames[(int)(skewed * ComponentNames.Count)];
    }

    private static IReadOnlyList<string> BuildComponents(int seed, int count)
    {
        var all = Domains.SelectMany(d => Roles.Select(r => $"{d}-{r}")).ToList();
        var rng = new Random(seed);
        for (var i = all.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (all[i], all[j]) = (all[j], all[i]);
        }
        var names = all.Take(Math.Min(count, all.Count)).ToList();
        for (var extra = 0; names.Count < count; extra++)
        {
            names.Add($"{Domains[extra % Domains.Length]}-shard{extra / Domains.Length}");
        }
        return names;
    }

    private static string Fill(string template, Random rng, string component, string dependency) => template
        .Replace("{component}", component, StringComparison.Ordinal)
        .Replace("{dependency}", dependency, StringComparison.Ordinal)
        .Replace("{table}", Pick(rng, Tables), StringComparison.Ordinal)
        .Replace("{flag}", Pick(rng, Flags), StringComparison.Ordinal)
        .Replace("{version}", string.Create(CultureInfo.InvariantCulture, $"v2.{rng.Next(1, 40)}.{rng.Next(0, 10)}"), StringComparison.Ordinal)
        .Replace("{migration}", string.Create(CultureInfo.InvariantCulture, $"{rng.Next(100, 999)}_add_{Pick(rng, Tables)}_index"), StringComparison.Ordinal);

    private static string Capitalise(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private static double Gaussian(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static string ConnectorName(int i) => (i % 10) switch
    {
        0 or 1 => "github",
        2 or 3 => "github-actions",
        4 or 5 or 6 => "loki",
        7 or 8 => "prometheus",
        _ => "tempo",
    };

    private Random RandomFor(int i, int salt) => new(unchecked((_seed * 1_000_003) + (i * 31) + salt));

    private string Hex(int i, string kind, int length)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{_seed}:{kind}:{i}")));
        return Convert.ToHexStringLower(hash)[..length];
    }

    private static T Pick<T>(Random rng, T[] items) => items[rng.Next(items.Length)];

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, RootCauseJson.Options);
}
