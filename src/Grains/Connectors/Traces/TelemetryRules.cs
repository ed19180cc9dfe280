using System.Text.RegularExpressions;
using RootCause.Common;
using RootCause.Connectors.Metrics;

namespace RootCause.Connectors;

/// <summary>What a valid config of the observability kinds (prometheus, alertmanager, otlp, jaeger) is; called by <see cref="ConnectorRules"/>.</summary>
public static partial class TelemetryRules
{
    public const int MaxQueries = 50;
    public const int MaxServices = 50;

    /// <summary>Prometheus refuses range queries of more than 11,000 points per series.</summary>
    public const int MaxPoints = 11_000;

    public static readonly TimeSpan DefaultStep = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultMetricsLookback = TimeSpan.FromHours(1);
    public static readonly TimeSpan DefaultTracesLookback = TimeSpan.FromMinutes(15);
    public const double DefaultSensitivity = 5;

    public static bool Applies(ConnectorKind kind) => kind is ConnectorKind.Prometheus or ConnectorKind.Alertmanager or ConnectorKind.Otlp or ConnectorKind.Jaeger;

    public static bool Polls(ConnectorKind kind) => kind is ConnectorKind.Prometheus or ConnectorKind.Jaeger;

    public static ConnectorConfig Validate(ConnectorKind kind, ConnectorConfig config, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(errors);
        var name = RootCauseJson.Name(kind);
        var valid = config;
        void NotFor(string field, object? value, string kinds)
        {
            if (value is not null)
            {
                errors.Add(field, $"{field} applies to {kinds} connectors only, not to {name}.");
            }
        }
        NotFor("repository", config.Repository, "git, github and gitlab");
        NotFor("path", config.Path, "git");
        NotFor("branch", config.Branch, "git");
        NotFor("initial_lookback", config.InitialLookback, "git");
        NotFor("commit_url", config.CommitUrl, "git");
        if (config.KeepSuccesses)
        {
            errors.Add("keep_successes", "keep_successes applies to github and gitlab connectors only.");
        }

        // A secret is optional everywhere here: receivers then require it as a bearer token, pollers send it as one.
        if (config.Secret is not null && !SecretReferences.IsValid(config.Secret.Trim()))
        {
            errors.Add("secret", $"secret must be {SecretReferences.Rule}.");
        }
        valid = valid with { Secret = config.Secret?.Trim() };

        if (Polls(kind))
        {
            var url = errors.Required("url", config.Url, 1024);
            if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            {
                errors.Add("url", "url must be an absolute http(s) URL, e.g. http://prometheus:9090.");
            }
            var interval = config.PollInterval ?? ConnectorRules.DefaultPollInterval;
            if (interval < ConnectorRules.MinPollInterval || interval > ConnectorRules.MaxPollInterval)
            {
                errors.Add("poll_interval", $"poll_interval must lie between {ConnectorRules.MinPollInterval:c} and {ConnectorRules.MaxPollInterval:c} (reminders tick at most once a minute).");
            }
            valid = valid with { Url = url?.TrimEnd('/'), PollInterval = interval };
        }
        else
        {
            NotFor("url", config.Url, "prometheus and jaeger");
            NotFor("poll_interval", config.PollInterval, "git, prometheus and jaeger");
        }

        if (kind == ConnectorKind.Prometheus)
        {
            valid = ValidatePrometheus(config, valid, errors);
        }
        else
        {
            NotFor("queries", config.Queries, "prometheus");
            NotFor("step", config.Step, "prometheus");
            NotFor("sensitivity", config.Sensitivity, "prometheus");
        }

        if (kind is ConnectorKind.Otlp or ConnectorKind.Jaeger)
        {
            var threshold = config.SlowThreshold ?? Traces.TraceRules.DefaultSlowThreshold;
            if (threshold < TimeSpan.FromMilliseconds(1) || threshold > TimeSpan.FromHours(1))
            {
                errors.Add("slow_threshold", "slow_threshold must lie between 00:00:00.001 and 01:00:00.");
            }
            var factor = config.SlowFactor ?? Traces.TraceRules.DefaultSlowFactor;
            if (!double.IsFinite(factor) || factor < 1 || factor > 1000)
            {
                errors.Add("slow_factor", "slow_factor must lie between 1 and 1000.");
            }
            var limit = config.SampleLimit ?? Traces.TraceRules.DefaultSampleLimit;
            if (limit is < 1 or > 10_000)
            {
                errors.Add("sample_limit", "sample_limit must lie between 1 and 10000 (slow traces per service and operation per minute).");
            }
            valid = valid with { SlowThreshold = threshold, SlowFactor = factor, SampleLimit = limit };
        }
        else
        {
            NotFor("slow_threshold", config.SlowThreshold, "otlp and jaeger");
            NotFor("slow_factor", config.SlowFactor, "otlp and jaeger");
            NotFor("sample_limit", config.SampleLimit, "otlp and jaeger");
        }

        if (kind == ConnectorKind.Jaeger)
        {
            var services = (config.Services ?? []).Select(s => s?.Trim() ?? "").ToList();
            if (services.Count == 0)
            {
                errors.Add("services", "services is required for a jaeger connector: the services whose traces are polled.");
            }
            else if (services.Count > MaxServices || services.Any(s => s.Length is 0 or > 255))
            {
                errors.Add("services", $"services must list 1 to {MaxServices} service names of 1 to 255 characters.");
            }
            var lookback = config.Lookback ?? DefaultTracesLookback;
            if (lookback < TimeSpan.FromMinutes(1) || lookback > TimeSpan.FromDays(1))
            {
                errors.Add("lookback", "lookback must lie between 00:01:00 and 1.00:00:00 for a jaeger connector.");
            }
            valid = valid with { Services = services.Distinct(StringComparer.Ordinal).ToList(), Lookback = lookback };
        }
        else
        {
            NotFor("services", config.Services, "jaeger");
            if (kind != ConnectorKind.Prometheus)
            {
                NotFor("lookback", config.Lookback, "prometheus and jaeger");
            }
        }
        return valid;
    }

