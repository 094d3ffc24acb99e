using System.Globalization;
using System.Text.Json;

namespace Omnichannel.Sdk;

/// <summary>
/// The functional core of profiles: applies one event, or merges one profile into another. No I/O, no clock reads:
/// every time used comes from the event or is passed in.
/// </summary>
internal static partial class ProfileCore
{
    private const int MaxConflicts = 50;
    private const int MaxMerges = 100;
    private const int MaxDevices = 20;

    /// <summary>
    /// Whether an event only reports what happened to a message sent to her (<c>message.sent</c>, <c>delivered</c>,
    /// <c>failed</c>, <c>skipped</c>, <c>bounced</c>): not her activity for <c>lastSeen</c> and <c>channelsUsed</c>, nor
    /// her use of the address it names (which address is her newest). Her own answers (opened, clicked, replied,
    /// unsubscribed, complained) are her activity, but see <see cref="NamesAnAddressOfAMessage"/>.
    /// </summary>
    internal static bool IsReportOnAMessageToHer(string type) => type is EventTypes.MessageSent or EventTypes.MessageDelivered
        or EventTypes.MessageFailed or EventTypes.MessageSkipped or EventTypes.MessageBounced;

    /// <summary>
    /// Whether the address an event carries is only the one a message went to or an answer came from: the reports above
    /// and the answers to a message (opened, clicked, replied, unsubscribed, complained). Such an event does not make that
    /// address her newest: the old inbox she left, or a number recycled to a stranger, still answers mail sent there
    /// before she gave a new one (audit U44).
    /// </summary>
    internal static bool NamesAnAddressOfAMessage(string type) => IsReportOnAMessageToHer(type)
        || type is EventTypes.MessageOpened or EventTypes.MessageClicked or EventTypes.MessageReplied
            or EventTypes.MessageUnsubscribed or EventTypes.MessageComplained;

