namespace Omnichannel.Sdk.Measurement;

// An order's revenue after its conversion: an update (the same order_id again, a new total) and its returns change what
// its rows count, on the rows it was credited to, so measurement agrees with the profile, whatever the arrival order.
internal static partial class MeasurementRecorder
{
    private const string TotalProperty = RevenueByProperty.TotalProperty;

    // "order:" + order_id of an order or a return (ProfileCore's key), or null.
    private static string? OrderKey(CustomerProfile p, CustomerEvent e) =>
        e.Type is EventTypes.OrderPlaced or EventTypes.OrderReturned && WellKnownProperties.OrderId(p, e.Properties) is { Length: > 0 } id
            ? "order:" + id
            : null;

    // The order's revenue under every property a row may follow: the order conversions' and, always, its total (returns
    // are read as a share of it).
    private static RevenueByProperty GrossOf(CustomerEvent e, MeasurementOptions options, string? shopCurrency)
    {
        var gross = new RevenueByProperty(Revenue(e, TotalProperty, shopCurrency));
        var conversions = options.Conversions;
        for (var i = 0; i < conversions.Count; i++) // by index: a foreach boxes the IList's enumerator on every order
        {
            var c = conversions[i];
            if (c.EventType == EventTypes.OrderPlaced && c.RevenueProperty is { } r && !gross.Has(r))
            {
                gross = gross.With(r, Revenue(e, r, shopCurrency));
            }
        }

        return gross;
    }

    // What is left of the order after its returns: the returned share of its total comes off every revenue property.
    private static double NetFactor(IReadOnlyDictionary<string, double>? returned, double total)
    {
        var r = returned is null ? 0 : returned.Values.Sum();
        return r <= 0 ? 1 : total <= 0 ? 0 : Math.Max(0, 1 - (r / total));
    }

    private static double Base(OrderConversion o, string property) =>
        o.Gross is { } g ? g.Get(property) * NetFactor(o.Returned, g.Total) : 0;

    /// <summary>
    /// An order the profile already converted came again: the newest event's revenue stands (the profile's rule), and
    /// its rows follow it — the order still converts once.
    /// </summary>
    private static void OnOrderUpdate(CustomerProfile p, string key, OrderConversion known, CustomerEvent e, MeasurementOptions options, string? shopCurrency)
    {
        if (known.GrossAt is { } at && !Stamp.Newer(e.Timestamp, e.Id, at, known.GrossEventId))
        {
            return; // a late original or a retry of an older version: the newer values stand
        }

        p.OrderConversions[key] = Rebase(p, p, known, known with { Gross = GrossOf(e, options, shopCurrency), GrossAt = e.Timestamp, GrossEventId = e.Id });
    }

    /// <summary>
    /// An update of a known order may make it qualify for a conversion it did not (an order placed unpaid, then paid):
    /// each conversion of orders that matches the update and has not converted the order yet converts it now, once, its
    /// rows counting the order's newest revenue less its returns like the order's other rows.
    /// </summary>
    private static void ConvertOnUpdate(CustomerProfile p, string key, CustomerEvent e, DateTimeOffset now, MeasurementOptions options, string? shopCurrency)
    {
        var known = p.OrderConversions[key];
        List<ConversionDelta>? added = null;
        var conversions = options.Conversions;
        for (var i = 0; i < conversions.Count; i++) // by index: a foreach boxes the IList's enumerator
        {
            var c = conversions[i];
            if (c.EventType == e.Type && !Converted(known, c.Id) && Matches(c, e, now))
            {
                OnConversion(p, c, e, options, shopCurrency, 1, added ??= []);
            }
        }

        if (added is not null)
        {
            // Its rows were written with this event's revenue; they follow the order's newest values and returns.
            var converted = known with { Deltas = [.. known.Deltas, .. added] };
            p.OrderConversions[key] = Rebase(p, p, converted, converted);
        }

        static bool Converted(OrderConversion o, string id)
        {
            var metric = MeasurementMetrics.Conversion(id);
            return o.Deltas.Any(d => d.Key.Metric == metric);
        }
    }

