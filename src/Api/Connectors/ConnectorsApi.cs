using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using RootCause.Common;
using RootCause.Connectors;

namespace RootCause.Api.Connectors;

/// <summary>A backfill's time range: from inclusive, to exclusive.</summary>
public sealed record BackfillRequest(DateTimeOffset? From, DateTimeOffset? To);

/// <summary>A connector's state at a glance: cursor, the run in progress or the last one, polling, and this silo's breaker.</summary>
public sealed record ConnectorStatusView(
    string Name,
    ConnectorKind? Kind,
    bool Enabled,
    ConnectorCursor? Cursor,
    ConnectorRun? Run,
    bool Polling,
    DateTimeOffset? LastDeliveryAt,
    CircuitBreakerStatus? CircuitBreaker);

/// <summary>
/// Connectors: their config (secrets only as references), cursor and runs. Syncs and backfills
/// run in the background and answer 202 with the run; <c>wait=true</c> answers when it is done.
/// </summary>
public static class ConnectorsApi
{
    public static RouteGroupBuilder MapConnectors(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin/connectors").WithTags("Connectors");
        group.MapGet("/", ListAsync).WithSummary("Every configured connector, by name");
        group.MapGet("/{name}", GetAsync).WithSummary("One connector: config (secret references only), cursor, run, polling");
        group.MapPut("/{name}", PutAsync)
            .WithSummary("Create or replace a connector's config; 201 when created, 200 when replaced")
            .WithDescription("kind is git, github or gitlab. Secrets are references (env:NAME or file:/path), resolved on the silo at use.");
        group.MapDelete("/{name}", DeleteAsync).WithSummary("Remove the connector, its cursor and its polling");
        group.MapPost("/{name}/sync", SyncAsync)
            .WithSummary("Ingest everything after the cursor now (202 with the run; wait=true answers 200 when it has finished)");
        group.MapPost("/{name}/backfill", BackfillAsync)
            .WithSummary("Ingest a time range {from, to} without moving the cursor (202 with the run; wait=true waits)");
        group.MapGet("/{name}/status", StatusAsync).WithSummary("Cursor, progress of the run in progress (or the last run), polling, breaker");
        return group;
    }

    private static IConnectorGrain Grain(IGrainFactory grains, string name) => grains.GetGrain<IConnectorGrain>(name);

    private static async Task<Ok<IReadOnlyList<ConnectorInfo>>> ListAsync(IGrainFactory grains)
    {
        var names = await grains.GetGrain<IConnectorDirectoryGrain>(0).ListAsync();
        var infos = await Task.WhenAll(names.Select(n => Grain(grains, n).GetAsync()));
        return TypedResults.Ok<IReadOnlyList<ConnectorInfo>>(infos.OfType<ConnectorInfo>().ToList());
    }

    private static async Task<Ok<ConnectorInfo>> GetAsync(string name, IGrainFactory grains) =>
        TypedResults.Ok(await Find(grains, name));

    private static async Task<Results<Created<ConnectorInfo>, Ok<ConnectorInfo>>> PutAsync(string name, ConnectorConfig? config, IGrainFactory grains)
    {
        if (!ConnectorNames.IsValid(name))
        {
            throw new ValidationFailedException("name", $"name must be {ConnectorNames.Rule}.");
        }
        var info = await Grain(grains, name).PutAsync(config!);
        return info.Version == 1 ? TypedResults.Created($"/api/admin/connectors/{name}", info) : TypedResults.Ok(info);
    }

    private static async Task<NoContent> DeleteAsync(string name, IGrainFactory grains)
    {
        await Find(grains, name);
        await Grain(grains, name).DeleteAsync();
        return TypedResults.NoContent();
    }

    private static async Task<Results<Accepted<ConnectorRun>, Ok<ConnectorRun>>> SyncAsync(string name, IGrainFactory grains, [FromQuery] bool wait = false)
    {
        await Find(grains, name);
        var run = await Grain(grains, name).SyncAsync(wait);
        return Answer(name, run);
    }

    private static async Task<Results<Accepted<ConnectorRun>, Ok<ConnectorRun>>> BackfillAsync(string name, BackfillRequest? range, IGrainFactory grains,
        [FromQuery] bool wait = false)
    {
        await Find(grains, name);
        var errors = new ValidationErrors();
        if (range?.From is null)
        {
            errors.Add("from", "from is required (ISO-8601, e.g. 2026-01-01T00:00:00Z).");
        }
        if (range?.To is null)
        {
            errors.Add("to", "to is required (ISO-8601, e.g. 2026-02-01T00:00:00Z).");
        }
        errors.ThrowIfAny();
        var run = await Grain(grains, name).BackfillAsync(range!.From!.Value, range.To!.Value, wait);
        return Answer(name, run);
    }

    private static async Task<Ok<ConnectorStatusView>> StatusAsync(string name, IGrainFactory grains)
    {
        var info = await Find(grains, name);
        // The breaker as the silo that runs the connector holds it, whichever silo answers.
        var breaker = await Grain(grains, name).GetBreakerAsync();
        return TypedResults.Ok(new ConnectorStatusView(info.Name, info.Config.Kind, info.Config.Enabled, info.Cursor, info.Run, info.Polling,
            info.LastDeliveryAt, breaker));
    }

    private static Results<Accepted<ConnectorRun>, Ok<ConnectorRun>> Answer(string name, ConnectorRun run) =>
        run.State == ConnectorRunState.Running
            ? TypedResults.Accepted($"/api/admin/connectors/{name}/status", run)
            : TypedResults.Ok(run);

    private static async Task<ConnectorInfo> Find(IGrainFactory grains, string name) =>
        (ConnectorNames.IsValid(name) ? await Grain(grains, name).GetAsync() : null) ?? throw new NotFoundException("connector", name);
}
