namespace Omnichannel.Sdk;

// Runs of soft bounces: when they suppress an address, when a reach lifts it, and how a merge joins two profiles' marks.
internal static partial class ProfileCore
{
    // Audit U84: the end (last bounce) of a run that suppresses the address now, or null. A run is SoftBounceLimit of the
    // address's kept bounces (ordinal order: by time) in a row spanning less than SoftBounceWindow, all after her newest
    // delivery, open or click of a message to it there: a reach inside a run breaks it (review of U73), and a reach after
    // it ends its suppression (Braze and Customer.io reset the soft-bounce count on a delivery). Order-free: the answer
    // depends on the sets of bounces and reaches, not on which came first.
    private static DateTimeOffset? SoftRunHolds(List<SoftBounceMark> marks, string channel, string hash, List<DateTimeOffset> reached, SoftBounceRule rule)
    {
        var after = reached.Count > 0 ? reached[^1] : DateTimeOffset.MinValue;
        var times = new List<DateTimeOffset>();
        foreach (var m in marks)
        {
            if (m.Channel == channel && m.Address == hash && m.At > after)
            {
                times.Add(m.At);
            }
        }

        DateTimeOffset? end = null;
        for (var last = rule.Limit - 1; last < times.Count; last++)
        {
            if (times[last] - times[last - rule.Limit + 1] < rule.Window)
            {
                end = times[last]; // the latest such run: the record does not depend on which run was found first
            }
        }

        return end;
    }

    // A hard bounce (or a suppression a merge brought with no run behind it) of the address on this profile: final.
    private static bool IsHardSuppressed(CustomerProfile p, string channel, string address, string hash) =>
        p.HasSuppressedAddresses
        && (p.SuppressedAddresses.Contains(channel + ":" + address) || p.SuppressedAddresses.Contains(channel + ":#" + hash))
        && !IsSoftSuppressed(p, channel, hash);

    private static bool IsSoftSuppressed(CustomerProfile p, string channel, string hash) =>
        p.HasSoftSuppressed && p.SoftSuppressed.Exists(m => m.Channel == channel && m.Address == hash);

    // Audit U84: a run suppresses the address under its hashed entry (the readers of the profile's list are the same as for
    // a hard bounce) and records that it was a run; the plain address, when known, goes on the store's list under the
    // soft-bounce key (OmnichannelEngine.SoftListed), which a lift can take off without touching a hard bounce or erasure.
    private static void SoftSuppress(CustomerProfile p, string channel, string? address, string hash, DateTimeOffset runEnd)
    {
        var records = p.SoftSuppressed;
        var known = records.FindIndex(m => m.Channel == channel && m.Address == hash);
        if (known >= 0)
        {
            if (records[known].At != runEnd && address is not null && p.SuppressedAddresses.Contains(channel + ":#" + hash))
            {
                // Audit U98: a run that holds again (a bounce joined it) on a profile that still suppresses the address lists
                // it again: a host's lift of the address on a profile that did not hold it took the store's entry off and
                // left this record, and the run heard since suppressed her here while IsSuppressedAsync said no. Listing is
                // idempotent. (A record whose entry a merge after a lift dropped, audit U89, lists nothing, as before.)
                (p.SoftListChanges ??= []).Add((channel, address, true));
            }

            records[known] = records[known] with { At = runEnd };
            return; // suppressed by a run already
        }

        Suppress(p, channel + ":#" + hash);
        records.Add(new SoftBounceMark(channel, hash, runEnd));
        SortSoftBounces(records);
        if (address is not null)
        {
            (p.SoftListChanges ??= []).Add((channel, address, true));
        }
    }

