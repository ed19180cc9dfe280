namespace RootCause.Common;

/// <summary>Input broke a rule. <see cref="Errors"/> maps snake_case field names to messages.</summary>
[GenerateSerializer, Alias("rc.ValidationFailedException")]
public sealed class ValidationFailedException : Exception
{
    public ValidationFailedException(IReadOnlyDictionary<string, string[]> errors)
        : base("Validation failed: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")))
    {
        Errors = errors.ToDictionary(e => e.Key, e => e.Value);
    }

    public ValidationFailedException(string field, string message)
        : this(new Dictionary<string, string[]> { [field] = [message] })
    {
    }

    [Id(0)]
    public Dictionary<string, string[]> Errors { get; }
}

/// <summary>The addressed record does not exist (or is soft-deleted and the operation needs it alive).</summary>
[GenerateSerializer, Alias("rc.NotFoundException")]
public sealed class NotFoundException(string resource, string id)
    : Exception($"{resource} {id} was not found.")
{
    [Id(0)]
    public string Resource { get; } = resource;

    [Id(1)]
    public string ResourceId { get; } = id;
}

/// <summary>
/// The caller read version <see cref="ExpectedVersion"/> but the record is now at
/// <see cref="CurrentVersion"/>: someone else changed it in between.
/// </summary>
[GenerateSerializer, Alias("rc.VersionConflictException")]
public sealed class VersionConflictException(long expectedVersion, long currentVersion)
    : Exception($"The record is at version {currentVersion}, not {expectedVersion}; read it again and reapply the change.")
{
    [Id(0)]
    public long ExpectedVersion { get; } = expectedVersion;

    [Id(1)]
    public long CurrentVersion { get; } = currentVersion;
}

/// <summary>The request is well-formed but conflicts with the record's current state (e.g. a workflow rule).</summary>
[GenerateSerializer, Alias("rc.StateConflictException")]
public sealed class StateConflictException(string field, string message) : Exception(message)
{
    [Id(0)]
    public string Field { get; } = field;
}
