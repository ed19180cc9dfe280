using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Util;

namespace RootCause.Search;

/// <summary>
/// Deep pages of lists sorted by one date or rank field (then id), which is every list's default
/// sort. A <see cref="TopFieldCollector"/> keeps page × per_page sorted entries (10,000 for page 500)
/// and reorders its queue for most matches. Two cheaper ways, both ordering exactly as the
/// collector would (value, then id; a missing value last):
/// <list type="bullet">
/// <item><b>Walking in sort order</b>, when the filter matches a good share of the index: every
/// segment keeps its documents sorted by the field once (<see cref="SegmentOrder"/>), the filter's
/// matches are marked in one bit set per segment, and the segments' orders are merged, skipping
/// unmarked documents, until the page is reached. The work grows with the page's rank, not with
/// the number of matches.</item>
/// <item><b>Selection</b>, for narrower filters: one pass reads each match's sort value into an
/// array, a selection finds the values at the page's first and last rank without sorting, and only
/// the matches between those two values (the page plus any ties) are sorted.</item>
/// </list>
/// </summary>
public sealed partial class LuceneSearchIndex
{
    /// <summary>
    /// From this many skipped results on, a page sorted by one date or rank field is found by
    /// selection instead of a sorted queue. Shallower pages keep the queue, which is cheap for them.
    /// </summary>
    public int DeepPageSkip { get; set; } = 1_000;

    /// <summary>
    /// A page is found by walking the segments in sort order when that visits at most this many
    /// documents per match of the filter (the walk visits about rank × documents ÷ matches; the
    /// selection reads every match's value, several times dearer per document than a step of the walk).
    /// 0 never walks; tests set it very large to always walk.
    /// </summary>
    public double DeepPageWalkFactor { get; set; } = 4;

    /// <summary>Whether <paramref name="query"/> can be answered by <see cref="DeepPage"/>: no text, one numeric sort key, deep enough.</summary>
    private bool IsDeepPage(IndexQuery query, bool hasText) =>
        !hasText && query.Sort.Count == 1 && IsNumericField(query.Sort[0].Field) && (long)(query.Page - 1) * query.PerPage >= DeepPageSkip;

    /// <summary>The matches of <paramref name="filter"/> at ranks [skip, skip + per_page) in (sort value, id) order, and the total.</summary>
    private (int[] Docs, int Total) DeepPage(IndexSearcher searcher, Query filter, IndexedKind kind, SortKey key, int skip, int perPage)
    {
        var matches = Matches(searcher, filter, out var total);
        if (skip >= total)
        {
            return ([], total);
        }
        var end = Math.Min(skip + perPage, total);
        // The walk visits the kind's documents in sort order (the other kind's lack the field and
        // come last): about end × (documents of the kind) ÷ matches of them.
        var ofKind = searcher.IndexReader.DocFreq(new Term(IndexDocuments.Kind, IndexDocuments.KindName(kind)));
        if ((double)end * ofKind <= DeepPageWalkFactor * total * (double)total)
        {
            return (Walk(searcher, matches, key, skip, end), total);
        }
        return SelectPage(searcher, matches, total, key, skip, perPage);
    }

    /// <summary>The filter's live matches, one bit set per segment (null where none match), and their number.</summary>
    private static FixedBitSet?[] Matches(IndexSearcher searcher, Query filter, out int total)
    {
        var leaves = searcher.IndexReader.Leaves;
        var weight = searcher.CreateNormalizedWeight(new ConstantScoreQuery(filter));
        var sets = new FixedBitSet?[leaves.Count];
        total = 0;
        for (var i = 0; i < leaves.Count; i++)
        {
            var leaf = leaves[i];
            var scorer = weight.GetScorer(leaf, leaf.AtomicReader.LiveDocs);
            if (scorer is null)
            {
                continue;
            }
            var set = new FixedBitSet(leaf.AtomicReader.MaxDoc);
            int doc;
            while ((doc = scorer.NextDoc()) != DocIdSetIterator.NO_MORE_DOCS)
            {
                set.Set(doc);
                total++;
            }
            sets[i] = set;
        }
        return sets;
    }

