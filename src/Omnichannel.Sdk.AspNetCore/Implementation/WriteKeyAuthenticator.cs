using System.Security.Cryptography;
using System.Text;
using Microsoft.Net.Http.Headers;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

/// <summary>
/// HTTP Basic authentication with the write key as the user name (the HTTP Tracking API's scheme). Every configured key is
/// compared, in constant time, against the SHA-256 of the presented one: neither the position of the first differing
/// character nor the key's length, nor which key matched, shows in the time taken.
/// </summary>
internal sealed class WriteKeyAuthenticator
{
    private readonly (byte[] Hash, TrackingWriteKey Key)[] _keys;

    public WriteKeyAuthenticator(IEnumerable<TrackingWriteKey> keys) =>
        _keys = [.. keys.Select(k => (SHA256.HashData(Encoding.UTF8.GetBytes(k.Key)), k))];

    /// <summary>The write key named by an <c>Authorization</c> header, or <see langword="null"/>.</summary>
    public TrackingWriteKey? Authenticate(string? authorization) => AuthenticateKey(Presented(authorization));

    /// <summary>The write key equal to <paramref name="presented"/> (a body's <c>writeKey</c>), or <see langword="null"/>.</summary>
    public TrackingWriteKey? AuthenticateKey(string? presented)
    {
        // White space around a key is never part of it (configured keys may not have any): `echo key | base64` and a
        // copied key carry a newline, which made every request a 401.
        presented = string.IsNullOrWhiteSpace(presented) ? null : presented.Trim();
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented ?? string.Empty));
        TrackingWriteKey? match = null;
        foreach (var (keyHash, key) in _keys)
        {
            // No early exit: every key is compared whatever matched before.
            if (CryptographicOperations.FixedTimeEquals(hash, keyHash) & presented is not null)
            {
                match = key;
            }
        }

        return match;
    }

    private static string? Presented(string? authorization)
    {
        if (string.IsNullOrEmpty(authorization) || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var encoded = authorization.AsSpan(6).Trim();
        // Sized from the header (a key of any length the options accept fits); Kestrel bounds header sizes.
        var length = (encoded.Length / 4 * 3) + 3;
        Span<byte> buffer = length <= 512 ? stackalloc byte[512] : new byte[length];
        if (!Convert.TryFromBase64Chars(encoded, buffer, out var written))
        {
            return null;
        }

        var credentials = Encoding.UTF8.GetString(buffer[..written]);
        var colon = credentials.IndexOf(':', StringComparison.Ordinal);
        var user = colon < 0 ? credentials : credentials[..colon];
        return user.Length == 0 ? null : user;
    }

    /// <summary>The challenge sent with a <c>401</c>.</summary>
    public static string Challenge => "Basic realm=\"tracking\"";

    /// <summary>The header name, for callers.</summary>
    public static string Header => HeaderNames.Authorization;
}
