using System.Text.Json;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk;

/// <summary>How far a customer has come: derived from identity and orders.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LifecycleStage>))]
public enum LifecycleStage
{
    /// <summary>Only anonymous identifiers (cookie, device): not known yet.</summary>
    Visitor,

    /// <summary>Known (customer id, email, phone or loyalty card) but no order yet.</summary>
    Lead,

    /// <summary>One order.</summary>
    Customer,

    /// <summary>Two or more orders.</summary>
    RepeatCustomer,
}

/// <summary>An identifier linked to a profile.</summary>
/// <param name="Type">The identifier type.</param>
/// <param name="Value">The normalised value.</param>
/// <param name="LinkedAt">When the engine linked it (processing time).</param>
public sealed record LinkedIdentifier(string Type, string Value, DateTimeOffset LinkedAt)
{
    /// <summary>
    /// For an address (email, phone, device id, a custom channel's id such as <c>line</c>): the event time of the newest
    /// event that carried it, so the address a message goes to is the one she used last whatever order her events arrive
    /// in. <see langword="null"/> for customer ids, anonymous ids and loyalty cards, and for addresses linked before this
    /// was kept (their <see cref="LinkedAt"/> stands in).
    /// </summary>
    public DateTimeOffset? LastSeen { get; init; }

    // Audit U83: for a phone, the earliest event time of an event that carried it that this profile knows (sightings
    // before this was kept are not known). With LastSeen it tells whether the number was in her use at or before an
    // instant, after a newer sighting has moved LastSeen past it (ProfileCore.KeywordGrantStands).
    [JsonInclude]
    internal DateTimeOffset? EarliestSeen { get; init; }

    // The channels (comma-separated) on which a hard bounce this profile recorded suppressed this address: delivery and
    // the reachable rule pass it over there. Kept on the identifier, so erasing the profile erases it too.
    [JsonInclude]
    internal string? SuppressedOn { get; init; }

    // When this identifier was linked by an event of an erased person coming back (EraseOptions.AllowReturn): the time of
    // that erasure. Its tombstone is no longer looked up once a profile holds it, so this keeps events dated at or before
    // the erasure (replays of her erased history) out of her new profile.
    [JsonInclude]
    internal DateTimeOffset? ReturnedAfter { get; init; }

