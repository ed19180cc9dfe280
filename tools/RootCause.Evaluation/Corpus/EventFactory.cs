using System.Globalization;
using System.Text.Json.Nodes;
using RootCause.Catalog;

namespace RootCause.Evaluation.Corpus;

/// <summary>An event before it gets its key: the payload, its role and which investigation it explains.</summary>
internal sealed record GeneratedEvent(long At, string Source, string SourceId, string EventType, string Severity,
    IReadOnlyList<string> Tags, JsonObject Data, JsonObject Metadata, string Role, string? Truth);

/// <summary>
/// Turns one story entry (hand-written or made up by the noise generator) into an event in the shape
/// docs/events.md gives for its source, filling in what a real connector would carry: shas, run and
/// deployment ids, urls, authors, fingerprints, trace ids, stack traces.
/// </summary>
internal sealed class EventFactory(CorpusCatalog catalog, Random random)
{
    private static readonly HashSet<string> GitLabRepositories = new(StringComparer.Ordinal)
    {
        "tidewater/data-platform", "tidewater/platform-infra", "tidewater/infra-databases", "tidewater/risk",
    };

    private readonly Dictionary<string, string> _shas = new(StringComparer.Ordinal);

    /// <summary>A placeholder for a time <paramref name="seconds"/> after detection, replaced when the scenario is anchored.</summary>
    public static string Time(long seconds) => "{t:" + seconds.ToString(CultureInfo.InvariantCulture) + "}";

    public IEnumerable<GeneratedEvent> Expand(StoryEventSpec spec, long at, string role, string? truth)
    {
        var every = Offset.Parse(spec.Every);
        for (var n = 0; n < spec.Repeat; n++)
        {
            // Real series are not metronomic: a few seconds either way after the first.
            var jitter = n == 0 ? 0 : random.Next(-20, 21);
            yield return Build(spec, at + n * every + jitter, n, role, truth);
        }
    }

    private GeneratedEvent Build(StoryEventSpec s, long at, int n, string role, string? truth)
    {
        var component = s.Component is { } c ? catalog[c] : null;
        var name = s.Name ?? component?.Name ?? (s.Kind is "commit" or "deployment" or "ci_failure" or "ci_success" ? "" : throw new InvalidOperationException($"A {s.Kind} at {s.At} needs a component or a name."));
        var stack = component is null ? "go" : CorpusCatalog.Stack(component);
        return s.Kind switch
        {
            "commit" => Commit(s, component, at, role, truth),
            "deployment" => Deployment(s, component, name, at, role, truth),
            "ci_failure" or "ci_success" => CiRun(s, component, stack, at, role, truth),
            "error_spike" => ErrorSpike(s, component, name, stack, at, n, role, truth),
            "log_error" => LogError(s, component, name, stack, at, role, truth),
            "metric_anomaly" => MetricAnomaly(s, name, at, n, role, truth),
            "alert" => Alert(s, name, at, role, truth),
            "slow_span" or "error_span" => Span(s, name, stack, at, n, role, truth),
            _ => throw new InvalidOperationException($"Unknown story event kind '{s.Kind}'."),
        };
    }

    private GeneratedEvent Commit(StoryEventSpec s, Component? component, long at, string role, string? truth)
    {
        var repository = Repository(s, component);
        var sha = Sha(s.Id);
        var files = s.Files ?? SourceFiles(component ?? throw new InvalidOperationException("A commit without files needs a component."), random.Next(1, 4));
        var author = s.Author ?? ContentBank.Pick(random, ContentBank.Authors);
        var data = new JsonObject
        {
            ["repository"] = repository,
            ["sha"] = sha,
            ["branch"] = s.Branch ?? "main",
            ["author"] = new JsonObject { ["name"] = author, ["email"] = Email(author) },
            ["message"] = s.Message ?? CommitMessage(component),
            ["files"] = new JsonArray([.. files.Select(f => (JsonNode)JsonValue.Create(f))]),
            ["url"] = GitLab(repository) ? $"https://gitlab.tidewater.io/{repository}/-/commit/{sha}" : $"https://github.com/{repository}/commit/{sha}",
        };
        return new GeneratedEvent(at, "git", $"{repository}@{sha}", "commit", s.Severity ?? "info", s.Tags ?? [], data, Connector(repository), role, truth);
    }