    /// <summary>
    /// Audit U84: ends each soft-bounce suppression whose run no longer holds — a delivery, open or click of a message to
    /// the address after the run (or inside it, reported late) — whichever order the reports came in: the profile's entry
    /// goes, her identifier is no longer marked suppressed there, and the address is taken off the store's list
    /// (<see cref="CustomerProfile.SoftListChanges"/>). The marks stay, so a new run suppresses again. Called after every
    /// event on a profile with a soft suppression.
    /// </summary>
    internal static void LiftSoftSuppressions(CustomerProfile p, SoftBounceRule rule)
    {
        if (!p.HasSoftSuppressed || rule.Limit < 1)
        {
            return;
        }

        var records = p.SoftSuppressed;
        for (var i = records.Count - 1; i >= 0; i--)
        {
            var (channel, hash) = (records[i].Channel, records[i].Address);
            if (HardBouncedInThisUnit(p, channel, hash, rule))
            {
                // Audit U87b: a hard bounce of the address heard in this unit, before the delivery that ends the run (one
                // batch), is final already; its plain entry is hashed, and the run's record dropped, only at the commit
                // (HashSuppressedAddresses), so lifting here took the hard bounce off with the run.
                records.RemoveAt(i);
                continue;
            }

            var reached = ReachTimes(p, channel, hash, a => rule.Hash(channel, a) == hash);
            if (reached.Count == 0 || SoftRunHolds(p.SoftBounces, channel, hash, reached, rule) is not null)
            {
                continue;
            }

            records.RemoveAt(i);
            p.SuppressedAddresses.Remove(channel + ":#" + hash);
            var address = AddressOf(p, channel, hash, rule);
            if (address is not null)
            {
                (p.SoftListChanges ??= []).Add((channel, address, false));
            }

            var ids = p.IdentifierList;
            for (var k = 0; k < ids.Count; k++)
            {
                if (ids[k].IsSuppressedOn(channel) && rule.Hash(channel, ids[k].Value) == hash)
                {
                    ids[k] = ids[k].WithoutSuppressionOn(channel);
                }
            }
        }
    }

    // Audit U87b: a plain "channel:address" entry of the address: core code adds one only for a hard bounce (a run's is
    // hashed from the start), and the commit hashes it, so one is there only for a hard bounce heard in this unit.
    private static bool HardBouncedInThisUnit(CustomerProfile p, string channel, string hash, SoftBounceRule rule)
    {
        if (!p.HasSuppressedAddresses)
        {
            return false;
        }

        foreach (var entry in p.SuppressedAddresses)
        {
            if (entry.Length > channel.Length + 1 && entry[channel.Length] == ':' && entry[channel.Length + 1] != '#'
                && entry.StartsWith(channel, StringComparison.Ordinal) && rule.Hash(channel, entry[(channel.Length + 1)..]) == hash)
            {
                return true;
            }
        }

        return false;
    }

    // The plain address of a keyed hash, where the profile knows it: a message of hers went there, or it is her identifier.
    private static string? AddressOf(CustomerProfile p, string channel, string hash, SoftBounceRule rule)
    {
        foreach (var t in p.Touches)
        {
            if (t.Channel == channel && t.SentTo is { } to && rule.Hash(channel, to) == hash)
            {
                return to;
            }
        }

        foreach (var i in p.IdentifierList)
        {
            if (rule.Hash(channel, i.Value) == hash)
            {
                return i.Value;
            }
        }

        return null;
    }

    // Every delivery, open and click of a message on the channel that went to the address (its keyed hash and a test of
    // the plain address), or to an address not known (a message of the host's own: it may have been this one, and a guess
    // must not suppress); and the address's reach mark, kept from a trimmed touch.
    private static List<DateTimeOffset> ReachTimes(CustomerProfile p, string channel, string hash, Func<string, bool> isAddress)
    {
        var reached = new List<DateTimeOffset>();
        string? newest = null;
        if (p.HasReachMarks)
        {
            foreach (var m in p.ReachMarks)
            {
                if (m.Channel == channel && (m.Address == hash
                    || (m.Address == NewestAddressMark && (newest ??= NewestOnChannel(p, channel) ?? "") is { Length: > 0 } n && isAddress(n))))
                {
                    reached.Add(m.At);
                }
            }
        }

        foreach (var t in p.Touches)
        {
            if (t.Channel != channel)
            {
                continue;
            }

            // Audit U86: a touch that names no address reaches only what a bounce of it would name. A message the SDK
            // sent (its key is the profile's: before its record, or its touch trimmed and made again by a report) reaches
            // her newest address on the channel, as AddressOfKnownMessageEvenSuppressed reads its bounce; a message the
            // profile does not know (a host's mail reported without `address`) reaches none: an unattributable report
            // neither breaks a run nor lifts one (Braze and Customer.io reset only on a delivery to that address). A
            // host's message gains its address at a report naming one, the SDK's at its record, and the runs are read
            // again then: the end state is one function of the reports, whatever their order.
            if (t.SentTo is { } to ? !isAddress(to)
                : !p.MessageKeys.Contains(t.Key) || (newest ??= NewestOnChannel(p, channel) ?? "") is not { Length: > 0 } n || !isAddress(n))
            {
                continue;
            }

            // The newest reach too (review of U87): the runs read only her newest, and the instants are the earliest.
            foreach (var at in (ReadOnlySpan<DateTimeOffset?>)[t.DeliveredAt, t.OpenedAt, t.ClickedAt, t.ReachedAt])
            {
                if (at is { } a)
                {
                    reached.Add(a);
                }
            }
        }

        reached.Sort();
        return reached;
    }

