using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RootCause.Events;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Connectors.Traces;

public static class TraceEvents
{
    /// <summary>The event a problem trace folds into (its dedup key is <c>trace:&lt;trace id&gt;</c>), or null.</summary>
    public static async Task<JsonNode?> ForTraceAsync(HttpClient http, string traceId)
    {
        var id = EventKeys.IdForDedupKey(EventSource.Traces, $"trace:{traceId}");
        var (status, body, _) = await http.GetJsonAsync($"/api/events/{id}");
        return status == HttpStatusCode.OK ? body : null;
    }

    public static string Fixture(string name) => File.ReadAllText(Path.Combine(Payloads.FixturesDirectory, "traces", name));
}

/// <summary>
/// A stand-in upstream on a loopback port: answers each request with what the test gives for its
/// path and records the requests. Used where the real server cannot run here (Jaeger is not packaged).
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeUpstream(WebApplication app) => _app = app;

    public List<string> Requests { get; } = [];

    public string Url => _app.Urls.First();

    public static async Task<FakeUpstream> StartAsync(Func<HttpRequest, (int Status, string Body)> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var upstream = new FakeUpstream(app);
        app.Run(async context =>
        {
            lock (upstream.Requests)
            {
                upstream.Requests.Add(context.Request.Path + context.Request.QueryString);
            }
            var (status, body) = answer(context.Request);
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body);
        });
        await app.StartAsync();
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
