namespace Omnichannel.Sdk;

// Merging two profiles: everything each one holds survives, and the result does not depend on which absorbs which.
internal static partial class ProfileCore
{
    /// <summary>Folds <paramref name="other"/> into <paramref name="target"/>: nothing of either side is lost.</summary>
    public static void Merge(CustomerProfile target, CustomerProfile other, MergeRecord record, int timelineLength, string? shopCurrency = null, Measurement.MeasurementOptions? measurement = null, int maxTraits = OmnichannelOptions.DefaultMaxTraitsPerProfile, SoftBounceRule? softBounces = null)
    {
        if (other.JourneyData is { } journeys)
        {
            MergeArms(target, other, journeys, record.At, measurement);
            (target.JourneyData ??= new()).Absorb(journeys);
        }

        if (other.CreatedAt < target.CreatedAt)
        {
            target.CreatedAt = other.CreatedAt; // she has been known since the first of her profiles was made
        }

        // Audit U25: a set of what the target holds, not a walk of its list for each of the other's identifiers (device
        // and anonymous ids have no limit: two profiles of 20,000 cookies each took 5 s to merge).
        if (other.IdentifierList.Count > 0)
        {
            var known = new HashSet<(string, string)>(target.IdentifierList.Count + other.IdentifierList.Count);
            foreach (var id in target.IdentifierList)
            {
                known.Add((id.Type, id.Value));
            }

            foreach (var id in other.IdentifierList)
            {
                if (known.Add((id.Type, id.Value)))
                {
                    target.IdentifierList.Add(id);
                }
            }
        }

        foreach (var (path, tv) in other.TraitValuesIfAny ?? Empty<TraitValue>.Map)
        {
            PutTrait(target, path, tv, maxTraits, merging: true);
        }

        var s = target.Statistics;
        var o = other.Statistics;
        s.EventCount += o.EventCount;
        s.FirstSeen = Min(s.FirstSeen, o.FirstSeen);
        s.LastSeen = Max(s.LastSeen, o.LastSeen);
        foreach (var (channel, at) in o.LastSeenByChannel)
        {
            if (!s.LastSeenByChannel.TryGetValue(channel, out var mine) || at > mine)
            {
                s.LastSeenByChannel[channel] = at;
            }
        }

        foreach (var d in o.Devices)
        {
            TouchDevice(s, d.DeviceType, d.Os, d.LastSeen);
        }

        // This side's facts of keys both sides know, before they merge: its history's entries of them hold their newest
        // reports' values (RuleHistory.MergeFrom drops the side whose report lost).
        Dictionary<string, OrderFact>? oursBefore = null;
        foreach (var (key, order) in other.Orders)
        {
            if (target.Orders.TryGetValue(key, out var ours))
            {
                (oursBefore ??= new(StringComparer.Ordinal))[key] = ours;
            }

            ProfileFacts.PutOrder(target, key, order.Total, order.Currency, order.At, order.FirstEventId, order.Lines);
            ProfileFacts.PutOrder(target, key, order.Total, order.Currency, order.UpdatedAt, order.EventId, order.Lines);
        }

        foreach (var cancelled in other.CancelledOrdersIfAny ?? [])
        {
            if (target.CancelledOrders.Add(cancelled))
            {
                s.CancelledOrderCount++;
            }
        }

        foreach (var (key, r) in other.ReturnsIfAny ?? EmptyFacts.Facts)
        {
            ProfileFacts.PutFact(target.Returns, key, r.Total, r.Currency, r.At, r.FirstEventId, r.Order, r.Lines);
            ProfileFacts.PutFact(target.Returns, key, r.Total, r.Currency, r.UpdatedAt, r.EventId, r.Order, r.Lines);
        }

        ProfileFacts.RecomputeReturns(target, shopCurrency);
        // Audit U70: a keyed loyalty or referral event both sides counted (retried under a new event id on each) is counted
        // once, at its newest value: the sum less what the value not kept added.
        decimal points = 0;
        int sent = 0, converted = 0;
        foreach (var (key, f) in other.TalliesIfAny ?? EmptyFacts.Facts)
        {
            if (!target.Tallies.TryGetValue(key, out var mine))
            {
                target.Tallies[key] = f;
                continue;
            }

            (oursBefore ??= new(StringComparer.Ordinal))[Segments.RuleHistory.TallyKeyPrefix + key] = mine;

            ProfileFacts.PutFact(target.Tallies, key, f.Total, null, f.At, f.FirstEventId);
            ProfileFacts.PutFact(target.Tallies, key, f.Total, null, f.UpdatedAt, f.EventId);
            var twice = checked(mine.Total + f.Total - target.Tallies[key].Total);
            if (key.StartsWith(EventTypes.LoyaltyPointsEarned + ":", StringComparison.Ordinal))
            {
                points = checked(points + twice);
            }
            else if (key.StartsWith(EventTypes.LoyaltyPointsRedeemed + ":", StringComparison.Ordinal))
            {
                points = checked(points - twice);
            }
            else if (key.StartsWith(EventTypes.ReferralSent + ":", StringComparison.Ordinal))
            {
                sent += (int)twice;
            }
            else
            {
                converted += (int)twice;
            }
        }

        TrimTallies(target);
        s.LoyaltyPoints = checked(s.LoyaltyPoints + o.LoyaltyPoints - points);
        s.ReferralsSent += o.ReferralsSent - sent;
        s.ReferralsConverted += o.ReferralsConverted - converted;
        ProfileFacts.RecomputeOrders(target, shopCurrency);

        // Cart and wishlist: the changes of both sides replayed in event-time order, as if one profile had seen them all.
        foreach (var (product, ops) in other.CartOpsIfAny ?? Empty<List<ItemOp>>.Map)
        {
            foreach (var op in ops)
            {
                ProfileFacts.PutCartOp(target, product, op);
            }
        }

        ProfileFacts.ClearCartAfterOrders(target); // after the orders of both sides are in

        foreach (var (product, ops) in other.WishlistOpsIfAny ?? Empty<List<ItemOp>>.Map)
        {
            foreach (var op in ops)
            {
                ProfileFacts.PutWishlistOp(target, product, op);
            }
        }

        foreach (var c in (other.ConsentRecordsIfAny ?? Empty<ConsentRecord>.Map).Values)
        {
            SetConsent(target, c);
        }

        foreach (var (field, fact) in other.PreferenceFactsIfAny ?? Empty<PreferenceFact>.Map)
        {
            PutPreference(target, field, fact);
        }

        if (other.TimeZoneAt is { } tz && (target.TimeZoneAt is not { } mineTz || Stamp.Newer(tz, other.TimeZoneEventId, mineTz, target.TimeZoneEventId)))
        {
            target.TimeZone = other.TimeZone;
            target.TimeZoneAt = tz;
            target.TimeZoneEventId = other.TimeZoneEventId;
        }

        if (other.LocaleAt is { } lo && (target.LocaleAt is not { } mineLo || Stamp.Newer(lo, other.LocaleEventId, mineLo, target.LocaleEventId)))
        {
            target.Locale = other.Locale;
            target.LocaleAt = lo;
            target.LocaleEventId = other.LocaleEventId;
        }

        foreach (var entry in other.TimelineEntries)
        {
            AddTimeline(target, entry, timelineLength);
        }

        // Delivery state belongs to the person: suppressed addresses, the keys of messages already accepted (so a retry
        // is still a duplicate) and the log that frequency caps count.
        MergeSoftSuppressed(target, other); // audit U84: before the lists are joined
        foreach (var address in other.SuppressedAddresses)
        {
            Suppress(target, address);
        }

        foreach (var key in other.MessageKeys)
        {
            if (!target.MessageKeys.Contains(key))
            {
                target.MessageKeys.Add(key);
            }
        }

        target.MessageLog.AddRange(other.MessageLog);
        Measurement.MeasurementRecorder.Merge(target, other, measurement); // touches are the person's
        // Audit U94: a copy of a return on one side naming another order than the person's newest copy of it (after the
        // measurement merge: her rows and group are settled, as for an event after the merge).
        // Her returns by products are valued again from the merged orders (one side's return of an order the other side
        // had was valued at 0, the order unknown to it).
        Measurement.MeasurementRecorder.DropMovedReturns(target, null, shopCurrency);
        Measurement.MeasurementRecorder.FollowReturnsByProducts(target, shopCurrency);
        // Audit U81: reports on either side naming a provider's id that side did not know, measured now if the other side
        // sent that message (before the soft-bounce runs below are read: a delivery breaks a run).
        Measurement.MeasurementRecorder.MergePendingReports(target, other);
        if (target.HasPendingReports)
        {
            Measurement.MeasurementRecorder.PlacePendingReports(target, measurement ?? new Measurement.MeasurementOptions());
        }

        target.MessageLog.Sort((a, b) => a.At.CompareTo(b.At));
        foreach (var pending in other.PendingBounces)
        {
            AddPendingBounce(target, pending);
        }

        ResolvePendingBounces(target); // a bounce on one side about a message the other sent
        ReviewKeywordGrant(target); // audit U83: an SMS START read against the numbers of both sides
        MergeSoftBounces(target, other); // audit U73: soft bounces of her addresses on either side still add up
        MergeReachMarks(target, other); // and a delivery that broke a run on either side still breaks it
        MergeLiftMarks(target, other); // audit U89: a host's lifts of her addresses, from either side
        if (softBounces is not null)
        {
            ResolvePendingSoftBounces(target, softBounces); // audit U80: a soft bounce on one side named by the other's provider id
            ReviewSoftBounces(target, softBounces); // review of U73: and a joined run suppresses now, not at a next bounce
        }

        // Segments: the longest-standing membership wins; the engine re-evaluates every segment after a merge.
        MergeRuleHistories(target, other, oursBefore);
        // The later incarnation of a re-added segment first (the other is stale), then the longest-standing.
        foreach (var (segment, entered) in other.SegmentMembershipsIfAny ?? Empty<DateTimeOffset>.Map)
        {
            var theirs = other.SegmentIncarnations?.GetValueOrDefault(segment) ?? 0;
            var ours = target.SegmentIncarnations?.GetValueOrDefault(segment) ?? 0;
            if (!target.SegmentMemberships.TryGetValue(segment, out var mine) || theirs > ours || (theirs == ours && entered < mine))
            {
                target.SegmentMemberships[segment] = entered;
                if (theirs > 0)
                {
                    (target.SegmentIncarnations ??= new(StringComparer.Ordinal))[segment] = theirs;
                }
                else
                {
                    target.SegmentIncarnations?.Remove(segment);
                }
            }
        }

        foreach (var (segment, at) in other.SegmentChecksIfAny ?? Empty<DateTimeOffset>.Map)
        {
            if (!target.SegmentChecks.TryGetValue(segment, out var mine) || at < mine)
            {
                target.SegmentChecks[segment] = at;
            }
        }

        // The newest records of both sides are kept, in time order whichever side absorbs the other (appending the other
        // side's older records and trimming from the front dropped this side's newer ones).
        if (other.MergeRecordsIfAny is { } theirMerges)
        {
            target.MergeRecords.AddRange(theirMerges);
        }

        target.MergeRecords.Add(record);
        SortByTime(target.MergeRecords, static r => (r.At, r.EventId, r.AbsorbedProfileId));
        Trim(target.MergeRecords, MaxMerges);
        if (other.ConflictRecordsIfAny is { Count: > 0 } theirConflicts)
        {
            target.ConflictRecords.AddRange(theirConflicts);
        }

        if (target.ConflictRecordsIfAny is { } conflicts) // neither side's list is made by reading it
        {
            SortByTime(conflicts, static c => (c.At, c.EventId, c.IdentifierType + ":" + c.IdentifierHash));
            Trim(conflicts, MaxConflicts);
        }
    }

