using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Lucene.Net.Index;

namespace RootCause.Search;

/// <summary>
/// Values derived from one index segment (a sort order, a key map), built on first use per segment
/// and key and kept for as long as the segment exists: a segment never changes once written, and
/// the table holds its core weakly, so a merged-away segment's values go with it. A value being
/// built is built once; other callers for the same segment and key wait for it.
/// </summary>
internal sealed class PerSegment<TKey, TValue>(Func<AtomicReader, TKey, TValue> build) where TKey : notnull
{
    private readonly ConditionalWeakTable<object, ConcurrentDictionary<TKey, Lazy<TValue>>> _bySegment = new();

    public TValue Get(AtomicReader reader, TKey key) =>
        _bySegment.GetValue(reader.CoreCacheKey, _ => new())
            .GetOrAdd(key, k => new Lazy<TValue>(() => build(reader, k)))
            .Value;
}