    /// <summary>
    /// Applies one event. <paramref name="shopCurrency"/> is <see cref="OmnichannelOptions.Currency"/>.
    /// <paramref name="hers"/> is <see langword="false"/> for an event a journey emitted on her profile (an <c>emit</c>
    /// step): like a report on a message sent to her, it is not her activity (<c>lastSeen</c>, <c>channelsUsed</c>).
    /// <paramref name="receivedBy"/> is the engine's clock when the event is applied: a consent decision stamped after it
    /// (a device clock running fast, inside <see cref="OmnichannelOptions.MaxClockSkew"/>) is recorded at that instant.
    /// <paramref name="softBounces"/> is the soft-bounce rule (<see cref="Delivery.DeliveryOptions.SoftBounceLimit"/> and
    /// the engine's keyed hash); without it soft bounces are only on the timeline.
    /// <paramref name="messagingChannels"/> are the channels a complaint that names none withdraws (the engine's, a host's
    /// own included: <see cref="OutcomeProperties.MessagingChannels"/>); the built-in five when <see langword="null"/>.
    /// </summary>
    public static void Apply(CustomerProfile p, CustomerEvent e, int timelineLength, string? shopCurrency = null, bool hers = true, DateTimeOffset? receivedBy = null, int maxTraits = OmnichannelOptions.DefaultMaxTraitsPerProfile, SoftBounceRule? softBounces = null, IReadOnlyList<string>? messagingChannels = null)
    {
        var t = e.Timestamp;

        // Audit U9 (c15t/c15t#862): a decision cannot have been made after the engine received it. Stamped as sent, a
        // grant from a device four minutes fast outranked the opt-out she made a minute later on a right clock, and she
        // stayed opted in. Only consent is clamped: windows and the timeline keep the event's own time (audit U3).
        var decidedAt = receivedBy is { } received && t > received ? received : t;
        var props = e.Properties;
        var s = p.Statistics;

        s.EventCount++;
        if (s.FirstSeen is null || t < s.FirstSeen)
        {
            s.FirstSeen = t;
        }

        // A report on a message sent to her (the engine's own sent/failed/skipped records, a provider's delivered or
        // bounced) is not her activity: she was not seen, and did not use the channel. Otherwise every win-back sent to
        // a lapsed customer made her active again, and she lapsed (and was won back) again a period later.
        // An event a journey emits on her profile is the journey's doing, as the message it sends is (review 24: a win-back
        // journey with an emit step made her active again and won her back every month).
        if (hers && !IsReportOnAMessageToHer(e.Type) && !MachineEngagement.Is(e)) // a machine's open is not her (audit U82)
        {
            if (s.LastSeen is null || t > s.LastSeen)
            {
                s.LastSeen = t;
            }

            if (!s.LastSeenByChannel.TryGetValue(e.Channel, out var lastOnChannel) || t > lastOnChannel)
            {
                s.LastSeenByChannel[e.Channel] = t;
            }
        }

        ApplyContext(p, e.Context, t, e.Id);
        ApplyTraits(p, e.Traits, t, e.Id, maxTraits);

        switch (e.Type)
        {
            case EventTypes.OrderPlaced:
                ApplyOrder(p, props, t, e.Id, shopCurrency);
                break;
            case EventTypes.OrderCancelled:
                // An order is cancelled once: the same order id again (a back-fill) counts nothing more.
                if (p.CancelledOrders.Add(WellKnownProperties.OrderId(p, props) is { Length: > 0 } cancelledId ? WellKnownProperties.OrderKey(cancelledId) : "event:" + e.Id))
                {
                    s.CancelledOrderCount++;
                }

                break;
            case EventTypes.OrderReturned:
                ProfileFacts.ApplyReturn(
                    p,
                    ReturnKey(props, e.Id),
                    Math.Abs(WellKnownProperties.Decimal(props, "total") ?? 0),
                    WellKnownProperties.String(props, "currency")?.ToUpperInvariant(),
                    WellKnownProperties.OrderId(p, props) is { Length: > 0 } returnedId ? WellKnownProperties.OrderKey(returnedId) : null,
                    t,
                    e.Id,
                    shopCurrency,
                    RefundLines(props));
                break;
            case EventTypes.CartItemAdded:
                ProfileFacts.PutCartOp(p, WellKnownProperties.String(props, "product_id")!, new ItemOp(
                    e.Id,
                    t,
                    Remove: false,
                    WellKnownProperties.Decimal(props, "quantity") ?? 1,
                    WellKnownProperties.String(props, "name"),
                    WellKnownProperties.Decimal(props, "price"),
                    WellKnownProperties.String(props, "currency"),
                    WellKnownProperties.String(props, "cart_id")));
                break;
            case EventTypes.CartItemRemoved:
                ProfileFacts.PutCartOp(p, WellKnownProperties.String(props, "product_id")!, new ItemOp(e.Id, t, Remove: true, WellKnownProperties.Decimal(props, "quantity")));
                break;
            case EventTypes.WishlistItemAdded:
                ProfileFacts.PutWishlistOp(p, WellKnownProperties.String(props, "product_id")!, new ItemOp(e.Id, t, Remove: false, null, WellKnownProperties.String(props, "name")));
                break;
            case EventTypes.WishlistItemRemoved:
                ProfileFacts.PutWishlistOp(p, WellKnownProperties.String(props, "product_id")!, new ItemOp(e.Id, t, Remove: true, null));
                break;
            case EventTypes.NewsletterSubscribed:
            case EventTypes.NewsletterUnsubscribed:
                SetConsent(p, new ConsentRecord(
                    WellKnownProperties.String(props, "channel") ?? ChannelNames.Email,
                    WellKnownProperties.String(props, "topic") ?? "newsletter",
                    e.Type == EventTypes.NewsletterSubscribed,
                    decidedAt,
                    WellKnownProperties.String(props, "source") ?? e.Channel) { EventId = e.Id });
                break;
            case EventTypes.ConsentChanged:
                SetConsent(p, new ConsentRecord(
                    WellKnownProperties.String(props, "channel")!,
                    WellKnownProperties.String(props, "topic") ?? ConsentRecord.AnyTopic,
                    WellKnownProperties.Bool(props, "granted") ?? false,
                    decidedAt,
                    WellKnownProperties.String(props, "source") ?? e.Channel) { EventId = e.Id });
                break;
            case EventTypes.MessageUnsubscribed:
                // Without a topic this is "unsubscribe from all": a channel-wide refusal, newer than every topic grant.
                SetConsent(p, new ConsentRecord(
                    WellKnownProperties.String(props, "channel")!,
                    WellKnownProperties.String(props, "topic") ?? ConsentRecord.AnyTopic,
                    false,
                    decidedAt,
                    "unsubscribe:" + (WellKnownProperties.String(props, "message_id") ?? e.Id)) { EventId = e.Id });
                break;
            case EventTypes.MessageReplied when WellKnownProperties.String(props, "channel") == ChannelNames.Sms
                && SmsReplyKeywords.Parse(WellKnownProperties.String(props, SmsReplyKeywords.KeywordProperty)) is var keyword
                && keyword is SmsReplyKeyword.OptOut or SmsReplyKeyword.OptIn:
                // STOP is an unsubscribe from all SMS; START undoes it (only it: with no decision before it, it awaits one).
                // Audit U83: a START keeps the number it came from; it stands only while that number was her texting
                // number at its time (KeywordGrantStands), read again whenever her numbers change.
                SetConsent(p, new ConsentRecord(
                    ChannelNames.Sms,
                    ConsentRecord.AnyTopic,
                    keyword == SmsReplyKeyword.OptIn,
                    decidedAt,
                    keyword == SmsReplyKeyword.OptIn ? SmsReplyKeywords.OptInSource : SmsReplyKeywords.OptOutSource)
                {
                    EventId = e.Id,
                    AwaitsDecision = keyword == SmsReplyKeyword.OptIn,
                    FromPhone = keyword == SmsReplyKeyword.OptIn ? KeywordPhone(p, e) : null,
                });
                break;
            case EventTypes.MessageReplied when WellKnownProperties.String(props, "channel") == ChannelNames.WhatsApp
                && SmsReplyKeywords.Parse(WellKnownProperties.String(props, SmsReplyKeywords.KeywordProperty)) == SmsReplyKeyword.OptOut:
                // Audit U73: STOP on WhatsApp withdraws WhatsApp (every topic), and only it: SMS to the same number is its own.
                SetConsent(p, new ConsentRecord(ChannelNames.WhatsApp, ConsentRecord.AnyTopic, false, decidedAt, SmsReplyKeywords.WhatsAppOptOutSource) { EventId = e.Id });
                break;
            case EventTypes.MessageComplained when OutcomeProperties.IsNotSpamReport(props):
                // Audit U77: a feedback report of type "not-spam" (SES's complaintFeedbackType, RFC 5965's Feedback-Type)
                // is her rescuing the message from the spam folder: kept on her timeline, it withdraws nothing.
                break;
            case EventTypes.MessageComplained:
                // A spam complaint withdraws marketing consent for the whole channel; one that names no channel we can
                // tell (a message_id of a message the SDK never sent) withdraws it for every messaging channel, a host's
                // own (line) as much as the built-in ones (audit U73).
                var complaintSource = "complaint:" + (WellKnownProperties.String(props, "message_id") ?? e.Id);
                var named = WellKnownProperties.String(props, "channel") ?? OutcomeProperties.MessagingChannel(e.Channel);
                IReadOnlyList<string> complainedOnAll = named is not null ? [named] : messagingChannels ?? OutcomeProperties.StandardMessagingChannels;
                foreach (var complainedOn in complainedOnAll)
                {
                    SetConsent(p, new ConsentRecord(complainedOn, ConsentRecord.AnyTopic, false, decidedAt, complaintSource) { EventId = e.Id });
                }

                break;
            case EventTypes.MessageBounced when OutcomeProperties.IsHardBounce(props)
                && (WellKnownProperties.String(props, "channel") ?? OutcomeProperties.MessagingChannel(e.Channel)) is { } bouncedOn:
                if (OutcomeProperties.BouncedAddress(p, e, bouncedOn) is { } address)
                {
                    // A hard bounce suppresses the address on this profile: it is never used again.
                    Suppress(p, bouncedOn + ":" + address);
                }
                else if (WellKnownProperties.String(props, "message_id") is { } bouncedKey)
                {
                    // A message this profile does not know (sent from a profile of hers not linked yet): kept until a
                    // merge brings it, and with it the address it went to.
                    AddPendingBounce(p, bouncedOn + ":" + bouncedKey);
                }
                else if (WellKnownProperties.String(props, "provider_message_id") is { Length: > 0 } providerId)
                {
                    // Audit U79: the same for the provider's id (Twilio's MessageSid, SES's messageId), which the profile
                    // learns only when the send is recorded (a status callback can come first) or a merge brings it.
                    AddPendingBounce(p, PendingByProviderId + bouncedOn + ":" + providerId);
                }

                break;
            case EventTypes.MessageBounced when OutcomeProperties.IsHardBounce(props) && e.Channel is { Length: > 0 }
                && WellKnownProperties.String(props, "message_id") is null
                && WellKnownProperties.String(props, "provider_message_id") is { Length: > 0 } unplacedId:
                // Audit U79: a hard bounce naming only the provider's id and no channel (posted on "server"), about a
                // message this profile does not know (a known one has its channel filled at the door): it waits as one
                // with a channel does, and the touch of the message so named gives the channel when it is resolved.
                AddPendingBounce(p, PendingByProviderId + e.Channel + ":" + unplacedId);
                break;
            case EventTypes.MessageBounced when softBounces is not null && OutcomeProperties.IsSoftBounce(props)
                && (WellKnownProperties.String(props, "channel") ?? OutcomeProperties.MessagingChannel(e.Channel)) is { } softOn:
                CountSoftBounce(p, e, softOn, softBounces);
                break;
            case EventTypes.MessageBounced when softBounces is not null && OutcomeProperties.IsSoftBounce(props) && e.Channel is { Length: > 0 }
                && WellKnownProperties.String(props, "message_id") is null
                && WellKnownProperties.String(props, "provider_message_id") is { Length: > 0 } unplacedSoftId:
                // Audit U80: a soft bounce naming only the provider's id and no channel (posted on "server"), about a
                // message this profile does not know: it waits as a hard one does, its channel read from the touch later.
                AddPendingSoftBounce(p, e.Channel, PendingByProviderId + unplacedSoftId, e.Timestamp, softBounces);
                break;
            case EventTypes.PreferencesUpdated:
                ApplyPreferences(p, props, t, e.Id);
                break;
            case EventTypes.LoyaltyPointsEarned:
                s.LoyaltyPoints = checked(s.LoyaltyPoints + CountOnce(p, e, WellKnownProperties.Decimal(props, "points") ?? 0));
                break;
            case EventTypes.LoyaltyPointsRedeemed:
                s.LoyaltyPoints = checked(s.LoyaltyPoints - CountOnce(p, e, WellKnownProperties.Decimal(props, "points") ?? 0));
                break;
            case EventTypes.ReferralSent:
                s.ReferralsSent += (int)CountOnce(p, e, 1);
                break;
            case EventTypes.ReferralConverted:
                s.ReferralsConverted += (int)CountOnce(p, e, 1);
                break;
        }

        AddTimeline(p, new TimelineEntry(e.Id, e.Type, e.Channel, t, Summarize(e)), timelineLength);
    }

