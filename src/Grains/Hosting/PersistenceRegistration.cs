using RootCause.Common;

namespace RootCause.Hosting;

public static class PersistenceRegistration
{
    /// <summary>The ADO.NET invariant name Orleans uses to find Npgsql.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>
    /// Grain state and reminders on PostgreSQL, through the SQL in our migrations. State is
    /// System.Text.Json in RootCause's JSON shape, and every write advances the change sequence.
    /// </summary>
    public static ISiloBuilder AddRootCausePersistence(this ISiloBuilder silo, string connectionString)
    {
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