    private GeneratedEvent Deployment(StoryEventSpec s, Component? component, string name, long at, string role, string? truth)
    {
        var repository = Repository(s, component);
        var sha = s.Ref is { } r ? _shas.GetValueOrDefault(r) ?? throw new InvalidOperationException($"Ref '{r}' names no earlier entry.") : Sha(s.Id);
        if (s.Id is { } id)
        {
            _shas[id] = sha;
        }
        var environment = s.Environment ?? "production";
        var deploymentId = random.Next(100_000, 9_999_999).ToString(CultureInfo.InvariantCulture);
        var data = new JsonObject
        {
            ["repository"] = repository,
            ["sha"] = sha,
            ["environment"] = environment,
            ["status"] = s.Status ?? "success",
        };
        if (s.NamesService)
        {
            data["service"] = name;
        }
        if (s.Version is { } version)
        {
            data["ref"] = version;
        }
        data["url"] = GitLab(repository)
            ? $"https://gitlab.tidewater.io/{repository}/-/environments/{environment}/deployments/{deploymentId}"
            : $"https://api.github.com/repos/{repository}/deployments/{deploymentId}";
        return new GeneratedEvent(at, "git", $"deploy:{repository}:{environment}:{deploymentId}", "deployment", s.Severity ?? "info", s.Tags ?? [], data, Connector(repository), role, truth);
    }

    private GeneratedEvent CiRun(StoryEventSpec s, Component? component, string stack, long at, string role, string? truth)
    {
        var repository = Repository(s, component);
        var gitlab = GitLab(repository);
        var provider = gitlab ? "gitlab" : "github_actions";
        var workflow = s.Workflow ?? component?.Pipelines.FirstOrDefault() ?? repository.Split('/')[1];
        var (job, step) = s.Job is { } j ? (j, s.Step ?? "run") : ContentBank.CiJob(stack, random);
        var failed = s.Kind == "ci_failure";
        var run = gitlab ? random.Next(1_000_000, 9_999_999).ToString(CultureInfo.InvariantCulture) : random.NextInt64(10_000_000_000, 19_999_999_999).ToString(CultureInfo.InvariantCulture);
        var jobId = gitlab ? random.Next(40_000_000, 99_999_999).ToString(CultureInfo.InvariantCulture) : random.NextInt64(30_000_000_000, 39_999_999_999).ToString(CultureInfo.InvariantCulture);
        var data = new JsonObject
        {
            ["provider"] = provider,
            ["repository"] = repository,
            ["workflow"] = workflow,
            ["job"] = job,
            ["step"] = step,
            ["conclusion"] = failed ? "failure" : "success",
            ["sha"] = s.Ref is { } r ? _shas.GetValueOrDefault(r) ?? throw new InvalidOperationException($"Ref '{r}' names no earlier entry.") : Sha(s.Id),
            ["branch"] = s.Branch ?? "main",
            ["url"] = gitlab ? $"https://gitlab.tidewater.io/{repository}/-/jobs/{jobId}" : $"https://github.com/{repository}/actions/runs/{run}/job/{jobId}",
        };
        return new GeneratedEvent(at, "ci", $"{provider}:{repository}:{run}:{jobId}", failed ? "ci_failure" : "ci_success",
            s.Severity ?? (failed ? "medium" : "info"), s.Tags ?? [], data, new JsonObject { ["connector"] = provider }, role, truth);
    }

