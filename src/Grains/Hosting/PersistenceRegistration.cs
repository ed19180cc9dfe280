using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RootCause.Common;

namespace RootCause.Hosting;

public static class PersistenceRegistration
{
    /// <summary>The ADO.NET invariant name Orleans uses to find Npgsql.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>
    /// Grain state and reminders on PostgreSQL, through the SQL in our migrations. State is
    /// System.Text.Json in RootCause's JSON shape, and every write advances the change sequence.
    /// Also registers the shared <see cref="NpgsqlDataSource"/> for the silo's own queries.
    /// </summary>
    public static ISiloBuilder AddRootCausePersistence(this ISiloBuilder silo, string connectionString)
    {
        silo.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        silo.AddAdoNetGrainStorage(StorageNames.Default, o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = connectionString;
            o.GrainStorageSerializer = new JsonGrainStorageSerializer();
        });
        silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = connectionString;
        });
        return silo;
    }
}
