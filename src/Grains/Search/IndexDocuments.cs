using System.Text;
using System.Text.Json;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Util;
using RootCause.Common;
using RootCause.Events;
using RootCause.Linking;
using RootCause.Investigations;

namespace RootCause.Search;

/// <summary>
/// How records become Lucene documents. One index holds both kinds; <see cref="Kind"/> tells them
/// apart and <see cref="Uid"/> is the unique key updates and deletes go by.
/// </summary>
/// <remarks>
/// Keyword fields are lower-cased <see cref="StringField"/>s (exact, case-insensitive filters) with
/// doc values of the same name for sorting and counting. Dates are epoch milliseconds, indexed for
/// ranges and with numeric doc values for sorting and bucketing; a missing date has neither. Text
/// fields are analysed with the English analyzer and not stored: the record itself, exactly as the
/// API returns it, is stored in <see cref="Source"/> (so lists never touch a grain), and
/// highlighting derives the text from it again (<see cref="Texts(Investigation)"/>); only notes,
/// which the record does not hold, are stored as text.
/// </remarks>
internal static class IndexDocuments
{
    public const string Uid = "_uid";
    public const string Kind = "_kind";
    public const string Source = "_source";
    public const string Version = "_version";
    public const string Deleted = "_deleted";

    // Text fields (analysed; only notes stored).
    public const string TitleText = "title";
    public const string DescriptionText = "description";
    public const string RootCauseText = "root_cause";
    public const string RemediationText = "remediation";
    public const string LessonsText = "lessons_learned";
    public const string TagsText = "tags_text";
    public const string NotesText = "notes";
    public const string EventTypeText = "event_type_text";
    public const string DataText = "data_text";
    public const string MetadataText = "metadata_text";

    public static readonly string[] InvestigationTextFields =
        [TitleText, DescriptionText, RootCauseText, RemediationText, LessonsText, TagsText, NotesText];

    public static readonly string[] EventTextFields = [EventTypeText, TagsText, DataText, MetadataText];

    /// <summary>Field boosts for full-text queries: a title match counts most.</summary>
    public static readonly IDictionary<string, float> InvestigationBoosts = new Dictionary<string, float>
    {
        [TitleText] = 4f,
        [TagsText] = 2.5f,
        [RootCauseText] = 1.5f,
        [DescriptionText] = 1f,
        [RemediationText] = 1f,
        [LessonsText] = 1f,
        [NotesText] = 0.8f,
    };

    public static readonly IDictionary<string, float> EventBoosts = new Dictionary<string, float>
    {
        [EventTypeText] = 3f,
        [TagsText] = 2f,
        [DataText] = 1f,
        [MetadataText] = 0.7f,
    };

    /// <summary>
    /// Bits per indexed term of a date (epoch milliseconds): 4 terms per date (shifts 0, 16, 32 and
    /// 48) instead of Lucene's default 16. A date's finer terms are nearly unique per document, so
    /// they were a large part of the terms every refresh writes and every merge rewrites (a quarter
    /// of the catch-up's CPU went from step 8 to 16: docs/benchmarks.md). A range query visits the
    /// terms that exist at each end of each level, up to 65,535 of them, over 4 levels; on the
    /// benchmark's data that kept the date-range and analytics rows within their aims. Range
    /// queries must use the same step.
    /// </summary>
    public const int DatePrecisionStep = 16;

    private static readonly FieldType DateType = new(Int64Field.TYPE_NOT_STORED) { NumericPrecisionStep = DatePrecisionStep };

    public static string KindName(IndexedKind kind) => kind == IndexedKind.Investigation ? "investigation" : "event";

    public static string UidFor(IndexedKind kind, Guid id) => (kind == IndexedKind.Investigation ? "i:" : "e:") + id.ToString("N");

    public static Term UidTerm(IndexedKind kind, Guid id) => new(Uid, UidFor(kind, id));

    public static string Keyword(string value) => value.Trim().ToLowerInvariant();

