using System.Reflection;
using Lucene.Net.Store;

namespace RootCause.Search;

/// <summary>
/// A memory-mapped index directory whose inputs do not record their clones.
/// </summary>
/// <remarks>
/// Lucene.NET's mapped inputs register every clone and slice (several per query and segment) in a
/// <see cref="System.Runtime.CompilerServices.ConditionalWeakTable{TKey,TValue}"/> shared with the
/// file's input, so that closing the file can detach them. Each entry is a dependent GC handle, and
/// the table only sheds dead entries when it grows; under steady querying the process carries a
/// large, ever-renewed set of dependent handles that every gen0 collection has to scan. That made
/// gen0 pauses of 16–84 ms, which were the search and list p99s (docs/benchmarks.md, "The query
/// tails are garbage collections").
/// <para/>
/// In .NET the registry is only a safety net: a clone reads through the file's view accessor, which
/// throws <see cref="ObjectDisposedException"/> once the file is closed, instead of touching unmapped
/// memory. So this directory opens each file as <see cref="MMapDirectory"/> does and clears the
/// input's (private) registry before any clone is made; clones copy the empty field. Whether that
/// field still exists is checked by a test, so an upgrade of Lucene.NET that renames it is noticed;
/// should it be missing at run time, inputs stay tracked (slower collections, same answers).
/// </remarks>
public sealed class UntrackedMMapDirectory(DirectoryInfo path) : MMapDirectory(path)
{
    private static readonly FieldInfo? Clones =
        typeof(ByteBufferIndexInput).GetField("clones", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>Whether this Lucene.NET build has the clone registry this directory removes.</summary>
    public static bool RemovesCloneTracking => Clones is not null && Clones.FieldType.IsClass;

    public override IndexInput OpenInput(string name, IOContext context)
    {
        var input = base.OpenInput(name, context);
        if (RemovesCloneTracking && input is ByteBufferIndexInput)
        {
            Clones!.SetValue(input, null);
        }
        return input;
    }

    /// <summary>Whether <paramref name="input"/> (a file or any of its clones) records its clones.</summary>
    public static bool TracksClones(IndexInput input) =>
        input is ByteBufferIndexInput && Clones?.GetValue(input) is not null;
}
