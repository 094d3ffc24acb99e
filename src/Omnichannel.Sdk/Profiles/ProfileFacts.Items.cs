namespace Omnichannel.Sdk;

// The cart and the wishlist: changes kept per product in event-time order, folded past a bound, and the lines rebuilt from them.
internal static partial class ProfileFacts
{
    /// <summary>
    /// How long cart changes at or before <see cref="CustomerProfile.CartClearedAt"/> are kept: an order's original event
    /// arriving after its update moves the clear earlier, and the lines added in between come back.
    /// </summary>
    internal static readonly TimeSpan ClearedCartRetention = TimeSpan.FromDays(30);

    /// <summary>Records a cart change and rebuilds that product's line.</summary>
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
        // The statistics keep the latest order's first time through every change to the orders (ApplyOrder adds it,
        // RecomputeOrders and merges recompute it), so an order costs the same whatever the customer ordered before;
        // counts that disagree are walked. A new order on statistics that did not count her orders (a document stored
        // without them) recomputes them first (ApplyOrder), or they would give this order's time as the latest.
        var s = p.Statistics;
        var at = p.Orders.Count == 0 ? null
            : s.LastOrderAt is { } last && s.OrderCount == p.Orders.Count ? last
            : LatestOrderAt(p);
        if (at == p.CartClearedAt)
        {
            return;
        }

        var before = p.CartClearedAt;
        p.CartClearedAt = at;
        if (p.CartOpsIfAny is not { Count: > 0 } all)
        {
            return;
        }

        // A clear moved later (a new order) counts a suffix of each product's changes, and a suffix never makes a line where
        // the whole made none (each step's quantity stays at most the whole's, since every quantity admitted is positive:
        // the validator refuses quantity <= 0, and a fold keeps a line's own): only the lines she has can change, so only
        // they are rebuilt; her other products' changes are only trimmed past the retention, as before. An order costs what
        // her cart holds, not every product she ever put in it. A clear moved earlier, or undone, brings lines back: all rebuilt.
        var later = before is { } b && at is { } a && a >= b;
        var rebuild = t_products ?? [];
        t_products = null;
        try
        {
            foreach (var (product, ops) in all)
            {
                // In event-time order, so what the retention drops is a prefix (none: one comparison).
                var dropped = 0;
                if (at is { } cleared)
                {
                    var limit = cleared - ClearedCartRetention;
                    while (dropped < ops.Count && ops[dropped].At <= limit)
                    {
                        dropped++;
                    }

                    ops.RemoveRange(0, dropped);
                }

                if (!later || ops.Count == 0 || p.CartLines.ContainsKey(product))
                {
                    rebuild.Add(product); // not while walking the dictionary: a rebuild may remove the product's changes
                }
            }

            foreach (var product in rebuild)
            {
                RebuildCartLine(p, product);
            }
        }
        finally
        {
            rebuild.Clear();
            if (rebuild.Capacity <= 1024)
            {
                t_products = rebuild;
            }
        }
    }

    [ThreadStatic]
    private static List<string>? t_products;

    /// <summary>The latest first time of her orders, walked (see <see cref="ClearCartAfterOrders"/>).</summary>
    internal static DateTimeOffset? LatestOrderAt(CustomerProfile p)
    {
        DateTimeOffset? at = null;
        foreach (var order in p.Orders.Values)
        {
            if (at is not { } a || order.At > a)
            {
                at = order.At;
            }
        }

        return at;
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

        foreach (var o in ops) // not List.Exists: a lambda capturing op is a closure made on every call
        {
            if (o.EventId == op.EventId)
            {
                return false;
            }
        }

        var i = ops.Count;
        while (i > 0 && After(ops[i - 1], op))
        {
            i--;
        }

        ops.Insert(i, op);
        return true;
    }

    // Event-time order; at the same instant a removal follows an addition, then event ids. Audit U70 (lunarphp/lunar#2427,
    // same-second activity in an undefined order): by event id alone, an add "e-9" and its removal "e-10" in one second
    // replayed as removal then add, so the removed product stayed in her cart and the abandoned-cart email named it.
    // One cannot remove what was not added; the tie is settled so in any arrival order.
    private static bool After(ItemOp a, ItemOp b) =>
        a.At.UtcTicks != b.At.UtcTicks || a.Remove == b.Remove ? Stamp.Newer(a.At, a.EventId, b.At, b.EventId) : a.Remove;

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
