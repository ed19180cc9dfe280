using System.Security.Cryptography;
using System.Text;

namespace RootCause.Connectors;

/// <summary>
/// Stable keys for "this connector handling this upstream item": the same pair always gives the
/// same key, on any silo and across restarts, so a retried hand-off (an Idempotency-Key header,
/// a dedup column) is recognised as a repeat.
/// </summary>
public static class IdempotencyKeys
{
    private const string Namespace = "rootcause:connector-item:v1";

    /// <summary>32 lower-case hex characters: the first 16 bytes of SHA-256 over the namespace, connector id and item id.</summary>
    public static string For(string connectorId, string upstreamItemId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectorId);
        ArgumentException.ThrowIfNullOrWhiteSpace(upstreamItemId);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{Namespace}\n{connectorId.Trim()}\n{upstreamItemId.Trim()}"));
        return Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }
}
