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

    public static void Apply(CustomerProfile p, CustomerEvent e, int timelineLength)
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

        ApplyContext(p, e.Context, t);
        ApplyTraits(p, e.Traits, t);

        switch (e.Type)
        {
            case EventTypes.OrderPlaced:
                ApplyOrder(p, props, t);
                break;
            case EventTypes.OrderCancelled:
                s.CancelledOrderCount++;
                break;
            case EventTypes.OrderReturned:
                s.ReturnCount++;
                s.ReturnValue += Math.Abs(WellKnownProperties.Decimal(props, "total") ?? 0);
                break;
            case EventTypes.CartItemAdded:
                ApplyCartAdd(p, props, t);
                break;
            case EventTypes.CartItemRemoved:
                ApplyCartRemove(p, props, t);
                break;
            case EventTypes.WishlistItemAdded:
                var wid = WellKnownProperties.String(props, "product_id")!;
                if (!p.WishlistItems.TryGetValue(wid, out var existing) || existing.AddedAt > t)
                {
                    p.WishlistItems[wid] = new WishlistItem(wid, WellKnownProperties.String(props, "name"), t);
                }

                break;
            case EventTypes.WishlistItemRemoved:
                var rid = WellKnownProperties.String(props, "product_id")!;
                if (p.WishlistItems.TryGetValue(rid, out var item) && item.AddedAt <= t)
                {
                    p.WishlistItems.Remove(rid);
                }

                break;
            case EventTypes.NewsletterSubscribed:
            case EventTypes.NewsletterUnsubscribed:
                SetConsent(p, new ConsentRecord(
                    WellKnownProperties.String(props, "channel") ?? Channels.Email,
                    WellKnownProperties.String(props, "topic") ?? "newsletter",
                    e.Type == EventTypes.NewsletterSubscribed,
                    t,
                    WellKnownProperties.String(props, "source") ?? e.Channel));
                break;
            case EventTypes.ConsentChanged:
                SetConsent(p, new ConsentRecord(
                    WellKnownProperties.String(props, "channel")!,
                    WellKnownProperties.String(props, "topic") ?? ConsentRecord.AnyTopic,
                    WellKnownProperties.Bool(props, "granted") ?? false,
                    t,
                    WellKnownProperties.String(props, "source") ?? e.Channel));
                break;
            case EventTypes.MessageUnsubscribed:
                SetConsent(p, new ConsentRecord(
                    WellKnownProperties.String(props, "channel")!,
                    WellKnownProperties.String(props, "topic") ?? ConsentRecord.AnyTopic,
                    false,
                    t,
                    "unsubscribe:" + (WellKnownProperties.String(props, "message_id") ?? e.Id)));
                break;
            case EventTypes.MessageComplained when WellKnownProperties.String(props, "channel") is { } complainedOn:
                // A spam complaint withdraws marketing consent for the whole channel.
                SetConsent(p, new ConsentRecord(complainedOn, ConsentRecord.AnyTopic, false, t, "complaint:" + (WellKnownProperties.String(props, "message_id") ?? e.Id)));
                break;
            case EventTypes.MessageBounced when WellKnownProperties.String(props, "bounce") is "hard"
                && WellKnownProperties.String(props, "channel") is { } bouncedOn && WellKnownProperties.String(props, "address") is { } address:
                // A hard bounce suppresses the address on this profile: it is never used again.
                if (!p.SuppressedAddresses.Contains(bouncedOn + ":" + address))
                {
                    p.SuppressedAddresses.Add(bouncedOn + ":" + address);
                }

                break;
            case EventTypes.PreferencesUpdated:
                if (p.Preferences is null || p.Preferences.UpdatedAt <= t)
                {
                    var channels = props.ValueKind == JsonValueKind.Object && props.TryGetProperty("preferred_channels", out var pc) && pc.ValueKind == JsonValueKind.Array
                        ? pc.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList()
                        : p.Preferences?.PreferredChannels.ToList() ?? [];
                    var max = WellKnownProperties.Decimal(props, "max_messages");
                    var period = props.ValueKind == JsonValueKind.Object && props.TryGetProperty("period", out var pe) ? WellKnownProperties.TryDuration(pe) : null;
                    p.Preferences = new ContactPreferences(channels, max is null ? p.Preferences?.MaxMessages : (int)max, period ?? p.Preferences?.Period, t);
                }

                break;
            case EventTypes.LoyaltyPointsEarned:
                s.LoyaltyPoints += WellKnownProperties.Decimal(props, "points") ?? 0;
                break;
            case EventTypes.LoyaltyPointsRedeemed:
                s.LoyaltyPoints -= WellKnownProperties.Decimal(props, "points") ?? 0;
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
    public static void Merge(CustomerProfile target, CustomerProfile other, MergeRecord record, int timelineLength)
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
            if (!target.TraitValues.TryGetValue(path, out var mine) || tv.At > mine.At)
            {
                target.TraitValues[path] = tv;
            }
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

        s.OrderCount += o.OrderCount;
        s.Currency ??= o.Currency;
        foreach (var (currency, amount) in o.SpentByCurrency)
        {
            s.SpentByCurrency[currency] = s.SpentByCurrency.GetValueOrDefault(currency) + amount;
        }

        // Orders of the other side count in TotalSpent only when they are in this side's currency.
        if (o.Currency is null || o.Currency == s.Currency)
        {
            s.TotalSpent += o.TotalSpent;
            s.OrdersInCurrency += o.OrdersInCurrency;
        }

        s.FirstOrderAt = Min(s.FirstOrderAt, o.FirstOrderAt);
        s.LastOrderAt = Max(s.LastOrderAt, o.LastOrderAt);
        s.CancelledOrderCount += o.CancelledOrderCount;
        s.ReturnCount += o.ReturnCount;
        s.ReturnValue += o.ReturnValue;
        s.LoyaltyPoints += o.LoyaltyPoints;
        s.ReferralsSent += o.ReferralsSent;
        s.ReferralsConverted += o.ReferralsConverted;

        target.CartClearedAt = Max(target.CartClearedAt, other.CartClearedAt);
        foreach (var (product, line) in other.CartLines)
        {
            // The same product on both sides: the line changed last wins (it is the customer's latest intent).
            if (!target.CartLines.TryGetValue(product, out var mine) || line.UpdatedAt > mine.UpdatedAt)
            {
                target.CartLines[product] = line;
            }
        }

        foreach (var (product, line) in target.CartLines.ToList())
        {
            if (target.CartClearedAt is { } cleared && line.UpdatedAt <= cleared)
            {
                target.CartLines.Remove(product);
            }
        }

        foreach (var (product, w) in other.WishlistItems)
        {
            target.WishlistItems.TryAdd(product, w);
        }

        foreach (var c in other.ConsentRecords.Values)
        {
            SetConsent(target, c);
        }

        if (other.Preferences is { } prefs && (target.Preferences is null || prefs.UpdatedAt > target.Preferences.UpdatedAt))
        {
            target.Preferences = prefs;
        }

        if (other.TimeZoneAt is { } tz && (target.TimeZoneAt is null || tz > target.TimeZoneAt))
        {
            target.TimeZone = other.TimeZone;
            target.TimeZoneAt = tz;
        }

        if (other.LocaleAt is { } lo && (target.LocaleAt is null || lo > target.LocaleAt))
        {
            target.Locale = other.Locale;
            target.LocaleAt = lo;
        }

        foreach (var entry in other.TimelineEntries)
        {
            AddTimeline(target, entry, timelineLength);
        }

        // Segments: the longest-standing membership wins; the engine re-evaluates every segment after a merge.
        target.RuleHistory.MergeFrom(other.RuleHistory);
        foreach (var (segment, entered) in other.SegmentMemberships)
        {
            if (!target.SegmentMemberships.TryGetValue(segment, out var mine) || entered < mine)
            {
                target.SegmentMemberships[segment] = entered;
            }
        }

        target.MergeRecords.AddRange(other.MergeRecords);
        target.MergeRecords.Add(record);
        Trim(target.MergeRecords, MaxMerges);
        target.ConflictRecords.AddRange(other.ConflictRecords);
        Trim(target.ConflictRecords, MaxConflicts);
    }

    public static void AddConflict(CustomerProfile p, IdentityConflict conflict)
    {
        p.ConflictRecords.Add(conflict);
        Trim(p.ConflictRecords, MaxConflicts);
    }

    private static void ApplyOrder(CustomerProfile p, JsonElement props, DateTimeOffset t)
    {
        var s = p.Statistics;
        s.OrderCount++;
        var total = WellKnownProperties.Decimal(props, "total") ?? 0;
        var currency = WellKnownProperties.String(props, "currency")?.ToUpperInvariant();
        s.Currency ??= currency;
        if (currency is not null)
        {
            s.SpentByCurrency[currency] = s.SpentByCurrency.GetValueOrDefault(currency) + total;
        }

        if (currency is null || currency == s.Currency)
        {
            s.TotalSpent += total;
            s.OrdersInCurrency++;
        }

        s.FirstOrderAt = Min(s.FirstOrderAt, t);
        s.LastOrderAt = Max(s.LastOrderAt, t);

        // An order empties the cart as of its own time: later additions stay, earlier ones go.
        if (p.CartClearedAt is null || t > p.CartClearedAt)
        {
            p.CartClearedAt = t;
            foreach (var (product, line) in p.CartLines.ToList())
            {
                if (line.UpdatedAt <= t)
                {
                    p.CartLines.Remove(product);
                }
            }
        }
    }

    private static void ApplyCartAdd(CustomerProfile p, JsonElement props, DateTimeOffset t)
    {
        if (p.CartClearedAt is { } cleared && t <= cleared)
        {
            return;
        }

        var product = WellKnownProperties.String(props, "product_id")!;
        var quantity = WellKnownProperties.Decimal(props, "quantity") ?? 1;
        p.CartLines.TryGetValue(product, out var line);
        p.CartLines[product] = new CartLine
        {
            ProductId = product,
            Name = WellKnownProperties.String(props, "name") ?? line?.Name,
            Quantity = (line?.Quantity ?? 0) + quantity,
            UnitPrice = WellKnownProperties.Decimal(props, "price") ?? line?.UnitPrice,
            Currency = WellKnownProperties.String(props, "currency") ?? line?.Currency,
            CartId = WellKnownProperties.String(props, "cart_id") ?? line?.CartId,
            UpdatedAt = line is null || t > line.UpdatedAt ? t : line.UpdatedAt,
        };
    }

    private static void ApplyCartRemove(CustomerProfile p, JsonElement props, DateTimeOffset t)
    {
        var product = WellKnownProperties.String(props, "product_id")!;
        if (!p.CartLines.TryGetValue(product, out var line))
        {
            return;
        }

        var quantity = WellKnownProperties.Decimal(props, "quantity");
        if (quantity is null || quantity >= line.Quantity)
        {
            p.CartLines.Remove(product);
        }
        else
        {
            p.CartLines[product] = line with { Quantity = line.Quantity - quantity.Value, UpdatedAt = t > line.UpdatedAt ? t : line.UpdatedAt };
        }
    }

    private static void ApplyContext(CustomerProfile p, EventContext? c, DateTimeOffset t)
    {
        if (c is null)
        {
            return;
        }

        if (!string.IsNullOrWhiteSpace(c.TimeZone) && (p.TimeZoneAt is null || t >= p.TimeZoneAt))
        {
            p.TimeZone = c.TimeZone;
            p.TimeZoneAt = t;
        }

        if (!string.IsNullOrWhiteSpace(c.Locale) && (p.LocaleAt is null || t >= p.LocaleAt))
        {
            p.Locale = c.Locale;
            p.LocaleAt = t;
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

    private static void ApplyTraits(CustomerProfile p, JsonElement traits, DateTimeOffset t)
    {
        if (traits.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var prop in traits.EnumerateObject())
        {
            SetTrait(p, prop.Name, prop.Value, t);
        }
    }

    internal static void SetTrait(CustomerProfile p, string path, JsonElement value, DateTimeOffset t)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            foreach (var prop in value.EnumerateObject())
            {
                SetTrait(p, path + "." + prop.Name, prop.Value, t);
            }

            return;
        }

        if (p.TraitValues.TryGetValue(path, out var current) && current.At > t)
        {
            return;
        }

        p.TraitValues[path] = new TraitValue(value.ValueKind == JsonValueKind.Null ? null : value.Clone(), t);

        // A leaf replaces an older object at the same path, and the other way round.
        var prefix = path + ".";
        foreach (var key in p.TraitValues.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && p.TraitValues[k].At <= t).ToList())
        {
            p.TraitValues.Remove(key);
        }

        for (var dot = path.LastIndexOf('.'); dot > 0; dot = path.LastIndexOf('.', dot - 1))
        {
            var parent = path[..dot];
            if (p.TraitValues.TryGetValue(parent, out var pv) && pv.At <= t)
            {
                p.TraitValues.Remove(parent);
            }
        }
    }

    private static void SetConsent(CustomerProfile p, ConsentRecord c)
    {
        var key = CustomerProfile.ConsentKey(c.Channel, c.Topic);
        if (!p.ConsentRecords.TryGetValue(key, out var current) || c.At >= current.At)
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

        if (list.Count >= length && list.Count > 0 && entry.Timestamp < list[0].Timestamp)
        {
            return;
        }

        var i = list.Count;
        while (i > 0 && list[i - 1].Timestamp > entry.Timestamp)
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
