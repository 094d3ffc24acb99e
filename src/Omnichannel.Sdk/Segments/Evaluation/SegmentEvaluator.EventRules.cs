using System.Buffers;

namespace Omnichannel.Sdk.Segments;

// Event counts and recency (`event`, `firstEvent`, `lastEvent`): ordered walks over the kept events of one type that
// count the window and find the first instant the answer changes.
internal static partial class SegmentEvaluator
{
    private static SegmentEvaluation Event(EventRule rule, ReadOnlySpan<RecordedEvent> events, DateTimeOffset now)
    {
        var window = rule.Window;
        if (ConditionMatcher.AnyTimeDependent(rule.Where))
        {
            var scan = Scan(events, rule.Where, window?.Within, window, now);
            var n = scan.Counted.Count;
            return new(rule.Count is null ? n >= 1 : ConditionMatcher.Matches(rule.Count, RuleValue.FromNumber(n), now), scan.Next);
        }

        return CountWalk(events, rule.Where, window?.Within, window, now, CountTest.Count, rule.Count);
    }

    private static SegmentEvaluation Recency(RecencyRule rule, ReadOnlySpan<RecordedEvent> events, DateTimeOffset now)
    {
        var d = rule.Duration;
        var withinLast = rule.Op == ConditionOperator.WithinLast;
        if (rule.Op is not (ConditionOperator.WithinLast or ConditionOperator.MoreThanAgo))
        {
            return new(false, null);
        }

        if (ConditionMatcher.AnyTimeDependent(rule.Where))
        {
            var scan = Scan(events, rule.Where, d, null, now);
            var matching = scan.Matching;
            if (matching.Count == 0)
            {
                return new(false, scan.Next);
            }

            var time = rule.Which == RecencyKind.First ? matching[0].Timestamp : matching[^1].Timestamp;
            var cutoff = WindowMath.WindowStart(now, d);
            return new(withinLast ? time > cutoff : time <= cutoff, scan.Next);
        }

        if (rule.Which == RecencyKind.Last)
        {
            // The last event is within D ⇔ some event is in the window; more than D ago ⇔ some event, none in the window.
            return CountWalk(events, rule.Where, d, null, now, withinLast ? CountTest.LastWithin : CountTest.LastMoreThanAgo, null);
        }

        // The first event never changes once it is past; a future one only starts counting at its time.
        RecordedEvent? first = null;
        var filter = WhereFilter.Of(rule.Where);
        foreach (var e in events)
        {
            if (filter.Matches(e, now))
            {
                first = e;
                break;
            }
        }

        if (first is null)
        {
            return new(false, null);
        }

        var t = first.Timestamp;
        var exit = WindowMath.ExitInstant(t, d);
        var past = t <= now;
        var inWindow = past && t > WindowMath.WindowStart(now, d);
        if (withinLast)
        {
            return inWindow ? new(true, exit) : past ? new(false, null) : new(false, t);
        }

        var ago = past && !inWindow;
        return ago ? new(true, null) : new(false, exit);
    }

    /// <summary>What a count walk decides from the number of matching events in the window and ever (up to the instant).</summary>
    private enum CountTest
    {
        /// <summary>An event rule: the count condition on the window's count (at least one without a condition).</summary>
        Count,

        /// <summary><c>lastEvent withinLast</c>: some matching event in the window.</summary>
        LastWithin,

        /// <summary><c>lastEvent moreThanAgo</c>: some matching event ever, none in the window.</summary>
        LastMoreThanAgo,
    }

    private static bool Holds(CountTest test, Condition? count, ConditionMatcher.Operand? operand, int inWindow, int ever, DateTimeOffset now) => test switch
    {
        CountTest.Count => count is null
            ? inWindow >= 1
            : ConditionMatcher.Matches(count, operand ?? ConditionMatcher.OperandOf(count), RuleValue.FromNumber(inWindow), now, out _),
        CountTest.LastWithin => inWindow >= 1,
        _ => ever >= 1 && inWindow == 0,
    };

