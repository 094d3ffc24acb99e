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

        if (SameAddress(type, to, address))
        {
            return true;
        }

        // "Ann Smith <ann@example.com>": one mailbox with a display name. MailAddress refuses a list ("a@x, b@y").
        return type == IdentifierTypes.Email
            && System.Net.Mail.MailAddress.TryCreate(to, out var mailbox)
            && SameAddress(type, mailbox.Address, address);
    }

    private bool SameAddress(string type, string? written, string address) =>
        written is not null
        && (string.Equals(written, address, StringComparison.Ordinal) || Normalize(new Identifier(type, written)) is { } id && id.Value == address);

    private bool IsHerDevice(CustomerProfile p, string token) =>
        p.IdentifierList.Exists(i => i.Type == IdentifierTypes.DeviceId && i.Value == token && !i.IsSuppressedOn(ChannelNames.Push))
        && !IsSuppressedOnProfile(p, ChannelNames.Push, token);
}