    /// <summary>Most keyed loyalty and referral events a profile remembers (<see cref="CustomerProfile.Tallies"/>).</summary>
    internal const int MaxTallies = 1_000;

    /// <summary>
    /// The natural key of a loyalty or referral event (<c>{type}:{transaction_id}</c>, <c>{type}:{referral_id}</c>), or
    /// <see langword="null"/> when it names none (each event then counts: nothing tells a retry from a second one). A
    /// <c>referral_code</c> is no key: one code is shared by all her referrals. Nor is <c>referred_customer_id</c>: the key
    /// is kept in the referrer's document, where another person's id would outlive that person's erasure.
    /// </summary>
    internal static string? TallyKey(CustomerEvent e) =>
        (e.Type switch
        {
            EventTypes.LoyaltyPointsEarned or EventTypes.LoyaltyPointsRedeemed => WellKnownProperties.String(e.Properties, "transaction_id"),
            EventTypes.ReferralSent or EventTypes.ReferralConverted => WellKnownProperties.String(e.Properties, "referral_id"),
            _ => null,
        }) is { Length: > 0 } id ? e.Type + ":" + id : null;

    // Audit U70 (odoo/odoo#222372, reapit/foundations#10832): what this event adds to its counter. An event with a key
    // already counted adds only the change of its value when it is the newer (a corrected re-send), else nothing.
    private static decimal CountOnce(CustomerProfile p, CustomerEvent e, decimal value)
    {
        if (TallyKey(e) is not { } key)
        {
            return value;
        }

        var before = p.Tallies.TryGetValue(key, out var known) ? known.Total : 0;
        ProfileFacts.PutFact(p.Tallies, key, value, null, e.Timestamp, e.Id);
        var delta = checked(p.Tallies[key].Total - before);
        TrimTallies(p);
        return delta;
    }

