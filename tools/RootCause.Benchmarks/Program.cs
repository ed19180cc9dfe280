using RootCause.Benchmarks;
using RootCause.Benchmarks.Linking;
using RootCause.Benchmarks.Visibility;

if (args.Length > 0 && args[0] == "visibility")
{
    return await VisibilityBenchmark.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "connectors")
{
    return await RootCause.Benchmarks.Connectors.ConnectorsBenchmark.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "linking")
{
    return await LinkingBenchmark.RunAsync(args[1..]);
}

// Ingest and reads through the grains, next to a raw-Npgsql baseline; "search" as the first
// argument runs the search benchmark instead. See docs/benchmarks.md.
if (args.Length > 0 && args[0] == "search")
{
    return await RootCause.Benchmarks.Search.SearchBenchmark.RunAsync(args[1..]);
}

if (!BenchmarkOptions.TryParse(args, out var options, out var problem))
{
    if (problem is not null)
    {
        Console.Error.WriteLine(problem);
    }
    Console.Error.WriteLine(BenchmarkOptions.Usage);
    return problem is null ? 0 : 2;
}

return await FoundationBenchmark.RunAsync(options);
