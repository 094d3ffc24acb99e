using System.Globalization;
using System.Security.Cryptography;
using System.Text;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http;

/// <summary>
/// Signs and verifies webhook bodies: <c>v1=&lt;hex HMAC-SHA256(secret, "&lt;timestamp&gt;.&lt;body&gt;")&gt;</c>, where the
/// timestamp is the Unix time in seconds sent in <see cref="WebhookHeaders.Timestamp"/>. Receivers call
/// <see cref="Verify(string, string?, string?, ReadOnlySpan{byte}, DateTimeOffset, TimeSpan)"/> on the raw body bytes.
/// </summary>
/// <remarks>The secret is used as its UTF-8 bytes. Comparison is constant-time.</remarks>
public static class WebhookSignature
{
    /// <summary>The scheme prefix of a signature, <c>v1=</c>.</summary>
    public const string SchemePrefix = "v1=";

    private const int HashSize = 32;

    private static readonly long MaxUnixSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    /// <summary>A sensible replay window for <c>Verify</c>: five minutes.</summary>
    public static TimeSpan DefaultTolerance { get; } = TimeSpan.FromMinutes(5);

    /// <summary>Computes the signature header value for a body.</summary>
    /// <param name="secret">The shared secret.</param>
    /// <param name="timestamp">Unix time in seconds, as sent in <see cref="WebhookHeaders.Timestamp"/>.</param>
    /// <param name="body">The exact body bytes.</param>
    /// <returns>The header value, <c>v1=</c> followed by 64 lower-case hex digits.</returns>
    public static string Compute(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        Span<byte> hash = stackalloc byte[HashSize];
        ComputeHash(secret, timestamp, body, hash);
        return SchemePrefix + Convert.ToHexStringLower(hash);
    }

    /// <summary>Computes the signature header value for a body given as text (signed as UTF-8).</summary>
    /// <param name="secret">The shared secret.</param>
    /// <param name="timestamp">Unix time in seconds.</param>
    /// <param name="body">The body text.</param>
    /// <returns>The header value, <c>v1=</c> followed by 64 lower-case hex digits.</returns>
    public static string Compute(string secret, long timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Compute(secret, timestamp, Encoding.UTF8.GetBytes(body));
    }

    /// <summary>
    /// Verifies a received webhook: the signature must match the body and timestamp, and the timestamp must lie within
    /// <paramref name="tolerance"/> of <paramref name="now"/> (either side), which rejects replays of old requests.
    /// </summary>
    /// <param name="secret">The shared secret.</param>
    /// <param name="timestampHeader">The <see cref="WebhookHeaders.Timestamp"/> header value.</param>
    /// <param name="signatureHeader">
    /// The <see cref="WebhookHeaders.Signature"/> header value; several comma-separated <c>v1=</c> entries are accepted
    /// (one per secret while a secret is being rotated) and any match is enough.
    /// </param>
    /// <param name="body">The exact body bytes as received.</param>
    /// <param name="now">The receiver's current time (from its <see cref="TimeProvider"/>).</param>
    /// <param name="tolerance">How far the timestamp may be from <paramref name="now"/>; see <see cref="DefaultTolerance"/>.</param>
    /// <returns>Whether the request is authentic and fresh, and if not, why.</returns>
    public static WebhookVerificationResult Verify(
        string secret, string? timestampHeader, string? signatureHeader, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        ArgumentOutOfRangeException.ThrowIfLessThan(tolerance, TimeSpan.Zero);

        if (string.IsNullOrWhiteSpace(timestampHeader))
        {
            return new(WebhookVerificationStatus.MissingTimestamp);
        }

        if (!long.TryParse(timestampHeader.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return new(WebhookVerificationStatus.MalformedTimestamp);
        }

        if (string.IsNullOrWhiteSpace(signatureHeader))
        {
            return new(WebhookVerificationStatus.MissingSignature);
        }

        Span<byte> expected = stackalloc byte[HashSize];
        ComputeHash(secret, timestamp, body, expected);
        Span<byte> candidate = stackalloc byte[HashSize];
        var sawWellFormed = false;
        var matched = false;
        foreach (var range in signatureHeader.AsSpan().Split(','))
        {
            var entry = signatureHeader.AsSpan(range).Trim();
            if (!entry.StartsWith(SchemePrefix, StringComparison.Ordinal)
                || Convert.FromHexString(entry[SchemePrefix.Length..], candidate, out _, out var written) != System.Buffers.OperationStatus.Done
                || written != HashSize)
            {
                continue;
            }

            sawWellFormed = true;
            // No early exit: every entry is compared so timing does not reveal which one matched.
            matched |= CryptographicOperations.FixedTimeEquals(candidate, expected);
        }

        if (!sawWellFormed)
        {
            return new(WebhookVerificationStatus.MalformedSignature);
        }

        if (!matched)
        {
            return new(WebhookVerificationStatus.SignatureMismatch);
        }

        var age = now - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(timestamp, 0, MaxUnixSeconds));
        return age.Duration() > tolerance
            ? new(WebhookVerificationStatus.TimestampOutsideTolerance)
            : new(WebhookVerificationStatus.Valid);
    }

