using Orleans.Concurrency;
using System.Text.RegularExpressions;

namespace RootCause.Connectors;

/// <summary>What a connector talks to.</summary>
public enum ConnectorKind
{
    /// <summary>Polls a local or mounted git repository for new commits (and their tags).</summary>
    Git,

    /// <summary>Receives GitHub webhooks: push, deployment, deployment_status, workflow_run, workflow_job, check_run, check_suite.</summary>
    Github,

    /// <summary>Receives GitLab webhooks: push, tag push, pipeline and job hooks.</summary>
    Gitlab,

    /// <summary>Logs: NDJSON pushed to its receiver, a tailed file, or pulled from Loki or Elasticsearch/OpenSearch.</summary>
    Logs,

    /// <summary>Polls a Prometheus server's HTTP API (query_range) and finds anomalies in the series.</summary>
    Prometheus,

    /// <summary>Receives Alertmanager webhooks (version 4): firing and resolved alerts.</summary>
    Alertmanager,

    /// <summary>Receives OTLP/HTTP traces (<c>/v1/traces</c>, protobuf or JSON): slow and error spans.</summary>
    Otlp,

    /// <summary>Polls Jaeger's query API for traces of configured services: slow and error spans.</summary>
    Jaeger,
}

/// <summary>Where a <see cref="ConnectorKind.Logs"/> connector gets its lines.</summary>
public enum LogsInput
{
    /// <summary>Shippers POST batches to <c>/api/receivers/logs/{connector}</c> with a bearer token.</summary>
    Push,

    /// <summary>A file on the silo, tailed (rotation and truncation followed).</summary>
    File,

    /// <summary>Grafana Loki's <c>/loki/api/v1/query_range</c>, polled.</summary>
    Loki,

    /// <summary>Elasticsearch or OpenSearch <c>_search</c> with <c>search_after</c>, polled.</summary>
    Elasticsearch,
}

/// <summary>Which single error records a logs connector keeps as <c>log_error</c> events (spikes are detected either way).</summary>
public enum LogErrorsKept
{
    None,

    /// <summary>Fatal/critical records only: rare, and each one matters.</summary>
    Fatal,

    /// <summary>Every record at error level or above (noisy: floods become many events).</summary>
    All,
}

/// <summary>
/// A connector's configuration as operators write it. Fields apply to some kinds only (see
/// docs/connectors.md); <see cref="Secret"/> is a reference (<c>env:NAME</c> or <c>file:/path</c>)
/// resolved where it is used, so the secret itself is never stored, returned or logged.
/// </summary>
[GenerateSerializer, Immutable, Alias("rc.ConnectorConfig")]
public sealed record ConnectorConfig
{
    [Id(0)] public ConnectorKind? Kind { get; init; }

    /// <summary>A disabled connector keeps its config and cursor but neither polls nor accepts webhooks.</summary>
    [Id(1)] public bool Enabled { get; init; } = true;

    /// <summary><c>owner/name</c> as the catalog lists it (git: required; the name events carry).</summary>
    [Id(2)] public string? Repository { get; init; }

    /// <summary>git: the repository's directory (a work tree or a bare repository).</summary>
    [Id(3)] public string? Path { get; init; }

    /// <summary>git: the branch to follow; unset means the repository's HEAD.</summary>
    [Id(4)] public string? Branch { get; init; }

    /// <summary>git: time between polls (1 minute to 1 day; default 1 minute).</summary>
    [Id(5)] public TimeSpan? PollInterval { get; init; }

    /// <summary>git: how far back the very first poll reaches (default 7 days).</summary>
    [Id(6)] public TimeSpan? InitialLookback { get; init; }

    /// <summary>git: link of a commit, with <c>{sha}</c> where the commit id goes.</summary>
    [Id(7)] public string? CommitUrl { get; init; }

    /// <summary>github/gitlab: the webhook secret's reference, <c>env:NAME</c> or <c>file:/path</c>.</summary>
    [Id(8)] public string? Secret { get; init; }

    /// <summary>github/gitlab: also keep successful CI runs (as <c>ci_success</c> events).</summary>
    [Id(9)] public bool KeepSuccesses { get; init; }

    /// <summary>logs: where the lines come from (default push).</summary>
    [Id(10)] public LogsInput? Input { get; init; }

    /// <summary>logs (loki, elasticsearch): the upstream's base URL.</summary>
    [Id(11)] public string? Url { get; init; }

    /// <summary>logs: the LogQL query (loki, required) or a query_string query (elasticsearch, optional).</summary>
    [Id(12)] public string? Query { get; init; }

    /// <summary>logs (elasticsearch): the index, alias or pattern searched.</summary>
    [Id(13)] public string? Index { get; init; }