    /// <summary>The other kinds (git, github, gitlab) take none of the observability fields.</summary>
    public static void RejectFields(ConnectorKind kind, ConnectorConfig config, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var (field, value) in new (string, object?)[]
        {
            ("url", config.Url), ("queries", config.Queries), ("step", config.Step), ("lookback", config.Lookback),
            ("sensitivity", config.Sensitivity), ("slow_threshold", config.SlowThreshold), ("slow_factor", config.SlowFactor),
            ("sample_limit", config.SampleLimit), ("services", config.Services),
        })
        {
            // A logs connector reads its upstream's url too (Loki, Elasticsearch).
            if (value is not null && !(kind == ConnectorKind.Logs && field == "url"))
            {
                errors.Add(field, $"{field} applies to prometheus, alertmanager, otlp and jaeger connectors, not to {RootCauseJson.Name(kind)}.");
            }
        }
    }

    private static ConnectorConfig ValidatePrometheus(ConnectorConfig config, ConnectorConfig valid, ValidationErrors errors)
    {
        var step = config.Step ?? DefaultStep;
        if (step < TimeSpan.FromSeconds(1) || step > TimeSpan.FromHours(1))
        {
            errors.Add("step", "step must lie between 00:00:01 and 01:00:00.");
        }
        var lookback = config.Lookback ?? DefaultMetricsLookback;
        if (step > TimeSpan.Zero && (lookback < step * AnomalyDetector.MinHistory || lookback / step > MaxPoints))
        {
            errors.Add("lookback", $"lookback must hold at least {AnomalyDetector.MinHistory} steps and at most {MaxPoints} (Prometheus' limit per query).");
        }
        var sensitivity = config.Sensitivity ?? DefaultSensitivity;
        if (!double.IsFinite(sensitivity) || sensitivity < 1 || sensitivity > 100)
        {
            errors.Add("sensitivity", "sensitivity must lie between 1 and 100 (robust standard deviations).");
        }
        var queries = config.Queries;
        if (queries is { Count: > MaxQueries })
        {
            errors.Add("queries", $"queries lists at most {MaxQueries} queries.");
        }
        var cleaned = new List<MetricQuery>();
        for (var i = 0; i < (queries?.Count ?? 0); i++)
        {
            var query = queries![i];
            var field = $"queries[{i}]";
            var text = errors.Required($"{field}.query", query?.Query, 4096);
            var queryName = errors.Optional($"{field}.name", query?.Name, 200);
            if (queryName is not null && !MetricName().IsMatch(queryName))
            {
                errors.Add($"{field}.name", "name must be letters, digits, '_', ':', '.' and '-'.");
            }
            if (query?.Above is { } above && !double.IsFinite(above) || query?.Below is { } below && !double.IsFinite(below))
            {
                errors.Add($"{field}.{(query.Above is { } a && !double.IsFinite(a) ? "above" : "below")}", "thresholds must be finite numbers.");
            }
            if (query?.Severity is { } severity && !Enum.IsDefined(severity))
            {
                errors.Add($"{field}.severity", $"severity must be one of {RootCauseJson.Names<Events.EventSeverity>()}.");
            }
            if (query is not null)
            {
                cleaned.Add(query with { Query = text, Name = queryName });
            }
        }
        return valid with { Step = step, Lookback = lookback, Sensitivity = sensitivity, Queries = queries is null ? null : cleaned };
    }

    [GeneratedRegex("^[A-Za-z0-9_:.-]+$")]
    private static partial Regex MetricName();
}
