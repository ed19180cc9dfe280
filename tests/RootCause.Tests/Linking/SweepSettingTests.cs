using Npgsql;
using RootCause.Tests.Connectors;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Linking;

/// <summary>
/// <c>Linker:Sweep</c>: on (the default) a silo puts the cluster's sweep of never-evaluated events on
/// its reminder; off it does not, so nothing is handed to the linker behind the operator's back.
/// </summary>
public sealed class SweepSettingTests
{
    private static async Task<long> SweepRemindersAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM orleans_reminders WHERE grain_id LIKE 'linker-sweep/%'", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<(long Reminders, TimeSpan After)> RunSiloAsync(string name, TimeSpan watch, params string[] extra)
    {
        var connectionString = await TestDatabase.CreateAsync(name, migrate: false);
        var (app, http) = await ConnectorSiloFixture.StartSiloAsync(connectionString, name + "-" + Guid.NewGuid().ToString("N")[..8], extra);
        try
        {
            var started = DateTimeOffset.UtcNow;
            var reminders = await Eventually.ReturnsAsync(() => SweepRemindersAsync(connectionString), n => n > 0, watch);
            return (reminders, DateTimeOffset.UtcNow - started);
        }
        finally
        {
            await ConnectorSiloFixture.StopAsync(app, http);
        }
    }

    [Fact]
    public async Task TheSweepIsScheduledUnlessSwitchedOff()
    {
        var (on, after) = await RunSiloAsync("sweepon", TimeSpan.FromSeconds(30));
        Assert.Equal(1, on);

        // Watched three times as long as the default took (at least 5 s): still nothing.
        var watch = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(5).Ticks, after.Ticks * 3));
        var (off, _) = await RunSiloAsync("sweepoff", watch, "--Linker:Sweep=false");
        Assert.Equal(0, off);
    }
}
