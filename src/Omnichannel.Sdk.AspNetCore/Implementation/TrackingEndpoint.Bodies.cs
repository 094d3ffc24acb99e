using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

// Bodies in and out: reading a body (gzip, deflate, brotli; its charset) within its limit, and the error bodies clients
// receive. A batch's shared context is in TrackingEndpoint.BatchContext.cs.
internal sealed partial class TrackingEndpoint
{
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

    /// <summary>
    /// Reads the body, decoded, at most <paramref name="limit"/> bytes; otherwise says why not. The body is read for what it
    /// is: gzip by its magic bytes, plain JSON as it is, whatever <c>Content-Encoding</c> says (a proxy that decompressed
    /// a body and kept the header, or dropped the header and kept the compression, made every event a 400, which clients
    /// drop). <c>deflate</c> is zlib (RFC 9110) or, as some clients send it, raw deflate; <c>x-gzip</c> is gzip; <c>br</c>
    /// is Brotli (RFC 7932, which has no magic bytes: a declared <c>br</c> body is decoded as brotli first, and read for what
    /// else it is only when it is not valid brotli). Up to three codings in a row (<c>br, gzip</c>) are undone last first
    /// (RFC 9110, section 8.4). Every decoded layer has the same limit.
    /// </summary>
    private static async Task<(byte[]? Body, string? Error)> ReadBodyAsync(HttpRequest request, int limit, CancellationToken ct)
    {
        var encoding = request.Headers.ContentEncoding.ToString().Trim();

        // A list names the codings in the order applied (RFC 9110, section 8.4); "identity" in it changes nothing, so
        // "gzip, identity" (a proxy appending its own) is gzip.
        var codings = encoding.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(c => !c.Equals("identity", StringComparison.OrdinalIgnoreCase)).Select(Coding).ToArray();

        // The raw body, bounded by the same limit: compressed JSON is smaller than its text.
        var (raw, rawError) = await ReadLimitedAsync(request.Body, limit, decompressed: false, ct).ConfigureAwait(false);
        if (raw is null)
        {
            return (null, rawError);
        }

        if (codings.Length > 1 && Array.TrueForAll(codings, c => c is not null))
        {
            // Review of audit U64: "br, gzip" was read as gzip only, and its inside (brotli) handed to the JSON reader.
            if (codings.Length > 3)
            {
                return (null, $"Content-Encoding '{encoding}' names {codings.Length} codings; at most 3 are read");
            }

            var layer = raw;
            for (var i = codings.Length - 1; i >= 0; i--)
            {
                var (decoded, error) = await DecodeAsync(layer, codings[i], encoding, limit, ct).ConfigureAwait(false);
                if (decoded is null)
                {
                    return (null, error);
                }

                layer = decoded;
            }

            return (AsUtf8(layer, request.ContentType), null);
        }

        if (codings.Length == 0 && UndeclaredCoding(raw, limit) is { } coding)
        {
            // First hour, eleventh pass: a brotli or zlib body sent without the header was "not valid JSON (line 1, byte 1
            // of the line)", with nothing to say the header was what was missing. Still refused: read only when declared.
            return (null, $"the body is compressed ({coding}) but no Content-Encoding names it: send it with \"Content-Encoding: {coding}\"");
        }

        var (body, bodyError) = await DecodeAsync(raw, codings.Length switch { 0 => "identity", 1 => codings[0], _ => null }, encoding, limit, ct).ConfigureAwait(false);
        return body is null ? (null, bodyError) : (AsUtf8(body, request.ContentType), null);
    }

