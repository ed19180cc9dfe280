using Npgsql;

namespace RootCause.Tests.Infrastructure;

/// <summary>
/// The linker writes too (it marks events evaluated, investigations retro-linked): waits until it is
/// done with what was written and the change sequence has been still for 1.5 s, so every index
/// compared afterwards sees the same final states.
/// </summary>
public static class LinkerSettle
{
    public static async Task WaitAsync(string connectionString)
    {
        await using var db = NpgsqlDataSource.Create(connectionString);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        long last = -1;
        var stableSince = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            await using var command = db.CreateCommand(
                """
                SELECT (SELECT coalesce(max(seq), 0) FROM grain_changes),
                       (SELECT count(*) FROM orleans_storage WHERE grain_type = 'event'
                          AND convert_from(payload_binary, 'UTF8')::jsonb ->> 'linker_checked_at' IS NULL)
                """);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            var (seq, unevaluated) = (reader.GetInt64(0), reader.GetInt64(1));
            if (seq != last)
            {
                last = seq;
                stableSince = DateTime.UtcNow;
            }
            else if (unevaluated == 0 && DateTime.UtcNow - stableSince > TimeSpan.FromSeconds(1.5))
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail("the linker did not settle within 60 s");
    }
}
