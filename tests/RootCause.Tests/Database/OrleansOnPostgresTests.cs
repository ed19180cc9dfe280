using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using Orleans.Storage;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Database;

public interface IGuidProbeGrain : IGrainWithGuidKey
{
    Task<int> AddAsync(string item);

    Task<IReadOnlyList<string>> ItemsAsync();

    Task ClearAsync();

    Task DeactivateAsync();

    Task RegisterReminderAsync(string name);

    Task<bool> HasReminderAsync(string name);

    Task UnregisterReminderAsync(string name);
}

public interface IStringProbeGrain : IGrainWithStringKey
{
    Task<int> AddAsync(string item);
}

[GenerateSerializer]
public sealed class ProbeState
{
    [Id(0)]
    public List<string> Items { get; set; } = [];
}

// Both probes declare their state exactly like the domain grains do.
[GrainType("guid-probe")]
public sealed class GuidProbeGrain(
    [PersistentState("investigation", "rootcause")] IPersistentState<ProbeState> state)
    : Grain, IGuidProbeGrain, IRemindable
{
    public async Task<int> AddAsync(string item)
    {
        state.State.Items.Add(item);
        await state.WriteStateAsync();
        return state.State.Items.Count;
    }

    public Task<IReadOnlyList<string>> ItemsAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Items]);

    public Task ClearAsync() => state.ClearStateAsync();

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task RegisterReminderAsync(string name) =>
        this.RegisterOrUpdateReminder(name, TimeSpan.FromHours(1), TimeSpan.FromHours(2));

    public async Task<bool> HasReminderAsync(string name) => await this.GetReminder(name) is not null;

    public async Task UnregisterReminderAsync(string name)
    {
        var reminder = await this.GetReminder(name) ?? throw new InvalidOperationException($"no reminder {name}");
        await this.UnregisterReminder(reminder);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}

[GrainType("string-probe")]
public sealed class StringProbeGrain(
    [PersistentState("investigation", "rootcause")] IPersistentState<ProbeState> state)
    : Grain, IStringProbeGrain
{
    public async Task<int> AddAsync(string item)
    {
        state.State.Items.Add(item);
        await state.WriteStateAsync();
        return state.State.Items.Count;
    }
}

/// <summary>One silo on a migrated database, configured the way the contract says, shared by the tests.</summary>
public sealed class OrleansPostgresFixture : IAsyncLifetime
{
    public const string ServiceId = "rootcause-tests";

    private IHost? _host;

    public string ConnectionString { get; private set; } = "";

    public IGrainFactory Grains => _host!.Services.GetRequiredService<IGrainFactory>();

