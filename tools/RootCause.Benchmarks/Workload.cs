using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Benchmarks;

/// <summary>
/// A deterministic, realistic workload: investigations as responders open them, and the five kinds
/// of events the connectors produce (commits, CI failures, log error spikes, metric anomalies,
/// trace spans), each with a unique upstream id. Item <c>i</c> depends only on the seed and
/// <c>i</c>, so runs with the same seed send the same data.
/// </summary>
public sealed class Workload(int seed, DateTimeOffset now)
{
    private static readonly string[] Services =
        ["checkout", "payments", "search", "catalog", "identity", "notifications", "orders", "inventory", "shipping", "pricing"];

    private static readonly string[] Components =
        ["api", "worker", "gateway", "db", "cache", "scheduler", "frontend", "consumer"];

    private static readonly string[] People =
        ["maria.santos", "jonas.weber", "aiko.tanaka", "sam.okafor", "lena.kowalski", "dev.patel", "noor.haddad", "tom.becker"];

    private static readonly string[] Symptoms =
        ["returns 502 for a share of requests", "p99 latency above 2 s", "error rate at 8 %", "queue backlog growing",
         "timeouts against the database", "memory climbing until OOM kills", "stale results served", "login loops for some users"];

    private static readonly string[] Triggers =
        ["after the v2.14.0 deployment", "since the config change at 09:40", "during the nightly batch", "after the node pool upgrade",
         "following a traffic spike from the campaign", "after a certificate rotation", "since the schema migration", "with no deploy in sight"];

    private static readonly string[] CommitMessages =
        ["Use pooled HttpClient for the gateway (max 20 connections)", "Raise cache TTL to 10 minutes", "Retry idempotent reads twice",
         "Switch serializer to source-generated contexts", "Drop unused index on orders.created_at", "Bump Npgsql to 10.0.3",
         "Add circuit breaker around the pricing call", "Batch inventory updates in groups of 500"];

    private static readonly string[] ExceptionTypes =
        ["System.TimeoutException", "Npgsql.NpgsqlException", "System.Net.Http.HttpRequestException",
         "System.OperationCanceledException", "System.InvalidOperationException"];

    private static readonly string[] Metrics =
        ["http_server_request_duration_seconds_p99", "http_server_errors_total:rate5m", "process_working_set_bytes",
         "db_client_connections_pending", "queue_depth", "gc_pause_ratio"];

    private static readonly string[] Routes =
        ["POST /api/checkout/confirm", "GET /api/catalog/items/{id}", "POST /api/payments/authorize", "GET /api/search",
         "PUT /api/orders/{id}", "POST /api/login"];

    /// <summary>Fields of investigation <paramref name="i"/>: varied status, severity, priority, times and tags.</summary>
    public InvestigationFields Investigation(int i)
    {
        var rng = RandomFor(i, salt: 1);
        var service = Pick(rng, Services);
        var component = $"{service}-{Pick(rng, Components)}";
        var detected = now.AddMinutes(-rng.Next(5, 60 * 24 * 30));
        var status = rng.Next(100) switch
        {
            < 45 => InvestigationStatus.Open,
            < 75 => InvestigationStatus.InProgress,
            < 92 => InvestigationStatus.Resolved,
            _ => InvestigationStatus.Closed,
        };
        var symptom = Pick(rng, Symptoms);
        var trigger = Pick(rng, Triggers);
        return new InvestigationFields
        {
            Title = $"{component} {symptom} {trigger}",
            Description = $"On-call noticed that {component} {symptom}. Customers of {service} are affected; "
                + $"the first alert fired {rng.Next(1, 30)} minutes before the page. Suspected trigger: {trigger}.",
            Status = status,
            ImpactSeverity = (ImpactSeverity)rng.Next(4),
            Priority = (Priority)rng.Next(4),
            DetectedAt = detected,
            StartedAt = rng.Next(3) == 0 ? null : detected.AddMinutes(-rng.Next(0, 90)),
            RootCause = status is InvestigationStatus.Resolved or InvestigationStatus.Closed
                ? $"Connection pool exhaustion in {component} under retry storms." : null,
            ComponentAffected = component,
            ServiceAffected = service,
            Tags = [service, Pick(rng, ["deploy", "latency", "errors", "capacity", "config", "dependency"]), $"sev{rng.Next(1, 4)}"],
            CreatedBy = rng.Next(4) == 0 ? "alertmanager-bot" : Pick(rng, People),
            AssignedTo = rng.Next(5) == 0 ? null : Pick(rng, People),
        };
    }

