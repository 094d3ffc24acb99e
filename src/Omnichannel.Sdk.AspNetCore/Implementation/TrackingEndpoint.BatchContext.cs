using System.Text.Json;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

// A batch's shared context merged into each of its messages (what a message's own context says wins), with text that
// cannot be decoded left out.
internal sealed partial class TrackingEndpoint
{
    /// <summary>
    /// The batch's top-level <c>context</c> applies to every message of the request (the HTTP API's batch call); what a
    /// message's own context says wins, object by object.
    /// </summary>
    private static JsonElement WithBatchContext(JsonElement message, JsonElement batchContext)
    {
        if (batchContext.ValueKind != JsonValueKind.Object || message.ValueKind != JsonValueKind.Object)
        {
            return message;
        }

        try
        {
            return Merged(message, batchContext);
        }
        catch (InvalidOperationException)
        {
            // Text in the message that cannot be decoded (a lone surrogate escape) cannot be copied: the message goes to
            // the mapper as sent, which refuses it with that text's path (or, in its context, reads it as absent). It was
            // "message: could not be read", without the field.
            return message;
        }
    }

    /// <summary>
    /// A batch's context with the text that cannot be decoded (a lone surrogate escape, in a value or a key) left out, as
    /// the mapper reads such text in a message's own context: absent. Copied into every message, one such string refused
    /// every message of the batch ("could not be read"). Nesting is bounded by the body's depth limit.
    /// </summary>
    private static JsonElement ReadableContext(JsonElement context)
    {
        if (context.ValueKind != JsonValueKind.Object)
        {
            return context;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteReadable(writer, context);
        }

        using var document = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        return document.RootElement.Clone();
    }

    private static void WriteReadable(Utf8JsonWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var p in value.EnumerateObject())
                {
                    if (Decodes(p) is { } name && (p.Value.ValueKind != JsonValueKind.String || Decodes(p.Value) is not null))
                    {
                        writer.WritePropertyName(name);
                        WriteReadable(writer, p.Value);
                    }
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String || Decodes(item) is not null)
                    {
                        WriteReadable(writer, item);
                    }
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(Decodes(value));
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }

    private static string? Decodes(JsonProperty p)
    {
        try
        {
            return p.Name;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static string? Decodes(JsonElement s)
    {
        try
        {
            return s.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static JsonElement Merged(JsonElement message, JsonElement batchContext)
    {

        var own = message.TryGetProperty("context", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var p in message.EnumerateObject())
            {
                if (p.NameEquals("context"))
                {
                    continue;
                }

                p.WriteTo(writer);
            }

            writer.WritePropertyName("context");
            WriteMerged(writer, batchContext, own);
            writer.WriteEndObject();
        }

        using var merged = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        return merged.RootElement.Clone();
    }

    private static void WriteMerged(Utf8JsonWriter writer, JsonElement under, JsonElement over)
    {
        writer.WriteStartObject();
        foreach (var p in under.EnumerateObject())
        {
            if (over.ValueKind == JsonValueKind.Object && over.TryGetProperty(p.Name, out var mine))
            {
                if (p.Value.ValueKind == JsonValueKind.Object && mine.ValueKind == JsonValueKind.Object)
                {
                    writer.WritePropertyName(p.Name);
                    WriteMerged(writer, p.Value, mine);
                }

                continue;
            }

            p.WriteTo(writer);
        }

        if (over.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in over.EnumerateObject())
            {
                if (!(under.TryGetProperty(p.Name, out var theirs) && theirs.ValueKind == JsonValueKind.Object && p.Value.ValueKind == JsonValueKind.Object))
                {
                    p.WriteTo(writer);
                }
            }
        }

        writer.WriteEndObject();
    }
}
