using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk;

/// <summary>
/// What the definition readers (segments, journeys) share: errors collected with their JSON paths, the parts that
/// could not be read (so the validator's errors under them are dropped: the reader has already reported the part),
/// depth-limited recursion, and typed reads of keys — strings, integers, booleans, choices from a list, durations,
/// instants, arrays — each reporting what it expected at the key's path. A reader keeps only its own grammar.
/// </summary>
/// <remarks>
/// A typed read that fails reports one error at the key's path and returns <see langword="null"/>; most also mark the
/// key unreadable, so the validator does not report the stand-in the reader puts in its place.
/// </remarks>
internal abstract class DefinitionJsonReader
{
    private readonly HashSet<string> _unreadable = new(StringComparer.Ordinal);
    private int _depth;

    /// <summary>The errors found so far, in document order.</summary>
    protected List<DefinitionError> Errors { get; } = [];

    /// <summary>The errors of a document whose text cannot be read at all (see <see cref="DefinitionJson.CheckShape"/>), or <see langword="null"/>.</summary>
    /// <param name="element">The definition.</param>
    /// <param name="path">Its JSON path.</param>
    protected static List<DefinitionError>? ShapeErrors(JsonElement element, string path)
    {
        var shape = DefinitionJson.CheckShape(element, path);
        return shape.Count > 0 ? [.. shape.Select(p => new DefinitionError(p.Path, p.Message))] : null;
    }

    /// <summary>The reader's errors followed by the validator's, less those under a part the reader already reported.</summary>
    /// <param name="validation">The validator's errors.</param>
    protected List<DefinitionError> WithValidation(List<DefinitionError> validation)
    {
        Errors.AddRange(validation.Where(e => !IsUnreadable(e.Path)));
        return Errors;
    }

    /// <summary>Reports an error at <paramref name="path"/>.</summary>
    protected void Error(string path, string message) => Errors.Add(new(path, message));

    /// <summary>Marks the part at <paramref name="path"/> as reported: the validator's errors under it are dropped.</summary>
    protected void Unreadable(string path) => _unreadable.Add(path);

    /// <summary>Whether <paramref name="path"/> is at or under a part already reported.</summary>
    protected bool IsUnreadable(string path) => DefinitionJson.IsUnder(path, _unreadable);

    /// <summary>
    /// Reads a nested part with <paramref name="read"/>, no deeper than <see cref="SegmentDefinitionValidator.MaxRuleDepth"/>
    /// levels (no document makes a reader recurse without bound); deeper, reports it and returns <paramref name="tooDeep"/>.
    /// </summary>
    protected T Nested<T>(string path, Func<T> read, Func<T> tooDeep)
    {
        if (_depth >= SegmentDefinitionValidator.MaxRuleDepth)
        {
            Error(path, SegmentDefinitionValidator.TooDeep);
            Unreadable(path);
            return tooDeep();
        }

        _depth++;
        try
        {
            return read();
        }
        finally
        {
            _depth--;
        }
    }

    /// <summary>The object's keys; reports unknown and repeated keys.</summary>
    protected Dictionary<string, JsonElement> Keys(JsonElement e, string path, IReadOnlyList<string> allowed, string what) =>
        DefinitionJson.Keys(e, path, allowed, what, Error);

