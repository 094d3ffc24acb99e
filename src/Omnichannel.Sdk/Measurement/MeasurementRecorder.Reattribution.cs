namespace Omnichannel.Sdk.Measurement;

// Credit by event time, whatever the arrival order: a touch point that arrives after the orders it preceded (a click
// webhook hours late) or a merge that brings in the person's other touches re-credits the orders the profile keeps, so
// their credit rows are what they would be had every touch arrived first.
internal static partial class MeasurementRecorder
{
    /// <summary>
    /// Re-credits each kept order converted at or after <paramref name="from"/> under the profile's touches now: its old
    /// credit and revenue rows are taken back and the new ones added (a conversion's credit still sums to one per model).
    /// </summary>
    private static void Reattribute(CustomerProfile p, DateTimeOffset from, MeasurementOptions options)
    {
        if (p.OrderConversions.Count == 0)
        {
            return;
        }

        List<TouchPoint>? points = null;
        foreach (var key in p.OrderConversions.Keys.ToArray())
        {
            var o = p.OrderConversions[key];
            if (o.At < from || o.Deltas.Length == 0)
            {
                continue;
            }

            // Only the conversions made by the order's own event are re-credited: one made by a later update of it was
            // credited at that update's time, which is not kept.
            var day = o.DayIn(options); // the day its rows were counted on, even if the zone changed since
            HashSet<string>? ids = null;
            foreach (var d in o.Deltas)
            {
                if (d.Key.Metric.StartsWith(ConversionPrefix, StringComparison.Ordinal) && d.Key.Day == day)
                {
                    (ids ??= new(StringComparer.Ordinal)).Add(d.Key.Metric[ConversionPrefix.Length..]);
                }
            }

            if (ids is null)
            {
                continue;
            }

            points ??= [.. p.Touches.SelectMany(t => t.Points())];
            var rows = new List<ConversionDelta>(o.Deltas.Length);
            var done = new HashSet<string>(StringComparer.Ordinal);
            foreach (var d in o.Deltas)
            {
                if (IsCreditOf(d.Key.Metric, ids))
                {
                    p.PendingMeasurements.Add(d.Key, -d.Count, -d.Sum); // taken back; the new rows follow the conversion's
                    continue;
                }

                rows.Add(d);
                if (d.Key.Metric.StartsWith(ConversionPrefix, StringComparison.Ordinal) && d.Key.Day == day
                    && d.Key.Metric[ConversionPrefix.Length..] is var id && done.Add(id))
                {
                    foreach (var model in Models)
                    {
                        foreach (var credit in Attribution.Credit(points, o.At, options.Windows, model, options.TimeDecayHalfLife))
                        {
                            var t = credit.Touch;
                            // On its conversion row's day, also when the zone changed since it was counted.
                            var creditKey = OnDay(MeasurementKey.Of(t.JourneyId, t.StepId, t.Variant, t.Channel, t.TemplateId, o.At, MeasurementMetrics.Credit(id, model), options), day);
                            var revenueKey = OnDay(MeasurementKey.Of(t.JourneyId, t.StepId, t.Variant, t.Channel, t.TemplateId, o.At, MeasurementMetrics.Revenue(id, model), options), day);
                            var revenue = credit.Credit * d.Sum; // the conversion row holds the order's revenue now (updates, returns)
                            p.PendingMeasurements.Add(creditKey, 1, credit.Credit);
                            p.PendingMeasurements.Add(revenueKey, 1, revenue);
                            rows.Add(new ConversionDelta(creditKey, 1, credit.Credit));
                            rows.Add(new ConversionDelta(revenueKey, 1, revenue, d.Property, credit.Credit));
                        }
                    }
                }
            }

            p.OrderConversions[key] = o with { Deltas = [.. rows] };
        }

        static MeasurementKey OnDay(MeasurementKey key, DateOnly day) => key.Day == day ? key : key with { Day = day };

        static bool IsCreditOf(string metric, HashSet<string> ids)
        {
            foreach (var id in ids)
            {
                foreach (var model in Models)
                {
                    if (metric == MeasurementMetrics.Credit(id, model) || metric == MeasurementMetrics.Revenue(id, model))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
    }

    /// <summary>
    /// An order's event older than the one that converted it arrived (its original after its update, a retry stamped
    /// earlier): the order was placed then, so it converts at that instant, whatever the arrival order. The conversion
    /// rows its converting event made move to that day and its credit is decided again at that instant (a touch between
    /// the two instants is after the order). Returns the order as now kept.
    /// </summary>
    private static OrderConversion Redate(CustomerProfile p, string key, OrderConversion o, CustomerEvent e, MeasurementOptions options)
    {
        var day = o.DayIn(options);
        var newDay = options.DayOf(e.Timestamp);
        var rows = new ConversionDelta[o.Deltas.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            var d = o.Deltas[i];
            if (newDay != day && d.Key.Day == day && d.Key.Metric.StartsWith(ConversionPrefix, StringComparison.Ordinal))
            {
                p.PendingMeasurements.Add(d.Key, -d.Count, -d.Sum);
                d = d with { Key = d.Key with { Day = newDay } };
                p.PendingMeasurements.Add(d.Key, d.Count, d.Sum);
            }

            rows[i] = d;
        }

        p.OrderConversions[key] = o with { At = e.Timestamp, EventId = e.Id, Deltas = rows, Day = newDay };
        Reattribute(p, e.Timestamp, options);
        return p.OrderConversions[key];
    }

    /// <summary>The earliest touch point one touch has and the other lacks, or <see langword="null"/> when they have the same.</summary>
    private static DateTimeOffset? FirstChangedPoint(Touch? before, Touch after)
    {
        var a = before?.Points().ToList() ?? [];
        var b = after.Points().ToList();
        DateTimeOffset? first = null;
        foreach (var t in a.Except(b).Concat(b.Except(a)))
        {
            first = first is { } f && f <= t.At ? f : t.At;
        }

        return first;
    }
}
