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
}
