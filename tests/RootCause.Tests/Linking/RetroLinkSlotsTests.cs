using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using RootCause.Investigations;
using RootCause.Linking;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Linking;

/// <summary>
/// Retro-linking runs wait for the search index together, and score a few at a time: investigations
/// created at once are not retro-linked two by two, index wait included, yet no more than
/// <see cref="RetroLinkSlots.Working"/> runs of a silo ever score at once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RetroLinkSlotsTests(ClusterFixture fixture)
{
    [Fact]
    public async Task ManyRunsWaitForTheIndexTogetherAndNoMoreThanTheSlotsScoreAtOnce()
    {
        var slots = fixture.Cluster.Silos.Cast<InProcessSiloHandle>()
            .Select(s => s.SiloHost.Services.GetRequiredService<RetroLinkSlots>()).ToList();
        var grains = Enumerable.Range(0, 16).Select(_ => fixture.Client.GetGrain<IInvestigationGrain>(Guid.NewGuid())).ToList();

        await Task.WhenAll(grains.Select((grain, i) => grain.CreateAsync(new InvestigationFields
        {
            Title = $"Slots {i}",
            Description = "Created with fifteen others at once.",
            ImpactSeverity = ImpactSeverity.Medium,
            Priority = Priority.P2,
            DetectedAt = DateTimeOffset.UtcNow.AddMinutes(-10),
            ComponentAffected = $"slots-component-{i}",
        })));
        foreach (var grain in grains)
        {
            Assert.True((await Eventually.ReturnsAsync(() => grain.GetLinkingKeyAsync(), k => k.Done, TimeSpan.FromSeconds(60))).Done);
        }

        // Every run went through the slots of the silo it ran on, and none scored beside more than
        // the working slots allow.
        Assert.Contains(slots, s => s.PeakWorking >= 1);
        Assert.All(slots, s => Assert.InRange(s.PeakWorking, 0, RetroLinkSlots.Working));
    }

    [Fact]
    public async Task RunsBeyondTheWorkingSlotsWaitForATurnAndEachTakesOneWhenItFrees()
    {
        var slots = new RetroLinkSlots();
        var release = Enumerable.Range(0, 6).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToList();
        var working = 0;
        var started = new List<int>();
        var runs = Enumerable.Range(0, 6).Select(i =>
        {
            return slots.RunAsync(() => Task.CompletedTask, async () =>
            {
                lock (started)
                {
                    started.Add(i);
                    working++;
                }
                await release[i].Task;
                lock (started)
                {
                    working--;
                }
            });
        }).ToList();
        // A run whose index wait fails leaves without taking a slot, and its work never runs.
        var failedWork = false;
        await Assert.ThrowsAsync<TimeoutException>(() => slots.RunAsync(
            () => Task.FromException(new TimeoutException("the index did not catch up")),
            () => Task.FromResult(failedWork = true)));
        Assert.False(failedWork);

        await Task.Delay(200);
        lock (started)
        {
            Assert.Equal([0, 1], started);
            Assert.Equal(RetroLinkSlots.Working, working);
        }
        Assert.Equal(5, slots.PeakWaiting); // the four runs waiting for a turn, and the one that left

        release[1].SetResult();
        await runs[1];
        await Eventually.ReturnsAsync(() => Task.FromResult(started.Count), n => n == 3, TimeSpan.FromSeconds(10));
        lock (started)
        {
            Assert.Equal(RetroLinkSlots.Working, working);
        }
        foreach (var done in release)
        {
            done.TrySetResult();
        }
        await Task.WhenAll(runs);
        Assert.Equal(6, started.Count);
        Assert.Equal(RetroLinkSlots.Working, slots.PeakWorking);
    }
}
