using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Util;

namespace RootCause.Search;

/// <summary>
/// Deep pages of lists sorted by one date or rank field (then id), which is every list's default
/// sort. A <see cref="TopFieldCollector"/> keeps page × per_page sorted entries (10,000 for page 500)
/// and reorders its queue for most matches. Here one pass reads each match's sort value into an
/// array, a selection finds the values at the page's first and last rank without sorting, and only
/// the matches between those two values (the page plus any ties) are sorted, by value and id,
/// exactly as the collector would order them.
/// </summary>
public sealed partial class LuceneSearchIndex
{
    /// <summary>
    /// From this many skipped results on, a page sorted by one date or rank field is found by
    /// selection instead of a sorted queue. Shallower pages keep the queue, which is cheap for them.
    /// </summary>
    public int DeepPageSkip { get; set; } = 1_000;

    /// <summary>Whether <paramref name="query"/> can be answered by <see cref="DeepPage"/>: no text, one numeric sort key, deep enough.</summary>
    private bool IsDeepPage(IndexQuery query, bool hasText) =>
        !hasText && query.Sort.Count == 1 && IsNumericField(query.Sort[0].Field) && (long)(query.Page - 1) * query.PerPage >= DeepPageSkip;

    /// <summary>The matches of <paramref name="filter"/> at ranks [skip, skip + per_page) in (sort value, id) order, and the total.</summary>
    private static (int[] Docs, int Total) DeepPage(IndexSearcher searcher, Query filter, SortKey key, int skip, int perPage)
    {
        // Values are mapped so that ascending order of the mapped value is the requested order; a
        // missing value sorts last either way, as SortFor makes the collector do.
        var collector = new SortValueCollector(key.Field, key.Descending);
        searcher.Search(new ConstantScoreQuery(filter), collector);
        var total = collector.Count;
        if (skip >= total)
        {
            return ([], total);
        }
        var end = Math.Min(skip + perPage, total);
        var values = collector.Values;
        var docs = collector.Docs;

        var selection = values.AsSpan(0, total).ToArray();
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

    /// <summary>Each match's global doc id and its sort value, mapped so that ascending is the requested order.</summary>
    private sealed class SortValueCollector(string field, bool descending) : ICollector
    {
        private NumericDocValues? _values;
        private IBits? _hasValue;
        private int _docBase;

        public long[] Values { get; private set; } = new long[1024];

        public int[] Docs { get; private set; } = new int[1024];

        public int Count { get; private set; }

        public void SetScorer(Scorer scorer)
        {
        }

        public void Collect(int doc)
        {
            if (Count == Values.Length)
            {
                Values = Grow(Values);
                Docs = Grow(Docs);
            }
            // Missing: long.MinValue descending, long.MaxValue ascending (last either way). ~v
            // reverses the order of longs without overflow, so descending becomes ascending.
            long value;
            if (_values is not null && _hasValue is not null && _hasValue.Get(doc))
            {
                value = _values.Get(doc);
            }
            else
            {
                value = descending ? long.MinValue : long.MaxValue;
            }
            Values[Count] = descending ? ~value : value;
            Docs[Count] = _docBase + doc;
            Count++;
        }

        public void SetNextReader(AtomicReaderContext context)
        {
            _values = context.AtomicReader.GetNumericDocValues(field);
            _hasValue = context.AtomicReader.GetDocsWithField(field);
            _docBase = context.DocBase;
        }

        public bool AcceptsDocsOutOfOrder => true;

        private static T[] Grow<T>(T[] array)
        {
            var grown = new T[array.Length * 2];
            Array.Copy(array, grown, array.Length);
            return grown;
        }
    }
}