    /// <summary>logs: the service of records that name none.</summary>
    [Id(14)] public string? Service { get; init; }

    /// <summary>logs: a minute is a spike when its errors reach this many times the baseline (default 3).</summary>
    [Id(15)] public double? SpikeFactor { get; init; }

    /// <summary>logs: and at least this many errors (default 20).</summary>
    [Id(16)] public int? SpikeMinCount { get; init; }

    /// <summary>logs: single errors kept as <c>log_error</c> events (default fatal).</summary>
    [Id(17)] public LogErrorsKept? KeepErrors { get; init; }

    /// <summary>logs (loki, elasticsearch): entries asked for per request (default 1000).</summary>
    [Id(18)] public int? PageSize { get; init; }

    // The observability kinds' fields start at 40, leaving room below for the other kinds.

    /// <summary>prometheus: the queries to watch; unset means the built-in set (CPU, memory, disk free).</summary>
    [Id(41)] public IReadOnlyList<MetricQuery>? Queries { get; init; }

    /// <summary>prometheus: the resolution of range queries (default 30 s).</summary>
    [Id(42)] public TimeSpan? Step { get; init; }

    /// <summary>prometheus: the history a baseline is computed from (default 1 h); jaeger: how far back the first poll reaches (default 15 min).</summary>
    [Id(43)] public TimeSpan? Lookback { get; init; }

    /// <summary>prometheus: how many robust standard deviations (MAD-scaled) make a spike or drop (default 5).</summary>
    [Id(44)] public double? Sensitivity { get; init; }

    /// <summary>otlp/jaeger: a span longer than this is slow (default 1 s), unless its operation is usually that slow.</summary>
    [Id(45)] public TimeSpan? SlowThreshold { get; init; }

    /// <summary>otlp/jaeger: a span longer than this many times its operation's median is slow (default 3).</summary>
    [Id(46)] public double? SlowFactor { get; init; }

    /// <summary>otlp/jaeger: slow traces kept per service and operation per minute (default 5); errors are always kept.</summary>
    [Id(47)] public int? SampleLimit { get; init; }

    /// <summary>jaeger: the services whose traces are polled.</summary>
    [Id(48)] public IReadOnlyList<string>? Services { get; init; }
}

/// <summary>
/// One PromQL range query a prometheus connector watches. Every series it returns is checked for
/// spikes and drops against its own robust baseline, and against the thresholds when set.
/// </summary>
[GenerateSerializer, Immutable, Alias("rc.MetricQuery")]
public sealed record MetricQuery
{
    /// <summary>The name events carry as <c>metric</c> (default: the metric name in the result, else the query).</summary>
    [Id(0)] public string? Name { get; init; }

    [Id(1)] public string? Query { get; init; }

    /// <summary>A value above this is an anomaly of kind <c>threshold</c>.</summary>
    [Id(2)] public double? Above { get; init; }

    /// <summary>A value below this is an anomaly of kind <c>threshold</c> (disk free ratio below 0.1, say).</summary>
    [Id(3)] public double? Below { get; init; }

    /// <summary>The severity of a threshold crossing (default <c>high</c>).</summary>
    [Id(4)] public Events.EventSeverity? Severity { get; init; }

    /// <summary>False leaves spikes and drops alone and checks thresholds only (default true).</summary>
    [Id(5)] public bool? DetectSpikes { get; init; }
}

/// <summary>How far a polling connector has got: everything up to and including this commit is ingested.</summary>
[GenerateSerializer, Immutable, Alias("rc.ConnectorCursor")]
public sealed record ConnectorCursor
{
    [Id(0)] public required string Position { get; init; }

    /// <summary>The time of the item at <see cref="Position"/>; used when the position itself has gone (history rewritten).</summary>
    [Id(1)] public DateTimeOffset At { get; init; }

    [Id(2)] public DateTimeOffset AdvancedAt { get; init; }
}

public enum ConnectorRunKind
{
    /// <summary>Everything after the cursor; advances it.</summary>
    Sync,

    /// <summary>A time range, whatever the cursor says; leaves it alone.</summary>
    Backfill,
}

public enum ConnectorRunState
{
    Running,
    Succeeded,
    Failed,
}

/// <summary>One sync or backfill: its progress while it runs, its outcome after.</summary>
[GenerateSerializer, Immutable, Alias("rc.ConnectorRun")]
public sealed record ConnectorRun
{
    [Id(0)] public long Id { get; init; }
    [Id(1)] public ConnectorRunKind Kind { get; init; }
    [Id(2)] public ConnectorRunState State { get; init; }

