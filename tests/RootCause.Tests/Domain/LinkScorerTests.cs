using RootCause.Catalog;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Linking;

namespace RootCause.Tests.Domain;

/// <summary>The scorer's strategies on hand-made pairs: each sub-score, its reason, and the decision.</summary>
public sealed class LinkScorerTests
{
    private static readonly DateTimeOffset Detected = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly ServiceCatalog Catalog = new(new CatalogSnapshot
    {
        Version = 3,
        Components =
        [
            new Component { Name = "checkout-api", Service = "checkout", Aliases = ["checkout-svc"], Repositories = ["shop/checkout"], PathPrefixes = ["src/"], Pipelines = ["checkout CI"], DependsOn = ["payments-gateway"] },
            new Component { Name = "payments-gateway", Service = "payments", Repositories = ["shop/payments"], DependsOn = ["payments-db"] },
            new Component { Name = "payments-db", Service = "payments" },
            new Component { Name = "storefront", Service = "shop", DependsOn = ["checkout-api"] },
            new Component { Name = "search-api", Service = "search", Repositories = ["shop/search"] },
            new Component { Name = "search-web", Service = "search-ui", DependsOn = ["search-api"] },
        ],
    });

    private static readonly LinkScorer Scorer = new(new LinkerOptions());

    private static Investigation Incident(DateTimeOffset? resolved = null) => new()
    {
        Id = Guid.NewGuid(),
        Title = "Checkout 502s",
        ComponentAffected = "checkout-api",
        ServiceAffected = "checkout",
        DetectedAt = Detected,
        StartedAt = Detected.AddMinutes(-10),
        ResolvedAt = resolved,
        Tags = ["payments", "deploy"],
    };

    private static Event Ev(EventSource source, string type, DateTimeOffset at, string data, params string[] tags) => new()
    {
        Id = Guid.NewGuid(),
        Source = source,
        EventType = type,
        SourceId = Guid.NewGuid().ToString("N"),
        Timestamp = at,
        Data = data,
        Tags = tags,
    };

    private static StrategyScore Strategy(LinkAssessment a, string name) => a.Strategies.Single(s => s.Strategy == name);

    /// <summary>A production deployment of checkout-api (the incident's component), <paramref name="minutes"/> from detection.</summary>
    private static Event CheckoutDeployment(int minutes, params string[] tags) =>
        Ev(EventSource.Git, "deployment", Detected.AddMinutes(minutes), """{"repository":"shop/checkout","environment":"production"}""", tags);

