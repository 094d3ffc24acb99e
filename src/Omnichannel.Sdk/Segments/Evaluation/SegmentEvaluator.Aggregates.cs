using System.Buffers;

namespace Omnichannel.Sdk.Segments;

// Aggregates (`count`, `sum`, `avg`, `min`, `max`, `distinct` of a property): running walks for count, sum and average
// over windows of days and hours, boundary walks for the rest.
internal static partial class SegmentEvaluator
{
    // Boundary instants examined for min/max/distinct before settling for "may change here".
    private const int RecomputeLimit = 8;

    private static SegmentEvaluation Aggregate(AggregateRule rule, ReadOnlySpan<RecordedEvent> events, DateTimeOffset now)
    {
        var window = rule.Window;
        if (ConditionMatcher.AnyTimeDependent(rule.Where))
        {
            var scan = Scan(events, rule.Where, window?.Within, window, now);
            var values = new List<RuleValue>(scan.Counted.Count);
            foreach (var e in scan.Counted)
            {
                if (Contribution(rule, e, out var v))
                {
                    values.Add(v);
                }
            }

            return new(ConditionMatcher.Matches(rule.Condition, AggregateOf(rule.Function, values), now), scan.Next);
        }

        if (rule.Function is AggregateFunction.Count or AggregateFunction.Sum or AggregateFunction.Avg && !IsCalendar(window?.Within))
        {
            return RunningWalk(rule, events, window, now);
        }

        // Each matching event contributes a value over [enter, exit); the answer can only change at those instants.
        var sliding = window?.Within;
        DateTimeOffset? cutoff = sliding is { } sd ? WindowMath.WindowStart(now, sd) : null;
        var active = new List<RuleValue>();
        List<(DateTimeOffset At, bool Enter, RuleValue Value)>? boundaries = null;
        foreach (var e in events)
        {
            var t = e.Timestamp;
            if (!InFixedWindow(window, t) || (cutoff is { } c && t <= c) || !e.Matches(rule.Where, now) || !Contribution(rule, e, out var v))
            {
                continue;
            }

            if (t <= now)
            {
                active.Add(v);
            }
            else
            {
                (boundaries ??= []).Add((t, true, v));
            }

            if (sliding is { } d && WindowMath.ExitInstant(t, d) is { } exit)
            {
                (boundaries ??= []).Add((exit, false, v));
            }
        }

        var holds = ConditionMatcher.Matches(rule.Condition, AggregateOf(rule.Function, active), now);
        if (boundaries is null)
        {
            return new(holds, null);
        }

        boundaries.Sort((a, b) => a.At.CompareTo(b.At));
        var incremental = rule.Function is AggregateFunction.Count or AggregateFunction.Sum or AggregateFunction.Avg;
        var running = new Running(active);
        var examined = 0;
        for (var i = 0; i < boundaries.Count;)
        {
            var at = boundaries[i].At;
            for (; i < boundaries.Count && boundaries[i].At == at; i++)
            {
                var (_, enter, value) = boundaries[i];
                if (incremental)
                {
                    running.Apply(value, enter);
                }
                else if (enter)
                {
                    active.Add(value);
                }
                else
                {
                    RemoveOne(active, value);
                }
            }

            var aggregate = incremental ? running.Value(rule.Function) : AggregateOf(rule.Function, active);
            if (ConditionMatcher.Matches(rule.Condition, aggregate, at) != holds || (!incremental && ++examined >= RecomputeLimit))
            {
                return new(holds, at);
            }
        }

        return new(holds, null);
    }

    // What an event contributes to an aggregate: the property's value (count without a property: the event itself).
    private static bool Contribution(AggregateRule rule, RecordedEvent e, out RuleValue value)
    {
        if (rule.Property is null)
        {
            value = RuleValue.FromNumber(1);
            return rule.Function == AggregateFunction.Count;
        }

        value = e.Property(rule.Property);
        if (rule.Function is AggregateFunction.Sum or AggregateFunction.Avg or AggregateFunction.Min or AggregateFunction.Max)
        {
            value = RuleValue.AsAmount(value);
        }

        return !value.IsMissing;
    }

