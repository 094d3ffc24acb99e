using System.Runtime.InteropServices;
using System.Text.Json;

namespace Omnichannel.Sdk;

/// <summary>
/// Bounds on the free-form JSON an event carries (properties and traits) and on the text of ids: checked at the door so
/// that what is accepted can be stored, evaluated and rendered by the rest of the pipeline.
/// </summary>
internal static class JsonLimits
{
    /// <summary>
    /// The deepest <see cref="OmnichannelOptions.MaxJsonDepth"/> may be set: a value is stored inside the profile
    /// document (a few levels down) and read back with System.Text.Json's default maximum depth of 64.
    /// </summary>
    public const int HighestMaxDepth = 48;

    /// <summary>
    /// Checks a properties or traits object: its UTF-8 size, nesting depth, number of members, its text (no NUL, no
    /// unpaired surrogates, in keys and values) and, unless <paramref name="refuseRepeatedKeys"/> is false, that no key
    /// repeats within an object. Reports the first problem with its path. Not an object: nothing to check.
    /// </summary>
    /// <remarks>
    /// Runs on every event, so a valid object costs no allocation: the size is the length of the raw UTF-8, text with no
    /// escape in it is valid as it stands (a JSON reader has already refused malformed UTF-8, and only an escape can
    /// spell a NUL or a lone surrogate), and paths are spelled only for an error, from the walk's own records.
    /// </remarks>
    /// <remarks>
    /// With <paramref name="dottedKeysNest"/> (traits) a key <c>a.b.c</c> is stored as the path a → b → c, so each dot
    /// adds a level to the depth checked: an event's <c>{"a.a.…": 1}</c> of 70 names (140 bytes) nested her traits 70
    /// deep, and every later render of her messages failed; past 1,000 her export could not be written as JSON. A key
    /// whose value is <see langword="null"/> removes the path and is not counted, so a path stored before that check
    /// can still be removed by its own name.
    /// </remarks>
    /// <returns>Whether <paramref name="value"/> is an object within every limit.</returns>
    public static bool Check(JsonElement value, string field, int maxBytes, OmnichannelOptions options, List<ValidationError> errors, bool refuseRepeatedKeys = true, bool dottedKeysNest = false)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var size = JsonMarshal.GetRawUtf8Value(value).Length;
        if (size > maxBytes)
        {
            errors.Add(new(field, $"are {size} bytes of JSON; at most {maxBytes} are allowed"));
            return false;
        }

