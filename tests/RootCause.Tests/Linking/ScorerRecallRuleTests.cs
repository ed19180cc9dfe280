using RootCause.Catalog;
using RootCause.Events;
using RootCause.Investigations;
using RootCause.Linking;

namespace RootCause.Tests.Linking;

/// <summary>
/// The scorer's rules for changes that are far from the incident in the catalog's terms or in
/// time: a tag standing in for the affected component or service, a directory named after a
/// component, the latest deployment of the affected component. Pure: no silo, no database.
/// </summary>
public sealed class ScorerRecallRuleTests
{
    private static readonly DateTimeOffset Detected = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly ServiceCatalog Catalog = new(new CatalogSnapshot
    {
        Version = 7,
        Components =
        [
            new Component { Name = "notification-service", Service = "notifications", Aliases = ["notifier"], Repositories = ["shop/notifications"], PathPrefixes = ["service/"], DependsOn = ["email-relay"] },
            new Component { Name = "email-relay", Service = "notifications", Aliases = ["smtp-relay"], Repositories = ["shop/notifications"], PathPrefixes = ["relay/"] },
            new Component { Name = "fulfilment-service", Service = "fulfilment", Aliases = ["fulfilment"], Repositories = ["shop/fulfilment"], PathPrefixes = ["fulfilment/"] },
            new Component { Name = "search-api", Service = "search", Repositories = ["shop/search"] },
            new Component { Name = "platform-dns", Service = "platform", Repositories = ["shop/platform-infra"], PathPrefixes = ["k8s/dns/"] },
        ],
    });

    private static readonly LinkScorer Scorer = new(new LinkerOptions());

    private static Investigation Incident(string? component, string? service, params string[] tags) => new()
    {
        Id = Guid.NewGuid(),
        Title = "Customers get no order confirmations",
        ComponentAffected = component,
        ServiceAffected = service,
        DetectedAt = Detected,
        StartedAt = Detected.AddMinutes(-30),
        Tags = tags,
    };

    private static Event Ev(EventSource source, string type, DateTimeOffset at, string data) => new()
    {
        Id = Guid.NewGuid(),
        Source = source,
        EventType = type,
        SourceId = Guid.NewGuid().ToString("N"),
        Timestamp = at,
        Data = data,
    };

    private static StrategyScore Strategy(LinkAssessment a, string name) => a.Strategies.Single(s => s.Strategy == name);

    private static Event NotifierDeployment(int minutes) =>
        Ev(EventSource.Git, "deployment", Detected.AddMinutes(minutes), """{"repository":"shop/notifications","service":"notification-service","environment":"production"}""");

    // ----- a tag stands in for the affected component or service -----

    [Fact]
    public void ATagNamingACatalogServiceStandsInWhenTheInvestigationNamesNoComponentOrService()
    {
        var incident = Incident(null, null, "support", "notifications", "email");
        var a = Scorer.Assess(incident, NotifierDeployment(-40), Catalog);
        Assert.Equal(LinkDecision.Link, a.Decision);
        var component = Strategy(a, LinkScorer.ComponentStrategy);
        // A component of a service of two: 0.9, as when the investigation names the service itself.
        Assert.Equal(0.9, component.Score);
        Assert.Contains("a component of the affected service notifications", component.Reason, StringComparison.Ordinal);
        Assert.Contains("its tag notifications names the service notifications, which stands in for it", component.Reason, StringComparison.Ordinal);

        var spike = Ev(EventSource.Logs, "error_spike", Detected.AddMinutes(-25), """{"service":"notification-service","message":"TypeError"}""");
        Assert.Equal(LinkDecision.Link, Scorer.Assess(incident, spike, Catalog).Decision);
    }

    [Fact]
    public void ATagNamingAComponentOrAliasStandsInForTheAffectedComponent()
    {
        var a = Scorer.Assess(Incident(null, null, "notifier"), NotifierDeployment(-40), Catalog);
        var component = Strategy(a, LinkScorer.ComponentStrategy);
        Assert.Equal(1, component.Score);
        Assert.Contains("notification-service, the affected component", component.Reason, StringComparison.Ordinal);
        Assert.Contains("its tag notifier names the component notification-service", component.Reason, StringComparison.Ordinal);
        Assert.Equal(LinkDecision.Link, a.Decision);
    }

