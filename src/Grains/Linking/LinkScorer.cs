using System.Globalization;
using System.Text.Json;
using RootCause.Catalog;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Linking;

/// <summary>
/// Scores how well an event explains an investigation with four strategies — time, component,
/// tags, source evidence — each giving a sub-score in [0, 1] and a sentence saying why. They combine
/// into a weighted confidence; an event outside the time window scores 0 whatever else it has.
/// Pure: the same inputs always give the same assessment.
/// </summary>
public sealed class LinkScorer(LinkerOptions options)
{
    public const string Time = "time";
    public const string ComponentStrategy = "component";
    public const string Tags = "tags";
    public const string Evidence = "source_evidence";

    public LinkAssessment Assess(Investigation investigation, Event ev, ServiceCatalog catalog) =>
        Assess(investigation, ev, EventFacts.From(ev, catalog), catalog);

    /// <summary>The same, with the event's facts read once for scoring it against many investigations.</summary>
    public LinkAssessment Assess(Investigation investigation, Event ev, EventFacts facts, ServiceCatalog catalog)
    {
        var time = ScoreTime(investigation, ev, facts.Kind);
        var component = ScoreComponent(investigation, facts, catalog);
        var tags = ScoreTags(investigation, ev);
        var evidence = ScoreEvidence(investigation, ev, facts, component.Score);
        StrategyScore[] strategies =
        [
            time with { Weight = options.TimeWeight },
            component with { Weight = options.ComponentWeight },
            evidence with { Weight = options.EvidenceWeight },
            tags with { Weight = options.TagWeight },
        ];
        var confidence = time.Score <= 0 ? 0 : Math.Clamp(strategies.Sum(s => s.Score * s.Weight), 0, 1);
        confidence = Math.Round(confidence, 4);
        var decision = confidence >= options.LinkThreshold ? LinkDecision.Link
            : confidence >= options.SuggestThreshold ? LinkDecision.Suggest
            : LinkDecision.None;
        return new LinkAssessment
        {
            InvestigationId = investigation.Id,
            EventId = ev.Id,
            Confidence = confidence,
            Decision = decision,
            Linked = investigation.EventIds.Contains(ev.Id),
            Strategies = strategies,
            Summary = Summarize(confidence, decision, time, strategies),
            CatalogVersion = catalog.Version,
        };
    }

    private string Summarize(double confidence, LinkDecision decision, StrategyScore time, StrategyScore[] strategies)
    {
        var verdict = decision switch
        {
            LinkDecision.Link => $"Confidence {confidence:0.00}: at or above {options.LinkThreshold:0.00}, so it is linked automatically.",
            LinkDecision.Suggest => $"Confidence {confidence:0.00}: between {options.SuggestThreshold:0.00} and {options.LinkThreshold:0.00}, so it is suggested for a responder to accept or reject.",
            _ => $"Confidence {confidence:0.00}: below {options.SuggestThreshold:0.00}, so it is not linked.",
        };
        if (time.Score <= 0)
        {
            return verdict + " It lies outside the investigation's time window.";
        }
        var strongest = strategies.Where(s => s.Score > 0).OrderByDescending(s => s.Score * s.Weight).FirstOrDefault();
        return strongest is null ? verdict : $"{verdict} Strongest reason: {strongest.Reason}";
    }

    // ----- time -----