    /// <summary>The aggregate of contributed values: numbers for sum/avg/min/max (others skipped), all for count/distinct.</summary>
    internal static RuleValue AggregateOf(AggregateFunction function, IReadOnlyList<RuleValue> values)
    {
        switch (function)
        {
            case AggregateFunction.Count:
                return RuleValue.FromNumber(values.Count);
            case AggregateFunction.Distinct:
                var keys = new HashSet<string>(StringComparer.Ordinal);
                foreach (var v in values)
                {
                    // A list's elements, and (audit U74) the values a path reached through a list: each is one value.
                    if (v.Kind is RuleValueKind.Array or RuleValueKind.Each)
                    {
                        foreach (var item in v.Items!)
                        {
                            if (v.Kind == RuleValueKind.Each && item.Kind == RuleValueKind.Array)
                            {
                                // Each product's list (products.tags): its elements, as a list value's are.
                                foreach (var element in item.Items!)
                                {
                                    if (!element.IsMissing)
                                    {
                                        keys.Add(element.DistinctKey());
                                    }
                                }
                            }
                            else if (!item.IsMissing)
                            {
                                keys.Add(item.DistinctKey());
                            }
                        }
                    }
                    else
                    {
                        keys.Add(v.DistinctKey());
                    }
                }

                return RuleValue.FromNumber(keys.Count);
        }

        decimal sum = 0, min = decimal.MaxValue, max = decimal.MinValue;
        var n = 0;
        foreach (var v in values)
        {
            if (v.Kind != RuleValueKind.Number)
            {
                continue;
            }

            n++;
            sum = SaturatingAdd(sum, v.Number);
            min = Math.Min(min, v.Number);
            max = Math.Max(max, v.Number);
        }

        return function switch
        {
            AggregateFunction.Sum => RuleValue.FromNumber(sum),
            AggregateFunction.Avg => n == 0 ? RuleValue.Missing : RuleValue.FromNumber(sum / n),
            AggregateFunction.Min => n == 0 ? RuleValue.Missing : RuleValue.FromNumber(min),
            AggregateFunction.Max => n == 0 ? RuleValue.Missing : RuleValue.FromNumber(max),
            _ => RuleValue.Missing,
        };
    }

    private static decimal SaturatingAdd(decimal a, decimal b)
    {
        try
        {
            return a + b;
        }
        catch (OverflowException)
        {
            return b > 0 ? decimal.MaxValue : decimal.MinValue;
        }
    }

