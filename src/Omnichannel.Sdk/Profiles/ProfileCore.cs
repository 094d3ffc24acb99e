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
