using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace RootCause.Database;

/// <summary>
/// Applies the numbered SQL migrations embedded in this assembly (<c>Database/Migrations/NNNN_name.sql</c>)
/// to a PostgreSQL database. Migrations are forward-only and checksummed; every silo runs this at
/// start-up, and a session-level advisory lock makes silos that start together take turns.
/// </summary>
public static partial class DatabaseMigrator
{
    private const string ResourcePrefix = "RootCause.Migrations.";

    // Advisory locks are per database, so one constant key serialises migrators of the same database only.
    private const long MigrationLockKey = 0x526F6F7443617573; // "RootCaus"

    private const string CreateMigrationsTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations
        (
            version integer NOT NULL PRIMARY KEY,
            name text NOT NULL,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """;

    /// <summary>
    /// Applies every embedded migration the database does not have yet, each in its own transaction,
    /// and returns how many this call applied (0 when the database is up to date).
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// An applied migration's file changed since it was applied (its checksum differs), or two
    /// embedded migrations share a number.
    /// </exception>
    public static async Task<int> MigrateAsync(string connectionString, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(logger);

        var migrations = LoadEmbeddedMigrations();

        // A dedicated, unpooled connection: the advisory lock lives exactly as long as this session,
        // so a silo that dies mid-migration releases it with its connection.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);

        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({MigrationLockKey})", cancellationToken);
        try
        {
            await ExecuteAsync(connection, CreateMigrationsTable, cancellationToken);
            var applied = await ReadAppliedAsync(connection, cancellationToken);
            Verify(migrations, applied, logger);

            var count = 0;
            foreach (var migration in migrations.Where(m => !applied.ContainsKey(m.Version)))
            {
                await ApplyAsync(connection, migration, cancellationToken);
                LogApplied(logger, migration.Version, migration.Name);
                count++;
            }

            if (count == 0)
            {
                LogUpToDate(logger, migrations.Count);
            }

            return count;
        }
        finally
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({MigrationLockKey})", CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// Creates the database named in <paramref name="connectionString"/> if it does not exist, by
    /// connecting to the <c>postgres</c> maintenance database of the same server.
    /// </summary>
    /// <returns><see langword="true"/> when this call created the database.</returns>
    public static async Task<bool> EnsureDatabaseExistsAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        var database = target.Database;
        if (string.IsNullOrEmpty(database))
        {
            throw new ArgumentException("The connection string names no database (Database=...).", nameof(connectionString));
        }

        var maintenance = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync(cancellationToken);

        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection))
        {
            exists.Parameters.AddWithValue("name", database);
            if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
            {
                return false;
            }
        }

        try
        {
            // CREATE DATABASE takes no parameters; the name is quoted as an identifier instead.
            await ExecuteAsync(connection, $"CREATE DATABASE {QuoteIdentifier(database)}", cancellationToken);
            return true;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another silo created it between our check and our CREATE.
            return false;
        }
    }

    /// <summary>The embedded migrations, ordered by number.</summary>
    public static IReadOnlyList<Migration> LoadEmbeddedMigrations()
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var fileName = resource[ResourcePrefix.Length..];
            var match = MigrationFileName().Match(fileName);
            if (!match.Success)
            {
                throw new InvalidOperationException(
                    $"Embedded migration '{fileName}' is not named NNNN_name.sql.");
            }

            var sql = ReadResource(assembly, resource);
            migrations.Add(new Migration(
                int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture),
                match.Groups["name"].Value,
                sql,
                Checksum(sql)));
        }

        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Two embedded migrations share number {duplicate.Key}: {string.Join(", ", duplicate.Select(m => m.Name))}.");
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        return migrations;
    }

    private static void Verify(IReadOnlyList<Migration> migrations, Dictionary<int, AppliedMigration> applied, ILogger logger)
    {
        foreach (var migration in migrations)
        {
            if (applied.TryGetValue(migration.Version, out var row) && row.Checksum != migration.Checksum)
            {
                throw new InvalidOperationException(
                    $"Migration {migration.Version:D4}_{migration.Name} was changed after it was applied " +
                    $"(applied checksum {row.Checksum}, file checksum {migration.Checksum}). Migrations are " +
                    "forward-only: restore the original file and put the change in a new, higher-numbered migration.");
            }
        }

        var known = migrations.Select(m => m.Version).ToHashSet();
        foreach (var row in applied.Values.Where(r => !known.Contains(r.Version)))
        {
            // A newer silo migrated this database (e.g. during a rolling upgrade); forward-only
            // migrations keep older silos working, so this is worth a warning, not a refusal.
            LogUnknownApplied(logger, row.Version, row.Name);
        }
    }

    private static async Task ApplyAsync(NpgsqlConnection connection, Migration migration, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var apply = new NpgsqlCommand(migration.Sql, connection, transaction))
        {
            await apply.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var record = new NpgsqlCommand(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)",
            connection,
            transaction))
        {
            record.Parameters.AddWithValue("version", migration.Version);
            record.Parameters.AddWithValue("name", migration.Name);
            record.Parameters.AddWithValue("checksum", migration.Checksum);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task<Dictionary<int, AppliedMigration>> ReadAppliedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var applied = new Dictionary<int, AppliedMigration>();
        await using var command = new NpgsqlCommand("SELECT version, name, checksum FROM schema_migrations", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new AppliedMigration(reader.GetInt32(0), reader.GetString(1), reader.GetString(2));
            applied.Add(row.Version, row);
        }

        return applied;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string ReadResource(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource '{resource}' could not be opened.");
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// SHA-256 of the file text with line endings normalised, so a checkout with CRLF line endings
    /// does not look like an edited migration.
    /// </summary>
    internal static string Checksum(string sql)
    {
        var normalised = sql.Replace("\r\n", "\n", StringComparison.Ordinal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));
    }

    private static string QuoteIdentifier(string identifier) =>
        "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    [GeneratedRegex(@"^(?<version>\d+)_(?<name>[A-Za-z0-9_\-]+)\.sql$")]
    private static partial Regex MigrationFileName();

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied database migration {Version:D4} {Name}")]
    private static partial void LogApplied(ILogger logger, int version, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema is up to date ({Count} migrations)")]
    private static partial void LogUpToDate(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Database has migration {Version:D4} {Name}, which this build does not know; a newer build applied it")]
    private static partial void LogUnknownApplied(ILogger logger, int version, string name);

    private sealed record AppliedMigration(int Version, string Name, string Checksum);

    /// <summary>One embedded migration file.</summary>
    /// <param name="Version">The number the file name starts with.</param>
    /// <param name="Name">The rest of the file name, without extension.</param>
    /// <param name="Sql">The file's text.</param>
    /// <param name="Checksum">SHA-256 (hex) of the text, line endings normalised.</param>
    public sealed record Migration(int Version, string Name, string Sql, string Checksum);
}