    // Past MaxTallies the least recently updated keys are forgotten (their values stay counted): only a re-send of one of
    // them would count again.
    internal static void TrimTallies(CustomerProfile p)
    {
        var tallies = p.Tallies;
        while (tallies.Count > MaxTallies)
        {
            string? oldest = null;
            OrderFact? at = null;
            foreach (var (key, fact) in tallies)
            {
                if (at is null || Stamp.Newer(at.UpdatedAt, at.EventId, fact.UpdatedAt, fact.EventId))
                {
                    (oldest, at) = (key, fact);
                }
            }

            tallies.Remove(oldest!);
        }
    }

    // A return is one per return_id; without one, a re-sent copy (same order, amount and currency) is the same return. A
    // refund by products without an amount is told apart by its products: two refunds of one item each are two returns.
    internal static string ReturnKey(JsonElement props, string eventId) =>
        WellKnownProperties.String(props, "return_id") is { Length: > 0 } returnId ? "return:" + returnId
        : WellKnownProperties.String(props, "order_id") is { Length: > 0 } orderId
            ? RefundLines(props) is { } lines
                ? $"order:{orderId}:products:{string.Join(",", lines.Select(l => $"{l.Key}x{Format(l.Value.Quantity)}@{(l.Value.Price is { } price ? Format(price) : string.Empty)}"))}:{WellKnownProperties.String(props, "currency")?.ToUpperInvariant()}"
                : $"order:{orderId}:{Format(Math.Abs(WellKnownProperties.Decimal(props, "total") ?? 0))}:{WellKnownProperties.String(props, "currency")?.ToUpperInvariant()}"
            : "event:" + eventId;

