namespace Omnichannel.Sdk;

/// <summary>
/// Event-time stamps: (event time, event id). Every last-writer-wins decision of the profile compares stamps, so equal
/// timestamps are settled the same way whatever order the events arrive in.
/// </summary>
internal static class Stamp
{
    /// <summary>Positive when (a, aid) is newer than (b, bid); zero only for the same event.</summary>
    public static int Compare(DateTimeOffset a, string? aid, DateTimeOffset b, string? bid)
    {
        var c = a.UtcTicks.CompareTo(b.UtcTicks);
        return c != 0 ? c : string.CompareOrdinal(aid ?? string.Empty, bid ?? string.Empty);
    }

    public static bool Newer(DateTimeOffset a, string? aid, DateTimeOffset b, string? bid) => Compare(a, aid, b, bid) > 0;

    /// <summary>
    /// Whether consent decision <paramref name="a"/> stands over <paramref name="b"/>: the later one; at the same instant
    /// a refusal (fail-safe: an opt-out and an opt-in sent together leave her opted out), then the higher event id.
    /// </summary>
    public static bool Newer(ConsentRecord a, ConsentRecord b)
    {
        var c = a.At.UtcTicks.CompareTo(b.At.UtcTicks);
        if (c == 0 && a.Granted != b.Granted)
        {
            return !a.Granted;
        }

        return c != 0 ? c > 0 : string.CompareOrdinal(a.EventId ?? a.Source ?? string.Empty, b.EventId ?? b.Source ?? string.Empty) > 0;
    }
}

