using Orleans.Storage;

namespace RootCause.Common;

/// <summary>
/// Grain state is stored as plain System.Text.Json in RootCause's JSON shape (snake_case): no
/// .NET type names inside, so types can be renamed or moved without breaking stored records,
/// and operators can read the payload with <c>convert_from(payload, 'UTF8')::jsonb</c>.
/// </summary>
public sealed class JsonGrainStorageSerializer : IGrainStorageSerializer
{
    public BinaryData Serialize<T>(T? input) => BinaryData.FromBytes(ToBytes(input));

    /// <summary>The stored bytes of a state, for writers beside the grain storage.</summary>
    public static byte[] ToBytes<T>(T? input) => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(input, RootCauseJson.Options);

    public T Deserialize<T>(BinaryData input) =>
        input.ToObjectFromJson<T>(RootCauseJson.Options)
        ?? throw new InvalidOperationException($"Stored state for {typeof(T).Name} is the JSON literal null.");
}