    /// <summary>Event <paramref name="i"/>: the kind rotates (commit, CI, logs, metrics, traces) and the upstream id is unique per index.</summary>
    public EventDraft Event(int i)
    {
        var rng = RandomFor(i, salt: 2);
        var service = Pick(rng, Services);
        var component = $"{service}-{Pick(rng, Components)}";
        var at = now.AddSeconds(-rng.Next(1, 3 * 24 * 3600));
        var metadata = Json(new { connector = $"{SourceName(i)}-prod", received_via = i % 3 == 0 ? "push" : "pull", schema = "v1" });
        return (i % 5) switch
        {
            0 => Commit(i, rng, service, component, at, metadata),
            1 => CiFailure(i, rng, service, component, at, metadata),
            2 => ErrorSpike(i, rng, service, component, at, metadata),
            3 => MetricAnomaly(i, rng, service, component, at, metadata),
            _ => Span(i, rng, service, component, at, metadata),
        };
    }

    /// <summary>The stored state an ingest of <paramref name="draft"/> writes, as the grain would build it.</summary>
    public static byte[] StoredPayload(EventDraft draft, DateTimeOffset parsedAt) =>
        JsonSerializer.SerializeToUtf8Bytes(EventState.Ingested(draft, EventRules.Validate(draft, parsedAt), parsedAt), RootCauseJson.Options);

    /// <summary>The JSON body of POST /api/events for <paramref name="draft"/>.</summary>
    public static byte[] RequestBody(EventDraft draft)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("source", RootCauseJson.Name(draft.Source));
            writer.WriteString("source_id", draft.SourceId);
            writer.WriteString("event_type", draft.EventType);
            writer.WriteString("timestamp", draft.Timestamp);
            writer.WriteString("severity", RootCauseJson.Name(draft.Severity));
            writer.WritePropertyName("data");
            writer.WriteRawValue(draft.Data);
            writer.WriteStartArray("tags");
            foreach (var tag in draft.Tags)
            {
                writer.WriteStringValue(tag);
            }
            writer.WriteEndArray();
            writer.WritePropertyName("metadata");
            writer.WriteRawValue(draft.Metadata);
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private EventDraft Commit(int i, Random rng, string service, string component, DateTimeOffset at, string metadata)
    {
        var repository = $"shop/{component}";
        var sha = Hex(i, "commit", 40);
        var author = Pick(rng, People);
        return new EventDraft
        {
            Source = EventSource.Git,
            SourceId = $"{repository}@{sha}",
            EventType = "commit",
            Timestamp = at,
            Severity = EventSeverity.Info,
            Tags = [component, "commit"],
            Metadata = metadata,
            Data = Json(new
            {
                repository,
                sha,
                branch = rng.Next(4) == 0 ? "release/2.14" : "main",
                author = new { name = author, email = $"{author}@example.com" },
                message = Pick(rng, CommitMessages),
                files = Enumerable.Range(0, rng.Next(1, 6)).Select(f => $"src/{service}/{Pick(rng, Components)}/File{f}.cs").ToArray(),
                additions = rng.Next(1, 400),
                deletions = rng.Next(0, 200),
            }),
        };
    }

    private EventDraft CiFailure(int i, Random rng, string service, string component, DateTimeOffset at, string metadata)
    {
        var run = 4_000_000 + i;
        var step = Pick(rng, ["dotnet test", "integration tests", "docker build", "helm upgrade", "smoke tests"]);
        return new EventDraft
        {
            Source = EventSource.Ci,
            SourceId = $"github-actions:shop/{component}:run/{run}/attempt/1",
            EventType = rng.Next(3) == 0 ? "deployment_failed" : "build_failed",
            Timestamp = at,
            Severity = rng.Next(3) == 0 ? EventSeverity.High : EventSeverity.Medium,
            Tags = [component, "ci", service],
            Metadata = metadata,
            Data = Json(new
            {
                pipeline = $"{component}/build-and-deploy",
                run_id = run,
                status = "failure",
                branch = "main",
                commit_sha = Hex(i, "ci-sha", 40),
                failed_step = step,
                duration_s = rng.Next(60, 1800),
                log_excerpt = $"{step} failed: 3 of {rng.Next(200, 900)} tests failed; first failure: "
                    + $"{Pick(rng, ExceptionTypes)}: The operation has timed out after 00:00:30.",
                url = $"https://ci.example.com/shop/{component}/actions/runs/{run}",
            }),
        };
    }

