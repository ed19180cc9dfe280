using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Linking;

/// <summary>Stores one assessment of an event for one investigation, on both sides.</summary>
internal static class LinkWriter
{
    /// <summary>
    /// Stores the assessment on the event (a link, a suggestion, or dropping an earlier record) and
    /// brings the investigation's <c>event_ids</c> in line. Returns false when there was nothing to
    /// store: no decision and no earlier record of the pair.
    /// </summary>
    public static async Task<bool> ApplyAsync(IGrainFactory grains, Investigation investigation, Event ev, LinkAssessment assessment)
    {
        var known = ev.Links.Any(l => l.InvestigationId == investigation.Id) || investigation.EventIds.Contains(ev.Id);
        if (assessment.Decision == LinkDecision.None && !known)
        {
            return false;
        }
        var applied = await grains.GetGrain<IEventGrain>(ev.Id).ApplyAssessmentsAsync([assessment], markChecked: false);
        if (applied.Linked.Contains(investigation.Id) || investigation.EventIds.Contains(ev.Id))
        {
            await grains.GetGrain<IInvestigationGrain>(investigation.Id).SyncEventLinkAsync(ev.Id);
        }
        return true;
    }
}