    internal bool IsSuppressedOn(string channel)
    {
        if (SuppressedOn is not { } on)
        {
            return false;
        }

        foreach (var range in on.AsSpan().Split(','))
        {
            if (on.AsSpan(range).SequenceEqual(channel))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The identifier no longer marked suppressed on <paramref name="channel"/> (its other channels kept).</summary>
    internal LinkedIdentifier WithoutSuppressionOn(string channel)
    {
        var rest = SuppressedOn is { } on ? string.Join(',', on.Split(',').Where(c => c != channel)) : string.Empty;
        return this with { SuppressedOn = rest.Length == 0 ? null : rest };
    }

    /// <summary>The identifier itself.</summary>
    [JsonIgnore]
    public Identifier Identifier => new(Type, Value);
}

/// <summary>A trait value with the time of the event that set it (newest event time wins).</summary>
/// <param name="Value">The value; <see langword="null"/> when the trait was removed.</param>
/// <param name="At">The time of the event that set it.</param>
public sealed record TraitValue(JsonElement? Value, DateTimeOffset At)
{
    // The event that set it: breaks ties between equal times the same way in any arrival order.
    [JsonInclude]
    internal string? EventId { get; init; }
}

/// <summary>A line of the cart.</summary>
public sealed record CartLine
{
    /// <summary>The product.</summary>
    public required string ProductId { get; init; }

    /// <summary>Product name, when the events gave one.</summary>
    public string? Name { get; init; }

    /// <summary>Quantity.</summary>
    public decimal Quantity { get; init; }

    /// <summary>Unit price, when known.</summary>
    public decimal? UnitPrice { get; init; }

    /// <summary>Currency of <see cref="UnitPrice"/>.</summary>
    public string? Currency { get; init; }

    /// <summary>The cart id the host uses, when given.</summary>
    public string? CartId { get; init; }

    /// <summary>When the line was last changed (event time).</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>A wishlist entry.</summary>
/// <param name="ProductId">The product.</param>
/// <param name="Name">Product name: the newest an add gave (by event time), when any did.</param>
/// <param name="AddedAt">When it was added (event time): the first add since it was last removed.</param>
public sealed record WishlistItem(string ProductId, string? Name, DateTimeOffset AddedAt);

/// <summary>A consent decision for a channel and topic.</summary>
/// <param name="Channel">The channel, for example <c>email</c>.</param>
/// <param name="Topic">The topic, or <c>*</c> for every topic of the channel.</param>
/// <param name="Granted">Granted or denied.</param>
/// <param name="At">When the customer decided (event time).</param>
/// <param name="Source">Where the decision was taken (a form, the store counter, an unsubscribe link).</param>
public sealed record ConsentRecord(string Channel, string Topic, bool Granted, DateTimeOffset At, string? Source)
{
    /// <summary>The topic name that stands for every topic of a channel.</summary>
    public const string AnyTopic = "*";

    // The event that decided: breaks ties between equal times the same way in any arrival order.
    [JsonInclude]
    internal string? EventId { get; init; }

    /// <summary>
    /// An SMS opt-in keyword (<see cref="EventTypes.MessageReplied"/>) that no earlier decision about the channel stands
    /// under yet: it only undoes an opt-out, so until an older decision is known (a late <c>STOP</c>, a merged profile's)
    /// it decides nothing and is read as no decision; then it stands as the grant it is. Kept rather than dropped so that
    /// a <c>STOP</c> sent before it but arriving after it is still undone, as in any arrival order.
    /// </summary>
    [JsonInclude]
    internal bool AwaitsDecision { get; init; }

    // Audit U83: an SMS opt-in keyword (START) keeps the number it came from, so that whether it was her texting number
    // at the keyword's time can be read again when the profile learns more (a number change or a merge arriving late):
    // see ProfileCore.KeywordGrantStands. Null for every other decision and for a keyword that named no phone.
    [JsonInclude]
    internal string? FromPhone { get; init; }

    // Audit U83: on a keyword grant that stands (FromPhone set), the newest decision older than it that is known (what it
    // undid: an opt-out arriving after it is remembered here). An older process reads the grant without it.
    [JsonInclude]
    internal ConsentRecord? Under { get; init; }

    // Audit U83: on the decision in force, a keyword grant newer than it that does not stand (it came from a number that
    // was not her texting number at its time, by what the profile knows): kept, not in force, read again when her numbers
    // change. An older process reads only the decision in force (the safe side). Since the fifty-second session only read
    // (documents of the previous version): such a grant is written among Grants.
    [JsonInclude]
    internal ConsentRecord? Held { get; init; }

    // U83 finished (fifty-second session): the other keyword grants from a number newer than the decision beneath, newest
    // first, at most ProfileCore.MaxKeywordGrants with the one in force: on a grant in force, those newer that do not
    // stand and those older; on a plain decision in force, every one (none stands). Each as its event gave it (no
    // bookkeeping of its own). An older process ignores the field: it reads the decision in force (the safe side).
    [JsonInclude]
    internal IReadOnlyList<ConsentRecord>? Grants { get; init; }

    // The decision alone, without audit U83's keyword bookkeeping: what Consents, GetConsent and the export show, so two
    // profiles with the same decisions compare equal whatever their numbers' history (allocates only when there is some).
    internal ConsentRecord AsDecision() =>
        FromPhone is null && Under is null && Held is null && Grants is null ? this : this with { FromPhone = null, Under = null, Held = null, Grants = null };
}

/// <summary>How the customer likes to be contacted.</summary>
/// <param name="PreferredChannels">Channels, most preferred first.</param>
/// <param name="MaxMessages">At most this many marketing messages per <paramref name="Period"/>.</param>
/// <param name="Period">The period of <paramref name="MaxMessages"/>.</param>
/// <param name="UpdatedAt">When the customer said so (event time).</param>
public sealed record ContactPreferences(IReadOnlyList<string> PreferredChannels, int? MaxMessages, TimeSpan? Period, DateTimeOffset UpdatedAt)
{
    /// <summary>Channels, most preferred first; empty when she named none.</summary>
    // Audit U34: the stored document leaves an empty list out, so a profile read back after `preferred_channels: []`
    // held null here (a NullReferenceException for a host that read it, and `Count` threw in a template or endpoint).
    public IReadOnlyList<string> PreferredChannels { get; init; } = PreferredChannels ?? [];
}

/// <summary>A device the customer was seen on.</summary>
/// <param name="DeviceType">Device type from the event context.</param>
/// <param name="Os">Operating system from the event context.</param>
/// <param name="LastSeen">When it was last seen.</param>
public sealed record DeviceSeen(string? DeviceType, string? Os, DateTimeOffset LastSeen);

/// <summary>One interaction on the profile's timeline.</summary>
/// <param name="EventId">The event id.</param>
/// <param name="Type">The event type.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Timestamp">When it happened.</param>
/// <param name="Summary">A short description built from well-known properties.</param>
public sealed record TimelineEntry(string EventId, string Type, string Channel, [property: JsonPropertyOrder(4)] DateTimeOffset Timestamp, [property: JsonPropertyOrder(5)] string? Summary)
{
    // What adding an entry asks of every entry of a full timeline (up to twice TimelineLength): whether it has the new
    // entry's id, and which cap it counts against. Worked out once per entry, when its members are set (so a `with` works
    // them out again), rather than by comparing strings on every add: a customer with a full timeline paid that scan on each
    // event and each message. Both are functions of the members, so equality is unchanged.
    private readonly string _eventId = EventId;
    private readonly string _type = Type;
    private readonly string _channel = Channel;
    private readonly int _eventIdHash = HashOf(EventId);
    private readonly bool _isEngine = IsEngineKind(Type, Channel);

    /// <summary>The event id.</summary>
    [JsonPropertyOrder(1)] // the members in their declared order, as the stored documents have them
    public string EventId
    {
        get => _eventId;
        init
        {
            _eventId = value;
            _eventIdHash = HashOf(value);
        }
    }

    /// <summary>The event type.</summary>
    [JsonPropertyOrder(2)] // the members in their declared order, as the stored documents have them
    public string Type
    {
        get => _type;
        init
        {
            _type = value;
            _isEngine = IsEngineKind(value, _channel);
        }
    }

    /// <summary>The channel.</summary>
    [JsonPropertyOrder(3)] // the members in their declared order, as the stored documents have them
    public string Channel
    {
        get => _channel;
        init
        {
            _channel = value;
            _isEngine = IsEngineKind(_type, value);
        }
    }

    /// <summary>Whether this entry's id may be <paramref name="other"/>'s (their hashes are equal); equal ids always are.</summary>
    internal bool MayHaveId(TimelineEntry other) => _eventIdHash == other._eventIdHash;

    /// <summary>The engine's own entry (see <c>ProfileCore.IsEngineEntry</c>).</summary>
    internal bool IsEngine => _isEngine;

    private static int HashOf(string? eventId) => eventId is null ? 0 : string.GetHashCode(eventId, StringComparison.Ordinal);

    private static bool IsEngineKind(string? type, string? channel) =>
        type is { Length: > 0 } && type[0] is ('s' or 'm' or 'j') // most of her events are none of these: one test
        && (type is EventTypes.SegmentEntered or EventTypes.SegmentExited or "message.queued"
            || type.StartsWith("journey.", StringComparison.Ordinal)
            || (type == EventTypes.MessageSkipped && channel == "system"));
}

/// <summary>A merge of another profile into this one.</summary>
/// <param name="AbsorbedProfileId">The profile that was merged in and no longer exists on its own.</param>
/// <param name="CausedBy">The identifier the two profiles shared.</param>
/// <param name="EventId">The event that brought them together.</param>
/// <param name="Reason">Why they were merged.</param>
/// <param name="At">When the merge happened (processing time).</param>
public sealed record MergeRecord(string AbsorbedProfileId, Identifier CausedBy, string EventId, string Reason, DateTimeOffset At);

/// <summary>
/// An identifier that was not linked because linking it would have broken an identity rule. The identifier is kept as
/// its type and keyed hash only: it may belong to another person, whose erasure must not leave her address readable here.
/// </summary>
/// <param name="IdentifierType">The type of the identifier left unlinked (<c>email</c>, <c>customer_id</c>…).</param>
/// <param name="IdentifierHash">Its keyed hash (lowercase hex HMAC-SHA256 under <c>Privacy.HashKey</c>); never the value.</param>
/// <param name="OtherProfileId">The profile that holds it, when another profile does.</param>
/// <param name="EventId">The event that carried it.</param>
/// <param name="Reason">The rule that would have been broken (no identifier values).</param>
/// <param name="At">When (processing time).</param>
public sealed record IdentityConflict(string IdentifierType, string IdentifierHash, string? OtherProfileId, string EventId, string Reason, DateTimeOffset At);

/// <summary>Counters and times derived from a profile's events.</summary>
public sealed class ProfileStatistics
{
    /// <summary>Time of the earliest event.</summary>
    [JsonInclude]
    public DateTimeOffset? FirstSeen { get; internal set; }

    /// <summary>
    /// Time of her latest event. Reports on messages sent to her (<c>message.sent</c>, <c>message.delivered</c>,
    /// <c>message.failed</c>, <c>message.skipped</c>, <c>message.bounced</c>), and events a journey's <c>emit</c> step puts
    /// on her profile, are not her activity and leave it as it is.
    /// </summary>
    [JsonInclude]
    public DateTimeOffset? LastSeen { get; internal set; }

    /// <summary>Number of events applied.</summary>
    [JsonInclude]
    public long EventCount { get; internal set; }

    /// <summary>Time of her latest event per channel (reports on messages sent to her excepted, as for <see cref="LastSeen"/>).</summary>
    [JsonInclude]
    public Dictionary<string, DateTimeOffset> LastSeenByChannel { get; internal set; } = new(StringComparer.Ordinal);

    /// <summary>Channels used, in no particular order.</summary>
    [JsonIgnore]
    public IReadOnlyCollection<string> ChannelsUsed => LastSeenByChannel.Keys;

    /// <summary>Devices seen (distinct device type and OS), least recently seen first.</summary>
    [JsonInclude]
    public List<DeviceSeen> Devices { get; internal set; } = [];

    /// <summary>Orders placed.</summary>
    [JsonInclude]
    public int OrderCount { get; internal set; }

    /// <summary>
    /// Sum of order totals in <see cref="Currency"/> (orders that named no currency are counted in it). Money is never added
    /// across currencies: see <see cref="SpentByCurrency"/> for the others.
    /// </summary>
    [JsonInclude]
    public decimal TotalSpent { get; internal set; }

    /// <summary>
    /// The headline currency of <see cref="TotalSpent"/>, <see cref="AverageOrderValue"/> and <see cref="ReturnValue"/>:
    /// <see cref="OmnichannelOptions.Currency"/> when the shop set one, else the currency of the earliest order by event
    /// time (ties: the event id), whatever order the events arrived in; while no order named one, that of the earliest
    /// return that did (a credit note that is her only money event is her <see cref="ReturnValue"/>).
    /// </summary>
    [JsonInclude]
    public string? Currency { get; internal set; }

    /// <summary>Order totals per currency, all currencies included.</summary>
    [JsonInclude]
    public Dictionary<string, decimal> SpentByCurrency { get; internal set; } = new(StringComparer.Ordinal);

    /// <summary>Orders per currency (ISO 4217 code), all currencies included; orders that named none are not here.</summary>
    [JsonInclude]
    public Dictionary<string, int> OrdersByCurrency { get; internal set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Value refunded by returns per currency (ISO 4217 code). A return that named none is in its order's currency when the
    /// profile knows that order and it named one; other returns that named none are not here.
    /// </summary>
    [JsonInclude]
    public Dictionary<string, decimal> ReturnValueByCurrency { get; internal set; } = new(StringComparer.Ordinal);

    [JsonInclude]
    internal decimal ReturnValueWithoutCurrency { get; set; }

    [JsonInclude]
    internal decimal SpentWithoutCurrency { get; set; }

    [JsonInclude]
    internal int OrdersWithoutCurrency { get; set; }

    // The earliest order that named a currency (event time, event id) and its currency: the default headline.
    [JsonInclude]
    internal DateTimeOffset? HeadlineAt { get; set; }

    [JsonInclude]
    internal string? HeadlineEventId { get; set; }

    [JsonInclude]
    internal string? HeadlineCurrency { get; set; }

    // Audit U96: the earliest return that named a currency (event time, event id), its currency: the headline while no
    // order named one (a credit note of a purchase made before the shop's data starts is her only money event).
    [JsonInclude]
    internal string? ReturnHeadlineCurrency { get; set; }

    /// <summary>Orders counted in <see cref="TotalSpent"/> (those in <see cref="Currency"/> or without currency).</summary>
    [JsonInclude]
    public int OrdersInCurrency { get; internal set; }

    /// <summary>
    /// Average order value in <see cref="Currency"/>, rounded half away from zero to cents, or to the currency's minor
    /// unit where it has more digits (three for the dinars of Kuwait, Bahrain, Jordan…: 10.125 KWD stays 10.125).
    /// </summary>
    [JsonIgnore]
    public decimal AverageOrderValue => OrdersInCurrency == 0 ? 0
        : Math.Round(TotalSpent / OrdersInCurrency, AverageDigits(Currency), MidpointRounding.AwayFromZero);

    // The currency's minor unit where it has more than two digits; every other currency's average keeps cents (a yen
    // average of 1,500.5 is an average, not an amount to charge).
    private static int AverageDigits(string? currency) => Math.Max(2, CurrencyMinorUnits.Of(currency));

    /// <summary>Time of the first order.</summary>
    [JsonInclude]
    public DateTimeOffset? FirstOrderAt { get; internal set; }

    /// <summary>Time of the latest order.</summary>
    [JsonInclude]
    public DateTimeOffset? LastOrderAt { get; internal set; }

    /// <summary>Orders cancelled.</summary>
    [JsonInclude]
    public int CancelledOrderCount { get; internal set; }

    /// <summary>Returns (online or in store).</summary>
    [JsonInclude]
    public int ReturnCount { get; internal set; }

    /// <summary>Value refunded by returns in <see cref="Currency"/> (returns that named no currency included, unless their order is in another).</summary>
    [JsonInclude]
    public decimal ReturnValue { get; internal set; }

    /// <summary>Loyalty points balance (earned minus redeemed).</summary>
    [JsonInclude]
    public decimal LoyaltyPoints { get; internal set; }

    /// <summary>Referrals sent.</summary>
    [JsonInclude]
    public int ReferralsSent { get; internal set; }

    /// <summary>Referrals that converted.</summary>
    [JsonInclude]
    public int ReferralsConverted { get; internal set; }
}
