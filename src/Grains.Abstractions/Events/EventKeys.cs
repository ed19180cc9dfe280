using System.Security.Cryptography;
using System.Text;
using RootCause.Common;

namespace RootCause.Events;

/// <summary>
/// An event's id is derived from (source, source_id): the same external event always maps to
/// the same id, hence the same grain on any silo, which makes dedup race-free.
/// The id is a name-based UUID (RFC 9562 version 8) over SHA-256 of a fixed namespace, the
/// source name and the source id.
/// </summary>
public static class EventKeys
{
    private const string Namespace = "rootcause:event:v1";
    private const string DedupNamespace = "rootcause:event-dedup:v1";

    /// <summary>
    /// The id of the grain a draft belongs to: from its dedup key when it has one (so reports of one
    /// occurrence under different source ids meet on one grain), else from its source id.
    /// </summary>
    public static Guid For(EventDraft draft) =>
        string.IsNullOrWhiteSpace(draft.DedupKey) ? IdFor(draft.Source, draft.SourceId) : IdForDedupKey(draft.Source, draft.DedupKey.Trim());

    /// <summary>The id of the event that reports with this dedup key fold into.</summary>
    public static Guid IdForDedupKey(EventSource source, string dedupKey) => Hash(DedupNamespace, source, dedupKey);

    public static Guid IdFor(EventSource source, string sourceId) => Hash(Namespace, source, sourceId);

    private static Guid Hash(string space, EventSource source, string key)
    {
        var name = $"{space}\n{RootCauseJson.Name(source)}\n{key}";
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(name), hash);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80); // version 8
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(bytes, bigEndian: true);
    }
}
