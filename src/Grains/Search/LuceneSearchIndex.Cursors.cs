using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Util;
using RootCause.Common;

namespace RootCause.Search;

/// <summary>
/// Cursors: the sort values of a page's last hit, so the next page is found with a queue of one
/// page (Lucene's search-after) instead of one as deep as the page. Every sort ends with the id, so
/// the values name one position exactly. A cursor is base64url JSON: a fingerprint of the sort it
/// was made for (a cursor from another sort is a 400), then one value per sort field: a number for
/// dates and ranks, the bits of the score as a number, a string for keywords, null for a missing
/// keyword.
/// </summary>
public sealed partial class LuceneSearchIndex
{
    private const string CursorError = "cursor is not a cursor of this list's sort; take it from the Link header (rel=\"next\") of the previous page.";

    private static string SortFingerprint(Sort sort)
    {
        var text = string.Join(',', sort.GetSort().Select(f => $"{f.Field}:{f.Type}:{(f.IsReverse ? 'd' : 'a')}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 6));
    }

    /// <summary>The cursor after a hit whose sort values are <paramref name="values"/> (as Lucene's comparators give them).</summary>
    private static string EncodeCursor(Sort sort, object?[] values)
    {
        var fields = sort.GetSort();
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStringValue(SortFingerprint(sort));
            for (var i = 0; i < fields.Length; i++)
            {
                switch (fields[i].Type, values[i])
                {
                    case (_, null):
                        writer.WriteNullValue();
                        break;
                    case (SortFieldType.SCORE, J2N.Numerics.Single score):
                        writer.WriteNumberValue(BitConverter.SingleToInt32Bits(score.ToSingle()));
                        break;
                    case (SortFieldType.INT64, J2N.Numerics.Int64 number):
                        writer.WriteNumberValue(number.ToInt64());
                        break;
                    case (SortFieldType.STRING, BytesRef bytes):
                        writer.WriteStringValue(bytes.Utf8ToString());
                        break;
                    default:
                        throw new InvalidOperationException($"No cursor form for a {fields[i].Type} sort value {values[i]!.GetType().Name}.");
                }
            }
            writer.WriteEndArray();
        }
        return Base64Url.EncodeToString(buffer.ToArray());
    }

    /// <summary>The position a cursor names, for <paramref name="sort"/>; a 400 naming cursor when it was made for another sort or is not a cursor.</summary>
    private static FieldDoc DecodeCursor(string cursor, Sort sort)
    {
        var fields = sort.GetSort();
        try
        {
            using var json = JsonDocument.Parse(Base64Url.DecodeFromChars(cursor));
            var items = json.RootElement;
            if (items.ValueKind != JsonValueKind.Array || items.GetArrayLength() != fields.Length + 1
                || items[0].ValueKind != JsonValueKind.String || items[0].GetString() != SortFingerprint(sort))
            {
                throw new ValidationFailedException("cursor", CursorError);
            }
            var values = new object?[fields.Length];
            for (var i = 0; i < fields.Length; i++)
            {
                var item = items[i + 1];
                values[i] = (fields[i].Type, item.ValueKind) switch
                {
                    (SortFieldType.STRING, JsonValueKind.Null) => null,
                    (SortFieldType.STRING, JsonValueKind.String) => new BytesRef(item.GetString()!),
                    (SortFieldType.INT64, JsonValueKind.Number) => J2N.Numerics.Int64.GetInstance(item.GetInt64()),
                    (SortFieldType.SCORE, JsonValueKind.Number) => J2N.Numerics.Single.GetInstance(BitConverter.Int32BitsToSingle(item.GetInt32())),
                    _ => throw new ValidationFailedException("cursor", CursorError),
                };
            }
            // Every sort ends with the unique id, so no other document ties with this position:
            // the largest doc id makes the collector skip only the hit the cursor was made from.
            return new FieldDoc(int.MaxValue, float.NaN, values);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            throw new ValidationFailedException("cursor", CursorError);
        }
    }

    /// <summary>The sort values of <paramref name="doc"/> for a sort by one numeric field, then id (a page found by <see cref="DeepPage"/>).</summary>
    private static object?[] NumericSortValues(IndexSearcher searcher, int doc, SortKey key)
    {
        var leaves = searcher.IndexReader.Leaves;
        var leaf = leaves[ReaderUtil.SubIndex(doc, leaves)];
        var local = doc - leaf.DocBase;
        var reader = leaf.AtomicReader;
        var value = SortValue(reader.GetNumericDocValues(key.Field), reader.GetDocsWithField(key.Field), local, key.Descending);
        var id = new BytesRef();
        reader.GetSortedDocValues(SearchFields.Id)?.Get(local, id);
        return [J2N.Numerics.Int64.GetInstance(value), id];
    }
}
