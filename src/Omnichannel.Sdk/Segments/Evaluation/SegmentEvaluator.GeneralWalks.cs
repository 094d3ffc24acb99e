namespace Omnichannel.Sdk.Segments;

// The general walks: calendar windows (months, years), whose exit instants are computed and sorted, and filters that
// time alone changes, scanned in full.
internal static partial class SegmentEvaluator
{
    /// <summary>
    /// The general count walk, for calendar windows (months, years) whose exit instants are computed and sorted: counts
    /// matching events in the window (and ever, up to now), and walks the instants at which events enter or leave the
    /// window until the answer changes.
    /// </summary>
    private static SegmentEvaluation CountWalkSorted(
        ReadOnlySpan<RecordedEvent> events,
        IReadOnlyList<PropertyCondition> where,
        IsoDuration? sliding,
        TimeWindow? window,
        DateTimeOffset now,
        CountTest test,
        Condition? count)
    {
        DateTimeOffset? cutoff = sliding is { } sd ? WindowMath.WindowStart(now, sd) : null;
        int inWindow = 0, ever = 0;
        List<(DateTimeOffset At, int Window, int Ever)>? boundaries = null;
        foreach (var e in events)
        {
            var t = e.Timestamp;
            if (!InFixedWindow(window, t) || !e.Matches(where, now))
            {
                continue;
            }

            if (t <= now)
            {
                ever++;
                if (cutoff is not { } c || t > c)
                {
                    inWindow++;
                    if (sliding is { } d && WindowMath.ExitInstant(t, d) is { } exit)
                    {
                        (boundaries ??= []).Add((exit, -1, 0));
                    }
                }
            }
            else
            {
                (boundaries ??= []).Add((t, 1, 1));
                if (sliding is { } d && WindowMath.ExitInstant(t, d) is { } exit)
                {
                    boundaries.Add((exit, -1, 0));
                }
            }
        }

        var result = Holds(test, count, null, inWindow, ever, now);
        if (boundaries is null)
        {
            return new(result, null);
        }

        boundaries.Sort((a, b) => a.At.CompareTo(b.At));
        for (var i = 0; i < boundaries.Count;)
        {
            var at = boundaries[i].At;
            for (; i < boundaries.Count && boundaries[i].At == at; i++)
            {
                inWindow += boundaries[i].Window;
                ever += boundaries[i].Ever;
            }

            if (Holds(test, count, null, inWindow, ever, now) != result)
            {
                return new(result, at);
            }
        }

        return new(result, null);
    }

    /// <summary>The general scan, for filters that time alone changes: what counts now, and the earliest instant anything changes.</summary>
    private static ScanResult Scan(ReadOnlySpan<RecordedEvent> events, IReadOnlyList<PropertyCondition> where, IsoDuration? sliding, TimeWindow? window, DateTimeOffset now)
    {
        DateTimeOffset? cutoff = sliding is { } sd ? WindowMath.WindowStart(now, sd) : null;
        var matching = new List<RecordedEvent>();
        var counted = new List<RecordedEvent>();
        DateTimeOffset? next = null;
        foreach (var e in events)
        {
            var t = e.Timestamp;
            if (!InFixedWindow(window, t))
            {
                continue;
            }

            var matches = true;
            foreach (var c in where)
            {
                matches &= ConditionMatcher.Matches(c.Condition, e.Property(c.Property), now, out var change);
                next = Min(next, change);
            }

            if (t > now)
            {
                next = Min(next, t);
            }

            if (sliding is { } d && (cutoff is not { } c0 || t > c0))
            {
                next = Min(next, WindowMath.ExitInstant(t, d));
            }

            if (matches && t <= now)
            {
                matching.Add(e);
                if (cutoff is not { } c1 || t > c1)
                {
                    counted.Add(e);
                }
            }
        }

        return new ScanResult(matching, counted, next);
    }

    private sealed record ScanResult(List<RecordedEvent> Matching, List<RecordedEvent> Counted, DateTimeOffset? Next);
}