    /// <summary>Whether <paramref name="e"/> is an object; if not, reports "expected <paramref name="what"/>".</summary>
    protected bool IsObject(JsonElement e, string path, string what)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            return true;
        }

        Error(path, $"expected {what}, got {Kind(e)}");
        Unreadable(path);
        return false;
    }

    /// <summary>A string key; missing and <paramref name="required"/>, or not a string, is reported with <paramref name="expected"/>.</summary>
    protected string? String(Dictionary<string, JsonElement> keys, string key, string path, string expected, bool required)
    {
        var at = JsonPath.Key(path, key);
        if (!keys.TryGetValue(key, out var e))
        {
            if (required)
            {
                Error(at, $"is required: {expected}");
                Unreadable(at);
            }

            return null;
        }

        if (e.ValueKind != JsonValueKind.String)
        {
            Error(at, $"expected a string ({expected}), got {Kind(e)}");
            Unreadable(at);
            return null;
        }

        return e.GetString();
    }

    /// <summary>A string key whose value must be one of <paramref name="allowed"/> (an enumeration).</summary>
    protected string? Choice(Dictionary<string, JsonElement> keys, string key, string path, IReadOnlyList<string> allowed, bool required)
    {
        var value = String(keys, key, path, $"one of {string.Join(", ", allowed)}", required);
        if (value is null || allowed.Contains(value))
        {
            return value;
        }

        Error(JsonPath.Key(path, key), $"unknown value '{value}' (expected one of {string.Join(", ", allowed)})");
        return null;
    }

    /// <summary>An integer key (a 32-bit whole number).</summary>
    protected int? Int(Dictionary<string, JsonElement> keys, string key, string path, bool required)
    {
        var at = JsonPath.Key(path, key);
        if (!keys.TryGetValue(key, out var e))
        {
            if (required)
            {
                Error(at, "is required: an integer");
                Unreadable(at);
            }

            return null;
        }

        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var n))
        {
            return n;
        }

        Error(at, $"expected an integer, got {(e.ValueKind == JsonValueKind.Number ? e.GetRawText() : Kind(e))}");
        Unreadable(at);
        return null;
    }

    /// <summary>A boolean key (never required).</summary>
    protected bool? Bool(Dictionary<string, JsonElement> keys, string key, string path)
    {
        if (!keys.TryGetValue(key, out var e))
        {
            return null;
        }

        if (e.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return e.GetBoolean();
        }

        Error(JsonPath.Key(path, key), $"expected true or false, got {Kind(e)}");
        return null;
    }

    /// <summary>An ISO 8601 duration key; <paramref name="example"/> is what the error for a non-string shows.</summary>
    protected IsoDuration? Duration(Dictionary<string, JsonElement> keys, string key, string path, bool required, string example = "P7D")
    {
        var at = JsonPath.Key(path, key);
        if (!keys.TryGetValue(key, out var e))
        {
            if (required)
            {
                Error(at, "is required: an ISO 8601 duration such as PT1H or P7D");
                Unreadable(at);
            }

            return null;
        }

        if (e.ValueKind != JsonValueKind.String)
        {
            Error(at, $"expected an ISO 8601 duration string such as \"{example}\", got {Kind(e)}");
        }
        else if (IsoDuration.TryParse(e.GetString(), out var d, out var error))
        {
            return d;
        }
        else
        {
            Error(at, error);
        }

        Unreadable(at);
        return null;
    }

    /// <summary>An ISO 8601 instant.</summary>
    protected DateTimeOffset? Instant(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.String && SegmentDefinitionValidator.TryInstant(e.GetString()!, out var instant))
        {
            return instant;
        }

        Error(path, $"expected an ISO 8601 instant such as \"2025-01-31T00:00:00Z\", got {(e.ValueKind == JsonValueKind.String ? $"'{e.GetString()}'" : Kind(e))}");
        return null;
    }

    /// <summary>
    /// An array, each item read by <paramref name="item"/> at its own path; not an array, it reports "expected an array of
    /// <paramref name="what"/>" and gives an empty list.
    /// </summary>
    protected List<T> Array<T>(JsonElement e, string path, string what, Func<JsonElement, string, T> item)
    {
        var list = new List<T>();
        if (e.ValueKind != JsonValueKind.Array)
        {
            Error(path, $"expected an array of {what}, got {Kind(e)}");
            Unreadable(path);
            return list;
        }

        var i = 0;
        foreach (var element in e.EnumerateArray())
        {
            list.Add(item(element, JsonPath.Index(path, i++)));
        }

        return list;
    }

    /// <summary>
    /// An optional array of objects under <paramref name="key"/>, each read by <paramref name="read"/>; an item that is not
    /// an object is reported (and left out). A missing key gives an empty list (the validator reports it if required).
    /// </summary>
    protected List<T> Objects<T>(Dictionary<string, JsonElement> keys, string key, string path, string what, Func<JsonElement, string, T> read)
    {
        var list = new List<T>();
        var at = JsonPath.Key(path, key);
        if (!keys.TryGetValue(key, out var e))
        {
            return list;
        }

        if (e.ValueKind != JsonValueKind.Array)
        {
            Error(at, $"expected an array of {what}, got {Kind(e)}");
            Unreadable(at);
            return list;
        }

        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            var itemPath = JsonPath.Index(at, i++);
            if (IsObject(item, itemPath, what))
            {
                list.Add(read(item, itemPath));
            }
        }

        return list;
    }

    /// <summary>An array of strings; an item that is not one is reported (and left out).</summary>
    protected List<string> Strings(JsonElement e, string path, string what)
    {
        var list = new List<string>();
        if (e.ValueKind != JsonValueKind.Array)
        {
            Error(path, $"expected an array of {what}, got {Kind(e)}");
            Unreadable(path);
            return list;
        }

        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            var at = JsonPath.Index(path, i++);
            if (item.ValueKind == JsonValueKind.String)
            {
                list.Add(item.GetString()!);
            }
            else
            {
                Error(at, $"expected a string, got {Kind(item)}");
            }
        }

        return list;
    }

    /// <summary>The JSON kind of a value, as error messages name it.</summary>
    protected static string Kind(JsonElement e) => DefinitionJson.Kind(e.ValueKind);

    /// <summary>The JSON kind of a node, as error messages name it.</summary>
    protected static string Kind(JsonNode n) => DefinitionJson.Kind(n.GetValueKind());
}