    /// <summary>
    /// The coding a body sent without <c>Content-Encoding</c> is in, when it is not JSON text nor gzip (which is read by its
    /// magic bytes) but decodes whole as brotli (<c>br</c>) or zlib-wrapped deflate (<c>deflate</c>) to text that looks like
    /// JSON; otherwise
    /// <see langword="null"/>. Only bodies that cannot be JSON pay for the attempt.
    /// </summary>
    private static string? UndeclaredCoding(byte[] raw, int limit)
    {
        if (raw.Length == 0 || LooksLikeJson(raw) || raw is [0x1F, 0x8B, ..])
        {
            return null;
        }

        // Review of the forty-third session: only a body that decodes to JSON text is said to be compressed. zlib's header
        // check passes one ASCII pair in 256 ("(S", "x^"), and ZLibStream returns what it decoded of a stream that never
        // ends, so about one such text body in a hundred was "compressed (deflate)" instead of "not valid JSON".
        if (DecodeBrotli(raw, limit) is { Valid: true, Body: { Length: > 0 } decoded } && LooksLikeJson(decoded))
        {
            return "br";
        }

        if (raw is [var cmf, var flg, ..] && (cmf & 0x0F) == 8 && ((cmf << 8) | flg) % 31 == 0)
        {
            try
            {
                using var zlib = new ZLibStream(new MemoryStream(raw, writable: false), CompressionMode.Decompress);
                var start = new byte[16 * 1024];
                var first = zlib.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
                var chunk = new byte[16 * 1024];
                long total = first;
                int read;
                while (total <= limit && (read = zlib.Read(chunk)) > 0)
                {
                    total += read;
                }

                return first > 0 && LooksLikeJson(start.AsSpan(0, first)) ? "deflate" : null;
            }
            catch (InvalidDataException)
            {
                return null;
            }
        }

        return null;
    }

    private static string? Coding(string coding) => coding.ToLowerInvariant() switch
    {
        "gzip" or "x-gzip" => "gzip",
        "deflate" => "deflate",
        "br" => "br",
        _ => null,
    };

    // One coding undone (null: a coding this endpoint does not read), the body read for what it is when it is not that.
    private static async Task<(byte[]? Body, string? Error)> DecodeAsync(byte[] raw, string? declared, string encoding, int limit, CancellationToken ct)
    {
        if (raw.Length == 0)
        {
            return (null, "the body is empty");
        }

        string? brotliError = null;
        if (declared == "br")
        {
            // Review of audit U64: decoded before any sniffing. A brotli stream may begin with '[' (the BCL's default
            // encoder on a body over 64 KB) or with gzip's magic bytes (window 24): sniffed first, both were a 400.
            var (body, error, valid) = DecodeBrotli(raw, limit);
            if (valid)
            {
                return body is { Length: 0 } ? (null, "the body is empty") : (body, error);
            }

            brotliError = error;
        }

        string format;
        if (raw is [0x1F, 0x8B, ..])
        {
            format = "gzip";
        }
        else if (declared == "deflate" && raw is [var cmf, var flg, ..] && (cmf & 0x0F) == 8 && ((cmf << 8) | flg) % 31 == 0)
        {
            format = "zlib";
        }
        else if (LooksLikeJson(raw) || declared == "identity")
        {
            format = "identity";
        }
        else if (brotliError is not null)
        {
            return (null, brotliError);
        }
        else if (declared is null)
        {
            return (null, $"Content-Encoding '{encoding}' is not supported (send gzip, deflate, br or no encoding)");
        }
        else
        {
            format = declared;
        }

        if (format == "identity")
        {
            return (raw, null);
        }

        using var compressed = new MemoryStream(raw, writable: false);
        await using Stream input = format switch
        {
            "gzip" => new GZipStream(compressed, CompressionMode.Decompress),
            "zlib" => new ZLibStream(compressed, CompressionMode.Decompress),
            _ => new DeflateStream(compressed, CompressionMode.Decompress),
        };
        try
        {
            var (body, error) = await ReadLimitedAsync(input, limit, decompressed: true, ct).ConfigureAwait(false);
            return body is { Length: 0 } ? (null, "the body is empty") : (body, error);
        }
        catch (InvalidDataException)
        {
            return (null, $"the body is not valid {(format == "gzip" ? "gzip" : "deflate")}");
        }
    }

