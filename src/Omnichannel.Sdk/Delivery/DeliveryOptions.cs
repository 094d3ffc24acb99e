using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Omnichannel.Sdk.Delivery;

/// <summary>Delivery policies and the dispatcher's settings (<see cref="OmnichannelOptions.Delivery"/>).</summary>
public sealed class DeliveryOptions
{
    /// <summary>
    /// Topics whose marketing messages need no prior consent (opt-out: sent unless the customer said no). Every other
    /// topic is opt-in: a marketing message needs a granted consent for the channel and topic (or the whole channel).
    /// </summary>
    public ISet<string> OptOutTopics { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>The time zone used for customers whose profile has none (IANA or Windows id). Default <c>UTC</c>.</summary>
    public string DefaultTimeZone { get; set; } = "UTC";

    /// <summary>Start of the quiet hours, local time of the customer. Default 21:00. A start equal to <see cref="QuietHoursEnd"/> means no quiet hours.</summary>
    public TimeOnly QuietHoursStart { get; set; } = new(21, 0);

    /// <summary>
    /// End of the quiet hours, local time of the customer. Default 08:00. An end her clock skips (spring forward) is
    /// passed at the jump; an end it shows twice (fall back) is the first of its instants after now.
    /// </summary>
    public TimeOnly QuietHoursEnd { get; set; } = new(8, 0);

    /// <summary>What a marketing message due inside the quiet hours does. Default: waits for their end.</summary>
    public QuietHoursAction MarketingQuietHours { get; set; } = QuietHoursAction.Defer;

    /// <summary>
    /// What a transactional message due inside the quiet hours does. Default: is sent anyway. With
    /// <see cref="QuietHoursAction.Defer"/> it waits for the end of that night in her zone, and follows her when her zone
    /// changes, as a marketing message does (no frequency cap counts it).
    /// </summary>
    public QuietHoursAction TransactionalQuietHours { get; set; } = QuietHoursAction.Ignore;

    /// <summary>Frequency caps for marketing messages; transactional messages are exempt.</summary>
    public IList<FrequencyCap> FrequencyCaps { get; } = [];

    /// <summary>The sender of emails whose template gives none.</summary>
    public string? EmailFrom { get; set; }

    /// <summary>One-click unsubscribe links and headers for marketing email (RFC 8058); off until its endpoint is set.</summary>
    public UnsubscribeOptions Unsubscribe { get; } = new();

    /// <summary>
    /// How long the dispatcher owns a claimed message before another may take it. Default 5 minutes; at most 1 day, and
    /// longer than the longest one send can take (<see cref="SendTimeout"/> × (quick retries + 1) plus the quick retries'
    /// back-off, see <see cref="Retry"/>), which validation checks, so a message still being sent is never claimed again.
    /// </summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many messages the dispatcher claims at once. Default 32; 1 to 10,000.</summary>
    public int DispatchBatchSize { get; set; } = 32;

    /// <summary>
    /// How many dispatch attempts (each with the transport's own quick retries) before a message is failed. Default 6; 1 to 100
    /// (with <see cref="RetryDelay"/> doubled before each, the last back-off may not exceed 30 days).
    /// A transient failure is retried on its channel until the last attempt; on that one, the message's next channel
    /// (its fallback) is tried, as after a permanent failure.
    /// </summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The first delay before a message is tried again after transient failures; doubled each attempt, with jitter. Default 30 s; 0 to 1 day.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time-out of one send through a transport. Default 30 s; more than 0, at most 1 hour.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Time-out of one call to the renderer (<see cref="IMessageRenderer.RenderAsync"/>). Default 30 s, at most 1 hour.
    /// A message is rendered on its customer's partition, so a renderer that does not answer would hold every customer
    /// of that partition: after the time-out the call is abandoned (its token is cancelled, and it is no longer awaited)
    /// and the channel is passed over as a rendering failure.
    /// </summary>
    public TimeSpan RenderTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Quick retries of a transient failure inside one dispatch attempt, as Polly's own retry options
    /// (<see href="https://www.pollydocs.org/strategies/retry"/>). Default: 2 retries, 200 ms, exponential back-off with
    /// jitter. <see langword="null"/>: no quick retries (the dispatcher's own retries, <see cref="MaxAttempts"/> and
    /// <see cref="RetryDelay"/>, still apply). What counts as transient is the SDK's rule (<see cref="IsTransientException"/>
    /// and transient <see cref="DeliveryResult"/>s): a <c>ShouldHandle</c> set here is replaced. Validated with Polly's own
    /// rules, each error under <c>Delivery.Retry</c>.
    /// </summary>
    public RetryStrategyOptions<DeliveryResult>? Retry { get; set; } = new()
    {
        MaxRetryAttempts = 2,
        Delay = TimeSpan.FromMilliseconds(200),
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
    };

    /// <summary>
    /// Each transport's circuit breaker, as Polly's own options (<see href="https://www.pollydocs.org/strategies/circuit-breaker"/>):
    /// after <c>MinimumThroughput</c> sends within <c>SamplingDuration</c> of which <c>FailureRatio</c> failed, the circuit
    /// opens for <c>BreakDuration</c> and messages wait without calling the transport. Default: ratio 0.5 over 30 s, at least
    /// 10 sends, open 30 s. <c>ShouldHandle</c> is the SDK's transient rule, as for <see cref="Retry"/>.
    /// </summary>
    public CircuitBreakerStrategyOptions<DeliveryResult> CircuitBreaker { get; set; } = new()
    {
        FailureRatio = 0.5,
        SamplingDuration = TimeSpan.FromSeconds(30),
        MinimumThroughput = 10,
        BreakDuration = TimeSpan.FromSeconds(30),
    };

    /// <summary>Sends per second allowed per transport (token bucket), 1 to 100,000, or <see langword="null"/> (the default) for no limit.</summary>
    public int? SendsPerSecondPerTransport { get; set; }

    /// <summary>
    /// The largest rendered message of any channel, in bytes of its JSON form (what the outbox stores). A bigger one is
    /// passed over on that channel with the reason. Default 1 MiB; at least 1,024.
    /// </summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>The most segments an SMS (or WhatsApp text) may have (GSM 03.38: 153 GSM-7 or 67 UCS-2 characters each). Default 10; at least 1.</summary>
    public int MaxSmsSegments { get; set; } = 10;

    /// <summary>The largest push notification, in bytes of its JSON form (APNs allows 4 KiB). Default 4,096; at least 256.</summary>
    public int MaxPushBytes { get; set; } = 4096;

    /// <summary>
    /// How many soft bounces of one address on one channel in a row (no delivery, open or click there in between), within
    /// <see cref="SoftBounceWindow"/>, suppress it like a hard bounce: on the profile and on the store's suppression list
    /// (<see cref="Storage.IOmnichannelStore.SuppressAsync"/>), a phone per channel (<c>sms</c> or <c>whatsapp</c>), lifted by
    /// <see cref="IOmnichannelClient.LiftErasureAsync"/>. Default 3; 0 never suppresses on soft bounces (each is only
    /// recorded); at most 100. A bounce report about a message already counted (a webhook sent again) counts once.
    /// Practice it follows: Listmonk's bounce count per subscriber (knadh/listmonk#991), "stop after 3 soft bounces in a
    /// week" (astrobin/astrobin#1672), "hard after N soft" (Notifuse/notifuse#323); unlike Listmonk's count, a delivery
    /// starts it again (knadh/listmonk#2770).
    /// </summary>
    public int SoftBounceLimit { get; set; } = DefaultSoftBounceLimit;

    /// <summary>
    /// The longest time the <see cref="SoftBounceLimit"/> soft bounces may span (from the first to the last, by event
    /// time): bounces further apart (a mailbox full once a year) never add up. Default 30 days; positive, at most 3,650 days.
    /// </summary>
    public TimeSpan SoftBounceWindow { get; set; } = DefaultSoftBounceWindow;

    internal const int DefaultSoftBounceLimit = 3;

    internal static readonly TimeSpan DefaultSoftBounceWindow = TimeSpan.FromDays(30);

    /// <summary>
    /// Decides whether an exception thrown by a transport is worth retrying. Default (<see langword="null"/>): time-outs,
    /// I/O and socket errors, and HTTP failures without a status or with 408, 429 or 5xx are transient; everything else
    /// (an <see cref="ArgumentException"/> for a bad address, a 4xx) is permanent and not retried.
    /// </summary>
    public Func<Exception, bool>? IsTransientException { get; set; }

    internal IEnumerable<string> Validate()
    {
        if (TimeZoneOrNull(DefaultTimeZone) is null)
        {
            yield return $"Delivery.{nameof(DefaultTimeZone)}: '{DefaultTimeZone}' is not a time zone id known to this machine.";
        }

        if (Lease <= TimeSpan.Zero) yield return $"Delivery.{nameof(Lease)} must be positive.";
        if (DispatchBatchSize < 1) yield return $"Delivery.{nameof(DispatchBatchSize)} must be at least 1.";
        if (MaxAttempts < 1) yield return $"Delivery.{nameof(MaxAttempts)} must be at least 1.";
        if (RetryDelay < TimeSpan.Zero) yield return $"Delivery.{nameof(RetryDelay)} must not be negative.";
        if (SendTimeout <= TimeSpan.Zero) yield return $"Delivery.{nameof(SendTimeout)} must be positive.";
        if (RenderTimeout <= TimeSpan.Zero) yield return $"Delivery.{nameof(RenderTimeout)} must be positive.";
        foreach (var error in PollyErrors(nameof(Retry), Retry))
        {
            yield return error;
        }

        if (CircuitBreaker is null)
        {
            yield return $"Delivery.{nameof(CircuitBreaker)} is required.";
        }
        else
        {
            foreach (var error in PollyErrors(nameof(CircuitBreaker), CircuitBreaker))
            {
                yield return error;
            }
        }

        if (SendsPerSecondPerTransport is < 1) yield return $"Delivery.{nameof(SendsPerSecondPerTransport)} must be at least 1, or null.";
        if (MaxMessageBytes < 1024) yield return $"Delivery.{nameof(MaxMessageBytes)} must be at least 1024.";
        if (MaxSmsSegments < 1) yield return $"Delivery.{nameof(MaxSmsSegments)} must be at least 1.";
        if (MaxPushBytes < 256) yield return $"Delivery.{nameof(MaxPushBytes)} must be at least 256.";
        if (SoftBounceLimit is < 0 or > 100) yield return $"Delivery.{nameof(SoftBounceLimit)} must be between 0 (never) and 100.";
        if (SoftBounceWindow <= TimeSpan.Zero || SoftBounceWindow > TimeSpan.FromDays(3650)) yield return $"Delivery.{nameof(SoftBounceWindow)} must be positive and at most 3,650 days.";
        for (var i = 0; i < FrequencyCaps.Count; i++)
        {
            var c = FrequencyCaps[i];
            if (c.Max < 1) yield return $"Delivery.{nameof(FrequencyCaps)}[{i}].{nameof(FrequencyCap.Max)} must be at least 1.";
            if (c.Window is { } w && w <= TimeSpan.Zero) yield return $"Delivery.{nameof(FrequencyCaps)}[{i}].{nameof(FrequencyCap.Window)} must be positive.";
            if (c.Window is null == !c.PerLocalDay) yield return $"Delivery.{nameof(FrequencyCaps)}[{i}]: give either a rolling Window or PerLocalDay, not both or neither.";
        }
    }

    // Polly's options carry their rules as data annotations; Polly checks them when a pipeline is built, too late for
    // start-up validation, so they are checked here with the same annotations.
    private static IEnumerable<string> PollyErrors(string name, object? options)
    {
        if (options is null)
        {
            yield break;
        }

        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new System.ComponentModel.DataAnnotations.ValidationContext(options), results, validateAllProperties: true);
        foreach (var r in results)
        {
            yield return $"Delivery.{name}.{string.Join(", ", r.MemberNames)}: {r.ErrorMessage}";
        }
    }

