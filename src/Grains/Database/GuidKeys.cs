namespace RootCause.Database;

/// <summary>
/// The two halves Orleans' ADO.NET providers store for a Guid grain key (<c>grain_id_n0</c>,
/// <c>grain_id_n1</c>): the Guid's first and last eight bytes, each read as a little-endian integer.
/// Everything that reads or writes those columns by key goes through here.
/// </summary>
public static class GuidKeys
{
    public static (long N0, long N1) Split(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        return (BitConverter.ToInt64(bytes[..8]), BitConverter.ToInt64(bytes[8..]));
    }

    public static Guid Join(long n0, long n1)
    {
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, n0);
        BitConverter.TryWriteBytes(bytes[8..], n1);
        return new Guid(bytes);
    }
}
