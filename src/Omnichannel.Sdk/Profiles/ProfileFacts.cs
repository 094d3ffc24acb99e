namespace Omnichannel.Sdk;

/// <summary>One order as the profile knows it, by order id (or by event id when the order has none).</summary>
/// <param name="Total">The total, newest event's value.</param>
/// <param name="Currency">ISO 4217 code (upper case), newest event's value; <see langword="null"/> when none was given.</param>
/// <param name="At">When the order was placed: the earliest event time seen for it.</param>
/// <param name="UpdatedAt">Event time of the newest event about it.</param>
/// <param name="EventId">The newest event about it.</param>
/// <param name="FirstEventId">The event that gave <paramref name="At"/> (ties between orders placed at the same instant).</param>
/// <param name="Order">A return's order (<c>order:{order_id}</c>), whose currency a return naming none is in; null for orders.</param>
internal sealed record OrderFact(decimal Total, string? Currency, DateTimeOffset At, DateTimeOffset UpdatedAt, string EventId, string FirstEventId, string? Order = null);

/// <summary>
/// One cart or wishlist change, kept until an order (cart) or a later full removal makes it irrelevant, so a change
/// that arrives late is replayed in event-time order instead of being applied on top of newer ones.
/// </summary>
internal sealed record ItemOp(
    string EventId,
    DateTimeOffset At,
    bool Remove,
    decimal? Quantity,
    string? Name = null,
    decimal? Price = null,
    string? Currency = null,
    string? CartId = null);

/// <summary>A contact-preference field with the stamp of the event that set it.</summary>
internal sealed record PreferenceFact(string? Channels, int? MaxMessages, TimeSpan? Period, DateTimeOffset At, string EventId);

/// <summary>Rebuilds the derived parts of a profile from its facts: order statistics, cart lines, wishlist.</summary>
internal static partial class ProfileFacts
{
    /// <summary>
    /// Applies one order event: a new order is added to the statistics in O(1); an order the profile already knows (the
    /// same order id) is an update, and the statistics are rebuilt from the orders.
    /// </summary>
    public static void ApplyOrder(CustomerProfile p, string key, decimal total, string? currency, DateTimeOffset t, string eventId, string? shopCurrency)
    {
        if (p.Orders.ContainsKey(key))
        {
            PutOrder(p, key, total, currency, t, eventId);
            RecomputeOrders(p, shopCurrency);
            ReturnsFollow(p, key, shopCurrency);
            return;
        }

        PutOrder(p, key, total, currency, t, eventId);
        var s = p.Statistics;
        if (currency is not null)
        {
            s.SpentByCurrency[currency] = checked(s.SpentByCurrency.GetValueOrDefault(currency) + total);
            s.OrdersByCurrency[currency] = s.OrdersByCurrency.GetValueOrDefault(currency) + 1;
            if (s.HeadlineAt is not { } h || Stamp.Newer(h, s.HeadlineEventId, t, eventId))
            {
                s.HeadlineAt = t;
                s.HeadlineEventId = eventId;
                s.HeadlineCurrency = currency;
            }
        }
        else
        {
            s.SpentWithoutCurrency = checked(s.SpentWithoutCurrency + total);
            s.OrdersWithoutCurrency++;
        }

        s.OrderCount = p.Orders.Count;
        s.FirstOrderAt = s.FirstOrderAt is { } f && f <= t ? f : t;
        s.LastOrderAt = s.LastOrderAt is { } l && l >= t ? l : t;
        Headline(s, shopCurrency);
        ReturnsFollow(p, key, shopCurrency);
    }

    // Returns that named no currency and came before their order (or before it named one) are in its currency now.
    private static void ReturnsFollow(CustomerProfile p, string key, string? shopCurrency)
    {
        if (p.Statistics.ReturnCount == 0) // most profiles: no returns, nothing to look through (nor a collection to make)
        {
            return;
        }

        foreach (var r in p.Returns.Values)
        {
            if (r.Currency is null && r.Order == key)
            {
                RecomputeReturns(p);
                Headline(p.Statistics, shopCurrency);
                return;
            }
        }
    }

    // A return that names no currency is in its order's (solidusio/solidus#1043, woocommerce/woocommerce#8287: a refund
    // has its order's currency), when the profile knows the order and it named one; else in the headline's.
    private static string? CurrencyOf(CustomerProfile p, OrderFact r) =>
        r.Currency ?? (r.Order is { } order && p.Orders.TryGetValue(order, out var o) ? o.Currency : null);

    /// <summary>Adds or updates an order (the same order id is the same order).</summary>
    public static void PutOrder(CustomerProfile p, string key, decimal total, string? currency, DateTimeOffset t, string eventId) =>
        PutFact(p.Orders, key, total, currency, t, eventId);

