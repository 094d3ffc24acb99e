using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk;

// Delivery, the recipient of a rendered message: consent, suppression, caps and erasure were checked for one address,
// and the renderer (the host's own, an extension point) writes the whole message, recipient included.
public sealed partial class OmnichannelEngine
{
    // The fields MailKit (RFC 5322 §3.6.3, §3.6.6) and the HTTP providers send to; any other header adds no recipient.
    private static readonly string[] RecipientHeaders = ["To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"];

    // The channels with a message type of their own; any other (chat, line, telegram) is sent in one of these types.
    private static readonly HashSet<string> ShapedChannels =
        [ChannelNames.Email, ChannelNames.Sms, ChannelNames.Push, ChannelNames.WhatsApp, ChannelNames.InApp, ChannelNames.Webhook, ChannelNames.Host];

    /// <summary>
    /// Why a rendered message cannot go, or would reach someone nobody checked, or <see langword="null"/>: a type the
    /// outbox cannot keep, a message of another standard channel, one addressed elsewhere than <paramref name="address"/>
    /// (a renderer that reads a trait, an old or another person's address), or an email whose extra headers add
    /// recipients. A channel without a type of its own (<c>line</c>, <c>chat</c>) takes any of the SDK's message types, addressed to her identifier of that
    /// type. The reason names channels, types and header names, never an address.
    /// </summary>
    private string? RecipientProblem(OutboundMessage message, string channel, string address, CustomerProfile p)
    {
        if (!OutboxPayload.CanKeep(message))
        {
            return $"the renderer returned a {message.GetType().Name}, which the outbox cannot keep to send later (return one of the SDK's message types, such as EmailMessage or WebhookMessage)";
        }

        var custom = !ShapedChannels.Contains(channel);
        if (!custom && message.Channel != channel)
        {
            return $"the renderer returned a '{message.Channel}' message for the '{channel}' channel";
        }

        // The identifier type her address on this channel has: the channel's own for a custom one.
        string TypeOr(string standard) => custom ? channel : standard;
        const string Elsewhere = "the renderer addressed the message to another recipient than the one whose consent was checked (write the address it is given into To)";
        switch (message)
        {
            case EmailMessage email:
                if (!SameEmail(email.To, address, TypeOr(IdentifierTypes.Email)))
                {
                    return Elsewhere;
                }

                foreach (var name in email.Headers.Keys)
                {
                    if (Array.Find(RecipientHeaders, h => string.Equals(h, name.Trim(), StringComparison.OrdinalIgnoreCase)) is { } header)
                    {
                        return $"the extra header '{header}' would add or change a recipient past the consent checked for To";
                    }
                }

                return null;
            case SmsMessage sms:
                return SameAddress(TypeOr(IdentifierTypes.Phone), sms.To, address) ? null : Elsewhere;
            case WhatsAppMessage whatsApp:
                return SameAddress(TypeOr(IdentifierTypes.Phone), whatsApp.To, address) ? null : Elsewhere;
            case InAppMessage inApp:
                return string.Equals(inApp.To, address, StringComparison.Ordinal) || (custom && SameAddress(channel, inApp.To, address)) ? null : Elsewhere;
            case PushMessage push:
                // Her other devices are hers too (consent is per channel), unless a report suppressed them.
                return push.DeviceTokens is { Count: > 0 } tokens && tokens.All(t => SameAddress(TypeOr(IdentifierTypes.DeviceId), t, address) || (!custom && IsHerDevice(p, t))) ? null : Elsewhere;
            default:
                return null; // a webhook or host event goes to the host's own systems
        }
    }

    private bool SameEmail(string? to, string address, string type)
    {
        if (to is null)
        {
            return false;
        }

        // A mailto: link is no recipient field: its query ("?x,bob@y") is dropped by the normaliser but not by a provider
        // that reads the field as a list.
        if (!IsMailto(to) && SameAddress(type, to, address))
        {
            return true;
        }

        // "Ann Smith <ann@example.com>": one mailbox with a display name. MailAddress alone accepts lists and groups it reads
        // from the end ("bob@y ann@x", "g: bob@y; <ann@x>", "<bob@y> Ann <ann@x>" are ann to it, two mailboxes to
        // MimeKit's list parser and to a provider's "to" field), so the form is checked to be one: a display name, quoted
        // or plain (no '@', separator, bracket or comment), then the angle address.
        return type == IdentifierTypes.Email
            && OneNamedMailbox(to, out var inAngles)
            && System.Net.Mail.MailAddress.TryCreate(to, out var mailbox)
            && string.Equals(mailbox.Address, inAngles, StringComparison.Ordinal)
            && !IsMailto(inAngles)
            && SameAddress(type, inAngles, address);
    }

    // As the normaliser reads it: format characters removed, NFKC (a full-width "ｍａｉｌｔｏ：" is "mailto:").
    private static bool IsMailto(string written) =>
        IdentifierText.Clean(written).TrimStart().StartsWith("mailto:", StringComparison.OrdinalIgnoreCase);

    private static bool OneNamedMailbox(string to, out string inAngles)
    {
        inAngles = "";
        var s = to.Trim();
        string rest;
        if (s.StartsWith('"'))
        {
            // A quoted display name: anything but a quote, a backslash or a line break inside it.
            var close = s.IndexOf('"', 1);
            if (close < 0 || s.AsSpan(1, close - 1).IndexOfAny("\\\r\n") >= 0)
            {
                return false;
            }

            rest = s[(close + 1)..].TrimStart();
        }
        else
        {
            // A plain one (or none): no '@', separator, bracket, quote or comment in it.
            var open = s.IndexOf('<');
            if (open < 0 || s.AsSpan(0, open).IndexOfAny("\"\\@,;:<>()[]\r\n") >= 0)
            {
                return false;
            }

            rest = s[open..];
        }

        if (rest.Length < 2 || rest[0] != '<' || rest[^1] != '>' || rest.AsSpan(1, rest.Length - 2).IndexOfAny("<>") >= 0)
        {
            return false;
        }

        inAngles = rest[1..^1].Trim();
        return true;
    }

    private bool SameAddress(string type, string? written, string address) =>
        written is not null
        && (string.Equals(written, address, StringComparison.Ordinal) || Normalize(new Identifier(type, written)) is { } id && id.Value == address);

    private bool IsHerDevice(CustomerProfile p, string token) =>
        p.IdentifierList.Exists(i => i.Type == IdentifierTypes.DeviceId && i.Value == token && !i.IsSuppressedOn(ChannelNames.Push))
        && !IsSuppressedOnProfile(p, ChannelNames.Push, token);
}
