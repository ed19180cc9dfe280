using System.Globalization;
using System.Security.Cryptography;

namespace RootCause.Connectors.Logs;

/// <summary>A chunk of whole lines read from a tailed file, and where the next read starts.</summary>
public sealed record FileChunk(byte[] Bytes, string Position, bool HasMore);

/// <summary>
/// Tails one file. The position is <c>&lt;identity&gt;:&lt;offset&gt;</c>: the identity is a hash of the
/// file's first line (as Vector and Fluent Bit fingerprint files), so a rename keeps it and a new
/// file does not. Only whole lines are taken; a last line still being written waits for its end.
/// <list type="bullet">
/// <item>Same file, grown: read from the offset.</item>
/// <item>Same file, shorter than the offset (truncated in place): read from the start.</item>
/// <item>Another file at the path (rotated): the old one is looked for beside it (<c>app.log.1</c>,
/// <c>app.log-20261120</c>, …), finished from the offset, then the new one is read from the start.</item>
/// </list>
/// </summary>
public static class FileTail
{
    public const int MaxChunkBytes = 4 * 1024 * 1024;
    private const int MaxIdentityBytes = 4096;

    public static FileChunk? ReadNext(string path, string? position)
    {
        var (identity, offset) = Parse(position);
        var current = Identify(path);
        if (identity is not null && current?.Identity != identity)
        {
            // Rotated: finish the old file first, if it is still beside the new one.
            var rotated = FindRotated(path, identity);
            if (rotated is not null && new FileInfo(rotated).Length > offset)
            {
                return Read(rotated, identity, offset, wholeRest: true);
            }
            if (current is null)
            {
                return null;
            }
            offset = 0;
        }
        if (current is null)
        {
            return null;
        }
        if (new FileInfo(path).Length < offset)
        {
            offset = 0;
        }
        return Read(path, current.Value.Identity, offset, wholeRest: false);
    }

    private static FileChunk? Read(string path, string identity, long offset, bool wholeRest)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var available = stream.Length - offset;
        if (available <= 0)
        {
            return wholeRest ? new FileChunk([], Format(identity, stream.Length), true) : null;
        }
        var buffer = new byte[(int)Math.Min(available, MaxChunkBytes)];
        stream.Position = offset;
        stream.ReadExactly(buffer);
        var take = buffer.Length;
        var hasMore = available > buffer.Length;
        if (!(wholeRest && !hasMore))
        {
            var lastNewline = Array.LastIndexOf(buffer, (byte)'\n');
            if (lastNewline >= 0)
            {
                take = lastNewline + 1;
            }
            else if (!hasMore)
            {
                // A line still being written: wait for its end.
                return null;
            }
        }
        var bytes = take == buffer.Length ? buffer : buffer[..take];
        return new FileChunk(bytes, Format(identity, offset + take), hasMore || (wholeRest && offset + take >= stream.Length));
    }

    private static (string Identity, long Length)? Identify(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var head = new byte[(int)Math.Min(stream.Length, MaxIdentityBytes)];
            stream.ReadExactly(head);
            var newline = Array.IndexOf(head, (byte)'\n');
            if (newline < 0 && head.Length < MaxIdentityBytes)
            {
                // No whole first line yet: nothing to identify (or read) the file by.
                return null;
            }
            var first = newline < 0 ? head : head[..(newline + 1)];
            return (Convert.ToHexStringLower(SHA256.HashData(first).AsSpan(0, 8)), stream.Length);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private static string? FindRotated(string path, string identity)
    {
        var directory = Path.GetDirectoryName(path)!;
        var name = Path.GetFileName(path);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"the directory of {path} does not exist");
        }
        return Directory.EnumerateFiles(directory, name + "*")
            .Where(f => f != path && !f.EndsWith(".gz", StringComparison.Ordinal) && !f.EndsWith(".zst", StringComparison.Ordinal))
            .FirstOrDefault(f => Identify(f)?.Identity == identity);
    }

    private static (string? Identity, long Offset) Parse(string? position)
    {
        if (position is null)
        {
            return (null, 0);
        }
        var colon = position.LastIndexOf(':');
        return colon > 0 && long.TryParse(position.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            ? (position[..colon], offset)
            : (null, 0);
    }

    private static string Format(string identity, long offset) => string.Create(CultureInfo.InvariantCulture, $"{identity}:{offset}");
}
