using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.Tests.Shared;

/// <summary>
/// Audit U50's fixed mutation generator: from a valid JSON document and a seed, a hostile variant. Deterministic in the
/// seed (one <see cref="Random"/>), so a failing case replays. Mutations: a value replaced by a hostile one (1e308, -0,
/// 1e400, "NaN", lone surrogates, control characters, 100,000 characters, empty array/object, null…), a type swapped
/// (string ↔ number, object ↔ array), a member removed, null inserted into an array, an unknown member, a value nested
/// 64–5,000 deep; and on the text: truncation, a BOM, a control character, a duplicate key.
/// </summary>
internal static partial class AuditU50JsonMutator
{
    public static readonly string[] HostileValues =
    [
        "1e308", "-1e308", "-0", "-0.0", "1e400", "-1e400", "5e-324", "79228162514264337593543950336", "-9223372036854775809",
        "18446744073709551616", "0.0000000000000000000000000001", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"-0\"", "\"1e308\"",
        "null", "true", "false", "[]", "{}", "[null]", "[[]]", "{\"\":null}", "\"\"", "\" \"", "\"\\ud800\"", "\"x\\udc00\"",
        "\"\\u0000\"", "\"\\u001b[31m\"", "\"\\u202e\\u200b\"", "\"\\ufeff\"", "\"$.a[0]\"", "\"{{ x }}\"", "\"P\"", "\"PT\"",
        "\"P99999999999Y\"", "\"9999-12-31T23:59:59.9999999+14:00\"", "\"0001-01-01T00:00:00-14:00\"", "\"2026-02-30T00:00:00Z\"",
        "\"" + new string('a', 100_000) + "\"", "[" + string.Join(',', Enumerable.Repeat("1", 10_000)) + "]",
    ];

    private const string Marker = "@@U50@@";

    private static readonly System.Text.Json.JsonSerializerOptions WriteOptions = new() { MaxDepth = 100_000 };

    /// <summary>Applies one to three mutations; <paramref name="textMutations"/> allows the ones that may make invalid JSON.</summary>
    public static string Mutate(string validJson, Random r, bool textMutations = true)
    {
        var json = validJson;
        var count = r.Next(1, 4);
        for (var i = 0; i < count; i++)
        {
            json = r.Next(textMutations ? 10 : 7) switch
            {
                < 7 => MutateTree(json, r),
                7 => json[..r.Next(json.Length + 1)],
                8 => r.Next(2) == 0 ? "\uFEFF" + json : InsertAt(json, r, r.Next(2) == 0 ? "\u0000" : "\u001f"),
                _ => DuplicateKey(json, r),
            };
        }

        return json;
    }

    private static string InsertAt(string s, Random r, string what)
    {
        var at = r.Next(s.Length + 1);
        return s[..at] + what + s[at..];
    }

    private static string DuplicateKey(string json, Random r)
    {
        var matches = KeyStart().Matches(json);
        if (matches.Count == 0)
        {
            return json;
        }

        var m = matches[r.Next(matches.Count)];
        var value = r.Next(2) == 0 ? "null" : HostileValues[r.Next(HostileValues.Length)];
        return json[..(m.Index + 1)] + "\"" + m.Groups[1].Value + "\":" + value + "," + json[(m.Index + 1)..];
    }

    private static string MutateTree(string json, Random r)
    {
        try
        {
            return MutateTreeOnce(json, r);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // A duplicate key or a lone surrogate an earlier mutation wrote: JsonNode cannot hold or rewrite it; leave the text as it is.
            return json;
        }
    }

    private static string MutateTreeOnce(string json, Random r)
    {
        if (Depth(json) > 200)
        {
            return json; // already nested deep by an earlier mutation: JsonNode's walks over it are slow (seconds), keep it
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new() { MaxDepth = 100_000 });
        }
        catch (System.Text.Json.JsonException)
        {
            return json; // an earlier text mutation broke it; leave it broken
        }

        if (root is null)
        {
            return json;
        }

        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        var target = nodes[r.Next(nodes.Count)];
        var raw = (string?)null;
        switch (r.Next(7))
        {
            case 0 or 1:
                raw = HostileValues[r.Next(HostileValues.Length)];
                break;
            case 2:
                raw = Swapped(target);
                break;
            case 3:
                if (target is JsonObject o && o.Count > 0)
                {
                    o.Remove(o.ElementAt(r.Next(o.Count)).Key);
                    return root.ToJsonString(WriteOptions);
                }

                raw = "null";
                break;
            case 4:
                if (target is JsonArray a)
                {
                    a.Insert(r.Next(a.Count + 1), null);
                    return root.ToJsonString(WriteOptions);
                }

                raw = "null";
                break;
            case 5:
                if (target is JsonObject u)
                {
                    u["u50_" + r.Next(100)] = JsonNode.Parse(HostileValues[r.Next(HostileValues.Length - 2)]);
                    return root.ToJsonString(WriteOptions);
                }

                raw = "[]";
                break;
            default:
                var depth = new[] { 31, 32, 33, 63, 64, 65, 200, 1000, 1001, 5000, 20_000 }[r.Next(11)];
                raw = r.Next(3) switch
                {
                    0 => new string('[', depth) + "1" + new string(']', depth),
                    1 => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth),
                    _ => string.Concat(Enumerable.Repeat("{\"all\":[", depth)) + "{\"trait\":\"a\",\"op\":\"exists\"}" + string.Concat(Enumerable.Repeat("]}", depth)),
                };
                break;
        }

        if (target == root)
        {
            return raw;
        }

        target.ReplaceWith(Marker);
        return root.ToJsonString(WriteOptions).Replace("\"" + Marker + "\"", raw, StringComparison.Ordinal);
    }

    private static int Depth(string json)
    {
        int depth = 0, max = 0;
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var c = json[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c == '"')
            {
                inString = true;
            }
            else if (c is '{' or '[')
            {
                max = Math.Max(max, ++depth);
            }
            else if (c is '}' or ']')
            {
                depth--;
            }
        }

        return max;
    }

    private static string Swapped(JsonNode node) => node switch
    {
        JsonObject o => "[" + string.Join(',', o.Select(p => p.Value?.ToJsonString(WriteOptions) ?? "null")) + "]",
        JsonArray a => "{" + string.Join(',', a.Select((v, i) => $"\"{i}\":" + (v?.ToJsonString(WriteOptions) ?? "null"))) + "}",
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => double.TryParse(v.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "0",
        JsonValue v => "\"" + v.ToJsonString(WriteOptions).Trim('"') + "\"",
        _ => "null",
    };

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    if (child is not null)
                    {
                        Collect(child, into);
                    }
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    if (child is not null)
                    {
                        Collect(child, into);
                    }
                }

                break;
        }
    }

    [GeneratedRegex("\\{\"([^\"\\\\]*)\":")]
    private static partial Regex KeyStart();

    /// <summary>The JSON text of <paramref name="s"/> (for building messages by hand).</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            sb.Append(c switch { '"' => "\\\"", '\\' => "\\\\", < ' ' => $"\\u{(int)c:x4}", _ => c.ToString() });
        }

        return sb.Append('"').ToString();
    }
}
