using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace RootCause.Search;

/// <summary>
/// The stored records (JSON) of recently read documents, keyed by segment and document number. A
/// segment never changes once written (an update deletes the old document and adds a new one
/// elsewhere, and searches skip deleted documents), so an entry stays right for as long as its
/// segment exists; entries of merged-away segments are simply never asked for again and age out.
/// Reading a stored record decompresses the block of documents around it: the linker reads the
/// same few deployments and symptoms for many investigations in a row, and this spares it that.
/// Two generations bound the memory: when the newer one holds half the budget it becomes the older
/// one and the older one is dropped; a hit in the older one moves the entry forward.
/// </summary>
public sealed class StoredSourceCache(long budgetChars)
{
    private readonly object _gate = new();
    private ConcurrentDictionary<(long Segment, int Doc), string> _current = new();
    private ConcurrentDictionary<(long Segment, int Doc), string> _older = new();
    private long _currentChars;
    /// <summary>A number per segment, so the cache does not keep a merged-away segment's readers alive.</summary>
    private readonly ConditionalWeakTable<object, StrongBox<long>> _segments = new();
    private long _nextSegment;

    private long _hits;
    private long _misses;

    /// <summary>Lookups answered from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that read the index.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>The record of document <paramref name="doc"/> of the segment whose core cache key is <paramref name="segment"/>, read with <paramref name="read"/> when not held.</summary>
    public string GetOrRead(object segment, int doc, Func<string> read)
    {
        var key = (_segments.GetValue(segment, _ => new StrongBox<long>(Interlocked.Increment(ref _nextSegment))).Value, doc);
        if (_current.TryGetValue(key, out var json))
        {
            Interlocked.Increment(ref _hits);
            return json;
        }
        if (_older.TryGetValue(key, out json))
        {
            Interlocked.Increment(ref _hits);
            Add(key, json);
            return json;
        }
        Interlocked.Increment(ref _misses);
        json = read();
        Add(key, json);
        return json;
    }

    private void Add((long Segment, int Doc) key, string json)
    {
        if (json.Length > budgetChars / 2)
        {
            return;
        }
        if (_current.TryAdd(key, json) && Interlocked.Add(ref _currentChars, json.Length) > budgetChars / 2)
        {
            lock (_gate)
            {
                if (Interlocked.Read(ref _currentChars) > budgetChars / 2)
                {
                    _older = _current;
                    _current = new();
                    Interlocked.Exchange(ref _currentChars, 0);
                }
            }
        }
    }
}
