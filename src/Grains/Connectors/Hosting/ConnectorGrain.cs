using System.Text.Json;
using Microsoft.Extensions.Logging;
using RootCause.Common;
using RootCause.Connectors.Git;

namespace RootCause.Connectors;

/// <summary>The stored connector: config, cursor and last run.</summary>
public sealed class ConnectorState
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; }
    public ConnectorConfig? Config { get; set; }
    public long Version { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public ConnectorCursor? Cursor { get; set; }
    public ConnectorRun? LastRun { get; set; }
    public long Runs { get; set; }
}

/// <summary>
/// One connector (key: its name). Polling kinds run on the reminder <see cref="ReminderName"/>;
/// a run (sync or backfill) goes on in the background while calls keep being answered, and only
/// one runs at a time. The cursor is written after the events up to it were ingested
/// (<see cref="Events.IEventGrain.IngestAsync"/> returned for each), so a silo that stops at any moment
/// leaves no gap: the next run starts after the last persisted cursor and the events ingested
/// past it are found again, not duplicated (their ids derive from their identity).
/// </summary>
[GrainType("connector")]
public sealed partial class ConnectorGrain(
    [PersistentState("connector", StorageNames.Default)] IPersistentState<ConnectorState> store,
    ConnectorIngest ingest,
    ConnectorResilience resilience,
    IDeadLetterQueue deadLetters,
    Logs.LogsPuller logsPuller,
    TelemetryPollers telemetry,
    TimeProvider time,
    ILogger<ConnectorGrain> logger) : Grain, IConnectorGrain, IRemindable
{
    private readonly TelemetryPollers _telemetry = telemetry;

    public const string ReminderName = "poll";

    /// <summary>Commits read, ingested and committed to the cursor at a time.</summary>
    public const int BatchSize = 500;

    /// <summary>The longest backfill range.</summary>
    public static readonly TimeSpan MaxBackfill = TimeSpan.FromDays(3660);

    private readonly SemaphoreSlim _writes = new(1, 1);
    private Task<ConnectorRun>? _active;
    private ConnectorRun? _progress;
    private CancellationTokenSource? _cancel;
    private IGrainReminder? _reminder;
    private DateTimeOffset? _lastDelivery;

    private string Name => this.GetPrimaryKeyString();

    private bool Running => _active is { IsCompleted: false };

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _reminder = await this.GetReminder(ReminderName);
        await base.OnActivateAsync(cancellationToken);
    }

    public async Task<ConnectorInfo> PutAsync(ConnectorConfig config)
    {
        var valid = ConnectorRules.Validate(Name, config);
        var now = time.GetUtcNow();
        await SaveAsync(s =>
        {
            if (s.Config is null)
            {
                s.CreatedAt = now;
            }
            s.Config = valid;
            s.Version++;
            s.UpdatedAt = now;
        });
        await GrainFactory.GetGrain<IConnectorDirectoryGrain>(0).AddAsync(Name);
        await UpdateReminderAsync(valid);
        ConfigSaved(logger, Name, RootCauseJson.Name(valid.Kind!.Value), valid.Enabled, store.State.Version);
        return Info()!;
    }

    public Task<ConnectorInfo?> GetAsync() => Task.FromResult(Info());

    public Task<ConnectorConfig?> GetConfigAsync() => Task.FromResult(store.State.Config);

    public async Task DeleteAsync()
    {
        if (store.State.Config is null)
        {
            throw new NotFoundException("connector", Name);
        }
        _cancel?.Cancel();
        await UpdateReminderAsync(null);
        await _writes.WaitAsync();
        try
        {
            await store.ClearStateAsync();
            store.State = new ConnectorState();
        }
        finally
        {
            _writes.Release();
        }
        await GrainFactory.GetGrain<IConnectorDirectoryGrain>(0).RemoveAsync(Name);
        Deleted(logger, Name);
    }

    public Task<ConnectorRun> SyncAsync(bool wait = false) => StartAsync(ConnectorRunKind.Sync, null, null, "api", wait);

    public Task<ConnectorRun> BackfillAsync(DateTimeOffset from, DateTimeOffset to, bool wait = false)
    {
        var errors = new ValidationErrors();
        if (from == default)
        {
            errors.Add("from", "from is required (ISO-8601).");
        }
        if (to == default)
        {
            errors.Add("to", "to is required (ISO-8601).");
        }
        else if (to <= from)
        {
            errors.Add("to", "to must be after from.");
        }
        else if (to - from > MaxBackfill)
        {
            errors.Add("to", $"a backfill covers at most {MaxBackfill.TotalDays:0} days.");
        }
        errors.NotInFuture("from", from, time.GetUtcNow());
        errors.ThrowIfAny();
        return StartAsync(ConnectorRunKind.Backfill, from, to, "api", wait);
    }

    public Task<CircuitBreakerStatus?> GetBreakerAsync() => Task.FromResult(resilience.Find(Name));

    public Task<CircuitBreakerStatus?> ResetBreakerAsync() => Task.FromResult(resilience.Reset(Name));

    public Task DeliveryAcceptedAsync(DateTimeOffset at)
    {
        _lastDelivery = at;
        return Task.CompletedTask;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName)
        {
            return;
        }
        var config = store.State.Config;
        if (config is not { Enabled: true } || !Polls(config))
        {
            // Left over from a config that no longer polls.
            await UpdateReminderAsync(config);
            return;
        }
        if (!Running)
        {
            await StartAsync(ConnectorRunKind.Sync, null, null, "reminder", wait: false);
        }
    }

    private async Task<ConnectorRun> StartAsync(ConnectorRunKind kind, DateTimeOffset? from, DateTimeOffset? to, string trigger, bool wait)
    {
        var config = store.State.Config ?? throw new NotFoundException("connector", Name);
        if (!Polls(config))
        {
            throw new StateConflictException("kind",
                $"connector {Name} is a {RootCauseJson.Name(config.Kind!.Value)} connector: its upstream pushes to it, there is nothing to poll.");
        }
        if (kind == ConnectorRunKind.Backfill && config.Kind == ConnectorKind.Logs && config.Input is not (LogsInput.Loki or LogsInput.Elasticsearch))
        {
            throw new StateConflictException("kind", $"connector {Name}: a file or push logs connector reads on from its cursor; backfill applies to git, loki and elasticsearch logs, prometheus and jaeger connectors.");
        }
        if (!config.Enabled)
        {
            throw new StateConflictException("enabled", $"connector {Name} is disabled; enable it first.");
        }
        if (Running)
        {
            if (kind == ConnectorRunKind.Sync && _progress!.Kind == ConnectorRunKind.Sync)
            {
                return wait ? await _active! : _progress;
            }
            throw new StateConflictException("run", $"connector {Name} is running a {RootCauseJson.Name(_progress!.Kind)} (run {_progress.Id}); try again when it has finished.");
        }
        _progress = new ConnectorRun
        {
            Id = store.State.Runs + 1,
            Kind = kind,
            State = ConnectorRunState.Running,
            Trigger = trigger,
            StartedAt = time.GetUtcNow(),
            From = from,
            To = to,
            CursorBefore = store.State.Cursor?.Position,
        };
        _cancel = new CancellationTokenSource();
        // Keep the activation while the run goes on in the background.
        DelayDeactivation(TimeSpan.FromHours(1));
        _active = RunAsync(config, _progress, _cancel.Token);
        return wait ? await _active : _progress;
    }

    /// <summary>Never throws: whatever the run meets ends up as its outcome (and in the log), not in the silo.</summary>
    private async Task<ConnectorRun> RunAsync(ConnectorConfig config, ConnectorRun run, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            if (config.Kind == ConnectorKind.Logs && run.Kind == ConnectorRunKind.Backfill)
            {
                await BackfillLogsAsync(config, run.From!.Value, run.To!.Value, cancellationToken);
            }
            else if (config.Kind == ConnectorKind.Logs)
            {
                await SyncLogsAsync(config, cancellationToken);
            }
            else if (config.Kind != ConnectorKind.Git)
            {
                await PollTelemetryAsync(config, run, cancellationToken);
            }
            else if (run.Kind == ConnectorRunKind.Sync)
            {
                await SyncGitAsync(GitSource.From(config), config, cancellationToken);
            }
            else
            {
                await BackfillGitAsync(GitSource.From(config), run.From!.Value, run.To!.Value, cancellationToken);
            }
            _progress = _progress! with { State = ConnectorRunState.Succeeded };
        }
        catch (Exception e)
        {
            var error = e is IngestInterruptedException interrupted ? interrupted.Message : $"{e.GetType().Name}: {e.Message}";
            _progress = _progress! with { State = ConnectorRunState.Failed, Error = error };
            RunFailed(logger, Name, run.Id, RootCauseJson.Name(run.Kind), error, e);
        }
        _progress = _progress with { FinishedAt = time.GetUtcNow(), CursorAfter = store.State.Cursor?.Position };
        var finished = _progress;
        try
        {
            await SaveAsync(s =>
            {
                s.LastRun = finished;
                s.Runs = Math.Max(s.Runs, finished.Id);
            });
        }
        catch (Exception e)
        {
            RunFailed(logger, Name, run.Id, RootCauseJson.Name(run.Kind), "its outcome could not be stored", e);
        }
        RunFinished(logger, Name, finished.Id, RootCauseJson.Name(finished.Kind), RootCauseJson.Name(finished.State),
            finished.Created, finished.Existing, finished.DeadLettered);
        return finished;
    }

    private async Task SyncGitAsync(GitSource source, ConnectorConfig config, CancellationToken cancellationToken)
    {
        var pipeline = resilience.For(Name);
        var provenance = new Provenance(Name, "git_poll");
        while (true)
        {
            var cursor = store.State.Cursor;
            var since = cursor?.At ?? time.GetUtcNow() - (config.InitialLookback ?? ConnectorRules.DefaultInitialLookback);
            var batch = await pipeline.ExecuteAsync(ct => new ValueTask<GitBatch>(
                Task.Run(() => GitRepositoryReader.ReadAfter(source, cursor?.Position, since, BatchSize, ct), ct)), cancellationToken);
            if (batch.CursorLost)
            {
                CursorLost(logger, Name, cursor!.Position, cursor.At);
            }
            _progress = _progress! with { Found = _progress.Found + batch.Count };
            await DeadLetterUnreadableAsync(source, batch, cancellationToken);
            var drafts = batch.Commits.Select(c => CommitDrafts.Commit(c, provenance)).ToList();
            var before = _progress;
            try
            {
                await ingest.IngestAsync(Name, drafts, t => Report(before, t), cancellationToken);
            }
            catch (IngestInterruptedException e)
            {
                // Everything before the commit that failed is in: the cursor may move up to it.
                var index = IndexOf(batch, batch.Commits[e.Handled].Sha);
                if (index > 0)
                {
                    await AdvanceAsync(batch.Order[index - 1]);
                }
                throw;
            }
            if (batch.Count > 0)
            {
                await AdvanceAsync(batch.Order[^1]);
            }
            if (!batch.HasMore)
            {
                return;
            }
        }
    }

    private Task SyncLogsAsync(ConnectorConfig config, CancellationToken cancellationToken) =>
        logsPuller.SyncAsync(Name, config, store.State.Cursor?.Position, async (batch, position) =>
        {
            CountLogs(batch);
            await AdvanceAsync(new GitPosition(position, time.GetUtcNow()));
        }, cancellationToken);

    /// <summary>A time range read again; the cursor stays where it is.</summary>
    private Task BackfillLogsAsync(ConnectorConfig config, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        logsPuller.BackfillAsync(Name, config, from, to, batch =>
        {
            CountLogs(batch);
            return Task.CompletedTask;
        }, cancellationToken);

    private void CountLogs(Logs.PulledBatch batch) =>
        _progress = _progress! with
        {
            Found = _progress.Found + batch.Found,
            Processed = _progress.Processed + batch.Found,
            Created = _progress.Created + batch.Tally.Created,
            Existing = _progress.Existing + batch.Tally.Existing,
            DeadLettered = _progress.DeadLettered + batch.Tally.Malformed,
        };

    private async Task BackfillGitAsync(GitSource source, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var pipeline = resilience.For(Name);
        var batch = await pipeline.ExecuteAsync(ct => new ValueTask<GitBatch>(
            Task.Run(() => GitRepositoryReader.ReadRange(source, from, to, ct), ct)), cancellationToken);
        _progress = _progress! with { Found = batch.Count };
        await DeadLetterUnreadableAsync(source, batch, cancellationToken);
        var before = _progress;
        var provenance = new Provenance(Name, "git_poll");
        await ingest.IngestAsync(Name, batch.Commits.Select(c => CommitDrafts.Commit(c, provenance)).ToList(), t => Report(before, t), cancellationToken);
    }

    private void Report(ConnectorRun before, IngestTally tally) =>
        _progress = before with
        {
            Processed = before.Processed + tally.Handled,
            Created = before.Created + tally.Created,
            Existing = before.Existing + tally.Existing,
            DeadLettered = before.DeadLettered + tally.DeadLettered,
        };

    private async Task DeadLetterUnreadableAsync(GitSource source, GitBatch batch, CancellationToken cancellationToken)
    {
        foreach (var commit in batch.Unreadable)
        {
            await deadLetters.RecordFailureAsync(new DeadLetterFailure
            {
                Connector = Name,
                Source = Events.EventSource.Git,
                Kind = GitCommitDeadLetter.Kind,
                Payload = GitCommitDeadLetter.Serialize(source, commit.Sha),
                Error = $"commit {commit.Sha} could not be read: {commit.Error}",
            }, cancellationToken);
            _progress = _progress! with { Processed = _progress.Processed + 1, DeadLettered = _progress.DeadLettered + 1 };
        }
    }

    private static int IndexOf(GitBatch batch, string sha)
    {
        for (var i = 0; i < batch.Order.Count; i++)
        {
            if (batch.Order[i].Sha == sha)
            {
                return i;
            }
        }
        return -1;
    }

    private Task AdvanceAsync(GitPosition position)
    {
        var now = time.GetUtcNow();
        var snapshot = _progress;
        return SaveAsync(s =>
        {
            s.Cursor = new ConnectorCursor { Position = position.Sha, At = position.At, AdvancedAt = now };
            // A restart mid-run still shows how far the run had got.
            s.LastRun = snapshot;
            s.Runs = Math.Max(s.Runs, snapshot?.Id ?? 0);
        });
    }

    private async Task UpdateReminderAsync(ConnectorConfig? config)
    {
        if (config is { Enabled: true } && Polls(config))
        {
            var period = config.PollInterval ?? ConnectorRules.DefaultPollInterval;
            if (_reminder is null || _lastPeriod != period)
            {
                // The first poll comes soon after the connector is configured, then every period.
                _reminder = await this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromSeconds(15), period);
                _lastPeriod = period;
            }
        }
        else if (_reminder is not null)
        {
            await this.UnregisterReminder(_reminder);
            _reminder = null;
        }
    }

    private TimeSpan? _lastPeriod;

    private ConnectorInfo? Info()
    {
        var s = store.State;
        return s.Config is null ? null : new ConnectorInfo
        {
            Name = Name,
            Config = s.Config,
            Version = s.Version,
            CreatedAt = s.CreatedAt,
            UpdatedAt = s.UpdatedAt,
            Cursor = s.Cursor,
            Run = Running ? _progress : s.LastRun,
            Polling = _reminder is not null,
            LastDeliveryAt = _lastDelivery,
        };
    }

    /// <summary>One write at a time: a background run and a request may both want to persist.</summary>
    private async Task SaveAsync(Action<ConnectorState> change)
    {
        await _writes.WaitAsync();
        try
        {
            change(store.State);
            store.State.SchemaVersion = ConnectorState.CurrentSchemaVersion;
            try
            {
                await store.WriteStateAsync();
            }
            catch
            {
                // Not knowing whether the write committed, go back to what is stored.
                await store.ReadStateAsync();
                throw;
            }
        }
        finally
        {
            _writes.Release();
        }
    }

    [LoggerMessage(EventId = 4110, Level = LogLevel.Information, Message = "Connector {Connector} saved: kind {Kind}, enabled {Enabled}, version {Version}")]
    private static partial void ConfigSaved(ILogger logger, string connector, string kind, bool enabled, long version);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Information, Message = "Connector {Connector} deleted")]
    private static partial void Deleted(ILogger logger, string connector);

    [LoggerMessage(EventId = 4112, Level = LogLevel.Information,
        Message = "Connector {Connector}: run {RunId} ({Kind}) {State}: {Created} created, {Existing} already there, {DeadLettered} dead-lettered")]
    private static partial void RunFinished(ILogger logger, string connector, long runId, string kind, string state, long created, long existing, long deadLettered);

    [LoggerMessage(EventId = 4113, Level = LogLevel.Warning, Message = "Connector {Connector}: run {RunId} ({Kind}) failed: {Error}")]
    private static partial void RunFailed(ILogger logger, string connector, long runId, string kind, string error, Exception exception);

    [LoggerMessage(EventId = 4114, Level = LogLevel.Warning,
        Message = "Connector {Connector}: cursor commit {Sha} is gone (history rewritten?); reading commits from {At:O} on instead")]
    private static partial void CursorLost(ILogger logger, string connector, string sha, DateTimeOffset at);
}

/// <summary>
/// Dead-letter format <c>git_commit</c>: where a commit the poller could not read lives, so a
/// replay reads it again (from the same repository directory) once the cause is fixed.
/// </summary>
public static class GitCommitDeadLetter
{
    public const string Kind = "git_commit";

    private sealed record Payload(string Path, string Repository, string? Branch, string? CommitUrl, string Sha);

    public static byte[] Serialize(GitSource source, string sha) =>
        JsonSerializer.SerializeToUtf8Bytes(new Payload(source.Path, source.Repository, source.Branch, source.CommitUrl, sha), RootCauseJson.Options);

    public static IReadOnlyList<Events.EventDraft> Replay(DeadLetter entry)
    {
        var payload = JsonSerializer.Deserialize<Payload>(entry.Payload, RootCauseJson.Options)
            ?? throw new ValidationFailedException("payload", "payload is not a git_commit record.");
        var source = new GitSource(payload.Path, payload.Repository, payload.Branch, payload.CommitUrl);
        return [CommitDrafts.Commit(GitRepositoryReader.ReadOne(source, payload.Sha), new Provenance(entry.Connector, "git_poll"))];
    }
}