    private GeneratedEvent ErrorSpike(StoryEventSpec s, Component? component, string name, string stack, long at, int n, string role, string? truth)
    {
        var (type, message) = s.Exception is { } e ? (e, s.Message ?? "") : ContentBank.Pick(random, ContentBank.Errors(stack));
        message = Fill(message);
        var lasting = Offset.Parse(s.Lasting ?? "5m");
        var start = at / 60 * 60;
        var count = (int)Math.Round((s.Count ?? random.Next(200, 3000)) * (n == 0 ? 1 : 0.7 + random.NextDouble() * 0.6));
        var main = (int)Math.Round(count * (0.85 + random.NextDouble() * 0.12));
        var (otherType, otherMessage) = ContentBank.Pick(random, ContentBank.BenignErrors(stack));
        var data = new JsonObject
        {
            ["service"] = name,
            ["count"] = count,
            ["baseline_per_minute"] = s.Baseline ?? Math.Round(0.5 + random.NextDouble() * 5, 1),
            ["window_start"] = Time(start),
            ["window_end"] = Time(start + lasting),
            ["top_errors"] = new JsonArray(
                new JsonObject { ["exception_type"] = type, ["message"] = message, ["count"] = main },
                new JsonObject { ["exception_type"] = otherType, ["message"] = otherMessage, ["count"] = count - main }),
            ["sample_stack_trace"] = ContentBank.StackTrace(stack, component?.Name ?? name, type, message, s.Frames, random),
        };
        return new GeneratedEvent(start, "logs", $"spike:{name}:{Time(start)}", "error_spike", s.Severity ?? "high", s.Tags ?? ["env:production"], data,
            new JsonObject { ["connector"] = "loki" }, role, truth);
    }

    private GeneratedEvent LogError(StoryEventSpec s, Component? component, string name, string stack, long at, string role, string? truth)
    {
        var (type, message) = s.Exception is { } e ? (e, s.Message ?? "") : ContentBank.Pick(random, ContentBank.Errors(stack));
        message = Fill(message);
        var data = new JsonObject
        {
            ["service"] = name,
            ["level"] = s.Level ?? "error",
            ["message"] = message,
            ["exception_type"] = type,
            ["stack_trace"] = ContentBank.StackTrace(stack, component?.Name ?? name, type, message, s.Frames, random),
            ["logger"] = s.Logger ?? ContentBank.Logger(stack, component?.Name ?? name),
        };
        return new GeneratedEvent(at, "logs", "loki:" + Hex(32), "log_error", s.Severity ?? "medium", s.Tags ?? ["env:production"], data,
            new JsonObject { ["connector"] = "loki" }, role, truth);
    }

    private GeneratedEvent MetricAnomaly(StoryEventSpec s, string name, long at, int n, string role, string? truth)
    {
        var metric = s.Metric ?? throw new InvalidOperationException($"A metric_anomaly at {s.At} needs a metric.");
        var labels = Labels(s.Labels, name);
        var instance = labels["instance"]?.GetValue<string>() ?? name;
        var start = at / 60 * 60;
        var value = s.Value ?? 1;
        var data = new JsonObject
        {
            ["metric"] = metric,
            ["labels"] = labels,
            ["kind"] = s.AnomalyKind ?? "spike",
            ["value"] = n == 0 ? value : Math.Round(value * (0.9 + random.NextDouble() * 0.2), 3),
            ["baseline"] = s.Baseline ?? 0,
            ["threshold"] = s.Threshold is { } t ? t : null,
            ["window_start"] = Time(start),
            ["window_end"] = Time(start + Offset.Parse(s.Lasting ?? "5m")),
        };
        return new GeneratedEvent(start, "metrics", $"anomaly:{metric}:{instance}:{Time(start)}", "metric_anomaly", s.Severity ?? "medium",
            s.Tags ?? ["env:production"], data, new JsonObject { ["connector"] = "prometheus" }, role, truth);
    }