    /// <summary>Verifies a received webhook whose body is given as text (verified as its UTF-8 bytes).</summary>
    /// <param name="secret">The shared secret.</param>
    /// <param name="timestampHeader">The <see cref="WebhookHeaders.Timestamp"/> header value.</param>
    /// <param name="signatureHeader">The <see cref="WebhookHeaders.Signature"/> header value.</param>
    /// <param name="body">The body text.</param>
    /// <param name="now">The receiver's current time.</param>
    /// <param name="tolerance">How far the timestamp may be from <paramref name="now"/>.</param>
    /// <returns>Whether the request is authentic and fresh, and if not, why.</returns>
    public static WebhookVerificationResult Verify(
        string secret, string? timestampHeader, string? signatureHeader, string body, DateTimeOffset now, TimeSpan tolerance)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Verify(secret, timestampHeader, signatureHeader, Encoding.UTF8.GetBytes(body), now, tolerance);
    }

    private static void ComputeHash(string secret, long timestamp, ReadOnlySpan<byte> body, Span<byte> destination)
    {
        var key = Encoding.UTF8.GetBytes(secret);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        Span<byte> prefix = stackalloc byte[24];
        timestamp.TryFormat(prefix, out var length, default, CultureInfo.InvariantCulture);
        prefix[length++] = (byte)'.';
        hmac.AppendData(prefix[..length]);
        hmac.AppendData(body);
        hmac.GetHashAndReset(destination);
    }
}

/// <summary>Why a webhook was or was not accepted by <see cref="WebhookSignature"/>.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<WebhookVerificationStatus>))]
public enum WebhookVerificationStatus
{
    /// <summary>The signature matches and the timestamp is fresh.</summary>
    Valid,

    /// <summary>No timestamp header.</summary>
    MissingTimestamp,

    /// <summary>The timestamp is not a non-negative whole number of seconds.</summary>
    MalformedTimestamp,

    /// <summary>No signature header.</summary>
    MissingSignature,

    /// <summary>No <c>v1=</c> entry with 64 hex digits in the signature header.</summary>
    MalformedSignature,

    /// <summary>The signature does not match the body and timestamp (tampered body, wrong secret, or forged request).</summary>
    SignatureMismatch,

    /// <summary>The signature matches but the timestamp is too old (a replay) or too far in the future.</summary>
    TimestampOutsideTolerance,
}

/// <summary>The outcome of <see cref="WebhookSignature.Verify(string, string?, string?, ReadOnlySpan{byte}, DateTimeOffset, TimeSpan)"/>.</summary>
/// <param name="Status">Valid, or the reason it is not.</param>
public readonly record struct WebhookVerificationResult(WebhookVerificationStatus Status)
{
    /// <summary>Whether the request is authentic and fresh.</summary>
    public bool IsValid => Status == WebhookVerificationStatus.Valid;
}

/// <summary>The headers <see cref="WebhookTransport"/> sends with every request.</summary>
public static class WebhookHeaders
{
    /// <summary>The message id, stable across retries, so receivers can de-duplicate.</summary>
    public const string IdempotencyKey = "Idempotency-Key";

    /// <summary>The event type, for example <c>order.shipped</c>.</summary>
    public const string Event = "X-Omnichannel-Event";

    /// <summary>Unix time in seconds when the request was signed.</summary>
    public const string Timestamp = "X-Omnichannel-Timestamp";

    /// <summary>The signature, <c>v1=&lt;hex&gt;</c>; see <see cref="WebhookSignature"/>.</summary>
    public const string Signature = "X-Omnichannel-Signature";
}
