namespace RootCause.Connectors.Traces;

/// <summary>
/// The span judgement of one traces connector (key: its name): per-operation baselines and
/// sampling counts live here, so every silo's receiver judges against the same history. The state
/// is in memory only: after a restart or a move, baselines build again from the next spans
/// (<see cref="SpanClassifier.MinSamples"/> per operation) and only the fixed threshold applies meanwhile.
/// </summary>
[Alias("rc.ISpanAnalysisGrain")]
public interface ISpanAnalysisGrain : IGrainWithStringKey
{
    /// <summary>The drafts of the problem traces in these spans (see <see cref="SpanClassifier"/>); updates the baselines.</summary>
    Task<SpanAnalysis> AnalyzeAsync(IReadOnlyList<TraceSpan> spans, TraceRules rules, string via, string? traceUrlBase);
}

[GrainType("span-analysis")]
public sealed class SpanAnalysisGrain : Grain, ISpanAnalysisGrain
{
    private readonly SpanClassifier _classifier = new();

    public Task<SpanAnalysis> AnalyzeAsync(IReadOnlyList<TraceSpan> spans, TraceRules rules, string via, string? traceUrlBase)
    {
        // Baselines are only worth something while they last: stay active while spans keep coming.
        DelayDeactivation(TimeSpan.FromHours(1));
        var provenance = new Provenance(this.GetPrimaryKeyString(), via);
        Func<string, string?>? url = traceUrlBase is null ? null : trace => $"{traceUrlBase.TrimEnd('/')}/trace/{trace}";
        return Task.FromResult(_classifier.Analyze(spans, rules, provenance, url));
    }
}
