using RootCause.Catalog;

namespace RootCause.Evaluation.Corpus;

/// <summary>
/// Expands a hand-written <see cref="ScenarioSpec"/> into a <see cref="CorpusScenario"/>: the story's
/// events as written (ground truth from the story: causes and symptoms explain the main investigation,
/// the earlier incident's events explain that one, story decoys explain nothing), plus background the
/// organisation produces anyway — commits and deployments of other components, commits to the same
/// repository outside the paths that matter, CI noise, everyday errors, flapping alerts, slow spans,
/// metric blips. Deterministic: the random source is seeded from the scenario id, so the same spec and
/// catalog always give the same scenario, byte for byte.
/// </summary>
public static class ScenarioGenerator
{
    /// <summary>No event lies later than this after detection, so a replay anchored this far in the past stays in the past.</summary>
    public const long LatestOffset = 4 * 3600;

    private const long Hour = 3600;
    private const long Day = 86_400;

    public static CorpusScenario Expand(ScenarioSpec spec, CorpusCatalog catalog)
    {
        var random = new Random(Seed(spec.Id));
        var factory = new EventFactory(catalog, random);
        var generated = new List<GeneratedEvent>();

        var main = Investigation(CorpusInvestigation.MainKey, spec.Investigation, 0, null, null);
        var investigations = new List<CorpusInvestigation> { main };
        foreach (var entry in spec.Events)
        {
            var truth = entry.Role == Roles.StoryDecoy ? null : CorpusInvestigation.MainKey;
            generated.AddRange(factory.Expand(entry, Offset.Parse(entry.At), entry.Role, truth));
        }
        if (spec.Earlier is { } earlier)
        {
            var detected = Offset.Parse(earlier.DetectedAt);
            investigations.Add(Investigation(CorpusInvestigation.EarlierKey, earlier.Investigation, detected, detected + Offset.Parse(earlier.Lasted), earlier.RootCause));
            foreach (var entry in earlier.Events)
            {
                var decoy = entry.Role == Roles.StoryDecoy;
                generated.AddRange(factory.Expand(entry, detected + Offset.Parse(entry.At), decoy ? Roles.StoryDecoy : Roles.EarlierIncident, decoy ? null : CorpusInvestigation.EarlierKey));
            }
        }

        var involved = Involved(spec, catalog);
        var focus = catalog[spec.FocusComponent ?? spec.Investigation.ComponentAffected
            ?? spec.Events.Select(e => e.Component).FirstOrDefault(c => c is not null)
            ?? throw new InvalidOperationException($"{spec.Id}: no focus component (set focus_component).")];
        var noise = new NoiseGenerator(catalog, factory, random, involved, focus);
        var taken = new HashSet<string>(generated.Select(e => e.Source + "\n" + e.SourceId), StringComparer.Ordinal);
        if (taken.Count != generated.Count)
        {
            throw new InvalidOperationException($"{spec.Id}: two story events have the same source id; give them different times.");
        }
        foreach (var e in noise.Generate(spec.Noise))
        {
            // A made-up event that collides with one already there is dropped rather than renamed: the result is still deterministic.
            if (taken.Add(e.Source + "\n" + e.SourceId))
            {
                generated.Add(e);
            }
        }

        if (generated.FirstOrDefault(e => e.At > LatestOffset) is { } late)
        {
            throw new InvalidOperationException($"{spec.Id}: a {late.EventType} lies {late.At / 60} min after detection; the corpus keeps every event within {LatestOffset / 3600} h.");
        }

        var ordered = generated.Select((e, i) => (Event: e, Order: i)).OrderBy(x => x.Event.At).ThenBy(x => x.Order).Select(x => x.Event).ToList();
        var events = new List<CorpusEvent>(ordered.Count);
        var truthLinks = new List<TruthLink>();
        for (var i = 0; i < ordered.Count; i++)
        {
            var e = ordered[i];
            var key = $"e{i + 1:000}";
            events.Add(new CorpusEvent
            {
                Key = key,
                At = e.At,
                Source = e.Source,
                SourceId = e.SourceId,
                EventType = e.EventType,
                Severity = e.Severity,
                Tags = e.Tags,
                Data = e.Data,
                Metadata = e.Metadata,
                Role = e.Role,
            });
            if (e.Truth is { } investigation)
            {
                truthLinks.Add(new TruthLink(key, investigation));
            }
        }

        return new CorpusScenario
        {
            Id = spec.Id,
            Title = spec.Title,
            Kind = spec.Kind,
            CauseLocation = spec.CauseLocation,
            Story = spec.Story,
            Investigations = investigations,
            Events = events,
            GroundTruth = truthLinks,
        };
    }

