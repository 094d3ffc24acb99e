using System.Text.Json;

namespace Omnichannel.Sdk;

/// <summary>Reads and checks the properties that the engine interprets for well-known event types.</summary>
internal static class WellKnownProperties
{
    /// <summary>
    /// The largest amount (money: <c>total</c>, <c>price</c>; loyalty <c>points</c>) an event may carry, either sign:
    /// 10¹⁵. Sums of amounts over a profile's whole life then stay far inside <see cref="decimal"/>'s range.
    /// </summary>
    public const decimal MaxAmount = 1_000_000_000_000_000m;

    /// <summary>The largest <c>quantity</c> of a cart line an event may carry: 1,000,000.</summary>
    public const decimal MaxQuantity = 1_000_000m;

    /// <summary>The largest <c>max_messages</c> of contact preferences: 10,000.</summary>
    public const int MaxMessages = 10_000;

    /// <summary>The longest <c>period</c> of contact preferences: 3,660 days (about ten years).</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(3660);

    public static void Validate(string type, JsonElement p, List<ValidationError> errors)
    {
        switch (type)
        {
            case EventTypes.CartItemAdded:
                RequireString(p, "product_id", errors);
                Number(p, "quantity", errors, positive: true, max: MaxQuantity);
                Number(p, "price", errors);
                break;
            case EventTypes.CartItemRemoved:
                RequireString(p, "product_id", errors);
                Number(p, "quantity", errors, positive: true, max: MaxQuantity);
                break;
            case EventTypes.WishlistItemAdded:
            case EventTypes.WishlistItemRemoved:
                RequireString(p, "product_id", errors);
                break;
            case EventTypes.OrderPlaced:
            case EventTypes.OrderReturned:
            case EventTypes.CheckoutStarted:
                Number(p, "total", errors);
                break;
            case EventTypes.LoyaltyPointsEarned:
            case EventTypes.LoyaltyPointsRedeemed:
                // A null is no amount (it was taken as 0: the event accepted and no points counted; audit U104).
                if (!p.TryGetProperty("points", out var points) || points.ValueKind == JsonValueKind.Null)
                {
                    errors.Add(new("properties.points", "is required"));
                }

                Number(p, "points", errors);
                break;
            case EventTypes.ConsentChanged:
                RequireString(p, "channel", errors);
                if (!p.TryGetProperty("granted", out var g) || g.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    errors.Add(new("properties.granted", "is required and must be true or false"));
                }

                break;
            case EventTypes.MessageUnsubscribed:
                RequireString(p, "channel", errors);
                break;
            case EventTypes.MessageReplied:
                // Only whether it is there: the text itself is never echoed in an error (it is what she wrote).
                RequireString(p, "channel", errors);
                RequireString(p, "text", errors);
                break;
            case EventTypes.PreferencesUpdated:
                if (p.TryGetProperty("period", out var period) && period.ValueKind != JsonValueKind.Null && TryDuration(period) is null)
                {
                    errors.Add(new("properties.period", $"must be an ISO 8601 duration from PT1S to {(int)MaxPeriod.TotalDays} days, such as P7D"));
                }

                Number(p, "max_messages", errors, positive: true, max: MaxMessages, integer: true);
                PreferredChannels(p, errors);
                break;
        }
    }