    public static Document ForInvestigation(InvestigationState state)
    {
        var record = state.ToInvestigation();
        var doc = Common(IndexedKind.Investigation, record.Id, record.Version, record.DeletedAt is not null,
            JsonSerializer.SerializeToUtf8Bytes(record, RootCauseJson.Options));

        SingleKeyword(doc, SearchFields.Status, RootCauseJson.Name(record.Status));
        SingleKeyword(doc, SearchFields.ImpactSeverity, RootCauseJson.Name(record.ImpactSeverity));
        SingleKeyword(doc, SearchFields.Priority, RootCauseJson.Name(record.Priority));
        SingleKeyword(doc, SearchFields.Component, record.ComponentAffected);
        SingleKeyword(doc, SearchFields.Service, record.ServiceAffected);
        SingleKeyword(doc, SearchFields.AssignedTo, record.AssignedTo);
        SingleKeyword(doc, SearchFields.CreatedBy, record.CreatedBy);
        MultiKeyword(doc, SearchFields.Tags, record.Tags);
        doc.Add(ReusableFields.Current.Sorted(SearchFields.Title, Keyword(record.Title)));
        Rank(doc, SearchFields.SeverityRank, (int)record.ImpactSeverity);
        Rank(doc, SearchFields.PriorityRank, (int)record.Priority);

        Date(doc, SearchFields.DetectedAt, record.DetectedAt);
        Date(doc, SearchFields.StartedAt, record.StartedAt);
        Date(doc, SearchFields.ResolvedAt, record.ResolvedAt);
        Date(doc, SearchFields.CreatedAt, record.CreatedAt);
        Date(doc, SearchFields.UpdatedAt, record.UpdatedAt);

        foreach (var (field, value) in Texts(record))
        {
            Text(doc, field, value, stored: false);
        }
        // Notes are not part of the record in Source, so their text is the one text that is stored.
        foreach (var note in state.Notes ?? [])
        {
            Text(doc, NotesText, note.Body, stored: true);
        }
        return doc;
    }

    public static Document ForEvent(EventState state)
    {
        var record = state.ToEvent();
        var doc = Common(IndexedKind.Event, record.Id, record.Version, record.DeletedAt is not null,
            JsonSerializer.SerializeToUtf8Bytes(record, RootCauseJson.Options));

        SingleKeyword(doc, SearchFields.Source, RootCauseJson.Name(record.Source));
        SingleKeyword(doc, SearchFields.EventSeverity, RootCauseJson.Name(record.Severity));
        SingleKeyword(doc, SearchFields.EventType, record.EventType);
        Rank(doc, SearchFields.EventSeverityRank, (int)record.Severity);
        MultiKeyword(doc, SearchFields.Tags, record.Tags);
        MultiKeyword(doc, SearchFields.InvestigationIds, record.InvestigationIds.Select(i => i.ToString("D")));

        // Components named in data or metadata (connectors put the catalog name there).
        // Each object is parsed once for its text, components and link keys.
        var components = new List<string>();
        var linkKeys = new List<string>();
        foreach (var (field, value) in Texts(record, components, linkKeys))
        {
            Text(doc, field, value, stored: false);
        }
        MultiKeyword(doc, SearchFields.EventComponents, components);
        var keys = linkKeys.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        MultiKeyword(doc, SearchFields.LinkKeys, keys);
        // The keyed fields (the linker's keyed lookups) are left off deleted events.
        var live = record.DeletedAt is null;
        if (EventFacts.IsDeployment(record))
        {
            doc.Add(ReusableFields.Current.Keyword(SearchFields.ChangeKind, "deployment"));
            if (live)
            {
                MultiKeyword(doc, SearchFields.DeploymentKeys, keys);
            }
        }
        if (record.Links.Any(l => l.Status is EventLinkStatus.Linked or EventLinkStatus.Suggested))
        {
            doc.Add(ReusableFields.Current.Keyword(SearchFields.HasLinks, "1"));
            if (live && EventFacts.IsSymptomEvent(record))
            {
                MultiKeyword(doc, SearchFields.LinkedSymptomKeys, keys);
            }
        }
        MultiKeyword(doc, SearchFields.SuggestedFor, record.Links.Where(l => l.Status == EventLinkStatus.Suggested).Select(l => l.InvestigationId.ToString("D")));

        Date(doc, SearchFields.Timestamp, record.Timestamp);
        Date(doc, SearchFields.ParsedAt, record.ParsedAt);
        Date(doc, SearchFields.LinkedAt, record.LinkedAt);
        SingleKeyword(doc, SearchFields.LinkerChecked, record.LinkerCheckedAt is null ? "0" : "1");
        return doc;
    }