    internal static TimeZoneInfo? TimeZoneOrNull(string? id) =>
        id is not null && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var tz) ? tz : null;
}

/// <summary>What a message due inside the quiet hours does.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<QuietHoursAction>))]
public enum QuietHoursAction
{
    /// <summary>Waits for the end of the quiet hours.</summary>
    Defer,

    /// <summary>Is skipped, with the reason recorded.</summary>
    Drop,

    /// <summary>Is sent at once.</summary>
    Ignore,
}

/// <summary>
/// At most <see cref="Max"/> marketing messages per rolling <see cref="Window"/> (or per calendar day in the customer's
/// zone), on a channel and/or topic (<see langword="null"/> = any). A message counts on the channel and at the instant it
/// went out (a fallback on its fallback channel); a failed or cancelled one does not count; one held for later counts
/// against a rolling window only when it is due within the window of the new one.
/// </summary>
/// <param name="Max">The cap.</param>
/// <param name="Window">A rolling window, or <see langword="null"/> with <paramref name="PerLocalDay"/>.</param>
/// <param name="Channel">The channel it counts, or <see langword="null"/> for all: a standard channel or one a transport serves, in lower case (<c>sms</c>; the engine refuses to start otherwise).</param>
/// <param name="Topic">The topic it counts, or <see langword="null"/> for all.</param>
/// <param name="PerLocalDay">Counts per calendar day in the customer's time zone.</param>
public sealed record FrequencyCap(int Max, TimeSpan? Window, string? Channel = null, string? Topic = null, bool PerLocalDay = false);