/// <summary>One order as the profile knows it, by order id (or by event id when the order has none).</summary>
/// <param name="Total">The total, newest event's value.</param>
/// <param name="Currency">ISO 4217 code (upper case), newest event's value; <see langword="null"/> when none was given.</param>
/// <param name="At">When the order was placed: the earliest event time seen for it.</param>
/// <param name="UpdatedAt">Event time of the newest event about it.</param>
/// <param name="EventId">The newest event about it.</param>
/// <param name="FirstEventId">The event that gave <paramref name="At"/> (ties between orders placed at the same instant).</param>
internal sealed record OrderFact(decimal Total, string? Currency, DateTimeOffset At, DateTimeOffset UpdatedAt, string EventId, string FirstEventId);

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
internal static class ProfileFacts
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
    }

    /// <summary>Adds or updates an order (the same order id is the same order).</summary>
    public static void PutOrder(CustomerProfile p, string key, decimal total, string? currency, DateTimeOffset t, string eventId) =>
        PutFact(p.Orders, key, total, currency, t, eventId);

    /// <summary>Adds or updates a fact: the newest event's values, the earliest event's time.</summary>
    public static void PutFact(Dictionary<string, OrderFact> facts, string key, decimal total, string? currency, DateTimeOffset t, string eventId)
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
            };
        }
        else
        {
            facts[key] = new OrderFact(total, currency, t, t, eventId, eventId);
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
    public static void ApplyReturn(CustomerProfile p, string key, decimal refund, string? currency, DateTimeOffset t, string eventId, string? shopCurrency)
    {
        if (p.Returns.ContainsKey(key))
        {
            PutFact(p.Returns, key, refund, currency, t, eventId);
            RecomputeReturns(p);
            Headline(p.Statistics, shopCurrency);
            return;
        }

        p.Returns[key] = new OrderFact(refund, currency, t, t, eventId, eventId);
        var s = p.Statistics;
        s.ReturnCount++;
        if (currency is not null)
        {
            s.ReturnValueByCurrency[currency] = checked(s.ReturnValueByCurrency.GetValueOrDefault(currency) + refund);
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
            if (r.Currency is { } c)
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

    /// <summary>Records a cart change and rebuilds that product's line.</summary>
    /// <summary>
    /// How long cart changes at or before <see cref="CustomerProfile.CartClearedAt"/> are kept: an order's original event
    /// arriving after its update moves the clear earlier, and the lines added in between come back.
    /// </summary>
    internal static readonly TimeSpan ClearedCartRetention = TimeSpan.FromDays(30);

    public static void PutCartOp(CustomerProfile p, string product, ItemOp op)
    {
        if (p.CartClearedAt is { } cleared && op.At <= cleared - ClearedCartRetention)
        {
            return; // long emptied by an order
        }

        if (Admit(p.CartOps, p.CartLines, product, op) && Add(p.CartOps, product, op))
        {
            FoldCartOps(p, product);
            RebuildCartLine(p, product);
        }
    }

    /// <summary>
    /// Most cart changes kept per product (audit U25). Past it, the older half of the changes since the cart was last
    /// emptied is folded into one change giving the line they made: a product added 20,000 times (a bot, a "+" held down)
    /// kept every change, and each addition replayed them all (20,000 additions: 11 s, the last ones 1 ms each, and a
    /// profile document growing by a change each). A change arriving late older than a folded one is applied after it
    /// (and not at all when the folded ones left no line: the fold is then a full removal).
    /// </summary>
    internal const int MaxCartOpsPerProduct = 100;

    private static void FoldCartOps(CustomerProfile p, string product)
    {
        var ops = p.CartOps[product];
        if (ops.Count <= MaxCartOpsPerProduct)
        {
            return;
        }

        // Changes up to the last clear count for nothing (they are kept while an earlier order may move the clear), so
        // the fold starts after them, from an empty line: as RebuildCartLine replays them.
        var from = 0;
        if (p.CartClearedAt is { } cleared)
        {
            while (from < ops.Count && ops[from].At <= cleared)
            {
                from++;
            }
        }

        var count = ops.Count - from - (MaxCartOpsPerProduct / 2);
        if (count < 2)
        {
            return;
        }

        CartLine? line = null;
        for (var i = from; i < from + count; i++)
        {
            line = Replay(line, product, ops[i]);
        }

        var last = ops[from + count - 1];
        var folded = line is null
            ? new ItemOp(last.EventId, last.At, Remove: true, Quantity: null)
            : new ItemOp(last.EventId, last.At, Remove: false, line.Quantity, line.Name, line.UnitPrice, line.Currency, line.CartId);
        ops.RemoveRange(from, count);
        ops.Insert(from, folded);
    }

    // One change applied to a line (null: none): RebuildCartLine's step.
    private static CartLine? Replay(CartLine? line, string product, ItemOp op)
    {
        if (op.Remove)
        {
            return line is null ? null
                : op.Quantity is not { } q || q >= line.Quantity ? null
                : line with { Quantity = line.Quantity - q, UpdatedAt = op.At };
        }

        return new CartLine
        {
            ProductId = product,
            Name = op.Name ?? line?.Name,
            Quantity = checked((line?.Quantity ?? 0) + (op.Quantity ?? 1)),
            UnitPrice = op.Price ?? line?.UnitPrice,
            Currency = op.Currency ?? line?.Currency,
            CartId = op.CartId ?? line?.CartId,
            UpdatedAt = op.At,
        };
    }

    /// <summary>
    /// Orders empty the cart as of the latest order's first time: an update of an order (its id sent again, later) is not
    /// a checkout, and moves nothing. Changes up to that instant no longer count; they are kept for
    /// <see cref="ClearedCartRetention"/>, as the clear moves earlier when an order's earlier event arrives late.
    /// </summary>
    public static void ClearCartAfterOrders(CustomerProfile p)
    {
        DateTimeOffset? at = null;
        foreach (var order in p.Orders.Values)
        {
            if (at is not { } a || order.At > a)
            {
                at = order.At;
            }
        }

        if (at == p.CartClearedAt)
        {
            return;
        }

        p.CartClearedAt = at;
        foreach (var product in p.CartOps.Keys.ToList())
        {
            if (at is { } cleared)
            {
                p.CartOps[product].RemoveAll(o => o.At <= cleared - ClearedCartRetention);
            }

            RebuildCartLine(p, product);
        }
    }

    public static void RebuildCartLine(CustomerProfile p, string product)
    {
        if (!p.CartOps.TryGetValue(product, out var ops))
        {
            p.CartLines.Remove(product);
            return;
        }

        CartLine? line = null;
        foreach (var op in ops)
        {
            if (p.CartClearedAt is { } cleared && op.At <= cleared)
            {
                continue; // before the cart was last emptied (kept while an earlier order may still arrive)
            }

            line = Replay(line, product, op);
        }

        if (line is null)
        {
            p.CartLines.Remove(product);
        }
        else
        {
            p.CartLines[product] = line;
        }

        Compact(p.CartOps, product);
    }

    /// <summary>Records a wishlist change and rebuilds that entry.</summary>
    public static void PutWishlistOp(CustomerProfile p, string product, ItemOp op)
    {
        if (Admit(p.WishlistOps, p.WishlistItems, product, op) && Add(p.WishlistOps, product, op))
        {
            FoldWishlistOps(p, product);
            RebuildWishlistItem(p, product);
        }
    }

    /// <summary>
    /// Most wishlist changes kept per product, as for the cart (<see cref="MaxCartOpsPerProduct"/>): a product wished
    /// 20,000 times (a bot, a heart button held down) kept every change, and each one checked and replayed them all. Past
    /// it, the older half of the changes since the last removal is folded into one add dated by the first of them and
    /// named by the newest name among them, which is what they made. A late change older than a folded one is applied
    /// after it (its name, if it has one, may then stand over a newer folded one).
    /// </summary>
    internal const int MaxWishlistOpsPerProduct = 100;

    private static void FoldWishlistOps(CustomerProfile p, string product)
    {
        var ops = p.WishlistOps[product];
        if (ops.Count <= MaxWishlistOpsPerProduct)
        {
            return;
        }

        // Only adds follow the last removal (Compact drops what came before it, every removal is a full one).
        var from = ops.FindLastIndex(o => o.Remove) + 1;
        var count = ops.Count - from - (MaxWishlistOpsPerProduct / 2);
        if (count < 2)
        {
            return;
        }

        string? name = null;
        for (var i = from; i < from + count; i++)
        {
            name = ops[i].Name ?? name;
        }

        var first = ops[from];
        ops.RemoveRange(from, count);
        ops.Insert(from, first with { Name = name });
    }

    public static void RebuildWishlistItem(CustomerProfile p, string product)
    {
        // Dated by the first add since the last removal; named by the newest add that names it, as a cart line is (audit
        // U34: the first add's name stayed, so an add without a name, or before a rename, hid the product's name).
        WishlistItem? item = null;
        foreach (var op in p.WishlistOps.GetValueOrDefault(product) ?? [])
        {
            item = op.Remove ? null
                : item is null ? new WishlistItem(product, op.Name, op.At)
                : op.Name is null ? item : item with { Name = op.Name };
        }

        if (item is null)
        {
            p.WishlistItems.Remove(product);
        }
        else
        {
            p.WishlistItems[product] = item;
        }

        Compact(p.WishlistOps, product);
    }

    /// <summary>
    /// Most products a profile keeps changes for, in the cart and in the wishlist each. Each product's changes are bounded
    /// (<see cref="MaxCartOpsPerProduct"/>), but products were not: a client adding (or adding and removing) thousands of
    /// products made every commit write them all. Real carts stay far below (Shopify's holds at most 500 lines).
    /// </summary>
    internal const int MaxItemProducts = 1_000;

    // Whether a change of this product is kept: always for a product with changes kept; for a new one while fewer than
    // MaxItemProducts are, else in place of the product, among those not held (removed, or emptied by an order), whose
    // last change is the oldest: its changes only outvoted older ones arriving late. A new product past the limit when
    // all are held is not kept (a removal of it changes nothing anyway).
    private static bool Admit<T>(Dictionary<string, List<ItemOp>> all, Dictionary<string, T> held, string product, ItemOp op)
    {
        if (all.Count < MaxItemProducts || all.ContainsKey(product))
        {
            return true;
        }

        if (op.Remove)
        {
            return false;
        }

        string? oldest = null;
        var at = DateTimeOffset.MaxValue;
        foreach (var (key, ops) in all)
        {
            var last = ops.Count == 0 ? DateTimeOffset.MinValue : ops[^1].At;
            if (last < at && !held.ContainsKey(key))
            {
                (oldest, at) = (key, last);
            }
        }

        if (oldest is null)
        {
            return false;
        }

        all.Remove(oldest);
        return true;
    }

    // Inserts in stamp order; false when the event was already recorded.
    private static bool Add(Dictionary<string, List<ItemOp>> all, string product, ItemOp op)
    {
        if (!all.TryGetValue(product, out var ops))
        {
            all[product] = ops = [];
        }

        if (ops.Exists(o => o.EventId == op.EventId))
        {
            return false;
        }

        var i = ops.Count;
        while (i > 0 && Stamp.Newer(ops[i - 1].At, ops[i - 1].EventId, op.At, op.EventId))
        {
            i--;
        }

        ops.Insert(i, op);
        return true;
    }

    // A full removal makes everything before it irrelevant; it stays itself, to outvote older changes arriving late.
    private static void Compact(Dictionary<string, List<ItemOp>> all, string product)
    {
        if (!all.TryGetValue(product, out var ops))
        {
            return;
        }

        var barrier = ops.FindLastIndex(o => o.Remove && o.Quantity is null);
        if (barrier > 0)
        {
            ops.RemoveRange(0, barrier);
        }

        if (ops.Count == 0)
        {
            all.Remove(product);
        }
    }
}