    /// <summary>
    /// Counts matching events in the window (and ever, up to now), and walks the instants at which events enter or
    /// leave the window until the answer changes: that instant is the next check, exactly. Events are time-ordered and,
    /// for windows of days and hours, exit instants are too, so the window is found by binary search and the walk merges
    /// two ordered streams (exits of counted and future events, entries of future events) with no sorting.
    /// </summary>
    private static SegmentEvaluation CountWalk(
        ReadOnlySpan<RecordedEvent> events,
        IReadOnlyList<PropertyCondition> where,
        IsoDuration? sliding,
        TimeWindow? window,
        DateTimeOffset now,
        CountTest test,
        Condition? count)
    {
        if (IsCalendar(sliding))
        {
            return CountWalkSorted(events, where, sliding, window, now, test, count);
        }

        var filter = WhereFilter.Of(where);
        var operand = count is null ? null : ConditionMatcher.OperandOf(count);
        var n = events.Length;
        var hi = UpperBound(events, now);
        var lo = sliding is { } sd ? Math.Min(hi, UpperBound(events, WindowMath.WindowStart(now, sd))) : 0;

        if (test != CountTest.Count && sliding is { } recency && NextCounted(events, hi, filter, window, now) >= n)
        {
            return LastEventWalk(events, filter, window, recency, lo, hi, test, now);
        }

        // The counted events in the window, by index (null: all of [lo, hi) count), each filtered once.
        int[]? counted = null;
        var inWindow = 0;
        try
        {
            if (filter.IsEmpty && window?.From is null && window?.To is null)
            {
                inWindow = hi - lo;
            }
            else if (hi > lo)
            {
                counted = ArrayPool<int>.Shared.Rent(hi - lo);
                for (var i = lo; i < hi; i++)
                {
                    if (Counts(events[i], filter, window, now))
                    {
                        counted[inWindow++] = i;
                    }
                }
            }

            // Only "ever ≥ 1" is ever asked: one matching event before the window is enough.
            var ever = inWindow;
            if (test == CountTest.LastMoreThanAgo && ever == 0)
            {
                for (var i = lo - 1; i >= 0; i--)
                {
                    if (Counts(events[i], filter, window, now))
                    {
                        ever = 1;
                        break;
                    }
                }
            }

            var result = Holds(test, count, operand, inWindow, ever, now);
            var f = NextCounted(events, hi, filter, window, now);
            if (f >= n)
            {
                // No future event: only exits, in time order, each lowering the count by one.
                if (sliding is not { } exitAfter)
                {
                    return new(result, null);
                }

                // As the count only falls, some answers can never change: skip the walk.
                if (StaysAsCountFalls(test, count, result))
                {
                    return new(result, null);
                }

                var m = inWindow;
                for (var j = 0; j < m; j++)
                {
                    var t = events[counted is null ? lo + j : counted[j]].Timestamp;

                    // Events at the same time leave together (whole days and hours: equal times, equal exits).
                    if (j + 1 < m && events[counted is null ? lo + j + 1 : counted[j + 1]].Timestamp == t)
                    {
                        continue;
                    }

                    if (Holds(test, count, operand, m - j - 1, ever, now) != result)
                    {
                        return new(result, WindowMath.ExitInstant(t, exitAfter));
                    }
                }

                return new(result, null);
            }

            return MergedWalk(events, filter, window, sliding, lo, f, test, count, operand, inWindow, ever, result, now);
        }
        finally
        {
            if (counted is not null)
            {
                ArrayPool<int>.Shared.Return(counted);
            }
        }
    }

    /// <summary>
    /// <c>lastEvent withinLast</c> and <c>moreThanAgo</c> with no counted event after <paramref name="now"/>: both answers
    /// depend only on whether some counted event is in the window (and one ever is), so only the last counted past event
    /// matters, found from the end; the answer can change only when it leaves, at its exit instant. The same answer as
    /// the general walk, which would count the window and then walk every exit up to that one.
    /// </summary>
    private static SegmentEvaluation LastEventWalk(
        ReadOnlySpan<RecordedEvent> events, WhereFilter filter, TimeWindow? window, IsoDuration sliding, int lo, int hi, CountTest test, DateTimeOffset now)
    {
        var last = -1;
        for (var i = hi - 1; i >= 0; i--)
        {
            if (Counts(events[i], filter, window, now))
            {
                last = i;
                break;
            }
        }

        if (last < 0)
        {
            return new(false, null);
        }

        var inWindow = last >= lo;
        var exit = WindowMath.ExitInstant(events[last].Timestamp, sliding);
        return test == CountTest.LastWithin
            ? (inWindow ? new(true, exit) : new(false, null))
            : (inWindow ? new(false, exit) : new(true, null));
    }

    // Whether the answer of a count test cannot change while the window's count only falls (ever stays as it is).
    private static bool StaysAsCountFalls(CountTest test, Condition? count, bool result) => test switch
    {
        CountTest.Count when count is null => !result,
        CountTest.Count => result ? count.Op is ConditionOperator.Lt or ConditionOperator.Lte : count.Op is ConditionOperator.Gt or ConditionOperator.Gte,
        CountTest.LastWithin => !result,
        _ => result,
    };

    // The general walk: exits of counted events (from the window's start on) merged with entries of future ones.
    private static SegmentEvaluation MergedWalk(
        ReadOnlySpan<RecordedEvent> events,
        WhereFilter filter,
        TimeWindow? window,
        IsoDuration? sliding,
        int lo,
        int f,
        CountTest test,
        Condition? count,
        ConditionMatcher.Operand? operand,
        int inWindow,
        int ever,
        bool result,
        DateTimeOffset now)
    {
        var n = events.Length;
        var d = sliding.GetValueOrDefault();
        var x = sliding is null ? n : NextCounted(events, lo, filter, window, now);
        var exitAt = x < n ? WindowMath.ExitInstant(events[x].Timestamp, d) : null;
        while (exitAt is not null || f < n)
        {
            var at = exitAt is { } ex && (f >= n || ex <= events[f].Timestamp) ? ex : events[f].Timestamp;
            while (exitAt is { } e && e == at)
            {
                inWindow--;
                x = NextCounted(events, x + 1, filter, window, now);
                exitAt = x < n ? WindowMath.ExitInstant(events[x].Timestamp, d) : null;
            }

            while (f < n && events[f].Timestamp == at)
            {
                inWindow++;
                ever++;
                f = NextCounted(events, f + 1, filter, window, now);
            }

            if (Holds(test, count, operand, inWindow, ever, now) != result)
            {
                return new(result, at);
            }
        }

        return new(result, null);
    }

    private static bool Counts(RecordedEvent e, WhereFilter filter, TimeWindow? window, DateTimeOffset now) =>
        InFixedWindow(window, e.Timestamp) && filter.Matches(e, now);

    private static int NextCounted(ReadOnlySpan<RecordedEvent> events, int from, WhereFilter filter, TimeWindow? window, DateTimeOffset now)
    {
        var i = from;
        while (i < events.Length && !Counts(events[i], filter, window, now))
        {
            i++;
        }

        return i;
    }
}