    private EventDraft ErrorSpike(int i, Random rng, string service, string component, DateTimeOffset at, string metadata)
    {
        var fingerprint = Hex(i, "log", 16);
        var count = rng.Next(50, 5000);
        return new EventDraft
        {
            Source = EventSource.Logs,
            SourceId = $"loki:{component}:{at.ToUnixTimeSeconds()}:{fingerprint}",
            EventType = "error_spike",
            Timestamp = at,
            Severity = count > 2000 ? EventSeverity.Critical : EventSeverity.High,
            Tags = [component, "errors", $"env-{(rng.Next(5) == 0 ? "staging" : "prod")}"],
            Metadata = metadata,
            Data = Json(new
            {
                service = component,
                environment = "prod",
                error_count = count,
                baseline_count = rng.Next(0, 40),
                window_s = 300,
                exception_type = Pick(rng, ExceptionTypes),
                top_message = $"Request to {Pick(rng, Services)}-api failed after 3 retries (pool exhausted: 20/20 in use)",
                sample_trace_ids = Enumerable.Range(0, 3).Select(t => Hex(i, $"trace{t}", 32)).ToArray(),
                query = $"{{app=\"{component}\"}} |= \"error\" | json | level=\"error\"",
            }),
        };
    }

    private EventDraft MetricAnomaly(int i, Random rng, string service, string component, DateTimeOffset at, string metadata)
    {
        var metric = Pick(rng, Metrics);
        var baseline = Math.Round(rng.NextDouble() * 100, 3);
        var value = Math.Round(baseline * (2 + rng.NextDouble() * 8), 3);
        return new EventDraft
        {
            Source = EventSource.Metrics,
            SourceId = $"prometheus:{metric}:{Hex(i, "alert", 16)}:{at.ToUnixTimeSeconds()}",
            EventType = "metric_anomaly",
            Timestamp = at,
            Severity = (EventSeverity)rng.Next(0, 4),
            Tags = [component, "metrics", metric.Split(':')[0]],
            Metadata = metadata,
            Data = Json(new
            {
                metric,
                labels = new Dictionary<string, string>
                {
                    ["service"] = service,
                    ["job"] = component,
                    ["instance"] = $"10.4.{rng.Next(0, 255)}.{rng.Next(1, 255)}:8080",
                    ["namespace"] = "prod",
                },
                value,
                baseline,
                threshold = Math.Round(baseline * 1.5, 3),
                direction = "up",
                window = "5m",
                z_score = Math.Round(3 + rng.NextDouble() * 6, 2),
                alert_name = $"{service}HighLatency",
            }),
        };
    }

    private EventDraft Span(int i, Random rng, string service, string component, DateTimeOffset at, string metadata)
    {
        var traceId = Hex(i, "trace", 32);
        var spanId = Hex(i, "span", 16);
        var route = Pick(rng, Routes);
        var failed = rng.Next(2) == 0;
        return new EventDraft
        {
            Source = EventSource.Traces,
            SourceId = $"{traceId}:{spanId}",
            EventType = failed ? "error_span" : "slow_span",
            Timestamp = at,
            Severity = failed ? EventSeverity.High : EventSeverity.Medium,
            Tags = [component, "traces"],
            Metadata = metadata,
            Data = Json(new
            {
                trace_id = traceId,
                span_id = spanId,
                parent_span_id = Hex(i, "parent", 16),
                service = component,
                operation = route,
                kind = "server",
                duration_ms = Math.Round(200 + rng.NextDouble() * 9000, 1),
                status_code = failed ? "error" : "ok",
                http = new { method = route.Split(' ')[0], route = route.Split(' ')[1], status = failed ? 502 : 200 },
                attributes = new Dictionary<string, string>
                {
                    ["db.system"] = "postgresql",
                    ["net.peer.name"] = $"{service}-db.internal",
                    ["k8s.pod.name"] = $"{component}-{Hex(i, "pod", 10)}",
                },
            }),
        };
    }

    private static string SourceName(int i) => (i % 5) switch
    {
        0 => "github",
        1 => "github-actions",
        2 => "loki",
        3 => "prometheus",
        _ => "tempo",
    };

    private Random RandomFor(int i, int salt) => new(unchecked((seed * 1_000_003) + (i * 31) + salt));

    /// <summary>A hex id unique to (seed, index, kind): SHA-256, truncated.</summary>
    private string Hex(int i, string kind, int length)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{seed}:{kind}:{i}")));
        return Convert.ToHexStringLower(hash)[..length];
    }

    private static T Pick<T>(Random rng, T[] items) => items[rng.Next(items.Length)];

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, RootCauseJson.Options);
}
