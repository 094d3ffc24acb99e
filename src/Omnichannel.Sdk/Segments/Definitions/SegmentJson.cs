using System.Text.Json;

namespace Omnichannel.Sdk.Segments;

/// <summary>
/// The JSON form of segment definitions (the public contract hosts store and marketers' tools write; see
/// <see cref="Schema"/>). Loading checks everything and returns every error with its JSON path; an invalid definition
/// never half-loads. Writing produces the canonical form, which reads back to the same definition.
/// </summary>
/// <remarks>
/// <para>A definition is <c>{"id", "name", "description"?, "rule"}</c>; a rule node has exactly one kind:</para>
/// <list type="bullet">
/// <item><c>{"all": [...]}</c>, <c>{"any": [...]}</c>, <c>{"not": {...}}</c>.</item>
/// <item><c>{"trait": "address.city", "op": ..., "value": ...}</c>; operators <c>eq ne gt gte lt lte in notIn contains
/// startsWith exists notExists between withinLast moreThanAgo anniversaryWithin</c>. <c>in</c>/<c>notIn</c> take a
/// non-empty array, <c>between</c> an ascending pair, <c>exists</c>/<c>notExists</c> no value, the date operators an
/// ISO 8601 duration.</item>
/// <item><c>{"stat": "orderCount", "op": "gte", "value": 3}</c>: a profile statistic (<see cref="ProfileStatisticNames"/>).
/// Numbers take comparisons, <c>in</c>, <c>between</c>; dates (<c>firstOrderAt</c>, <c>lastOrderAt</c>, <c>firstSeen</c>,
/// <c>lastSeen</c>, <c>cartUpdatedAt</c>) also the date operators; <c>lifecycleStage</c> takes <c>eq ne in notIn</c>
/// with <c>visitor</c>, <c>lead</c>, <c>customer</c>, <c>repeatCustomer</c>; <c>channelsUsed</c> takes <c>contains</c>.</item>
/// <item><c>{"event": "order.placed", "where": [{"property", "op", "value"}], "count": {"op", "value"}, "within": "P30D"}</c>
/// or <c>"between": ["&lt;from&gt;", "&lt;to&gt;"]</c> (ISO 8601 instants, <c>[from, to)</c>). No count: at least once;
/// no window: ever.</item>
/// <item><c>{"aggregate": "sum|avg|min|max|count|distinct", "event", "property", "where", "within"|"between", "op", "value"}</c>;
/// <c>property</c> is required except for <c>count</c>.</item>
/// <item><c>{"lastEvent": "order.placed", "op": "withinLast|moreThanAgo", "value": "P90D", "where"?: [...]}</c>, and <c>firstEvent</c>.</item>
/// <item><c>{"segment": "vip"}</c>; <c>{"reachable": "email", "topic"?: "newsletter"}</c>.</item>
/// </list>
/// </remarks>
public static class SegmentJson
{
    private static readonly Lazy<string> SchemaText = new(LoadSchema);

    /// <summary>The JSON Schema (draft 2020-12) of one segment definition.</summary>
    public static string Schema => SchemaText.Value;

    /// <summary>Reads and checks one definition.</summary>
    /// <param name="json">The JSON text of one definition object.</param>
    public static ParseResult<SegmentDefinition> Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (!TryParseDocument(json, out var document, out var error))
        {
            return new ParseResult<SegmentDefinition>(null, [error]);
        }

        using (document)
        {
            return Parse(document.RootElement);
        }
    }

    /// <summary>Reads and checks one definition (a self-reference counts as a cycle; other references are checked by <see cref="SegmentSetValidator"/>).</summary>
    /// <param name="element">The definition object.</param>
    public static ParseResult<SegmentDefinition> Parse(JsonElement element)
    {
        var (definition, errors) = SegmentJsonReader.Read(element, "$");
        return new ParseResult<SegmentDefinition>(definition, errors);
    }

    /// <summary>
    /// Reads and checks an array of definitions as a set: each definition, then duplicate ids, references to segments
    /// neither in the array nor in <paramref name="existingIds"/>, and cycles. Paths start with the index: <c>$[2].rule</c>.
    /// </summary>
    /// <param name="json">The JSON text of an array of definition objects.</param>
    /// <param name="existingIds">Ids of segments already loaded elsewhere that definitions may reference.</param>
    public static ParseResult<IReadOnlyList<SegmentDefinition>> ParseMany(string json, IReadOnlySet<string>? existingIds = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (!TryParseDocument(json, out var document, out var error))
        {
            return new ParseResult<IReadOnlyList<SegmentDefinition>>(null, [error]);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
            {
                return new ParseResult<IReadOnlyList<SegmentDefinition>>(null, [new("$", $"expected an array of segment definitions, got {root.ValueKind.ToString().ToLowerInvariant()}")]);
            }

            var errors = new List<DefinitionError>();
            var definitions = new List<SegmentDefinition>();
            var i = 0;
            foreach (var item in root.EnumerateArray())
            {
                var (definition, itemErrors) = SegmentJsonReader.Read(item, JsonPath.Index("$", i++));
                errors.AddRange(itemErrors);
                definitions.Add(definition);
            }

            // Set checks only make sense on definitions that could be read; the self-cycles are already reported.
            errors.AddRange(SegmentSetValidator.ValidateSet(definitions, existingIds, includeDefinitions: false));
            return new ParseResult<IReadOnlyList<SegmentDefinition>>(definitions, errors);
        }
    }

    /// <summary>Writes the canonical JSON form of <paramref name="definition"/>.</summary>
    /// <param name="definition">The definition.</param>
    /// <param name="indented">Whether to indent the output for people.</param>
    public static string Serialize(SegmentDefinition definition, bool indented = false)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return Write(w => SegmentJsonWriter.Write(w, definition), indented);
    }

    /// <summary>Writes an array of definitions in their canonical JSON form.</summary>
    /// <param name="definitions">The definitions.</param>
    /// <param name="indented">Whether to indent the output for people.</param>
    public static string SerializeMany(IEnumerable<SegmentDefinition> definitions, bool indented = false)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        return Write(
            w =>
            {
                w.WriteStartArray();
                foreach (var d in definitions)
                {
                    SegmentJsonWriter.Write(w, d);
                }

                w.WriteEndArray();
            },
            indented);
    }

    private static string Write(Action<Utf8JsonWriter> write, bool indented) => DefinitionJson.Write(write, indented);

    private static bool TryParseDocument(string json, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JsonDocument? document, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out DefinitionError? error)
    {
        var ok = DefinitionJson.TryParse(json, out document, out var message);
        error = ok ? null : new DefinitionError("$", message!);
        return ok;
    }

    private static string LoadSchema() => DefinitionJson.Resource("segment.schema.json");
}
