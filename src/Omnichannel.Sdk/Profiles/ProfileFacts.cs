namespace Omnichannel.Sdk;

/// <summary>One order as the profile knows it, by order id (or by event id when the order has none).</summary>
/// <param name="Total">The total, newest event's value.</param>
/// <param name="Currency">ISO 4217 code (upper case), newest event's value; <see langword="null"/> when none was given.</param>
/// <param name="At">When the order was placed: the earliest event time seen for it.</param>
/// <param name="UpdatedAt">Event time of the newest event about it.</param>
/// <param name="EventId">The newest event about it.</param>
/// <param name="FirstEventId">The event that gave <paramref name="At"/> (ties between orders placed at the same instant).</param>
/// <param name="Order">A return's order (<c>order:{order_id}</c>), whose currency a return naming none is in; null for orders.</param>
/// <param name="Lines">
/// An order's products (newest event's), by product id: what a refund naming products and no amount is priced from. A
/// return's products when it named no amount (its value is then theirs, see <see cref="ProfileFacts.ReturnAmounts"/>;
/// <paramref name="Total"/> is 0). Null when none were sent.
/// </param>
[System.Text.Json.Serialization.JsonConverter(typeof(OrderFactConverter))]
internal sealed record OrderFact(decimal Total, string? Currency, DateTimeOffset At, DateTimeOffset UpdatedAt, string EventId, string FirstEventId, string? Order = null, Dictionary<string, OrderLine>? Lines = null);

