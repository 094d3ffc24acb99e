namespace Omnichannel.Sdk.Measurement;

// Merges: two profiles of one person become one, and so do their touches, order conversions and global-group counts.
internal static partial class MeasurementRecorder
{
    // Audit U94: which side holds the newest copy of a return both merging profiles know (one return_id corrected, a copy
    // on each): the profile's facts are merged already (ProfileCore.Merge), so the survivor's fact is the newest copy by
    // Stamp.Newer; it is the absorbed side's when it carries that side's event. Null when either side has no fact for it.
    private static bool? NewestCopyIsTheirs(CustomerProfile target, CustomerProfile other, string returnKey) =>
        other.Returns.TryGetValue(returnKey, out var theirs) && target.Returns.TryGetValue(returnKey, out var merged)
            ? string.Equals(merged.EventId, theirs.EventId, StringComparison.Ordinal)
            : null;

    // The conversion definition a row of an order's conversion counts for (conversion:<id>, credit:<id>:<model>,
    // revenue:<id>:<model>); null for other rows.
    private static string? ConversionIdOf(string metric)
    {
        if (metric.StartsWith(ConversionPrefix, StringComparison.Ordinal))
        {
            return metric[ConversionPrefix.Length..];
        }

        foreach (var prefix in (ReadOnlySpan<string>)["credit:", "revenue:"])
        {
            if (metric.StartsWith(prefix, StringComparison.Ordinal) && metric.LastIndexOf(':') is var colon && colon > prefix.Length)
            {
                return metric[prefix.Length..colon];
            }
        }

        return null;
    }

    /// <summary>How long an order's conversion rows are kept on the profile, to take back a second conversion at a merge.</summary>
    internal static readonly TimeSpan OrderConversionRetention = TimeSpan.FromDays(30);

