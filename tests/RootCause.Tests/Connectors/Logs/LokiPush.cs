using Google.Protobuf;

namespace RootCause.Tests.Connectors.Logs;

/// <summary>
/// Writes Loki's protobuf push body field by field from the protocol's field numbers (independently
/// of the product's generated classes): PushRequest.streams = 1; StreamAdapter labels = 1,
/// entries = 2, hash = 3; EntryAdapter timestamp = 1 (seconds = 1, nanos = 2), line = 2,
/// structuredMetadata = 3 (name = 1, value = 2).
/// </summary>
internal static class LokiPush
{
    public static byte[] Encode(IReadOnlyList<(string Labels, IReadOnlyList<(DateTimeOffset At, string Line, IReadOnlyList<(string Name, string Value)> Metadata)> Entries)> streams)
    {
        return Message(request =>
        {
            foreach (var (labels, entries) in streams)
            {
                request.WriteTag(1, WireFormat.WireType.LengthDelimited);
                request.WriteBytes(ByteString.CopyFrom(Message(stream =>
                {
                    stream.WriteTag(1, WireFormat.WireType.LengthDelimited);
                    stream.WriteString(labels);
                    foreach (var (at, line, metadata) in entries)
                    {
                        stream.WriteTag(2, WireFormat.WireType.LengthDelimited);
                        stream.WriteBytes(ByteString.CopyFrom(Message(entry =>
                        {
                            var ticks = at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
                            entry.WriteTag(1, WireFormat.WireType.LengthDelimited);
                            entry.WriteBytes(ByteString.CopyFrom(Message(timestamp =>
                            {
                                timestamp.WriteTag(1, WireFormat.WireType.Varint);
                                timestamp.WriteInt64(ticks / TimeSpan.TicksPerSecond);
                                timestamp.WriteTag(2, WireFormat.WireType.Varint);
                                timestamp.WriteInt32((int)(ticks % TimeSpan.TicksPerSecond * 100));
                            })));
                            entry.WriteTag(2, WireFormat.WireType.LengthDelimited);
                            entry.WriteString(line);
                            foreach (var (name, value) in metadata)
                            {
                                entry.WriteTag(3, WireFormat.WireType.LengthDelimited);
                                entry.WriteBytes(ByteString.CopyFrom(Message(pair =>
                                {
                                    pair.WriteTag(1, WireFormat.WireType.LengthDelimited);
                                    pair.WriteString(name);
                                    pair.WriteTag(2, WireFormat.WireType.LengthDelimited);
                                    pair.WriteString(value);
                                })));
                            }
                        })));
                    }
                    // The stream's hash, which the receiver does not read.
                    stream.WriteTag(3, WireFormat.WireType.Varint);
                    stream.WriteUInt64(0x9e3779b97f4a7c15);
                })));
            }
        });
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }
}