    [Fact]
    public void ADeploymentOfTheAffectedComponentJustBeforeDetectionIsLinked()
    {
        var a = Scorer.Assess(Incident(), CheckoutDeployment(-14, "deploy"), Catalog);
        Assert.Equal(LinkDecision.Link, a.Decision);
        Assert.Equal(1, Strategy(a, LinkScorer.ComponentStrategy).Score);
        Assert.Contains("checkout-api, the affected component", Strategy(a, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        Assert.Equal(1, Strategy(a, LinkScorer.Evidence).Score);
        Assert.Contains("14 min before detection", Strategy(a, LinkScorer.Evidence).Reason, StringComparison.Ordinal);
        Assert.Equal(3, a.CatalogVersion);
        Assert.Equal(Math.Round(a.Strategies.Sum(s => s.Score * s.Weight), 4), a.Confidence);
    }

    [Fact]
    public void AChangeDeployedAfterTheImpactBeganCannotHaveCausedIt()
    {
        // The incident's impact began 10 min before detection.
        var deployment = Scorer.Assess(Incident(), CheckoutDeployment(-6), Catalog);
        // Still the affected component's, inside the impact: a suggestion (a rollback or hotfix is part of the story), not a cause.
        Assert.Equal(LinkDecision.Suggest, deployment.Decision);
        Assert.Equal(0.2, Strategy(deployment, LinkScorer.Evidence).Score);
        Assert.Contains("A deployment 4 min after the impact began, so it cannot have caused it", Strategy(deployment, LinkScorer.Evidence).Reason, StringComparison.Ordinal);

        var commit = Ev(EventSource.Git, "commit", Detected.AddHours(-3), """{"repository":"shop/checkout","branch":"main","files":["src/pool.go"]}""");
        var shippedDuring = Scorer.Assess(Incident(), commit, EventFacts.From(commit, Catalog) with { DeployedAt = Detected.AddMinutes(-6) }, Catalog);
        Assert.Contains("A commit deployed 4 min after the impact began, so it cannot have caused it", Strategy(shippedDuring, LinkScorer.Evidence).Reason, StringComparison.Ordinal);
        Assert.NotEqual(LinkDecision.Link, shippedDuring.Decision);

        // Without a start of impact, detection is the line: the same deployment is the prime suspect.
        var noStart = Incident() with { StartedAt = null };
        var suspect = Scorer.Assess(noStart, CheckoutDeployment(-6), Catalog);
        Assert.Equal(LinkDecision.Link, suspect.Decision);
        Assert.Equal(1, Strategy(suspect, LinkScorer.Evidence).Score);
    }

    [Fact]
    public void ASuccessfulCiJobThatReleasesToProductionIsADeployment()
    {
        static Event Job(string step, string conclusion = "success") => Ev(EventSource.Ci, conclusion == "success" ? "ci_success" : "ci_failure", Detected.AddMinutes(-20),
            $$"""{"provider":"github_actions","repository":"shop/checkout","workflow":"checkout CI","job":"release","step":"{{step}}","conclusion":"{{conclusion}}","sha":"abc","branch":"main"}""");

        foreach (var step in new[] { "helm upgrade checkout charts/checkout", "terraform apply -auto-approve tfplan", "kubectl rollout restart deploy/checkout", "flagd-sync push --env production", "argocd app sync checkout" })
        {
            var facts = EventFacts.From(Job(step), Catalog);
            Assert.Equal(EventKind.Deployment, facts.Kind);
            Assert.Equal(step, facts.ReleaseStep);
            var a = Scorer.Assess(Incident(), Job(step), Catalog);
            Assert.Equal(LinkDecision.Link, a.Decision);
            Assert.Equal($"A CI job releasing to production ({step}) 20 min before detection.", Strategy(a, LinkScorer.Evidence).Reason);
        }
        // Builds, tests, plans and releases elsewhere change nothing in production.
        foreach (var step in new[] { "dotnet publish -c Release", "terraform plan -out tfplan", "terraform validate", "helm lint charts/*", "flagd-sync push --env staging", "docker build -t $IMAGE ." })
        {
            Assert.Equal(EventKind.Other, EventFacts.From(Job(step), Catalog).Kind);
        }
        // A job that deployed to the production environment (GitLab's environment of a job) is one too.
        var environment = Ev(EventSource.Ci, "ci_success", Detected.AddMinutes(-20),
            """{"provider":"gitlab_ci","repository":"shop/checkout","workflow":"checkout CI","job":"production","stage":"deploy","environment":"production","conclusion":"success"}""");
        Assert.Equal(EventKind.Deployment, EventFacts.From(environment, Catalog).Kind);
        Assert.Equal("A CI job releasing to production (job production, environment production) 20 min before detection.",
            Strategy(Scorer.Assess(Incident(), environment, Catalog), LinkScorer.Evidence).Reason);
        // A release job that failed is a failed CI run, as before.
        Assert.Equal(EventKind.CiFailure, EventFacts.From(Job("helm upgrade checkout charts/checkout", "failure"), Catalog).Kind);
    }

    [Fact]
    public void ACommitIsMatchedThroughItsChangedPaths()
    {
        var inside = Scorer.Assess(Incident(), Ev(EventSource.Git, "commit", Detected.AddMinutes(-40),
            """{"repository":"shop/checkout","files":["src/pay/client.go","README.md"]}"""), Catalog);
        Assert.Equal(1, Strategy(inside, LinkScorer.ComponentStrategy).Score);
        Assert.Contains("changes src/pay/client.go in shop/checkout", Strategy(inside, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        Assert.Equal(0.8, Strategy(inside, LinkScorer.Evidence).Score);

        var outside = Scorer.Assess(Incident(), Ev(EventSource.Git, "commit", Detected.AddMinutes(-40),
            """{"repository":"shop/checkout","files":["docs/guide.md"]}"""), Catalog);
        Assert.Equal(0, Strategy(outside, LinkScorer.ComponentStrategy).Score);
        Assert.Equal(LinkDecision.None, outside.Decision);
    }

    [Fact]
    public void ADependencyExplainsMoreWeaklyTheMoreHopsAway()
    {
        var gateway = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-5), """{"service":"payments-gateway"}"""), Catalog);
        var database = Scorer.Assess(Incident(), Ev(EventSource.Metrics, "latency_anomaly", Detected.AddMinutes(-5), """{"component":"payments-db"}"""), Catalog);
        // Before the impact began a caller's errors are its own trouble, or at most the incident's echo.
        var dependent = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-15), """{"component":"storefront"}"""), Catalog);
        Assert.Equal(0.8, Strategy(gateway, LinkScorer.ComponentStrategy).Score);
        Assert.Contains("checkout-api depends on it, 1 dependency hop away", Strategy(gateway, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        Assert.Equal(0.55, Strategy(database, LinkScorer.ComponentStrategy).Score);
        Assert.Contains("2 dependency hops", Strategy(database, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        Assert.Equal(0.5, Strategy(dependent, LinkScorer.ComponentStrategy).Score);
        Assert.True(gateway.Confidence > database.Confidence && database.Confidence > dependent.Confidence);
        // A direct dependency failing during the impact is linked; two hops away it is only suggested.
        Assert.Equal(LinkDecision.Link, gateway.Decision);
        Assert.Equal(LinkDecision.Suggest, database.Decision);
    }

    [Fact]
    public void ACallersSymptomInsideTheImpactWindowIsTheIncidentSpreading()
    {
        // Incident(): impact from 10 min before detection. storefront calls checkout-api.
        var during = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-5), """{"component":"storefront"}"""), Catalog);
        var before = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-15), """{"component":"storefront"}"""), Catalog);
        var after = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(5), """{"component":"storefront"}"""), Catalog);
        Assert.Equal(0.8, Strategy(during, LinkScorer.ComponentStrategy).Score);
        Assert.Contains("its symptom began inside the impact window", Strategy(during, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        Assert.Equal(LinkDecision.Link, during.Decision);
        Assert.Equal(0.5, Strategy(before, LinkScorer.ComponentStrategy).Score);
        Assert.Equal(0.5, Strategy(after, LinkScorer.ComponentStrategy).Score);
        Assert.NotEqual(LinkDecision.Link, before.Decision);
        Assert.NotEqual(LinkDecision.Link, after.Decision);

        // Without a start of impact there is no window to be inside.
        var noStart = Incident() with { StartedAt = null };
        var undated = Scorer.Assess(noStart, Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-5), """{"component":"storefront"}"""), Catalog);
        Assert.Equal(0.5, Strategy(undated, LinkScorer.ComponentStrategy).Score);
    }

    [Fact]
    public void ACallersChangeIsWeighedLikeADependencysChange()
    {
        var deploy = Scorer.Assess(Incident(), Ev(EventSource.Git, "deployment", Detected.AddMinutes(-30),
            """{"component":"storefront","environment":"production"}"""), Catalog);
        Assert.Equal(0.8, Strategy(deploy, LinkScorer.ComponentStrategy).Score);
        Assert.Contains("a change in a caller can break what it calls", Strategy(deploy, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        Assert.Equal(LinkDecision.Link, deploy.Decision);
    }

    [Fact]
    public void AChangeToSharedInfrastructureIsWeighedAsADirectDependencysButItsSymptomsAreNot()
    {
        var catalog = new ServiceCatalog(new CatalogSnapshot
        {
            Version = 4,
            Components =
            [
                .. Catalog.Components,
                new Component { Name = "coredns", Service = "platform", Aliases = ["kube-dns"], Repositories = ["shop/platform"], PathPrefixes = ["k8s/coredns/"], Shared = true },
            ],
        });
        var change = Scorer.Assess(Incident(), Ev(EventSource.Git, "commit", Detected.AddMinutes(-25),
            """{"repository":"shop/platform","files":["k8s/coredns/configmap.yaml"]}"""), catalog);
        Assert.Equal(0.8, Strategy(change, LinkScorer.ComponentStrategy).Score);
        Assert.Contains("coredns", Strategy(change, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        Assert.Contains("shared infrastructure that checkout-api relies on", Strategy(change, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        Assert.Equal(0.8, Strategy(change, LinkScorer.Evidence).Score);

        var symptom = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-5), """{"component":"kube-dns"}"""), catalog);
        Assert.Equal(0, Strategy(symptom, LinkScorer.ComponentStrategy).Score);
        Assert.Equal(LinkDecision.None, symptom.Decision);

        // The same commit, when the component is not marked shared, concerns nothing the incident depends on.
        var unmarked = new ServiceCatalog(new CatalogSnapshot
        {
            Version = 5,
            Components = [.. catalog.Components.Select(c => c with { Shared = false })],
        });
        var plain = Scorer.Assess(Incident(), Ev(EventSource.Git, "commit", Detected.AddMinutes(-25),
            """{"repository":"shop/platform","files":["k8s/coredns/configmap.yaml"]}"""), unmarked);
        Assert.Equal(0, Strategy(plain, LinkScorer.ComponentStrategy).Score);
    }

    [Fact]
    public void AnAliasAndAPipelineNameTheComponentToo()
    {
        var alias = Scorer.Assess(Incident(), Ev(EventSource.Traces, "span_error", Detected.AddMinutes(-2), """{"service":"checkout-svc","duration_ms":5400}"""), Catalog);
        Assert.Contains("alias checkout-svc", Strategy(alias, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        var ci = Scorer.Assess(Incident(), Ev(EventSource.Ci, "workflow_run", Detected.AddMinutes(-30), """{"workflow":"checkout CI","conclusion":"failure"}"""), Catalog);
        Assert.Equal(1, Strategy(ci, LinkScorer.ComponentStrategy).Score);
        Assert.Equal(0.7, Strategy(ci, LinkScorer.Evidence).Score);
        Assert.Contains("failed CI run of checkout CI", Strategy(ci, LinkScorer.Evidence).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTimeWindowGatesEverything()
    {
        var tooEarly = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddHours(-3), """{"component":"checkout-api"}"""), Catalog);
        Assert.Equal(0, tooEarly.Confidence);
        Assert.Equal(LinkDecision.None, tooEarly.Decision);
        Assert.Contains("outside the 2 h look-back window", Strategy(tooEarly, LinkScorer.Time).Reason, StringComparison.Ordinal);
        Assert.Contains("outside the investigation's time window", tooEarly.Summary, StringComparison.Ordinal);

        var afterResolution = Scorer.Assess(Incident(resolved: Detected.AddHours(1)), Ev(EventSource.Logs, "error_spike", Detected.AddHours(2), """{"component":"checkout-api"}"""), Catalog);
        Assert.Equal(0, afterResolution.Confidence);
        Assert.Contains("after the investigation was resolved", Strategy(afterResolution, LinkScorer.Time).Reason, StringComparison.Ordinal);

        var tooOld = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddDays(4), """{"component":"checkout-api"}"""), Catalog);
        Assert.Equal(0, tooOld.Confidence);
        Assert.Contains("stops absorbing events", Strategy(tooOld, LinkScorer.Time).Reason, StringComparison.Ordinal);

        var during = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-4), """{"component":"checkout-api"}"""), Catalog);
        Assert.Equal(1, Strategy(during, LinkScorer.Time).Score);
        var atWindowStart = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-10).AddHours(-2), """{"component":"checkout-api"}"""), Catalog);
        Assert.Equal(0.5, Strategy(atWindowStart, LinkScorer.Time).Score);
    }

    [Fact]
    public void UnrelatedEvidenceCountsLittleAndTagsAreExplained()
    {
        var other = Scorer.Assess(Incident(), Ev(EventSource.Git, "deployment", Detected.AddMinutes(-15), """{"repository":"shop/search"}""", "deploy", "payments"), Catalog);
        Assert.Equal(0, Strategy(other, LinkScorer.ComponentStrategy).Score);
        Assert.Equal(0.2, Strategy(other, LinkScorer.Evidence).Score);
        Assert.Contains("counts little", Strategy(other, LinkScorer.Evidence).Reason, StringComparison.Ordinal);
        Assert.Equal(1, Strategy(other, LinkScorer.Tags).Score);
        Assert.Equal("They share the tags deploy, payments.", Strategy(other, LinkScorer.Tags).Reason);
        Assert.Equal(LinkDecision.None, other.Decision);
    }

    [Fact]
    public void TagsCompareWithoutCaseAsAShareOfTheSmallerSet()
    {
        StrategyScore Tags(Investigation incident, params string[] tags) =>
            Strategy(Scorer.Assess(incident, Ev(EventSource.Git, "deployment", Detected.AddMinutes(-15), """{"repository":"shop/search"}""", tags), Catalog), LinkScorer.Tags);
        var incident = Incident();
        Assert.Equal((1.0, "They share the tag payments."), (Tags(incident, "PAYMENTS").Score, Tags(incident, "PAYMENTS").Reason));
        Assert.Equal((0.5, "They share the tag deploy."), (Tags(incident, "Deploy", "eu-west").Score, Tags(incident, "Deploy", "eu-west").Reason));
        Assert.Equal((0.0, "They share no tags."), (Tags(incident, "search").Score, Tags(incident, "search").Reason));
        Assert.Equal((0.0, "The event has no tags."), (Tags(incident).Score, Tags(incident).Reason));
        Assert.Equal((0.0, "The investigation has no tags."), (Tags(incident with { Tags = [] }, "payments").Score, Tags(incident with { Tags = [] }, "payments").Reason));
        // The same tag list scored again gives the same answer.
        var shared = new[] { "Payments", "DEPLOY", "x" };
        Assert.Equal(1.0, Tags(incident, shared).Score);
        Assert.Equal(1.0, Tags(incident, shared).Score);
        Assert.Equal("They share the tags deploy, payments.", Tags(incident, shared).Reason);
    }

    [Fact]
    public void CommitsLookFurtherBackThanOtherEvents()
    {
        var commit = Scorer.Assess(Incident(), Ev(EventSource.Git, "commit", Detected.AddDays(-2),
            """{"repository":"shop/checkout","files":["src/pool.go"]}"""), Catalog);
        Assert.True(Strategy(commit, LinkScorer.Time).Score > 0.5);
        var spike = Scorer.Assess(Incident(), Ev(EventSource.Logs, "error_spike", Detected.AddDays(-2), """{"component":"checkout-api"}"""), Catalog);
        Assert.Equal(0, spike.Confidence);
        var ancient = Scorer.Assess(Incident(), Ev(EventSource.Git, "commit", Detected.AddDays(-8),
            """{"repository":"shop/checkout","files":["src/pool.go"]}"""), Catalog);
        Assert.Contains("7 days look-back window for changes (commits, CI runs, deployments)", Strategy(ancient, LinkScorer.Time).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ComponentsAreFoundInLabelsResourceAttributesAndTags()
    {
        var alert = Scorer.Assess(Incident(), Ev(EventSource.Metrics, "alert_firing", Detected.AddMinutes(-3),
            """{"labels":{"alertname":"HighLatency","service":"payments-gateway"}}"""), Catalog);
        Assert.Contains("named in labels.service", Strategy(alert, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        var span = Scorer.Assess(Incident(), Ev(EventSource.Traces, "slow_span", Detected.AddMinutes(-3),
            """{"resource":{"service.name":"checkout-api"},"duration_ms":4200}"""), Catalog);
        Assert.Equal(1, Strategy(span, LinkScorer.ComponentStrategy).Score);
        var tagged = Scorer.Assess(Incident(), Ev(EventSource.Metrics, "latency_anomaly", Detected.AddMinutes(-3), """{"value":4.8}""", "checkout-api"), Catalog);
        Assert.Contains("tagged checkout-api", Strategy(tagged, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryStrategyAlwaysGivesAReason()
    {
        var bare = Scorer.Assess(new Investigation { Id = Guid.NewGuid(), Title = "t", DetectedAt = Detected }, Ev(EventSource.Manual, "note", Detected, "{}"), Catalog);
        Assert.Equal(4, bare.Strategies.Count);
        Assert.All(bare.Strategies, s => Assert.False(string.IsNullOrWhiteSpace(s.Reason)));
        Assert.Equal(1.0, bare.Strategies.Sum(s => s.Weight), 6);
    }

    [Fact]
    public void WorkloadNamesAreResolvedWithoutPortsReplicaHashesAndOrdinals()
    {
        var pod = Scorer.Assess(Incident(), Ev(EventSource.Metrics, "metric_anomaly", Detected.AddMinutes(-3),
            """{"labels":{"job":"kubernetes-pods","pod":"payments-gateway-6d9f7c-x2k4p"}}"""), Catalog);
        Assert.Contains("its pod payments-gateway-6d9f7c-x2k4p", Strategy(pod, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        var instance = Scorer.Assess(Incident(), Ev(EventSource.Metrics, "metric_anomaly", Detected.AddMinutes(-3),
            """{"labels":{"instance":"payments-db-0:9187"}}"""), Catalog);
        Assert.Contains("payments-db", Strategy(instance, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        var address = Scorer.Assess(Incident(), Ev(EventSource.Metrics, "metric_anomaly", Detected.AddMinutes(-3),
            """{"labels":{"instance":"10.0.4.7:9100"}}"""), Catalog);
        Assert.Equal(0, Strategy(address, LinkScorer.ComponentStrategy).Score);
        Assert.Equal(["payments-gateway"], LinkNames.WorkloadVariants("Payments-Gateway-6d9f7c-x2k4p:8080").Skip(2));
    }

    [Fact]
    public void AnotherEnvironmentScalesTheConfidenceDown()
    {
        var production = Scorer.Assess(Incident(), Ev(EventSource.Git, "deployment", Detected.AddMinutes(-14),
            """{"repository":"shop/checkout","environment":"production"}"""), Catalog);
        var staging = Scorer.Assess(Incident(), Ev(EventSource.Git, "deployment", Detected.AddMinutes(-14),
            """{"repository":"shop/checkout","environment":"staging"}"""), Catalog);
        Assert.Equal(Math.Round(production.Confidence * 0.4, 4), staging.Confidence, 3);
        Assert.Contains("It happened in staging, not in production", staging.Summary, StringComparison.Ordinal);
        Assert.Equal(LinkDecision.None, staging.Decision);
        Assert.Equal(LinkDecision.Link, production.Decision);
    }

    [Fact]
    public void ACommitIsWeighedByBranchDeploymentAndWhenItWasMade()
    {
        const string files = "\"files\":[\"src/pool.go\"]";
        var unmerged = Scorer.Assess(Incident(), Ev(EventSource.Git, "commit", Detected.AddHours(-3),
            $$"""{"repository":"shop/checkout","branch":"feature/pool",{{files}}}"""), Catalog);
        Assert.Contains("not a branch that gets deployed", Strategy(unmerged, LinkScorer.Evidence).Reason, StringComparison.Ordinal);
        Assert.NotEqual(LinkDecision.Link, unmerged.Decision);

        var old = Ev(EventSource.Git, "commit", Detected.AddDays(-2), $$"""{"repository":"shop/checkout","branch":"main","sha":"ABC123",{{files}}}""");
        var undeployed = Scorer.Assess(Incident(), old, Catalog);
        var facts = EventFacts.From(old, Catalog) with { DeployedAt = Detected.AddMinutes(-30) };
        Assert.Equal("abc123", facts.Sha);
        var deployed = Scorer.Assess(Incident(), old, facts, Catalog);
        Assert.Contains("deployed 30 min before detection", Strategy(deployed, LinkScorer.Evidence).Reason, StringComparison.Ordinal);
        Assert.Equal(1, Strategy(deployed, LinkScorer.Evidence).Score);
        Assert.True(deployed.Confidence > undeployed.Confidence);

        var during = Scorer.Assess(Incident(), Ev(EventSource.Git, "commit", Detected.AddMinutes(-5),
            $$"""{"repository":"shop/checkout",{{files}}}"""), Catalog);
        Assert.Contains("after the impact began, so it cannot have caused it", Strategy(during, LinkScorer.Evidence).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ASharedManifestConcernsEveryComponentOfItsRepositoryAndDocsDoNot()
    {
        var lockFile = Scorer.Assess(Incident(), Ev(EventSource.Git, "commit", Detected.AddHours(-5),
            """{"repository":"shop/checkout","files":["go.sum"]}"""), Catalog);
        Assert.Contains("a dependency manifest shared by shop/checkout", Strategy(lockFile, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        var docs = Scorer.Assess(Incident(), Ev(EventSource.Git, "commit", Detected.AddHours(-5),
            """{"repository":"shop/checkout","files":["docs/runbook.md"]}"""), Catalog);
        Assert.Equal(0, Strategy(docs, LinkScorer.ComponentStrategy).Score);
    }

    [Fact]
    public void AnInvestigationNamingOnlyAServiceLooksFromEachOfItsComponents()
    {
        var byService = new Investigation { Id = Guid.NewGuid(), Title = "Payments failing", ServiceAffected = "payments", DetectedAt = Detected, StartedAt = Detected.AddMinutes(-10) };
        var db = Scorer.Assess(byService, Ev(EventSource.Metrics, "metric_anomaly", Detected.AddMinutes(-5), """{"service":"payments-db"}"""), Catalog);
        Assert.Equal(0.9, Strategy(db, LinkScorer.ComponentStrategy).Score);
        Assert.Contains("a component of the affected service payments", Strategy(db, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        var search = new Investigation { Id = Guid.NewGuid(), Title = "Search down", ServiceAffected = "search", DetectedAt = Detected };
        var only = Scorer.Assess(search, Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-5), """{"service":"search-api"}"""), Catalog);
        Assert.Equal(1, Strategy(only, LinkScorer.ComponentStrategy).Score);
    }
    /// <summary>A production deployment of search-api (no dependency of checkout-api), <paramref name="minutes"/> from detection.</summary>
    private static Event SearchDeployment(int minutes) =>
        Ev(EventSource.Git, "deployment", Detected.AddMinutes(minutes), """{"repository":"shop/search","component":"search-api","environment":"production","sha":"abc123"}""");

    /// <summary>An error spike of search-api, as the investigation holds it.</summary>
    private static (Event Spike, Corroborator[] Held) SearchSpike(Investigation incident, int minutes, EventLinkStatus status)
    {
        var spike = Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(minutes), """{"service":"search-api","count":300}""");
        var link = new EventLink { InvestigationId = incident.Id, Status = status, Confidence = 0.7 };
        var held = Corroboration.ForChange(SearchDeployment(-60), EventFacts.From(SearchDeployment(-60), Catalog), [spike with { Links = [link] }], Catalog, TimeSpan.FromHours(3));
        return (spike, [.. held.GetValueOrDefault(incident.Id) ?? []]);
    }

    [Fact]
    public void AChangeFollowedByItsComponentsOwnSymptomsInTheIncidentIsCorroborated()
    {
        var incident = Incident();
        var deployment = SearchDeployment(-60);
        var alone = Scorer.Assess(incident, deployment, Catalog);
        Assert.Equal(LinkDecision.None, alone.Decision);
        Assert.Equal(0, Strategy(alone, LinkScorer.ComponentStrategy).Score);

        // search-api's own error spike began 52 min after the deployment and is suggested for the incident.
        var (_, held) = SearchSpike(incident, -8, EventLinkStatus.Suggested);
        Assert.Single(held);
        var corroborated = Scorer.Assess(incident, deployment, EventFacts.From(deployment, Catalog), Catalog, held);
        Assert.Equal(LinkDecision.Link, corroborated.Decision);
        var component = Strategy(corroborated, LinkScorer.ComponentStrategy);
        Assert.Equal(0.9, component.Score);
        Assert.Contains("search-api's own error spike began 52 min after this change reached production; that error spike is suggested for this investigation", component.Reason, StringComparison.Ordinal);
        // Related now, so its evidence counts in full.
        Assert.Equal(1, Strategy(corroborated, LinkScorer.Evidence).Score);
        Assert.Equal(Math.Round(corroborated.Strategies.Sum(s => s.Score * s.Weight), 4), corroborated.Confidence);
    }

    [Fact]
    public void OnlySymptomsAfterTheChangeAndInsideTheWindowCorroborateIt()
    {
        var incident = Incident();
        var deployment = SearchDeployment(-60);
        var facts = EventFacts.From(deployment, Catalog);
        var (_, before) = SearchSpike(incident, -61, EventLinkStatus.Linked);
        Assert.Empty(before); // began before the deployment: the lookup does not offer it
        var late = new Corroborator("search-api", Guid.NewGuid(), "error spike", deployment.Timestamp.AddHours(3).AddMinutes(1), EventLinkStatus.Linked);
        var otherComponent = new Corroborator("payments-db", Guid.NewGuid(), "error spike", deployment.Timestamp.AddMinutes(5), EventLinkStatus.Linked);
        var a = Scorer.Assess(incident, deployment, facts, Catalog, [late, otherComponent]);
        Assert.Equal(LinkDecision.None, a.Decision);
        Assert.DoesNotContain("reached production", Strategy(a, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);

        // A commit counts from when it was deployed; one whose deployment is unknown is not corroborated.
        var commit = Ev(EventSource.Git, "commit", Detected.AddDays(-1), """{"repository":"shop/search","sha":"abc123","branch":"main"}""");
        var inTime = new Corroborator("search-api", Guid.NewGuid(), "error spike", Detected.AddMinutes(-8), EventLinkStatus.Linked);
        var undeployed = Scorer.Assess(incident, commit, EventFacts.From(commit, Catalog), Catalog, [inTime]);
        Assert.Equal(LinkDecision.None, undeployed.Decision);
        var deployedFacts = DeploymentLookup.WithDeployment(EventFacts.From(commit, Catalog), [commit, deployment], Catalog);
        var deployed = Scorer.Assess(incident, commit, deployedFacts, Catalog, [inTime]);
        Assert.Equal(LinkDecision.Link, deployed.Decision);
        Assert.Contains("after this change reached production", Strategy(deployed, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
    }

    /// <summary>A production deployment of payments-db (two hops below checkout-api), <paramref name="minutes"/> from detection.</summary>
    private static Event PaymentsDbDeployment(int minutes) =>
        Ev(EventSource.Git, "deployment", Detected.AddMinutes(minutes), """{"component":"payments-db","environment":"production"}""");

    /// <summary>
    /// An error spike of <paramref name="component"/> 8 min before detection, linked to the incident:
    /// the change's lookup offers it, as the one corroborator, and it is returned.
    /// </summary>
    private static IReadOnlyList<Corroborator> LinkedSpikeFound(Investigation incident, Event change, string component)
    {
        var spike = Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-8), $$"""{"service":"{{component}}","count":300}""");
        var held = Corroboration.ForChange(change, EventFacts.From(change, Catalog),
            [spike with { Links = [new EventLink { InvestigationId = incident.Id, Status = EventLinkStatus.Linked, Confidence = 0.8 }] }], Catalog, TimeSpan.FromHours(3));
        var corroborators = held[incident.Id];
        Assert.Equal(component, Assert.Single(corroborators).Component);
        return corroborators;
    }

    [Fact]
    public void AChangeFollowedByItsDirectCallersSymptomsUpstreamOfTheIncidentIsCorroborated()
    {
        var incident = Incident();
        var deployment = PaymentsDbDeployment(-60);
        var facts = EventFacts.From(deployment, Catalog);
        var alone = Scorer.Assess(incident, deployment, Catalog);
        Assert.Equal(0.55, Strategy(alone, LinkScorer.ComponentStrategy).Score);
        Assert.NotEqual(LinkDecision.Link, alone.Decision);

        // payments-gateway calls payments-db and lies between it and checkout-api: its error spike,
        // 52 min after the deployment and inside the impact, is found by the change's lookup.
        var corroborators = LinkedSpikeFound(incident, deployment, "payments-gateway");
        var corroborated = Scorer.Assess(incident, deployment, facts, Catalog, corroborators);
        var component = Strategy(corroborated, LinkScorer.ComponentStrategy);
        Assert.Equal(0.8, component.Score);
        Assert.Contains("The event concerns payments-db (named in component), which payments-gateway calls directly, and payments-gateway's error spike began 52 min after this change reached production; that error spike is linked to this investigation.",
            component.Reason, StringComparison.Ordinal);
        Assert.True(corroborated.Confidence > alone.Confidence);
        Assert.Equal(LinkDecision.Link, corroborated.Decision);

        // A symptom of the changed component itself outweighs its caller's.
        var own = new Corroborator("payments-db", Guid.NewGuid(), "metric anomaly", Detected.AddMinutes(-5), EventLinkStatus.Suggested);
        Assert.Equal(0.9, Strategy(Scorer.Assess(incident, deployment, facts, Catalog, [.. corroborators, own]), LinkScorer.ComponentStrategy).Score);

        // The symptom changes which of what the caller calls can be corroborated, nothing else: the
        // caller's own symptom does not lift a change of a component it does not call.
        var searchDeployment = SearchDeployment(-60);
        var unrelated = Scorer.Assess(incident, searchDeployment, EventFacts.From(searchDeployment, Catalog), Catalog, corroborators);
        Assert.Equal(0, Strategy(unrelated, LinkScorer.ComponentStrategy).Score);
    }

    [Fact]
    public void ACallerThatIsNotUpstreamOfTheIncidentCorroboratesNothing()
    {
        // search-web calls search-api, but checkout-api does not depend on search-web: its symptoms,
        // even linked to the incident, say nothing about what search-api's deployment did to checkout.
        var incident = Incident();
        var deployment = SearchDeployment(-60);
        var facts = EventFacts.From(deployment, Catalog);
        var corroborators = LinkedSpikeFound(incident, deployment, "search-web");
        var a = Scorer.Assess(incident, deployment, facts, Catalog, corroborators);
        Assert.Equal(0, Strategy(a, LinkScorer.ComponentStrategy).Score);
        Assert.Equal(LinkDecision.None, a.Decision);

        // For an incident of search-web itself, search-api is its direct dependency (0.8 on that
        // alone); search-web's symptom, the incident's own, leaves that reason as it is.
        var searchIncident = new Investigation { Id = incident.Id, Title = "Search slow", ComponentAffected = "search-web", DetectedAt = Detected, StartedAt = Detected.AddMinutes(-10) };
        var forSearch = Scorer.Assess(searchIncident, deployment, facts, Catalog, corroborators);
        Assert.Contains("search-web depends on it", Strategy(forSearch, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("calls directly", Strategy(forSearch, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void WhatTheIndexMarksAsADeploymentOrASymptomIsWhatTheScorerReadsAsOne()
    {
        var deployment = CheckoutDeployment(-10);
        var release = Ev(EventSource.Ci, "ci_success", Detected.AddMinutes(-20),
            """{"repository":"shop/checkout","workflow":"checkout CI","job":"release","step":"helm upgrade checkout charts/checkout","conclusion":"success"}""");
        var build = Ev(EventSource.Ci, "ci_success", Detected.AddMinutes(-20), """{"repository":"shop/checkout","workflow":"checkout CI","job":"test","step":"go test ./...","conclusion":"success"}""");
        var failed = Ev(EventSource.Ci, "ci_failure", Detected.AddMinutes(-20), """{"repository":"shop/checkout","workflow":"checkout CI","conclusion":"failure"}""");
        var commit = Ev(EventSource.Git, "commit", Detected.AddMinutes(-30), """{"repository":"shop/checkout","sha":"abc"}""");
        var spike = Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-5), """{"service":"checkout-api","deployment":"checkout-api"}""");
        foreach (var ev in new[] { deployment, release, build, failed, commit, spike })
        {
            Assert.Equal(EventFacts.From(ev, Catalog).Kind == EventKind.Deployment, EventFacts.IsDeployment(ev));
            Assert.Equal(EventFacts.From(ev, Catalog).IsSymptom, EventFacts.IsSymptomEvent(ev));
        }
        Assert.True(EventFacts.IsSymptomEvent(spike));
        Assert.False(EventFacts.IsSymptomEvent(Ev(EventSource.Logs, "log_line", Detected, """{"service":"checkout-api"}""")));
        Assert.True(EventFacts.IsDeployment(deployment));
        Assert.True(EventFacts.IsDeployment(release));
        Assert.False(EventFacts.IsDeployment(build));
        Assert.False(EventFacts.IsDeployment(commit));
    }
}
