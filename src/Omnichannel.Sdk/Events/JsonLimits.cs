using System.Text;
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
    /// Checks a properties or traits object: its UTF-8 size, nesting depth, number of members and its text (no NUL, no
    /// unpaired surrogates, in keys and values). Reports the first problem with its path. Not an object: nothing to check.
    /// </summary>
    /// <returns>Whether <paramref name="value"/> is an object within every limit.</returns>
    public static bool Check(JsonElement value, string field, int maxBytes, OmnichannelOptions options, List<ValidationError> errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var raw = value.GetRawText();
        var size = raw.Length <= maxBytes / 3 ? raw.Length : Encoding.UTF8.GetByteCount(raw);
        if (size > maxBytes)
        {
            errors.Add(new(field, $"are {size} bytes of JSON; at most {maxBytes} are allowed"));
            return false;
        }

        // Iterative: a document parsed with a generous MaxDepth must not overflow the stack here.
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
                        foreach (var p in e.EnumerateObject())
                        {
                            if (++members > options.MaxJsonMembers)
                            {
                                errors.Add(new(field, $"have more than {options.MaxJsonMembers} keys and array items; at most {options.MaxJsonMembers} are allowed"));
                                return false;
                            }

                            if (!TryName(p, out var name))
                            {
                                errors.Add(new(path, "has a key that is not well-formed text (an unpaired surrogate)"));
                                return false;
                            }

                            if (TextProblem(name, controlsAllowed: true) is { } keyProblem)
                            {
                                errors.Add(new(path + "." + Short(name), "key " + keyProblem));
                                return false;
                            }

                            stack.Push((p.Value, path + "." + name, depth + 1));
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

                    if (TextProblem(text, controlsAllowed: true) is { } problem)
                    {
                        errors.Add(new(path, problem));
                        return false;
                    }

                    break;
            }
        }

        return true;
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

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
