using System.Globalization;
using System.Text;
using System.Text.Json;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk;

/// <summary>What the JSON forms of definitions (segments, journeys) share: reading a document, writing canonically, the embedded schema.</summary>
internal static class DefinitionJson
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    /// <summary>Parses a document; on failure the message says where (line and position) and why.</summary>
    public static bool TryParse(string json, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JsonDocument? document, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            document = null;
            var where = ex.LineNumber is { } line
                ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, position {ex.BytePositionInLine + 1}")
                : string.Empty;
            var reason = Reason(ex.Message);
            if (LooksLikeAFileName(json))
            {
                reason += (reason.EndsWith('.') ? " " : ". ") + "The text reads like a file name, not a JSON definition: pass the file's content (File.ReadAllText(path)), not its path.";
            }

            error = $"is not valid JSON{where}: {reason}";
            return false;
        }
    }

    /// <summary>
    /// A definition passed as a file name rather than its text (<c>AddJourneysFromJson("journeys/shipping.json")</c>):
    /// one line, no brace or bracket. The parser's own reason ("'j' is an invalid start of a value") does not say so.
    /// </summary>
    private static bool LooksLikeAFileName(string json)
    {
        var text = json.Trim();
        return text.Length is > 0 and <= 4096 && text.IndexOfAny(['{', '[', '"', '\n', '\r']) < 0;
    }

    /// <summary>
    /// The parser's reason without what does not help the author of a definition: its own zero-based "LineNumber: 0 |
    /// BytePositionInLine: 7" (the one-based place is said before it) and "Change the reader options" (the SDK's
    /// reader, not theirs: definitions are strict JSON, so the fix is in the text).
    /// </summary>
    private static string Reason(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        var reason = cut >= 0 ? message[..cut] : message;
        reason = reason.Replace(" which is not supported in this mode. Change the reader options.", ": remove it (a definition is strict JSON)", StringComparison.Ordinal);
        if (reason.StartsWith("'/' is", StringComparison.Ordinal))
        {
            reason += " A definition is strict JSON: comments are not allowed.";
        }

        return reason;
    }

    /// <summary>A value of a definition as a node (any depth the document itself could have).</summary>
    public static System.Text.Json.Nodes.JsonNode? Node(JsonElement e) =>
        System.Text.Json.Nodes.JsonNode.Parse(e.GetRawText(), documentOptions: DocumentOptions);

    /// <summary>
    /// Checks what every reader relies on before it reads: the text of every key and string is well-formed (no unpaired
    /// surrogates, which cannot be read as strings), no object names a key twice, and the document nests no deeper than a parsed text may (an element
    /// from a document parsed with a larger MaxDepth). Iterative; reports each problem with its path.
    /// </summary>
    public static List<(string Path, string Message)> CheckShape(JsonElement root, string path)
    {
        var problems = new List<(string Path, string Message)>();
        var stack = new Stack<(JsonElement Value, string Path, int Depth)>();
        stack.Push((root, path, 1));
        while (stack.Count > 0 && problems.Count < 20)
        {
            var (e, at, depth) = stack.Pop();
            switch (e.ValueKind)
            {
                case JsonValueKind.Object or JsonValueKind.Array when depth > DocumentOptions.MaxDepth:
                    problems.Add((at, $"nests more than {DocumentOptions.MaxDepth} levels deep; a definition may nest at most {DocumentOptions.MaxDepth}"));
                    break;
                case JsonValueKind.Object:
                    HashSet<string>? names = null;
                    foreach (var p in e.EnumerateObject())
                    {
                        string name;
                        try
                        {
                            name = p.Name;
                        }
                        catch (InvalidOperationException)
                        {
                            problems.Add((at, "has a key that is not well-formed text (an unpaired surrogate)"));
                            continue;
                        }

                        // RFC 8259 §4: names SHOULD be unique, and readers differ on which of two wins (a node reader throws).
                        if (!(names ??= new HashSet<string>(StringComparer.Ordinal)).Add(name))
                        {
                            problems.Add((JsonPath.Key(at, name), "is given twice in one object; name each key once (a definition is strict JSON)"));
                            continue;
                        }

                        stack.Push((p.Value, JsonPath.Key(at, name), depth + 1));
                    }

                    break;
                case JsonValueKind.Array:
                    var i = 0;
                    foreach (var item in e.EnumerateArray())
                    {
                        stack.Push((item, JsonPath.Index(at, i++), depth + 1));
                    }

                    break;
                case JsonValueKind.String:
                    try
                    {
                        _ = e.GetString();
                    }
                    catch (InvalidOperationException)
                    {
                        problems.Add((at, "is not well-formed text (an unpaired surrogate)"));
                    }

                    break;
            }
        }

        return problems;
    }

    /// <summary>Writes with <paramref name="write"/> and returns the UTF-8 text (non-ASCII kept readable).</summary>
    public static string Write(Action<Utf8JsonWriter> write, bool indented)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The text of the embedded resource whose name ends with <paramref name="fileName"/>.</summary>
    public static string Resource(string fileName)
    {
        var assembly = typeof(DefinitionJson).Assembly;
        var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith(fileName, StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Whether <paramref name="path"/> is one of <paramref name="prefixes"/> or lies under one (<c>.key</c> or <c>[i]</c>).</summary>
    /// <remarks>
    /// Looks up the path and each of its ancestors (the text before each <c>.</c> or <c>[</c>), not each prefix: a
    /// definition with thousands of unreadable parts and as many validator errors was quadratic (audit U104).
    /// </remarks>
    public static bool IsUnder(string path, HashSet<string> prefixes)
    {
        if (prefixes.Count == 0)
        {
            return false;
        }

        if (prefixes.Contains(path))
        {
            return true;
        }

        var lookup = prefixes.GetAlternateLookup<ReadOnlySpan<char>>();
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] is '.' or '[' && lookup.Contains(path.AsSpan(0, i)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An object's keys, reporting unknown and repeated ones through <paramref name="error"/>.</summary>
    public static Dictionary<string, JsonElement> Keys(JsonElement e, string path, IReadOnlyList<string> allowed, string what, Action<string, string> error)
    {
        var keys = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            if (!allowed.Contains(p.Name))
            {
                error(JsonPath.Key(path, p.Name), $"unknown key '{p.Name}' in {what} (expected {string.Join(", ", allowed)})");
            }
            else if (!keys.TryAdd(p.Name, p.Value))
            {
                error(JsonPath.Key(path, p.Name), $"key '{p.Name}' appears twice (expected it once)");
            }
        }

        return keys;
    }

    /// <summary>A JSON kind as an error message names it (<c>an object</c>, <c>a string</c>…).</summary>
    public static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