    /// <summary>
    /// The analysed text of an investigation, field by field, from the record alone (notes are not
    /// part of it). The index does not store it: highlighting derives it again from the stored
    /// record with this same method, so the snippets show exactly the text that was indexed.
    /// </summary>
    public static IEnumerable<(string Field, string? Value)> Texts(Investigation record) =>
    [
        (TitleText, record.Title),
        (DescriptionText, record.Description),
        (RootCauseText, record.RootCause),
        (RemediationText, record.Remediation),
        (LessonsText, record.LessonsLearned),
        (TagsText, string.Join(' ', record.Tags)),
    ];

    /// <summary>
    /// The analysed text of an event, field by field (as <see cref="Texts(Investigation)"/>); the
    /// components and link keys named in data and metadata are collected from the same parse.
    /// </summary>
    public static IEnumerable<(string Field, string? Value)> Texts(Event record, List<string>? components = null, List<string>? linkKeys = null)
    {
        components ??= [];
        linkKeys ??= [];
        var dataText = new StringBuilder();
        var metadataText = new StringBuilder();
        Flatten(record.Data, dataText, components, linkKeys);
        Flatten(record.Metadata, metadataText, components, linkKeys);
        return
        [
            (DataText, dataText.ToString()),
            (MetadataText, metadataText.ToString()),
            (EventTypeText, record.EventType.Replace('_', ' ').Replace('.', ' ') + " " + record.EventType),
            (TagsText, string.Join(' ', record.Tags)),
        ];
    }

    /// <summary>The top-level keys of event data/metadata whose values name a component.</summary>
    public static readonly string[] ComponentKeys = ["component", "service", "service_name", "app"];

    private static Document Common(IndexedKind kind, Guid id, long version, bool deleted, byte[] source)
    {
        var fields = ReusableFields.Begin();
        var doc = new Document();
        var idText = id.ToString("D");
        doc.Add(fields.Keyword(Uid, UidFor(kind, id)));
        doc.Add(fields.Keyword(Kind, KindName(kind)));
        // The id is only sorted by (lookups and updates go by _uid): doc values alone. Indexed as a
        // term too it added a second unique term per document to every flush and merge.
        doc.Add(fields.Sorted(SearchFields.Id, idText));
        doc.Add(fields.Keyword(Deleted, deleted ? "1" : "0"));
        doc.Add(fields.NumericValue(Version, version));
        doc.Add(fields.Stored(Source, source));
        return doc;
    }

