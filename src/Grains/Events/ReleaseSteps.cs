using System.Text.RegularExpressions;

namespace RootCause.Events;

/// <summary>
/// Recognises a CI step (or job, or stage) that changes what runs in production: infrastructure
/// and cluster applies, chart upgrades, GitOps syncs, and anything told to act on the production
/// environment. Builds, tests, lints, plans, validations and releases to other environments do
/// not match. A successful CI job with such a step is a deployment: connectors keep it, and the
/// linker weighs it as one.
/// </summary>
public static partial class ReleaseSteps
{
    [GeneratedRegex(
        @"\bterraform\s+apply\b|\bkubectl\s+(apply|rollout|set\s+image)\b|\bhelm\s+(upgrade|install)\b|\bargocd\s+app\s+sync\b|\bflux\s+reconcile\b"
        + @"|--env(ironment)?[ =](prod|production)\b|\b(deploy|release|rollout|promote)(s|ing|ment)?[\s_-]+(to[\s_-]+)?(prod|production)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Release();

    public static bool IsRelease(string? command) => command is not null && Release().IsMatch(command);

    /// <summary>The first of <paramref name="candidates"/> that releases to production, or null.</summary>
    public static string? FirstRelease(params string?[] candidates) => candidates.FirstOrDefault(IsRelease);
}