    private StrategyScore ScoreTime(Investigation investigation, Event ev, EventKind kind)
    {
        var detected = investigation.DetectedAt;
        var anchor = investigation.StartedAt is { } started && started <= detected ? started : detected;
        // A change does its harm when it is deployed, which can be days later: commits and CI runs look further back.
        var isChange = kind is EventKind.Commit or EventKind.CiFailure;
        var lookBack = isChange ? options.ChangeLookBack : options.LookBack;
        var windowStart = anchor - lookBack;
        var end = investigation.ResolvedAt ?? detected + options.MaxAge;
        var t = ev.Timestamp;
        if (t < windowStart)
        {
            return Score(Time, 0, $"It happened {Span(anchor - t)} before the impact began, outside the {Span(lookBack)} look-back window{(isChange ? " for commits and CI runs" : "")}.");
        }
        if (t > end)
        {
            return Score(Time, 0, investigation.ResolvedAt is not null
                ? $"It happened {Span(t - end)} after the investigation was resolved."
                : $"It happened {Span(t - detected)} after detection; after {Span(options.MaxAge)} an open investigation stops absorbing events.");
        }
        if (t <= anchor)
        {
            var score = 0.5 + 0.5 * (1 - (anchor - t).TotalSeconds / lookBack.TotalSeconds);
            return Score(Time, score, anchor == t
                ? "It happened exactly when the impact began."
                : $"It happened {Span(anchor - t)} before the impact began{(anchor < detected ? "" : " (detection)")}.");
        }
        if (t <= detected)
        {
            return Score(Time, 1, $"It happened during the impact, {Span(detected - t)} before detection.");
        }
        var fraction = (t - detected).TotalSeconds / Math.Max(1, (end - detected).TotalSeconds);
        return Score(Time, 0.8 - 0.5 * fraction, $"It happened {Span(t - detected)} after detection, while the incident was open.");
    }

    // ----- component and service -----

    private static StrategyScore ScoreComponent(Investigation investigation, EventFacts facts, ServiceCatalog catalog)
    {
        var affected = catalog.Resolve(investigation.ComponentAffected);
        var affectedName = affected?.Name ?? investigation.ComponentAffected?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(affectedName) && string.IsNullOrEmpty(investigation.ServiceAffected))
        {
            return Score(ComponentStrategy, 0, "The investigation names no affected component or service.");
        }
        if (facts.Components.Count == 0 && facts.Services.Count == 0)
        {
            return Score(ComponentStrategy, 0, "The event names no component, repository path or pipeline known to the catalog.");
        }
        var best = Score(ComponentStrategy, 0, $"The event concerns {string.Join(", ", facts.Components.Select(c => c.Name).DefaultIfEmpty("no known component"))}, unrelated to {affectedName ?? investigation.ServiceAffected}.");
        if (affectedName is not null)
        {
            var neighbourhood = catalog.Neighbourhood(affectedName, 3);
            foreach (var (name, via) in facts.Components)
            {
                if (name == affectedName)
                {
                    return Score(ComponentStrategy, 1, $"The event concerns {affectedName}, the affected component ({via}).");
                }
                foreach (var (neighbour, hops, direction) in neighbourhood.Where(n => n.Name == name))
                {
                    var (score, relation) = direction == ServiceCatalog.Dependency
                        ? (hops switch { 1 => 0.7, 2 => 0.45, _ => 0.25 }, $"{affectedName} depends on it")
                        : (hops switch { 1 => 0.35, 2 => 0.2, _ => 0.1 }, $"it depends on {affectedName}");
                    if (score > best.Score)
                    {
                        best = Score(ComponentStrategy, score,
                            $"The event concerns {neighbour} ({via}); {relation}, {hops} dependency hop{(hops == 1 ? "" : "s")} away.");
                    }
                }
            }
        }
        if (best.Score < 0.5 && investigation.ServiceAffected is { Length: > 0 } service
            && facts.Services.Contains(service.Trim().ToLowerInvariant()))
        {
            best = Score(ComponentStrategy, 0.5, $"The event belongs to the affected service {service.Trim().ToLowerInvariant()}.");
        }
        return best;
    }

    // ----- tags -----

    private static StrategyScore ScoreTags(Investigation investigation, Event ev)
    {
        var mine = investigation.Tags.Select(t => t.ToLowerInvariant()).ToHashSet();
        var theirs = ev.Tags.Select(t => t.ToLowerInvariant()).ToHashSet();
        if (mine.Count == 0 || theirs.Count == 0)
        {
            return Score(Tags, 0, mine.Count == 0 ? "The investigation has no tags." : "The event has no tags.");
        }
        var shared = mine.Intersect(theirs).Order(StringComparer.Ordinal).ToList();
        if (shared.Count == 0)
        {
            return Score(Tags, 0, "They share no tags.");
        }
        return Score(Tags, (double)shared.Count / Math.Min(mine.Count, theirs.Count), $"They share the tag{(shared.Count == 1 ? "" : "s")} {string.Join(", ", shared)}.");
    }

    // ----- source evidence -----

    private StrategyScore ScoreEvidence(Investigation investigation, Event ev, EventFacts facts, double componentScore)
    {
        var detected = investigation.DetectedAt;
        var before = ev.Timestamp <= detected;
        var related = componentScore > 0;
        var (score, reason) = facts.Kind switch
        {
            EventKind.Deployment when before && detected - ev.Timestamp <= options.DeployHorizon =>
                (1.0, $"A deployment {Span(detected - ev.Timestamp)} before detection."),
            EventKind.Deployment => (before ? 0.5 : 0.2, before ? "A deployment, but more than " + Span(options.DeployHorizon) + " before detection." : "A deployment after detection."),
            EventKind.Commit when facts.Paths.Count > 0 && before =>
                (0.8, $"A commit changing {facts.Paths[0]}{(facts.Paths.Count > 1 ? $" and {facts.Paths.Count - 1} more file(s)" : "")} before detection."),
            EventKind.Commit => (before ? 0.55 : 0.25, before ? "A commit before detection." : "A commit after detection."),
            EventKind.CiFailure => (before ? 0.7 : 0.4, $"A failed CI run{(facts.Pipeline is { } p ? $" of {p}" : "")}{(before ? " before detection" : " after detection")}."),
            EventKind.ErrorSpike => (before ? 0.85 : 0.5, $"An error spike{(before ? " starting before detection" : " after detection")}."),
            EventKind.MetricAnomaly => (before ? 0.8 : 0.45, $"A metric anomaly{(before ? " starting before detection" : " after detection")}."),
            EventKind.TraceProblem => (before ? 0.75 : 0.45, $"Failing or slow spans{(before ? " before detection" : " after detection")}."),
            _ => (0.0, "No source-specific evidence for this kind of event."),
        };
        if (score > 0 && !related)
        {
            return Score(Evidence, Math.Round(score * 0.2, 4), reason + " It does not concern the affected component or its dependencies, so it counts little.");
        }
        return Score(Evidence, score, reason);
    }

    private static StrategyScore Score(string strategy, double score, string reason) =>
        new(strategy, Math.Round(Math.Clamp(score, 0, 1), 4), 0, reason);

    private static string Span(TimeSpan span)
    {
        span = span.Duration();
        if (span.TotalMinutes < 1)
        {
            return $"{Math.Round(span.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s";
        }
        if (span.TotalHours < 2)
        {
            return $"{Math.Round(span.TotalMinutes).ToString(CultureInfo.InvariantCulture)} min";
        }
        return span.TotalDays < 2
            ? $"{Math.Round(span.TotalHours, 1).ToString(CultureInfo.InvariantCulture)} h"
            : $"{Math.Round(span.TotalDays, 1).ToString(CultureInfo.InvariantCulture)} days";
    }
}