    private GeneratedEvent Alert(StoryEventSpec s, string name, long at, string role, string? truth)
    {
        var alertname = s.Alertname ?? throw new InvalidOperationException($"An alert at {s.At} needs an alertname.");
        var severity = s.Level ?? "warning";
        var labels = new JsonObject { ["alertname"] = alertname, ["severity"] = severity };
        foreach (var (key, value) in Labels(s.Labels, name))
        {
            labels[key] = value?.DeepClone();
        }
        // Alertmanager's fingerprint is a hash of the label set: the same alert firing again keeps it, only starts_at differs.
        var fingerprint = Fingerprint(labels);
        var data = new JsonObject
        {
            ["alertname"] = alertname,
            ["status"] = s.Status ?? "firing",
            ["labels"] = labels,
            ["annotations"] = new JsonObject
            {
                ["summary"] = (s.Summary ?? alertname).Replace("{name}", name, StringComparison.Ordinal),
                ["description"] = s.Message ?? "",
                ["runbook_url"] = $"https://runbooks.tidewater.io/alerts/{alertname.ToLowerInvariant()}",
            },
            ["starts_at"] = Time(at),
            ["ends_at"] = "0001-01-01T00:00:00Z",
            ["fingerprint"] = fingerprint,
            ["generator_url"] = $"https://prometheus.tidewater.io/graph?g0.expr=ALERTS%7Balertname%3D%22{alertname}%22%7D&g0.tab=1",
        };
        return new GeneratedEvent(at, "metrics", $"{fingerprint}:{Time(at)}", "alert", s.Severity ?? (severity == "critical" ? "critical" : "medium"),
            s.Tags ?? ["env:production"], data, new JsonObject { ["connector"] = "alertmanager" }, role, truth);
    }

    private GeneratedEvent Span(StoryEventSpec s, string name, string stack, long at, int n, string role, string? truth)
    {
        var failed = s.Kind == "error_span";
        var operation = s.Operation ?? ContentBank.Pick(random, ContentBank.Operations(name, stack));
        var duration = s.DurationMs ?? random.Next(1200, 9000);
        if (n > 0)
        {
            duration = (int)Math.Round(duration * (0.8 + random.NextDouble() * 0.4));
        }
        var traceId = Hex(32);
        var spanId = Hex(16);
        var attributes = new JsonObject();
        foreach (var (key, value) in s.Attributes ?? new Dictionary<string, string> { ["http.route"] = operation.Split(' ')[^1], ["http.response.status_code"] = failed ? "503" : "200" })
        {
            attributes[key] = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : value;
        }
        var data = new JsonObject
        {
            ["trace_id"] = traceId,
            ["span_id"] = spanId,
            ["service"] = name,
            ["operation"] = operation,
            ["duration_ms"] = duration,
            ["baseline_ms"] = s.Baseline is { } b ? (int)b : random.Next(40, 400),
            ["status"] = failed ? "error" : "ok",
        };
        if (s.Peer is { } peer)
        {
            data["peer_service"] = peer;
        }
        if (failed)
        {
            var (type, message) = s.Exception is { } e ? (e, s.Message ?? "") : ContentBank.Pick(random, ContentBank.Errors(stack));
            data["exception"] = new JsonObject { ["type"] = type, ["message"] = Fill(message) };
        }
        data["attributes"] = attributes;
        data["resource"] = new JsonObject
        {
            ["service.name"] = name,
            ["service.version"] = $"{random.Next(1, 4)}.{random.Next(0, 60)}.{random.Next(0, 12)}",
            ["deployment.environment"] = "production",
        };
        return new GeneratedEvent(at, "traces", $"{traceId}:{spanId}", s.Kind, s.Severity ?? (failed ? "medium" : "low"), s.Tags ?? ["env:production"], data,
            new JsonObject { ["connector"] = "tempo" }, role, truth);
    }

    public static bool GitLab(string repository) => GitLabRepositories.Contains(repository);

    private static JsonObject Connector(string repository) => new() { ["connector"] = GitLab(repository) ? "gitlab" : "github" };

