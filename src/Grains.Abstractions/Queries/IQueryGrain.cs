using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Queries;

/// <summary>One page of a list, with the total count of matching records.</summary>
[GenerateSerializer, Immutable, Alias("rc.Page`1")]
public sealed record Page<T>(
    [property: Id(0)] IReadOnlyList<T> Items,
    [property: Id(1)] long Total,
    [property: Id(2)] int Number,
    [property: Id(3)] int PerPage);

/// <summary>A page request: 1-based page number, page size, and whether soft-deleted records count.</summary>
[GenerateSerializer, Immutable, Alias("rc.PageRequest")]
public sealed record PageRequest(
    [property: Id(0)] int Number,
    [property: Id(1)] int PerPage,
    [property: Id(2)] bool IncludeDeleted);

/// <summary>
/// Answers list queries on the silo that received the request (a stateless worker, activated
/// locally). Lists are newest first, by creation time for investigations and by event
/// timestamp for events, ties broken by id so paging is stable.
/// </summary>
[Alias("rc.IQueryGrain")]
public interface IQueryGrain : IGrainWithIntegerKey
{
    Task<Page<Investigation>> ListInvestigationsAsync(PageRequest request);

    Task<Page<Event>> ListEventsAsync(PageRequest request);
}