    /// <summary>What started it: <c>reminder</c>, <c>api</c> or <c>start-up</c>.</summary>
    [Id(3)] public string Trigger { get; init; } = "api";
    [Id(4)] public DateTimeOffset StartedAt { get; init; }
    [Id(5)] public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>A backfill's range (from inclusive, to exclusive).</summary>
    [Id(6)] public DateTimeOffset? From { get; init; }
    [Id(7)] public DateTimeOffset? To { get; init; }

    /// <summary>Items found so far (a sync finds them batch by batch, so this can grow while it runs).</summary>
    [Id(8)] public long Found { get; init; }

    /// <summary>Items handled: ingested (new or already there) or dead-lettered.</summary>
    [Id(9)] public long Processed { get; init; }
    [Id(10)] public long Created { get; init; }
    [Id(11)] public long Existing { get; init; }
    [Id(12)] public long DeadLettered { get; init; }
    [Id(13)] public string? Error { get; init; }
    [Id(14)] public string? CursorBefore { get; init; }
    [Id(15)] public string? CursorAfter { get; init; }
}

/// <summary>A connector as the admin API shows it: config (secret references only), cursor and runs.</summary>
[GenerateSerializer, Immutable, Alias("rc.ConnectorInfo")]
public sealed record ConnectorInfo
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required ConnectorConfig Config { get; init; }
    [Id(2)] public long Version { get; init; }
    [Id(3)] public DateTimeOffset CreatedAt { get; init; }
    [Id(4)] public DateTimeOffset UpdatedAt { get; init; }
    [Id(5)] public ConnectorCursor? Cursor { get; init; }

    /// <summary>The run in progress, else the last one.</summary>
    [Id(6)] public ConnectorRun? Run { get; init; }

    /// <summary>True while the polling reminder is registered.</summary>
    [Id(7)] public bool Polling { get; init; }

    /// <summary>Webhook deliveries this connector accepted since its activation started (a rough liveness sign, not persisted).</summary>
    [Id(8)] public DateTimeOffset? LastDeliveryAt { get; init; }
}

/// <summary>
/// One configured connector (key: its name). Holds the config, the persisted cursor and the last
/// run; polls on a reminder while enabled. Runs go on in the background: calls return at once
/// unless asked to wait.
/// </summary>
[Alias("rc.IConnectorGrain")]
public interface IConnectorGrain : IGrainWithStringKey
{
    /// <summary>Creates or replaces the config (validated: 400 naming the field); registers or removes the polling reminder.</summary>
    Task<ConnectorInfo> PutAsync(ConnectorConfig config);

    /// <summary>The connector, or null when none is configured under this name.</summary>
    [AlwaysInterleave]
    Task<ConnectorInfo?> GetAsync();

    /// <summary>The config, for receivers (null when none); never the secret itself, only its reference.</summary>
    [AlwaysInterleave]
    Task<ConnectorConfig?> GetConfigAsync();

    /// <summary>Removes config, cursor and reminder. A run in progress is cancelled.</summary>
    Task DeleteAsync();

    /// <summary>Ingests everything after the cursor now. A sync already running is returned instead of starting another.</summary>
    Task<ConnectorRun> SyncAsync(bool wait = false);

    /// <summary>Ingests the items of [from, to) without moving the cursor.</summary>
    Task<ConnectorRun> BackfillAsync(DateTimeOffset from, DateTimeOffset to, bool wait = false);

    /// <summary>A receiver accepted a delivery for this connector (status only).</summary>
    [OneWay, AlwaysInterleave]
    Task DeliveryAcceptedAsync(DateTimeOffset at);

    /// <summary>
    /// The circuit breaker guarding this connector's upstream calls, as the silo that runs the
    /// connector holds it (null while it has made none there): the same answer from every silo.
    /// </summary>
    [AlwaysInterleave]
    Task<CircuitBreakerStatus?> GetBreakerAsync();

    /// <summary>Closes the connector's circuit and clears its failure count; null when it has no breaker.</summary>
    [AlwaysInterleave]
    Task<CircuitBreakerStatus?> ResetBreakerAsync();
}

/// <summary>The names of all configured connectors (key 0), so they can be listed.</summary>
[Alias("rc.IConnectorDirectoryGrain")]
public interface IConnectorDirectoryGrain : IGrainWithIntegerKey
{
    Task<IReadOnlyList<string>> ListAsync();

    Task AddAsync(string name);

    Task RemoveAsync(string name);
}

/// <summary>Connector names: what may appear in URLs and metric tags.</summary>
public static partial class ConnectorNames
{
    public const int MaxLength = 63;

    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    public const string Rule = "lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters";

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex Pattern();
}
