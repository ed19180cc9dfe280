namespace RootCause.Evaluation.Corpus;

/// <summary>
/// What real payloads of each technology look like: file layouts, commit messages, CI jobs, error
/// types with their messages, log levels and loggers, metrics and alerts. The generator draws
/// background from these; the story's own events are written by hand in the specs.
/// </summary>
internal static class ContentBank
{
    public static readonly string[] Authors =
    [
        "Dana Ortiz", "Priya Raman", "Tomasz Wójcik", "Aiko Tanaka", "Samuel Okafor", "Lena Fischer",
        "Marco Bianchi", "Hannah Lee", "Javier Morales", "Ines Carvalho", "Olu Adeyemi", "Freya Lindqvist",
        "Kenji Watanabe", "Ruth Abebe", "Nikhil Menon", "Sofia Petrova", "Chris Dunn", "Mei Chen",
    ];

    public static readonly string[] Bots = ["renovate[bot]", "dependabot[bot]"];

    /// <summary>Source files under a component's prefix, by stack; {m} is a module name.</summary>
    public static string[] FilePatterns(string stack) => stack switch
    {
        "go" => ["internal/{m}/{m}.go", "internal/{m}/{m}_test.go", "internal/http/handlers.go", "cmd/server/main.go", "go.mod", "go.sum", "internal/config/config.go", "deploy/values-production.yaml"],
        "dotnet" => ["src/{M}/{M}Service.cs", "src/{M}/{M}Endpoints.cs", "tests/{M}.Tests/{M}ServiceTests.cs", "src/appsettings.Production.json", "Directory.Packages.props", "src/Infrastructure/{M}Client.cs"],
        "java" => ["src/main/java/com/tidewater/{m}/{M}Controller.java", "src/main/java/com/tidewater/{m}/{M}Repository.java", "src/test/java/com/tidewater/{m}/{M}ControllerTest.java", "src/main/resources/application-prod.yml", "build.gradle.kts"],
        "kotlin" => ["src/main/kotlin/com/tidewater/{m}/{M}Service.kt", "src/main/kotlin/com/tidewater/{m}/{M}Routes.kt", "src/test/kotlin/com/tidewater/{m}/{M}ServiceTest.kt", "src/main/resources/application.conf", "build.gradle.kts"],
        "python" => ["{m}/api.py", "{m}/model.py", "{m}/settings.py", "tests/test_{m}.py", "pyproject.toml", "poetry.lock"],
        "typescript" => ["src/components/{M}.tsx", "src/lib/{m}.ts", "src/pages/{m}/index.tsx", "package.json", "package-lock.json", "src/__tests__/{m}.test.ts"],
        "postgres" => ["values.yaml", "postgresql.conf.tpl", "backup-schedule.yaml", "pgbouncer.ini", "alerts.yaml"],
        "redis" => ["values.yaml", "redis.conf", "alerts.yaml"],
        "memcached" => ["values.yaml", "alerts.yaml"],
        "kafka" => ["topics.tf", "brokers.tf", "acls.tf", "values.yaml"],
        "elasticsearch" => ["values.yaml", "index-templates/products.json", "ilm-policy.json"],
        "kubernetes" => ["values.yaml", "kustomization.yaml", "configmap.yaml", "deployment.yaml"],
        "terraform" => ["behaviors.tf", "cache-policies.tf", "redirects.tf", "variables.tf"],
        "json" => ["flags/checkout.flagd.json", "flags/storefront.flagd.json", "flags/search.flagd.json", "schema/flag.schema.json"],
        _ => ["README.md"],
    };

    public static readonly string[] Modules =
    [
        "pricing", "orders", "session", "retry", "health", "metrics", "auth", "cache", "events", "export",
        "promotions", "address", "tax", "audit", "client", "search", "reservations", "webhooks",
    ];

