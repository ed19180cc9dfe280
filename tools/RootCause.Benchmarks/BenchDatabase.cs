using System.Globalization;
using Npgsql;
using RootCause.Database;

namespace RootCause.Benchmarks;

/// <summary>The run's own database on the given server: created fresh, dropped at the end unless kept.</summary>
public sealed class BenchDatabase
{
    private readonly string _serverConnectionString;

    private BenchDatabase(string serverConnectionString, string name, string connectionOptions)
    {
        _serverConnectionString = serverConnectionString;
        Name = name;
        var database = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name }.ConnectionString;
        // Later keywords win; the builder rejects unknown ones here rather than half-way through the run.
        var builder = new NpgsqlConnectionStringBuilder(connectionOptions.Length > 0 ? $"{database};{connectionOptions}" : database);
        ConnectionString = builder.ConnectionString;
    }

    public string Name { get; }

    /// <summary>The connection string of the run's database, as the silo and the baseline use it (same pool settings).</summary>
    public string ConnectionString { get; }

    public static async Task<BenchDatabase> CreateAsync(string serverConnectionString, string connectionOptions, TimeProvider time)
    {
        var name = string.Create(CultureInfo.InvariantCulture,
            $"bench_{time.GetUtcNow():yyyyMMdd_HHmmss}_{Random.Shared.Next():x8}");
        var database = new BenchDatabase(serverConnectionString, name, connectionOptions);
        if (!await DatabaseMigrator.EnsureDatabaseExistsAsync(database.ConnectionString))
        {
            throw new InvalidOperationException($"Database {name} already exists; refusing to benchmark into it.");
        }
        return database;
    }

    public async Task DropAsync()
    {
        var maintenance = new NpgsqlConnectionStringBuilder(_serverConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>Server facts that decide what a commit costs, printed with the results.</summary>
    public async Task<IReadOnlyList<(string Name, string Value)>> ServerSettingsAsync()
    {
        await using var source = NpgsqlDataSource.Create(ConnectionString);
        var settings = new List<(string, string)>();
        await using (var version = source.CreateCommand("SHOW server_version"))
        {
            settings.Add(("server_version", (string)(await version.ExecuteScalarAsync())!));
        }
        foreach (var name in new[] { "fsync", "synchronous_commit", "wal_sync_method", "commit_delay", "shared_buffers", "max_connections" })
        {
            await using var show = source.CreateCommand($"SHOW {name}");
            settings.Add((name, (string)(await show.ExecuteScalarAsync())!));
        }
        return settings;
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var source = NpgsqlDataSource.Create(ConnectionString);
        await using var command = source.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