    private static CorpusInvestigation Investigation(string key, InvestigationSpec spec, long detected, long? resolved, string? rootCause) => new()
    {
        Key = key,
        Title = spec.Title,
        Description = spec.Description,
        Status = resolved is null ? "open" : "resolved",
        ImpactSeverity = spec.Severity,
        Priority = spec.Priority,
        DetectedAt = detected,
        StartedAt = spec.StartedAt is { } started ? detected + Offset.Parse(started) : null,
        ResolvedAt = resolved,
        OpenedAt = detected + Offset.Parse(spec.OpenedAt),
        RootCause = rootCause,
        ComponentAffected = spec.ComponentAffected,
        ServiceAffected = spec.ServiceAffected,
        Tags = spec.Tags,
        CreatedBy = spec.CreatedBy,
        AssignedTo = spec.AssignedTo,
    };

    /// <summary>Components the story touches: background never comes from them, so that no made-up event could plausibly be part of the story.</summary>
    private static HashSet<string> Involved(ScenarioSpec spec, CorpusCatalog catalog)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        void Add(string? name)
        {
            if (name is not null && catalog.Catalog.Resolve(name) is { } c)
            {
                names.Add(c.Name);
            }
        }
        Add(spec.Investigation.ComponentAffected);
        Add(spec.FocusComponent);
        foreach (var e in spec.Events.Concat(spec.Earlier?.Events ?? []))
        {
            Add(e.Component);
            Add(e.Name);
            Add(e.Peer);
        }
        Add(spec.Earlier?.Investigation.ComponentAffected);
        return names;
    }

    /// <summary>FNV-1a over the id: stable across runs and runtimes, unlike string.GetHashCode.</summary>
    public static int Seed(string id)
    {
        var hash = 2166136261u;
        foreach (var c in id)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)(hash & 0x7fffffff);
    }

    /// <summary>The background of one scenario.</summary>
    private sealed class NoiseGenerator(CorpusCatalog catalog, EventFactory factory, Random random, HashSet<string> involved, Component focus)
    {
        private readonly Component[] _others = [.. catalog.Components.Where(c => !involved.Contains(c.Name))];

        public IEnumerable<GeneratedEvent> Generate(int total)
        {
            var applications = _others.Where(CorpusCatalog.IsApplication).ToArray();
            var withPipelines = _others.Where(c => c.Pipelines.Count > 0).ToArray();
            var runtime = _others.Where(c => CorpusCatalog.Stack(c) is not ("terraform" or "json")).ToArray();

            for (var i = 0; i < Math.Max(6, total * 28 / 100); i++)
            {
                var c = ContentBank.Pick(random, _others.Where(o => o.Repositories.Count > 0).ToArray());
                yield return One(new StoryEventSpec { Kind = "commit", At = "0", Component = c.Name, Author = random.Next(6) == 0 ? ContentBank.Pick(random, ContentBank.Bots) : null },
                    Between(-7 * Day, 3 * Hour), Roles.OtherComponentCommit);
            }
            foreach (var e in SameRepositoryCommits(Math.Max(3, total * 6 / 100)))
            {
                yield return e;
            }
            for (var i = 0; i < Math.Max(3, total * 10 / 100); i++)
            {
                var c = ContentBank.Pick(random, applications);
                yield return One(new StoryEventSpec { Kind = "deployment", At = "0", Component = c.Name, NamesService = random.Next(5) != 0, Status = random.Next(12) == 0 ? "failure" : null },
                    Between(-36 * Hour, 3 * Hour), Roles.UnrelatedDeploy);
            }
            if (focus.Repositories.Count > 0)
            {
                // Staging gets the same builds as production: a staging rollout of the component itself cannot have hurt production.
                yield return One(new StoryEventSpec { Kind = "deployment", At = "0", Component = focus.Name, Environment = "staging" }, Between(-20 * Hour, 2 * Hour), Roles.UnrelatedDeploy);
            }
            for (var i = 0; i < Math.Max(3, total * 12 / 100); i++)
            {
                var c = ContentBank.Pick(random, withPipelines);
                var failed = random.Next(10) < 6;
                yield return One(new StoryEventSpec { Kind = failed ? "ci_failure" : "ci_success", At = "0", Component = c.Name, Branch = failed && random.Next(2) == 0 ? $"feature/{ContentBank.Pick(random, ContentBank.Modules)}-{random.Next(100, 999)}" : null },
                    Between(-7 * Day, 3 * Hour), Roles.CiNoise);
            }
            foreach (var e in BackgroundErrors(Math.Max(6, total * 18 / 100), runtime))
            {
                yield return e;
            }
            foreach (var e in FlappingAlerts(Math.Max(4, total * 10 / 100), runtime))
            {
                yield return e;
            }
            for (var i = 0; i < total * 8 / 100; i++)
            {
                var c = ContentBank.Pick(random, applications);
                var failed = random.Next(3) == 0;
                var peer = c.DependsOn.Count > 0 && random.Next(2) == 0 ? ContentBank.Pick(random, c.DependsOn) : null;
                yield return One(new StoryEventSpec { Kind = failed ? "error_span" : "slow_span", At = "0", Component = c.Name, Peer = peer }, Between(-4 * Hour, 4 * Hour), Roles.TraceNoise);
            }
            for (var i = 0; i < total * 8 / 100; i++)
            {
                var c = ContentBank.Pick(random, runtime);
                var (metric, kind, value, baseline, threshold) = ContentBank.Pick(random, ContentBank.Metrics(CorpusCatalog.Stack(c), random));
                yield return One(new StoryEventSpec { Kind = "metric_anomaly", At = "0", Component = c.Name, Metric = metric, AnomalyKind = kind, Value = value, Baseline = baseline, Threshold = threshold, Lasting = $"{random.Next(3, 16)}m" },
                    Between(-8 * Hour, 4 * Hour), Roles.MetricNoise);
            }
        }

        private IEnumerable<GeneratedEvent> SameRepositoryCommits(int count)
        {
            var repository = focus.Repositories.FirstOrDefault()
                ?? catalog.Components.First(c => c.PathPrefixes.Count > 0).Repositories[0];
            var owners = catalog.Catalog.ForRepository(repository);
            var shared = owners.Any(c => c.PathPrefixes.Count > 0);
            var neighbours = owners.Where(c => !involved.Contains(c.Name)).ToArray();
            for (var i = 0; i < count; i++)
            {
                StoryEventSpec spec;
                if (shared && neighbours.Length > 0 && i % 3 == 2)
                {
                    // A module of the same repository that belongs to another component.
                    var neighbour = ContentBank.Pick(random, neighbours);
                    spec = new StoryEventSpec { Kind = "commit", At = "0", Component = neighbour.Name, Repository = repository };
                }
                else if (shared)
                {
                    // Docs, CI configuration, repository housekeeping: inside the repository, outside every component's paths.
                    var files = Enumerable.Range(0, random.Next(1, 3)).Select(_ => ContentBank.Pick(random, ContentBank.SharedRepositoryFiles)).Distinct(StringComparer.Ordinal).ToList();
                    spec = new StoryEventSpec { Kind = "commit", At = "0", Repository = repository, Files = files, Component = focus.Name, Message = HousekeepingMessage(files[0]) };
                }
                else
                {
                    // The component owns the whole repository: the harmless commits are the ones never merged, on branches nothing deploys.
                    var branch = ContentBank.Pick(random, ContentBank.UnmergedBranches).Replace("{m}", ContentBank.Pick(random, ContentBank.Modules), StringComparison.Ordinal);
                    spec = new StoryEventSpec { Kind = "commit", At = "0", Component = focus.Name, Repository = repository, Branch = branch };
                }
                yield return One(spec, Between(-7 * Day, 3 * Hour), Roles.SameRepositoryCommit);
            }
        }

        private string HousekeepingMessage(string file) => file switch
        {
            _ when file.StartsWith("docs/", StringComparison.Ordinal) => ContentBank.Pick(random, new[] { "docs: clarify the on-call escalation path", "docs: record the idempotency decision", "docs: fix broken links" }),
            _ when file.StartsWith(".github/", StringComparison.Ordinal) => ContentBank.Pick(random, new[] { "ci: pin actions to commit shas", "Update CODEOWNERS after the team reshuffle", "ci: cache the module download" }),
            "README.md" => "Update README with the local setup steps",
            "renovate.json" => "chore: group minor updates weekly",
            _ => ContentBank.Pick(random, new[] { "Tidy up the repository tooling", "dev: make the local compose file start faster", "chore: ignore editor folders" }),
        };

        private IEnumerable<GeneratedEvent> BackgroundErrors(int count, Component[] runtime)
        {
            // The focus component's own known, everyday errors, well before the incident.
            if (CorpusCatalog.IsApplication(focus) || CorpusCatalog.Stack(focus) is "postgres" or "redis" or "kafka" or "elasticsearch")
            {
                for (var i = 0; i < 3; i++)
                {
                    var (type, message) = ContentBank.Pick(random, ContentBank.BenignErrors(CorpusCatalog.Stack(focus)));
                    yield return One(new StoryEventSpec { Kind = "log_error", At = "0", Component = focus.Name, Exception = type, Message = message, Level = "warn", Severity = "low" },
                        Between(-30 * Hour, -4 * Hour), Roles.BackgroundErrors);
                }
            }
            for (var i = 0; i < count; i++)
            {
                var c = ContentBank.Pick(random, runtime);
                var stack = CorpusCatalog.Stack(c);
                var (type, message) = random.Next(3) == 0 ? ContentBank.Pick(random, ContentBank.Errors(stack)) : ContentBank.Pick(random, ContentBank.BenignErrors(stack));
                var spec = random.Next(5) < 3
                    ? new StoryEventSpec { Kind = "error_spike", At = "0", Component = c.Name, Exception = type, Message = message, Count = random.Next(20, 400), Baseline = Math.Round(1 + random.NextDouble() * 10, 1), Severity = random.Next(2) == 0 ? "medium" : "low" }
                    : new StoryEventSpec { Kind = "log_error", At = "0", Component = c.Name, Exception = type, Message = message };
                yield return One(spec, Between(-8 * Hour, 4 * Hour), Roles.BackgroundErrors);
            }
        }

        private IEnumerable<GeneratedEvent> FlappingAlerts(int count, Component[] runtime)
        {
            var emitted = 0;
            while (emitted < count)
            {
                var c = ContentBank.Pick(random, runtime);
                var (alert, summary, severity) = ContentBank.Pick(random, ContentBank.Alerts(CorpusCatalog.Stack(c)));
                var at = Between(-10 * Hour, -5 * Hour);
                var spec = new StoryEventSpec
                {
                    Kind = "alert", At = "0", Component = c.Name, Alertname = alert, Summary = summary, Level = severity,
                    Labels = new Dictionary<string, string> { ["namespace"] = c.Service ?? "default", ["service"] = c.Name, ["instance"] = $"{c.Name}-{random.Next(0, 3)}:9090" },
                    Message = "Fires and resolves several times a day; tracked in the alert-hygiene backlog.",
                };
                while (emitted < count && at <= LatestOffset)
                {
                    yield return One(spec, at, Roles.FlappingAlert);
                    emitted++;
                    at += random.Next(20, 55) * 60;
                }
            }
        }

        private GeneratedEvent One(StoryEventSpec spec, long at, string role) => factory.Expand(spec, at, role, null).Single();

        private long Between(long from, long to) => from + (long)(random.NextDouble() * (to - from));
    }
}