    // Its own method: the lambdas' closure over both profiles was made at the start of every merge, and every use of
    // either profile in Merge went through it.
    private static void MergeRuleHistories(CustomerProfile target, CustomerProfile other, Dictionary<string, OrderFact>? oursBefore) =>
        target.RuleHistory.MergeFrom(other.RuleHistory, new Segments.MergeFacts(key => KeyedFact(target, key), key => KeyedFact(other, key), oursBefore));

    // A stable order by time, then event id, then a key that tells apart two records of one event (what OrderBy, ThenBy,
    // ThenBy gave). An insertion sort over keys worked out once: at most 150 records, almost always in order already,
    // and no closure, iterators or copies on every merge.
    private static void SortByTime<T>(List<T> list, Func<T, (DateTimeOffset At, string EventId, string? Key)> key)
    {
        if (list.Count < 2)
        {
            return;
        }

        var keys = new (DateTimeOffset At, string EventId, string? Key)[list.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = key(list[i]);
        }

        for (var i = 1; i < keys.Length; i++)
        {
            var (item, k) = (list[i], keys[i]);
            var j = i - 1;
            for (; j >= 0 && CompareTimeKeys(keys[j], k) > 0; j--)
            {
                list[j + 1] = list[j];
                keys[j + 1] = keys[j];
            }

            list[j + 1] = item;
            keys[j + 1] = k;
        }
    }

    private static int CompareTimeKeys((DateTimeOffset At, string EventId, string? Key) a, (DateTimeOffset At, string EventId, string? Key) b) =>
        a.At.CompareTo(b.At) is var byTime and not 0 ? byTime
        : string.CompareOrdinal(a.EventId, b.EventId) is var byEvent and not 0 ? byEvent
        : string.CompareOrdinal(a.Key, b.Key);

    // A profile's fact of a history entry id: an order's (order:{order_id}) or a keyed loyalty or referral event's.
    private static OrderFact? KeyedFact(CustomerProfile p, string entryId) =>
        entryId.StartsWith(Segments.RuleHistory.TallyKeyPrefix, StringComparison.Ordinal)
            ? p.Tallies.TryGetValue(entryId[Segments.RuleHistory.TallyKeyPrefix.Length..], out var tally) ? tally : null
            : p.Orders.TryGetValue(entryId, out var order) ? order : null;
}

// Empty collections to walk when a profile never made one (reads must not make them, see CustomerProfile).
file static class Empty<T>
{
    public static readonly Dictionary<string, T> Map = new(StringComparer.Ordinal);
}

file static class EmptyFacts
{
    public static readonly WrittenOnceDictionary<OrderFact> Facts = new();
}
