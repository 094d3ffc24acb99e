using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

// Bodies in and out: reading a (gzip) body within its limit, a batch's shared context merged into each message, and the
// error bodies clients receive.
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

    private static JsonObject Rejection(int index, string? messageId, IReadOnlyList<ValidationError> errors) => new()
    {
        ["index"] = index,
        ["messageId"] = messageId,
        ["errors"] = Errors(errors),
    };

    private static JsonArray Errors(IReadOnlyList<ValidationError> errors) =>
        [.. errors.Select(e => (JsonNode)new JsonObject { ["field"] = e.Field, ["message"] = e.Message })];

    private static Task ErrorAsync(HttpContext http, int status, string message, IReadOnlyList<ValidationError>? errors = null)
    {
        http.Response.StatusCode = status;
        var body = new JsonObject { ["success"] = false, ["error"] = message };
        if (errors is { Count: > 0 })
        {
            body["errors"] = Errors(errors);
        }

        return http.Response.WriteAsJsonAsync(body, http.RequestAborted);
    }

    /// <summary>Reads the (gzip-decoded) body, at most <paramref name="limit"/> bytes; otherwise says why not.</summary>
    private static async Task<(byte[]? Body, string? Error)> ReadBodyAsync(HttpRequest request, int limit, CancellationToken ct)
    {
        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        Stream input;
        if (encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            input = request.Body;
        }
        else if (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
        {
            input = new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
        }
        else
        {
            return (null, $"Content-Encoding '{encoding}' is not supported (send gzip or no encoding)");
        }

        try
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await input.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return (null, $"the body is over {limit} bytes{(encoding.Length > 0 ? " once decompressed" : string.Empty)}, the limit of this call");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.Length == 0 ? (null, "the body is empty") : (buffer.ToArray(), null);
        }
        catch (InvalidDataException)
        {
            return (null, "the body is not valid gzip");
        }
        catch (BadHttpRequestException)
        {
            return (null, "the body could not be read");
        }
        finally
        {
            if (!ReferenceEquals(input, request.Body))
            {
                await input.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
