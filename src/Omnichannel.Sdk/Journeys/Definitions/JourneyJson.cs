using System.Text.Json;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// The JSON form of journey definitions (see <see cref="Schema"/>). Loading checks everything and returns every error
/// with its JSON path; an invalid definition never half-loads. Writing produces the canonical form, which reads back to
/// the same JSON.
/// </summary>
/// <remarks>
/// <para>A definition is <c>{"id", "version", "name", "description"?, "trigger", "entry"?, "exit"?, "goal"?, "steps"}</c> (keys camelCase):</para>
/// <list type="bullet">
/// <item><c>trigger</c>: <c>{"type": "event", "event", "where"?}</c>, <c>{"type": "segment", "segment", "on": "entered|exited"}</c>,
/// <c>{"type": "date", "trait", "offset"?: "-P3D", "localTime": "09:00", "annual"?: true}</c>,
/// <c>{"type": "inactivity", "afterEvent", "noEvent": [...], "within": "P7D"}</c>.</item>
/// <item><c>entry</c>: <c>{"reEntry"?: "never|afterPreviousEnded|afterCooldown", "cooldown"?, "maxConcurrent"?: 1, "correlationKey"?, "condition"?: {segment rule}}</c>.</item>
/// <item><c>exit</c>: <c>[{"event", "where"?} | {"condition": {segment rule}}]</c>; <c>goal</c>: <c>{"event", "where"?, "within"}</c>.</item>
/// <item><c>steps</c>: <c>{"id", "type", ...}</c>, types <c>send delay delayUntilLocalTime delayUntilDateTrait waitForEvent branch split
/// updateProfile emit webhook exit</c> (see each step record). An instance starts at the first step; a step goes to the
/// target it names, else to the next step in the list; after the last step the instance ends.</item>
/// <item><c>where</c> lists and segment rules are exactly those of <see cref="Segments.SegmentJson"/>. Branch conditions
/// add <c>{"trigger": path, "op", "value"}</c> and <c>{"context": path, "op", "value"}</c>, combined with <c>all</c>/<c>any</c>/<c>not</c>.</item>
/// </list>
/// </remarks>
public static class JourneyJson
{
    private static readonly Lazy<string> SchemaText = new(LoadSchema);

    /// <summary>The JSON Schema (draft 2020-12) of one journey definition; segment rules refer to <c>segment.schema.json</c>.</summary>
    public static string Schema => SchemaText.Value;

    /// <summary>Reads and checks one definition.</summary>
    /// <param name="json">The JSON text of one definition object.</param>
    public static ParseResult<JourneyDefinition> Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (!TryParseDocument(json, out var document, out var error))
        {
            return new ParseResult<JourneyDefinition>(null, [error]);
        }

        using (document)
        {
            return Parse(document.RootElement);
        }
    }

    /// <summary>Reads and checks one definition.</summary>
    /// <param name="element">The definition object.</param>
    public static ParseResult<JourneyDefinition> Parse(JsonElement element)
    {
        var (definition, errors) = JourneyJsonReader.Read(element, "$");
        return new ParseResult<JourneyDefinition>(definition, errors);
    }

    /// <summary>
    /// Reads and checks an array of definitions: each one, then that no id and version appears twice. Paths start
    /// with the index: <c>$[2].steps[0]</c>.
    /// </summary>
    /// <param name="json">The JSON text of an array of definition objects.</param>
    public static ParseResult<IReadOnlyList<JourneyDefinition>> ParseMany(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (!TryParseDocument(json, out var document, out var error))
        {
            return new ParseResult<IReadOnlyList<JourneyDefinition>>(null, [error]);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
            {
                return new ParseResult<IReadOnlyList<JourneyDefinition>>(null, [new("$", $"expected an array of journey definitions, got {root.ValueKind.ToString().ToLowerInvariant()}")]);
            }

            var errors = new List<DefinitionError>();
            var definitions = new List<JourneyDefinition>();
            var seen = new Dictionary<(string, int), int>();
            var i = 0;
            foreach (var item in root.EnumerateArray())
            {
                var at = Segments.JsonPath.Index("$", i);
                var (definition, itemErrors) = JourneyJsonReader.Read(item, at);
                errors.AddRange(itemErrors);
                definitions.Add(definition);
                if (definition.Id.Length > 0 && !seen.TryAdd((definition.Id, definition.Version), i))
                {
                    errors.Add(new(Segments.JsonPath.Key(at, "version"), $"journey '{definition.Id}' version {definition.Version} is already defined at $[{seen[(definition.Id, definition.Version)]}]"));
                }

                i++;
            }

            return new ParseResult<IReadOnlyList<JourneyDefinition>>(definitions, errors);
        }
    }

    /// <summary>Writes the canonical JSON form of <paramref name="definition"/>.</summary>
    /// <param name="definition">The definition.</param>
    /// <param name="indented">Whether to indent the output for people.</param>
    public static string Serialize(JourneyDefinition definition, bool indented = false)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return Write(w => JourneyJsonWriter.Write(w, definition), indented);
    }

    /// <summary>Writes an array of definitions in their canonical JSON form.</summary>
    /// <param name="definitions">The definitions.</param>
    /// <param name="indented">Whether to indent the output for people.</param>
    public static string SerializeMany(IEnumerable<JourneyDefinition> definitions, bool indented = false)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        return Write(
            w =>
            {
                w.WriteStartArray();
                foreach (var d in definitions)
                {
                    JourneyJsonWriter.Write(w, d);
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

    private static string LoadSchema() => DefinitionJson.Resource("journey.schema.json");
}