    /// <summary>
    /// The products of a refund that names no amount (no <c>total</c>; Segment's <c>Order Refunded</c> and GA4's refund
    /// may carry only the order id and its products): what it takes off is theirs (see <see cref="ProfileFacts.ReturnAmounts"/>).
    /// Null when it names an amount, or no products.
    /// </summary>
    internal static Dictionary<string, OrderLine>? RefundLines(JsonElement props) =>
        WellKnownProperties.Decimal(props, "total") is null ? OrderLines(props) : null;

    /// <summary>Most products kept per order or refund (the first ones sent).</summary>
    internal const int MaxOrderLines = 200;

    /// <summary>
    /// The products an order or a refund lists (<c>items</c>, else <c>products</c>: an array of objects), by product id
    /// (<c>product_id</c>, else <c>productId</c>, <c>sku</c>, <c>id</c>; a product without one is kept by its position;
    /// its <c>sku</c> is kept too, so a refund naming either finds it),
    /// in code point order of id: <c>quantity</c> (absolute, 1 when none) and <c>price</c> (absolute, per unit; none when
    /// missing or not a number). A product listed twice adds its quantities. Values that are no number are passed over as
    /// missing; an amount past <see cref="WellKnownProperties.MaxAmount"/> or a quantity past
    /// <see cref="WellKnownProperties.MaxQuantity"/> is too. Null when there are none.
    /// </summary>
    internal static Dictionary<string, OrderLine>? OrderLines(JsonElement props)
    {
        if (props.ValueKind != JsonValueKind.Object
            || !((props.TryGetProperty("items", out var list) && list.ValueKind == JsonValueKind.Array)
                || (props.TryGetProperty("products", out list) && list.ValueKind == JsonValueKind.Array)))
        {
            return null;
        }

        SortedDictionary<string, OrderLine>? lines = null;
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (index++ >= MaxOrderLines || item.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var sku = WellKnownProperties.String(item, "sku") is { Length: > 0 } givenSku ? givenSku : null;
            var id = (NonEmpty(WellKnownProperties.String(item, "product_id")) ?? NonEmpty(WellKnownProperties.String(item, "productId")) ?? sku ?? NonEmpty(WellKnownProperties.String(item, "id"))) is { } named
                ? named
                : "#" + (index - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            sku = sku == id ? null : sku;
            var quantity = WellKnownProperties.Decimal(item, "quantity") is { } q && Math.Abs(q) <= WellKnownProperties.MaxQuantity ? Math.Abs(q) : 1;
            var price = WellKnownProperties.Decimal(item, "price") is { } pr && Math.Abs(pr) <= WellKnownProperties.MaxAmount ? Math.Abs(pr) : (decimal?)null;
            lines ??= new(StringComparer.Ordinal);
            lines[id] = lines.TryGetValue(id, out var known) ? new OrderLine(known.Quantity + quantity, price ?? known.Price, sku ?? known.Sku) : new OrderLine(quantity, price, sku);
        }

        return lines is null ? null : new Dictionary<string, OrderLine>(lines, StringComparer.Ordinal);

        static string? NonEmpty(string? s) => s is { Length: > 0 } ? s : null;
    }

    /// <summary>Stamps the addresses an event carries with its time, when newer (see <see cref="LinkedIdentifier.LastSeen"/>).</summary>
    public static void SeeAddresses(CustomerProfile p, IReadOnlyList<Identifier> identifiers, DateTimeOffset t)
    {
        for (var k = 0; k < identifiers.Count; k++) // by index: runs on every event, and a foreach would box the enumerator
        {
            var id = identifiers[k];
            // Audit U72: every address type, a custom channel's id (line) too, or her newest LINE id lost to an older one.
            if (!Privacy.Erasure.DeliveryAddressType(id.Type))
            {
                continue;
            }

            var list = p.IdentifierList;
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i].Type == id.Type && list[i].Value == id.Value)
                {
                    var known = list[i];
                    var later = known.LastSeen is not { } seen || seen < t;
                    var earliest = known.EarliestSeen;
                    if (id.Type == IdentifierTypes.Phone)
                    {
                        // Audit U83: the earliest sighting known (on a phone linked before it was kept, its newest one).
                        earliest = (earliest ?? known.LastSeen) is { } first && first <= t ? first : t;
                    }

                    if (later || earliest != known.EarliestSeen)
                    {
                        list[i] = known with { LastSeen = later ? t : known.LastSeen, EarliestSeen = earliest };
                    }

                    break;
                }
            }
        }
    }

    /// <summary>Most pending bounces a profile keeps (<see cref="CustomerProfile.PendingBounces"/>).</summary>
    internal const int MaxPendingBounces = 100;

    // Audit U79: the prefix of a pending bounce named by the provider's id ("provider/sms:SM123"), not by the message's key
    // ("sms:order-1"); channel names are [a-z][a-z0-9_-]* (EventValidator.ChannelPattern), so the two cannot be confused.
    internal const string PendingByProviderId = "provider/";

    internal static void AddPendingBounce(CustomerProfile p, string channelAndKey)
    {
        var list = p.PendingBounces;
        var at = list.BinarySearch(channelAndKey, StringComparer.Ordinal);
        if (at < 0)
        {
            list.Insert(~at, channelAndKey);
            if (list.Count > MaxPendingBounces)
            {
                list.RemoveAt(0);
            }
        }
    }

    /// <summary>
    /// Suppresses, for each pending bounce whose message the profile now knows (after a merge), the address the message
    /// went to on the bounce's channel — what <see cref="OutcomeProperties.BouncedAddress"/> takes for a known message.
    /// </summary>
    internal static void ResolvePendingBounces(CustomerProfile p)
    {
        if (!p.HasPendingBounces) // no list made for the many profiles with none (called after every event)
        {
            return;
        }

        for (var i = p.PendingBounces.Count - 1; i >= 0; i--)
        {
            var entry = p.PendingBounces[i];
            var byProvider = entry.StartsWith(PendingByProviderId, StringComparison.Ordinal);
            if (byProvider)
            {
                entry = entry[PendingByProviderId.Length..];
            }

            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var (channel, key) = (entry[..colon], entry[(colon + 1)..]);
            if (byProvider)
            {
                // Audit U79: a bounce named by the provider's id is about the message the profile now knows by that id.
                var known = p.Touches.FindIndex(t => string.Equals(t.ProviderId, key, StringComparison.Ordinal));
                if (known < 0)
                {
                    continue;
                }

                key = p.Touches[known].Key;
            }

            // A report that named no channel, heard by a profile that did not know the message, read its channel from
            // the event (web, app…): the message went where its touch says.
            if (OutcomeProperties.MessagingChannel(channel) is null && OutcomeProperties.AddressType(channel) is null
                && Measurement.Touch.IndexOf(p.Touches, key) is var t and >= 0 && p.Touches[t] is { SentTo: not null } sent)
            {
                channel = sent.Channel;
            }

            if (OutcomeProperties.SentTo(p, key, channel) is { } address)
            {
                Suppress(p, channel + ":" + address);
                p.PendingBounces.RemoveAt(i);
            }
        }
    }

    internal static void Suppress(CustomerProfile p, string channelAndAddress)
    {
        if (!p.SuppressedAddresses.Contains(channelAndAddress))
        {
            p.SuppressedAddresses.Add(channelAndAddress);
        }
    }

    public static void AddConflict(CustomerProfile p, IdentityConflict conflict)
    {
        p.ConflictRecords.Add(conflict);
        Trim(p.ConflictRecords, MaxConflicts);
    }

    private static void ApplyOrder(CustomerProfile p, JsonElement props, DateTimeOffset t, string eventId, string? shopCurrency)
    {
        var total = WellKnownProperties.Decimal(props, "total") ?? 0;
        var currency = WellKnownProperties.String(props, "currency")?.ToUpperInvariant();
        var key = WellKnownProperties.OrderId(p, props) is { Length: > 0 } orderId ? WellKnownProperties.OrderKey(orderId) : "event:" + eventId;
        ProfileFacts.ApplyOrder(p, key, total, currency, t, eventId, shopCurrency, OrderLines(props));

        // An order empties the cart as of its first time: later additions stay, earlier ones go.
        ProfileFacts.ClearCartAfterOrders(p);
    }

    private static void Trim<T>(List<T> list, int max)
    {
        if (list.Count > max)
        {
            list.RemoveRange(0, list.Count - max);
        }
    }

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;

    internal static string Format(decimal d) => d.ToString(CultureInfo.InvariantCulture);
}
