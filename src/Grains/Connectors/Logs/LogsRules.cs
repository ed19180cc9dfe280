using RootCause.Common;

namespace RootCause.Connectors.Logs;

/// <summary>What a valid <c>logs</c> connector config is (called by <see cref="ConnectorRules"/>).</summary>
public static class LogsRules
{
    public static readonly TimeSpan DefaultInitialLookback = TimeSpan.FromMinutes(15);
    public const int DefaultPageSize = 1000;
    public const int MaxPageSize = 5000;

    public static ConnectorConfig Validate(ConnectorConfig config, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(errors);
        var input = config.Input ?? LogsInput.Push;
        if (!Enum.IsDefined(input))
        {
            errors.Add("input", $"input must be one of {RootCauseJson.Names<LogsInput>()}.");
            return config;
        }
        var secret = config.Secret?.Trim();
        if (secret is not null && !SecretReferences.IsValid(secret))
        {
            errors.Add("secret", $"secret must be {SecretReferences.Rule}.");
        }
        var path = errors.Optional("path", config.Path, 1024);
        var url = errors.Optional("url", config.Url, 1024);
        var query = errors.Optional("query", config.Query, 4096);
        var index = errors.Optional("index", config.Index, 255);
        var service = errors.Optional("service", config.Service, LogsIngest.MaxServiceLength);
        switch (input)
        {
            case LogsInput.Push:
                if (secret is null)
                {
                    errors.Add("secret", $"secret is required for a push logs connector: the bearer token shippers send, as {SecretReferences.Rule}.");
                }
                Refuse(errors, input, ("path", path), ("url", url), ("query", query), ("index", index), ("poll_interval", config.PollInterval),
                    ("initial_lookback", config.InitialLookback), ("page_size", config.PageSize));
                break;
            case LogsInput.File:
                if (path is null || !Path.IsPathRooted(path))
                {
                    errors.Add("path", "path is required for a file logs connector: the absolute path of the file on every silo.");
                }
                Refuse(errors, input, ("url", url), ("query", query), ("index", index), ("secret", secret), ("page_size", config.PageSize));
                break;
            case LogsInput.Loki:
            case LogsInput.Elasticsearch:
                if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    errors.Add("url", $"url is required for a {RootCauseJson.Name(input)} logs connector: the http(s) base URL, e.g. http://loki:3100.");
                }
                if (input == LogsInput.Loki && query is null)
                {
                    errors.Add("query", "query is required for a loki logs connector: a LogQL log query, e.g. {namespace=\"shop\"} |= \"error\".");
                }
                if (input == LogsInput.Elasticsearch && (index is null || index.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#')))
                {
                    errors.Add("index", "index is required for an elasticsearch logs connector: an index, alias or pattern such as logs-*.");
                }
                Refuse(errors, input, ("path", path));
                if (input == LogsInput.Loki)
                {
                    Refuse(errors, input, ("index", index));
                }
                break;
        }
        var pulled = input != LogsInput.Push;
        var interval = config.PollInterval ?? (pulled ? ConnectorRules.DefaultPollInterval : null);
        if (interval is { } i && (i < ConnectorRules.MinPollInterval || i > ConnectorRules.MaxPollInterval))
        {
            errors.Add("poll_interval", $"poll_interval must lie between {ConnectorRules.MinPollInterval:c} and {ConnectorRules.MaxPollInterval:c} (reminders tick at most once a minute).");
        }
        if (config.InitialLookback is { } lookback && (lookback < TimeSpan.Zero || lookback > TimeSpan.FromDays(30)))
        {
            errors.Add("initial_lookback", "initial_lookback must lie between 00:00:00 and 30.00:00:00.");
        }
        if (config.PageSize is { } size && (size < 1 || size > MaxPageSize))
        {
            errors.Add("page_size", $"page_size must lie between 1 and {MaxPageSize}.");
        }
        if (config.SpikeFactor is { } factor && (double.IsNaN(factor) || factor < 1 || factor > 1000))
        {
            errors.Add("spike_factor", "spike_factor must lie between 1 and 1000.");
        }
        if (config.SpikeMinCount is { } min && (min < 1 || min > 1_000_000))
        {
            errors.Add("spike_min_count", "spike_min_count must lie between 1 and 1000000.");
        }
        if (config.KeepErrors is { } keep && !Enum.IsDefined(keep))
        {
            errors.Add("keep_errors", $"keep_errors must be one of {RootCauseJson.Names<LogErrorsKept>()}.");
        }
        foreach (var (field, value) in new (string, object?)[] { ("repository", config.Repository), ("branch", config.Branch), ("commit_url", config.CommitUrl) })
        {
            if (value is not null)
            {
                errors.Add(field, $"{field} does not apply to logs connectors.");
            }
        }
        if (config.KeepSuccesses)
        {
            errors.Add("keep_successes", "keep_successes does not apply to logs connectors.");
        }
        return config with
        {
            Input = input,
            Secret = secret,
            Path = path,
            Url = url,
            Query = query,
            Index = index,
            Service = service,
            PollInterval = interval,
            KeepErrors = config.KeepErrors ?? LogErrorsKept.Fatal,
        };
    }

    /// <summary>Logs-only fields on another kind of connector (<c>url</c> is shared with the pollers and checked by their rules).</summary>
    public static void RefuseLogsFields(ConnectorConfig config, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var (field, value) in new (string, object?)[]
        {
            ("input", config.Input), ("query", config.Query), ("index", config.Index), ("service", config.Service),
            ("spike_factor", config.SpikeFactor), ("spike_min_count", config.SpikeMinCount), ("keep_errors", config.KeepErrors), ("page_size", config.PageSize),
        })
        {
            if (value is not null)
            {
                errors.Add(field, $"{field} applies to logs connectors only.");
            }
        }
    }

    /// <summary>Whether the connector is pulled on a reminder (file, Loki, Elasticsearch) rather than pushed to.</summary>
    public static bool IsPulled(ConnectorConfig config) => config is { Kind: ConnectorKind.Logs } && (config.Input ?? LogsInput.Push) != LogsInput.Push;

    private static void Refuse(ValidationErrors errors, LogsInput input, params (string Field, object? Value)[] fields)
    {
        foreach (var (field, value) in fields)
        {
            if (value is not null)
            {
                errors.Add(field, $"{field} does not apply to a {RootCauseJson.Name(input)} logs connector.");
            }
        }
    }
}
