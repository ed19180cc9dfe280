using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Orleans.Streams;

namespace RootCause.Hosting;

/// <summary>
/// Settings of the durable event stream (configuration section <c>Streams</c>). Partitions must be
/// the same on every silo of a cluster: it decides which queue a stream's messages go to.
/// </summary>
public sealed class EventStreamOptions
{
    public const string Section = "Streams";

    /// <summary>Queues (rows in <c>orleans_stream_messages</c> are spread over them by stream id); each is pulled by one silo at a time.</summary>
    [Range(1, 1024)]
    public int Partitions { get; set; } = 8;

    /// <summary>How long a delivered message stays invisible to other pollers before it is delivered again if not confirmed.</summary>
    [Range(1, 86_400)]
    public int VisibilityTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// Messages a silo's pulling agent holds per queue (dequeued, not yet confirmed). A message is
    /// confirmed only after it leaves this cache, so it must be handled within the visibility
    /// timeout of being dequeued: the cache should drain in well under that time at the consumers'
    /// slowest expected rate, or a backlog is dequeued and delivered twice. Each read takes at most a
    /// tenth of it, so with <see cref="PollIntervalMilliseconds"/> it also bounds how fast a queue
    /// is read: a tenth of it per poll.
    /// </summary>
    [Range(10, 65_536)]
    public int CacheSize { get; set; } = 256;

    /// <summary>
    /// How often a silo's agent reads each of its queues (an empty read costs one short statement).
    /// With <see cref="CacheSize"/> it bounds a queue's rate: CacheSize / 10 messages per poll.
    /// </summary>
    [Range(5, 10_000)]
    public int PollIntervalMilliseconds { get; set; } = 50;

    /// <summary>Deliveries of one message before it moves to dead letters.</summary>
    [Range(1, 1_000)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>
    /// How long a message may wait for a successful delivery before it moves to dead letters
    /// regardless of attempts. Long, so that an outage of every silo does not dead-letter events.
    /// </summary>
    [Range(60, 30 * 86_400)]
    public int ExpirySeconds { get; set; } = 86_400;

    /// <summary>How long dead letters are kept before they are deleted.</summary>
    [Range(60, 365 * 86_400)]
    public int DeadLetterRetentionSeconds { get; set; } = 14 * 86_400;

    /// <summary>How often each queue's expired messages and old dead letters are evicted (cluster-wide, per queue).</summary>
    [Range(1, 86_400)]
    public int EvictionIntervalSeconds { get; set; } = 10;
}

public static class StreamRegistration
{
    /// <summary>The stream provider every event is published on.</summary>
    public const string ProviderName = "events";

    /// <summary>
    /// The durable <c>events</c> stream provider: Orleans' ADO.NET queues on the same PostgreSQL,
    /// through the SQL in our migrations, partitioned into <see cref="EventStreamOptions.Partitions"/>
    /// queues. Subscriptions are implicit only (<c>[ImplicitStreamSubscription]</c>), so no
    /// PubSubStore grain storage is involved. Settings come from the <c>Streams</c> section unless
    /// <paramref name="configure"/> overrides them.
    /// </summary>
    public static ISiloBuilder AddRootCauseStreams(this ISiloBuilder silo, string connectionString, Action<EventStreamOptions>? configure = null)
    {
        var options = silo.Configuration.GetSection(EventStreamOptions.Section).Get<EventStreamOptions>() ?? new EventStreamOptions();
        configure?.Invoke(options);
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);

        silo.AddAdoNetStreams(ProviderName, stream =>
        {
            stream.ConfigureAdoNet(o => o.Configure(ado =>
            {
                ado.Invariant = PersistenceRegistration.Invariant;
                ado.ConnectionString = PersistenceRegistration.StreamConnectionString(connectionString);
                ado.MaxAttempts = options.MaxAttempts;
                ado.VisibilityTimeout = TimeSpan.FromSeconds(options.VisibilityTimeoutSeconds);
                ado.ExpiryTimeout = TimeSpan.FromSeconds(options.ExpirySeconds);
                ado.DeadLetterEvictionTimeout = TimeSpan.FromSeconds(options.DeadLetterRetentionSeconds);
                ado.EvictionInterval = TimeSpan.FromSeconds(options.EvictionIntervalSeconds);
            }));
            stream.ConfigurePartitioning(options.Partitions);
            stream.ConfigurePullingAgent(agent => agent.Configure(o => o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(options.PollIntervalMilliseconds)));
            stream.ConfigureCache(options.CacheSize);
            stream.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
        });
        return silo;
    }
}
