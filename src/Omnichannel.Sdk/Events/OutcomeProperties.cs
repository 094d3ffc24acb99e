using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk;

/// <summary>
/// The documented properties of delivery-outcome events (<c>message.bounced</c>, <c>message.complained</c>,
/// <c>message.unsubscribed</c>): checked at the door and their <c>address</c> normalised exactly like an identifier of
/// the channel's type, so <c>ANN@Example.com</c> suppresses <c>ann@example.com</c>.
/// </summary>
internal static class OutcomeProperties
{
    /// <summary>The values <c>bounce_type</c> may take.</summary>
    public static readonly string[] BounceTypes = ["hard", "soft"];

    /// <summary>Whether a bounce is hard: <c>bounce_type</c> (documented), else the older <c>bounce</c>.</summary>
    public static bool IsHardBounce(JsonElement props) =>
        string.Equals(WellKnownProperties.String(props, "bounce_type") ?? WellKnownProperties.String(props, "bounce"), "hard", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether a bounce is soft (<c>bounce_type</c>, else the older <c>bounce</c>); an untyped bounce is neither.</summary>
    public static bool IsSoftBounce(JsonElement props) =>
        string.Equals(WellKnownProperties.String(props, "bounce_type") ?? WellKnownProperties.String(props, "bounce"), "soft", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether a complaint is a feedback report of type <c>not-spam</c> (<c>properties.feedback_type</c>: SES's
    /// <c>complaintFeedbackType</c>, the <c>Feedback-Type</c> of an RFC 5965 report; compared trimmed, in any case): the
    /// recipient moved the message out of her spam folder, which is no complaint (audit U77, PostHog/posthog#88964). Any
    /// other type, an unknown one included, or none, is a complaint.
    /// </summary>
    public static bool IsNotSpamReport(JsonElement props) =>
        string.Equals(WellKnownProperties.String(props, "feedback_type")?.Trim(), "not-spam", StringComparison.OrdinalIgnoreCase);

    /// <summary>The (already normalised) address of an outcome event.</summary>
    public static string? Address(JsonElement props, string channel) => WellKnownProperties.String(props, "address");

    /// <summary>The channel of a message outcome when the event's own channel is a messaging one (email, sms...), else null.</summary>
    public static string? MessagingChannel(string? eventChannel) =>
        eventChannel is ChannelNames.Email or ChannelNames.Sms or ChannelNames.WhatsApp or ChannelNames.Push or ChannelNames.InApp ? eventChannel : null;

    /// <summary>
    /// The channel of a message outcome from the event's own channel, counting a channel of the host's own (a transport
    /// for <c>line</c>): a custom channel's address is her identifier of the same name, so a registered identifier type
    /// that is not one of the built-in ones names a messaging channel (audit U33: a complaint sent on <c>line</c> without
    /// <c>properties.channel</c> withdrew consent on every standard channel and left <c>line</c> granted).
    /// </summary>
    /// <remarks>
    /// Review of U33: a registered identifier type is a channel only when a transport is registered for it, the engine's
    /// own rule for a channel (a message request naming another one is refused). A host's <c>shopify</c> customer-id type
    /// is no channel: a complaint on a <c>shopify</c> event with the <c>message_id</c> of an email had withdrawn only
    /// <c>shopify</c>, and her next email went out.
    /// </remarks>
    public static string? MessagingChannel(string? eventChannel, IdentityOptions identity, Delivery.DeliverySetup? delivery) =>
        MessagingChannel(eventChannel)
        ?? (IsCustomChannel(eventChannel, identity) && delivery is not null && delivery.For(eventChannel!).Count > 0 ? eventChannel : null);

    /// <summary>The built-in messaging channels a complaint about a message no one can place withdraws.</summary>
    public static readonly IReadOnlyList<string> StandardMessagingChannels = (string[])[ChannelNames.Email, ChannelNames.Sms, ChannelNames.WhatsApp, ChannelNames.Push, ChannelNames.InApp];

    /// <summary>
    /// Every messaging channel the engine serves: the five built-in ones and each channel of the host's own (a registered
    /// identifier type with a transport, <c>line</c>). Audit U73: a complaint that names no channel, about a message the
    /// profile does not know, withdrew the built-in channels and left <c>line</c> granted, so her next LINE promotion
    /// went out to the person who had just reported spam.
    /// </summary>
    public static IReadOnlyList<string> MessagingChannels(IdentityOptions identity, Delivery.DeliverySetup? delivery)
    {
        List<string>? all = null;
        foreach (var type in identity.Rules.Keys)
        {
            if (IsCustomChannel(type, identity) && delivery is not null && delivery.For(type).Count > 0)
            {
                (all ??= [.. StandardMessagingChannels]).Add(type);
            }
        }

        if (all is null)
        {
            return StandardMessagingChannels;
        }

        all.Sort(StandardMessagingChannels.Count, all.Count - StandardMessagingChannels.Count, StringComparer.Ordinal);
        return all;
    }

    /// <summary>
    /// The identifier type of a channel's addresses, a custom channel's own type included (a channel named in
    /// <c>properties.channel</c>: its address is normalised by that type's rule, served here or not).
    /// </summary>
    public static string? AddressType(string channel, IdentityOptions identity) =>
        AddressType(channel) ?? (IsCustomChannel(channel, identity) ? channel : null);

    private static bool IsCustomChannel(string? channel, IdentityOptions identity) =>
        channel is not null
        && channel is not (IdentifierTypes.CustomerId or IdentifierTypes.Email or IdentifierTypes.Phone or IdentifierTypes.AnonymousId
            or IdentifierTypes.DeviceId or IdentifierTypes.LoyaltyCard)
        && identity.Rules.ContainsKey(channel);

    /// <summary>
    /// The address a hard bounce is about: <c>properties.address</c> (which <see cref="Normalize"/> fills from the event's
    /// identifier of the channel's address type when it is missing); else, for a message sent through the SDK (its key is
    /// the <c>message_id</c>), the address it was handed over to (<see cref="SentTo"/>).
    /// </summary>
    public static string? BouncedAddress(CustomerProfile p, CustomerEvent e, string channel)
    {
        if (Address(e.Properties, channel) is { } address)
        {
            return address;
        }

        return WellKnownProperties.String(e.Properties, "message_id") is { } key ? SentTo(p, key, channel) : null;
    }

    /// <summary>
    /// Where a message this profile knows went on <paramref name="channel"/>: the address its touch kept when it was handed
    /// over (she may use another one now); for a message known without one (queued, or kept before addresses were), her
    /// address on the channel now. <see langword="null"/> when the profile does not know the message.
    /// </summary>
    public static string? SentTo(CustomerProfile p, string key, string channel)
    {
        var touch = Measurement.Touch.IndexOf(p.Touches, key) is var i and >= 0 ? p.Touches[i] : null;
        if (touch is { SentTo: { } sentTo } && touch.Channel == channel)
        {
            return sentTo;
        }

        return touch is not null || p.MessageKeys.Contains(key) ? Delivery.DeliveryPlanner.Address(p, channel) : null;
    }

    /// <summary>
    /// The identifier type addresses of a channel are (email, phone, device id for push), or null for channels without
    /// one. Audit U72: push was missing, so a push bounce's address was not trimmed as device ids are (the dead device
    /// stayed on) and a hard bounce naming the device only as the event's <c>device_id</c> was refused.
    /// </summary>
    public static string? AddressType(string channel) => channel switch
    {
        ChannelNames.Email => IdentifierTypes.Email,
        ChannelNames.Sms or ChannelNames.WhatsApp => IdentifierTypes.Phone,
        ChannelNames.Push => IdentifierTypes.DeviceId,
        _ => null,
    };

    /// <summary>
    /// Checks an outcome event's documented properties and returns it with its address normalised; adds errors (with
    /// the property path) for values the SDK does not understand.
    /// </summary>
    public static CustomerEvent Normalize(CustomerEvent e, IdentityOptions identity, Delivery.DeliverySetup? delivery, List<ValidationError> errors)
    {
        if (e.Properties.ValueKind != JsonValueKind.Object)
        {
            return e;
        }

        e = NormalizeChannel(e, errors);
        e = NormalizeTopic(e, errors);
        e = NormalizeCurrency(e, errors);
        e = SmsReplyKeywords.Normalize(e); // after the channel: a reply on "SMS" is one on sms
        if (e.Type is not (EventTypes.MessageBounced or EventTypes.MessageComplained or EventTypes.MessageUnsubscribed))
        {
            return e;
        }

        if (WellKnownProperties.String(e.Properties, "channel") is null && MessagingChannel(e.Channel) is null
            && MessagingChannel(e.Channel, identity, delivery) is { } custom)
        {
            // Written into the event, so the profile (which does not see the identifier rules) reads the custom channel.
            e = With(e, "channel", custom);
        }

        var props = e.Properties;
        if (e.Type == EventTypes.MessageBounced)
        {
            var kind = props.TryGetProperty("bounce_type", out _) ? "bounce_type" : props.TryGetProperty("bounce", out _) ? "bounce" : null;
            if (kind is not null && WellKnownProperties.String(props, kind) is var value
                && (value is null || !BounceTypes.Contains(value, StringComparer.OrdinalIgnoreCase)))
            {
                errors.Add(new($"properties.{kind}", $"must be one of {string.Join(", ", BounceTypes)}"));
            }
        }

        var channel = WellKnownProperties.String(props, "channel") ?? MessagingChannel(e.Channel);
        var raw = WellKnownProperties.String(props, "address");
        if (raw is null && channel is not null && AddressType(channel, identity) is { } addressType && e.Identifiers is { } ids
            && e.Type == EventTypes.MessageBounced && (IsHardBounce(props) || IsSoftBounce(props)))
        {
            foreach (var id in ids)
            {
                if (id.Type == addressType)
                {
                    raw = id.Value; // a bounce reported on the address itself: that is the address that bounced (soft ones add up, audit U73)
                    break;
                }
            }
        }

        if (raw is null
            || channel is null
            || AddressType(channel, identity) is not { } type
            || !identity.Rules.TryGetValue(type, out var rule))
        {
            return e;
        }

        // A type without a normaliser (a custom channel's) keeps the value as an identifier of it is kept: trimmed.
        var normalized = IdentifierText.Trim(raw);
        string? why = null;
        if (rule.Normalizer is { } normalize && !normalize(normalized, identity, out normalized, out why)
            && !(type == IdentifierTypes.Email && LegacyEmail(raw, identity, out normalized)))
        {
            errors.Add(new("properties.address", $"{type} {why}"));
            return e;
        }

        return normalized == WellKnownProperties.String(props, "address") ? e : With(e, "address", normalized);
    }

    /// <summary>
    /// Whether an address is one a version before audit U31 accepted and stored (an empty domain label,
    /// <c>ann@example..com</c>); <paramref name="stored"/> is the form it stored it in (cleaned, trimmed, lower-cased). A bounce, complaint or unsubscribe naming it must reach
    /// the address she still holds (audit U33: the hard bounce was refused and the next message went to it); the address is
    /// otherwise valid once the empty labels are closed, so a typo of any other kind is still refused with its reason.
    /// </summary>
    private static bool LegacyEmail(string raw, IdentityOptions identity, out string stored)
    {
        stored = IdentifierText.Clean(raw).Trim().ToLowerInvariant();
        var at = stored.LastIndexOf('@');
        if (at <= 0 || at == stored.Length - 1 || !stored.AsSpan(at + 1).Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        var domain = stored[(at + 1)..];
        var closed = domain;
        while (closed.Contains("..", StringComparison.Ordinal))
        {
            closed = closed.Replace("..", ".", StringComparison.Ordinal);
        }

        // Review of U33: the local part as the rule writes it (a mailto: prefix and needless quotes off, as they were
        // when it was stored), the domain as stored; "mailto:ann@example..com" had suppressed the text with the prefix.
        if (!IdentifierNormalizers.Email(stored[..at] + "@" + closed, identity, out var valid, out _))
        {
            return false;
        }

        var query = stored.StartsWith("mailto:", StringComparison.Ordinal) ? domain.IndexOf('?', StringComparison.Ordinal) : -1;
        stored = string.Concat(valid.AsSpan(0, valid.LastIndexOf('@') + 1), (query >= 0 ? domain[..query] : domain).Trim());
        return true;
    }

    /// <summary>
    /// The <c>channel</c> property of the events whose channel decides consent, suppression or a touch (consent and
    /// newsletter changes, every <c>message.*</c> outcome) is a channel name like a message request's: trimmed and
    /// lower-cased (an unsubscribe for <c>Email</c> from a provider's webhook is an unsubscribe for <c>email</c>), and
    /// refused with its field when it is not a channel name at all.
    /// </summary>
    private static CustomerEvent NormalizeChannel(CustomerEvent e, List<ValidationError> errors)
    {
        if (e.Type is not (EventTypes.ConsentChanged or EventTypes.NewsletterSubscribed or EventTypes.NewsletterUnsubscribed)
            && e.Type?.StartsWith("message.", StringComparison.Ordinal) != true)
        {
            return e;
        }

        if (!e.Properties.TryGetProperty("channel", out var value) || value.ValueKind != JsonValueKind.String || value.GetString() is not { } raw)
        {
            return e;
        }

        var channel = raw.Trim().ToLowerInvariant();
        if (!EventValidator.ChannelPattern().IsMatch(channel))
        {
            errors.Add(new("properties.channel", $"'{TextCut.Prefix(raw, 60)}' is not a channel name (expected a lower_case name such as email, sms, push)"));
            return e;
        }

        return channel == raw ? e : With(e, "channel", channel);
    }

    /// <summary>
    /// The <c>topic</c> of a consent decision is trimmed (topics are compared without case, see
    /// <see cref="CustomerProfile.GetConsent"/>); a blank one is refused with its field rather than read as a topic
    /// nobody sends to, or as the whole channel.
    /// </summary>
    private static CustomerEvent NormalizeTopic(CustomerEvent e, List<ValidationError> errors)
    {
        if (e.Type is not (EventTypes.ConsentChanged or EventTypes.NewsletterSubscribed or EventTypes.NewsletterUnsubscribed or EventTypes.MessageUnsubscribed)
            || !e.Properties.TryGetProperty("topic", out var value) || value.ValueKind != JsonValueKind.String || value.GetString() is not { } raw)
        {
            return e;
        }

        var topic = raw.Trim();
        if (topic.Length == 0)
        {
            errors.Add(new("properties.topic", "is blank; leave it out for a decision about the whole channel"));
            return e;
        }

        return topic == raw ? e : With(e, "topic", topic);
    }

    /// <summary>
    /// The <c>currency</c> of the events whose amounts the profile sums (orders, returns, checkouts, cart lines) is an
    /// ISO 4217 code, trimmed and upper-cased (<c> eur</c> is <c>EUR</c>, not a currency of its own that splits her
    /// spend); anything else (<c>€</c>, <c>EURO</c>) is refused with its field.
    /// </summary>
    private static CustomerEvent NormalizeCurrency(CustomerEvent e, List<ValidationError> errors)
    {
        if (e.Type is not (EventTypes.OrderPlaced or EventTypes.OrderReturned or EventTypes.CheckoutStarted or EventTypes.CartItemAdded)
            || !e.Properties.TryGetProperty("currency", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return e;
        }

        if (value.ValueKind == JsonValueKind.String && IsCurrencyCode(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value)))
        {
            return e; // already three capital letters (as nearly every order says): nothing to read into a string
        }

        var raw = value.ValueKind == JsonValueKind.String ? value.GetString() ?? string.Empty : null;
        var code = raw?.Trim().ToUpperInvariant();
        if (code is not { Length: 3 } || !code.All(char.IsAsciiLetterUpper))
        {
            errors.Add(new("properties.currency", raw is null
                ? $"must be a string, not {value.ValueKind.ToString().ToLowerInvariant()}"
                : $"'{TextCut.Prefix(raw, 20)}' is not an ISO 4217 currency code (three letters, such as EUR or USD)"));
            return e;
        }

        return code == raw ? e : With(e, "currency", code);
    }

    // The raw JSON of a string value: its quotes around three ASCII capitals, no escapes.
    private static bool IsCurrencyCode(ReadOnlySpan<byte> raw) =>
        raw.Length == 5 && raw[0] == (byte)'"' && raw[4] == (byte)'"' && char.IsAsciiLetterUpper((char)raw[1]) && char.IsAsciiLetterUpper((char)raw[2]) && char.IsAsciiLetterUpper((char)raw[3]);

    private static CustomerEvent With(CustomerEvent e, string property, string value)
    {
        var node = JsonNode.Parse(e.Properties.GetRawText())!.AsObject();
        node[property] = value;
        return e with { Properties = JsonSerializer.SerializeToElement(node) };
    }
}