    /// <summary>
    /// Ranks [<paramref name="skip"/>, <paramref name="end"/>) of the marked documents: the segments'
    /// sorted orders merged, each advanced past documents the filter did not match.
    /// </summary>
    private static int[] Walk(IndexSearcher searcher, FixedBitSet?[] matches, SortKey key, int skip, int end)
    {
        var leaves = searcher.IndexReader.Leaves;
        var orders = new SegmentOrder?[leaves.Count];
        var positions = new int[leaves.Count];
        var idValues = new SortedDocValues?[leaves.Count];
        for (var i = 0; i < leaves.Count; i++)
        {
            if (matches[i] is null)
            {
                continue;
            }
            orders[i] = SegmentOrder.For(leaves[i].AtomicReader, key.Field, key.Descending);
            idValues[i] = leaves[i].AtomicReader.GetSortedDocValues(SearchFields.Id);
            positions[i] = NextMatch(orders[i]!, matches[i]!, 0);
        }
        var page = new int[end - skip];
        BytesRef left = new(), right = new();
        for (var rank = 0; rank < end; rank++)
        {
            // The segment whose next match comes first; segments are few, so a scan beats a heap.
            var best = -1;
            for (var i = 0; i < orders.Length; i++)
            {
                var order = orders[i];
                if (order is null || positions[i] >= order.Docs.Length)
                {
                    continue;
                }
                if (best < 0)
                {
                    best = i;
                    continue;
                }
                var byValue = order.Values[positions[i]].CompareTo(orders[best]!.Values[positions[best]]);
                if (byValue < 0 || (byValue == 0 && CompareIds(idValues[i], order.Docs[positions[i]], right,
                        idValues[best], orders[best]!.Docs[positions[best]], left) < 0))
                {
                    best = i;
                }
            }
            if (rank >= skip)
            {
                page[rank - skip] = leaves[best].DocBase + orders[best]!.Docs[positions[best]];
            }
            positions[best] = NextMatch(orders[best]!, matches[best]!, positions[best] + 1);
        }
        return page;
    }

    private static int NextMatch(SegmentOrder order, FixedBitSet matches, int from)
    {
        var docs = order.Docs;
        while (from < docs.Length && !matches.Get(docs[from]))
        {
            from++;
        }
        return from;
    }

    /// <summary>Compares two documents' ids as the sort's id field does; a document without an id comes first.</summary>
    private static int CompareIds(SortedDocValues? aValues, int aDoc, BytesRef a, SortedDocValues? bValues, int bDoc, BytesRef b)
    {
        a.Length = 0;
        b.Length = 0;
        aValues?.Get(aDoc, a);
        bValues?.Get(bDoc, b);
        return a.CompareTo(b);
    }

    /// <summary>
    /// One segment's documents in the order of one numeric field (mapped so that ascending is the
    /// requested direction; a missing value last), ties by id, with each position's mapped value.
    /// Built once per segment, field and direction on first use and kept as long as the segment
    /// (12 bytes per document); deletions do not change it, as the walk skips documents the filter
    /// (which sees only live documents) did not mark.
    /// </summary>
    private sealed class SegmentOrder(int[] docs, long[] values)
    {
        private static readonly PerSegment<(string Field, bool Descending), SegmentOrder> BySegment = new((reader, key) => Build(reader, key.Field, key.Descending));

        public int[] Docs { get; } = docs;

        public long[] Values { get; } = values;

        public static SegmentOrder For(AtomicReader reader, string field, bool descending) => BySegment.Get(reader, (field, descending));

        private static SegmentOrder Build(AtomicReader reader, string field, bool descending)
        {
            var count = reader.MaxDoc;
            var numbers = reader.GetNumericDocValues(field);
            var present = reader.GetDocsWithField(field);
            var ids = reader.GetSortedDocValues(SearchFields.Id);
            var values = new long[count];
            var docs = new int[count];
            for (var doc = 0; doc < count; doc++)
            {
                docs[doc] = doc;
                values[doc] = AscendingValue(numbers, present, doc, descending);
            }
            Array.Sort(values, docs);
            // Equal values in id order: ordinals follow the ids' byte order within a segment.
            var ordinals = new int[count];
            for (var start = 0; start < count;)
            {
                var stop = start + 1;
                while (stop < count && values[stop] == values[start])
                {
                    stop++;
                }
                if (stop - start > 1)
                {
                    for (var i = start; i < stop; i++)
                    {
                        ordinals[i] = ids?.GetOrd(docs[i]) ?? -1;
                    }
                    Array.Sort(ordinals, docs, start, stop - start);
                }
                start = stop;
            }
            return new SegmentOrder(docs, values);
        }
    }