    /// <summary>Folds a merged profile's touches and group in: touches are the person's; the group assigned first stands (audit U85).</summary>
    public static void Merge(CustomerProfile target, CustomerProfile other, MeasurementOptions? options = null)
    {
        // One order converted on both profiles (tracked under two identifiers before they met): as if one profile had
        // seen both events, the earlier conversion stands and the later one is taken back, row by row.
        Dictionary<string, double>? undoneOurs = null, undoneTheirs = null;
        foreach (var (key, theirs) in other.OrderConversions)
        {
            if (target.OrderConversions.TryGetValue(key, out var ours))
            {
                // A side that only knows returns of the order did not convert it: the other's conversion stands.
                var (keep, undo) = (ours.Deltas.Length == 0) != (theirs.Deltas.Length == 0) ? (ours.Deltas.Length == 0 ? (theirs, ours) : (ours, theirs))
                    : Stamp.Newer(theirs.At, theirs.EventId, ours.At, ours.EventId) ? (ours, theirs) : (theirs, ours);
                var keepIsTheirs = ReferenceEquals(keep, theirs);

                // Audit U95: a conversion the kept side did not make (a narrowed one, "an order of 100 or more", that the
                // other side's report met: a correction, an update paid) is the person's all the same: its rows move over.
                List<ConversionDelta>? carried = null;
                foreach (var d in undo.Deltas)
                {
                    if (ConversionIdOf(d.Key.Metric) is { } made && !keep.Deltas.Any(k => ConversionIdOf(k.Key.Metric) == made))
                    {
                        (carried ??= []).Add(d);
                        continue;
                    }

                    target.PendingMeasurements.Add(d.Key, -d.Count, -d.Sum);
                    if (d.Key.JourneyId == GlobalJourney && d.Key.Metric.StartsWith(ConversionPrefix, StringComparison.Ordinal))
                    {
                        // Counted in a global group's per-person revenue too: that side's revenue loses it below.
                        var undone = ReferenceEquals(undo, ours) ? (undoneOurs ??= new(StringComparer.Ordinal)) : (undoneTheirs ??= new(StringComparer.Ordinal));
                        var id = d.Key.Metric[ConversionPrefix.Length..];
                        undone[id] = undone.GetValueOrDefault(id) + d.Sum;
                    }
                }

                if (carried is not null)
                {
                    keep = keep with { Deltas = [.. keep.Deltas, .. carried] };
                }

                // Both sides' returns (and the newest values) of the order are hers: the kept rows count them.
                target.OrderConversions[key] = Rebase(target, keepIsTheirs ? other : target, keep, Combined(keep, undo, k => NewestCopyIsTheirs(target, other, k) is { } t ? t != keepIsTheirs : null));
            }
            else
            {
                target.OrderConversions[key] = theirs;
            }
        }

        foreach (var t in other.Touches)
        {
            var i = Touch.IndexOf(target.Touches, t.Key);
            if (i < 0)
            {
                target.Touches.Add(t);
            }
            else
            {
                // Equal touches too: each profile counted its outcomes (one message's report tracked under both identifiers).
                target.Touches[i] = Combine(target, target.Touches[i], t, options);
            }
        }

        target.Touches.Sort(Touch.Compare);
        if (options is not null && (other.Touches.Count > 0 || other.OrderConversions.Count > 0))
        {
            Reattribute(target, DateTimeOffset.MinValue, options); // the person's orders are credited to all her touches
        }
        if (other.MeasurementGroup is { } g)
        {
            // One person, one assignment: the one made first stands, whichever profile absorbs the other (audit U85: an
            // anonymous visitor held out, or messaged, keeps that group when she logs in to a profile assigned later).
            var epoch = DateTimeOffset.FromUnixTimeSeconds(0);
            var crossesGroups = target.MeasurementGroup is { } before && before != g;
            if (target.MeasurementGroup is { } mine && mine != g && AssignedFirst(other, target))
            {
                // The survivor's own assignment is un-counted and its conversions move to her first group with her.
                target.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, ShareStep(target.MeasurementGroupShare), mine, null, null, epoch, GlobalAssigned), -1);
                MoveGroupConversions(target, mine, g);
                target.MeasurementGroup = g;
                target.MeasurementGroupAt = other.MeasurementGroupAt;
                target.MeasurementGroupShare = other.MeasurementGroupShare;
            }
            else
            {
                // The merged-away profile's assignment is un-counted (under the share it was counted under); the
                // survivor's (or, if none, that one) stands.
                target.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, ShareStep(other.MeasurementGroupShare), g, null, null, epoch, GlobalAssigned), -1);
                if (target.MeasurementGroup is null)
                {
                    target.MeasurementGroup = g;
                    target.MeasurementGroupAt = other.MeasurementGroupAt;
                    target.MeasurementGroupShare = other.MeasurementGroupShare;
                    target.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, ShareStep(other.MeasurementGroupShare), g, null, null, epoch, GlobalAssigned), 1);
                }
                else if (target.MeasurementGroup == g && AssignedFirst(other, target))
                {
                    target.MeasurementGroupAt = other.MeasurementGroupAt; // the same group, kept from its first assignment
                }
            }

            // Audit U86: a person whose profiles were in both groups is counted once as such (a chain of merges too: two
            // profiles each already counted are one person, one count comes off).
            var crossedBefore = (target.MeasurementGroupCrossed ? 1 : 0) + (other.MeasurementGroupCrossed ? 1 : 0);
            var crossed = crossedBefore > 0 || crossesGroups;
            if ((crossed ? 1 : 0) - crossedBefore is var counted and not 0)
            {
                target.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, null, null, null, epoch, GlobalInBoth), counted);
            }

            target.MeasurementGroupCrossed = crossed;
            MergeGroupConversions(target, other, g, target.MeasurementGroup, undoneOurs, undoneTheirs);
        }
    }

    // Whether a's global group was assigned before b's: a group without its instant was assigned before instants were
    // kept, so before any that has one; at one instant "control" comes first (ordinal), so the answer needs no direction.
    private static bool AssignedFirst(CustomerProfile a, CustomerProfile b)
    {
        var (at, bt) = (a.MeasurementGroupAt ?? DateTimeOffset.MinValue, b.MeasurementGroupAt ?? DateTimeOffset.MinValue);
        return at < bt || (at == bt && string.CompareOrdinal(a.MeasurementGroup, b.MeasurementGroup) < 0);
    }

    // The survivor's per-person global conversions leave one group's rows for another's (its group changed at a merge).
    private static void MoveGroupConversions(CustomerProfile p, string from, string to)
    {
        var epoch = DateTimeOffset.FromUnixTimeSeconds(0);
        foreach (var (id, revenue) in p.GroupConversions.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            p.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, from, null, null, epoch, GlobalConverted + id), -1, -revenue);
            p.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, from, null, null, epoch, GlobalRevenueSquares + id), 0, -(revenue * revenue));
            p.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, to, null, null, epoch, GlobalConverted + id), 1, revenue);
            p.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, to, null, null, epoch, GlobalRevenueSquares + id), 0, revenue * revenue);
        }
    }

    private static readonly string ConversionPrefix = MeasurementMetrics.Conversion(string.Empty);

    /// <summary>
    /// One person, one converter: the merged-away profile's conversions leave its group's counts and join the survivor's
    /// as hers — counted as a converter once, with her whole revenue and the change of its square.
    /// </summary>
    private static void MergeGroupConversions(
        CustomerProfile target, CustomerProfile other, string otherGroup, string targetGroup, Dictionary<string, double>? undoneOurs, Dictionary<string, double>? undoneTheirs)
    {
        if (other.GroupConversions.Count == 0 && undoneOurs is null)
        {
            return;
        }

        var epoch = DateTimeOffset.FromUnixTimeSeconds(0);
        var ids = other.GroupConversions.Keys.Union(undoneOurs?.Keys ?? Enumerable.Empty<string>(), StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var theirs = other.GroupConversions.TryGetValue(id, out var revenue);
            if (theirs)
            {
                target.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, otherGroup, null, null, epoch, GlobalConverted + id), -1, -revenue);
                target.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, otherGroup, null, null, epoch, GlobalRevenueSquares + id), 0, -(revenue * revenue));
            }

            var known = target.GroupConversions.TryGetValue(id, out var before);
            if (!known && !theirs)
            {
                continue;
            }

            // An order both sides converted counts once: the side whose conversion was taken back loses its revenue.
            var after = before - (undoneOurs?.GetValueOrDefault(id) ?? 0) + (theirs ? revenue - (undoneTheirs?.GetValueOrDefault(id) ?? 0) : 0);
            target.GroupConversions[id] = after;
            target.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, targetGroup, null, null, epoch, GlobalConverted + id), known ? 0 : 1, after - before);
            target.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, targetGroup, null, null, epoch, GlobalRevenueSquares + id), 0, (after * after) - (before * before));
        }
    }

    /// <summary>
    /// One message's touch held by both merged profiles (its outcomes arrived under different identifiers): the earliest
    /// instant of each outcome stands, as if one profile had received them all, and an outcome both counted is un-counted
    /// once (at the later instant), so the aggregates count it once too.
    /// </summary>
    private static Touch Combine(CustomerProfile target, Touch a, Touch b, MeasurementOptions? options)
    {
        // What the message is comes from the touch that handed it over (the engine's own record, which alone knows its
        // channel and address: a report stamped by a provider's clock before the hand-over must not describe it by the
        // report's source, web), else from the touch its earliest event made, whichever profile holds it.
        var (first, second) = (a.SentTo is null) != (b.SentTo is null) ? (a.SentTo is not null ? (a, b) : (b, a))
            : Touch.Compare(a, b) is var c && (c < 0 || (c == 0 && string.CompareOrdinal(Describe(a), Describe(b)) <= 0)) ? (a, b) : (b, a);
        void Once(DateTimeOffset? x, DateTimeOffset? y, string metric)
        {
            if (x is not { } ax || y is not { } by)
            {
                return;
            }

            // Each profile counted it once, under its own touch: one count stays, at the earliest instant and under what
            // the merged touch says the message is (its first touch's description; a report under an identifier that
            // knew nothing of the journey must not keep the count away from the journey's rows).
            var (later, at) = ax < by || (ax == by && ReferenceEquals(second, b)) ? (b, by) : (a, ax);
            var (earlier, from) = ReferenceEquals(later, a) ? (b, by) : (a, ax);
            target.PendingMeasurements.Add(MeasurementKey.Of(later.JourneyId, later.StepId, later.Variant, later.Channel, later.TemplateId, at, metric, options), -1);
            var kept = MeasurementKey.Of(earlier.JourneyId, earlier.StepId, earlier.Variant, earlier.Channel, earlier.TemplateId, from, metric, options);
            var merged = MeasurementKey.Of(first.JourneyId, first.StepId, first.Variant, first.Channel, first.TemplateId, from, metric, options);
            if (kept != merged)
            {
                target.PendingMeasurements.Add(kept, -1);
                target.PendingMeasurements.Add(merged, 1);
            }
        }

        Once(a.SentAt, b.SentAt, MeasurementMetrics.Sent);
        Once(a.DeliveredAt, b.DeliveredAt, MeasurementMetrics.Delivered);
        Once(a.OpenedAt, b.OpenedAt, MeasurementMetrics.Opened);
        Once(a.ClickedAt, b.ClickedAt, MeasurementMetrics.Clicked);
        Once(a.UnsubscribedAt, b.UnsubscribedAt, MeasurementMetrics.Unsubscribed);
        Once(a.BouncedAt, b.BouncedAt, MeasurementMetrics.Bounced);
        Once(a.FailureReportedAt, b.FailureReportedAt, MeasurementMetrics.Failed);
        return first with
        {
            QueuedAt = a.QueuedAt < b.QueuedAt ? a.QueuedAt : b.QueuedAt,
            SentAt = Min(a.SentAt, b.SentAt),
            DeliveredAt = Min(a.DeliveredAt, b.DeliveredAt),
            OpenedAt = Min(a.OpenedAt, b.OpenedAt),
            ClickedAt = Min(a.ClickedAt, b.ClickedAt),
            UnsubscribedAt = Min(a.UnsubscribedAt, b.UnsubscribedAt),
            BouncedAt = Min(a.BouncedAt, b.BouncedAt),
            FailureReportedAt = Min(a.FailureReportedAt, b.FailureReportedAt),
            Reported = Touch.Union(a.Known, b.Known), // a touch stored before links were kept: its wildcards
            FailedAt = a.FailedAt is null ? b.FailedAt : b.FailedAt is null ? a.FailedAt : a.FailedAt > b.FailedAt ? a.FailedAt : b.FailedAt,
            ReachedAt = a.ReachedAt is null ? b.ReachedAt : b.ReachedAt is null ? a.ReachedAt : a.ReachedAt > b.ReachedAt ? a.ReachedAt : b.ReachedAt,
            SentTo = first.SentTo ?? second.SentTo,
            ProviderId = first.ProviderId ?? second.ProviderId,
        };

        static DateTimeOffset? Min(DateTimeOffset? x, DateTimeOffset? y) => x is null ? y : y is null ? x : x < y ? x : y;
        static string Describe(Touch t) => string.Join('\u001f', t.Channel, t.JourneyId, t.StepId, t.Variant, t.TemplateId);
    }
}