    private static string Repository(StoryEventSpec s, Component? component) =>
        s.Repository ?? component?.Repositories.FirstOrDefault() ?? throw new InvalidOperationException($"A {s.Kind} at {s.At} needs a repository.");

    private JsonObject Labels(IReadOnlyDictionary<string, string>? given, string name)
    {
        var labels = new JsonObject();
        if (given is null)
        {
            labels["instance"] = $"10.42.{random.Next(0, 64)}.{random.Next(2, 250)}:{ContentBank.Pick(random, new[] { 8080, 9090, 9187, 9121, 9308 })}";
            labels["job"] = name;
            labels["service"] = name;
        }
        else
        {
            foreach (var (key, value) in given)
            {
                labels[key] = value;
            }
            if (!labels.ContainsKey("instance"))
            {
                labels["instance"] = $"{name}-{Hex(5)}:9090";
            }
        }
        return labels;
    }

    /// <summary>1–3 plausible source files of the component, under its path prefix.</summary>
    public IReadOnlyList<string> SourceFiles(Component component, int count)
    {
        var prefix = component.PathPrefixes.Count > 0 ? ContentBank.Pick(random, component.PathPrefixes) : "";
        var patterns = ContentBank.FilePatterns(CorpusCatalog.Stack(component));
        var module = ContentBank.Pick(random, ContentBank.Modules);
        return [.. Enumerable.Range(0, count)
            .Select(_ => prefix + ContentBank.Pick(random, patterns).Replace("{m}", module, StringComparison.Ordinal).Replace("{M}", ContentBank.Pascal(module), StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)];
    }

    public string CommitMessage(Component? component)
    {
        var module = ContentBank.Pick(random, ContentBank.Modules);
        if (component is not null && random.Next(5) == 0)
        {
            var dependency = ContentBank.Pick(random, ContentBank.Dependencies(CorpusCatalog.Stack(component)));
            var minor = random.Next(1, 40);
            return ContentBank.Pick(random, ContentBank.DependencyBumps)
                .Replace("{d}", dependency, StringComparison.Ordinal)
                .Replace("{v0}", $"v1.{minor - 1}.0", StringComparison.Ordinal)
                .Replace("{v}", $"v1.{minor}.0", StringComparison.Ordinal);
        }
        return ContentBank.Pick(random, ContentBank.CommitMessages).Replace("{m}", module, StringComparison.Ordinal);
    }

    private string Fill(string message) => message
        .Replace("{a}", random.Next(0, 64).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{b}", random.Next(2, 250).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{peer}", "upstream", StringComparison.Ordinal);

    private string Sha(string? id)
    {
        var sha = Hex(40);
        if (id is not null)
        {
            _shas[id] = sha;
        }
        return sha;
    }

    private static string Email(string author) => author switch
    {
        "renovate[bot]" => "bot@renovateapp.com",
        "dependabot[bot]" => "49699333+dependabot[bot]@users.noreply.github.com",
        _ => Ascii(author.Split(' ')[0]) + "." + Ascii(author.Split(' ')[^1]) + "@tidewater.io",
    };

    private static string Fingerprint(JsonObject labels)
    {
        var hash = 14695981039346656037ul;
        foreach (var (key, value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            foreach (var c in key + "=" + value?.GetValue<string>() + "\u0001")
            {
                hash = (hash ^ c) * 1099511628211ul;
            }
        }
        return hash.ToString("x16", CultureInfo.InvariantCulture);
    }

    /// <summary>Mailbox names are plain ASCII: "Wójcik" becomes "wojcik".</summary>
    private static string Ascii(string name) => string.Concat(name.ToLowerInvariant().Select(c => c switch
    {
        'ó' or 'ö' or 'ø' => 'o',
        'é' or 'è' => 'e',
        'ä' or 'å' or 'á' => 'a',
        'ü' => 'u',
        _ => c,
    }));

    public string Hex(int length)
    {
        const string digits = "0123456789abcdef";
        return string.Create(length, random, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = digits[r.Next(16)];
            }
        });
    }
}
