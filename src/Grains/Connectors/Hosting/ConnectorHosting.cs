using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RootCause.Common;

namespace RootCause.Connectors;

public static class ConnectorHosting
{
    /// <summary>
    /// The connectors themselves on top of the common base: the ingest path, the webhook receiver,
    /// and the dead-letter parsers of their payload formats.
    /// </summary>
    public static IServiceCollection AddRootCauseConnectorKinds(this IServiceCollection services)
    {
        services.AddSingleton<ConnectorIngest>();
        services.AddSingleton<WebhookReceiver>();
        services.AddSingleton<IWebhookReceiver>(sp => sp.GetRequiredService<WebhookReceiver>());
        services.AddSingleton<Logs.LogsIngest>();
        services.AddSingleton<Logs.LogsPuller>();
        services.AddSingleton<Logs.LogsReceiver>();
        services.AddSingleton<ILogsReceiver>(sp => sp.GetRequiredService<Logs.LogsReceiver>());
        services.AddSingleton<TelemetryReceiver>();
        services.AddSingleton<ITelemetryReceiver>(sp => sp.GetRequiredService<TelemetryReceiver>());
        services.AddSingleton(sp => new Metrics.PrometheusClient(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<Metrics.PrometheusPoller>();
        services.AddSingleton(sp => new Traces.JaegerTraces(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<TelemetryPollers>();
        services.AddHostedService<DeadLetterFormats>();
        return services;
    }

    /// <summary>
    /// <c>Connectors:File</c>: a JSON file <c>{"connectors": [{"name": "…", "kind": "…", …}]}</c>
    /// whose connectors are created or replaced when the silo starts (others are left alone). A file
    /// that cannot be read or holds an invalid connector stops the start with a message naming it.
    /// </summary>
    public static IHostApplicationBuilder AddConnectorsFile(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Configuration["Connectors:File"] is { Length: > 0 } path)
        {
            builder.Services.AddHostedService(sp => new ConnectorsFileLoader(path, sp.GetRequiredService<IGrainFactory>(),
                sp.GetRequiredService<ILogger<ConnectorsFileLoader>>()));
        }
        return builder;
    }

    /// <summary>Reads a connectors file and applies every connector in it; returns how many.</summary>
    public static async Task<int> ApplyFileAsync(string path, IGrainFactory grains, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ConnectorsFile? file;
        try
        {
            await using var stream = File.OpenRead(path);
            file = await JsonSerializer.DeserializeAsync<ConnectorsFile>(stream, RootCauseJson.Options, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new InvalidOperationException($"The connectors file {path} cannot be read: {e.Message}", e);
        }
        if (file?.Connectors is not { } entries)
        {
            throw new InvalidOperationException($"The connectors file {path} has no \"connectors\" list.");
        }
        var duplicate = entries.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"The connectors file {path} names connector '{duplicate.Key}' twice.");
        }
        // Validate everything first: a file is applied whole or not at all.
        for (var i = 0; i < entries.Count; i++)
        {
            try
            {
                ConnectorRules.Validate(entries[i].Name ?? "", entries[i].ToConfig());
            }
            catch (ValidationFailedException e)
            {
                var problems = string.Join("; ", e.Errors.SelectMany(kv => kv.Value.Select(m => $"{kv.Key}: {m}")));
                throw new InvalidOperationException($"The connectors file {path} is not valid: connectors[{i}] ({entries[i].Name}): {problems}", e);
            }
        }
        foreach (var entry in entries)
        {
            await grains.GetGrain<IConnectorGrain>(entry.Name!).PutAsync(entry.ToConfig());
        }
        return entries.Count;
    }

    private sealed record ConnectorsFile(List<ConnectorFileEntry>? Connectors);

    private sealed record ConnectorFileEntry
    {
        public string? Name { get; init; }
        public ConnectorKind? Kind { get; init; }
        public bool Enabled { get; init; } = true;
        public string? Repository { get; init; }
        public string? Path { get; init; }
        public string? Branch { get; init; }
        public TimeSpan? PollInterval { get; init; }
        public TimeSpan? InitialLookback { get; init; }
        public string? CommitUrl { get; init; }
        public string? Secret { get; init; }
        public bool KeepSuccesses { get; init; }
        public LogsInput? Input { get; init; }
        public string? Url { get; init; }
        public string? Query { get; init; }
        public string? Index { get; init; }
        public string? Service { get; init; }
        public double? SpikeFactor { get; init; }
        public int? SpikeMinCount { get; init; }
        public LogErrorsKept? KeepErrors { get; init; }
        public int? PageSize { get; init; }
        public List<MetricQuery>? Queries { get; init; }
        public TimeSpan? Step { get; init; }
        public TimeSpan? Lookback { get; init; }
        public double? Sensitivity { get; init; }
        public TimeSpan? SlowThreshold { get; init; }
        public double? SlowFactor { get; init; }
        public int? SampleLimit { get; init; }
        public List<string>? Services { get; init; }

        public ConnectorConfig ToConfig() => new()
        {
            Kind = Kind,
            Enabled = Enabled,
            Repository = Repository,
            Path = Path,
            Branch = Branch,
            PollInterval = PollInterval,
            InitialLookback = InitialLookback,
            CommitUrl = CommitUrl,
            Secret = Secret,
            KeepSuccesses = KeepSuccesses,
            Input = Input,
            Url = Url,
            Query = Query,
            Index = Index,
            Service = Service,
            SpikeFactor = SpikeFactor,
            SpikeMinCount = SpikeMinCount,
            KeepErrors = KeepErrors,
            PageSize = PageSize,
            Queries = Queries,
            Step = Step,
            Lookback = Lookback,
            Sensitivity = Sensitivity,
            SlowThreshold = SlowThreshold,
            SlowFactor = SlowFactor,
            SampleLimit = SampleLimit,
            Services = Services,
        };
    }

    private sealed class ConnectorsFileLoader(string path, IGrainFactory grains, ILogger<ConnectorsFileLoader> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var count = await ApplyFileAsync(path, grains, cancellationToken);
            logger.LogInformation("Connectors loaded from {Path}: {Count} connectors", path, count);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Registers the connectors' dead-letter formats with the replayer when the silo starts.</summary>
    private sealed class DeadLetterFormats(DeadLetterParsers parsers) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            parsers.Register(WebhookEnvelope.GitHubKind, WebhookEnvelope.Replay);
            parsers.Register(WebhookEnvelope.GitLabKind, WebhookEnvelope.Replay);
            parsers.Register(GitCommitDeadLetter.Kind, GitCommitDeadLetter.Replay);
            parsers.Register(Logs.LogLineDeadLetter.Kind, Logs.LogLineDeadLetter.Replay);
            parsers.Register(Metrics.AlertmanagerWebhook.DeadLetterKind, Metrics.AlertmanagerWebhook.Replay);
            parsers.Register(TelemetryReceiver.OtlpDeadLetterKind, TelemetryReceiver.ReplayTraces);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