    public static readonly string[] CommitMessages =
    [
        "Add request id to structured logs", "Fix flaky test around clock skew", "Refactor {m} handler wiring",
        "Extract {m} client into its own package", "Add metrics for {m} retries", "Remove unused {m} feature toggle",
        "Tidy up error messages in {m}", "Handle empty {m} response gracefully", "Add unit tests for {m} edge cases",
        "Rename {m} settings for consistency", "Log the {m} payload size at debug level", "Cache {m} lookups for 30 s",
        "Document the {m} retry policy", "Validate {m} input earlier", "Speed up {m} serialization",
        "Drop Python 3.9 compatibility shims", "Update CODEOWNERS for {m}", "Make {m} timeout configurable",
        "Fix typo in {m} log line", "Return 404 instead of 500 for unknown {m}", "Add pagination to {m} listing",
        "Backfill {m} index in batches", "Increase test coverage for {m}", "Move {m} constants to config",
    ];

    public static readonly string[] DependencyBumps =
    [
        "chore(deps): update dependency {d} to {v}", "Bump {d} from {v0} to {v}", "fix(deps): update module {d} to {v}",
    ];

    public static string[] Dependencies(string stack) => stack switch
    {
        "go" => ["golang.org/x/net", "github.com/jackc/pgx/v5", "github.com/redis/go-redis/v9", "go.opentelemetry.io/otel", "google.golang.org/grpc"],
        "dotnet" => ["Npgsql", "Polly.Core", "OpenTelemetry.Extensions.Hosting", "Serilog.AspNetCore", "FluentValidation"],
        "java" or "kotlin" => ["org.springframework.boot", "io.micrometer:micrometer-core", "org.postgresql:postgresql", "com.zaxxer:HikariCP", "io.ktor:ktor-server-core"],
        "python" => ["fastapi", "pydantic", "sqlalchemy", "httpx", "numpy"],
        "typescript" => ["next", "react-query", "@opentelemetry/api", "zod", "eslint"],
        _ => ["hashicorp/aws", "bitnami/redis", "jetstack/cert-manager"],
    };

    /// <summary>Files outside every component's paths in a repository with several components.</summary>
    public static readonly string[] SharedRepositoryFiles =
    [
        "README.md", "docs/runbooks/on-call.md", "docs/adr/0017-idempotency-keys.md", ".github/CODEOWNERS",
        ".github/workflows/lint.yml", "Makefile", ".editorconfig", "docs/architecture.md", "scripts/dev-setup.sh",
        "renovate.json", ".gitignore", "docker-compose.dev.yml",
    ];

    public static readonly string[] UnmergedBranches =
    [
        "renovate/all-minor-patch", "feature/{m}-v2", "spike/{m}-rewrite", "dependabot/{m}-bump", "wip/{m}-cleanup",
    ];

    public static (string Job, string Step) CiJob(string stack, Random random) => stack switch
    {
        "go" => Pick(random, [("test", "Run go test ./... -race"), ("lint", "Run golangci-lint run"), ("build-image", "Build and push image"), ("integration", "Run go test -tags=integration ./...")]),
        "dotnet" => Pick(random, [("build-and-test", "dotnet test --no-build -c Release"), ("integration-tests", "dotnet test tests/Integration"), ("publish", "dotnet publish -c Release")]),
        "java" or "kotlin" => Pick(random, [("gradle-build", "./gradlew build"), ("unit-tests", "./gradlew test"), ("contract-tests", "./gradlew pactVerify")]),
        "python" => Pick(random, [("pytest", "pytest -q --maxfail=5"), ("typecheck", "mypy ."), ("docker-build", "docker build -t $IMAGE .")]),
        "typescript" => Pick(random, [("lint", "npm run lint"), ("unit", "npm run test:ci"), ("e2e", "npx playwright test")]),
        _ => Pick(random, [("plan", "terraform plan -out=tfplan"), ("validate", "terraform validate"), ("helm-lint", "helm lint charts/*")]),
    };

