using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Delivery;

/// <summary>
/// The token of a one-click unsubscribe link: <c>base64url(JSON [profileId, messageKey, channel, topic])</c>, a dot, and
/// <c>base64url(HMAC-SHA256)</c> of that JSON under the privacy hash key (current or previous). Read wherever the key is
/// known: an engine, or a cluster client for the confirmation page.
/// </summary>
internal static class UnsubscribeToken
{
    /// <summary>The purpose the signature is bound to, so no other signed value reads as a link.</summary>
    public const string Purpose = "unsubscribe/v1";

    /// <summary>
    /// The longest token read: more than the engine ever writes. A key may have 2,000 bytes of UTF-8 and the payload keeps
    /// them as they are, escaping only a quote or a backslash (two bytes), so the longest link is about 5,400 characters
    /// and the usual one under 200. It was 4,096 characters while the payload escaped every non-ASCII character as
    /// <c>\uXXXX</c> (six bytes, twelve for an emoji): a key of 700 CJK characters or 350 emoji made a link that answered
    /// "invalid". 8,192 is also Kestrel's default longest request line.
    /// </summary>
    public const int MaxLength = 8192;

    /// <summary>The signed payload: the JSON array <c>[profileId, messageKey, channel, topic]</c> in UTF-8, non-ASCII text as it is.</summary>
    public static byte[] Payload(string profileId, string messageKey, string channel, string? topic)
    {
        var sb = new StringBuilder(profileId.Length + messageKey.Length + 64).Append('[');
        foreach (var field in new[] { profileId, messageKey, channel, topic })
        {
            if (sb.Length > 1)
            {
                sb.Append(',');
            }

            if (field is null)
            {
                sb.Append("null");
                continue;
            }

            sb.Append('"');
            foreach (var c in field)
            {
                _ = c switch
                {
                    '"' or '\\' => sb.Append('\\').Append(c),
                    < ' ' => sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)),
                    _ => sb.Append(c),
                };
            }

            sb.Append('"');
        }

        return Encoding.UTF8.GetBytes(sb.Append(']').ToString());
    }

    /// <summary>The link's fields, or <see langword="null"/> when the token is malformed, over <see cref="MaxLength"/> characters, or does not verify.</summary>
    public static (string ProfileId, string MessageKey, string Channel, string? Topic)? Read(Privacy.IdentifierHasher hasher, string token)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || token.Length > MaxLength)
        {
            return null;
        }

        try
        {
            var payload = Base64Url.DecodeFromChars(token.AsSpan(0, dot));
            var mac = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
            if (!hasher.Verify(Purpose, payload, mac))
            {
                return null;
            }

            var fields = JsonNode.Parse(payload)!.AsArray();
            return (fields[0]!.GetValue<string>(), fields[1]!.GetValue<string>(), fields[2]!.GetValue<string>(), fields[3]?.GetValue<string>());
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException or ArgumentException or NullReferenceException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