    /// <summary>
    /// A return of an order (by its <c>order_id</c>): its value, in the shop's currency, comes off the order's revenue on
    /// the rows it was credited to. A return before its order is kept, and the order converts net of it.
    /// </summary>
    private static void OnReturn(CustomerProfile p, string key, CustomerEvent e, string? shopCurrency)
    {
        var returnKey = ProfileCore.ReturnKey(e.Properties, e.Id);
        var value = Math.Abs(Revenue(e, TotalProperty, shopCurrency));
        if (!p.OrderConversions.TryGetValue(key, out var known))
        {
            p.OrderConversions[key] = new OrderConversion(e.Timestamp, e.Id, []) { Returned = new(StringComparer.Ordinal) { [returnKey] = value } };
            return;
        }

        if (known.Returned is { } r && r.TryGetValue(returnKey, out var same) && same == value)
        {
            return; // the same return again
        }

        var returned = known.Returned is null ? new Dictionary<string, double>(StringComparer.Ordinal) : new Dictionary<string, double>(known.Returned, StringComparer.Ordinal);
        returned[returnKey] = value;
        p.OrderConversions[key] = Rebase(p, p, known, known with { Returned = returned });
    }

    /// <summary>
    /// Moves every revenue row of an order from what <paramref name="before"/> counts to what <paramref name="after"/>
    /// counts (deltas on the rows' own keys: the touch, day and variant the order was credited to), and the global group's
    /// per-person revenue of <paramref name="owner"/> with them. Returns <paramref name="after"/> with its rows' new sums.
    /// </summary>
    private static OrderConversion Rebase(CustomerProfile target, CustomerProfile owner, OrderConversion before, OrderConversion after)
    {
        T? Move<T>(T? rows, Func<List<ConversionDelta>, T> shape)
            where T : class, IReadOnlyList<ConversionDelta>
        {
            if (rows is null)
            {
                return null;
            }

            var moved = new List<ConversionDelta>(rows.Count);
            foreach (var d in rows)
            {
                if (d.Property is not { } property || before.Gross is null)
                {
                    moved.Add(d);
                    continue;
                }

                var revenue = Base(after, property);
                var sum = d.Share * (d.Squared ? revenue * revenue : revenue);
                var change = sum - d.Sum;
                if (change != 0)
                {
                    target.PendingMeasurements.Add(d.Key, 0, change);
                    if (d.Key.JourneyId == GlobalJourney && d.Key.Variant is { } group && d.Key.Metric.StartsWith(ConversionPrefix, StringComparison.Ordinal))
                    {
                        // Her revenue in her global group, and its square, move with the order.
                        var id = d.Key.Metric[ConversionPrefix.Length..];
                        var was = owner.GroupConversions.GetValueOrDefault(id);
                        var now = was + change;
                        owner.GroupConversions[id] = now;
                        var epoch = DateTimeOffset.FromUnixTimeSeconds(0);
                        target.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, group, null, null, epoch, GlobalConverted + id), 0, change);
                        target.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, group, null, null, epoch, GlobalRevenueSquares + id), 0, (now * now) - (was * was));
                    }
                }

                moved.Add(d with { Sum = sum });
            }

            return shape(moved);
        }

        return after with { Deltas = Move(after.Deltas, static m => m.ToArray())!, JourneyRows = Move(after.JourneyRows, static m => m) };
    }

    // The returns (and the newest values) of one order known on two merging profiles are the person's.
    private static OrderConversion Combined(OrderConversion keep, OrderConversion other)
    {
        Dictionary<string, double>? returned = keep.Returned;
        if (other.Returned is { Count: > 0 })
        {
            returned = returned is null ? new(StringComparer.Ordinal) : new Dictionary<string, double>(returned, StringComparer.Ordinal);
            foreach (var (k, v) in other.Returned)
            {
                returned.TryAdd(k, v);
            }
        }

        var newer = other.Gross is not null && (keep.Gross is null || Stamp.Newer(other.GrossAt ?? other.At, other.GrossEventId ?? other.EventId, keep.GrossAt ?? keep.At, keep.GrossEventId ?? keep.EventId));
        return keep with
        {
            Returned = returned,
            Gross = newer ? other.Gross : keep.Gross,
            GrossAt = newer ? other.GrossAt : keep.GrossAt,
            GrossEventId = newer ? other.GrossEventId : keep.GrossEventId,
            JourneyRows = keep.JourneyRows is null ? other.JourneyRows : other.JourneyRows is null ? keep.JourneyRows : [.. keep.JourneyRows, .. other.JourneyRows],
        };
    }
}
