using Microsoft.Extensions.DependencyInjection;
using Orleans.Providers.Streams.Common;
using Orleans.Storage;
using Orleans.TestingHost;
using RootCause.Common;
using RootCause.Events;
using RootCause.Hosting;
using RootCause.Search;
using RootCause.Linking;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Linking;

/// <summary>
/// An event stored without its hand-off (as when a silo dies between the write and the publish and
/// the caller never retries) is found by the sweep and evaluated by the linker after all.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LinkerSweepTests(ClusterFixture fixture)
{
    [Fact]
    public async Task AnEventStoredWithoutItsHandOffIsSweptToTheLinker()
    {
        var draft = ErrorSpike("orphan");
        var id = EventKeys.For(draft);
        var valid = EventRules.Validate(draft, DateTimeOffset.UtcNow);
        var silo = (InProcessSiloHandle)fixture.Cluster.Silos[0];
        var storage = silo.SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
        // The grain's first write, and nothing after it.
        await storage.WriteStateAsync(EventGrain.StateName, GrainId.Create(GrainType.Create("event"), GrainIdKeyExtensions.CreateGuidKey(id)),
            new GrainState<EventState>(EventState.Ingested(draft, valid, DateTimeOffset.UtcNow)));

        var grain = fixture.Client.GetGrain<IEventGrain>(id);
        await Task.Delay(500);
        Assert.Null((await grain.GetAsync())!.LinkerCheckedAt);

        var sweep = fixture.Client.GetGrain<ILinkerSweepGrain>(0);
        var handedOff = await Eventually.ReturnsAsync(() => sweep.SweepAsync(TimeSpan.Zero), n => n >= 1, TimeSpan.FromSeconds(20));
        Assert.True(handedOff >= 1, "the sweep found the event in the index");
        var evaluated = await Eventually.ReturnsAsync(() => grain.GetAsync(), e => e!.LinkerCheckedAt is not null, TimeSpan.FromSeconds(20));
        Assert.NotNull(evaluated!.LinkerCheckedAt);

        // Evaluated events are left alone.
        Assert.False(await grain.EnsureHandedOffAsync());
    }

    [Fact]
    public async Task AnEventWhoseHandOffIsStillQueuedIsNotHandedOffAgain()
    {
        var management = fixture.Client.GetGrain<IManagementGrain>(0);
        var draft = ErrorSpike("queued");
        var grain = fixture.Client.GetGrain<IEventGrain>(EventKeys.For(draft));
        await SetAgentsAsync(management, PersistentStreamProviderCommand.StopAgents);
        try
        {
            // Acknowledged: its message waits in the queue while no agent pulls.
            var ingested = await grain.IngestAsync(draft);
            // Every silo's index shows it unevaluated, so a sweep on any silo would find it.
            foreach (var silo in fixture.Cluster.Silos.Cast<InProcessSiloHandle>())
            {
                var index = silo.SiloHost.Services.GetRequiredService<ISearchIndex>();
                var unevaluated = new IndexQuery
                {
                    Kind = IndexedKind.Event,
                    Filters = new Dictionary<string, IReadOnlyList<string>>
                    {
                        [SearchFields.Id] = [ingested.Event.Id.ToString()],
                        [SearchFields.LinkerChecked] = ["0"],
                    },
                };
                Assert.Equal(1, await Eventually.ReturnsAsync(() => Task.FromResult(index.Search(unevaluated).Total), n => n == 1));
            }
            Assert.Equal(0, await fixture.Client.GetGrain<ILinkerSweepGrain>(0).SweepAsync(TimeSpan.Zero));
            Assert.Null((await grain.GetAsync())!.LinkerCheckedAt);
            Assert.True(ingested.Created);
        }
        finally
        {
            await SetAgentsAsync(management, PersistentStreamProviderCommand.StartAgents);
        }
        var evaluated = await Eventually.ReturnsAsync(() => grain.GetAsync(), e => e!.LinkerCheckedAt is not null, TimeSpan.FromSeconds(30));
        Assert.NotNull(evaluated!.LinkerCheckedAt);
    }

    private static Task SetAgentsAsync(IManagementGrain management, PersistentStreamProviderCommand command) =>
        management.SendControlCommandToProvider<PersistentStreamProvider>(StreamRegistration.ProviderName, (int)command, null!);

    /// <summary>An error spike of a service named after <paramref name="kind"/>, three minutes old.</summary>
    private static EventDraft ErrorSpike(string kind) => new()
    {
        Source = EventSource.Logs,
        SourceId = $"{kind}:{Guid.NewGuid():N}",
        EventType = "error_spike",
        Timestamp = DateTimeOffset.UtcNow.AddMinutes(-3),
        Severity = EventSeverity.High,
        Data = $$"""{"service":"{{kind}}-api","count":70}""",
    };
}
