namespace Omnichannel.Sdk.Segments;

// Pruning: keep only what some rule's window or count can still read, and know when the next event falls out.
internal sealed partial class RuleHistory
{
    /// <summary>
    /// Drops what no rule can count at <paramref name="now"/> or later: types no rule reads, and events outside every
    /// retention of their type (see <see cref="EventTypeRequirement"/>). Evaluations after a prune must be at
    /// <paramref name="now"/> or later.
    /// </summary>
    /// <param name="now">The earliest instant that will be evaluated from now on.</param>
    /// <param name="requirements">What the loaded rules need.</param>
    public void Prune(DateTimeOffset now, HistoryRequirements requirements)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        List<string>? unneeded = null;
        foreach (var (type, list) in Events)
        {
            var need = requirements.For(type);
            if (need is null || list.Count == 0)
            {
                (unneeded ??= []).Add(type);
                continue;
            }

            if (!need.KeepAll)
            {
                // Skipped while nothing can go (see NextPrune): the list is then exactly what pruning would leave.
                if (_pruneFloors is not null && _pruneFloors.TryGetValue(type, out var floor) &&
                    ReferenceEquals(floor.List, list) && ReferenceEquals(floor.Need, need) && now < floor.At)
                {
                    continue;
                }

                PruneList(list, need, now);
                (_pruneFloors ??= new(StringComparer.Ordinal))[type] = new PruneFloor(list, need, NextPrune(list, need, now));
            }
        }

        if (unneeded is not null)
        {
            foreach (var type in unneeded)
            {
                Events.Remove(type);
            }
        }
    }

    private static void PruneList(List<RecordedEvent> list, EventTypeRequirement need, DateTimeOffset now)
    {
        // Index loops over the requirement's lists: an interface enumerator would be allocated on every prune.
        DateTimeOffset? cutoff = null;
        var sliding = need.PruneWindows;
        for (var k = 0; k < sliding.Count; k++)
        {
            var c = WindowMath.WindowStart(now, sliding[k]);
            if (cutoff is null || c < cutoff)
            {
                cutoff = c;
            }
        }

        // Only past events at or before the cutoff can go: [0, end). Future events and the sliding window stay.
        var past = UpperBound(list, now);
        var end = cutoff is { } cut ? Math.Min(past, UpperBound(list, cut)) : past;
        if (end == 0)
        {
            return;
        }

        // The first and last matching past events of each anchor stay (only those before `end` matter here).
        Span<int> anchorKeep = need.Anchors.Count <= 32 ? stackalloc int[need.Anchors.Count * 2] : new int[need.Anchors.Count * 2];
        var kept = 0;
        var anchors = need.Anchors;
        for (var k = 0; k < anchors.Count; k++)
        {
            // Anchors are time-independent filters: their answers per event are remembered.
            var where = WhereFilter.Of(anchors[k]);
            for (var i = 0; i < past; i++)
            {
                if (where.Matches(list[i], now))
                {
                    if (i < end)
                    {
                        anchorKeep[kept++] = i;
                    }

                    break;
                }
            }

            for (var i = past - 1; i >= 0; i--)
            {
                if (where.Matches(list[i], now))
                {
                    if (i < end)
                    {
                        anchorKeep[kept++] = i;
                    }

                    break;
                }
            }
        }

        anchorKeep = anchorKeep[..kept];
        var w = 0;
        var ids = (list as RecordedList)?.Ids;
        for (var i = 0; i < end; i++)
        {
            if (InFixed(need.FixedWindows, list[i].Timestamp) || anchorKeep.Contains(i) || IsMatchingOrder(list[i], anchors, now))
            {
                list[w++] = list[i];
            }
            else
            {
                ids?.Remove(list[i].Id);
            }
        }

        if (w < end)
        {
            list.RemoveRange(w, end - w);
        }
    }

    // An order entry takes the values of the order's newest event (see Combine), so the first and last matches of a
    // filter may stop matching: every matching order stays, or a pruned one in between would be lost to the answer.
    // (An empty filter matches whatever the values: its first and last matches are enough — but an order's time can move
    // earlier, so a lost last order is put back from the order facts: see RestoreFirstAndLastOrder.) Audit U93: a keyed
    // loyalty or referral entry likewise takes its newest values and moves earlier, so it is kept so too (and restored
    // from the tally facts: RestoreFirstAndLastTallies).
    private static bool IsMatchingOrder(RecordedEvent e, IReadOnlyList<IReadOnlyList<PropertyCondition>> anchors, DateTimeOffset now)
    {
        if (!IsKeyedEntry(e))
        {
            return false;
        }

        for (var k = 0; k < anchors.Count; k++)
        {
            if (anchors[k].Count > 0 && WhereFilter.Of(anchors[k]).Matches(e, now))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// After a prune at <paramref name="now"/>: the earliest instant at which a prune could remove something more, with no
    /// insert meanwhile (an insert forgets it). Past events at or before the cutoff were all removed but those kept by a
    /// fixed window or as an anchor's first or last match; those stay so until a new past event could become an anchor's
    /// last match, which only a future event becoming past (or an insert) can do. So the next candidates are the first
    /// event after the cutoff, removable once every sliding window's start has passed it (the latest of its exit
    /// instants), and the first future event.
    /// </summary>
    private static DateTimeOffset NextPrune(List<RecordedEvent> list, EventTypeRequirement need, DateTimeOffset now)
    {
        var past = UpperBound(list, now);
        var next = past < list.Count ? list[past].Timestamp : DateTimeOffset.MaxValue;
        var windows = need.PruneWindows;
        if (windows.Count == 0)
        {
            // No sliding window: every past event not kept was removed.
            return next;
        }

        DateTimeOffset? cutoff = null;
        for (var k = 0; k < windows.Count; k++)
        {
            var c = WindowMath.WindowStart(now, windows[k]);
            if (cutoff is null || c < cutoff)
            {
                cutoff = c;
            }
        }

        var first = UpperBound(list, cutoff!.Value);
        if (first < past)
        {
            var t = list[first].Timestamp;
            DateTimeOffset? leaves = t;
            for (var k = 0; k < windows.Count && leaves is not null; k++)
            {
                leaves = WindowMath.ExitInstant(t, windows[k]) is { } exit ? (exit > leaves ? exit : leaves) : null;
            }

            if (leaves is { } l && l < next)
            {
                next = l;
            }
        }

        return next;
    }

    private static bool InFixed(IReadOnlyList<(DateTimeOffset From, DateTimeOffset To)> windows, DateTimeOffset t)
    {
        for (var k = 0; k < windows.Count; k++)
        {
            var (from, to) = windows[k];
            if (from <= t && t < to)
            {
                return true;
            }
        }

        return false;
    }
}
