using System.Text;
using System.Text.Json;
using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>
/// <c>JsonLimits.Check</c> walks every event's properties and traits without allocating: sizes from the raw UTF-8, text
/// without escapes taken as valid, paths spelled only for an error. This property holds it to the straightforward walk it
/// replaced (kept below as the reference): the same answer and the same first error, with its path, for random JSON full
/// of escapes, NULs, lone surrogates, non-ASCII text, deep nesting, many members and repeated keys.
/// </summary>
public sealed class JsonLimitsProperties
{
    private static readonly string[] Texts =
    [
        "a", "order_id", "é", "日本", "😀", "with space", "a.b", "x[0]", "\\u0000", "a\\u0000b", "\\ud800", "x\\udc00", "\\ud83d\\ude00",
        "\\u0041", "\\u0061", "tab\\t", "q\\\"", "\\u0001", "", "Ünïcødé", "\\\\", "line\\n",
    ];

    [Property(MaxTest = 400)]
    public void Check_GivesTheReferenceWalksAnswerAndFirstError(int seed, byte depthLimit, byte memberLimit)
    {
        var random = new Random(seed);
        var json = "{" + Members(random, 0) + "}";
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        var options = new OmnichannelOptions { MaxJsonDepth = 1 + depthLimit % 6, MaxJsonMembers = 1 + memberLimit % 40 };
        var maxBytes = random.Next(4) == 0 ? random.Next(2, json.Length + 2) : 1 << 20;

        var errors = new List<ValidationError>();
        var expectedErrors = new List<ValidationError>();
        var ok = JsonLimits.Check(doc.RootElement, "properties", maxBytes, options, errors);
        var expected = Reference(doc.RootElement, "properties", maxBytes, options, expectedErrors);

        Assert.Equal(expected, ok);
        Assert.Equal(expectedErrors, errors);
    }

    [Fact]
    public void Check_AValidObject_AllocatesNothing()
    {
        using var doc = JsonDocument.Parse("""{"order_id":"o-1","total":12.5,"currency":"GBP","items":[{"product_id":"p1","name":"Kibble é 日本","quantity":2}],"gift":true}""");
        var options = new OmnichannelOptions();
        var errors = new List<ValidationError>();
        Assert.True(JsonLimits.Check(doc.RootElement, "properties", 32_768, options, errors)); // warms the walk's buffers

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            JsonLimits.Check(doc.RootElement, "properties", 32_768, options, errors);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Empty(errors);
    }

    private static string Members(Random random, int depth)
    {
        var n = depth > 7 ? 0 : random.Next(depth == 0 ? 1 : 0, 5);
        // A key now and then repeats the one before (the same suffix, its text perhaps spelled another way: "a", "\u0061").
        return string.Join(",", Enumerable.Range(0, n).Select(i => $"\"{Texts[random.Next(Texts.Length)]}{(i > 0 && random.Next(3) == 0 ? i - 1 : i)}\":{Value(random, depth + 1)}"));
    }

    private static string Value(Random random, int depth) => random.Next(depth > 7 ? 4 : 6) switch
    {
        0 => $"\"{Texts[random.Next(Texts.Length)]}\"",
        1 => random.Next(-1000, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        2 => random.Next(2) == 0 ? "true" : "null",
        3 => $"\"{Texts[random.Next(Texts.Length)]}{Texts[random.Next(Texts.Length)]}\"",
        4 => "{" + Members(random, depth) + "}",
        _ => "[" + string.Join(",", Enumerable.Range(0, random.Next(0, 4)).Select(_ => Value(random, depth + 1))) + "]",
    };

    // The walk Check replaced, as it was: strings for every key, value and path.
    private static bool Reference(JsonElement value, string field, int maxBytes, OmnichannelOptions options, List<ValidationError> errors)
    {
        var raw = value.GetRawText();
        var size = Encoding.UTF8.GetByteCount(raw);
        if (size > maxBytes)
        {
            errors.Add(new(field, $"are {size} bytes of JSON; at most {maxBytes} are allowed"));
            return false;
        }

        var members = 0;
        var stack = new Stack<(JsonElement Value, string Path, int Depth)>();
        stack.Push((value, field, 1));
        while (stack.Count > 0)
        {
            var (e, path, depth) = stack.Pop();
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                case JsonValueKind.Array:
                    if (depth > options.MaxJsonDepth)
                    {
                        errors.Add(new(path, $"is nested {depth} levels deep (objects and arrays, {field} counting as 1); at most {options.MaxJsonDepth} are allowed"));
                        return false;
                    }

                    if (e.ValueKind == JsonValueKind.Object)
                    {
                        var names = new HashSet<string>(StringComparer.Ordinal);
                        string? repeated = null;
                        foreach (var p in e.EnumerateObject())
                        {
                            if (++members > options.MaxJsonMembers)
                            {
                                errors.Add(new(field, $"have more than {options.MaxJsonMembers} keys and array items; at most {options.MaxJsonMembers} are allowed"));
                                return false;
                            }

                            string name;
                            try
                            {
                                name = p.Name;
                            }
                            catch (InvalidOperationException)
                            {
                                errors.Add(new(path, "has a key that is not well-formed text (an unpaired surrogate)"));
                                return false;
                            }

                            if (JsonLimits.TextProblem(name, controlsAllowed: true) is { } keyProblem)
                            {
                                errors.Add(new(path + "." + (name.Length <= 40 ? name : name[..40] + "…"), "key " + keyProblem));
                                return false;
                            }

                            stack.Push((p.Value, path + "." + name, depth + 1));
                            if (!names.Add(name))
                            {
                                repeated ??= name;
                            }
                        }

                        if (repeated is not null)
                        {
                            errors.Add(new(path + "." + repeated, "is a repeated key; a key may appear once in an object"));
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

                            stack.Push((item, $"{path}[{i++}]", depth + 1));
                        }
                    }

                    break;
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
                        errors.Add(new(path, "is not well-formed text (an unpaired surrogate)"));
                        return false;
                    }

                    if (JsonLimits.TextProblem(text, controlsAllowed: true) is { } problem)
                    {
                        errors.Add(new(path, problem));
                        return false;
                    }

                    break;
            }
        }

        return true;
    }
}