    public static string? String(JsonElement p, string name) =>
        p.ValueKind == JsonValueKind.Object && p.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => ReferenceEquals(name, "order_id") || ReferenceEquals(name, "currency") ? Remembered(v, name) : v.GetString(),
                JsonValueKind.Number => NumericKey.Text(v),
                _ => null,
            }
            : null;

    // The last order id and currency read on this thread: one order event's are read by the profile, its segments,
    // journeys and measurement in one unit (the id about six times), and each read made a new string. Neither is personal
    // data, which is why no other property is kept (an erased person's values must not stay in memory).
    [ThreadStatic]
    private static string? t_lastOrderId;

    [ThreadStatic]
    private static string? t_lastCurrency;

    private static string Remembered(JsonElement v, string name)
    {
        var orderId = ReferenceEquals(name, "order_id");
        var last = orderId ? t_lastOrderId : t_lastCurrency;
        if (last is not null && v.ValueEquals(last))
        {
            return last;
        }

        var text = v.GetString()!;
        if (orderId)
        {
            t_lastOrderId = text;
        }
        else
        {
            t_lastCurrency = text;
        }

        return text;
    }

    [ThreadStatic]
    private static string? t_keyedOrderId;

    [ThreadStatic]
    private static string? t_orderKey;

    /// <summary>
    /// A profile's key for the order with this id (<c>"order:" + id</c>, <see cref="CustomerProfile.Orders"/>): the last one
    /// made on this thread is given again for the same id, as the unit of one order event asks for it several times.
    /// </summary>
    public static string OrderKey(string orderId)
    {
        if (ReferenceEquals(orderId, t_keyedOrderId) && t_orderKey is { } key)
        {
            return key;
        }

        key = "order:" + orderId;
        t_keyedOrderId = orderId;
        t_orderKey = key;
        return key;
    }

    // The Segment Spec's names for an order's id and amount, which only the tracking API translates: an order tracked in C#
    // (a test host's TrackAsync, a server's own code) with them and without the SDK's names counts 0 or as an order of
    // its own, so they are told back in TrackResult.Ignored rather than passed over silently.
    private static readonly (string Name, string Read)[] SpecOrderNames = [("orderId", "order_id"), ("revenue", "total"), ("value", "total")];

    /// <summary>
    /// Segment Spec property names of an order event sent without the SDK's own, each as a <see cref="ValidationError"/> at
    /// its path: <c>revenue</c> or <c>value</c> without <c>total</c> (order placed or returned, checkout started),
    /// <c>orderId</c> without <c>order_id</c> (order placed, returned or cancelled); empty for every other case.
    /// </summary>
    public static IReadOnlyList<ValidationError> SpecNamesNotRead(string? type, JsonElement p)
    {
        if (type is not (EventTypes.OrderPlaced or EventTypes.OrderReturned or EventTypes.CheckoutStarted or EventTypes.OrderCancelled)
            || p.ValueKind != JsonValueKind.Object)
        {
            return [];
        }

        List<ValidationError>? found = null;
        foreach (var (name, read) in SpecOrderNames)
        {
            // A cancellation has no amount, and a checkout is no order: each is checked only for what it reads.
            if ((read == "total" && type == EventTypes.OrderCancelled) || (read == "order_id" && type == EventTypes.CheckoutStarted) || !p.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null
                || (p.TryGetProperty(read, out var own) && own.ValueKind != JsonValueKind.Null))
            {
                continue;
            }

            // "value" is read only when "revenue" is absent too, as the tracking API reads them; one line for the amount.
            if (name == "value" && found?.Exists(f => f.Field == "properties.revenue") == true)
            {
                continue;
            }

            (found ??= []).Add(new ValidationError("properties." + name, read == "total"
                ? $"is the Segment Spec's name, not read as the amount here: the SDK reads properties.total; send total (the tracking API maps revenue and value to total)"
                : $"is the Segment Spec's name, not read as the order id here: the SDK reads properties.order_id (without it each event is an order of its own); send order_id (the tracking API maps orderId to order_id)"));
        }

        return found ?? (IReadOnlyList<ValidationError>)[];
    }

    /// <summary>
    /// The event's <c>order_id</c> as <paramref name="profile"/> knows the order: its text (<see cref="String"/>), except a
    /// number the profile holds under the JSON text it was sent as and not under its one text (<see cref="NumericKey"/>):
    /// a document stored before numeric ids had one text keeps order 1001.0 as "1001.0", and the client that sent it so
    /// sends it so again (an update, a retry): that is the same order, not a second one.
    /// </summary>
    public static string? OrderId(CustomerProfile profile, JsonElement p)
    {
        var id = String(p, "order_id");
        if (id is null || profile.Orders.Count == 0 || !p.TryGetProperty("order_id", out var v) || v.ValueKind != JsonValueKind.Number
            || System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(v).IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0)
        {
            return id; // the usual id: a string, or an integer as JSON writes it (its one text)
        }

        var raw = v.GetRawText();
        return raw != id && !profile.Orders.ContainsKey("order:" + id) && profile.Orders.ContainsKey("order:" + raw) ? raw : id;
    }

    public static decimal? Decimal(JsonElement p, string name)
    {
        if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty(name, out var v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetDecimal(out var d) => d,
            JsonValueKind.String when NumberText.TryParseDecimal(v.GetString(), out var d) => d,
            _ => null,
        };
    }

    public static bool? Bool(JsonElement p, string name) =>
        p.ValueKind == JsonValueKind.Object && p.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : null;

    public static TimeSpan? TryDuration(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        TimeSpan d;
        try
        {
            d = System.Xml.XmlConvert.ToTimeSpan(v.GetString()!);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidOperationException)
        {
            // Audit U52: XML Schema durations have no weeks, so a preference centre's "weekly" (P1W, ISO 8601 as segment
            // windows read it) was refused. Weeks are 7 days; months and years count 30 and 365 as XML Schema's do.
            if (!Segments.IsoDuration.TryParse(v.GetString(), out var iso, out _))
            {
                return null; // not a duration, beyond TimeSpan, or not well-formed text
            }

            d = TimeSpan.FromDays((iso.Years * 365d) + (iso.Months * 30d) + iso.Days) + iso.Time;
        }

        return d >= TimeSpan.FromSeconds(1) && d <= MaxPeriod ? d : null;
    }

    /// <summary>
    /// A complaint and a hard bounce stop messages, so each must say what it stops: a complaint its channel
    /// (<c>properties.channel</c>, the event's channel, or the <c>message_id</c> of a message sent through the SDK); a
    /// hard bounce its address (<c>properties.address</c>, an identifier of the channel's address type, or such a
    /// <c>message_id</c>). Accepted without it, either did nothing and the next message went out.
    /// </summary>
    public static void ValidateOutcome(CustomerEvent e, JsonElement p, IdentityOptions identity, Delivery.DeliverySetup? delivery, List<ValidationError> errors)
    {
        if (e.Type is not (EventTypes.MessageComplained or EventTypes.MessageBounced))
        {
            return; // read for every event: the others need none of what follows
        }

        var channel = String(p, "channel") ?? OutcomeProperties.MessagingChannel(e.Channel, identity, delivery);
        // Audit U77: the provider's id of a message the SDK handed over (provider_message_id, what message.sent carries)
        // places the report as its key does; one the profile does not know places nothing, as an unknown key.
        var messageId = String(p, "message_id") ?? String(p, "provider_message_id");
        switch (e.Type)
        {
            case EventTypes.MessageComplained when channel is null && messageId is null:
                errors.Add(new("properties.channel", "is required: the channel the complaint is about (or the event's channel, or the message_id or provider_message_id of a message sent through the SDK)"));
                break;
            case EventTypes.MessageBounced when OutcomeProperties.IsHardBounce(p) && messageId is null && String(p, "address") is null
                && (channel is null || OutcomeProperties.AddressType(channel, identity) is not { } type || !HasType(e.Identifiers, type)):
                errors.Add(new("properties.address", "is required for a hard bounce: the address that bounced (or an identifier of that type on the event, or the message_id or provider_message_id of a message sent through the SDK)"));
                break;
        }
    }

    private static bool HasType(IReadOnlyList<Identifier>? identifiers, string type)
    {
        for (var i = 0; identifiers is not null && i < identifiers.Count; i++)
        {
            if (identifiers[i].Type == type)
            {
                return true;
            }
        }

        return false;
    }

    // Audit U52: a list of channel names, or one text of them ("sms", "sms,email", as a form posts it); anything else
    // (a number, an object, an element that is not text) was accepted and ignored, so her choice silently did nothing.
    private static void PreferredChannels(JsonElement p, List<ValidationError> errors)
    {
        if (!p.TryGetProperty("preferred_channels", out var v) || v.ValueKind is JsonValueKind.Null or JsonValueKind.String)
        {
            return;
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            errors.Add(new("properties.preferred_channels", "must be a list of channel names, such as [\"sms\", \"email\"]"));
            return;
        }

        var i = 0;
        foreach (var item in v.EnumerateArray())
        {
            // A null item is a gap (a form's unticked box), skipped as before; only a value that is no name is refused.
            if (item.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                errors.Add(new($"properties.preferred_channels[{i}]", "must be a channel name, such as \"sms\""));
                return;
            }

            i++;
        }
    }

    /// <summary>
    /// The channels of <c>preferred_channels</c> in order, trimmed and in lower case, without repeats: a list of names, or
    /// one text of names separated by commas; null when it is neither.
    /// </summary>
    public static IReadOnlyList<string>? PreferredChannelNames(JsonElement v)
    {
        IEnumerable<string> texts = v.ValueKind switch
        {
            JsonValueKind.String => [v.GetString()!],
            JsonValueKind.Array => v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!),
            _ => [],
        };
        return v.ValueKind is JsonValueKind.String or JsonValueKind.Array
            ? [.. texts.SelectMany(t => t.Split(',')).Select(x => x.Trim().ToLowerInvariant()).Where(x => x.Length > 0).Distinct(StringComparer.Ordinal)]
            : null;
    }

    private static void RequireString(JsonElement p, string name, List<ValidationError> errors)
    {
        if (string.IsNullOrWhiteSpace(String(p, name)))
        {
            errors.Add(new($"properties.{name}", "is required"));
        }
    }

    private static void Number(JsonElement p, string name, List<ValidationError> errors, bool positive = false, decimal max = MaxAmount, bool integer = false)
    {
        if (!p.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        var d = Decimal(p, name);
        var min = positive ? 0 : -max;
        if (d is null)
        {
            errors.Add(new($"properties.{name}", v.ValueKind == JsonValueKind.Number
                ? $"is {Short(v.GetRawText())}, out of range; expected a number from {min} to {max}"
                : $"must be a number, not {v.ValueKind.ToString().ToLowerInvariant()}"));
        }
        else if (positive && d <= 0)
        {
            errors.Add(new($"properties.{name}", "must be greater than zero"));
        }
        else if (d < min || d > max)
        {
            errors.Add(new($"properties.{name}", $"is {Short(ProfileCore.Format(d.Value))}, out of range; expected a number from {min} to {max}"));
        }
        else if (integer && d != decimal.Truncate(d.Value))
        {
            errors.Add(new($"properties.{name}", "must be a whole number"));
        }
    }

    private static string Short(string s) => TextCut.Prefix(s, 40);
}
