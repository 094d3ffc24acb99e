using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http;

/// <summary>What came back from the provider: status, body (capped) and any <c>Retry-After</c>.</summary>
internal readonly record struct HttpReply(HttpStatusCode Status, string? ReasonPhrase, byte[] Body);

/// <summary>Sends one request with a time-out on the <see cref="TimeProvider"/> and turns the answer into a <see cref="DeliveryResult"/>.</summary>
internal static class HttpExchange
{
    /// <summary>Bodies beyond this are cut: enough for an id or an error message, bounded against hostile servers.</summary>
    internal const int MaxBodyBytes = 64 * 1024;

    private const int MaxMessageLength = 500;

    private static readonly string[] ErrorMessageCandidates =
        ["message", "error.message", "error_description", "error", "detail", "title", "errors.0.message", "errors.0"];

    public static async Task<DeliveryResult> SendAsync(
        HttpClient client,
        HttpRequestMessage request,
        TimeSpan timeout,
        TimeProvider timeProvider,
        string? errorMessagePath,
        bool sentIdempotencyKey,
        Func<HttpReply, DeliveryResult> onSuccess,
        CancellationToken cancellationToken)
    {
        // The time-out runs on the TimeProvider so tests (and replays) drive it with a fake clock.
        using var timeoutSource = timeout == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);

            // The status line decides. A body that breaks off or stalls after it changes nothing: a 2xx message is with
            // the provider (reporting a failure would send it again), and a refusal is still one.
            var body = await ReadBodyAsync(response.Content, linked.Token).ConfigureAwait(false);
            var reply = new HttpReply(response.StatusCode, response.ReasonPhrase, body);
            var code = (int)response.StatusCode;
            if (code is >= 200 and < 300)
            {
                return onSuccess(reply);
            }

            var described = Describe(reply, errorMessagePath);
            if (IsTransient(code) || (code == 409 && sentIdempotencyKey))
            {
                var retryAfter = RetryAfter(response, timeProvider);
                return retryAfter is { } delay
                    ? DeliveryResult.TransientFailure(HttpFailureReason.WithRetryAfter(described, delay), delay)
                    : DeliveryResult.TransientFailure(described);
            }