    /// <summary>
    /// A brotli body decoded whole, at most <paramref name="limit"/> bytes. <c>Valid</c> is false when it is not one
    /// complete brotli stream: corrupt, cut short (<see cref="BrotliStream"/> ends a cut stream without an error, so a cut
    /// body reached the JSON reader), or followed by other bytes (plain JSON labelled <c>br</c> may begin as an empty
    /// stream: <c>{</c> is one).
    /// </summary>
    private static (byte[]? Body, string? Error, bool Valid) DecodeBrotli(byte[] raw, int limit)
    {
        using var decoder = new BrotliDecoder();
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        ReadOnlySpan<byte> input = raw;
        while (true)
        {
            var status = decoder.Decompress(input, chunk, out var consumed, out var written);
            input = input[consumed..];
            if (buffer.Length + written > limit)
            {
                return (null, $"the body is over {limit} bytes once decompressed, the limit of this call", true);
            }

            buffer.Write(chunk, 0, written);
            switch (status)
            {
                case System.Buffers.OperationStatus.Done when input.IsEmpty:
                    return (buffer.ToArray(), null, true);
                case System.Buffers.OperationStatus.Done:
                    return (null, "the body is not valid brotli (bytes after the end of the stream)", false);
                case System.Buffers.OperationStatus.NeedMoreData:
                    return (null, "the body is not valid brotli (the stream is cut short)", false);
                case System.Buffers.OperationStatus.DestinationTooSmall when consumed > 0 || written > 0:
                    continue;
                default:
                    return (null, "the body is not valid brotli", false);
            }
        }
    }

    /// <summary>
    /// The body as UTF-8. JSON in UTF-8 holds no NUL byte (a NUL in text is escaped), so a body that is well-formed UTF-8
    /// without one is kept whatever its label says; another is in the encoding its <c>Content-Type</c> charset names
    /// (<c>StringContent(json, Encoding.Unicode)</c> sends UTF-16 labelled so; RFC 7159 allowed UTF-16 and UTF-32), else
    /// in UTF-16 or UTF-32 as its first bytes tell (RFC 4627, section 3). It was a 400, "not valid JSON", which clients drop.
    /// A body in none of these is kept, and refused as it was.
    /// </summary>
    private static byte[] AsUtf8(byte[] body, string? contentType)
    {
        if (body.AsSpan().IndexOf((byte)0) < 0 && System.Text.Unicode.Utf8.IsValid(body))
        {
            return body;
        }

        Encoding? encoding = null;
        if (Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media) && media.Charset.HasValue)
        {
            try
            {
                encoding = Encoding.GetEncoding(media.Charset.Value!.Trim('"', ' '));
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
            {
                // An unknown charset, or one .NET no longer decodes (utf-7 throws NotSupportedException; it answered 500):
                // told by the bytes below.
            }
        }

        encoding ??= body switch
        {
            [0xFF, 0xFE, 0, 0, ..] or [not 0, 0, 0, 0, ..] => new UTF32Encoding(bigEndian: false, byteOrderMark: false),
            [0, 0, 0xFE, 0xFF, ..] or [0, 0, 0, not 0, ..] => new UTF32Encoding(bigEndian: true, byteOrderMark: false),
            [0xFF, 0xFE, ..] or [not 0, 0, ..] => Encoding.Unicode,
            [0xFE, 0xFF, ..] or [0, not 0, ..] => Encoding.BigEndianUnicode,
            _ => null,
        };
        if (encoding is null or UTF8Encoding)
        {
            return body;
        }

        var text = encoding.GetString(body);
        return Encoding.UTF8.GetBytes(text.StartsWith('\uFEFF') ? text[1..] : text);
    }

    // JSON text starts (after white space and a byte-order mark) with an object or an array.
    private static bool LooksLikeJson(ReadOnlySpan<byte> raw)
    {
        if (raw.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            raw = raw[3..];
        }

        raw = raw.TrimStart(" \t\r\n"u8);
        return raw is [(byte)'{' or (byte)'[', ..];
    }

    private static async Task<(byte[]? Body, string? Error)> ReadLimitedAsync(Stream input, int limit, bool decompressed, CancellationToken ct)
    {
        try
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await input.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return (null, $"the body is over {limit} bytes{(decompressed ? " once decompressed" : string.Empty)}, the limit of this call");
                }

                buffer.Write(chunk, 0, read);
            }

            return (buffer.ToArray(), null);
        }
        catch (BadHttpRequestException)
        {
            return (null, "the body could not be read");
        }
    }
}
