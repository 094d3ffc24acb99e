namespace Omnichannel.Sdk;

// Returns: each counted once, valued in its order's currency or from its products, and the return value kept per currency.
internal static partial class ProfileFacts
{
    /// <summary>Adds a return once per key (see <c>ProfileCore.ReturnKey</c>); the same key again is the same return.</summary>
    public static void ApplyReturn(CustomerProfile p, string key, decimal refund, string? currency, string? order, DateTimeOffset t, string eventId, string? shopCurrency, Dictionary<string, OrderLine>? lines = null)
    {
        // Recomputed whole: a return by products is priced against its order's other returns (returns are few).
        PutFact(p.Returns, key, refund, currency, t, eventId, order, lines);
        RecomputeReturns(p, shopCurrency);
        Headline(p.Statistics, shopCurrency);
    }

    /// <summary>Return statistics from the returns (the headline is set by <see cref="Headline"/>).</summary>
    public static void RecomputeReturns(CustomerProfile p, string? shopCurrency)
    {
        var s = p.Statistics;
        s.ReturnValueByCurrency.Clear();
        s.ReturnValueWithoutCurrency = 0;
        s.ReturnCount = p.Returns.Count;
        s.ReturnHeadlineCurrency = null;
        OrderFact? earliest = null;
        var byProducts = ReturnAmounts(p, null, shopCurrency);
        foreach (var (key, r) in p.Returns)
        {
            var amount = byProducts is not null && byProducts.TryGetValue(key, out var priced) ? priced : r.Total;
            if (CurrencyOf(p, r, shopCurrency) is { } c)
            {
                s.ReturnValueByCurrency[c] = checked(s.ReturnValueByCurrency.GetValueOrDefault(c) + amount);
                if (earliest is null || Stamp.Newer(earliest.At, earliest.FirstEventId, r.At, r.FirstEventId))
                {
                    earliest = r;
                    s.ReturnHeadlineCurrency = c;
                }
            }
            else
            {
                s.ReturnValueWithoutCurrency = checked(s.ReturnValueWithoutCurrency + amount);
            }
        }
    }

    /// <summary>
    /// Audit U98: a document stored before audit U96 has no <see cref="ProfileStatistics.ReturnHeadlineCurrency"/>; a
    /// profile whose returns named a currency while no order (nor a shop currency) did then read <c>ReturnValue</c> 0 until
    /// her next return or merge recomputed it, and a new order naming no currency (the O(1) path) did not. Such a document
    /// is the only one with returns in a currency and no headline currency at all, so it is recomputed as it is read
    /// (with no shop currency: it had none when it was written, or its headline would be the shop's).
    /// </summary>
    internal static void UpgradeReturnHeadline(CustomerProfile p)
    {
        var s = p.Statistics;
        if (s.Currency is null && s.ReturnHeadlineCurrency is null && s.ReturnValueByCurrency.Count > 0)
        {
            RecomputeReturns(p, null);
            Headline(s, null);
        }
    }

    /// <summary>
    /// The value of each return by products (that named no amount), of the order <paramref name="order"/> or of all:
    /// each product's quantity at the price the refund names for it or, naming none, at its order's price for it (0 when
    /// neither is known: the order has not come yet, or did not list it). Never more than what the order's earlier returns
    /// in the same currency (by event time, then event id) left of its total; of an order not known yet, as priced. Null
    /// when there is none. Profile and measurement both read it, so they agree in any arrival order.
    /// </summary>
    internal static Dictionary<string, decimal>? ReturnAmounts(CustomerProfile p, string? order, string? shopCurrency)
    {
        Dictionary<string, decimal>? amounts = null;
        if (p.Statistics.ReturnCount == 0)
        {
            return null; // most profiles: the collection is not even made
        }

        foreach (var (key, r) in p.Returns)
        {
            if (r.Lines is null || (order is not null && r.Order != order) || (amounts?.ContainsKey(key) ?? false))
            {
                continue;
            }

            if (r.Order is not { } ofOrder || !p.Orders.TryGetValue(ofOrder, out var o))
            {
                (amounts ??= new(StringComparer.Ordinal))[key] = Priced(r.Lines, null);
                continue;
            }

            // Every return of this order, earliest first: each one by products takes at most what the others left.
            var taken = new Dictionary<string, decimal>(StringComparer.Ordinal);
            foreach (var (otherKey, other) in p.Returns.Where(x => x.Value.Order == ofOrder).OrderBy(x => x.Value.At).ThenBy(x => x.Value.FirstEventId, StringComparer.Ordinal).ThenBy(x => x.Key, StringComparer.Ordinal))
            {
                var currency = CurrencyOf(p, other, shopCurrency) ?? string.Empty;
                var left = Math.Max(0, o.Total - taken.GetValueOrDefault(currency));
                var amount = other.Lines is null ? other.Total : Math.Min(Priced(other.Lines, o.Lines), left);
                if (other.Lines is not null)
                {
                    (amounts ??= new(StringComparer.Ordinal))[otherKey] = amount;
                }

                taken[currency] = checked(taken.GetValueOrDefault(currency) + amount);
            }
        }

        return amounts;

        static decimal Priced(Dictionary<string, OrderLine> lines, Dictionary<string, OrderLine>? ordered)
        {
            decimal sum = 0;
            foreach (var (product, line) in lines)
            {
                if ((line.Price ?? Ordered(ordered, product, line.Sku)?.Price) is { } price)
                {
                    sum = checked(sum + (line.Quantity * price));
                }
            }

            return sum;
        }

        // The order's line a refund's line names: by product id, else by SKU either way.
        static OrderLine? Ordered(Dictionary<string, OrderLine>? ordered, string product, string? sku)
        {
            if (ordered is null)
            {
                return null;
            }

            if (ordered.TryGetValue(product, out var line) || (sku is not null && ordered.TryGetValue(sku, out line)))
            {
                return line;
            }

            foreach (var (_, l) in ordered)
            {
                if (l.Sku is { } s && (s == product || s == sku))
                {
                    return l;
                }
            }

            return null;
        }
    }
}