    [Fact]
    public void TagsDoNotStandInWhenTheInvestigationNamesAComponentOrService()
    {
        var a = Scorer.Assess(Incident("search-api", "search", "notifications"), NotifierDeployment(-40), Catalog);
        Assert.Equal(LinkDecision.None, a.Decision);
        Assert.DoesNotContain("stands in", Strategy(a, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);

        var untagged = Scorer.Assess(Incident(null, null, "email", "support"), NotifierDeployment(-40), Catalog);
        Assert.Equal(0, Strategy(untagged, LinkScorer.ComponentStrategy).Score);
        Assert.Contains("none of its tags names one the catalog knows", Strategy(untagged, LinkScorer.ComponentStrategy).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TheLinkersLookupFindsTheChangesOfTheComponentsATagStandsInFor()
    {
        var incident = Incident(null, null, "notifications");
        Assert.Equal(new Affected(null, "notifications", "notifications"), LinkNames.AffectedOf(incident, Catalog));
        var keys = LinkNames.IndexKeys(incident, Catalog);
        Assert.Contains("c:notification-service", keys);
        Assert.Contains("c:email-relay", keys);
        Assert.Contains("r:shop/notifications", keys);
        Assert.Contains("notifications", LinkNames.For(incident, Catalog));
    }

    // ----- the latest deployment of the affected component -----

    private static Event FulfilmentDeployment(double hours, string environment = "production", string service = "fulfilment-service") =>
        Ev(EventSource.Git, "deployment", Detected.AddHours(hours), $$"""{"repository":"shop/fulfilment","service":"{{service}}","environment":"{{environment}}"}""");

    private static EventFacts Facts(Event ev, params Event[] stored) =>
        DeploymentLookup.WithDeployment(EventFacts.From(ev, Catalog), [ev, .. stored], Catalog, ev);

    [Fact]
    public void TheLatestDeploymentOfTheAffectedComponentBeforeTheImpactIsTheFirstSuspectHoursLater()
    {
        var incident = Incident("fulfilment-service", "fulfilment");
        var release = FulfilmentDeployment(-9);
        var a = Scorer.Assess(incident, release, Facts(release), Catalog);
        Assert.Equal(LinkDecision.Link, a.Decision);
        var evidence = Strategy(a, LinkScorer.Evidence);
        Assert.Equal(0.75, evidence.Score);
        Assert.Contains("A deployment 9 h before detection, the latest of the affected component before the impact began: nothing of it was deployed since, so it is the first suspect.", evidence.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ALaterProductionDeploymentOfTheComponentBeforeTheImpactTakesOverAsTheLatest()
    {
        var incident = Incident("fulfilment-service", "fulfilment");
        var release = FulfilmentDeployment(-9);
        var later = FulfilmentDeployment(-3);
        var facts = Facts(release, later);
        Assert.Equal(later.Timestamp, facts.NextDeploymentAt);
        var a = Scorer.Assess(incident, release, facts, Catalog);
        Assert.Equal(0.5, Strategy(a, LinkScorer.Evidence).Score);
        Assert.Contains("running for a while before the impact", Strategy(a, LinkScorer.Evidence).Reason, StringComparison.Ordinal);
        Assert.NotEqual(LinkDecision.Link, a.Decision);

        // A staging deployment, another component's, or one after the impact began takes nothing over.
        Assert.Null(Facts(release, FulfilmentDeployment(-3, environment: "staging")).NextDeploymentAt);
        Assert.Null(Facts(release, FulfilmentDeployment(-3, service: "search-api") with { Data = """{"repository":"shop/search","environment":"production"}""" }).NextDeploymentAt);
        var afterImpact = Facts(release, FulfilmentDeployment(-0.25));
        Assert.NotNull(afterImpact.NextDeploymentAt);
        Assert.Equal(LinkDecision.Link, Scorer.Assess(incident, release, afterImpact, Catalog).Decision);
    }

    [Fact]
    public void OnlyTheAffectedComponentsOwnDeploymentWithinADayIsTheFirstSuspect()
    {
        // Older than a day: running for a while.
        var old = FulfilmentDeployment(-30);
        Assert.Equal(0.3, Strategy(Scorer.Assess(Incident("fulfilment-service", "fulfilment"), old, Facts(old), Catalog), LinkScorer.Evidence).Score);

        // A deployment of a component of the affected service, not of the affected component: no.
        var serviceOnly = Incident(null, "notifications");
        var notifier = NotifierDeployment(-9 * 60);
        var a = Scorer.Assess(serviceOnly, notifier, Facts(notifier), Catalog);
        Assert.Equal(0.9, Strategy(a, LinkScorer.ComponentStrategy).Score);
        Assert.Equal(0.5, Strategy(a, LinkScorer.Evidence).Score);

        // In staging: no.
        var staging = FulfilmentDeployment(-9, environment: "staging");
        Assert.Equal(0.5, Strategy(Scorer.Assess(Incident("fulfilment-service", "fulfilment"), staging, Facts(staging), Catalog), LinkScorer.Evidence).Score);
    }

    // ----- a directory named after a component or service -----

    private static Event PlatformCommit(int minutes, params string[] files) =>
        Ev(EventSource.Git, "commit", Detected.AddMinutes(minutes),
            $$"""{"repository":"shop/platform-infra","branch":"main","files":[{{string.Join(",", files.Select(f => $"\"{f}\""))}}]}""");

    [Fact]
    public void AFileNoPrefixOwnsIsAttributedToTheServiceItsDirectoryIsNamedAfter()
    {
        var commit = PlatformCommit(-35, "k8s/secrets/notifications/smtp-credentials.sops.yaml");
        var facts = EventFacts.From(commit, Catalog);
        Assert.Equal(["notification-service", "email-relay"], facts.Components.Select(c => c.Name));
        Assert.True(facts.ByDirectoryName.SetEquals(["notification-service", "email-relay"]));

        var a = Scorer.Assess(Incident("notification-service", "notifications"), commit, Catalog);
        Assert.Equal(LinkDecision.Link, a.Decision);
        var component = Strategy(a, LinkScorer.ComponentStrategy);
        // Weaker than a path prefix: 0.9 of the affected component's 1.
        Assert.Equal(0.9, component.Score);
        Assert.Contains("changes k8s/secrets/notifications/smtp-credentials.sops.yaml in shop/platform-infra, in a directory named after its service notifications", component.Reason, StringComparison.Ordinal);

        // A directory named after a component or its alias: that component alone, as weakly.
        var relay = EventFacts.From(PlatformCommit(-35, "k8s/secrets/smtp-relay/password.yaml"), Catalog);
        Assert.Equal(["email-relay"], relay.Components.Select(c => c.Name));
        Assert.Contains("in a directory named after it", relay.Components[0].Via, StringComparison.Ordinal);
    }

    [Fact]
    public void APathPrefixOrTheFileNameOutweighsADirectoryName()
    {
        // k8s/dns/ is platform-dns's prefix: a directory named after a service below it changes nothing.
        var owned = EventFacts.From(PlatformCommit(-35, "k8s/dns/notifications/zone.yaml"), Catalog);
        Assert.Equal(["platform-dns"], owned.Components.Select(c => c.Name));
        Assert.Empty(owned.ByDirectoryName);
        // Only directories count, not the file's own name.
        Assert.Empty(EventFacts.From(PlatformCommit(-35, "k8s/secrets/notifications.yaml"), Catalog).Components);
        // Nothing named after a catalog entry: nothing.
        Assert.Empty(EventFacts.From(PlatformCommit(-35, "k8s/secrets/misc/token.yaml"), Catalog).Components);
    }
}
