using System.Text.RegularExpressions;
using RootCause.Common;

namespace RootCause.Connectors;

/// <summary>What a valid connector config is; every error names the field.</summary>
public static partial class ConnectorRules
{
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MinPollInterval = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaxPollInterval = TimeSpan.FromDays(1);
    public static readonly TimeSpan DefaultInitialLookback = TimeSpan.FromDays(7);
    public static readonly TimeSpan MaxInitialLookback = TimeSpan.FromDays(3650);

    /// <summary>The config with defaults filled in and text trimmed.</summary>
    /// <exception cref="ValidationFailedException">Naming every field at fault.</exception>
    public static ConnectorConfig Validate(string name, ConnectorConfig? config)
    {
        var errors = new ValidationErrors();
        if (!ConnectorNames.IsValid(name))
        {
            errors.Add("name", $"name must be {ConnectorNames.Rule} (got '{Shorten(name)}').");
        }
        if (config is null)
        {
            errors.Add("body", "A JSON body with the connector's config is required.");
            errors.ThrowIfAny();
            return config!;
        }
        if (config.Kind is not { } kind || !Enum.IsDefined(kind))
        {
            errors.Add("kind", $"kind is required: one of {RootCauseJson.Names<ConnectorKind>()}.");
            errors.ThrowIfAny();
            return config;
        }
        if (kind == ConnectorKind.Logs)
        {
            TelemetryRules.RejectFields(kind, config, errors);
            var logs = Logs.LogsRules.Validate(config, errors);
            errors.ThrowIfAny();
            return logs;
        }
        Logs.LogsRules.RefuseLogsFields(config, errors);
        var repository = errors.Optional("repository", config.Repository, 255);
        if (repository is not null && !RepositoryPattern().IsMatch(repository))
        {
            errors.Add("repository", "repository must be owner/name (GitLab groups may nest: group/subgroup/name).");
        }
        var valid = config with { Repository = repository };
        if (!TelemetryRules.Applies(kind))
        {
            TelemetryRules.RejectFields(kind, config, errors);
        }
        if (TelemetryRules.Applies(kind))
        {
            valid = TelemetryRules.Validate(kind, config, errors);
        }
        else if (kind == ConnectorKind.Git)
        {
            if (repository is null)
            {
                errors.Add("repository", "repository is required for a git connector: it is the owner/name its events carry.");
            }
            var path = errors.Required("path", config.Path, 1024);
            if (path is not null && !System.IO.Path.IsPathRooted(path))
            {
                errors.Add("path", "path must be an absolute directory path on the silo.");
            }
            var branch = errors.Optional("branch", config.Branch, 255);
            if (branch is not null && (branch.Any(char.IsWhiteSpace) || branch.Contains("..", StringComparison.Ordinal)))
            {
                errors.Add("branch", "branch must be a git branch name.");
            }
            var interval = config.PollInterval ?? DefaultPollInterval;
            if (interval < MinPollInterval || interval > MaxPollInterval)
            {
                errors.Add("poll_interval", $"poll_interval must lie between {MinPollInterval:c} and {MaxPollInterval:c} (reminders tick at most once a minute).");
            }
            var lookback = config.InitialLookback ?? DefaultInitialLookback;
            if (lookback < TimeSpan.Zero || lookback > MaxInitialLookback)
            {
                errors.Add("initial_lookback", $"initial_lookback must lie between 00:00:00 and {MaxInitialLookback:c}.");
            }
            var commitUrl = errors.Optional("commit_url", config.CommitUrl, 1024);
            if (commitUrl is not null && (!commitUrl.Contains("{sha}", StringComparison.Ordinal)
                || !Uri.TryCreate(commitUrl.Replace("{sha}", "0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                || uri.Scheme is not ("http" or "https")))
            {
                errors.Add("commit_url", "commit_url must be an http(s) URL with {sha} where the commit id goes.");
            }
            if (config.Secret is not null)
            {
                errors.Add("secret", "secret applies to webhook connectors (github, gitlab) only.");
            }
            valid = valid with { Path = path, Branch = branch, PollInterval = interval, InitialLookback = lookback, CommitUrl = commitUrl };
        }
        else
        {
            if (string.IsNullOrWhiteSpace(config.Secret))
            {
                errors.Add("secret", $"secret is required for a {RootCauseJson.Name(kind)} connector: {SecretReferences.Rule}.");
            }
            else if (!SecretReferences.IsValid(config.Secret.Trim()))
            {
                // The value is not echoed: it may be the secret itself, pasted by mistake.
                errors.Add("secret", $"secret must be {SecretReferences.Rule}.");
            }
            foreach (var (field, value) in new (string, object?)[]
            {
                ("path", config.Path), ("branch", config.Branch), ("poll_interval", config.PollInterval),
                ("initial_lookback", config.InitialLookback), ("commit_url", config.CommitUrl),
            })
            {
                if (value is not null)
                {
                    errors.Add(field, $"{field} applies to git connectors only.");
                }
            }
            valid = valid with { Secret = config.Secret?.Trim() };
        }
        errors.ThrowIfAny();
        return valid;
    }

    private static string Shorten(string? text) => text is null ? "" : text.Length > 80 ? text[..80] + "…" : text;

    [GeneratedRegex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")]
    private static partial Regex RepositoryPattern();
}
