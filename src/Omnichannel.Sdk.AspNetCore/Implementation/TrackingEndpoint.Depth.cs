using System.Text;
using System.Text.Json;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

// A body nested deeper than the parser's limit: where, and, in a batch, which messages, so that only they are refused.
internal sealed partial class TrackingEndpoint
{
    // The member a too-deep batch message is replaced by (a NUL keeps it out of any name a client writes); its value is
    // the path, inside the message, of the first object or array past the limit.
    private const string TooDeepMarker = "\u0000tooDeep";

    // The length of a UTF-8 byte-order mark at the start of the body (0 or 3).
    private static int Bom(byte[] body) => body.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;

    /// <summary>One container nested past the limit: its path, and for a batch message, the message's index and bytes.</summary>
    private readonly record struct TooDeep(string Path, int Message, int Start, int End);

    /// <summary>
    /// Scans a body the parser refused, with no depth limit (the reader keeps its depth on the heap, not the stack): the
    /// first container past <paramref name="limit"/> of each <c>batch[i]</c> message, and any outside them. Null when the
    /// body is not JSON after all (then the parser's own error stands).
    /// </summary>
    private static List<TooDeep>? FindTooDeep(ReadOnlySpan<byte> json, int limit)
    {
        var found = new List<TooDeep>();
        var frames = new List<(bool Array, int Next, string Segment, int Start)>();
        string? name = null;
        var skipping = -1; // the frame count to come back to before looking again
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = Math.Max(limit + 2, json.Length + 2) });
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        name = KeyText(ref reader);
                        continue;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        frames.Add((reader.TokenType == JsonTokenType.StartArray, 0, Segment(frames, name), (int)reader.TokenStartIndex));
                        if (skipping < 0 && frames.Count > limit)
                        {
                            // A message of a batch ({"batch": [ message, … ]}) is refused alone; anything else refuses the body.
                            var inMessage = frames.Count > 3 && !frames[0].Array && frames[1] is { Array: true, Segment: ".batch" };
                            found.Add(new(
                                PathOf(frames, inMessage ? 3 : 1),
                                inMessage ? frames[1].Next - 1 : -1,
                                inMessage ? frames[2].Start : 0,
                                0));
                            skipping = inMessage ? 2 : 0;
                        }

                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        if (skipping >= 0 && frames.Count == skipping)
                        {
                            found[^1] = found[^1] with { End = (int)reader.BytesConsumed };
                            skipping = -1;
                        }

                        break;
                    default:
                        _ = Segment(frames, name); // counts the array element
                        break;
                }

                name = null;
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return found.Count == 0 ? null : found;
    }

    // A key as text; one that cannot be decoded (an escaped lone surrogate, bytes that are not UTF-8) as it was written,
    // U+FFFD for bytes that are not UTF-8. GetString threw for it inside the caller's exception filter, which made the
    // whole batch "not valid JSON" (audit U104); the message holding it is refused alone, for its depth or its text.
    private static string KeyText(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return Encoding.UTF8.GetString(reader.ValueSpan); // read from one span: never a value sequence
        }
    }

    // The path segment of a value about to be read, counting it when its parent is an array.
    private static string Segment(List<(bool Array, int Next, string Segment, int Start)> frames, string? name)
    {
        if (frames.Count == 0)
        {
            return string.Empty;
        }

        var parent = frames[^1];
        if (!parent.Array)
        {
            return "." + name;
        }

        frames[^1] = parent with { Next = parent.Next + 1 };
        return $"[{parent.Next}]";
    }

    private static string PathOf(List<(bool Array, int Next, string Segment, int Start)> frames, int from)
    {
        var path = new StringBuilder();
        for (var i = from; i < frames.Count; i++)
        {
            path.Append(frames[i].Segment);
        }

        return path.Length == 0 ? "message" : path.ToString().TrimStart('.');
    }

    /// <summary>
    /// The body with each too-deep batch message replaced by <c>{"\u0000tooDeep": path}</c>, or null when something past
    /// the limit is not inside a batch message.
    /// </summary>
    private static byte[]? WithoutTooDeepMessages(ReadOnlySpan<byte> json, List<TooDeep> found)
    {
        if (found.Any(f => f.Message < 0))
        {
            return null;
        }

        using var buffer = new MemoryStream(json.Length);
        var at = 0;
        foreach (var f in found)
        {
            buffer.Write(json[at..f.Start]);
            buffer.Write(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { [TooDeepMarker] = f.Path }));
            at = f.End;
        }

        buffer.Write(json[at..]);
        return buffer.ToArray();
    }
}
