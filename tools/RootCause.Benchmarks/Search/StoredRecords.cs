using System.Text.Json;
using RootCause.Common;
using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Benchmarks.Search;

/// <summary>
/// The stored state the grains write, built with the grains' own rules: the bulk path stores
/// exactly these bytes. Checked against states written through the grains (see
/// <see cref="SearchBenchmark"/>, "identity check").
/// </summary>
public static class StoredRecords
{
    /// <summary>
    /// What <c>InvestigationGrain.CreateAsync</c> stores for <paramref name="fields"/> when its clock
    /// reads <paramref name="updatedAt"/>, except that <c>created_at</c> is <paramref name="createdAt"/>
    /// (the time the investigation was opened; a grain create at that time followed by the closing
    /// update would have stored the same fields as version 2).
    /// </summary>
    public static InvestigationState Investigation(Guid id, InvestigationFields fields, DateTimeOffset createdAt, DateTimeOffset updatedAt)
    {
        var state = new InvestigationState
        {
            SchemaVersion = InvestigationState.CurrentSchemaVersion,
            Id = id,
            CreatedAt = createdAt,
            Tags = [],
            RelatedInvestigationIds = [],
            Notes = [],
        };
        InvestigationRules.Apply(state, fields, updatedAt, creating: true);
        state.UpdatedAt = updatedAt;
        state.Version = 1;
        return state;
    }

    /// <summary>What <c>EventGrain.IngestAsync</c> stores for <paramref name="draft"/> when its clock reads <paramref name="parsedAt"/>.</summary>
    public static EventState Event(EventDraft draft, DateTimeOffset parsedAt) =>
        EventState.Ingested(draft, EventRules.Validate(draft, parsedAt), parsedAt);

    /// <summary>What <c>EventGrain.SetInvestigationLinkAsync(id, true)</c> stores on top of <paramref name="state"/> at <paramref name="now"/>.</summary>
    public static EventState Linked(EventState state, Guid investigationId, DateTimeOffset now)
    {
        var next = state.CloneState();
        (next.InvestigationIds ??= []).Add(investigationId);
        next.LinkedAt ??= now;
        next.Version = state.Version + 1;
        return next;
    }

    public static byte[] Serialize(InvestigationState state) => JsonSerializer.SerializeToUtf8Bytes(state, RootCauseJson.Options);

    public static byte[] Serialize(EventState state) => JsonSerializer.SerializeToUtf8Bytes(state, RootCauseJson.Options);

}