/// <summary>The kinds of evidence the scorer tells apart.</summary>
public enum EventKind
{
    Other,
    Commit,
    Deployment,
    CiFailure,
    ErrorSpike,
    MetricAnomaly,
    TraceProblem,
}

/// <summary>What an event says about where and what, read from its type, data and metadata.</summary>
public sealed record EventFacts(EventKind Kind, IReadOnlyList<(string Name, string Via)> Components, IReadOnlySet<string> Services, IReadOnlyList<string> Paths, string? Pipeline)
{
    public static EventFacts From(Event ev, ServiceCatalog catalog)
    {
        using var data = Parse(ev.Data);
        using var metadata = Parse(ev.Metadata);
        var components = new List<(string, string)>();
        var services = new HashSet<string>(StringComparer.Ordinal);

        void AddComponent(Component? component, string via)
        {
            if (component is not null && components.All(c => c.Item1 != component.Name))
            {
                components.Add((component.Name, via));
                if (component.Service is { } s)
                {
                    services.Add(s);
                }
            }
        }

        foreach (var (name, key) in NamedComponents(data).Concat(NamedComponents(metadata)))
        {
            var resolved = catalog.Resolve(name);
            AddComponent(resolved, resolved is not null && resolved.Name != name.Trim().ToLowerInvariant() ? $"named as its alias {name}" : $"named in {key}");
            if (resolved is null && key.Contains("service", StringComparison.Ordinal))
            {
                services.Add(name.Trim().ToLowerInvariant());
            }
        }

        var repository = Text(data, "repository") ?? Text(data, "repo");
        var paths = Strings(data, "files").Concat(Strings(data, "changed_paths")).Concat(Strings(data, "paths")).Distinct(StringComparer.Ordinal).ToList();
        if (repository is not null)
        {
            foreach (var path in paths)
            {
                foreach (var owner in catalog.ForPath(repository, path))
                {
                    AddComponent(owner, $"changes {path} in {repository}");
                }
            }
            if (paths.Count == 0)
            {
                foreach (var owner in catalog.ForRepository(repository))
                {
                    AddComponent(owner, $"in its repository {repository}");
                }
            }
        }
        var pipeline = Text(data, "workflow") ?? Text(data, "pipeline") ?? Text(data, "job");
        AddComponent(catalog.ForPipeline(pipeline), $"built by its pipeline {pipeline}");
        // Tags last: the more specific clues above name the reason when both apply.
        foreach (var tag in ev.Tags)
        {
            AddComponent(catalog.Resolve(tag), $"tagged {tag}");
        }

        return new EventFacts(Classify(ev, data), components, services, paths, pipeline);
    }

