namespace Omnichannel.Sdk.Delivery;

/// <summary>
/// The plug-in point for a message provider. A transport sends one outbound message and reports what the provider said.
/// </summary>
/// <remarks>
/// Expected outcomes are values: return <see cref="DeliveryResult.TransientFailure(string)"/> or
/// <see cref="DeliveryResult.PermanentFailure"/> rather than throwing. An exception that escapes is treated as transient.
/// </remarks>
public interface IChannelTransport
{
    /// <summary>The channel this transport delivers to, for example <see cref="ChannelNames.Email"/>.</summary>
    string Channel { get; }

    /// <summary>Sends one message.</summary>
    /// <param name="message">The message; its <see cref="OutboundMessage.MessageId"/> is the idempotency key to pass to the provider.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default);
}

/// <summary>How a provider answered one send.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<DeliveryStatus>))]
public enum DeliveryStatus
{
    /// <summary>
    /// Not set: what <c>default(DeliveryResult)</c> holds. The dispatcher never reads it as success; it records a
    /// permanent failure (not retried, since the transport may have sent).
    /// </summary>
    None,

    /// <summary>The provider accepted the message.</summary>
    Accepted,

    /// <summary>The send failed but a retry may succeed (time-out, throttling, 5xx).</summary>
    TransientFailure,

    /// <summary>The send failed and a retry will not help (invalid address, rejected content).</summary>
    PermanentFailure,
}

/// <summary>The outcome of one send through an <see cref="IChannelTransport"/>.</summary>
/// <param name="Status">Accepted, transient failure or permanent failure.</param>
/// <param name="ProviderMessageId">The provider's id for an accepted message.</param>
/// <param name="Reason">
/// Why the send failed; <see langword="null"/> when accepted. Email addresses and phone numbers in it are replaced by
/// <c>[email]</c> and <c>[phone]</c> (<see cref="Privacy.PersonalDataScrubber"/>) when the result is made, because
/// reasons are logged, stored and put on timelines: an SMTP reply such as <c>550 5.1.1 &lt;ann@example.com&gt;</c> must
/// not carry the address there.
/// </param>
public readonly record struct DeliveryResult(DeliveryStatus Status, string? ProviderMessageId, string? Reason)
{
    private readonly string? _reason = Privacy.PersonalDataScrubber.Scrub(Reason);

    /// <summary>
    /// Why the send failed, with email addresses and phone numbers removed however it is set (the constructor, an
    /// initializer, <c>with</c>); <see langword="null"/> when accepted.
    /// </summary>
    public string? Reason
    {
        get => _reason;
        init => _reason = Privacy.PersonalDataScrubber.Scrub(value);
    }

    /// <summary>The provider accepted the message under <paramref name="providerMessageId"/>.</summary>
    public static DeliveryResult Accepted(string? providerMessageId) => new(DeliveryStatus.Accepted, providerMessageId, null);

    /// <summary>A failure that a retry may cure.</summary>
    public static DeliveryResult TransientFailure(string reason) => new(DeliveryStatus.TransientFailure, null, reason);

    /// <summary>
    /// A failure that a retry may cure, no sooner than <paramref name="retryAfter"/> from now (the provider's
    /// <c>Retry-After</c>): the dispatcher makes no quick retry and schedules the next attempt at least that late.
    /// </summary>
    public static DeliveryResult TransientFailure(string reason, TimeSpan retryAfter) =>
        new(DeliveryStatus.TransientFailure, null, reason) { RetryAfter = retryAfter < TimeSpan.Zero ? TimeSpan.Zero : retryAfter };

    /// <summary>For a transient failure, how long the provider asked to wait before the next attempt; <see langword="null"/> when it did not say.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>A failure that a retry will not cure.</summary>
    public static DeliveryResult PermanentFailure(string reason) => new(DeliveryStatus.PermanentFailure, null, reason);

    /// <summary>Whether the provider accepted the message.</summary>
    public bool IsAccepted => Status == DeliveryStatus.Accepted;
}
