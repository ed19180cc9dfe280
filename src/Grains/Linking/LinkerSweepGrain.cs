using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using RootCause.Common;
using RootCause.Events;
using RootCause.Hosting;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// Finds, through this silo's search index, events stored more than <see cref="Grace"/> ago that the
/// linker never evaluated (<c>linker_checked</c> = 0), and asks each event to hand itself off again.
/// Acknowledged ingests never need it (their hand-off is durable before the acknowledgement); it
/// covers writes whose caller gave up. A reminder runs it every <see cref="Period"/> on one silo.
/// While the event stream holds a backlog, only events stored well before its oldest queued message
/// are swept: the others may still have their message waiting in the queue, and handing them off
/// again would queue every one of them twice.
/// </summary>
[GrainType("linker-sweep")]
public sealed class LinkerSweepGrain(ISearchIndex index, NpgsqlDataSource database, IOptions<ClusterOptions> cluster, TimeProvider time,
    LinkerOptions options, ILogger<LinkerSweepGrain> logger) : Grain, ILinkerSweepGrain, IRemindable
{
    public const string ReminderName = "sweep";
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(2);

    /// <summary>Long enough for the stream to deliver and the linker to evaluate a fresh event.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(2);

    /// <summary>An event's hand-off is queued right after its write; this much earlier is certainly before it.</summary>
    public static readonly TimeSpan QueueMargin = TimeSpan.FromMinutes(1);

    private const int MaxPerSweep = 2000;

    public async Task EnsureScheduledAsync() => await this.RegisterOrUpdateReminder(ReminderName, Period, Period);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName)
        {
            return;
        }
        if (!options.Sweep)
        {
            // Switched off (Linker:Sweep=false) after the reminder was registered: stop it.
            if (await this.GetReminder(ReminderName) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }
            return;
        }
        await SweepAsync(Grace);
    }

    public async Task<int> SweepAsync(TimeSpan olderThan)
    {
        var cutoff = time.GetUtcNow() - olderThan;
        if (await OldestQueuedAsync() is { } oldest && oldest - QueueMargin < cutoff)
        {
            logger.LogDebug("Linker sweep: the event stream holds messages queued since {Oldest}; only events stored before {Cutoff} are swept", oldest, oldest - QueueMargin);
            cutoff = oldest - QueueMargin;
        }
        var page = index.Search(new IndexQuery
        {
            Kind = IndexedKind.Event,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.LinkerChecked] = ["0"] },
            Range = new DateRange(SearchFields.ParsedAt, null, cutoff),
            Sort = [new SortKey(SearchFields.ParsedAt, Descending: false)],
            PerPage = MaxPerSweep,
        });
        var handedOff = 0;
        foreach (var hit in page.Hits)
        {
            var ev = JsonSerializer.Deserialize<Event>(hit.Json, RootCauseJson.Options)!;
            if (await GrainFactory.GetGrain<IEventGrain>(ev.Id).EnsureHandedOffAsync())
            {
                handedOff++;
            }
        }
        if (handedOff > 0 || page.Total > MaxPerSweep)
        {
            logger.LogWarning("Linker sweep: {HandedOff} events stored but never evaluated were handed off again ({Total} found)", handedOff, page.Total);
        }
        return handedOff;
    }

    /// <summary>When the oldest message still queued on the event stream was queued (null: none is).</summary>
    private async Task<DateTimeOffset?> OldestQueuedAsync()
    {
        await using var command = database.CreateCommand(
            "SELECT min(created_on) FROM orleans_stream_messages WHERE service_id = @service AND provider_id = @provider");
        command.Parameters.AddWithValue("service", cluster.Value.ServiceId);
        command.Parameters.AddWithValue("provider", StreamRegistration.ProviderName);
        return await command.ExecuteScalarAsync() is DateTime oldest ? new DateTimeOffset(DateTime.SpecifyKind(oldest, DateTimeKind.Utc)) : null;
    }
}
