namespace Omnichannel.Sdk.Measurement;

// An order's revenue after its conversion: an update (the same order_id again, a new total) and its returns change what
// its rows count, on the rows it was credited to, so measurement agrees with the profile, whatever the arrival order.
internal static partial class MeasurementRecorder
{
    private const string TotalProperty = RevenueByProperty.TotalProperty;

    // "order:" + order_id of an order or a return (ProfileCore's key), or null.
    private static string? OrderKey(CustomerProfile p, CustomerEvent e) =>
        e.Type is EventTypes.OrderPlaced or EventTypes.OrderReturned && WellKnownProperties.OrderId(p, e.Properties) is { Length: > 0 } id
            ? WellKnownProperties.OrderKey(id)
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
    // A return in another currency than the order's (both named) is no share of it: 3,000 JPY off a 20 GBP order zeroed
    // it (Automattic/woocommerce-payments#5215, rbkmoney/hellgate#195: a refund is in its payment's currency). The
    // profile keeps such a return apart too (ReturnValueByCurrency). Read at each use, from the newest currencies, so an
    // order corrected to the return's currency counts it then, whatever came first.
    private static double NetFactor(IReadOnlyDictionary<string, double>? returned, IReadOnlyDictionary<string, string>? returnedIn, string? currency, double total)
    {
        double r = 0;
        if (returned is not null)
        {
            foreach (var (key, value) in returned)
            {
                if (currency is null || returnedIn is null || !returnedIn.TryGetValue(key, out var c) || string.Equals(c, currency, StringComparison.OrdinalIgnoreCase))
                {
                    r += value;
                }
            }
        }

        return r <= 0 ? 1 : total <= 0 ? 0 : Math.Max(0, 1 - (r / total));
    }

    private static double Base(OrderConversion o, string property) =>
        o.Gross is { } g ? g.Get(property) * NetFactor(o.Returned, o.ReturnedIn, o.GrossCurrency, g.Total) : 0;

    // The currency an order or a return names (upper case: validation made it so), or null.
    private static string? CurrencyOf(CustomerEvent e) => WellKnownProperties.String(e.Properties, "currency");

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

        p.OrderConversions[key] = Rebase(p, p, known, known with { Gross = GrossOf(e, options, shopCurrency), GrossCurrency = CurrencyOf(e), GrossAt = e.Timestamp, GrossEventId = e.Id });
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
        if (p.Statistics.ReturnCount > 0 && p.Returns.TryGetValue(returnKey, out var kept) && Stamp.Newer(kept.UpdatedAt, kept.EventId, e.Timestamp, e.Id))
        {
            return; // an older copy of a return corrected since (the profile's rule: the newest copy stands), arriving late
        }

        var value = Math.Abs(Revenue(e, TotalProperty, shopCurrency));
        var currency = CurrencyOf(e);
        var byProducts = ProfileCore.RefundLines(e.Properties) is not null; // valued once the profile has it (FollowReturnsByProducts)
        if (!p.OrderConversions.TryGetValue(key, out var known))
        {
            p.OrderConversions[key] = new OrderConversion(e.Timestamp, e.Id, [])
            {
                Returned = new(StringComparer.Ordinal) { [returnKey] = value },
                ReturnedIn = currency is null ? null : new(StringComparer.Ordinal) { [returnKey] = currency },
            };
            return;
        }

        if (known.Returned is { } r && r.TryGetValue(returnKey, out var same) && (same == value || byProducts)
            && string.Equals(known.ReturnedIn?.GetValueOrDefault(returnKey), currency, StringComparison.Ordinal))
        {
            return; // the same return again
        }

        if (byProducts && known.Returned?.TryGetValue(returnKey, out var valued) == true)
        {
            value = valued; // its currency changed (a copy naming another): its value follows after the profile has it
        }

        var returned = known.Returned is null ? new Dictionary<string, double>(StringComparer.Ordinal) : new Dictionary<string, double>(known.Returned, StringComparer.Ordinal);
        returned[returnKey] = value;
        var returnedIn = known.ReturnedIn;
        if (currency is not null || returnedIn?.ContainsKey(returnKey) == true)
        {
            returnedIn = returnedIn is null ? new(StringComparer.Ordinal) : new Dictionary<string, string>(returnedIn, StringComparer.Ordinal);
            if (currency is null)
            {
                returnedIn.Remove(returnKey);
            }
            else
            {
                returnedIn[returnKey] = currency;
            }
        }