    /// <summary>The page by selection over every match's sort value.</summary>
    private static (int[] Docs, int Total) SelectPage(IndexSearcher searcher, FixedBitSet?[] matches, int total, SortKey key, int skip, int perPage)
    {
        var end = Math.Min(skip + perPage, total);
        var (values, docs) = SortValues(searcher, matches, total, key);

        var selection = (long[])values.Clone();
        var first = Select(selection, 0, total - 1, skip);
        var last = Select(selection, skip, total - 1, end - 1);

        // Matches before the page's first value all come before the page; those between the first
        // and last value are the page and its ties, in one run of ranks that starts at `before`.
        var before = 0;
        var run = new List<(long Value, int Doc)>(end - skip + 8);
        for (var i = 0; i < total; i++)
        {
            var value = values[i];
            if (value < first)
            {
                before++;
            }
            else if (value <= last)
            {
                run.Add((value, docs[i]));
            }
        }
        var ids = IdsOf(searcher, run);
        run.Sort((a, b) =>
        {
            var byValue = a.Value.CompareTo(b.Value);
            return byValue != 0 ? byValue : ids[a.Doc].CompareTo(ids[b.Doc]);
        });
        var page = new int[end - skip];
        for (var i = 0; i < page.Length; i++)
        {
            page[i] = run[skip - before + i].Doc;
        }
        return (page, total);
    }

    /// <summary>The id doc value of each document (the tie-breaker every sort ends with).</summary>
    private static Dictionary<int, BytesRef> IdsOf(IndexSearcher searcher, List<(long Value, int Doc)> run)
    {
        var ids = new Dictionary<int, BytesRef>(run.Count);
        var leaves = searcher.IndexReader.Leaves;
        foreach (var (_, doc) in run)
        {
            var leaf = leaves[ReaderUtil.SubIndex(doc, leaves)];
            var id = new BytesRef();
            // A document without an id sorts first, as the collector's missing ordinal does.
            leaf.AtomicReader.GetSortedDocValues(SearchFields.Id)?.Get(doc - leaf.DocBase, id);
            ids[doc] = id;
        }
        return ids;
    }

    /// <summary>
    /// Rearranges <paramref name="values"/>[from..to] so that position <paramref name="rank"/> holds the
    /// value it would hold if sorted, smaller values before it and larger after; returns that value.
    /// Three-way partitioning keeps runs of equal values (many matches on one date) linear.
    /// </summary>
    internal static long Select(long[] values, int from, int to, int rank)
    {
        while (true)
        {
            if (from >= to)
            {
                return values[rank];
            }
            var pivot = MedianOfThree(values[from], values[from + (to - from) / 2], values[to]);
            // values[from..lt) < pivot, values[lt..i) == pivot, values(gt..to] > pivot.
            int lt = from, i = from, gt = to;
            while (i <= gt)
            {
                if (values[i] < pivot)
                {
                    (values[lt], values[i]) = (values[i], values[lt]);
                    lt++;
                    i++;
                }
                else if (values[i] > pivot)
                {
                    (values[i], values[gt]) = (values[gt], values[i]);
                    gt--;
                }
                else
                {
                    i++;
                }
            }
            if (rank < lt)
            {
                to = lt - 1;
            }
            else if (rank > gt)
            {
                from = gt + 1;
            }
            else
            {
                return pivot;
            }
        }
    }

    private static long MedianOfThree(long a, long b, long c) =>
        Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));

    /// <summary>
    /// A document's value of a numeric sort field; without one, the value <see cref="SortFor"/> gives
    /// missing values (last in either direction).
    /// </summary>
    private static long SortValue(NumericDocValues? numbers, IBits? present, int doc, bool descending) =>
        numbers is not null && present is not null && present.Get(doc)
            ? numbers.Get(doc)
            : descending ? long.MinValue : long.MaxValue;

    /// <summary>
    /// <see cref="SortValue"/> mapped so that ascending is the requested order: ~v reverses the
    /// order of longs without overflow, so descending becomes ascending.
    /// </summary>
    private static long AscendingValue(NumericDocValues? numbers, IBits? present, int doc, bool descending)
    {
        var value = SortValue(numbers, present, doc, descending);
        return descending ? ~value : value;
    }

    /// <summary>
    /// Each match's sort value, mapped so that ascending is the requested order (a missing value
    /// last either way, as <see cref="SortFor"/> makes the collector do), and its global doc id.
    /// </summary>
    private static (long[] Values, int[] Docs) SortValues(IndexSearcher searcher, FixedBitSet?[] matches, int total, SortKey key)
    {
        var values = new long[total];
        var docs = new int[total];
        var count = 0;
        var leaves = searcher.IndexReader.Leaves;
        for (var i = 0; i < leaves.Count; i++)
        {
            var set = matches[i];
            if (set is null)
            {
                continue;
            }
            var reader = leaves[i].AtomicReader;
            var numbers = reader.GetNumericDocValues(key.Field);
            var present = reader.GetDocsWithField(key.Field);
            for (var doc = set.NextSetBit(0); doc >= 0; doc = doc + 1 < set.Length ? set.NextSetBit(doc + 1) : -1)
            {
                values[count] = AscendingValue(numbers, present, doc, key.Descending);
                docs[count] = leaves[i].DocBase + doc;
                count++;
            }
        }
        return (values, docs);
    }
}