    public async Task InitializeAsync()
    {
        ConnectionString = await TestDatabase.CreateAsync("orleans");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = "tests";
                o.ServiceId = ServiceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, FreePort(), FreePort());
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = ConnectionString;
            });
            silo.UseSystemTextJsonGrainStorageSerializer();
            silo.AddAdoNetGrainStorage("rootcause", o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = ConnectionString;
            });
            silo.UseAdoNetReminderService(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = ConnectionString;
            });
        });
        _host = builder.Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }
    }

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed class OrleansOnPostgresTests(OrleansPostgresFixture cluster) : IClassFixture<OrleansPostgresFixture>
{
    [Fact]
    public async Task TheSiloJoinsTheClusterAsAnActiveMember()
    {
        await using var connection = await cluster.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT m.status, v.version FROM orleans_membership m JOIN orleans_membership_version v USING (deployment_id) WHERE deployment_id = 'tests'",
            connection);
        await using var reader = await command.ExecuteReaderAsync();

        Assert.True(await reader.ReadAsync());
        Assert.Equal(3, reader.GetInt32(0));
        Assert.True(reader.GetInt32(1) >= 2, "joining bumps the membership version at least twice (Joining, then Active)");
        Assert.False(await reader.ReadAsync());
    }

    [Fact]
    public async Task StateSurvivesDeactivationAndIsStoredAsJson()
    {
        var key = Guid.NewGuid();
        var grain = cluster.Grains.GetGrain<IGuidProbeGrain>(key);

        Assert.Equal(1, await grain.AddAsync("first"));
        Assert.Equal(2, await grain.AddAsync("second"));
        await grain.DeactivateAsync();

        Assert.Equal(["first", "second"], await grain.ItemsAsync());

        await using var connection = await cluster.OpenAsync();
        var (payload, version) = await ReadStorageRowAsync(connection, key);
        Assert.Equal(2, version);
        using var json = JsonDocument.Parse(payload!);
        Assert.Equal(["first", "second"], json.RootElement.GetProperty("Items").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task OrleansPassesTheStateNameAndTheGuidKeyPartsForAGuidKeyedGrain()
    {
        var key = Guid.NewGuid();
        await cluster.Grains.GetGrain<IGuidProbeGrain>(key).AddAsync("x");

        var bytes = key.ToByteArray();
        var row = await ReadKeyPartsAsync(key);

        Assert.Equal(("investigation", BitConverter.ToInt64(bytes, 0), BitConverter.ToInt64(bytes, 8), (string?)null, OrleansPostgresFixture.ServiceId), row);
    }

    [Fact]
    public async Task OrleansPassesTheStateNameAndTheKeyAsExtensionForAStringKeyedGrain()
    {
        var key = $"inc-{Guid.NewGuid():N}";
        await cluster.Grains.GetGrain<IStringProbeGrain>(key).AddAsync("x");

        Assert.Equal(("investigation", 0L, 0L, (string?)key, OrleansPostgresFixture.ServiceId), await ReadKeyPartsAsync(key));
    }

    [Fact]
    public async Task AHexOnlyStringKeyIsStoredAsAnIntegerKey()
    {
        // Orleans' ADO.NET provider tries Guid, then hexadecimal integer parsing on every key.
        var key = "c0ffee" + Random.Shared.Next(0x100000, 0xFFFFFF).ToString("x6", System.Globalization.CultureInfo.InvariantCulture);
        await cluster.Grains.GetGrain<IStringProbeGrain>(key).AddAsync("x");

        var expected = long.Parse(key, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(("investigation", 0L, expected, (string?)null, OrleansPostgresFixture.ServiceId), await ReadKeyPartsAsync(expected));
    }

    [Fact]
    public async Task EveryStateWriteAndClearRecordsExactlyOneChange()
    {
        var key = Guid.NewGuid();
        var grain = cluster.Grains.GetGrain<IGuidProbeGrain>(key);

        await grain.AddAsync("a");
        await grain.AddAsync("b");
        await grain.ClearAsync();
        await grain.AddAsync("c");

        await using var connection = await cluster.OpenAsync();
        var bytes = key.ToByteArray();
        await using var command = new NpgsqlCommand(
            "SELECT version, cleared, grain_type FROM grain_changes WHERE grain_id_n0 = @n0 AND grain_id_n1 = @n1 ORDER BY seq", connection);
        command.Parameters.AddWithValue("n0", BitConverter.ToInt64(bytes, 0));
        command.Parameters.AddWithValue("n1", BitConverter.ToInt64(bytes, 8));
        var changes = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                changes.Add($"{reader.GetString(2)}:{reader.GetInt32(0)}:{reader.GetBoolean(1)}");
            }
        }

        Assert.Equal(["investigation:1:False", "investigation:2:False", "investigation:3:True", "investigation:4:False"], changes);
        Assert.Equal(["c"], await grain.ItemsAsync());
    }

    [Fact]
    public async Task AStaleWriteIsRejectedWithInconsistentStateAndRecordsNoChange()
    {
        var key = Guid.NewGuid();
        var grain = cluster.Grains.GetGrain<IGuidProbeGrain>(key);
        await grain.AddAsync("mine");

        // Another writer (say, a duplicate activation during a partition) moves the stored version on.
        await using var connection = await cluster.OpenAsync();
        var bytes = key.ToByteArray();
        await using (var other = new NpgsqlCommand(
            "UPDATE orleans_storage SET version = version + 1 WHERE grain_id_n0 = @n0 AND grain_id_n1 = @n1", connection))
        {
            other.Parameters.AddWithValue("n0", BitConverter.ToInt64(bytes, 0));
            other.Parameters.AddWithValue("n1", BitConverter.ToInt64(bytes, 8));
            Assert.Equal(1, await other.ExecuteNonQueryAsync());
        }

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.AddAsync("stale"));

        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM grain_changes WHERE grain_id_n0 = @n0 AND grain_id_n1 = @n1", connection);
        count.Parameters.AddWithValue("n0", BitConverter.ToInt64(bytes, 0));
        count.Parameters.AddWithValue("n1", BitConverter.ToInt64(bytes, 8));
        Assert.Equal(1L, await count.ExecuteScalarAsync());
        var (_, version) = await ReadStorageRowAsync(connection, key);
        Assert.Equal(2, version);
    }

    [Fact]
    public async Task AReminderIsWrittenReadAndDeleted()
    {
        var key = Guid.NewGuid();
        var grain = cluster.Grains.GetGrain<IGuidProbeGrain>(key);

        await grain.RegisterReminderAsync("poll");
        Assert.True(await grain.HasReminderAsync("poll"));
        Assert.False(await grain.HasReminderAsync("other"));

        await using var connection = await cluster.OpenAsync();
        await using (var command = new NpgsqlCommand(
            "SELECT grain_id, period, version, start_time > now() FROM orleans_reminders WHERE reminder_name = 'poll' AND grain_id LIKE @id",
            connection))
        {
            command.Parameters.AddWithValue("id", $"guid-probe/{key:N}");
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal($"guid-probe/{key:N}", reader.GetString(0));
            Assert.Equal((long)TimeSpan.FromHours(2).TotalMilliseconds, reader.GetInt64(1));
            Assert.Equal(0, reader.GetInt32(2));
            Assert.True(reader.GetBoolean(3));
            Assert.False(await reader.ReadAsync());
        }

        await grain.UnregisterReminderAsync("poll");

        Assert.False(await grain.HasReminderAsync("poll"));
        await using var remaining = new NpgsqlCommand("SELECT count(*) FROM orleans_reminders WHERE grain_id = @id", connection);
        remaining.Parameters.AddWithValue("id", $"guid-probe/{key:N}");
        Assert.Equal(0L, await remaining.ExecuteScalarAsync());
    }

    private static async Task<(string? Payload, int Version)> ReadStorageRowAsync(NpgsqlConnection connection, Guid key)
    {
        var bytes = key.ToByteArray();
        await using var command = new NpgsqlCommand(
            "SELECT convert_from(payload_binary, 'UTF8'), version FROM orleans_storage WHERE grain_id_n0 = @n0 AND grain_id_n1 = @n1",
            connection);
        command.Parameters.AddWithValue("n0", BitConverter.ToInt64(bytes, 0));
        command.Parameters.AddWithValue("n1", BitConverter.ToInt64(bytes, 8));
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var row = (reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt32(1));
        Assert.False(await reader.ReadAsync());
        return row;
    }

    private Task<(string, long, long, string?, string)> ReadKeyPartsAsync(Guid key)
    {
        var bytes = key.ToByteArray();
        return ReadKeyPartsAsync("grain_id_n0 = @n0 AND grain_id_n1 = @n1", ("n0", BitConverter.ToInt64(bytes, 0)), ("n1", BitConverter.ToInt64(bytes, 8)));
    }

    private Task<(string, long, long, string?, string)> ReadKeyPartsAsync(string key) =>
        ReadKeyPartsAsync("grain_id_extension = @key", ("key", key));

    private Task<(string, long, long, string?, string)> ReadKeyPartsAsync(long integerKey) =>
        ReadKeyPartsAsync("grain_id_n0 = 0 AND grain_id_n1 = @n1 AND grain_id_extension IS NULL", ("n1", integerKey));

    private async Task<(string, long, long, string?, string)> ReadKeyPartsAsync(string where, params (string Name, object Value)[] parameters)
    {
        await using var connection = await cluster.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT grain_type, grain_id_n0, grain_id_n1, grain_id_extension, service_id FROM orleans_storage WHERE {where}", connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var row = (reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4));
        Assert.False(await reader.ReadAsync());
        return row;
    }
}
