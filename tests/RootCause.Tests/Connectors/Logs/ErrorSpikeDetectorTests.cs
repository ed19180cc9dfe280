using RootCause.Connectors.Logs;
using RootCause.Events;

namespace RootCause.Tests.Connectors.Logs;

/// <summary>The detector's rules on its own: baseline, threshold, one spike per flood, rewrites as it grows.</summary>
public sealed class ErrorSpikeDetectorTests
{
    private const long Flood = 29_000_000;

    private static ErrorObservation Observe(long minute, int count, string? type = "System.TimeoutException", string message = "Timed out") => new()
    {
        Connector = "logs",
        Via = "logs_push",
        Minutes = [new MinuteErrors { Minute = minute, Count = count, Groups = [new ErrorGroup(type, message, count)] }],
    };

    /// <summary>Feeds observations as the grain does: whatever is due is written (and remembered as written).</summary>
    private static List<SpikeEpisode> Feed(SpikeDetectorState state, params ErrorObservation[] observations)
    {
        var written = new List<SpikeEpisode>();
        foreach (var observation in observations)
        {
            foreach (var episode in ErrorSpikeDetector.Observe(state, observation))
            {
                episode.Emitted = true;
                episode.WrittenCount = episode.Count;
                episode.WrittenLastMinute = episode.LastMinute;
                written.Add(episode);
            }
        }
        return written;
    }

    private static SpikeDetectorState QuietHalfHour()
    {
        var state = new SpikeDetectorState();
        Assert.Empty(Feed(state, Enumerable.Range(0, 30).Select(i => Observe(Flood - 30 + i, 2)).ToArray()));
        return state;
    }

    [Fact]
    public void AFloodInOneMinuteOverAQuietBaselineIsOneSpikeThatGrowsWithEachBatch()
    {
        var state = QuietHalfHour();

        var written = Feed(state, Enumerable.Range(0, 5).Select(_ => Observe(Flood, 1000)).ToArray());

        var spike = Assert.Single(state.Episodes);
        Assert.All(written, w => Assert.Same(spike, w));
        Assert.Equal(5, written.Count);
        Assert.Equal((Flood, Flood, 5000, 5000, 2.0, 20.0), (spike.StartMinute, spike.LastMinute, spike.Count, spike.PeakPerMinute, spike.Baseline, spike.Threshold));
        Assert.Equal(EventSeverity.Critical, ErrorSpikeDetector.Severity(spike));
    }

    [Fact]
    public void TheThresholdIsTheFactorTimesTheBaselineOrTheMinimumCount()
    {
        var state = new SpikeDetectorState();
        Feed(state, Enumerable.Range(0, 30).Select(i => Observe(Flood - 30 + i, 10)).ToArray());

        Assert.Empty(Feed(state, Observe(Flood, 29)));
        var spike = Assert.Single(Feed(state, Observe(Flood, 1)));

        Assert.Equal((30.0, 30), (spike.Threshold, spike.Count));
        Assert.Equal(EventSeverity.Medium, ErrorSpikeDetector.Severity(spike));
    }

    [Fact]
    public void ConsecutiveSpikingMinutesAreOneSpikeAndAQuietMinuteEndsIt()
    {
        var state = QuietHalfHour();

        Feed(state, Observe(Flood, 400), Observe(Flood + 1, 300), Observe(Flood + 2, 1), Observe(Flood + 3, 500));

        Assert.Equal([(Flood, Flood + 1, 700), (Flood + 3, Flood + 3, 500)], state.Episodes.Select(e => (e.StartMinute, e.LastMinute, e.Count)));
        // The first spike's minutes are left out of the second one's baseline.
        Assert.Equal(55.0 / 28, state.Episodes[1].Baseline, 6);
    }

    [Fact]
    public void SmallGrowthOfAWrittenSpikeIsNotRewrittenButANewMinuteIs()
    {
        var state = QuietHalfHour();
        Feed(state, Observe(Flood, 1000));

        Assert.Empty(Feed(state, Observe(Flood, 50)));
        Assert.Single(Feed(state, Observe(Flood, 60)));
        Assert.Single(Feed(state, Observe(Flood + 1, 25)));
        Assert.Equal(1135, Assert.Single(state.Episodes).Count);
    }

    [Fact]
    public void MessagesDifferingOnlyInIdsAndNumbersAreOneGroup()
    {
        Assert.Equal(ErrorSpikeDetector.GroupKey("System.TimeoutException", "Timed out charging order 81734 after 30001 ms"),
            ErrorSpikeDetector.GroupKey("System.TimeoutException", "Timed out charging order 5 after 30000 ms"));
        Assert.NotEqual(ErrorSpikeDetector.GroupKey("A", "x 1"), ErrorSpikeDetector.GroupKey("B", "x 1"));
    }
}
