using Orleans.Concurrency;

namespace RootCause.Linking;

/// <summary>The message the event stream carries: an ingested event's id and when its ingest was acknowledged.</summary>
[GenerateSerializer, Immutable, Alias("rc.EventIngested")]
public sealed record EventIngested(
    [property: Id(0)] Guid EventId,
    [property: Id(1)] DateTimeOffset IngestedAt);

/// <summary>
/// How ingested events are spread over linker grains: stream namespace <see cref="EventsNamespace"/>,
/// keyed by one of <see cref="Partitions"/> partition names, each consumed by the linker grain of
/// that name (an implicit subscription). Events of one partition are linked one after another;
/// partitions run in parallel on whichever silos their grains live.
/// </summary>
public static class LinkerStreams
{
    public const string EventsNamespace = "events";

    /// <summary>
    /// Linker grains, i.e. events linked at the same time in the cluster (a partition's are linked one
    /// after another, and mostly wait: docs/architecture.md, "Why 256 partitions").
    /// </summary>
    public const int Partitions = 256;

    /// <summary>The partition of an event: from the id's own bytes, so every process agrees.</summary>
    public static string PartitionOf(Guid eventId)
    {
        Span<byte> bytes = stackalloc byte[16];
        eventId.TryWriteBytes(bytes);
        return (System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes) % Partitions).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>Consumes one partition of the event stream (implicit subscription; see <see cref="LinkerStreams"/>).</summary>
[Alias("rc.ILinkerGrain")]
public interface ILinkerGrain : IGrainWithStringKey
{
    /// <summary>What this partition's linker has done since it activated.</summary>
    Task<LinkerCounters> GetCountersAsync();
}

[GenerateSerializer, Immutable, Alias("rc.LinkerCounters")]
public sealed record LinkerCounters(
    [property: Id(0)] long Events,
    [property: Id(1)] long Candidates,
    [property: Id(2)] long Linked,
    [property: Id(3)] long Suggested);

/// <summary>Scores an investigation's existing events again after it was created or its component, service, times or tags changed.</summary>
[Alias("rc.IRetroLinkerGrain")]
public interface IRetroLinkerGrain : IGrainWithGuidKey
{
    /// <summary>Runs retro-linking for the investigation's fields as digested by <paramref name="linkingKey"/>, unless that is already done; concurrent calls for one key share one run.</summary>
    Task RunAsync(string linkingKey);
}

/// <summary>
/// The cluster's one sweeper (key 0) of events stored but never evaluated by the linker: an ingest
/// whose hand-off was lost (the silo died between the write and the publish) and that the caller
/// never retried. Runs on a reminder.
/// </summary>
[Alias("rc.ILinkerSweepGrain")]
public interface ILinkerSweepGrain : IGrainWithIntegerKey
{
    /// <summary>Registers the sweep's reminder (idempotent).</summary>
    Task EnsureScheduledAsync();

    /// <summary>Hands off again every event parsed more than <paramref name="olderThan"/> ago that the linker has not evaluated; returns how many.</summary>
    Task<int> SweepAsync(TimeSpan olderThan);
}

/// <summary>
/// The second look at changes for one investigation (keyed by its id): after a symptom of a
/// component the investigation does not name was linked to it or suggested for it, the deployments
/// of that component shortly before the symptom, and the commits they shipped, are scored again with
/// the symptom as corroboration. See docs/architecture.md, "Corroboration".
/// </summary>
[Alias("rc.ICorroborationGrain")]
public interface ICorroborationGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Reviews the changes of <paramref name="component"/> in the corroboration window before
    /// <paramref name="symptomAt"/>. One-way: the linker does not wait for it (best effort, see the docs).
    /// Interleaved: it only records the request, which the review running (or the next) takes up.
    /// </summary>
    [OneWay]
    [AlwaysInterleave]
    Task ReviewAsync(string component, DateTimeOffset symptomAt);
}