        // Iterative, in the order of a stack (a document parsed with a generous MaxDepth must not overflow the call
        // stack here): each node remembers its parent and how it is reached, to spell its path if it has a problem.
        var walk = t_walk ??= new List<Node>(64);
        walk.Clear();
        try
        {
            return Walk(value, field, options, errors, walk, refuseRepeatedKeys, dottedKeysNest);
        }
        finally
        {
            walk.Clear(); // keeps no element (and through it no document) alive
        }
    }

    [ThreadStatic]
    private static List<Node>? t_walk;

    [ThreadStatic]
    private static Stack<int>? t_pending;

    // A value met on the walk: how it is reached from its parent (a property, or an array index), and how deep it is.
    private readonly record struct Node(JsonElement Value, int Parent, int Depth, JsonProperty Property, int Index, bool IsProperty);

    private static bool Walk(JsonElement value, string field, OmnichannelOptions options, List<ValidationError> errors, List<Node> walk, bool refuseRepeatedKeys, bool dottedKeysNest)
    {
        var members = 0;
        var pending = t_pending ??= new Stack<int>(64); // indexes into walk, popped last-in first-out
        pending.Clear();
        walk.Add(new Node(value, -1, 1, default, 0, false));
        pending.Push(0);
        while (pending.Count > 0)
        {
            var at = pending.Pop();
            var node = walk[at];
            var e = node.Value;
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                case JsonValueKind.Array:
                    if (node.Depth > options.MaxJsonDepth)
                    {
                        errors.Add(new(PathOf(walk, at, field), $"is nested {node.Depth} levels deep (objects and arrays, {field} counting as 1); at most {options.MaxJsonDepth} are allowed"));
                        return false;
                    }

                    if (e.ValueKind == JsonValueKind.Object)
                    {
                        var first = walk.Count;
                        foreach (var p in e.EnumerateObject())
                        {
                            if (++members > options.MaxJsonMembers)
                            {
                                errors.Add(new(field, $"have more than {options.MaxJsonMembers} keys and array items; at most {options.MaxJsonMembers} are allowed"));
                                return false;
                            }

                            if (!NameIsPlainText(p))
                            {
                                if (!TryName(p, out var name))
                                {
                                    errors.Add(new(PathOf(walk, at, field), "has a key that is not well-formed text (an unpaired surrogate)"));
                                    return false;
                                }

                                if (TextProblem(name, controlsAllowed: true) is { } keyProblem)
                                {
                                    errors.Add(new(PathOf(walk, at, field) + "." + Short(name), "key " + keyProblem));
                                    return false;
                                }
                            }

                            // A null removes the path and nests nothing: her removal of a key an older version let
                            // nest past the limit must be accepted by its own path (a set of it stays refused).
                            var dots = dottedKeysNest && p.Value.ValueKind != JsonValueKind.Null ? Dots(p) : 0;
                            if (node.Depth + dots > options.MaxJsonDepth)
                            {
                                errors.Add(new(PathOf(walk, at, field) + "." + Short(p.Name), $"is a key of {dots + 1} dotted names, nested {node.Depth + dots} levels deep before its value (each dot adds a level, {field} counting as 1); at most {options.MaxJsonDepth} are allowed"));
                                return false;
                            }

                            walk.Add(new Node(p.Value, at, node.Depth + 1 + dots, p, 0, true));
                            pending.Push(walk.Count - 1);
                        }

                        if (refuseRepeatedKeys && RepeatedKey(walk, first) is { } repeated)
                        {
                            errors.Add(new(PathOf(walk, repeated, field), "is a repeated key; a key may appear once in an object"));
                            return false;
                        }
                    }
                    else
                    {
                        var i = 0;
                        foreach (var item in e.EnumerateArray())
                        {
                            if (++members > options.MaxJsonMembers)
                            {
                                errors.Add(new(field, $"have more than {options.MaxJsonMembers} keys and array items; at most {options.MaxJsonMembers} are allowed"));
                                return false;
                            }

                            walk.Add(new Node(item, at, node.Depth + 1, default, i++, false));
                            pending.Push(walk.Count - 1);
                        }
                    }

                    break;
                case JsonValueKind.String when IsPlainText(JsonMarshal.GetRawUtf8Value(e)):
                    break; // well-formed text without NUL, as it stands
                case JsonValueKind.String:
                    string? text;
                    try
                    {
                        text = e.GetString();
                    }
                    catch (InvalidOperationException)
                    {
                        text = null;
                    }

                    if (text is null)
                    {
                        errors.Add(new(PathOf(walk, at, field), "is not well-formed text (an unpaired surrogate)"));
                        return false;
                    }

                    if (TextProblem(text, controlsAllowed: true) is { } problem)
                    {
                        errors.Add(new(PathOf(walk, at, field), problem));
                        return false;
                    }

                    break;
            }
        }

        return true;
    }

    // The dots in a key: on its raw UTF-8 unless an escape could spell one.
    private static int Dots(JsonProperty p)
    {
        var raw = JsonMarshal.GetRawUtf8PropertyName(p);
        return raw.IndexOf((byte)'\\') < 0 ? raw.Count((byte)'.') : (TryName(p, out var name) ? name.Count(c => c == '.') : 0);
    }

    // The walk index of the first key of one object (its keys are walk[first..]) that repeats an earlier one, or null.
    // JSON allows a repeated key but leaves its meaning open (RFC 8259, section 4), and a JsonObject refuses one, so the
    // event is refused at the door with the key's path rather than failing later. Small objects compare their raw UTF-8
    // without allocating; a key spelled with an escape, or a large object, compares decoded names.
    private static int? RepeatedKey(List<Node> walk, int first)
    {
        var count = walk.Count - first;
        if (count < 2)
        {
            return null;
        }

        if (count <= 32)
        {
            for (var j = first + 1; j < walk.Count; j++)
            {
                var b = JsonMarshal.GetRawUtf8PropertyName(walk[j].Property);
                var bPlain = b.IndexOf((byte)'\\') < 0;
                for (var i = first; i < j; i++)
                {
                    var a = JsonMarshal.GetRawUtf8PropertyName(walk[i].Property);
                    if (bPlain && a.IndexOf((byte)'\\') < 0
                        ? a.SequenceEqual(b)
                        : TryName(walk[i].Property, out var an) && TryName(walk[j].Property, out var bn) && string.Equals(an, bn, StringComparison.Ordinal))
                    {
                        return j;
                    }
                }
            }

            return null;
        }

        var seen = t_keys ??= new HashSet<string>(StringComparer.Ordinal);
        seen.Clear();
        try
        {
            for (var j = first; j < walk.Count; j++)
            {
                if (TryName(walk[j].Property, out var name) && !seen.Add(name))
                {
                    return j;
                }
            }

            return null;
        }
        finally
        {
            seen.Clear();
        }
    }

    [ThreadStatic]
    private static HashSet<string>? t_keys;

    private static bool NameIsPlainText(JsonProperty p) => IsPlainText(JsonMarshal.GetRawUtf8PropertyName(p));

    // Valid UTF-8 with no escape in it: well-formed text (UTF-8 cannot encode a lone surrogate) without NUL (which a JSON
    // reader accepts in a string only as an escape).
    private static bool IsPlainText(ReadOnlySpan<byte> raw) => raw.IndexOf((byte)'\\') < 0 && System.Text.Unicode.Utf8.IsValid(raw);

    // field.name[3].other: the path of a node, spelled from its ancestors (only when reporting a problem).
    private static string PathOf(List<Node> walk, int at, string field)
    {
        var parts = new Stack<string>();
        for (var i = at; walk[i].Parent >= 0; i = walk[i].Parent)
        {
            var n = walk[i];
            parts.Push(n.IsProperty ? "." + (TryName(n.Property, out var name) ? name : "?") : $"[{n.Index}]");
        }

        return field + string.Concat(parts);
    }

    /// <summary>
    /// What is wrong with <paramref name="text"/> as stored text, or <see langword="null"/>: an unpaired surrogate (which
    /// UTF-8 cannot hold, so two different values would be stored as one), a NUL (which PostgreSQL text cannot hold) and,
    /// unless <paramref name="controlsAllowed"/>, any other control character (ids and single-line fields).
    /// </summary>
    public static string? TextProblem(string text, bool controlsAllowed)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    i++;
                    continue;
                }

                return $"has an unpaired surrogate (U+{(int)c:X4}) at position {i}; expected well-formed Unicode text";
            }

            if (char.IsLowSurrogate(c))
            {
                return $"has an unpaired surrogate (U+{(int)c:X4}) at position {i}; expected well-formed Unicode text";
            }

            if (c == '\0' || (!controlsAllowed && char.IsControl(c)))
            {
                return $"has a control character (U+{(int)c:X4}) at position {i}; expected printable text";
            }
        }

        return null;
    }

    private static bool TryName(JsonProperty p, out string name)
    {
        try
        {
            name = p.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = string.Empty;
            return false;
        }
    }

    private static string Short(string s) => TextCut.Prefix(s, 40);
}