    /// <summary>Adds or updates a fact: the newest event's values, the earliest event's time.</summary>
    public static void PutFact(Dictionary<string, OrderFact> facts, string key, decimal total, string? currency, DateTimeOffset t, string eventId, string? order = null)
    {
        if (facts.TryGetValue(key, out var known))
        {
            var newer = Stamp.Newer(t, eventId, known.UpdatedAt, known.EventId);
            var earlier = Stamp.Newer(known.At, known.FirstEventId, t, eventId);
            facts[key] = known with
            {
                Total = newer ? total : known.Total,
                Currency = newer ? currency : known.Currency,
                UpdatedAt = newer ? t : known.UpdatedAt,
                EventId = newer ? eventId : known.EventId,
                At = earlier ? t : known.At,
                FirstEventId = earlier ? eventId : known.FirstEventId,
                Order = newer ? order : known.Order,
            };
        }
        else
        {
            facts[key] = new OrderFact(total, currency, t, t, eventId, eventId, order);
        }
    }

    /// <summary>
    /// Order statistics from the orders: counts and sums per currency, and the headline currency — the shop's
    /// currency when configured, else the currency of the earliest order by event time (ties: event id).
    /// </summary>
    public static void RecomputeOrders(CustomerProfile p, string? shopCurrency)
    {
        var s = p.Statistics;
        s.SpentByCurrency.Clear();
        s.OrdersByCurrency.Clear();
        decimal unknownSpent = 0;
        var unknownCount = 0;
        DateTimeOffset? first = null, last = null;
        OrderFact? earliestWithCurrency = null;
        foreach (var o in p.Orders.Values)
        {
            if (o.Currency is { } c)
            {
                s.SpentByCurrency[c] = checked(s.SpentByCurrency.GetValueOrDefault(c) + o.Total);
                s.OrdersByCurrency[c] = s.OrdersByCurrency.GetValueOrDefault(c) + 1;
                if (earliestWithCurrency is null || Stamp.Newer(earliestWithCurrency.At, earliestWithCurrency.FirstEventId, o.At, o.FirstEventId))
                {
                    earliestWithCurrency = o;
                }
            }
            else
            {
                unknownSpent = checked(unknownSpent + o.Total);
                unknownCount++;
            }

            first = first is null || o.At < first ? o.At : first;
            last = last is null || o.At > last ? o.At : last;
        }

        s.OrderCount = p.Orders.Count;
        s.FirstOrderAt = first;
        s.LastOrderAt = last;
        s.SpentWithoutCurrency = unknownSpent;
        s.OrdersWithoutCurrency = unknownCount;
        s.HeadlineAt = earliestWithCurrency?.At;
        s.HeadlineEventId = earliestWithCurrency?.FirstEventId;
        s.HeadlineCurrency = earliestWithCurrency?.Currency;
        Headline(s, shopCurrency);
    }

    /// <summary>Adds a return once per key (see <c>ProfileCore.ReturnKey</c>); the same key again is the same return.</summary>
    public static void ApplyReturn(CustomerProfile p, string key, decimal refund, string? currency, string? order, DateTimeOffset t, string eventId, string? shopCurrency)
    {
        if (p.Returns.ContainsKey(key))
        {
            PutFact(p.Returns, key, refund, currency, t, eventId, order);
            RecomputeReturns(p);
            Headline(p.Statistics, shopCurrency);
            return;
        }

        var fact = new OrderFact(refund, currency, t, t, eventId, eventId, order);
        p.Returns[key] = fact;
        var s = p.Statistics;
        s.ReturnCount++;
        if (CurrencyOf(p, fact) is { } c)
        {
            s.ReturnValueByCurrency[c] = checked(s.ReturnValueByCurrency.GetValueOrDefault(c) + refund);
        }
        else
        {
            s.ReturnValueWithoutCurrency = checked(s.ReturnValueWithoutCurrency + refund);
        }

        Headline(s, shopCurrency);
    }

    /// <summary>Return statistics from the returns (the headline is set by <see cref="Headline"/>).</summary>
    public static void RecomputeReturns(CustomerProfile p)
    {
        var s = p.Statistics;
        s.ReturnValueByCurrency.Clear();
        s.ReturnValueWithoutCurrency = 0;
        foreach (var r in p.Returns.Values)
        {
            if (CurrencyOf(p, r) is { } c)
            {
                s.ReturnValueByCurrency[c] = checked(s.ReturnValueByCurrency.GetValueOrDefault(c) + r.Total);
            }
            else
            {
                s.ReturnValueWithoutCurrency = checked(s.ReturnValueWithoutCurrency + r.Total);
            }
        }

        s.ReturnCount = p.Returns.Count;
    }

    /// <summary>The headline figures from the per-currency ones (orders that named no currency count in the headline).</summary>
    public static void Headline(ProfileStatistics s, string? shopCurrency)
    {
        s.Currency = shopCurrency ?? s.HeadlineCurrency;
        var headline = s.Currency is { } h ? s.SpentByCurrency.GetValueOrDefault(h) : 0;
        var headlineCount = s.Currency is { } hc ? s.OrdersByCurrency.GetValueOrDefault(hc) : 0;
        s.TotalSpent = checked(headline + s.SpentWithoutCurrency);
        s.OrdersInCurrency = headlineCount + s.OrdersWithoutCurrency;
        s.ReturnValue = checked((s.Currency is { } rc ? s.ReturnValueByCurrency.GetValueOrDefault(rc) : 0) + s.ReturnValueWithoutCurrency);
    }
}
