using System.Text.RegularExpressions;
using RootCause.Linking;

namespace RootCause.Events;

/// <summary>
/// Recognises a CI run that changed what runs in production: a step, job or stage running an
/// infrastructure or cluster apply, a chart upgrade, a GitOps sync, or anything told to act on the
/// production environment; or a job that deployed to a production environment. Builds, tests,
/// lints, plans, validations and releases to other environments do not match. A successful CI run
/// that released is a deployment: connectors keep it, and the linker weighs it as one.
/// </summary>
public static partial class ReleaseSteps
{
    [GeneratedRegex(
        @"\bterraform\s+apply\b|\bkubectl\s+(apply|rollout|set\s+image)\b|\bhelm\s+(upgrade|install)\b|\bargocd\s+app\s+sync\b|\bflux\s+reconcile\b"
        + @"|--env(ironment)?[ =](prod|production)\b|\b(deploy|release|rollout|promote)(s|ing|ment)?[\s_-]+(to[\s_-]+)?(prod|production)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Release();

    public static bool IsRelease(string? command) => command is not null && Release().IsMatch(command);

    /// <summary>
    /// What released to production in a run with this step, job, stage and deployment environment:
    /// the first of step, job and stage that reads as a release, else the job and its production
    /// environment; null when nothing did.
    /// </summary>
    public static string? Describe(string? step, string? job, string? stage, string? environment) =>
        new[] { step, job, stage }.FirstOrDefault(IsRelease)
        ?? (environment is not null && EventFacts.IsProduction(environment) ? $"job {job ?? "unnamed"}, environment {environment}" : null);
}
