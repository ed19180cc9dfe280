using System.Net;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Traces;

[Collection(ConnectorSiloCollection.Name)]
public sealed class TelemetryConfigTests(ConnectorSiloFixture silo)
{
    [Fact]
    public async Task ObservabilityConfigsGet400NamingEveryFieldAtFaultAndDefaultsWhenValid()
    {
        var (prometheus, problem, _) = await silo.Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/bad-prom", """
            {"kind":"prometheus","url":"ftp://prom","step":"00:00:00","queries":[{"name":"cpu usage"},{"query":"up","above":1}],"services":["x"],"path":"/srv"}
            """);
        Assert.Equal(HttpStatusCode.BadRequest, prometheus);
        Assert.Equal(["path", "queries[0].name", "queries[0].query", "services", "step", "url"], problem.ErrorFields());

        var (jaeger, jaegerProblem, _) = await silo.Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/bad-jaeger",
            """{"kind":"jaeger","slow_factor":0.5,"sample_limit":0,"secret":"hunter2"}""");
        Assert.Equal(HttpStatusCode.BadRequest, jaeger);
        Assert.Equal(["sample_limit", "secret", "services", "slow_factor", "url"], jaegerProblem.ErrorFields());
        Assert.DoesNotContain("hunter2", jaegerProblem!.ToJsonString(), StringComparison.Ordinal);

        var (otlp, otlpProblem, _) = await silo.Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/bad-otlp",
            """{"kind":"otlp","url":"http://x","poll_interval":"00:05:00","queries":[]}""");
        Assert.Equal(HttpStatusCode.BadRequest, otlp);
        Assert.Equal(["poll_interval", "queries", "url"], otlpProblem.ErrorFields());

        var (git, gitProblem, _) = await silo.Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/bad-git",
            """{"kind":"github","secret":"env:X","url":"http://x","slow_threshold":"00:00:02"}""");
        Assert.Equal(HttpStatusCode.BadRequest, git);
        Assert.Equal(["slow_threshold", "url"], gitProblem.ErrorFields());

        // A logs connector reads a url (Loki, Elasticsearch) but nothing else of the telemetry kinds.
        var (logs, logsProblem, _) = await silo.Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/bad-logs",
            """{"kind":"logs","input":"loki","url":"http://loki:3100","query":"{app=\"x\"}","queries":[{"name":"cpu","query":"up"}],"sensitivity":3,"services":["x"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, logs);
        Assert.Equal(["queries", "sensitivity", "services"], logsProblem.ErrorFields());

        var (created, info, _) = await silo.Http.SendAsync(HttpMethod.Put, "/api/admin/connectors/good-prom", """{"kind":"prometheus","url":"http://prom:9090/"}""");
        Assert.Equal(HttpStatusCode.Created, created);
        var config = info!["config"]!;
        Assert.Equal("http://prom:9090", (string)config["url"]!);
        Assert.Equal("00:00:30", (string)config["step"]!);
        Assert.Equal("01:00:00", (string)config["lookback"]!);
        Assert.Equal(5, (double)config["sensitivity"]!);
        Assert.Equal("00:01:00", (string)config["poll_interval"]!);
        Assert.True((bool)info["polling"]!);
    }
}
