using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Metrics;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c> package) on a loopback port, with its own
/// temporary storage and a config scraping the given targets every second. Killed on dispose.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private PrometheusServer(Process process, string directory, string url)
    {
        _process = process;
        _directory = directory;
        Url = url;
    }

    public string Url { get; }

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static string? Binary =>
        new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists);

    /// <param name="jobs">Per job: its name, the target's host:port and metrics path, and the labels it carries (an <c>instance</c> label replaces the address).</param>
    /// <param name="rules">Alerting rules (a rule file's YAML) evaluated every second.</param>
    /// <param name="alertmanager">host:port of the Alertmanager the alerts go to.</param>
    public static async Task<PrometheusServer> StartAsync(IEnumerable<(string Job, string Target, string Path, IReadOnlyDictionary<string, string> Labels)> jobs,
        string? rules = null, string? alertmanager = null)
    {
        var binary = Binary ?? throw new InvalidOperationException(
            "prometheus is not installed: `apt-get install prometheus` (Debian 12 packages 2.42); .ci/run installs it.");
        var directory = Path.Combine(Path.GetTempPath(), $"rootcause-prometheus-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n";
        if (rules is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "rules.yml"), rules);
            config += $"rule_files: ['{Path.Combine(directory, "rules.yml")}']\n";
        }
        if (alertmanager is not null)
        {
            config += $"alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{alertmanager}']\n";
        }
        config += "scrape_configs:\n";
        foreach (var (job, target, path, labels) in jobs)
        {
            config += $"  - job_name: {job}\n    metrics_path: {path}\n    static_configs:\n      - targets: ['{target}']\n        labels:\n";
            config += string.Concat(labels.Select(l => $"          {l.Key}: '{l.Value}'\n"));
        }
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), config);
        var port = SiloPairFixture.FreePort();
        var process = await ServerProcess.StartAsync("prometheus", binary,
        [
            $"--config.file={Path.Combine(directory, "prometheus.yml")}",
            $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            $"--web.external-url=http://127.0.0.1:{port}", // what generator URLs name (else the host's name)
            "--log.level=warn",
            // Alerts go to Alertmanager at once rather than after the default minute.
            "--rules.alert.resend-delay=1s",
        ], $"http://127.0.0.1:{port}/-/ready", directory);
        var server = new PrometheusServer(process, directory, $"http://127.0.0.1:{port}");
        return server;
    }

    /// <summary>The value of an instant query (the first series), or null when it returns none.</summary>
    public async Task<double?> QueryAsync(string promql)
    {
        var body = JsonNode.Parse(await Http.GetStringAsync($"{Url}/api/v1/query?query={Uri.EscapeDataString(promql)}"))!;
        var first = body["data"]!["result"]!.AsArray().FirstOrDefault();
        return first is null ? null : double.Parse((string)first["value"]![1]!, CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await ServerProcess.StopAsync(_process, _directory);
    }
}

/// <summary>
/// A real Alertmanager (Debian's <c>prometheus-alertmanager</c> 0.25) on a loopback port, routing
/// every alert at once (group wait and interval 1 s) to one webhook URL, resolutions included.
/// </summary>
public sealed class AlertmanagerServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private AlertmanagerServer(Process process, string directory, string address)
    {
        _process = process;
        _directory = directory;
        Address = address;
    }

    /// <summary>host:port, as Prometheus' alerting config names it.</summary>
    public string Address { get; }

    public static string? Binary =>
        new[] { "/usr/bin/prometheus-alertmanager", "/usr/local/bin/alertmanager" }.FirstOrDefault(File.Exists);

    public static async Task<AlertmanagerServer> StartAsync(string webhookUrl)
    {
        var binary = Binary ?? throw new InvalidOperationException("prometheus-alertmanager is not installed: `apt-get install prometheus-alertmanager`; .ci/run installs it.");
        var directory = Path.Combine(Path.GetTempPath(), $"rootcause-alertmanager-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "alertmanager.yml"), $"""
            route:
              receiver: rootcause
              group_by: ['alertname', 'instance']
              group_wait: 1s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: rootcause
                webhook_configs:
                  - url: '{webhookUrl}'
                    send_resolved: true
            """);
        var port = SiloPairFixture.FreePort();
        var process = await ServerProcess.StartAsync("alertmanager", binary,
        [
            $"--config.file={Path.Combine(directory, "alertmanager.yml")}",
            $"--storage.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=", // no gossip port: a single instance
            "--log.level=warn",
        ], $"http://127.0.0.1:{port}/-/ready", directory);
        var server = new AlertmanagerServer(process, directory, $"127.0.0.1:{port}");
        return server;
    }

    public ValueTask DisposeAsync() => new(ServerProcess.StopAsync(_process, _directory));
}

/// <summary>A scrape target served by the test: each path answers the Prometheus text exposition of its current gauges.</summary>
public sealed class ScrapeTarget : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<string, Dictionary<string, double>> _gauges = [];

    private ScrapeTarget(WebApplication app) => _app = app;

    public string Address => new Uri(_app.Urls.First()).Authority;

    public static async Task<ScrapeTarget> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var target = new ScrapeTarget(app);
        app.Run(async context =>
        {
            string text;
            lock (target._gauges)
            {
                text = target._gauges.TryGetValue(context.Request.Path, out var gauges)
                    ? string.Concat(gauges.Select(g => $"# TYPE {g.Key} gauge\n{g.Key} {g.Value.ToString("R", CultureInfo.InvariantCulture)}\n"))
                    : "";
            }
            context.Response.ContentType = "text/plain; version=0.0.4";
            await context.Response.WriteAsync(text);
        });
        await app.StartAsync();
        return target;
    }

    public void Set(string path, string gauge, double value)
    {
        lock (_gauges)
        {
            if (!_gauges.TryGetValue(path, out var gauges))
            {
                _gauges[path] = gauges = [];
            }
            gauges[gauge] = value;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// A server binary of the Prometheus family run for a test: started with its output drained, ready once
/// its documented readiness endpoint (<c>/-/ready</c>) answers 200, and stopped with its working directory.
/// </summary>
internal static class ServerProcess
{
    public static async Task<Process> StartAsync(string name, string binary, IEnumerable<string> arguments, string readyUrl, string directory)
    {
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.ReturnsAsync(async () =>
        {
            try
            {
                return (await http.GetAsync(readyUrl)).StatusCode;
            }
            catch (HttpRequestException)
            {
                return HttpStatusCode.ServiceUnavailable;
            }
        }, s => s == HttpStatusCode.OK || process.HasExited, TimeSpan.FromSeconds(30));
        if (process.HasExited)
        {
            var code = process.ExitCode;
            await StopAsync(process, directory);
            throw new InvalidOperationException($"{name} exited with {code}.");
        }
        return process;
    }

    public static async Task StopAsync(Process process, string directory)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