    private static void SingleKeyword(Document doc, string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return;
        }
        var keyword = Keyword(value);
        var fields = ReusableFields.Current;
        doc.Add(fields.Keyword(field, keyword));
        doc.Add(fields.Sorted(field, keyword));
    }

    private static void MultiKeyword(Document doc, string field, IEnumerable<string> values)
    {
        var existing = new HashSet<string>(StringComparer.Ordinal);
        var fields = ReusableFields.Current;
        foreach (var value in values)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                continue;
            }
            var keyword = Keyword(value);
            if (existing.Add(keyword))
            {
                doc.Add(fields.Keyword(field, keyword));
                doc.Add(fields.SortedSet(field, keyword));
            }
        }
    }

    /// <summary>
    /// A rank (severity, priority) is only sorted by, never filtered by range: doc values alone. An
    /// indexed long would add 16 terms to every document for nothing.
    /// </summary>
    private static void Rank(Document doc, string field, long value) => doc.Add(ReusableFields.Current.NumericValue(field, value));

    private static void Date(Document doc, string field, DateTimeOffset? value)
    {
        if (value is { } v && v != default)
        {
            var fields = ReusableFields.Current;
            var milliseconds = v.ToUnixTimeMilliseconds();
            doc.Add(fields.Number(field, milliseconds));
            doc.Add(fields.NumericValue(field, milliseconds));
        }
    }

    private static void Text(Document doc, string field, string? value, bool stored)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            doc.Add(ReusableFields.Current.Text(field, value, stored));
        }
    }

    /// <summary>
    /// The fields of the document a thread is building, reused from its previous documents. A new
    /// keyword or number field creates its own token stream (an attribute source with its
    /// attributes) the first time it is indexed, about a tenth of the rebuild's CPU in a profile; a
    /// reused one only takes its new value. IndexWriter is done with a document's
    /// fields when AddDocument/UpdateDocument returns, so a document must be added before the
    /// same thread builds the next one (the tailer and the rebuild build and add in one step).
    /// </summary>
    private sealed class ReusableFields
    {
        [ThreadStatic]
        private static ReusableFields? t_current;

        private readonly Dictionary<(string Name, FieldKind Kind), Slot> _slots = [];
        private readonly List<Slot> _used = [];

        public static ReusableFields Current => t_current ??= new ReusableFields();

        /// <summary>Starts a document: every field of this thread is free again.</summary>
        public static ReusableFields Begin()
        {
            var current = Current;
            foreach (var slot in current._used)
            {
                slot.Next = 0;
            }
            current._used.Clear();
            return current;
        }

        public Field Keyword(string name, string value)
        {
            if (Reuse(name, FieldKind.Keyword, out var slot) is not { } field)
            {
                return Keep(slot, new StringField(name, value, Field.Store.NO));
            }
            field.SetStringValue(value);
            return field;
        }

        public Field Text(string name, string value, bool stored)
        {
            if (Reuse(name, stored ? FieldKind.StoredText : FieldKind.Text, out var slot) is not { } field)
            {
                return Keep(slot, new TextField(name, value, stored ? Field.Store.YES : Field.Store.NO));
            }
            field.SetStringValue(value);
            return field;
        }

        public Field Number(string name, long value)
        {
            if (Reuse(name, FieldKind.Number, out var slot) is not { } field)
            {
                return Keep(slot, new Int64Field(name, value, DateType));
            }
            field.SetInt64Value(value);
            return field;
        }

        public Field NumericValue(string name, long value)
        {
            if (Reuse(name, FieldKind.NumericValue, out var slot) is not { } field)
            {
                return Keep(slot, new NumericDocValuesField(name, value));
            }
            field.SetInt64Value(value);
            return field;
        }

        public Field Sorted(string name, string value)
        {
            if (Reuse(name, FieldKind.Sorted, out var slot) is not { } field)
            {
                return Keep(slot, new SortedDocValuesField(name, new BytesRef(value)));
            }
            field.SetBytesValue(new BytesRef(value));
            return field;
        }

        public Field SortedSet(string name, string value)
        {
            if (Reuse(name, FieldKind.SortedSet, out var slot) is not { } field)
            {
                return Keep(slot, new SortedSetDocValuesField(name, new BytesRef(value)));
            }
            field.SetBytesValue(new BytesRef(value));
            return field;
        }

        public Field Stored(string name, byte[] value)
        {
            if (Reuse(name, FieldKind.Stored, out var slot) is not { } field)
            {
                return Keep(slot, new StoredField(name, value));
            }
            field.SetBytesValue(value);
            return field;
        }

        /// <summary>The next free field of this name and kind in this document, if the thread has one.</summary>
        private Field? Reuse(string name, FieldKind kind, out Slot slot)
        {
            if (!_slots.TryGetValue((name, kind), out slot!))
            {
                _slots[(name, kind)] = slot = new Slot();
            }
            if (slot.Next == 0)
            {
                _used.Add(slot);
            }
            return slot.Next < slot.Fields.Count ? slot.Fields[slot.Next++] : null;
        }

        private static Field Keep(Slot slot, Field field)
        {
            slot.Fields.Add(field);
            slot.Next++;
            return field;
        }

        private enum FieldKind
        {
            Keyword,
            Text,
            StoredText,
            Number,
            NumericValue,
            Sorted,
            SortedSet,
            Stored,
        }

        private sealed class Slot
        {
            public List<Field> Fields { get; } = [];
            public int Next { get; set; }
        }
    }

    /// <summary>The <see cref="SearchFields.LinkKeys"/> of a data or metadata object (see docs/events.md, "How the linker reads them").</summary>
    public static IEnumerable<string> LinkKeysOf(string json)
    {
        if (string.IsNullOrEmpty(json) || json == "{}")
        {
            return [];
        }
        var keys = new List<string>();
        try
        {
            using var parsed = JsonDocument.Parse(json);
            AddLinkKeys(parsed.RootElement, keys);
        }
        catch (JsonException)
        {
            // Not JSON: nothing to look up by.
        }
        return keys;
    }

    private static void AddLinkKeys(JsonElement root, List<string> keys)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        CollectNames(root, keys);
        foreach (var nested in new[] { "labels", "attributes", "resource" })
        {
            if (root.TryGetProperty(nested, out var inner) && inner.ValueKind == JsonValueKind.Object)
            {
                CollectNames(inner, keys);
            }
        }
        foreach (var key in new[] { "repository", "repo" })
        {
            if (root.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } repository)
            {
                keys.Add("r:" + repository);
            }
        }
        foreach (var key in new[] { "sha", "head_sha", "commit_sha" })
        {
            if (root.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } sha)
            {
                keys.Add("s:" + sha.Trim());
            }
        }
        foreach (var key in new[] { "workflow", "pipeline", "job" })
        {
            if (root.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } pipeline)
            {
                keys.Add("p:" + pipeline);
            }
        }
        // The directories of changed files: a file no path prefix owns is attributed to the component
        // or service a directory of its path is named after (EventFacts.DirectoryNamed).
        foreach (var key in new[] { "files", "changed_paths", "paths" })
        {
            if (root.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Array)
            {
                foreach (var file in value.EnumerateArray())
                {
                    if (file.ValueKind == JsonValueKind.String && file.GetString() is { Length: > 0 } path)
                    {
                        var segments = path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
                        keys.AddRange(segments.Take(segments.Length - 1).Select(d => "c:" + d));
                    }
                }
            }
        }
    }

    private static void CollectNames(JsonElement scope, List<string> keys)
    {
        foreach (var key in EventFacts.ComponentKeys)
        {
            if (scope.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } name)
            {
                keys.Add("c:" + name.Trim());
            }
        }
        // Workload names in every form the linker resolves them by (see LinkNames.WorkloadVariants).
        foreach (var key in EventFacts.WorkloadKeys)
        {
            if (scope.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } name)
            {
                keys.AddRange(LinkNames.WorkloadVariants(name).Select(v => "c:" + v));
            }
        }
    }

    /// <summary>
    /// The searchable text of a JSON object: every property name and scalar value, nested objects and
    /// arrays included; string values of the top-level <see cref="ComponentKeys"/> are collected too.
    /// </summary>
    private static void Flatten(string json, StringBuilder text, List<string> components, List<string> linkKeys)
    {
        if (string.IsNullOrEmpty(json) || json == "{}")
        {
            return;
        }
        try
        {
            using var parsed = JsonDocument.Parse(json);
            AddLinkKeys(parsed.RootElement, linkKeys);
            if (parsed.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in parsed.RootElement.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.String
                        && ComponentKeys.Contains(property.Name, StringComparer.OrdinalIgnoreCase))
                    {
                        components.Add(property.Value.GetString()!);
                    }
                }
            }
            Walk(parsed.RootElement, text);
        }
        catch (JsonException)
        {
            text.Append(json);
        }
    }

    private static void Walk(JsonElement element, StringBuilder text)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    text.Append(property.Name).Append(' ');
                    Walk(property.Value, text);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, text);
                }
                break;
            case JsonValueKind.String:
                text.Append(element.GetString()).Append('\n');
                break;
            case JsonValueKind.Number:
            case JsonValueKind.True:
            case JsonValueKind.False:
                text.Append(element.GetRawText()).Append(' ');
                break;
        }
    }
}
