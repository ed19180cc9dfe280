using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using RootCause.Api.Common;
using RootCause.Catalog;
using RootCause.Common;

namespace RootCause.Api.Catalog;

/// <summary>
/// The service catalog: components with aliases, repositories, path prefixes, pipelines and
/// dependencies. The catalog's version is its ETag; every write may send If-Match to fail on a
/// concurrent change (412) instead of overwriting it.
/// </summary>
public static class CatalogApi
{
    public static RouteGroupBuilder MapCatalog(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/catalog").WithTags("Service catalog");
        group.MapGet("/", GetAsync).WithSummary("The whole catalog, with its version as ETag");
        group.MapGet("/components/{name}", GetComponentAsync).WithSummary("One component, by name or alias");
        group.MapPut("/components/{name}", PutAsync).WithSummary("Create or replace a component");
        group.MapDelete("/components/{name}", DeleteAsync).WithSummary("Remove a component (409 while others depend on it)");
        group.MapGet("/components/{name}/dependencies", DependenciesAsync)
            .WithSummary("Components within `hops` dependency edges (default 2): its dependencies and its dependents");
        group.MapPost("/import", ImportAsync).WithSummary("Load many components; replace=true makes the catalog exactly these");
        return group;
    }

    private static ICatalogGrain Catalog(IGrainFactory grains) => grains.GetGrain<ICatalogGrain>(0);

    private static Ok<CatalogSnapshot> WithETag(HttpContext context, CatalogSnapshot snapshot)
    {
        context.Response.Headers.ETag = ETags.Format(snapshot.Version);
        return TypedResults.Ok(snapshot);
    }

    private static async Task<Ok<CatalogSnapshot>> GetAsync(IGrainFactory grains, HttpContext context) =>
        WithETag(context, await Catalog(grains).GetAsync());

    private static async Task<Ok<Component>> GetComponentAsync(string name, IGrainFactory grains, HttpContext context)
    {
        var snapshot = await Catalog(grains).GetAsync();
        context.Response.Headers.ETag = ETags.Format(snapshot.Version);
        return TypedResults.Ok(new ServiceCatalog(snapshot).Resolve(name) ?? throw new NotFoundException("component", name));
    }

    private static async Task<Ok<CatalogSnapshot>> PutAsync(string name, Component component, IGrainFactory grains, HttpContext context)
    {
        if (component.Name is { Length: > 0 } bodyName && !string.Equals(bodyName.Trim(), name.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            throw new ValidationFailedException("name", $"The body names '{bodyName}' but the path names '{name}'.");
        }
        return WithETag(context, await Catalog(grains).UpsertAsync(component with { Name = name }, ETags.OptionalExpectedVersion(context.Request)));
    }

    private static async Task<NoContent> DeleteAsync(string name, IGrainFactory grains, HttpContext context)
    {
        var snapshot = await Catalog(grains).RemoveAsync(name, ETags.OptionalExpectedVersion(context.Request));
        context.Response.Headers.ETag = ETags.Format(snapshot.Version);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<DependenciesResponse>> DependenciesAsync(string name, IGrainFactory grains, HttpContext context)
    {
        var p = new QueryParams(context.Request);
        var hops = p.Int("hops", 2, 1, 10);
        p.ThrowIfAny();
        var catalog = new ServiceCatalog(await Catalog(grains).GetAsync());
        var component = catalog.Resolve(name) ?? throw new NotFoundException("component", name);
        return TypedResults.Ok(new DependenciesResponse(component.Name,
            [.. catalog.Neighbourhood(component.Name, hops).Select(n => new DependencyEntry(n.Name, n.Hops, n.Direction))]));
    }

    private static async Task<Ok<CatalogSnapshot>> ImportAsync(CatalogImport body, IGrainFactory grains, HttpContext context)
    {
        var p = new QueryParams(context.Request);
        var replace = p.Bool("replace");
        p.ThrowIfAny();
        var components = body.Components ?? throw new ValidationFailedException("components", "components is required: a list of components.");
        return WithETag(context, await Catalog(grains).ImportAsync(components, replace, ETags.OptionalExpectedVersion(context.Request)));
    }
}

/// <summary>The body of POST /api/catalog/import, also the shape of a catalog file.</summary>
public sealed record CatalogImport(IReadOnlyList<Component>? Components);

public sealed record DependencyEntry(string Name, int Hops, string Direction);

public sealed record DependenciesResponse(string Component, IReadOnlyList<DependencyEntry> Dependencies);
