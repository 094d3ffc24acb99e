using System.Buffers.Text;
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

    /// <summary>The link's fields, or <see langword="null"/> when the token is malformed, over 4,096 characters, or does not verify.</summary>
    public static (string ProfileId, string MessageKey, string Channel, string? Topic)? Read(Privacy.IdentifierHasher hasher, string token)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || token.Length > 4096)
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