    /// <summary>
    /// Review of U73: after a merge, the joined bounces of each address are looked at at once (two on one side and one on
    /// the other are three in a row, as they are when the link came first). The address is the plain one when the profile
    /// knows it (an identifier of hers, or where a message of hers went), so the store's list has it too; else the
    /// profile keeps its hashed entry, which stops sends from her profile.
    /// </summary>
    internal static void ReviewSoftBounces(CustomerProfile p, SoftBounceRule rule)
    {
        if (!p.HasSoftBounces || rule.Limit < 1)
        {
            return;
        }

        ReviewSoftRuns(p, rule);
    }

    // Its own method: the lambda below captures the rule, and its closure was made on entry, for every merge and outcome.
    private static void ReviewSoftRuns(CustomerProfile p, SoftBounceRule rule)
    {
        var marks = p.SoftBounces;
        foreach (var (channel, hash) in marks.Where(m => !IsPendingSoftBounce(m)).Select(m => (m.Channel, m.Address)).Distinct().ToList())
        {
            if (SoftRunHolds(marks, channel, hash, ReachTimes(p, channel, hash, a => rule.Hash(channel, a) == hash), rule) is not { } runEnd)
            {
                continue;
            }

            var address = AddressOf(p, channel, hash, rule);
            if (IsHardSuppressed(p, channel, address ?? string.Empty, hash))
            {
                continue;
            }

            SoftSuppress(p, channel, address, hash, runEnd);
        }
    }

    // Ordinal order of time, channel, address and message: the document does not depend on arrival order or merges.
    private static void SortSoftBounces(List<SoftBounceMark> marks) => marks.Sort(static (a, b) =>
        a.At.CompareTo(b.At) is var c and not 0 ? c
        : string.CompareOrdinal(a.Channel, b.Channel) is var d and not 0 ? d
        : string.CompareOrdinal(a.Address, b.Address) is var f and not 0 ? f
        : string.CompareOrdinal(a.MessageId, b.MessageId));

    // Audit U84, before the suppressed addresses are joined: an address one side suppressed for good (a hard bounce, or an
    // entry with no run behind it) stays so; one only runs suppressed stays liftable.
    private static void MergeSoftSuppressed(CustomerProfile target, CustomerProfile other)
    {
        if (target.HasSoftSuppressed)
        {
            target.SoftSuppressed.RemoveAll(m => other.SuppressedAddresses.Contains(m.Channel + ":#" + m.Address) && !IsSoftSuppressed(other, m.Channel, m.Address));
        }

        if (!other.HasSoftSuppressed)
        {
            return;
        }

        foreach (var m in other.SoftSuppressed)
        {
            var entry = m.Channel + ":#" + m.Address;
            if (target.HasSuppressedAddresses && target.SuppressedAddresses.Contains(entry) && !IsSoftSuppressed(target, m.Channel, m.Address))
            {
                continue; // hard on this side
            }

            var known = target.SoftSuppressed.FindIndex(t => t.Channel == m.Channel && t.Address == m.Address);
            if (known < 0)
            {
                target.SoftSuppressed.Add(m);
            }
            else if (m.At > target.SoftSuppressed[known].At)
            {
                target.SoftSuppressed[known] = m;
            }
        }

        SortSoftBounces(target.SoftSuppressed);
    }

