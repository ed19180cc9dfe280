using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Util;

namespace RootCause.Search;

/// <summary>
/// Aggregations: one pass over the matching documents with a collector that reads doc values per
/// segment (Lucene.Net has no facet module here). Counts by ordinal per segment, then resolves
/// ordinals to values once per segment.
/// </summary>
public sealed partial class LuceneSearchIndex
{
    public IReadOnlyDictionary<string, long> CountBy(IndexQuery query, string field)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        Collect(query, context => Counter(context.AtomicReader, field, counts));
        return counts;
    }

    public IReadOnlyList<HistogramBucket> Histogram(IndexQuery query, string dateField, BucketInterval interval,
        DateTimeOffset from, DateTimeOffset to, string? splitField)
    {
        var starts = BucketStarts(from, to, interval);
        var startMs = starts.Select(s => s.ToUnixTimeMilliseconds()).ToArray();
        var firstMs = startMs[0];
        var endMs = to.ToUnixTimeMilliseconds();
        var totals = new long[starts.Count];
        var splits = new Dictionary<string, long>[starts.Count];
        for (var i = 0; i < splits.Length; i++)
        {
            splits[i] = new Dictionary<string, long>(StringComparer.Ordinal);
        }
        var ranged = query with { Range = new DateRange(dateField, starts[0], to) };
        Collect(ranged, context =>
        {
            var reader = context.AtomicReader;
            var dates = reader.GetNumericDocValues(dateField);
            var has = reader.GetDocsWithField(dateField);
            var split = splitField is null ? null : reader.GetSortedDocValues(splitField);
            if (dates is null || has is null)
            {
                return null;
            }
            // Split counts by ordinal per bucket; each ordinal seen is turned into its value once, at the end.
            var byOrd = split is null ? null : new long[split.ValueCount][];
            if (split is not null)
            {
                ResolveLater(split, byOrd!, (key, perBucket) =>
                {
                    for (var i = 0; i < perBucket.Length; i++)
                    {
                        if (perBucket[i] > 0)
                        {
                            splits[i][key] = splits[i].GetValueOrDefault(key) + perBucket[i];
                        }
                    }
                });
            }
            return doc =>
            {
                if (!has.Get(doc))
                {
                    return;
                }
                var ms = dates.Get(doc);
                if (ms < firstMs || ms > endMs)
                {
                    return;
                }
                var index = BucketIndex(startMs, ms);
                totals[index]++;
                if (split is not null && split.GetOrd(doc) is var ord and >= 0)
                {
                    (byOrd![ord] ??= new long[startMs.Length])[index]++;
                }
            };
        });
        return [.. starts.Select((start, i) => new HistogramBucket(start, totals[i], splits[i]))];
    }

    public IReadOnlyDictionary<string, DurationSummary> Durations(IndexQuery query, string startField, string endField, string groupField)
    {
        var samples = new Dictionary<string, List<long>>(StringComparer.Ordinal) { [""] = [] };
        Collect(query, context =>
        {
            var reader = context.AtomicReader;
            var starts = reader.GetNumericDocValues(startField);
            var ends = reader.GetNumericDocValues(endField);
            var hasStart = reader.GetDocsWithField(startField);
            var hasEnd = reader.GetDocsWithField(endField);
            var groups = reader.GetSortedDocValues(groupField);
            if (starts is null || ends is null || hasStart is null || hasEnd is null)
            {
                return null;
            }
            // Durations gathered by ordinal; each ordinal seen is turned into its group once, at the end.
            var byOrd = groups is null ? null : new List<long>?[groups.ValueCount];
            if (groups is not null)
            {
                ResolveLater(groups, byOrd!, (key, durations) =>
                {
                    if (samples.TryGetValue(key, out var list))
                    {
                        list.AddRange(durations);
                    }
                    else
                    {
                        samples[key] = durations;
                    }
                });
            }
            var all = samples[""];
            return doc =>
            {
                if (!hasStart.Get(doc) || !hasEnd.Get(doc))
                {
                    return;
                }
                var duration = ends.Get(doc) - starts.Get(doc);
                if (duration < 0)
                {
                    return;
                }
                all.Add(duration);
                if (groups is not null && groups.GetOrd(doc) is var ord and >= 0)
                {
                    (byOrd![ord] ??= []).Add(duration);
                }
            };
        });
        return samples.ToDictionary(s => s.Key, s => Summarize(s.Value), StringComparer.Ordinal);
    }

    /// <summary>At the end of the pass, hands each ordinal's gathered value to <paramref name="add"/> with the ordinal's term (one lookup per ordinal seen).</summary>
    private static void ResolveLater<T>(SortedDocValues values, T?[] byOrd, Action<string, T> add) where T : class
    {
        Pending.Add(() =>
        {
            var scratch = new BytesRef();
            for (var ord = 0; ord < byOrd.Length; ord++)
            {
                if (byOrd[ord] is { } gathered)
                {
                    values.LookupOrd(ord, scratch);
                    add(scratch.Utf8ToString(), gathered);
                }
            }
        });
    }

    private static DurationSummary Summarize(List<long> millis)
    {
        if (millis.Count == 0)
        {
            return new DurationSummary(0, null, null);
        }
        millis.Sort();
        var middle = millis.Count / 2;
        var median = millis.Count % 2 == 1 ? millis[middle] : (millis[middle - 1] + millis[middle]) / 2.0;
        return new DurationSummary(millis.Count, millis.Average() / 1000.0, median / 1000.0);
    }

    /// <summary>Bucket starts from the boundary at or before <paramref name="from"/> up to <paramref name="to"/>, in UTC.</summary>
    public static IReadOnlyList<DateTimeOffset> BucketStarts(DateTimeOffset from, DateTimeOffset to, BucketInterval interval)
    {
        var start = Align(from.ToUniversalTime(), interval);
        var starts = new List<DateTimeOffset>();
        for (var t = start; t <= to; t = Next(t, interval))
        {
            starts.Add(t);
        }
        if (starts.Count == 0)
        {
            starts.Add(start);
        }
        return starts;
    }

    public static DateTimeOffset Align(DateTimeOffset t, BucketInterval interval)
    {
        var utc = t.ToUniversalTime();
        return interval switch
        {
            BucketInterval.Hour => new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero),
            BucketInterval.Day => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
            // ISO weeks start on Monday.
            _ => new DateTimeOffset(utc.Date.AddDays(-(((int)utc.DayOfWeek + 6) % 7)), TimeSpan.Zero),
        };
    }

    private static DateTimeOffset Next(DateTimeOffset t, BucketInterval interval) => interval switch
    {
        BucketInterval.Hour => t.AddHours(1),
        BucketInterval.Day => t.AddDays(1),
        _ => t.AddDays(7),
    };

    private static int BucketIndex(long[] startMs, long ms)
    {
        // The last bucket starting at or before ms (ms is at or after the first start).
        var found = Array.BinarySearch(startMs, ms);
        return found >= 0 ? found : ~found - 1;
    }

    /// <summary>A per-segment counter for a single- or multi-valued keyword field.</summary>
    private static Action<int>? Counter(AtomicReader reader, string field, Dictionary<string, long> counts)
    {
        var info = reader.FieldInfos.FieldInfo(field);
        if (info is null)
        {
            return null;
        }
        var scratch = new BytesRef();
        if (info.DocValuesType == DocValuesType.SORTED_SET)
        {
            var values = reader.GetSortedSetDocValues(field);
            if (values is null)
            {
                return null;
            }
            var perOrd = new Dictionary<long, long>();
            Pending.Add(() =>
            {
                foreach (var (ord, count) in perOrd)
                {
                    values.LookupOrd(ord, scratch);
                    var key = scratch.Utf8ToString();
                    counts[key] = counts.GetValueOrDefault(key) + count;
                }
            });
            return doc =>
            {
                values.SetDocument(doc);
                long ord;
                while ((ord = values.NextOrd()) != SortedSetDocValues.NO_MORE_ORDS)
                {
                    perOrd[ord] = perOrd.GetValueOrDefault(ord) + 1;
                }
            };
        }
        var single = reader.GetSortedDocValues(field);
        if (single is null)
        {
            return null;
        }
        var ordCounts = new long[single.ValueCount];
        Pending.Add(() =>
        {
            for (var ord = 0; ord < ordCounts.Length; ord++)
            {
                if (ordCounts[ord] > 0)
                {
                    single.LookupOrd(ord, scratch);
                    var key = scratch.Utf8ToString();
                    counts[key] = counts.GetValueOrDefault(key) + ordCounts[ord];
                }
            }
        });
        return doc =>
        {
            var ord = single.GetOrd(doc);
            if (ord >= 0)
            {
                ordCounts[ord]++;
            }
        };
    }

    // Ordinal-to-value resolution deferred to the end of a Collect pass (one list per thread).
    [ThreadStatic] private static List<Action>? _pending;

    private static List<Action> Pending => _pending ??= [];

    /// <summary>Runs <paramref name="perSegment"/> for each segment and its action for each matching document.</summary>
    private void Collect(IndexQuery query, Func<AtomicReaderContext, Action<int>?> perSegment)
    {
        var text = TextQuery(query);
        WithSearcher(searcher =>
        {
            Pending.Clear();
            try
            {
                var collector = new SegmentCollector(perSegment);
                var filter = FilterQuery(query);
                if (text is null)
                {
                    searcher.Search(new ConstantScoreQuery(filter), collector);
                }
                else
                {
                    searcher.Search(text, new QueryWrapperFilter(filter), collector);
                }
                foreach (var resolve in Pending)
                {
                    resolve();
                }
            }
            finally
            {
                Pending.Clear();
            }
            return 0;
        });
    }

    private sealed class SegmentCollector(Func<AtomicReaderContext, Action<int>?> perSegment) : ICollector
    {
        private Action<int>? _current;

        public void SetScorer(Scorer scorer)
        {
        }

        public void Collect(int doc) => _current?.Invoke(doc);

        public void SetNextReader(AtomicReaderContext context) => _current = perSegment(context);

        public bool AcceptsDocsOutOfOrder => true;
    }
}
