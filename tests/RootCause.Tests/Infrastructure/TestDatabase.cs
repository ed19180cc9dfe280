using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RootCause.Database;

namespace RootCause.Tests.Infrastructure;

/// <summary>
/// Real PostgreSQL databases for tests. The server comes from <c>ROOTCAUSE_TEST_POSTGRES</c>, which
/// <c>scripts/test.sh</c> sets after starting a throwaway cluster; every test gets its own database.
/// </summary>
public static class TestDatabase
{
    /// <summary>The environment variable holding the server's connection string (no database).</summary>
    public const string EnvironmentVariable = "ROOTCAUSE_TEST_POSTGRES";

    /// <summary>The server connection string, without a database.</summary>
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{EnvironmentVariable} is not set. The tests need a real PostgreSQL server: run them with " +
                "`bash scripts/test.sh` from the repository root (it starts a throwaway PostgreSQL and sets " +
                $"{EnvironmentVariable}), or set it yourself, e.g. " +
                $"{EnvironmentVariable}=\"Host=127.0.0.1;Port=5432;Username=postgres;Password=...\".");

    /// <summary>
    /// Creates a fresh database whose name starts with <paramref name="name"/> and is unique to this
    /// call (dropping one of the same name if it exists), applies the migrations unless
    /// <paramref name="migrate"/> is false, and returns its connection string.
    /// </summary>
    public static async Task<string> CreateAsync(string name, bool migrate = true)
    {
        var database = UniqueName(name);
        var server = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = "postgres", Pooling = false };
        await using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(ServerConnectionString)
        {
            Database = database,
            IncludeErrorDetail = true,
            // Many fixtures come and go in one run, each with its own pools (Orleans' providers pool
            // per connection string). Idle connections close quickly so the run's total stays far
            // below the server's max_connections instead of growing with every finished fixture.
            ConnectionIdleLifetime = 10,
            ConnectionPruningInterval = 2,
        }.ConnectionString;

        if (migrate)
        {
            await DatabaseMigrator.MigrateAsync(connectionString, NullLogger.Instance);
        }

        return connectionString;
    }

    // PostgreSQL identifiers: at most 63 bytes; lower-case letters, digits and '_' need no quoting care.
    private static string UniqueName(string name)
    {
        var cleaned = new StringBuilder("t_");
        foreach (var c in name.ToLowerInvariant())
        {
            cleaned.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '_');
        }

        var prefix = cleaned.Length > 48 ? cleaned.ToString(0, 48) : cleaned.ToString();
        var suffix = Random.Shared.Next().ToString("x8", CultureInfo.InvariantCulture);
        return $"{prefix}_{suffix}";
    }
}