    private static EventKind Classify(Event ev, JsonDocument? data)
    {
        var type = ev.EventType.ToLowerInvariant();
        var conclusion = (Text(data, "conclusion") ?? Text(data, "status") ?? "").ToLowerInvariant();
        return ev.Source switch
        {
            EventSource.Git when type.Contains("deploy", StringComparison.Ordinal) => EventKind.Deployment,
            EventSource.Git => EventKind.Commit,
            EventSource.Ci when type.Contains("deploy", StringComparison.Ordinal) => EventKind.Deployment,
            EventSource.Ci when type.Contains("fail", StringComparison.Ordinal) || conclusion is "failure" or "failed" or "timed_out" => EventKind.CiFailure,
            EventSource.Logs when type.Contains("spike", StringComparison.Ordinal) || type.Contains("error", StringComparison.Ordinal) => EventKind.ErrorSpike,
            EventSource.Metrics when type.Contains("anomal", StringComparison.Ordinal) || type.Contains("alert", StringComparison.Ordinal) || type.Contains("threshold", StringComparison.Ordinal) => EventKind.MetricAnomaly,
            EventSource.Traces when type.Contains("error", StringComparison.Ordinal) || type.Contains("slow", StringComparison.Ordinal) || type.Contains("latency", StringComparison.Ordinal) => EventKind.TraceProblem,
            _ => EventKind.Other,
        };
    }

    private static readonly string[] ComponentKeys = ["component", "service", "service_name", "service.name", "app", "job"];

    /// <summary>Component names at the top level of data/metadata, or in its labels, attributes or resource (Prometheus, Alertmanager, OpenTelemetry shapes).</summary>
    private static IEnumerable<(string Name, string Key)> NamedComponents(JsonDocument? doc)
    {
        if (doc?.RootElement.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }
        var scopes = new List<(JsonElement Element, string Prefix)> { (doc.RootElement, "") };
        foreach (var nested in new[] { "labels", "attributes", "resource" })
        {
            if (doc.RootElement.TryGetProperty(nested, out var inner) && inner.ValueKind == JsonValueKind.Object)
            {
                scopes.Add((inner, nested + "."));
            }
        }
        foreach (var (element, prefix) in scopes)
        {
            foreach (var key in ComponentKeys)
            {
                if (element.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } name)
                {
                    yield return (name, prefix + key);
                }
            }
        }
    }

    private static JsonDocument? Parse(string json)
    {
        try
        {
            return JsonDocument.Parse(string.IsNullOrEmpty(json) ? "{}" : json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonDocument? doc, string key) =>
        doc?.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(key, out var value)
        && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    private static IEnumerable<string> Strings(JsonDocument? doc, string key) =>
        doc?.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)
            : [];
}
