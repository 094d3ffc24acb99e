using System.Text.Json;

namespace Omnichannel.Sdk.Delivery;

/// <summary>A rendered message ready for a transport. One subtype per channel shape.</summary>
public abstract record OutboundMessage
{
    /// <summary>The message key: unique per message and stable across retries, so providers can de-duplicate.</summary>
    public required string MessageId { get; init; }

    /// <summary>The profile the message is for, when known.</summary>
    public string? ProfileId { get; init; }

    /// <summary>The topic (for example <c>newsletter</c>, <c>order_updates</c>) the message belongs to.</summary>
    public string? Topic { get; init; }

    /// <summary>Free-form metadata (journey, step, variant) carried to outcome events.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The channel this message shape belongs to.</summary>
    public abstract string Channel { get; }
}

/// <summary>An email.</summary>
public sealed record EmailMessage : OutboundMessage
{
    /// <inheritdoc />
    public override string Channel => ChannelNames.Email;

    /// <summary>Sender address, for example <c>"Kitty Supplies &lt;hello@kitty.example&gt;"</c>.</summary>
    public required string From { get; init; }

    /// <summary>Reply-to address, if different from the sender.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>Recipient address.</summary>
    public required string To { get; init; }

    /// <summary>Subject line.</summary>
    public required string Subject { get; init; }

    /// <summary>HTML body; at least one of <see cref="HtmlBody"/> and <see cref="TextBody"/> is set.</summary>
    public string? HtmlBody { get; init; }

    /// <summary>Plain-text body.</summary>
    public string? TextBody { get; init; }

    /// <summary>
    /// Extra headers, for example <c>List-Unsubscribe</c>. Not the fields a transport writes from the message itself: the
    /// engine passes the channel over when a rendered email has a <c>To</c>, <c>Cc</c>, <c>Bcc</c> or <c>Resent-To/Cc/Bcc</c>
    /// header (on any transport), and the SMTP transport refuses (a permanent failure, nothing sent) From, Sender,
    /// Reply-To, To, Cc, Bcc, Message-ID, Date, Subject, Return-Path, MIME-Version, <c>Resent-*</c> and <c>Content-*</c>,
    /// so a header cannot add or change a recipient past the consent checked for <see cref="To"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
}

/// <summary>An SMS text message.</summary>
public sealed record SmsMessage : OutboundMessage
{
    /// <inheritdoc />
    public override string Channel => ChannelNames.Sms;

    /// <summary>Recipient phone number in E.164.</summary>
    public required string To { get; init; }

    /// <summary>Sender id or number, when the provider lets the caller choose.</summary>
    public string? From { get; init; }

    /// <summary>Message text.</summary>
    public required string Body { get; init; }

    /// <summary>The alphabet <see cref="Body"/> is sent in: GSM-7, or UCS-2 as soon as one character is not GSM-7.</summary>
    public SmsAlphabet Encoding => SmsEncoding.Analyze(Body).Alphabet;

    /// <summary>How many SMS segments <see cref="Body"/> is sent (and billed) as; see <see cref="SmsEncoding"/>.</summary>
    public int SegmentCount => SmsEncoding.Analyze(Body).SegmentCount;
}

/// <summary>A mobile push notification.</summary>
public sealed record PushMessage : OutboundMessage
{
    /// <inheritdoc />
    public override string Channel => ChannelNames.Push;

    /// <summary>Device tokens to notify.</summary>
    public required IReadOnlyList<string> DeviceTokens { get; init; }

    /// <summary>Notification title.</summary>
    public required string Title { get; init; }

    /// <summary>Notification body.</summary>
    public required string Body { get; init; }

    /// <summary>Deep link opened on tap.</summary>
    public string? DeepLink { get; init; }

    /// <summary>Custom data delivered with the notification.</summary>
    public IReadOnlyDictionary<string, string> Data { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// A WhatsApp message: an approved template with parameters, or free text (allowed only inside the
/// 24-hour customer service window).
/// </summary>
public sealed record WhatsAppMessage : OutboundMessage
{
    /// <inheritdoc />
    public override string Channel => ChannelNames.WhatsApp;

    /// <summary>Recipient phone number in E.164.</summary>
    public required string To { get; init; }

    /// <summary>The approved template name; <see langword="null"/> for free text.</summary>
    public string? TemplateName { get; init; }

    /// <summary>Template language code, for example <c>en_US</c>.</summary>
    public string? TemplateLanguage { get; init; }

    /// <summary>Positional template parameters.</summary>
    public IReadOnlyList<string> TemplateParameters { get; init; } = [];

    /// <summary>Free text, when no template is used.</summary>
    public string? Text { get; init; }
}

/// <summary>A JSON payload posted to a webhook endpoint.</summary>
public sealed record WebhookMessage : OutboundMessage
{
    /// <inheritdoc />
    public override string Channel => ChannelNames.Webhook;

    /// <summary>The endpoint; <see langword="null"/> to use the transport's configured endpoint.</summary>
    public Uri? Url { get; init; }

    /// <summary>The event name sent with the payload, for example <c>order.shipped</c>.</summary>
    public required string EventType { get; init; }

    /// <summary>The JSON body.</summary>
    public required JsonElement Payload { get; init; }
}

/// <summary>An event a journey emitted for the host's own systems (the <c>emit</c> step).</summary>
public sealed record HostEventMessage : OutboundMessage
{
    /// <inheritdoc />
    public override string Channel => ChannelNames.Host;

    /// <summary>The event type, for example <c>journey.cart_recovered</c>.</summary>
    public required string EventType { get; init; }

    /// <summary>The event's properties (with <c>journey_id</c>, <c>journey_instance</c> and <c>journey_step</c>).</summary>
    public required JsonElement Payload { get; init; }
}

/// <summary>A message shown in the shop's app or chat widget.</summary>
public sealed record InAppMessage : OutboundMessage
{
    /// <inheritdoc />
    public override string Channel => ChannelNames.InApp;

    /// <summary>The recipient's profile-facing id in the app (customer id or anonymous id).</summary>
    public required string To { get; init; }

    /// <summary>Message text.</summary>
    public required string Text { get; init; }

    /// <summary>Buttons or quick replies offered with the text.</summary>
    public IReadOnlyList<MessageAction> Actions { get; init; } = [];
}

/// <summary>A button or quick reply on an in-app or chat message.</summary>
/// <param name="Label">What the customer sees.</param>
/// <param name="Url">Where it leads, if it is a link.</param>
public sealed record MessageAction(string Label, string? Url = null);
