namespace RootCause.Connectors;

/// <summary>Media types the receivers tell apart by <c>Content-Type</c> (parameters such as <c>charset</c> ignored).</summary>
public static class MediaTypes
{
    /// <summary>Binary protobuf, as OTLP/HTTP exporters and Loki clients send it.</summary>
    public const string Protobuf = "application/x-protobuf";

    public static bool IsProtobuf(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }
        var end = contentType.IndexOf(';', StringComparison.Ordinal);
        return (end < 0 ? contentType.AsSpan() : contentType.AsSpan(0, end)).Trim().Equals(Protobuf, StringComparison.OrdinalIgnoreCase);
    }
}
