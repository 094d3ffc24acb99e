using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Segments;

// Property paths: what a rule reads from an event's properties (dotted, through objects and lists), and the projection
// that keeps only those values in the history.
internal sealed partial class RuleHistory
{
    /// <summary>
    /// Copies the values at <paramref name="paths"/> (dotted, through objects; see <see cref="ReadPath"/>) into a flat
    /// object keyed by path; the values a path reached through a list go under <c>*path</c> as a list.
    /// </summary>
    internal static JsonObject? Project(JsonElement properties, IReadOnlyList<string> paths)
    {
        if (paths.Count == 0 || properties.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        JsonObject? result = null;
        foreach (var path in paths)
        {
            if (TryGetPath(properties, path, out var value))
            {
                if (value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
                {
                    (result ??= new JsonObject())[path] = Node(value);
                }
            }
            else if (Collect(properties, path) is { } reached)
            {
                // Audit U74: the values a path reached through a list, kept under the path marked as such ('*' starts no
                // rule path), so a rule reads them as any of them (RecordedEvent reads the mark back).
                var list = new JsonArray();
                foreach (var v in reached)
                {
                    list.Add(Node(v));
                }

                (result ??= new JsonObject())[EachMark + path] = list;
            }
        }

        return result;

        // A primitive becomes the same node SerializeToNode gives (a value over its own copy of the element), without a
        // serializer round trip; objects and arrays still take it.
        static JsonNode? Node(JsonElement value) => value.ValueKind is JsonValueKind.Object or JsonValueKind.Array
            ? JsonSerializer.SerializeToNode(value)
            : JsonValue.Create(value.Clone());
    }

    /// <summary>The mark of a recorded key holding the values its path reached through a list (<see cref="RuleValueKind.Each"/>).</summary>
    internal const char EachMark = '*';

    /// <summary>
    /// Reads a dotted path through nested objects; a name of digits indexes a list (<c>items.0.sku</c>, as the definitions'
    /// path syntax has always allowed).
    /// </summary>
    internal static bool TryGetPath(JsonElement root, string path, out JsonElement value)
    {
        value = root;
        var start = 0;
        while (true)
        {
            var dot = path.IndexOf('.', start);
            var name = dot < 0 ? path.AsSpan(start) : path.AsSpan(start, dot - start);
            if (value.ValueKind == JsonValueKind.Object)
            {
                if (!value.TryGetProperty(name, out value))
                {
                    return false;
                }
            }
            else if (value.ValueKind != JsonValueKind.Array || Index(name) is not { } i || i >= value.GetArrayLength())
            {
                return false;
            }
            else
            {
                value = value[i];
            }

            if (dot < 0)
            {
                return true;
            }

            start = dot + 1;
        }
    }

    /// <summary>
    /// The value a rule reads at <paramref name="path"/> of an event's properties: the value there
    /// (<see cref="TryGetPath"/>), else the values the path reaches through lists of objects
    /// (<c>products.category</c> over <c>products: [{…}, {…}]</c>) as <see cref="RuleValueKind.Each"/>, else missing.
    /// Segments (through <see cref="Project"/>), journeys and conversions all read a <c>where</c> with it.
    /// </summary>
    internal static RuleValue ReadPath(JsonElement root, string path) =>
        TryGetPath(root, path, out var value) ? RuleValue.FromElement(value)
        : Collect(root, path) is { } reached ? RuleValue.FromEach([.. reached.Select(RuleValue.FromElement)])
        : RuleValue.Missing;

    // The values (not null) a path reaches when every list on its way is read element by element (a name of digits still
    // indexes); null when it reaches none, or no list lies on its way.
    private static List<JsonElement>? Collect(JsonElement root, string path)
    {
        if (!MeetsList(root, path))
        {
            return null; // the usual miss (a property the event lacks): no walk that allocates
        }

        List<JsonElement>? found = null;
        var crossed = false;
        Walk(root, 0);
        return crossed ? found : null;

        void Walk(JsonElement value, int start)
        {
            while (true)
            {
                var dot = path.IndexOf('.', start);
                var name = dot < 0 ? path.AsSpan(start) : path.AsSpan(start, dot - start);
                if (value.ValueKind == JsonValueKind.Array && Index(name) is null)
                {
                    crossed = true;
                    foreach (var element in value.EnumerateArray())
                    {
                        Walk(element, start);
                    }

                    return;
                }

                if (value.ValueKind == JsonValueKind.Object)
                {
                    if (!value.TryGetProperty(name, out value))
                    {
                        return;
                    }
                }
                else if (value.ValueKind != JsonValueKind.Array || Index(name) is not { } i || i >= value.GetArrayLength())
                {
                    return;
                }
                else
                {
                    value = value[i];
                }

                if (dot < 0)
                {
                    if (value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
                    {
                        (found ??= []).Add(value);
                    }

                    return;
                }

                start = dot + 1;
            }
        }
    }

    // Whether the walk along the path's objects (and indexes) comes to a list that a name does not index.
    private static bool MeetsList(JsonElement value, string path)
    {
        var start = 0;
        while (true)
        {
            var dot = path.IndexOf('.', start);
            var name = dot < 0 ? path.AsSpan(start) : path.AsSpan(start, dot - start);
            if (value.ValueKind == JsonValueKind.Array)
            {
                if (Index(name) is not { } i)
                {
                    return true;
                }

                if (i >= value.GetArrayLength())
                {
                    return false;
                }

                value = value[i];
            }
            else if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(name, out value))
            {
                return false;
            }

            if (dot < 0)
            {
                return false;
            }

            start = dot + 1;
        }
    }

    // A path name of ASCII digits as a list index (at most 9 digits); null for any other name.
    private static int? Index(ReadOnlySpan<char> name)
    {
        if (name.Length is 0 or > 9)
        {
            return null;
        }

        var n = 0;
        foreach (var c in name)
        {
            if (!char.IsAsciiDigit(c))
            {
                return null;
            }

            n = (n * 10) + (c - '0');
        }

        return n;
    }
}
