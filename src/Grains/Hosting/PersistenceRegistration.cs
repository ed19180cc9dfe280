using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using RootCause.Common;
using RootCause.Events;

namespace RootCause.Hosting;

public static class PersistenceRegistration
{
    /// <summary>The ADO.NET invariant name Orleans uses to find Npgsql.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>
    /// Statements Npgsql keeps prepared per physical connection of the storage pool. The grain
    /// storage runs 3 statements and the reminders 7, so this holds all of them with room to spare.
    /// </summary>
    public const int StorageMaxAutoPrepare = 20;

    /// <summary>
    /// Statements Npgsql keeps prepared per physical connection of the silo's own pool (change
    /// feed, index fetches, linker snapshots, connectors' dead letters, admin queries): a few dozen
    /// distinct texts, the hot ones run hundreds of times a second while events are linked.
    /// </summary>
    public const int SharedMaxAutoPrepare = 64;

    /// <summary>The server option that makes every execution of a prepared statement plan afresh.</summary>
    public const string CustomPlans = "-c plan_cache_mode=force_custom_plan";

    /// <summary>
    /// Grain state and reminders on PostgreSQL, through the SQL in our migrations. State is
    /// System.Text.Json in RootCause's JSON shape, and every write advances the change sequence.
    /// Also registers the shared <see cref="NpgsqlDataSource"/> for the silo's own queries.
    /// </summary>
    public static ISiloBuilder AddRootCausePersistence(this ISiloBuilder silo, string connectionString)
    {
        silo.Services.AddSingleton(_ => NpgsqlDataSource.Create(StorageConnectionString(connectionString, SharedMaxAutoPrepare)));
        // The event writer stores the hash columns with the grain storage's own hasher picker.
        silo.Services.AddSingleton(services => new EventStateWriter(
            services.GetRequiredService<NpgsqlDataSource>(),
            services.GetRequiredService<IOptions<ClusterOptions>>(),
            services.GetRequiredService<IOptionsMonitor<AdoNetGrainStorageOptions>>().Get(StorageNames.Default).HashPicker));
        var storageConnectionString = StorageConnectionString(connectionString);
        silo.AddAdoNetGrainStorage(StorageNames.Default, o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = storageConnectionString;
            o.GrainStorageSerializer = new JsonGrainStorageSerializer();
        });
        silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = storageConnectionString;
        });
        return silo;
    }

    /// <summary>
    /// The connection string of the stream provider's pool: <see cref="StorageConnectionString"/>
    /// with every statement planned for the queue as it is when it runs
    /// (<c>plan_cache_mode=force_custom_plan</c>; an operator's own <c>Options</c> come after it and win).
    /// </summary>
    /// <remarks>
    /// A message queue swings between empty and a backlog of thousands within seconds, and its
    /// statements reach the rows they lock by address (<c>ctid = ANY (...)</c>). Once PostgreSQL has
    /// run a prepared statement five times it may keep a generic plan, costed for the table as it was
    /// then. Planned while the queue was nearly empty, a poll scanned the whole table to update the
    /// few messages it took, and kept doing so once a backlog had built up (measured with 13,000
    /// messages queued: 935 buffers to take 25), a cost that grows with the backlog. A custom plan
    /// follows the table; making one costs about 0.3 ms for a poll and 0.02 ms for the insert of a
    /// message (measured warm).
    /// </remarks>
    public static string StreamConnectionString(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(StorageConnectionString(connectionString));
        builder.Options = string.IsNullOrWhiteSpace(builder.Options)
            ? CustomPlans
            : CustomPlans + " " + builder.Options;
        return builder.ConnectionString;
    }

    /// <summary>
    /// The connection string of the grain storage and reminder pool (and, with
    /// <paramref name="maxAutoPrepare"/> <see cref="SharedMaxAutoPrepare"/>, of the silo's own
    /// pool, whose statements leave no session state behind either): the configured one, plus
    /// defaults for keywords it does not set. The providers send the same few statements over and
    /// over, so Npgsql prepares them automatically (<c>Max Auto Prepare</c>) and PostgreSQL stops
    /// parsing and planning each one again; and since these statements leave no session state
    /// behind, a connection returned to the pool needs no reset (<c>No Reset On Close</c>). A
    /// keyword the operator sets (e.g. <c>Max Auto Prepare=0</c> behind a pooler that cannot keep
    /// prepared statements) wins.
    /// </summary>
    public static string StorageConnectionString(string connectionString, int maxAutoPrepare = StorageMaxAutoPrepare)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Keys holds only the keywords the string sets, under their canonical names (any synonym
        // or spelling the operator used is normalised); ContainsKey would answer for every known one.
        var given = builder.Keys.Cast<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (!given.Contains("Max Auto Prepare"))
        {
            builder.MaxAutoPrepare = maxAutoPrepare;
        }
        if (!given.Contains("No Reset On Close"))
        {
            builder.NoResetOnClose = true;
        }
        return builder.ConnectionString;
    }
}