        p.OrderConversions[key] = Rebase(p, p, known, known with { Returned = returned, ReturnedIn = returnedIn is { Count: > 0 } ? returnedIn : null });
    }

    /// <summary>
    /// Audit U94: a return corrected under its <c>return_id</c> to name another order (or none) comes off the order its
    /// newest copy names, as the profile counts it: an order's conversion that still holds an older copy of it (sent
    /// first, or brought by a merge) lets it go. Only <paramref name="returnKey"/> when given, else every return. Called after
    /// the profile took the event (or merged its facts), so its return facts are the newest copies.
    /// </summary>
    internal static void DropMovedReturns(CustomerProfile p, string? returnKey, string? shopCurrency)
    {
        if (p.Statistics.ReturnCount == 0 || p.OrderConversions.Count == 0)
        {
            return;
        }

        List<(string Key, OrderConversion Known, OrderConversion After)>? moved = null;
        foreach (var (key, known) in p.OrderConversions)
        {
            // One return named (a return event, every one): looked up, not walked (review 58b: the walk read every return
            // of every order she converted in 30 days, on every return).
            if (known.Returned is not { Count: > 0 } returned || (returnKey is not null && !returned.ContainsKey(returnKey)))
            {
                continue;
            }

            Dictionary<string, double>? kept = null;
            Dictionary<string, string>? keptIn = known.ReturnedIn;
            foreach (var k in returnKey is null ? returned.Keys : (IEnumerable<string>)[returnKey])
            {
                if (p.Returns.TryGetValue(k, out var fact) && !string.Equals(fact.Order, key, StringComparison.Ordinal))
                {
                    kept ??= new Dictionary<string, double>(returned, StringComparer.Ordinal);
                    kept.Remove(k);
                    if (keptIn?.ContainsKey(k) == true)
                    {
                        keptIn = new Dictionary<string, string>(keptIn, StringComparer.Ordinal);
                        keptIn.Remove(k);
                    }
                }
            }

            if (kept is not null)
            {
                (moved ??= []).Add((key, known, known with { Returned = kept.Count > 0 ? kept : null, ReturnedIn = keptIn is { Count: > 0 } ? keptIn : null }));
            }
        }

        if (moved is not null)
        {
            foreach (var (key, known, after) in moved)
            {
                p.OrderConversions[key] = known.Gross is null && known.Deltas.Length == 0 ? after : Rebase(p, p, known, after);
                FollowReturnsByProducts(p, key, shopCurrency); // its returns by products are priced against what is left
            }
        }
    }

    /// <summary>
    /// After the profile took an order or a return (audit U48): the returns by products of that order (refunds naming
    /// products and no amount) take off what the profile values them at (<see cref="ProfileFacts.ReturnAmounts"/>: their
    /// products at the refund's or the order's prices, never more than the order has left), in the shop's currency, so
    /// the report agrees with the profile whichever came first. Nothing to do for most events.
    /// </summary>
    internal static void FollowReturnsByProducts(CustomerProfile p, CustomerEvent e, string? shopCurrency)
    {
        if (e.Type == EventTypes.OrderReturned)
        {
            DropMovedReturns(p, ProfileCore.ReturnKey(e.Properties, e.Id), shopCurrency); // the profile has taken it: its newest copy's order stands
        }

        if (e.Type is (EventTypes.OrderPlaced or EventTypes.OrderReturned) && OrderKey(p, e) is { } key)
        {
            FollowReturnsByProducts(p, key, shopCurrency);
        }
    }

    /// <summary>As above, for every order of hers (after a merge: the merged orders price both sides' returns by products).</summary>
    internal static void FollowReturnsByProducts(CustomerProfile p, string? shopCurrency)
    {
        if (p.Statistics.ReturnCount == 0 || p.OrderConversions.Count == 0)
        {
            return;
        }

        foreach (var key in p.OrderConversions.Where(kv => kv.Value.Returned is { Count: > 0 }).Select(kv => kv.Key).ToList())
        {
            FollowReturnsByProducts(p, key, shopCurrency);
        }
    }

    // As above, for the order keyed key.
    private static void FollowReturnsByProducts(CustomerProfile p, string key, string? shopCurrency)
    {
        if (p.Statistics.ReturnCount == 0 || p.OrderConversions.Count == 0
            || !p.OrderConversions.TryGetValue(key, out var known)
            || ProfileFacts.ReturnAmounts(p, key, shopCurrency) is not { } amounts)
        {
            return;
        }

        Dictionary<string, double>? returned = null;
        foreach (var (returnKey, amount) in amounts)
        {
            // Another currency than the shop's is not its revenue (as Revenue reads an amount).
            var value = shopCurrency is not null && p.Returns[returnKey].Currency is { } c && !string.Equals(c, shopCurrency, StringComparison.OrdinalIgnoreCase) ? 0 : (double)amount;
            if (known.Returned?.TryGetValue(returnKey, out var was) != true || was != value)
            {
                returned ??= known.Returned is null ? new(StringComparer.Ordinal) : new Dictionary<string, double>(known.Returned, StringComparer.Ordinal);
                returned[returnKey] = value;
            }
        }

        if (returned is not null)
        {
            p.OrderConversions[key] = Rebase(p, p, known, known with { Returned = returned });
        }
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
                    if (d.Key.JourneyId == GlobalJourney && d.Key.Variant is { } converted && d.Key.Metric.StartsWith(ConversionPrefix, StringComparison.Ordinal))
                    {
                        // Her revenue in her global group, and its square, move with the order — in the group she is
                        // counted in now (review of U85: a merge may have moved her, and her per-person rows, since the
                        // order converted; the day's conversion row above keeps the group it was counted in).
                        var group = owner.MeasurementGroup ?? converted;
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

    // The returns (and the newest values) of one order known on two merging profiles are the person's. A return both
    // know (one return_id, a copy on each) counts its newest copy, as the profile does (audit U94: the kept side's copy
    // stood, whichever was newer); otherNewer says, per return key, whether that is the other's (null: not known, the kept one's).
    private static OrderConversion Combined(OrderConversion keep, OrderConversion other, Func<string, bool?>? otherNewer = null)
    {
        Dictionary<string, double>? returned = keep.Returned;
        Dictionary<string, string>? returnedIn = keep.ReturnedIn;
        if (other.Returned is { Count: > 0 })
        {
            returned = returned is null ? new(StringComparer.Ordinal) : new Dictionary<string, double>(returned, StringComparer.Ordinal);
            foreach (var (k, v) in other.Returned)
            {
                var added = returned.TryAdd(k, v);
                if (!added && otherNewer?.Invoke(k) == true)
                {
                    returned[k] = v;
                    if (ReferenceEquals(returnedIn, keep.ReturnedIn))
                    {
                        returnedIn = returnedIn is null ? new(StringComparer.Ordinal) : new Dictionary<string, string>(returnedIn, StringComparer.Ordinal); // copied once
                    }

                    if (other.ReturnedIn?.GetValueOrDefault(k) is { } newest)
                    {
                        returnedIn![k] = newest;
                    }
                    else
                    {
                        returnedIn!.Remove(k);
                    }

                    continue;
                }

                if (added && other.ReturnedIn?.GetValueOrDefault(k) is { } c)
                {
                    if (ReferenceEquals(returnedIn, keep.ReturnedIn))
                    {
                        returnedIn = returnedIn is null ? new(StringComparer.Ordinal) : new Dictionary<string, string>(returnedIn, StringComparer.Ordinal); // copied once
                    }

                    returnedIn![k] = c;
                }
            }
        }

        var newer = other.Gross is not null && (keep.Gross is null || Stamp.Newer(other.GrossAt ?? other.At, other.GrossEventId ?? other.EventId, keep.GrossAt ?? keep.At, keep.GrossEventId ?? keep.EventId));
        return keep with
        {
            Returned = returned,
            ReturnedIn = returnedIn,
            Gross = newer ? other.Gross : keep.Gross,
            GrossCurrency = newer ? other.GrossCurrency : keep.GrossCurrency,
            GrossAt = newer ? other.GrossAt : keep.GrossAt,
            GrossEventId = newer ? other.GrossEventId : keep.GrossEventId,
            JourneyRows = keep.JourneyRows is null ? other.JourneyRows : other.JourneyRows is null ? keep.JourneyRows : [.. keep.JourneyRows, .. other.JourneyRows],
        };
    }
}
