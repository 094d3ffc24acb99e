using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Delivery;

/// <summary>Transactional messages (order confirmations, password resets) skip marketing consent, caps and, by default, quiet hours.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<MessageClass>))]
public enum MessageClass
{
    /// <summary>Promotional: needs consent for its topic, counts against caps, waits out quiet hours.</summary>
    Marketing,

    /// <summary>Expected by the customer: never to an erased or suppressed address, but no marketing consent or caps.</summary>
    Transactional,
}

/// <summary>A message to one customer, through the delivery pipeline (journeys produce these; hosts may send their own).</summary>
public sealed record MessageRequest
{
    /// <summary>The idempotency key: a key is sent at most once, ever (retries of the same request are harmless).</summary>
    public required string Key { get; init; }

    /// <summary>Channels in order of preference: the first with an address and consent is used; a permanent failure falls back to the next.</summary>
    public required IReadOnlyList<string> Channels { get; init; }

    /// <summary>The template to render (see <see cref="IMessageRenderer"/>).</summary>
    public required string TemplateId { get; init; }

    /// <summary>The consent topic (<c>newsletter</c>, <c>offers</c>, <c>cart</c>); <see langword="null"/> for the channel as a whole.</summary>
    public string? Topic { get; init; }

    /// <summary>Marketing or transactional.</summary>
    public MessageClass Class { get; init; } = MessageClass.Marketing;

    /// <summary>
    /// Data for the template besides the profile (a journey's context, an order): the template reads it as
    /// <c>journey</c>, so <c>Data = new JsonObject { ["order_id"] = "A1" }</c> is
    /// <c>{{ journey.order_id }}</c> (not <c>event</c>, which is only the event that triggered a journey).
    /// <see langword="null"/>: none.
    /// </summary>
    public JsonObject? Data { get; init; }
}

/// <summary>What happened to a <see cref="MessageRequest"/> when it was accepted into the pipeline.</summary>
/// <param name="Key">The request's key.</param>
/// <param name="Status">Queued, skipped or duplicate.</param>
/// <param name="Channel">The first channel it will be tried on, when queued.</param>
/// <param name="DueAt">When it will be sent (later than now inside quiet hours), when queued.</param>
/// <param name="Reason">Why it was skipped.</param>
public sealed record SendResult(string Key, SendStatus Status, string? Channel, DateTimeOffset? DueAt, string? Reason);

/// <summary>The outcome of accepting a message request.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<SendStatus>))]
public enum SendStatus
{
    /// <summary>Written to the outbox, to be sent at <see cref="SendResult.DueAt"/>.</summary>
    Queued,

    /// <summary>Not sent, for the reason given (no address, no consent, suppressed, capped, quiet hours).</summary>
    Skipped,

    /// <summary>This key was already accepted (for this person, or for another message: see <see cref="SendResult.Reason"/>); nothing was done.</summary>
    Duplicate,

    /// <summary>No profile holds the identifier.</summary>
    UnknownProfile,
}

/// <summary>
/// Turns a request into the message for one channel. The template-based renderer is the default; hosts may plug their own.
/// Returning <see langword="null"/> means the template has nothing for this channel (the channel is passed over, also when a
/// held message is rendered again at delivery: what was rendered when it was planned is then not sent).
/// </summary>
/// <remarks>
/// Consent, suppression and caps are checked for <c>address</c>, so the message must go there: its recipient (<c>To</c>,
/// <c>DeviceTokens</c>) is that address, in any spelling its identifier type normalises to the same value (an email with a
/// display name, <c>"Ann &lt;ann@example.com&gt;"</c>, is fine; a push may also name her other devices). A message for
/// another address, of another channel's type, of a type of the host's own (the outbox cannot keep it), or an email with a
/// <c>To</c>, <c>Cc</c>, <c>Bcc</c> or <c>Resent-*</c> extra header is not sent: the channel is passed over with the reason
/// (when the message is rendered again at delivery, the message as planned is sent instead). A channel without a type of its
/// own (<c>line</c>, <c>chat</c>) is sent in one of the SDK's types (for example <see cref="InAppMessage"/> or
/// <see cref="EmailMessage"/>) addressed to her identifier of the channel's type.
/// </remarks>
public interface IMessageRenderer
{
    /// <summary>Renders the message for <paramref name="channel"/> to <paramref name="address"/>.</summary>
    /// <param name="request">The request.</param>
    /// <param name="channel">The channel.</param>
    /// <param name="address">The address on that channel (email, E.164 phone, device token, profile id for in-app).</param>
    /// <param name="profile">The customer.</param>
    /// <param name="now">The current time (for time-of-day variants).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default);
}
