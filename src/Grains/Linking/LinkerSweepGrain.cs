using System.Text.Json;
using Microsoft.Extensions.Logging;
using RootCause.Common;
using RootCause.Events;
using RootCause.Search;

namespace RootCause.Linking;

/// <summary>
/// Finds, through this silo's search index, events stored more than <see cref="Grace"/> ago that the
/// linker never evaluated (<c>linker_checked</c> = 0), and asks each event to hand itself off again.
/// Acknowledged ingests never need it (their hand-off is durable before the acknowledgement); it
/// covers writes whose caller gave up. A reminder runs it every <see cref="Period"/> on one silo.
/// </summary>
[GrainType("linker-sweep")]
public sealed class LinkerSweepGrain(ISearchIndex index, TimeProvider time, ILogger<LinkerSweepGrain> logger) : Grain, ILinkerSweepGrain, IRemindable
{
    public const string ReminderName = "sweep";
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(2);

    /// <summary>Long enough for the stream to deliver and the linker to evaluate a fresh event.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(2);

    private const int MaxPerSweep = 2000;

    public async Task EnsureScheduledAsync() => await this.RegisterOrUpdateReminder(ReminderName, Period, Period);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ReminderName)
        {
            await SweepAsync(Grace);
        }
    }

    public async Task<int> SweepAsync(TimeSpan olderThan)
    {
        var page = index.Search(new IndexQuery
        {
            Kind = IndexedKind.Event,
            Filters = new Dictionary<string, IReadOnlyList<string>> { [SearchFields.LinkerChecked] = ["0"] },
            Range = new DateRange(SearchFields.ParsedAt, null, time.GetUtcNow() - olderThan),
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
}
