using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Linking;

/// <summary>Stores one assessment of an event for one investigation.</summary>
internal static class LinkWriter
{
    /// <summary>
    /// Stores the assessment on the event, the one place a link is kept (a link, a suggestion, or
    /// dropping an earlier record). Returns false when there was nothing to store: no decision and no
    /// earlier record of the pair.
    /// </summary>
    public static async Task<bool> ApplyAsync(IGrainFactory grains, Investigation investigation, Event ev, LinkAssessment assessment)
    {
        if (assessment.Decision == LinkDecision.None && !ev.Links.Any(l => l.InvestigationId == investigation.Id))
        {
            return false;
        }
        await grains.GetGrain<IEventGrain>(ev.Id).ApplyAssessmentsAsync([assessment], markChecked: false);
        return true;
    }
}
