using System.Globalization;
using System.Text.Json;

namespace Omnichannel.Sdk;

/// <summary>
/// The functional core of profiles: applies one event, or merges one profile into another. No I/O, no clock reads:
/// every time used comes from the event or is passed in.
/// </summary>
internal static class ProfileCore
{
    private const int MaxConflicts = 50;
    private const int MaxMerges = 100;
    private const int MaxDevices = 20;

    /// <summary>Applies one event. <paramref name="shopCurrency"/> is <see cref="OmnichannelOptions.Currency"/>.</summary>
    public static void Apply(CustomerProfile p, CustomerEvent e, int timelineLength, string? shopCurrency = null)
    {
        var t = e.Timestamp;
        var props = e.Properties;
        var s = p.Statistics;

        s.EventCount++;
        if (s.FirstSeen is null || t < s.FirstSeen)
        {
            s.FirstSeen = t;
        }

        if (s.LastSeen is null || t > s.LastSeen)
        {
            s.LastSeen = t;
        }

        if (!s.LastSeenByChannel.TryGetValue(e.Channel, out var lastOnChannel) || t > lastOnChannel)
        {
            s.LastSeenByChannel[e.Channel] = t;
        }

        ApplyContext(p, e.Context, t, e.Id);
        ApplyTraits(p, e.Traits, t, e.Id);

        switch (e.Type)
        {
            case EventTypes.OrderPlaced:
                ApplyOrder(p, props, t, e.Id, shopCurrency);
                break;
            case EventTypes.OrderCancelled:
                // An order is cancelled once: the same order id again (a back-fill) counts nothing more.
                if (p.CancelledOrders.Add(WellKnownProperties.String(props, "order_id") is { Length: > 0 } cancelledId ? "order:" + cancelledId : "event:" + e.Id))
                {
                    s.CancelledOrderCount++;
                }

                break;
            case EventTypes.OrderReturned:
                ProfileFacts.ApplyReturn(p, ReturnKey(props, e.Id), Math.Abs(WellKnownProperties.Decimal(props, "total") ?? 0), WellKnownProperties.String(props, "currency")?.ToUpperInvariant(), t, e.Id, shopCurrency);
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
                    t,
                    WellKnownProperties.String(props, "source") ?? e.Channel) { EventId = e.Id });
                break;
            case EventTypes.ConsentChanged:
                SetConsent(p, new ConsentRecord(
                    WellKnownProperties.String(props, "channel")!,
                    WellKnownProperties.String(props, "topic") ?? ConsentRecord.AnyTopic,
                    WellKnownProperties.Bool(props, "granted") ?? false,
                    t,
                    WellKnownProperties.String(props, "source") ?? e.Channel) { EventId = e.Id });
                break;
            case EventTypes.MessageUnsubscribed:
                // Without a topic this is "unsubscribe from all": a channel-wide refusal, newer than every topic grant.
                SetConsent(p, new ConsentRecord(
                    WellKnownProperties.String(props, "channel")!,
                    WellKnownProperties.String(props, "topic") ?? ConsentRecord.AnyTopic,
                    false,
                    t,
                    "unsubscribe:" + (WellKnownProperties.String(props, "message_id") ?? e.Id)) { EventId = e.Id });
                break;
            case EventTypes.MessageComplained when WellKnownProperties.String(props, "channel") is { } complainedOn:
                // A spam complaint withdraws marketing consent for the whole channel.
                SetConsent(p, new ConsentRecord(complainedOn, ConsentRecord.AnyTopic, false, t, "complaint:" + (WellKnownProperties.String(props, "message_id") ?? e.Id)) { EventId = e.Id });
                break;
            case EventTypes.MessageBounced when OutcomeProperties.IsHardBounce(props)
                && WellKnownProperties.String(props, "channel") is { } bouncedOn && OutcomeProperties.Address(props, bouncedOn) is { } address:
                // A hard bounce suppresses the address on this profile: it is never used again.
                Suppress(p, bouncedOn + ":" + address);
                break;
            case EventTypes.PreferencesUpdated:
                ApplyPreferences(p, props, t, e.Id);
                break;
            case EventTypes.LoyaltyPointsEarned:
                s.LoyaltyPoints = checked(s.LoyaltyPoints + (WellKnownProperties.Decimal(props, "points") ?? 0));
                break;
            case EventTypes.LoyaltyPointsRedeemed:
                s.LoyaltyPoints = checked(s.LoyaltyPoints - (WellKnownProperties.Decimal(props, "points") ?? 0));
                break;
            case EventTypes.ReferralSent:
                s.ReferralsSent++;
                break;
            case EventTypes.ReferralConverted:
                s.ReferralsConverted++;
                break;
        }

        AddTimeline(p, new TimelineEntry(e.Id, e.Type, e.Channel, t, Summarize(e)), timelineLength);
    }

    /// <summary>Folds <paramref name="other"/> into <paramref name="target"/>: nothing of either side is lost.</summary>
    public static void Merge(CustomerProfile target, CustomerProfile other, MergeRecord record, int timelineLength, string? shopCurrency = null)
    {
        if (other.JourneyData is { } journeys)
        {
            (target.JourneyData ??= new()).Absorb(journeys);
        }

        foreach (var id in other.IdentifierList)
        {
            if (!target.Has(id.Identifier))
            {
                target.IdentifierList.Add(id);
            }
        }

        foreach (var (path, tv) in other.TraitValues)
        {
            PutTrait(target, path, tv);
        }

        var s = target.Statistics;
        var o = other.Statistics;
        s.EventCount += o.EventCount;
        s.FirstSeen = Min(s.FirstSeen, o.FirstSeen);
        s.LastSeen = Max(s.LastSeen, o.LastSeen);
        foreach (var (channel, at) in o.LastSeenByChannel)
        {
            if (!s.LastSeenByChannel.TryGetValue(channel, out var mine) || at > mine)
            {
                s.LastSeenByChannel[channel] = at;
            }
        }

        foreach (var d in o.Devices)
        {
            TouchDevice(s, d.DeviceType, d.Os, d.LastSeen);
        }

        foreach (var (key, order) in other.Orders)
        {
            ProfileFacts.PutOrder(target, key, order.Total, order.Currency, order.At, order.FirstEventId);
            ProfileFacts.PutOrder(target, key, order.Total, order.Currency, order.UpdatedAt, order.EventId);
        }

        foreach (var cancelled in other.CancelledOrders)
        {
            if (target.CancelledOrders.Add(cancelled))
            {
                s.CancelledOrderCount++;
            }
        }

        foreach (var (key, r) in other.Returns)
        {
            ProfileFacts.PutFact(target.Returns, key, r.Total, r.Currency, r.At, r.FirstEventId);
            ProfileFacts.PutFact(target.Returns, key, r.Total, r.Currency, r.UpdatedAt, r.EventId);
        }

        ProfileFacts.RecomputeReturns(target);
        s.LoyaltyPoints = checked(s.LoyaltyPoints + o.LoyaltyPoints);
        s.ReferralsSent += o.ReferralsSent;
        s.ReferralsConverted += o.ReferralsConverted;
        ProfileFacts.RecomputeOrders(target, shopCurrency);

        // Cart and wishlist: the changes of both sides replayed in event-time order, as if one profile had seen them all.
        if (other.CartClearedAt is { } otherCleared)
        {
            ProfileFacts.ClearCart(target, otherCleared);
        }

        foreach (var (product, ops) in other.CartOps)
        {
            foreach (var op in ops)
            {
                ProfileFacts.PutCartOp(target, product, op);
            }
        }

        foreach (var (product, ops) in other.WishlistOps)
        {
            foreach (var op in ops)
            {
                ProfileFacts.PutWishlistOp(target, product, op);
            }
        }

        foreach (var c in other.ConsentRecords.Values)
        {
            SetConsent(target, c);
        }

        foreach (var (field, fact) in other.PreferenceFacts)
        {
            PutPreference(target, field, fact);
        }

        if (other.TimeZoneAt is { } tz && (target.TimeZoneAt is not { } mineTz || Stamp.Newer(tz, other.TimeZoneEventId, mineTz, target.TimeZoneEventId)))
        {
            target.TimeZone = other.TimeZone;
            target.TimeZoneAt = tz;
            target.TimeZoneEventId = other.TimeZoneEventId;
        }

        if (other.LocaleAt is { } lo && (target.LocaleAt is not { } mineLo || Stamp.Newer(lo, other.LocaleEventId, mineLo, target.LocaleEventId)))
        {
            target.Locale = other.Locale;
            target.LocaleAt = lo;
            target.LocaleEventId = other.LocaleEventId;
        }

        foreach (var entry in other.TimelineEntries)
        {
            AddTimeline(target, entry, timelineLength);
        }

        // Delivery state belongs to the person: suppressed addresses, the keys of messages already accepted (so a retry
        // is still a duplicate) and the log that frequency caps count.
        foreach (var address in other.SuppressedAddresses)
        {
            Suppress(target, address);
        }

        foreach (var key in other.MessageKeys)
        {
            if (!target.MessageKeys.Contains(key))
            {
                target.MessageKeys.Add(key);
            }
        }

        target.MessageLog.AddRange(other.MessageLog);
        Measurement.MeasurementRecorder.Merge(target, other); // touches are the person's
        target.MessageLog.Sort((a, b) => a.At.CompareTo(b.At));

        // Segments: the longest-standing membership wins; the engine re-evaluates every segment after a merge.
        target.RuleHistory.MergeFrom(other.RuleHistory);
        foreach (var (segment, entered) in other.SegmentMemberships)
        {
            if (!target.SegmentMemberships.TryGetValue(segment, out var mine) || entered < mine)
            {
                target.SegmentMemberships[segment] = entered;
            }
        }

        foreach (var (segment, at) in other.SegmentChecks)
        {
            if (!target.SegmentChecks.TryGetValue(segment, out var mine) || at < mine)
            {
                target.SegmentChecks[segment] = at;
            }
        }

        target.MergeRecords.AddRange(other.MergeRecords);
        target.MergeRecords.Add(record);
        Trim(target.MergeRecords, MaxMerges);
        target.ConflictRecords.AddRange(other.ConflictRecords);
        Trim(target.ConflictRecords, MaxConflicts);
    }

    // A return is one per return_id; without one, a re-sent copy (same order, amount and currency) is the same return.
    private static string ReturnKey(JsonElement props, string eventId) =>
        WellKnownProperties.String(props, "return_id") is { Length: > 0 } returnId ? "return:" + returnId
        : WellKnownProperties.String(props, "order_id") is { Length: > 0 } orderId
            ? $"order:{orderId}:{Format(Math.Abs(WellKnownProperties.Decimal(props, "total") ?? 0))}:{WellKnownProperties.String(props, "currency")?.ToUpperInvariant()}"
            : "event:" + eventId;

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
        var key = WellKnownProperties.String(props, "order_id") is { Length: > 0 } orderId ? "order:" + orderId : "event:" + eventId;
        ProfileFacts.ApplyOrder(p, key, total, currency, t, eventId, shopCurrency);

        // An order empties the cart as of its own time: later additions stay, earlier ones go.
        ProfileFacts.ClearCart(p, t);
    }

    private static void ApplyPreferences(CustomerProfile p, JsonElement props, DateTimeOffset t, string eventId)
    {
        if (props.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (props.TryGetProperty("preferred_channels", out var pc) && pc.ValueKind == JsonValueKind.Array)
        {
            var channels = string.Join(",", pc.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!));
            PutPreference(p, "channels", new PreferenceFact(channels, null, null, t, eventId));
        }

        var max = WellKnownProperties.Decimal(props, "max_messages");
        var period = props.TryGetProperty("period", out var pe) ? WellKnownProperties.TryDuration(pe) : null;
        if (max is not null || period is not null)
        {
            // The limit is one decision: a count per period; a part left out keeps its earlier value.
            var known = p.PreferenceFacts.GetValueOrDefault("limit");
            PutPreference(p, "limit", new PreferenceFact(null, max is { } m ? (int)Math.Min(m, int.MaxValue) : known?.MaxMessages, period ?? known?.Period, t, eventId));
        }
    }

    private static void PutPreference(CustomerProfile p, string field, PreferenceFact fact)
    {
        if (p.PreferenceFacts.TryGetValue(field, out var known) && !Stamp.Newer(fact.At, fact.EventId, known.At, known.EventId))
        {
            return;
        }

        p.PreferenceFacts[field] = fact;
        var channels = p.PreferenceFacts.GetValueOrDefault("channels");
        var limit = p.PreferenceFacts.GetValueOrDefault("limit");
        IReadOnlyList<string> list = channels?.Channels is { Length: > 0 } c ? c.Split(',') : [];
        var updated = channels is null ? limit!.At : limit is null || channels.At > limit.At ? channels.At : limit.At;
        p.Preferences = new ContactPreferences(list, limit?.MaxMessages, limit?.Period, updated);
    }

    private static void ApplyContext(CustomerProfile p, EventContext? c, DateTimeOffset t, string eventId)
    {
        if (c is null)
        {
            return;
        }

        if (!string.IsNullOrWhiteSpace(c.TimeZone) && (p.TimeZoneAt is not { } tzAt || Stamp.Newer(t, eventId, tzAt, p.TimeZoneEventId)))
        {
            p.TimeZone = c.TimeZone;
            p.TimeZoneAt = t;
            p.TimeZoneEventId = eventId;
        }

        if (!string.IsNullOrWhiteSpace(c.Locale) && (p.LocaleAt is not { } loAt || Stamp.Newer(t, eventId, loAt, p.LocaleEventId)))
        {
            p.Locale = c.Locale;
            p.LocaleAt = t;
            p.LocaleEventId = eventId;
        }

        if (c.DeviceType is not null || c.Os is not null)
        {
            TouchDevice(p.Statistics, c.DeviceType, c.Os, t);
        }
    }

    private static void TouchDevice(ProfileStatistics s, string? deviceType, string? os, DateTimeOffset t)
    {
        var i = s.Devices.FindIndex(d => d.DeviceType == deviceType && d.Os == os);
        if (i < 0)
        {
            s.Devices.Add(new DeviceSeen(deviceType, os, t));
            if (s.Devices.Count > MaxDevices)
            {
                s.Devices.Remove(s.Devices.MinBy(d => d.LastSeen)!);
            }
        }
        else if (t > s.Devices[i].LastSeen)
        {
            s.Devices[i] = s.Devices[i] with { LastSeen = t };
        }
    }

    private static void ApplyTraits(CustomerProfile p, JsonElement traits, DateTimeOffset t, string eventId)
    {
        if (traits.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var prop in traits.EnumerateObject())
        {
            SetTrait(p, prop.Name, prop.Value, t, eventId);
        }
    }

    /// <summary>
    /// Sets a trait (an object sets each of its leaves). Last writer wins by event time at every path, and a leaf and an
    /// object at the same path replace each other: the newer one wins whichever arrives first.
    /// </summary>
    internal static void SetTrait(CustomerProfile p, string path, JsonElement value, DateTimeOffset t, string? eventId = null)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            foreach (var prop in value.EnumerateObject())
            {
                SetTrait(p, path + "." + prop.Name, prop.Value, t, eventId);
            }

            return;
        }

        PutTrait(p, path, new TraitValue(value.ValueKind == JsonValueKind.Null ? null : value.Clone(), t) { EventId = eventId });
    }

    // The state is a function of the newest write per path: a write hides older writes below it (a leaf replaced an
    // object) and older leaves above it (an object replaced a leaf). Hidden leaves above stay as empty stamps, so a
    // still older write below them that arrives late stays hidden.
    private static void PutTrait(CustomerProfile p, string path, TraitValue tv)
    {
        // A write of the SDK itself (a journey's profile update: no event id) wins a tie, as the later processed.
        if (p.TraitValues.TryGetValue(path, out var current)
            && (tv.EventId is null ? tv.At < current.At : !Stamp.Newer(tv.At, tv.EventId, current.At, current.EventId)))
        {
            return;
        }

        for (var dot = path.LastIndexOf('.'); dot > 0; dot = path.LastIndexOf('.', dot - 1))
        {
            if (p.TraitValues.TryGetValue(path[..dot], out var above) && Stamp.Newer(above.At, above.EventId, tv.At, tv.EventId))
            {
                return; // a newer leaf (or removal) above replaced this whole object
            }
        }

        var prefix = path + ".";
        var newerBelow = false;
        List<string>? hidden = null;
        foreach (var (key, below) in p.TraitValues)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            if (Stamp.Newer(below.At, below.EventId, tv.At, tv.EventId))
            {
                newerBelow = true;
            }
            else
            {
                (hidden ??= []).Add(key);
            }
        }

        foreach (var key in hidden ?? [])
        {
            p.TraitValues.Remove(key);
        }

        // A newer write below turned this path into an object: keep only the stamp.
        p.TraitValues[path] = newerBelow ? tv with { Value = null } : tv;

        for (var dot = path.LastIndexOf('.'); dot > 0; dot = path.LastIndexOf('.', dot - 1))
        {
            var parent = path[..dot];
            if (p.TraitValues.TryGetValue(parent, out var pv) && pv.Value is not null)
            {
                p.TraitValues[parent] = pv with { Value = null };
            }
        }
    }

    private static void SetConsent(CustomerProfile p, ConsentRecord c)
    {
        var key = CustomerProfile.ConsentKey(c.Channel, c.Topic);
        if (!p.ConsentRecords.TryGetValue(key, out var current) || Stamp.Newer(c.At, c.EventId ?? c.Source, current.At, current.EventId ?? current.Source))
        {
            p.ConsentRecords[key] = c;
        }
    }

    internal static void AddTimeline(CustomerProfile p, TimelineEntry entry, int length)
    {
        var list = p.TimelineEntries;
        if (list.Exists(x => x.EventId == entry.EventId))
        {
            return;
        }

        static bool After(TimelineEntry a, TimelineEntry b) => Stamp.Newer(a.Timestamp, a.EventId, b.Timestamp, b.EventId);
        if (list.Count >= length && list.Count > 0 && After(list[0], entry))
        {
            return;
        }

        var i = list.Count;
        while (i > 0 && After(list[i - 1], entry))
        {
            i--;
        }

        list.Insert(i, entry);
        if (list.Count > length)
        {
            list.RemoveRange(0, list.Count - length);
        }
    }

    private static string? Summarize(CustomerEvent e)
    {
        var p = e.Properties;
        string? Get(string name) => WellKnownProperties.String(p, name);
        return e.Type switch
        {
            EventTypes.OrderPlaced or EventTypes.OrderReturned =>
                Join($"order {Get("order_id")}", Get("total") is { } total ? $"{total} {Get("currency")}".Trim() : null),
            EventTypes.CartItemAdded or EventTypes.CartItemRemoved or EventTypes.ProductViewed or EventTypes.WishlistItemAdded or EventTypes.WishlistItemRemoved =>
                Join(Get("name") ?? Get("product_id"), Get("quantity") is { } q ? "x" + q : null),
            EventTypes.ProductSearched => Get("query") is { } query ? $"\"{query}\"" : null,
            EventTypes.ConsentChanged => $"{Get("channel")}/{Get("topic") ?? "*"} {(WellKnownProperties.Bool(p, "granted") == true ? "granted" : "denied")}",
            EventTypes.SupportTicketOpened or EventTypes.SupportTicketResolved => Join($"ticket {Get("ticket_id")}", Get("subject")),
            EventTypes.LoyaltyPointsEarned or EventTypes.LoyaltyPointsRedeemed => $"{Get("points")} points",
            _ when e.Type.StartsWith("order.", StringComparison.Ordinal) => Get("order_id") is { } o ? $"order {o}" : null,
            _ when e.Type.StartsWith("message.", StringComparison.Ordinal) => Join(Get("channel"), Get("reason")),
            _ => null,
        };
    }

    private static string? Join(params string?[] parts)
    {
        var s = string.Join(", ", parts.Where(x => !string.IsNullOrWhiteSpace(x)));
        return s.Length == 0 ? null : s;
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