/// <summary>One product of an order or of a refund by products.</summary>
/// <param name="Quantity">Units: as sent (its absolute value), 1 when none was.</param>
/// <param name="Price">Unit price as sent (absolute value); null when none was.</param>
/// <param name="Sku">Its <c>sku</c> when it also had a <c>product_id</c> (its key), so a refund naming either finds it.</param>
internal sealed record OrderLine(decimal Quantity, decimal? Price, string? Sku = null);

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
    /// same order id) is an update, also O(1) when its time and currency stay and its total's sum is exact (see
    /// <see cref="UpdatedInPlace"/>), and otherwise the statistics are rebuilt from the orders.
    /// </summary>
    public static void ApplyOrder(CustomerProfile p, string key, decimal total, string? currency, DateTimeOffset t, string eventId, string? shopCurrency, Dictionary<string, OrderLine>? lines = null)
    {
        var s = p.Statistics;
        var before = p.Orders.Version;
        if (p.Orders.TryGetValue(key, out var known))
        {
            PutOrder(p, key, total, currency, t, eventId, lines);
            if (!UpdatedInPlace(p, known, p.Orders[key], before, shopCurrency))
            {
                RecomputeOrders(p, shopCurrency);
            }

            ReturnsFollow(p, key, shopCurrency);
            return;
        }

        // Statistics that did not count every order she had (a document stored without them) are no base for an O(1)
        // step: the latest order's time would be this one's, and the cart's clear reads it (review of session 56).
        if (!Counted(p))
        {
            PutOrder(p, key, total, currency, t, eventId, lines);
            RecomputeOrders(p, shopCurrency);
            ReturnsFollow(p, key, shopCurrency);
            return;
        }

        PutOrder(p, key, total, currency, t, eventId, lines);
        p.OrderMagnitude = p.OrderMagnitude is { } m && ReferenceEquals(m.Of, p.Orders) && m.Version == before && total.Scale <= 8
            && Math.Abs(total) < MagnitudeBound && m.Magnitude + Math.Abs(total) is var moved && moved < MagnitudeBound
            ? (p.Orders, p.Orders.Version, moved) : null;
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

    // Whether the statistics counted every order she has: a document stored without them is no base for an O(1) step.
    private static bool Counted(CustomerProfile p) =>
        p.Statistics.OrderCount == p.Orders.Count && (p.Orders.Count == 0 || p.Statistics.LastOrderAt is not null);

    /// <summary>
    /// Moves the statistics from <paramref name="known"/> to <paramref name="updated"/> (the same order after an event about
    /// it) without a walk of her orders, when that gives what <see cref="RecomputeOrders"/> would, byte for byte: the
    /// order's time, first event and currency unchanged (so the first, last and headline orders are), and its sum exact.
    /// <see cref="decimal"/> addition keeps the larger scale of its operands (10.50 + 1 is 11.50), so taking a total of
    /// more decimals out of a sum could leave digits a new sum would not have: the update is done in place only when the
    /// old total has no more decimals than the new one, and every operand is small enough (under 10^18, at most 8
    /// decimals) that no sum is rounded. False, changing nothing, otherwise.
    /// </summary>
    private static bool UpdatedInPlace(CustomerProfile p, OrderFact known, OrderFact updated, long before, string? shopCurrency)
    {
        if (ReferenceEquals(known, updated))
        {
            return Counted(p); // an older event about it changed nothing
        }

        var s = p.Statistics;
        if (!Counted(p) || known.At != updated.At || !string.Equals(known.FirstEventId, updated.FirstEventId, StringComparison.Ordinal)
            || !string.Equals(known.Currency, updated.Currency, StringComparison.Ordinal)
            || known.Total.Scale > updated.Total.Scale || !Exact(known.Total) || !Exact(updated.Total)
            || !Small(p, known, updated, before))
        {
            return false;
        }

        if (known.Currency is { } c)
        {
            var sum = s.SpentByCurrency.GetValueOrDefault(c);
            if (!Exact(sum) || !s.SpentByCurrency.ContainsKey(c))
            {
                return false;
            }

            s.SpentByCurrency[c] = sum - known.Total + updated.Total;
        }
        else
        {
            if (!Exact(s.SpentWithoutCurrency))
            {
                return false;
            }

            s.SpentWithoutCurrency = s.SpentWithoutCurrency - known.Total + updated.Total;
        }

        Headline(s, shopCurrency);
        return true;

        // 10^18 with 8 decimals is 26 digits: sums of three such are exact in a decimal's 28.
        static bool Exact(decimal d) => d.Scale <= 8 && d < 1_000_000_000_000_000_000m && d > -1_000_000_000_000_000_000m;
    }

    // Review of session 57: the bound on the sum of her orders' absolute totals under which no sum a walk of her orders
    // makes is rounded (10^20 with 8 decimals is 10^28, inside a decimal's 96 bits whatever order they are added in).
    private const decimal MagnitudeBound = 100_000_000_000_000_000_000m;

    /// <summary>
    /// Whether every total of hers has at most 8 decimals and their absolute values add up to under
    /// <see cref="MagnitudeBound"/>, <paramref name="known"/> having become <paramref name="updated"/> (review of session
    /// 57: the checks of the two totals and the currency's sum let a huge order and its negative hide a rounded partial sum
    /// of the walk, 5e27 + 2.05 + -5e27 being 2.0, so moving 2.05 to 2.15 in place gave 2.10 where a walk gives 2.2). One
    /// walk after a load or any other change to her orders; then moved with each step.
    /// </summary>
    private static bool Small(CustomerProfile p, OrderFact known, OrderFact updated, long before)
    {
        decimal magnitude = 0;
        if (p.OrderMagnitude is { } m && ReferenceEquals(m.Of, p.Orders) && m.Version == before)
        {
            magnitude = m.Magnitude - Math.Abs(known.Total) + Math.Abs(updated.Total);
        }
        else
        {
            foreach (var o in p.Orders.Values)
            {
                if (o.Total.Scale > 8 || Math.Abs(o.Total) >= MagnitudeBound || (magnitude += Math.Abs(o.Total)) >= MagnitudeBound)
                {
                    p.OrderMagnitude = null;
                    return false;
                }
            }
        }

        p.OrderMagnitude = magnitude < MagnitudeBound ? (p.Orders, p.Orders.Version, magnitude) : null;
        return p.OrderMagnitude is not null;
    }

    // Returns of an order that came before it (or before it named its currency or products) follow it: one that named no
    // currency is in its currency now, one by products is priced from it, and one of an order that named no currency
    // counts as the order does (audit U48).
    private static void ReturnsFollow(CustomerProfile p, string key, string? shopCurrency)
    {
        if (p.Statistics.ReturnCount == 0) // most profiles: no returns, nothing to look through (nor a collection to make)
        {
            return;
        }

        foreach (var r in p.Returns.Values)
        {
            if (r.Order == key)
            {
                RecomputeReturns(p, shopCurrency);
                Headline(p.Statistics, shopCurrency);
                return;
            }
        }
    }

    // A return that names no currency is in its order's (solidusio/solidus#1043, woocommerce/woocommerce#8287: a refund
    // has its order's currency), when the profile knows the order and it named one; else in the headline's. A return of
    // a known order that named no currency, without a shop currency, counts as its order does, whatever it names (audit
    // U48): nothing says the order was in another currency, and measurement takes it off that order too.
    internal static string? CurrencyOf(CustomerProfile p, OrderFact r, string? shopCurrency) =>
        r.Order is { } order && p.Orders.TryGetValue(order, out var o)
            ? (o.Currency is null && shopCurrency is null ? null : r.Currency ?? o.Currency)
            : r.Currency;

    /// <summary>Adds or updates an order (the same order id is the same order).</summary>
    public static void PutOrder(CustomerProfile p, string key, decimal total, string? currency, DateTimeOffset t, string eventId, Dictionary<string, OrderLine>? lines = null) =>
        PutFact(p.Orders, key, total, currency, t, eventId, lines: lines);

    /// <summary>Adds or updates a fact: the newest event's values, the earliest event's time.</summary>
    public static void PutFact(WrittenOnceDictionary<OrderFact> facts, string key, decimal total, string? currency, DateTimeOffset t, string eventId, string? order = null, Dictionary<string, OrderLine>? lines = null)
    {
        if (facts.TryGetValue(key, out var known))
        {
            var newer = Stamp.Newer(t, eventId, known.UpdatedAt, known.EventId);
            var earlier = Stamp.Newer(known.At, known.FirstEventId, t, eventId);
            if (!newer && !earlier)
            {
                return; // an event between the first and the newest: nothing changes (nor is written again)
            }

            facts[key] = known with
            {
                Total = newer ? total : known.Total,
                Currency = newer ? currency : known.Currency,
                UpdatedAt = newer ? t : known.UpdatedAt,
                EventId = newer ? eventId : known.EventId,
                At = earlier ? t : known.At,
                FirstEventId = earlier ? eventId : known.FirstEventId,
                Order = newer ? order : known.Order,
                Lines = newer ? lines : known.Lines,
            };
        }
        else
        {
            facts[key] = new OrderFact(total, currency, t, t, eventId, eventId, order, lines);
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

    /// <summary>
    /// The headline figures from the per-currency ones (orders that named no currency count in the headline). While no
    /// order named a currency, the earliest return that did gives it (audit U96: a credit note that was her only money
    /// event was no part of her return value).
    /// </summary>
    public static void Headline(ProfileStatistics s, string? shopCurrency)
    {
        s.Currency = shopCurrency ?? s.HeadlineCurrency ?? s.ReturnHeadlineCurrency;
        var headline = s.Currency is { } h ? s.SpentByCurrency.GetValueOrDefault(h) : 0;
        var headlineCount = s.Currency is { } hc ? s.OrdersByCurrency.GetValueOrDefault(hc) : 0;
        s.TotalSpent = checked(headline + s.SpentWithoutCurrency);
        s.OrdersInCurrency = headlineCount + s.OrdersWithoutCurrency;
        s.ReturnValue = checked((s.Currency is { } rc ? s.ReturnValueByCurrency.GetValueOrDefault(rc) : 0) + s.ReturnValueWithoutCurrency);
    }
}