            return DeliveryResult.PermanentFailure(described);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Reported, not thrown: the provider may or may not have the message, and a retry carries the same idempotency key.
            return DeliveryResult.TransientFailure("The send was cancelled before the provider answered.");
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested)
        {
            return DeliveryResult.TransientFailure(string.Create(CultureInfo.InvariantCulture, $"The provider did not answer within {timeout.TotalSeconds:0.###} s."));
        }
        catch (OperationCanceledException ex)
        {
            // HttpClient.Timeout (or a handler of the host's) gave up.
            return DeliveryResult.TransientFailure("The HTTP client timed out: " + ex.Message);
        }
        catch (HttpRequestException ex)
        {
            return DeliveryResult.TransientFailure($"Network error ({ex.HttpRequestError}): {ex.Message}");
        }
        catch (IOException ex)
        {
            return DeliveryResult.TransientFailure("Network error: " + ex.Message);
        }
    }

    /// <summary>
    /// 408, 425, 429 and every 5xx may succeed later; other non-2xx answers will not, except a 409 to a request that
    /// carried an idempotency key (see <see cref="SendAsync"/>): that is how a provider says an earlier attempt under the
    /// same key is still being processed, and a later retry gets that attempt's answer.
    /// </summary>
    internal static bool IsTransient(int statusCode) => statusCode is 408 or 425 or 429 or >= 500;

    internal static bool TryReadString(byte[] json, string path, out string value)
    {
        value = "";
        try
        {
            using var document = JsonDocument.Parse(json);
            return TryReadString(document.RootElement, path, out value);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Follows a dot-separated path (<c>data.sid</c>, <c>messages.0.id</c>; a leading <c>$.</c> is allowed).</summary>
    internal static bool TryReadString(JsonElement root, string path, out string value)
    {
        value = "";
        var current = root;
        var trimmed = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;
        foreach (var segment in trimmed.Split('.'))
        {
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(segment, out var child))
            {
                current = child;
            }
            else if (current.ValueKind == JsonValueKind.Array
                && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                && index < current.GetArrayLength())
            {
                current = current[index];
            }
            else
            {
                return false;
            }
        }

        switch (current.ValueKind)
        {
            case JsonValueKind.String:
                try
                {
                    value = current.GetString()!;
                }
                catch (InvalidOperationException)
                {
                    // Bytes that are not UTF-8, or an escaped lone surrogate: no readable value.
                    return false;
                }

                return value.Length > 0;
            case JsonValueKind.Number:
                value = current.GetRawText();
                return true;
            default:
                return false;
        }
    }

    private static string Describe(HttpReply reply, string? errorMessagePath)
    {
        var head = string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)reply.Status} {reply.ReasonPhrase ?? reply.Status.ToString()}");
        var message = ErrorMessage(reply.Body, errorMessagePath);
        return message is null ? head : head + ": " + message;
    }

    private static string? ErrorMessage(byte[] body, string? path)
    {
        if (body.Length == 0)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var candidates = path is null ? ErrorMessageCandidates : [path];
            foreach (var candidate in candidates)
            {
                if (TryReadString(document.RootElement, candidate, out var found))
                {
                    return Cap(found);
                }
            }

            return Cap(document.RootElement.GetRawText());
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not JSON, or JSON whose text is not UTF-8: the text as it reads, invalid bytes replaced.
            return Cap(Encoding.UTF8.GetString(body));
        }
    }

    private static string? Cap(string text)
    {
        var flat = text.ReplaceLineEndings(" ").Trim();
        if (flat.Length == 0)
        {
            return null;
        }

        return TextCut.Prefix(flat, MaxMessageLength); // whole characters: a lone surrogate is text strict JSON readers refuse
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider timeProvider)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    private static ReadOnlySpan<byte> Utf16BigEndianBom => [0xFE, 0xFF];

    private static ReadOnlySpan<byte> Utf16LittleEndianBom => [0xFF, 0xFE];

    private static ReadOnlySpan<byte> Utf32LittleEndianBom => [0xFF, 0xFE, 0x00, 0x00];

    /// <summary>
    /// The body as UTF-8, at most <see cref="MaxBodyBytes"/> read: converted from the charset the answer declares (when
    /// .NET knows it), without a leading byte order mark. Empty when reading it failed or timed out.
    /// </summary>
    private static async Task<byte[]> ReadBodyAsync(HttpContent content, CancellationToken cancellationToken)
    {
        byte[] body;
        try
        {
            body = await ReadCappedAsync(content, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
        {
            return [];
        }

        // A UTF-16 byte order mark says how the text is written whatever the header says (a "utf-16" label reads as
        // little-endian in .NET, and an answer without a charset would be read as UTF-8): the mark decides.
        if (body.AsSpan().StartsWith(Utf16BigEndianBom) || (body.AsSpan().StartsWith(Utf16LittleEndianBom) && !body.AsSpan().StartsWith(Utf32LittleEndianBom)))
        {
            var encoding = body[0] == 0xFE ? Encoding.BigEndianUnicode : Encoding.Unicode;
            return Encoding.UTF8.GetBytes(encoding.GetString(body, 2, body.Length - 2));
        }

        var charset = content.Headers.ContentType?.CharSet?.Trim().Trim('"');
        if (!string.IsNullOrEmpty(charset) && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                body = Encoding.UTF8.GetBytes(Encoding.GetEncoding(charset).GetString(body));
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
            {
                // A charset .NET does not know: read as UTF-8.
            }
        }

        return body.AsSpan().StartsWith(Utf8Bom) ? body[Utf8Bom.Length..] : body;
    }

    private static async Task<byte[]> ReadCappedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxBodyBytes];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
            }

            return buffer[..total];
        }
    }
}
