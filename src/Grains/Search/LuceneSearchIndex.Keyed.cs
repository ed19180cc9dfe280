using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Util;

namespace RootCause.Search;

/// <summary>
/// Keyed lookups (<see cref="ISearchIndex.KeyedEvents"/>): per segment and keyed field, a map from
/// each key to its documents' timestamps, sorted, built once the first time a lookup reads that
/// segment (a segment never changes; only its deletions do, which are checked on every lookup). A
/// lookup is then a hash lookup and a binary search per key and segment, where a filtered search
/// seeks every key in every segment's term dictionary and scores the conjunction: the corroboration
/// reviews ask this for a dozen keys many times a second and mostly find nothing.
/// </summary>
public sealed partial class LuceneSearchIndex
{
    /// <summary>One key's documents in one segment, by timestamp (then document number).</summary>
    private sealed record KeyPostings(long[] Times, int[] Docs);

    private static readonly IReadOnlyDictionary<string, KeyPostings> NoKeys = new Dictionary<string, KeyPostings>();

    /// <summary>Per segment and keyed field, the key map (built once, on first use).</summary>
    private static readonly PerSegment<string, IReadOnlyDictionary<string, KeyPostings>> KeyMaps = new(BuildKeyMap);

    public IReadOnlyList<SearchHit> KeyedEvents(KeyedLookup lookup)
    {
        if (lookup.Field is not (SearchFields.DeploymentKeys or SearchFields.LinkedSymptomKeys))
        {
            throw new ArgumentException($"{lookup.Field} is not a keyed field.", nameof(lookup));
        }
        if (lookup.Keys.Count == 0 || lookup.Max <= 0)
        {
            return [];
        }
        var keys = lookup.Keys.Select(IndexDocuments.Keyword).Distinct(StringComparer.Ordinal).ToArray();
        var from = lookup.From?.ToUnixTimeMilliseconds() ?? long.MinValue;
        var to = lookup.To?.ToUnixTimeMilliseconds() ?? long.MaxValue;
        return WithSearcher(searcher =>
        {
            var leaves = searcher.IndexReader.Leaves;
            var found = new List<(long Time, int Leaf, int Doc)>();
            HashSet<int>? seen = null;
            for (var l = 0; l < leaves.Count; l++)
            {
                var reader = leaves[l].AtomicReader;
                var map = KeyMap(reader, lookup.Field);
                if (map.Count == 0)
                {
                    continue;
                }
                var live = reader.LiveDocs;
                seen?.Clear();
                foreach (var key in keys)
                {
                    if (!map.TryGetValue(key, out var postings))
                    {
                        continue;
                    }
                    for (var i = FirstAtOrAfter(postings.Times, from); i < postings.Times.Length && postings.Times[i] <= to; i++)
                    {
                        var doc = postings.Docs[i];
                        if ((live is null || live.Get(doc)) && (keys.Length == 1 || (seen ??= []).Add(doc)))
                        {
                            found.Add((postings.Times[i], l, doc));
                        }
                    }
                }
            }
            if (found.Count == 0)
            {
                return (IReadOnlyList<SearchHit>)[];
            }
            // By time, then by id as every search breaks ties (ids are read only for equal times).
            var ids = new Dictionary<(int Leaf, int Doc), string>();
            string IdOf((long Time, int Leaf, int Doc) hit)
            {
                if (!ids.TryGetValue((hit.Leaf, hit.Doc), out var id))
                {
                    var bytes = new BytesRef();
                    leaves[hit.Leaf].AtomicReader.GetSortedDocValues(SearchFields.Id)?.Get(hit.Doc, bytes);
                    ids[(hit.Leaf, hit.Doc)] = id = bytes.Utf8ToString();
                }
                return id;
            }
            found.Sort((a, b) =>
            {
                var byTime = lookup.NewestFirst ? b.Time.CompareTo(a.Time) : a.Time.CompareTo(b.Time);
                return byTime != 0 ? byTime : string.CompareOrdinal(IdOf(a), IdOf(b));
            });
            return [.. found.Take(lookup.Max).Select(hit => new SearchHit(SourceOf(searcher, leaves[hit.Leaf].DocBase + hit.Doc, cached: true), null, null))];
        });
    }

    private static IReadOnlyDictionary<string, KeyPostings> KeyMap(AtomicReader reader, string field) => KeyMaps.Get(reader, field);

    /// <summary>Every key of <paramref name="field"/> in the segment with its documents (deleted ones included) by timestamp.</summary>
    private static IReadOnlyDictionary<string, KeyPostings> BuildKeyMap(AtomicReader reader, string field)
    {
        var terms = reader.GetTerms(field);
        if (terms is null)
        {
            return NoKeys;
        }
        var times = reader.GetNumericDocValues(SearchFields.Timestamp);
        var map = new Dictionary<string, KeyPostings>(StringComparer.Ordinal);
        var termsEnum = terms.GetEnumerator();
        DocsEnum? docs = null;
        var buffer = new List<(long Time, int Doc)>();
        while (termsEnum.MoveNext())
        {
            buffer.Clear();
            docs = termsEnum.Docs(null, docs, DocsFlags.NONE);
            for (var doc = docs.NextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = docs.NextDoc())
            {
                buffer.Add((times?.Get(doc) ?? 0, doc));
            }
            buffer.Sort();
            map[termsEnum.Term.Utf8ToString()] = new KeyPostings([.. buffer.Select(b => b.Time)], [.. buffer.Select(b => b.Doc)]);
        }
        return map;
    }

    /// <summary>The first position whose time is at least <paramref name="time"/>.</summary>
    private static int FirstAtOrAfter(long[] times, long time)
    {
        var (low, high) = (0, times.Length);
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (times[middle] < time)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        return low;
    }
}