    // Merging: both sides' bounces, the same message's once (its earliest report); the next bounce reads the joined run.
    /// <summary>Most reach marks a profile keeps (<see cref="CustomerProfile.ReachMarks"/>): the oldest go first.</summary>
    internal const int MaxReachMarks = MaxSoftBounceMarks;

    /// <summary>
    /// Before a touch is trimmed (past the longest attribution window and the late-event grace, or over
    /// <c>MaxTouchesPerProfile</c>): its newest delivery, open or click becomes the reach mark of the address it reached,
    /// as <see cref="ReachTimes"/> reads the touch (where it went or, for a message of the SDK's that names none, her
    /// newest address on the channel now), so a soft-bounce run is still read against it. One mark per address: the newest.
    /// </summary>
    /// <param name="p">The profile whose touch is trimmed.</param>
    /// <param name="t">The touch.</param>
    /// <param name="hash">The engine's keyed hash of a channel and an address (<see cref="SoftBounceRule.Hash"/>).</param>
    internal static void KeepReach(CustomerProfile p, Measurement.Touch t, Func<string, string, string> hash)
    {
        DateTimeOffset? reached = null;
        foreach (var at in (ReadOnlySpan<DateTimeOffset?>)[t.DeliveredAt, t.OpenedAt, t.ClickedAt, t.ReachedAt])
        {
            if (at is { } a && (reached is null || a > reached))
            {
                reached = a;
            }
        }

        if (reached is not { } r)
        {
            return;
        }

        if (t.SentTo is { } address)
        {
            AddReachMark(p.ReachMarks, new SoftBounceMark(t.Channel, hash(t.Channel, address), r));
        }
        else if (p.MessageKeys.Contains(t.Key))
        {
            // Read as the touch is: her newest address on the channel when the run is read, not when the touch was trimmed
            // (review, fifty-fourth session: a newer address linked after the trim was read without it).
            AddReachMark(p.ReachMarks, new SoftBounceMark(t.Channel, NewestAddressMark, r));
        }
    }

    /// <summary>
    /// The address of a reach mark kept from a message of the SDK's that named none: her newest address on the channel,
    /// read when a run is read (not a keyed hash: those are lowercase hex).
    /// </summary>
    internal const string NewestAddressMark = "newest/";

    private static void AddReachMark(List<SoftBounceMark> marks, SoftBounceMark mark) => AddNewestMark(marks, mark, MaxReachMarks);

    /// <summary>Keeps <paramref name="mark"/> as its address's newest in <paramref name="marks"/> (in time order), at most <paramref name="max"/>: the oldest go first.</summary>
    internal static void AddNewestMark(List<SoftBounceMark> marks, SoftBounceMark mark, int max)
    {
        var known = marks.FindIndex(m => m.Channel == mark.Channel && m.Address == mark.Address);
        if (known >= 0 && marks[known].At >= mark.At)
        {
            return;
        }

        if (known >= 0)
        {
            marks[known] = mark;
        }
        else
        {
            marks.Add(mark);
        }

        SortSoftBounces(marks);
        if (marks.Count > max)
        {
            marks.RemoveRange(0, marks.Count - max);
        }
    }

    // Either side's reach marks, the newest per address (before the joined runs are looked at).
    private static void MergeReachMarks(CustomerProfile target, CustomerProfile other)
    {
        if (!other.HasReachMarks)
        {
            return;
        }

        foreach (var m in other.ReachMarks)
        {
            AddReachMark(target.ReachMarks, m);
        }
    }

    private static void MergeSoftBounces(CustomerProfile target, CustomerProfile other)
    {
        if (!other.HasSoftBounces)
        {
            return;
        }

        var marks = target.SoftBounces;
        foreach (var m in other.SoftBounces)
        {
            var same = marks.FindIndex(t => t.Channel == m.Channel && t.Address == m.Address
                && (m.MessageId is not null ? t.MessageId == m.MessageId : t.MessageId is null && t.At == m.At));
            if (same < 0)
            {
                marks.Add(m);
            }
            else if (m.At < marks[same].At)
            {
                marks[same] = m;
            }
        }

        SortSoftBounces(marks);
        if (marks.Count > MaxSoftBounceMarks)
        {
            marks.RemoveRange(0, marks.Count - MaxSoftBounceMarks);
        }
    }
}