    /// <summary>Errors a service of that stack throws on a normal day and on a bad one.</summary>
    public static (string Type, string Message)[] Errors(string stack) => stack switch
    {
        "go" =>
        [
            ("*url.Error", "Post \"http://{peer}:8080/v1/quote\": context deadline exceeded"),
            ("*net.OpError", "dial tcp 10.42.{a}.{b}:6379: connect: connection refused"),
            ("*pgconn.PgError", "ERROR: canceling statement due to statement timeout (SQLSTATE 57014)"),
            ("*errors.errorString", "redis: connection pool timeout"),
            ("*json.SyntaxError", "invalid character '<' looking for beginning of value"),
        ],
        "dotnet" =>
        [
            ("System.Net.Http.HttpRequestException", "Response status code does not indicate success: 503 (Service Unavailable)."),
            ("System.Threading.Tasks.TaskCanceledException", "The request was canceled due to the configured HttpClient.Timeout of 10 seconds elapsing."),
            ("Npgsql.NpgsqlException", "Exception while reading from stream"),
            ("System.InvalidOperationException", "Sequence contains no elements"),
            ("Microsoft.EntityFrameworkCore.DbUpdateConcurrencyException", "The database operation was expected to affect 1 row(s), but actually affected 0 row(s)."),
        ],
        "java" or "kotlin" =>
        [
            ("java.net.SocketTimeoutException", "Read timed out"),
            ("org.springframework.dao.QueryTimeoutException", "PreparedStatementCallback; SQL [select * from orders where customer_id = ?]; ERROR: canceling statement due to statement timeout"),
            ("org.apache.kafka.common.errors.TimeoutException", "Expiring 12 record(s) for orders-3:120001 ms has passed since batch creation"),
            ("java.lang.NullPointerException", "Cannot invoke \"String.length()\" because \"sku\" is null"),
            ("io.grpc.StatusRuntimeException", "UNAVAILABLE: io exception"),
        ],
        "python" =>
        [
            ("httpx.ReadTimeout", "timed out"),
            ("sqlalchemy.exc.OperationalError", "(psycopg2.OperationalError) server closed the connection unexpectedly"),
            ("KeyError", "'customer_segment'"),
            ("redis.exceptions.ConnectionError", "Error 111 connecting to redis-master:6379. Connection refused."),
            ("ValueError", "could not convert string to float: ''"),
        ],
        "typescript" =>
        [
            ("FetchError", "request to http://api-gateway.edge.svc/api/cart failed, reason: socket hang up"),
            ("TypeError", "Cannot read properties of undefined (reading 'price')"),
            ("Error", "read ECONNRESET"),
            ("AbortError", "The operation was aborted due to timeout"),
        ],
        "postgres" =>
        [
            ("53300", "remaining connection slots are reserved for non-replication superuser connections"),
            ("55P03", "canceling statement due to lock timeout"),
            ("57014", "canceling autovacuum task"),
            ("40P01", "deadlock detected"),
        ],
        "redis" => [("OOM", "command not allowed when used memory > 'maxmemory'"), ("LOADING", "Redis is loading the dataset in memory")],
        "memcached" => [("SERVER_ERROR", "out of memory storing object")],
        "kafka" => [("org.apache.kafka.common.errors.NotLeaderOrFollowerException", "For requests intended only for the leader, this error indicates that the broker is not the current leader.")],
        "elasticsearch" => [("org.elasticsearch.common.util.concurrent.EsRejectedExecutionException", "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0]")],
        "kubernetes" => [("upstream", "upstream timed out (110: Connection timed out) while reading response header from upstream")],
        _ => [("Error", "unexpected error")],
    };

    /// <summary>Errors that are there every day and mean nothing: the background a responder learns to ignore.</summary>
    public static (string Type, string Message)[] BenignErrors(string stack) => stack switch
    {
        "go" => [("*errors.errorString", "client disconnected before response was written"), ("*http.MaxBytesError", "http: request body too large")],
        "dotnet" => [("Microsoft.AspNetCore.Connections.ConnectionResetException", "The client has disconnected"), ("FluentValidation.ValidationException", "Validation failed: -- PostalCode: 'Postal Code' is not in the correct format.")],
        "java" or "kotlin" => [("org.springframework.web.context.request.async.AsyncRequestNotUsableException", "ServletOutputStream failed to flush: java.io.IOException: Broken pipe"), ("jakarta.validation.ConstraintViolationException", "quantity: must be greater than 0")],
        "python" => [("pydantic.ValidationError", "1 validation error for RecommendRequest\nbasket\n  field required"), ("asyncio.CancelledError", "request cancelled by client")],
        "typescript" => [("ChunkLoadError", "Loading chunk 812 failed."), ("TypeError", "Failed to fetch")],
        "postgres" => [("42P01", "relation \"tmp_report_rows\" does not exist"), ("23505", "duplicate key value violates unique constraint \"idempotency_keys_pkey\"")],
        "redis" => [("WRONGTYPE", "Operation against a key holding the wrong kind of value")],
        "kafka" => [("org.apache.kafka.common.errors.RebalanceInProgressException", "Offset commit cannot be completed since the consumer is undergoing a rebalance")],
        "elasticsearch" => [("org.elasticsearch.index.query.QueryShardException", "failed to create query: maxClauseCount is set to 1024")],
        "kubernetes" => [("client", "client intended to send too large body: 10485761 bytes")],
        _ => [("Error", "request aborted")],
    };