    private static void RemoveOne(List<RuleValue> values, in RuleValue value)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (RuleValue.SameValue(values[i], value))
            {
                values.RemoveAt(i);
                return;
            }
        }
    }

    /// <summary>Count, sum and number of numeric values, kept up to date as values enter and leave.</summary>
    private struct Running
    {
        private int _count;
        private int _numbers;
        private decimal _sum;

        public Running(List<RuleValue> values)
        {
            foreach (var v in values)
            {
                Apply(v, true);
            }
        }

        public void Apply(in RuleValue v, bool enter)
        {
            var sign = enter ? 1 : -1;
            _count += sign;
            if (v.Kind == RuleValueKind.Number)
            {
                _numbers += sign;
                _sum = SaturatingAdd(_sum, enter ? v.Number : -v.Number);
            }
        }

        public readonly RuleValue Value(AggregateFunction f) => f switch
        {
            AggregateFunction.Count => RuleValue.FromNumber(_count),
            AggregateFunction.Sum => RuleValue.FromNumber(_sum),
            _ => _numbers == 0 ? RuleValue.Missing : RuleValue.FromNumber(_sum / _numbers),
        };
    }

    private static bool AllNonNegative(ReadOnlySpan<RuleValue> values)
    {
        foreach (var v in values)
        {
            if (v.Kind == RuleValueKind.Number && v.Number < 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Count, sum and average (whose running value is exact as values enter and leave) over a window of days and hours:
    /// the same ordered walk as <see cref="CountWalk"/>, applying each event's contribution.
    /// </summary>
    private static SegmentEvaluation RunningWalk(AggregateRule rule, ReadOnlySpan<RecordedEvent> events, TimeWindow? window, DateTimeOffset now)
    {
        var filter = WhereFilter.Of(rule.Where);
        var operand = ConditionMatcher.OperandOf(rule.Condition);
        var sliding = window?.Within;
        var n = events.Length;
        var hi = UpperBound(events, now);
        var lo = sliding is { } sd ? Math.Min(hi, UpperBound(events, WindowMath.WindowStart(now, sd))) : 0;
        var running = default(Running);
        var m = 0;
        var indexes = hi > lo ? ArrayPool<int>.Shared.Rent(hi - lo) : [];
        var values = hi > lo ? ArrayPool<RuleValue>.Shared.Rent(hi - lo) : [];
        try
        {
            for (var i = lo; i < hi; i++)
            {
                if (Contributes(rule, events[i], filter, window, now, out var v))
                {
                    running.Apply(v, true);
                    indexes[m] = i;
                    values[m++] = v;
                }
            }

            var result = ConditionMatcher.Matches(rule.Condition, operand, running.Value(rule.Function), now, out _);
            if (NextContribution(rule, events, hi, filter, window, now, out _) < n)
            {
                return RunningWalk(rule, events, window, now, filter, operand, lo, running, result);
            }

            // No future event: only exits, in time order, each taking its value out.
            if (sliding is not { } exitAfter)
            {
                return new(result, null);
            }

            // A sum or count of values that are all ≥ 0 only falls as they leave: "≥"/">" false, or "≤"/"<" true, stays.
            if (rule.Function is AggregateFunction.Sum or AggregateFunction.Count &&
                (result ? rule.Condition.Op is ConditionOperator.Lt or ConditionOperator.Lte : rule.Condition.Op is ConditionOperator.Gt or ConditionOperator.Gte) &&
                (rule.Function == AggregateFunction.Count || AllNonNegative(values.AsSpan(0, m))))
            {
                return new(result, null);
            }

            for (var j = 0; j < m; j++)
            {
                running.Apply(values[j], false);
                var t = events[indexes[j]].Timestamp;
                if (j + 1 < m && events[indexes[j + 1]].Timestamp == t)
                {
                    continue;
                }

                if (WindowMath.ExitInstant(t, exitAfter) is not { } at)
                {
                    return new(result, null);
                }

                if (ConditionMatcher.Matches(rule.Condition, operand, running.Value(rule.Function), at, out _) != result)
                {
                    return new(result, at);
                }
            }

            return new(result, null);
        }
        finally
        {
            if (indexes.Length > 0)
            {
                ArrayPool<int>.Shared.Return(indexes);
                ArrayPool<RuleValue>.Shared.Return(values, clearArray: true);
            }
        }
    }

    // The general walk for running aggregates: exits merged with entries of future events.
    private static SegmentEvaluation RunningWalk(
        AggregateRule rule,
        ReadOnlySpan<RecordedEvent> events,
        TimeWindow? window,
        DateTimeOffset now,
        WhereFilter filter,
        ConditionMatcher.Operand operand,
        int lo,
        Running running,
        bool holds)
    {
        var n = events.Length;
        var sliding = window?.Within;
        var hi = UpperBound(events, now);
        var d = sliding.GetValueOrDefault();
        RuleValue exitValue = default, entryValue = default;
        var x = sliding is null ? n : NextContribution(rule, events, lo, filter, window, now, out exitValue);
        var exitAt = x < n ? WindowMath.ExitInstant(events[x].Timestamp, d) : null;
        var f = NextContribution(rule, events, hi, filter, window, now, out entryValue);
        while (exitAt is not null || f < n)
        {
            var at = exitAt is { } ex && (f >= n || ex <= events[f].Timestamp) ? ex : events[f].Timestamp;
            while (exitAt is { } e && e == at)
            {
                running.Apply(exitValue, false);
                x = NextContribution(rule, events, x + 1, filter, window, now, out exitValue);
                exitAt = x < n ? WindowMath.ExitInstant(events[x].Timestamp, d) : null;
            }

            while (f < n && events[f].Timestamp == at)
            {
                running.Apply(entryValue, true);
                f = NextContribution(rule, events, f + 1, filter, window, now, out entryValue);
            }

            if (ConditionMatcher.Matches(rule.Condition, operand, running.Value(rule.Function), at, out _) != holds)
            {
                return new(holds, at);
            }
        }

        return new(holds, null);
    }

    private static bool Contributes(AggregateRule rule, RecordedEvent e, WhereFilter filter, TimeWindow? window, DateTimeOffset now, out RuleValue value)
    {
        if (InFixedWindow(window, e.Timestamp) && filter.Matches(e, now))
        {
            return Contribution(rule, e, out value);
        }

        value = default;
        return false;
    }

    private static int NextContribution(AggregateRule rule, ReadOnlySpan<RecordedEvent> events, int from, WhereFilter filter, TimeWindow? window, DateTimeOffset now, out RuleValue value)
    {
        for (var i = from; i < events.Length; i++)
        {
            if (Contributes(rule, events[i], filter, window, now, out value))
            {
                return i;
            }
        }

        value = default;
        return events.Length;
    }
}
