namespace RootCause.Connectors;

/// <summary>
/// Secrets are configured by reference and read where they are used: <c>env:NAME</c> (an
/// environment variable of the silo) or <c>file:/path</c> (e.g. a mounted Docker or Kubernetes
/// secret; one trailing line break is dropped). A secret's value never appears in state, answers,
/// exceptions or logs: errors name the reference only.
/// </summary>
public static class SecretReferences
{
    public const string Rule = "a reference env:NAME or file:/absolute/path, never the secret itself";

    public static bool IsValid(string? reference)
    {
        if (reference is null)
        {
            return false;
        }
        if (reference.StartsWith("env:", StringComparison.Ordinal))
        {
            var name = reference[4..];
            return name.Length is > 0 and <= 256 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');
        }
        if (reference.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = reference[5..];
            return path.Length is > 1 and <= 1024 && Path.IsPathRooted(path) && !path.Any(char.IsControl);
        }
        return false;
    }

    /// <summary>The secret's value, or null when the variable or file is absent or empty.</summary>
    public static string? Resolve(string reference)
    {
        if (!IsValid(reference))
        {
            return null;
        }
        if (reference.StartsWith("env:", StringComparison.Ordinal))
        {
            return Environment.GetEnvironmentVariable(reference[4..]) is { Length: > 0 } value ? value : null;
        }
        try
        {
            var text = File.ReadAllText(reference[5..]);
            text = text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
            return text.Length > 0 ? text : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