    public static string Logger(string stack, string component) => stack switch
    {
        "go" => component + "/internal/http",
        "dotnet" => "Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware",
        "java" => "com.tidewater." + Package(component) + ".web.GlobalExceptionHandler",
        "kotlin" => "com.tidewater." + Package(component) + ".Application",
        "python" => "uvicorn.error",
        "typescript" => "next-server",
        "postgres" => "postgres",
        "redis" => "redis-server",
        "kafka" => "kafka.server.ReplicaManager",
        "elasticsearch" => "org.elasticsearch.action.search.SearchPhaseController",
        "kubernetes" => component,
        _ => component,
    };

    public static string Package(string component) => component.Replace("-service", "", StringComparison.Ordinal).Replace("-api", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);

    public static string Pascal(string text) =>
        string.Concat(text.Split('-', '_', '/').Where(p => p.Length > 0).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));

    /// <summary>A stack trace in the stack's own format, through frames of the component's code.</summary>
    public static string StackTrace(string stack, string component, string type, string message, IReadOnlyList<string>? frames, Random random)
    {
        var module = Modules[random.Next(Modules.Length)];
        var pkg = Package(component);
        var p = Pascal(pkg);
        var m = Pascal(module);
        var line = random.Next(30, 400);
        switch (stack)
        {
            case "dotnet":
                var dotnetFrames = frames ?? [$"Tidewater.{p}.{m}.{m}Client.SendAsync(HttpRequestMessage request, CancellationToken ct)", $"Tidewater.{p}.{m}.{m}Service.HandleAsync(Request request, CancellationToken ct)", $"Tidewater.{p}.Api.{m}Endpoints.PostAsync(Request body, {m}Service service)"];
                return $"{type}: {message}\n" + string.Join("\n", dotnetFrames.Select((f, i) => $"   at {f} in /src/{component}/src/{p}/{m}/{m}.cs:line {line + i * 17}"));
            case "java" or "kotlin":
                var ext = stack == "java" ? "java" : "kt";
                var javaFrames = frames ?? [$"com.tidewater.{pkg}.{module}.{m}Client.call", $"com.tidewater.{pkg}.{module}.{m}Service.handle", $"com.tidewater.{pkg}.web.{m}Controller.post"];
                return $"{type}: {message}\n" + string.Join("\n", javaFrames.Select((f, i) => $"\tat {f}({f.Split('.')[^2]}.{ext}:{line + i * 11})"))
                    + "\n\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)";
            case "python":
                var pyFrames = frames ?? [$"{pkg}/api.py:handle", $"{pkg}/{module}.py:fetch", "httpx/_client.py:send"];
                return "Traceback (most recent call last):\n" + string.Join("\n", pyFrames.Select((f, i) =>
                {
                    var parts = f.Split(':');
                    return $"  File \"/app/{parts[0]}\", line {line + i * 9}, in {(parts.Length > 1 ? parts[1] : "handle")}";
                })) + $"\n{type}: {message}";
            case "typescript":
                var tsFrames = frames ?? [$"{m}Drawer (src/components/{m}Drawer.tsx)", $"fetch{m} (src/lib/{module}.ts)", "async Promise.all (index 0)"];
                return $"{type}: {message}\n" + string.Join("\n", tsFrames.Select((f, i) => $"    at {f}:{line + i}:{random.Next(5, 60)}"));
            case "go":
                var goFrames = frames ?? [$"{component}/internal/{module}.(*Client).Do", $"{component}/internal/http.(*Handler).serve{m}", "net/http.HandlerFunc.ServeHTTP"];
                return $"{message}\n\ngoroutine {random.Next(100, 9000)} [running]:\n" + string.Join("\n", goFrames.Select((f, i) =>
                    $"{f}(...)\n\t/src/{component}/{(f.StartsWith("net/", StringComparison.Ordinal) ? "vendor/" : "")}{module}.go:{line + i * 13} +0x{random.Next(0x20, 0x3ff):x}"));
            default:
                return "";
        }
    }

    public static (string Metric, string Kind, double Value, double Baseline, double? Threshold)[] Metrics(string stack, Random random) => stack switch
    {
        "postgres" =>
        [
            ("pg_stat_activity_count", "threshold", 180 + random.Next(0, 15), 60, 180),
            ("pg_replication_lag_seconds", "spike", 40 + random.Next(0, 80), 0.4, null),
            ("node_filesystem_avail_bytes", "drop", 0.18, 0.41, null),
            ("pg_locks_count", "spike", 300 + random.Next(0, 400), 20, null),
        ],
        "redis" => [("redis_memory_used_bytes", "threshold", 0.91, 0.62, 0.9), ("redis_connected_clients", "spike", 2900, 850, null), ("redis_evicted_keys_total", "spike", 5400, 0, null)],
        "memcached" => [("memcached_evictions_total", "spike", 12000, 300, null), ("memcached_current_connections", "spike", 4100, 900, null)],
        "kafka" => [("kafka_consumergroup_lag", "spike", 150000 + random.Next(0, 90000), 1200, null), ("kafka_server_replicamanager_underreplicatedpartitions", "threshold", 4, 0, 0)],
        "elasticsearch" => [("elasticsearch_thread_pool_rejected_count", "spike", 420, 0, null), ("elasticsearch_jvm_memory_used_bytes", "threshold", 0.88, 0.64, 0.85)],
        "kubernetes" => [("nginx_ingress_controller_requests", "spike", 5200, 2100, null), ("coredns_dns_request_duration_seconds", "spike", 0.9, 0.004, null)],
        _ =>
        [
            ("http_server_request_duration_seconds_p99", "spike", Math.Round(0.8 + random.NextDouble() * 2, 2), 0.18, null),
            ("container_memory_working_set_bytes", "threshold", 0.93, 0.61, 0.9),
            ("kube_pod_container_status_restarts_total", "spike", 3, 0, null),
            ("container_cpu_cfs_throttled_periods_total", "spike", 0.46, 0.05, null),
        ],
    };

    public static (string Alert, string Summary, string Severity)[] Alerts(string stack) => stack switch
    {
        "postgres" => [("PostgresReplicationLagHigh", "Replication lag on {name} is above 30 s", "warning"), ("PostgresTooManyConnections", "{name} is using more than 85 % of max_connections", "warning")],
        "redis" => [("RedisMemoryHigh", "{name} memory above 90 % of maxmemory", "warning"), ("RedisRejectedConnections", "{name} is rejecting connections", "critical")],
        "memcached" => [("MemcachedEvictionsHigh", "{name} is evicting items", "warning")],
        "kafka" => [("KafkaConsumerGroupLagHigh", "Consumer lag on {name} above 10k messages", "warning"), ("KafkaUnderReplicatedPartitions", "{name} has under-replicated partitions", "warning")],
        "elasticsearch" => [("ElasticsearchHeapUsageHigh", "{name} JVM heap above 85 %", "warning")],
        "kubernetes" => [("KubeDeploymentReplicasMismatch", "{name} has not matched the expected number of replicas", "warning")],
        _ =>
        [
            ("KubePodCrashLooping", "Pod of {name} is restarting frequently", "warning"),
            ("HighErrorRate", "{name} 5xx ratio above 2 % for 5 minutes", "critical"),
            ("LatencyP99High", "{name} p99 latency above its objective", "warning"),
            ("KubeHpaMaxedOut", "{name} HPA has been running at max replicas", "warning"),
        ],
    };

    public static string[] Operations(string component, string stack)
    {
        var resource = component.Replace("-service", "", StringComparison.Ordinal).Replace("-api", "", StringComparison.Ordinal);
        return stack switch
        {
            "postgres" => ["SELECT", "UPDATE", "INSERT"],
            "redis" => ["GET", "SET", "EVALSHA"],
            "kafka" => [$"{resource} publish", $"{resource} process"],
            _ => [$"GET /v1/{resource}", $"POST /v1/{resource}", $"GET /v1/{resource}/{{id}}", $"{resource}.internal/Sync"],
        };
    }

    public static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
