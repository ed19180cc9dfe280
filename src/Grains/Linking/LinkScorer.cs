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

    public LinkerOptions Options => options;

    /// <summary>
    /// How old the latest deployment of the affected component before the impact can be and still
    /// be its first suspect: a latent bug (a date, a batch, a load) can wait for hours after a release.
    /// </summary>
    public static readonly TimeSpan LatestDeploymentHorizon = TimeSpan.FromDays(1);

    public LinkAssessment Assess(Investigation investigation, Event ev, ServiceCatalog catalog) =>
        Assess(investigation, ev, EventFacts.From(ev, catalog), catalog);

    /// <summary>The same, with the event's facts read once for scoring it against many investigations.</summary>
    /// <remarks>
    /// <paramref name="corroboration"/>: the investigation's linked or suggested symptoms of the
    /// components a change touched (<see cref="Corroboration"/>); a change followed by its own
    /// component's symptoms counts as close to the incident.
    /// </remarks>
    public LinkAssessment Assess(Investigation investigation, Event ev, EventFacts facts, ServiceCatalog catalog, IReadOnlyList<Corroborator>? corroboration = null)
    {
        var time = ScoreTime(investigation, ev, facts.IsChange);
        var component = ScoreComponent(investigation, facts, catalog, DuringImpact(investigation, ev, facts));
        if (facts.IsChange && component.Score < CorroboratedScore && corroboration is { Count: > 0 }
            && Corroborated(investigation, ev, facts, catalog, corroboration) is { } corroborated
            && corroborated.Score > component.Score)
        {
            component = corroborated;
        }
        var tags = ScoreTags(investigation, ev);
        // A component score of 1: the event concerns the affected component itself.
        var evidence = ScoreEvidence(investigation, ev, facts, component.Score, ofAffected: component.Score >= 1);
        var symptom = facts.IsSymptom;
        StrategyScore[] strategies =
        [
            time with { Weight = symptom ? options.SymptomTimeWeight : options.TimeWeight },
            component with { Weight = options.ComponentWeight },
            evidence with { Weight = symptom ? options.SymptomEvidenceWeight : options.EvidenceWeight },
            tags with { Weight = options.TagWeight },
        ];
        var (factor, environmentReason) = EnvironmentFactor(investigation, facts);
        var confidence = time.Score <= 0 ? 0 : Math.Clamp(strategies.Sum(s => s.Score * s.Weight) * factor, 0, 1);
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
            Linked = ev.InvestigationIds.Contains(investigation.Id),
            Strategies = strategies,
            Summary = ReasonText.Silenced ? "" : Summarize(confidence, decision, time, strategies) + (environmentReason is null ? "" : " " + environmentReason),
            CatalogVersion = catalog.Version,
        };
    }

    /// <summary>
    /// The full assessment of a pair that links or suggests, or of any pair when <paramref name="always"/>
    /// (it holds a link record to update); null for the rest. The decision is reached first without
    /// the reasons, which are most of the cost, and the pairs kept are scored again with them: the
    /// same code gives the same confidence both times.
    /// </summary>
    public LinkAssessment? AssessIfKept(Investigation investigation, Event ev, EventFacts facts, ServiceCatalog catalog,
        IReadOnlyList<Corroborator>? corroboration, bool always) =>
        always || Quietly(investigation, ev, facts, catalog, corroboration).Decision != LinkDecision.None
            ? Assess(investigation, ev, facts, catalog, corroboration)
            : null;

    /// <summary>The confidence of a pair, reached without writing any reason.</summary>
    public double ConfidenceOf(Investigation investigation, Event ev, EventFacts facts, ServiceCatalog catalog, IReadOnlyList<Corroborator>? corroboration = null) =>
        Quietly(investigation, ev, facts, catalog, corroboration).Confidence;

    /// <summary>An assessment whose reasons and summary are empty (see <see cref="ReasonText"/>).</summary>
    private LinkAssessment Quietly(Investigation investigation, Event ev, EventFacts facts, ServiceCatalog catalog, IReadOnlyList<Corroborator>? corroboration)
    {
        var silenced = ReasonText.Silenced;
        ReasonText.Silenced = true;
        try
        {
            return Assess(investigation, ev, facts, catalog, corroboration);
        }
        finally
        {
            ReasonText.Silenced = silenced;
        }
    }

    private string Summarize(double confidence, LinkDecision decision, StrategyScore time, StrategyScore[] strategies)
    {
        var verdict = decision switch
        {
            LinkDecision.Link => Say($"Confidence {confidence:0.00}: at or above {options.LinkThreshold:0.00}, so it is linked automatically."),
            LinkDecision.Suggest => Say($"Confidence {confidence:0.00}: between {options.SuggestThreshold:0.00} and {options.LinkThreshold:0.00}, so it is suggested for a responder to accept or reject."),
            _ => Say($"Confidence {confidence:0.00}: below {options.SuggestThreshold:0.00}, so it is not linked."),
        };
        if (time.Score <= 0)
        {
            return verdict + " It lies outside the investigation's time window.";
        }
        var strongest = strategies.Where(s => s.Score > 0).OrderByDescending(s => s.Score * s.Weight).FirstOrDefault();
        return strongest is null ? verdict : Say($"{verdict} Strongest reason: {strongest.Reason}");
    }

    // ----- time -----

    private StrategyScore ScoreTime(Investigation investigation, Event ev, bool isChange)
    {
        var detected = investigation.DetectedAt;
        var anchor = Corroboration.ImpactStart(investigation);
        // A change does its harm when it is deployed, which can be days later: commits and CI runs look further back.
        var lookBack = isChange ? options.ChangeLookBack : options.LookBack;
        var windowStart = anchor - lookBack;
        var end = investigation.ResolvedAt ?? detected + options.MaxAge;
        var t = ev.Timestamp;
        if (t < windowStart)
        {
            return Score(Time, 0, Say($"It happened {Span(anchor - t)} before the impact began, outside the {Span(lookBack)} look-back window{(isChange ? " for changes (commits, CI runs, deployments)" : "")}."));
        }
        if (t > end)
        {
            return Score(Time, 0, investigation.ResolvedAt is not null
                ? Say($"It happened {Span(t - end)} after the investigation was resolved.")
                : Say($"It happened {Span(t - detected)} after detection; after {Span(options.MaxAge)} an open investigation stops absorbing events."));
        }
        if (t <= anchor)
        {
            var score = 0.5 + 0.5 * (1 - (anchor - t).TotalSeconds / lookBack.TotalSeconds);
            return Score(Time, score, anchor == t
                ? "It happened exactly when the impact began."
                : Say($"It happened {Span(anchor - t)} before the impact began{(anchor < detected ? "" : " (detection)")}."));
        }
        if (t <= detected)
        {
            return Score(Time, 1, Say($"It happened during the impact, {Span(detected - t)} before detection."));
        }
        var fraction = (t - detected).TotalSeconds / Math.Max(1, (end - detected).TotalSeconds);
        return Score(Time, 0.8 - 0.5 * fraction, Say($"It happened {Span(t - detected)} after detection, while the incident was open."));
    }

    // ----- component and service -----

    /// <summary>
    /// What a component the event concerns only through a directory named after it (or its service)
    /// counts for, against one a path prefix, a name or a pipeline gives: the discount the scorer
    /// already takes when only a service, not a component, is known.
    /// </summary>
    public const double DirectoryNameScale = 0.9;

    /// <summary>The component score of a change to shared infrastructure: that of a direct dependency.</summary>
    private const double SharedChangeScore = 0.8;

    /// <summary>A symptom that began between the start of impact and detection: the incident's own window.</summary>
    private static bool DuringImpact(Investigation investigation, Event ev, EventFacts facts) =>
        facts.IsSymptom
        && investigation.StartedAt is { } started && started < investigation.DetectedAt
        && ev.Timestamp >= started && ev.Timestamp <= investigation.DetectedAt;

    private static StrategyScore ScoreComponent(Investigation investigation, EventFacts facts, ServiceCatalog catalog, bool duringImpact)
    {
        // An investigation filed with tags only (by customer support, say): a tag that is exactly a
        // catalog component's or service's name stands in for the affected component or service.
        var named = LinkNames.AffectedOf(investigation, catalog);
        var affected = catalog.Resolve(named.Component);
        var affectedName = affected?.Name ?? named.Component?.Trim().ToLowerInvariant();
        var service = named.Service?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(affectedName) && string.IsNullOrEmpty(service))
        {
            return Score(ComponentStrategy, 0, "The investigation names no affected component or service, and none of its tags names one the catalog knows.");
        }
        var best = ScoreComponent(facts, catalog, duringImpact, affectedName, service);
        return named.Tag is { } tag && best.Score > 0
            ? best with { Reason = Say($"{best.Reason} The investigation names no affected component or service; its tag {tag} names the {(affectedName is null ? "service" : "component")} {affectedName ?? service}, which stands in for it.") }
            : best;
    }

    private static StrategyScore ScoreComponent(EventFacts facts, ServiceCatalog catalog, bool duringImpact, string? affectedName, string? service)
    {
        if (facts.Components.Count == 0 && facts.Services.Count == 0)
        {
            return Score(ComponentStrategy, 0, "The event names no component, repository path or pipeline known to the catalog.");
        }
        var best = Score(ComponentStrategy, 0, Say($"The event concerns {string.Join(", ", facts.Components.Select(c => c.Name).DefaultIfEmpty("no known component"))}, unrelated to {affectedName ?? service}."));

        // The components the incident is about: the named one, or, when only a service is named, the
        // service's components (a service of one component is that component).
        var targets = new List<(string Name, double Scale, string Label)>();
        if (!string.IsNullOrEmpty(affectedName))
        {
            targets.Add((affectedName, 1.0, "the affected component"));
        }
        else if (service is not null)
        {
            var ofService = catalog.OfService(service);
            foreach (var component in ofService)
            {
                targets.Add((component.Name, ofService.Count == 1 ? 1.0 : 0.9, Say($"a component of the affected service {service}")));
            }
        }
        foreach (var (target, scale, label) in targets)
        {
            var neighbourhood = catalog.Neighbourhood(target, LinkNames.Hops);
            foreach (var (name, via) in facts.Components)
            {
                var weight = facts.ByDirectoryName.Contains(name) ? scale * DirectoryNameScale : scale;
                if (name == target)
                {
                    var direct = Score(ComponentStrategy, weight, Say($"The event concerns {target}, {label} ({via})."));
                    if (direct.Score > best.Score)
                    {
                        best = direct;
                    }
                    continue;
                }
                foreach (var (neighbour, hops, direction) in neighbourhood.Where(n => n.Name == name))
                {
                    // A failing dependency explains the incident; a failing caller is mostly its echo.
                    // Inside the impact window a caller's symptom is the incident spreading, not noise.
                    var (score, relation) = direction == ServiceCatalog.Dependency
                        ? (hops switch { 1 => 0.8, 2 => 0.55, _ => 0.3 }, Say($"{target} depends on it"))
                        : duringImpact || facts.IsChange
                            ? (hops switch { 1 => 0.8, 2 => 0.55, _ => 0.3 }, facts.IsChange
                                ? Say($"it depends on {target}, and a change in a caller can break what it calls")
                                : Say($"it depends on {target}, and its symptom began inside the impact window"))
                            : (hops switch { 1 => 0.5, 2 => 0.3, _ => 0.15 }, Say($"it depends on {target}"));
                    if (score * weight > best.Score)
                    {
                        best = Score(ComponentStrategy, score * weight,
                            Say($"The event concerns {neighbour} ({via}); {relation}, {hops} dependency hop{(hops == 1 ? "" : "s")} away."));
                    }
                }
            }
        }
        // Shared infrastructure (cluster DNS, ingress, certificates) is everyone's dependency without
        // being listed: its changes are weighed as a direct dependency's. Its symptoms are not — its
        // routine errors are background to every incident, and only the graph can tie them to one.
        if (facts.IsChange && best.Score < SharedChangeScore && targets.Count > 0)
        {
            foreach (var (name, via) in facts.Components)
            {
                var sharedScore = facts.ByDirectoryName.Contains(name) ? SharedChangeScore * DirectoryNameScale : SharedChangeScore;
                if (catalog.Resolve(name) is { Shared: true } shared && !targets.Any(t => t.Name == shared.Name) && sharedScore > best.Score)
                {
                    best = Score(ComponentStrategy, sharedScore,
                        Say($"The event concerns {shared.Name} ({via}), shared infrastructure that {targets[0].Name}{(targets.Count > 1 ? " and the rest of its service" : "")} relies on like a direct dependency; a change to it can break anything."));
                    break;
                }
            }
        }
        if (best.Score < 0.5 && service is not null && facts.Services.Contains(service))
        {
            best = Score(ComponentStrategy, 0.5, Say($"The event belongs to the affected service {service}."));
        }
        return best;
    }

    /// <summary>The component score of a change whose component's own symptoms followed it inside the incident.</summary>
    private const double CorroboratedScore = 0.9;

    /// <summary>
    /// The component score of a change whose component's direct caller showed symptoms right after
    /// it inside the incident: one step removed from the change, so less than its own symptoms.
    /// </summary>
    private const double CallerCorroboratedScore = 0.8;

    /// <summary>
    /// The component strategy of a change that a symptom, linked to or suggested for this
    /// investigation and beginning inside the impact (at or after its start), followed within the
    /// corroboration window: a symptom of a component the change touched (0.9) or of a direct
    /// caller of one (0.8). The earliest symptom of the strongest kind names the reason. Null when
    /// none did. A symptom before the impact began is a precursor at best, noise at worst.
    /// A caller counts only when it lies upstream of the incident: something the affected component
    /// depends on (within <see cref="LinkNames.Hops"/>), not the affected component itself, whose
    /// symptoms are the incident and single out none of its dependencies, and not one of its
    /// callers, whose symptoms echo the incident rather than explain it.
    /// </summary>
    private StrategyScore? Corroborated(Investigation investigation, Event ev, EventFacts facts, ServiceCatalog catalog, IReadOnlyList<Corroborator> corroboration)
    {
        if (Corroboration.InEffectSince(ev, facts) is not { } since)
        {
            return null;
        }
        var impact = Corroboration.ImpactStart(investigation);
        var inWindow = corroboration
            .Where(c => c.At > since && c.At >= impact && c.At - since <= options.CorroborationWindow)
            .OrderBy(c => c.At).ThenBy(c => c.Status).ThenBy(c => c.EventId)
            .ToList();
        var relation = (Corroborator c) => c.Status == EventLinkStatus.Linked ? "linked to" : "suggested for";
        if (inWindow.FirstOrDefault(c => facts.Components.Any(f => f.Name == c.Component)) is { } own)
        {
            var via = facts.Components.First(f => f.Name == own.Component).Via;
            return Score(ComponentStrategy, CorroboratedScore,
                Say($"The event concerns {own.Component} ({via}), and {own.Component}'s own {own.What} began {Span(own.At - since)} after this change reached production; that {own.What} is {relation(own)} this investigation."));
        }
        var upstream = Upstream(investigation, catalog);
        foreach (var caller in inWindow.Where(c => upstream.Contains(c.Component)))
        {
            var callee = facts.Components.FirstOrDefault(f => catalog.Dependencies(caller.Component).Contains(f.Name));
            if (callee.Name is not null)
            {
                return Score(ComponentStrategy, CallerCorroboratedScore,
                    Say($"The event concerns {callee.Name} ({callee.Via}), which {caller.Component} calls directly, and {caller.Component}'s {caller.What} began {Span(caller.At - since)} after this change reached production; that {caller.What} is {relation(caller)} this investigation."));
            }
        }
        return null;
    }

    /// <summary>
    /// What the incident can have come from: the components the affected component depends on, or
    /// when the investigation names only a service, those its components depend on (outside it).
    /// </summary>
    private static HashSet<string> Upstream(Investigation investigation, ServiceCatalog catalog)
    {
        var named = LinkNames.AffectedOf(investigation, catalog);
        IReadOnlyList<Component> affected = catalog.Resolve(named.Component) is { } component ? [component] : catalog.OfService(named.Service);
        var upstream = new HashSet<string>(StringComparer.Ordinal);
        foreach (var start in affected)
        {
            upstream.UnionWith(catalog.Neighbourhood(start.Name, LinkNames.Hops).Where(n => n.Direction == ServiceCatalog.Dependency).Select(n => n.Name));
        }
        upstream.ExceptWith(affected.Select(c => c.Name));
        return upstream;
    }

    // ----- tags -----

    private static readonly StrategyScore InvestigationWithoutTags = Score(Tags, 0, "The investigation has no tags.");
    private static readonly StrategyScore EventWithoutTags = Score(Tags, 0, "The event has no tags.");

    private static StrategyScore ScoreTags(Investigation investigation, Event ev)
    {
        // Most pairs: one side has no tags (the strategy records are immutable, so one is shared).
        if (investigation.Tags.Count == 0)
        {
            return InvestigationWithoutTags;
        }
        if (ev.Tags.Count == 0)
        {
            return EventWithoutTags;
        }
        var mine = investigation.Tags.Select(t => t.ToLowerInvariant()).ToHashSet();
        var theirs = ev.Tags.Select(t => t.ToLowerInvariant()).ToHashSet();
        var shared = mine.Intersect(theirs).Order(StringComparer.Ordinal).ToList();
        if (shared.Count == 0)
        {
            return Score(Tags, 0, "They share no tags.");
        }
        return Score(Tags, (double)shared.Count / Math.Min(mine.Count, theirs.Count), Say($"They share the tag{(shared.Count == 1 ? "" : "s")} {string.Join(", ", shared)}."));
    }

    // ----- source evidence -----

    private StrategyScore ScoreEvidence(Investigation investigation, Event ev, EventFacts facts, double componentScore, bool ofAffected)
    {
        var detected = investigation.DetectedAt;
        var anchor = Corroboration.ImpactStart(investigation);
        var before = ev.Timestamp <= detected;
        var related = componentScore > 0;
        var age = anchor - ev.Timestamp;
        // A change that reached production only after the impact had begun cannot have caused it.
        var impactBegan = anchor < detected;
        var deployment = facts.ReleaseStep is { } step ? Say($"A CI job releasing to production ({step})") : "A deployment";
        var (score, reason) = facts.Kind switch
        {
            EventKind.Deployment when impactBegan && ev.Timestamp > anchor && before =>
                (0.2, Say($"{deployment} {Span(ev.Timestamp - anchor)} after the impact began, so it cannot have caused it.")),
            EventKind.Deployment when before && detected - ev.Timestamp <= options.DeployHorizon =>
                (1.0, Say($"{deployment} {Span(detected - ev.Timestamp)} before detection.")),
            EventKind.Deployment when before && detected - ev.Timestamp <= options.DeployHorizon * 3 =>
                (0.75, Say($"{deployment} {Span(detected - ev.Timestamp)} before detection.")),
            // The latest release of the affected component before the impact, with nothing of it
            // deployed since, is its first suspect even hours later (a latent bug waits for its input).
            EventKind.Deployment when ofAffected && before && ev.Timestamp <= anchor && detected - ev.Timestamp <= LatestDeploymentHorizon
                && facts.InProduction
                && (facts.NextDeploymentAt is not { } next || next > anchor) =>
                (0.75, Say($"{deployment} {Span(detected - ev.Timestamp)} before detection, the latest of the affected component before the impact began: nothing of it was deployed since, so it is the first suspect.")),
            EventKind.Deployment => before
                ? (detected - ev.Timestamp <= TimeSpan.FromDays(1) ? 0.5 : 0.3, Say($"{deployment} {Span(detected - ev.Timestamp)} before detection, running for a while before the impact."))
                : (0.2, Say($"{deployment} after detection.")),
            EventKind.Commit when facts.Branch is { } branch && !EventFacts.IsDeployedBranch(branch) =>
                (0.05, Say($"A commit on the branch {branch}, which is not a branch that gets deployed.")),
            EventKind.Commit when impactBegan && facts.DeployedAt is { } deployedDuring && deployedDuring > anchor && deployedDuring <= detected =>
                (0.2, Say($"A commit deployed {Span(deployedDuring - anchor)} after the impact began, so it cannot have caused it.")),
            // Deployed shortly before the impact: the strongest sign a change caused it.
            EventKind.Commit when facts.DeployedAt is { } deployed && deployed <= detected && anchor - deployed <= options.DeployHorizon =>
                (1.0, Say($"A commit{(facts.Paths.Count > 0 ? $" changing {facts.Paths[0]}" : "")}, deployed {Span((detected - deployed).Duration())} before detection.")),
            EventKind.Commit when facts.DeployedAt is { } recent && recent <= detected && anchor - recent <= options.DeployHorizon * 3 =>
                (0.85, Say($"A commit{(facts.Paths.Count > 0 ? $" changing {facts.Paths[0]}" : "")}, deployed {Span((detected - recent).Duration())} before detection.")),
            EventKind.Commit when facts.DeployedAt is { } deployedLate && deployedLate > detected =>
                (0.2, Say($"A commit deployed only {Span(deployedLate - detected)} after detection.")),
            // Committed after the impact began and not deployed before detection: it cannot have caused it.
            EventKind.Commit when ev.Timestamp > anchor =>
                (0.1, Say($"A commit made {Span(ev.Timestamp - anchor)} after the impact began, so it cannot have caused it.")),
            // A recent change is a far likelier cause than one that has been running for days without trouble.
            EventKind.Commit when facts.Paths.Count > 0 && before =>
                (age <= TimeSpan.FromDays(1) ? 0.8 : age <= TimeSpan.FromDays(3) ? 0.55 : 0.35,
                 Say($"A commit changing {facts.Paths[0]}{(facts.Paths.Count > 1 ? $" and {facts.Paths.Count - 1} more file(s)" : "")} {Span(age.Duration())} {(age >= TimeSpan.Zero ? "before the impact began" : "into the impact")}.")),
            EventKind.Commit => (before ? 0.55 : 0.25, before ? "A commit before detection." : "A commit after detection."),
            EventKind.CiFailure => (before ? 0.7 : 0.4, Say($"A failed CI run{(facts.Pipeline is { } p ? $" of {p}" : "")}{(before ? " before detection" : " after detection")}.")),
            // After detection a symptom no longer points at a cause, but it is still the incident's own.
            EventKind.ErrorSpike => (before ? 0.85 : 0.7, Say($"An error spike{(before ? " starting before detection" : " after detection, while the incident was open")}.")),
            EventKind.MetricAnomaly => (before ? 0.8 : 0.65, Say($"A metric anomaly{(before ? " starting before detection" : " after detection, while the incident was open")}.")),
            EventKind.TraceProblem => (before ? 0.75 : 0.65, Say($"Failing or slow spans{(before ? " before detection" : " after detection, while the incident was open")}.")),
            _ => (0.0, "No source-specific evidence for this kind of event."),
        };
        if (score > 0 && !related)
        {
            return Score(Evidence, Math.Round(score * 0.2, 4), reason + " It does not concern the affected component or its dependencies, so it counts little.");
        }
        return Score(Evidence, score, reason);
    }

    /// <summary>
    /// Events from another environment than the incident's (a staging deployment during a production
    /// incident) explain little whatever else they share: the factor the confidence is scaled by, and why.
    /// </summary>
    private static (double Factor, string? Reason) EnvironmentFactor(Investigation investigation, EventFacts facts)
    {
        if (facts.Environment is not { } environment || EventFacts.IsProduction(environment))
        {
            return (1, null);
        }
        var named = investigation.Tags.Any(t => t.Equals(environment, StringComparison.OrdinalIgnoreCase)
            || t.Equals("env:" + environment, StringComparison.OrdinalIgnoreCase));
        return named ? (1, null) : (0.4, Say($"It happened in {environment}, not in production where the incident is, so the confidence is scaled by 0.4."));
    }

    private static StrategyScore Score(string strategy, double score, string reason) =>
        new(strategy, Math.Round(Math.Clamp(score, 0, 1), 4), 0, reason);

    /// <summary>A reason's sentence: "" while reasons are silenced (see <see cref="ReasonText"/>).</summary>
    private static string Say(ref ReasonText text) => text.ToStringAndClear();

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
    /// <summary>A commit, a CI run or a deployment: something that changed, not a symptom.</summary>
    public bool IsChange => Kind is EventKind.Commit or EventKind.CiFailure or EventKind.Deployment;

    /// <summary>An error spike, a metric anomaly or failing or slow spans: how a failure shows, not what caused it.</summary>
    public bool IsSymptom => Kind is EventKind.ErrorSpike or EventKind.MetricAnomaly or EventKind.TraceProblem;

    /// <summary>The environment the event happened in, when it says (data, labels, resource, or an <c>env:</c> tag).</summary>
    public string? Environment { get; init; }

    /// <summary>In production, or not saying where (an event that names no environment counts as production).</summary>
    public bool InProduction => Environment is null || IsProduction(Environment);

    /// <summary>The branch a commit or CI run is on, when it says.</summary>
    public string? Branch { get; init; }

    /// <summary>The commit a commit, deployment or CI run names (<c>sha</c>), lower-case.</summary>
    public string? Sha { get; init; }

    /// <summary>
    /// For a commit: when it was first deployed (to production, or to an unnamed environment), if a
    /// deployment event naming its sha is known. Filled in by the caller from stored events
    /// (<see cref="DeploymentLookup"/>); null when none is known.
    /// </summary>
    public DateTimeOffset? DeployedAt { get; init; }

    /// <summary>
    /// For a production deployment: when the next production deployment of one of its components
    /// followed it (within <see cref="LinkScorer.LatestDeploymentHorizon"/>), if one is known. Filled
    /// in by the caller from stored events (<see cref="DeploymentLookup"/>); null when none is known.
    /// </summary>
    public DateTimeOffset? NextDeploymentAt { get; init; }

    /// <summary>
    /// Components the event concerns only because a changed file no path prefix owns lies in a
    /// directory named after them or their service: weaker than a path prefix (see
    /// <see cref="LinkScorer.DirectoryNameScale"/>).
    /// </summary>
    public IReadOnlySet<string> ByDirectoryName { get; init; } = new HashSet<string>();

    /// <summary>For a successful CI job that released to production (a deployment): the step that did.</summary>
    public string? ReleaseStep { get; init; }

    private static readonly string[] ProductionNames = ["production", "prod", "prd", "live"];
    private static readonly string[] DeployedBranchNames = ["main", "master", "trunk", "production", "prod", "stable", "live"];
    private static readonly string[] DeployedBranchPrefixes = ["release", "hotfix", "prod"];

    public static bool IsProduction(string environment) =>
        ProductionNames.Any(p => environment.Equals(p, StringComparison.OrdinalIgnoreCase)
            || environment.StartsWith(p + "-", StringComparison.OrdinalIgnoreCase));

    /// <summary>Branches that, by the usual conventions, are what gets deployed (default branches, release and hotfix branches).</summary>
    public static bool IsDeployedBranch(string branch)
    {
        var name = branch.StartsWith("refs/heads/", StringComparison.Ordinal) ? branch["refs/heads/".Length..] : branch;
        return DeployedBranchNames.Contains(name, StringComparer.OrdinalIgnoreCase)
            || DeployedBranchPrefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase));
    }

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

        // Workload names (Prometheus instance and pod labels, consumer groups, a span's downstream) carry
        // ports, replica hashes and ordinals: resolved only when a normalised form is in the catalog.
        foreach (var (name, key) in WorkloadNames(data).Concat(WorkloadNames(metadata)))
        {
            if (ResolveWorkload(catalog, name) is { } workload)
            {
                AddComponent(workload, key == "peer_service" ? $"it calls {workload.Name} (peer_service)" : $"its {key} {name}");
            }
        }

        var pipeline = Text(data, "workflow") ?? Text(data, "pipeline") ?? Text(data, "job");
        AddComponent(catalog.ForPipeline(pipeline), $"built by its pipeline {pipeline}");
        var repository = Text(data, "repository") ?? Text(data, "repo");
        var paths = Strings(data, "files").Concat(Strings(data, "changed_paths")).Concat(Strings(data, "paths")).Distinct(StringComparer.Ordinal).ToList();
        if (repository is not null)
        {
            foreach (var path in paths)
            {
                var owners = catalog.ForPath(repository, path);
                foreach (var owner in owners)
                {
                    AddComponent(owner, $"changes {path} in {repository}");
                }
                // A dependency or build manifest outside every component's paths (a lock file at the
                // root) changes what every component of the repository runs; documentation does not.
                if (owners.Count == 0 && IsSharedManifest(path))
                {
                    foreach (var owner in catalog.ForRepository(repository))
                    {
                        AddComponent(owner, $"changes {path}, a dependency manifest shared by {repository}");
                    }
                }
            }
            // A repository alone says little when it holds several components: only when nothing more
            // specific (a name, the pipeline, the changed paths) pointed at one.
            if (paths.Count == 0 && components.Count == 0)
            {
                foreach (var owner in catalog.ForRepository(repository))
                {
                    AddComponent(owner, $"in its repository {repository}");
                }
            }
        }
        // Tags last: the more specific clues above name the reason when both apply.
        foreach (var tag in ev.Tags)
        {
            AddComponent(catalog.Resolve(tag), $"tagged {tag}");
        }
        // A changed file no path prefix owns (a secret, a manifest kept in an infrastructure repository)
        // is attributed, more weakly, to the component or service its deepest directory named after
        // one is named after: k8s/secrets/notifications/ holds the notifications service's secrets.
        var byDirectory = new HashSet<string>(StringComparer.Ordinal);
        if (repository is not null)
        {
            foreach (var path in paths.Where(p => catalog.ForPath(repository, p).Count == 0 && !IsSharedManifest(p)))
            {
                foreach (var component in DirectoryNamed(catalog, path, out var directory))
                {
                    if (components.All(c => c.Item1 != component.Name))
                    {
                        AddComponent(component, component.Name == directory || component.Aliases.Contains(directory, StringComparer.OrdinalIgnoreCase)
                            ? $"changes {path} in {repository}, in a directory named after it"
                            : $"changes {path} in {repository}, in a directory named after its service {directory}");
                        byDirectory.Add(component.Name);
                    }
                }
            }
        }

        var (kind, release) = Classify(ev, data);
        return new EventFacts(kind, components, services, paths, pipeline)
        {
            Environment = EnvironmentOf(ev, data, metadata),
            Branch = BranchOf(data),
            Sha = (Text(data, "sha") ?? Text(data, "head_sha") ?? Text(data, "commit_sha"))?.Trim().ToLowerInvariant(),
            ReleaseStep = release,
            ByDirectoryName = byDirectory,
        };
    }

    /// <summary>
    /// The components the deepest directory of <paramref name="path"/> that is exactly a catalog
    /// component's name or alias (that component) or a service's name (its components) is named
    /// after; none when no directory is.
    /// </summary>
    public static IReadOnlyList<Component> DirectoryNamed(ServiceCatalog catalog, string path, out string directory)
    {
        var segments = path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = segments.Length - 2; i >= 0; i--)
        {
            directory = segments[i].ToLowerInvariant();
            if (catalog.Resolve(directory) is { } component)
            {
                return [component];
            }
            var ofService = catalog.OfService(directory);
            if (ofService.Count > 0)
            {
                return ofService;
            }
        }
        directory = "";
        return [];
    }

    /// <summary>
    /// Whether the linker reads a git or CI event as a deployment, from its type and data alone
    /// (no catalog): what the search index marks in <see cref="RootCause.Search.SearchFields.ChangeKind"/>.
    /// </summary>
    public static bool IsDeployment(Event ev)
    {
        if (ev.Source is not (EventSource.Git or EventSource.Ci))
        {
            return false;
        }
        using var data = Parse(ev.Data);
        return Classify(ev, data).Kind == EventKind.Deployment;
    }

    /// <summary>
    /// Whether the linker reads an event as a symptom (an error spike, a metric anomaly, failing or
    /// slow spans), from its source and type alone (no catalog, no data): what the search index
    /// keys in <see cref="RootCause.Search.SearchFields.LinkedSymptomKeys"/>.
    /// </summary>
    public static bool IsSymptomEvent(Event ev) =>
        ev.Source is EventSource.Logs or EventSource.Metrics or EventSource.Traces
        && Classify(ev, null).Kind is EventKind.ErrorSpike or EventKind.MetricAnomaly or EventKind.TraceProblem;

    /// <summary>The event's kind, and for a successful CI run that released to production (a deployment) what released.</summary>
    private static (EventKind Kind, string? Release) Classify(Event ev, JsonDocument? data)
    {
        var type = ev.EventType.ToLowerInvariant();
        var conclusion = (Text(data, "conclusion") ?? Text(data, "status") ?? "").ToLowerInvariant();
        if (ev.Source == EventSource.Ci && conclusion is "success" or "succeeded" or "passed" && !type.Contains("fail", StringComparison.Ordinal)
            && ReleaseSteps.Describe(Text(data, "step"), Text(data, "job"), Text(data, "stage"), Text(data, "environment")) is { } release)
        {
            return (EventKind.Deployment, release);
        }
        return (ev.Source switch
        {
            EventSource.Git when type.Contains("deploy", StringComparison.Ordinal) => EventKind.Deployment,
            EventSource.Git => EventKind.Commit,
            EventSource.Ci when type.Contains("deploy", StringComparison.Ordinal) => EventKind.Deployment,
            EventSource.Ci when type.Contains("fail", StringComparison.Ordinal) || conclusion is "failure" or "failed" or "timed_out" => EventKind.CiFailure,
            EventSource.Logs when type.Contains("spike", StringComparison.Ordinal) || type.Contains("error", StringComparison.Ordinal) => EventKind.ErrorSpike,
            EventSource.Metrics when type.Contains("anomal", StringComparison.Ordinal) || type.Contains("alert", StringComparison.Ordinal) || type.Contains("threshold", StringComparison.Ordinal) => EventKind.MetricAnomaly,
            EventSource.Traces when type.Contains("error", StringComparison.Ordinal) || type.Contains("slow", StringComparison.Ordinal) || type.Contains("latency", StringComparison.Ordinal) => EventKind.TraceProblem,
            _ => EventKind.Other,
        }, null);
    }

    /// <summary>Keys whose value names a component or service, at the top of data/metadata or in labels, attributes, resource.</summary>
    public static readonly string[] ComponentKeys = ["component", "service", "service_name", "service.name", "app", "job"];

    /// <summary>Keys whose value names a workload (resolved through <see cref="LinkNames.WorkloadVariants"/>).</summary>
    public static readonly string[] WorkloadKeys = ["instance", "pod", "container", "consumergroup", "deployment", "statefulset",
        "persistentvolumeclaim", "k8s.deployment.name", "k8s.pod.name", "peer_service", "peer.service"];

    private static IEnumerable<(string Name, string Key)> WorkloadNames(JsonDocument? doc)
    {
        if (doc?.RootElement.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }
        var scopes = new List<JsonElement> { doc.RootElement };
        foreach (var nested in new[] { "labels", "attributes", "resource" })
        {
            if (doc.RootElement.TryGetProperty(nested, out var inner) && inner.ValueKind == JsonValueKind.Object)
            {
                scopes.Add(inner);
            }
        }
        foreach (var scope in scopes)
        {
            foreach (var key in WorkloadKeys)
            {
                if (scope.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } name)
                {
                    yield return (name, key);
                }
            }
        }
    }

    /// <summary>
    /// A workload name as the catalog knows it: as given, without a port (<c>host:9100</c>), without
    /// a Kubernetes replica-set and pod suffix (<c>name-6d9f7c-x2k4p</c>, <c>name-f3356</c>), without a
    /// stateful-set ordinal (<c>name-0</c>) or a volume claim's prefix (<c>data-name-0</c>).
    /// </summary>
    public static Component? ResolveWorkload(ServiceCatalog catalog, string name) =>
        LinkNames.WorkloadVariants(name).Select(catalog.Resolve).FirstOrDefault(c => c is not null);

    private static string? EnvironmentOf(Event ev, JsonDocument? data, JsonDocument? metadata)
    {
        foreach (var doc in new[] { data, metadata })
        {
            if ((Text(doc, "environment") ?? Text(doc, "env")) is { } direct)
            {
                return direct;
            }
            if (doc?.RootElement.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            foreach (var (nested, key) in new[] { ("labels", "env"), ("labels", "environment"), ("resource", "deployment.environment"), ("attributes", "deployment.environment") })
            {
                if (doc.RootElement.TryGetProperty(nested, out var inner) && inner.ValueKind == JsonValueKind.Object
                    && inner.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } environment)
                {
                    return environment;
                }
            }
        }
        return ev.Tags.FirstOrDefault(t => t.StartsWith("env:", StringComparison.OrdinalIgnoreCase))?["env:".Length..];
    }

    private static readonly string[] ManifestNames =
    [
        "poetry.lock", "pyproject.toml", "requirements.txt", "pipfile.lock", "package.json", "package-lock.json", "yarn.lock",
        "pnpm-lock.yaml", "go.mod", "go.sum", "cargo.toml", "cargo.lock", "gemfile.lock", "pom.xml", "build.gradle",
        "build.gradle.kts", "directory.packages.props", "directory.build.props", "packages.lock.json", "dockerfile", "composer.lock",
    ];

    /// <summary>A file that decides what gets built or installed (lock files, dependency manifests, Dockerfiles).</summary>
    public static bool IsSharedManifest(string path)
    {
        var name = path.Replace('\\', '/').Split('/')[^1].ToLowerInvariant();
        return ManifestNames.Contains(name) || name.EndsWith(".csproj", StringComparison.Ordinal);
    }

    private static string? BranchOf(JsonDocument? data) =>
        Text(data, "branch") ?? (Text(data, "ref") is { } reference && reference.StartsWith("refs/heads/", StringComparison.Ordinal) ? reference["refs/heads/".Length..] : null);

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
