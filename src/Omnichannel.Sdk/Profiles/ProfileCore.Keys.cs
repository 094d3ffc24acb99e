using System.Text.Json;

namespace Omnichannel.Sdk;

// What an event counts once: loyalty and referral tallies by their natural key, returns by return id, an order's lines.
internal static partial class ProfileCore
{
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
}
