using System.Buffers;
using System.Runtime.InteropServices;

namespace Omnichannel.Sdk.Segments;

/// <summary>The answer of a segment for a profile at an instant.</summary>
/// <param name="IsMember">Whether the profile is in the segment.</param>
/// <param name="NextCheckAt">
/// The earliest instant after the evaluation instant at which the answer may change with no new event (re-evaluate
/// exactly then: at that instant, not a tick later, the new answer holds); <see langword="null"/> when only an event can
/// change it.
/// </param>
internal readonly record struct SegmentEvaluation(bool IsMember, DateTimeOffset? NextCheckAt);

/// <summary>What a rule reads: the profile, its rule history, and its current memberships of other segments.</summary>
/// <param name="Profile">The profile (traits, statistics, lifecycle stage, identifiers, consents).</param>
/// <param name="History">The events kept for rules.</param>
/// <param name="IsMemberOf">Whether the profile is currently a member of the segment with this id.</param>
/// <param name="DefaultTimeZone">The zone of customers whose own is unknown (IANA id), for local dates; UTC when null.</param>
internal sealed record SegmentSubject(CustomerProfile Profile, RuleHistory History, Func<string, bool> IsMemberOf, string? DefaultTimeZone = null)
{
    /// <summary>The customer's zone for local dates (anniversaries): see <see cref="LocalTime.ZoneOf"/>.</summary>
    public TimeZoneInfo Zone => field ??= LocalTime.ZoneOf(Profile.TimeZone, DefaultTimeZone);
}

/// <summary>
/// Evaluates segment rules exactly at an instant, and computes when the answer can next change by the passing of time
/// alone. Pure: no clock, no I/O; <c>now</c> is a parameter.
/// </summary>
/// <remarks>
/// <para>Semantics. Sliding window <c>within D</c> at <c>t</c>: events with <c>t − D &lt; time ≤ t</c>, where
/// <c>t − D</c> is <see cref="IsoDuration.SubtractFrom"/> made monotone (<see cref="WindowMath.WindowStart"/>: they differ
/// only inside month-end clamping runs, where the raw one would let an event leave and re-enter the window). Fixed window: <c>From ≤ time &lt; To</c> and <c>time ≤ t</c>. Events after
/// <c>t</c> never count (they start counting at their own time). Recency: <c>withinLast D</c> ⇔ time &gt; t − D;
/// <c>moreThanAgo D</c> ⇔ time ≤ t − D, false when there is no event.</para>
/// <para>Membership of another segment is read as it is now; it changes only when that segment is re-evaluated, and the
/// engine then re-evaluates the segments that reference it, so it contributes no check instant of its own.</para>
/// </remarks>
internal static class SegmentEvaluator
{
    // Boundary instants examined for min/max/distinct before settling for "may change here".
    private const int RecomputeLimit = 8;

    /// <summary>Evaluates <paramref name="segment"/> for <paramref name="subject"/> at <paramref name="now"/>.</summary>
    /// <param name="segment">The segment.</param>
    /// <param name="subject">What the rules read.</param>
    /// <param name="now">The evaluation instant.</param>
    public static SegmentEvaluation Evaluate(SegmentDefinition segment, SegmentSubject subject, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ArgumentNullException.ThrowIfNull(subject);
        return Evaluate(segment.Rule, subject, now);
    }

    /// <summary>Evaluates one rule (a segment's rule or a part of it).</summary>
    /// <param name="rule">The rule.</param>
    /// <param name="subject">What the rule reads.</param>
    /// <param name="now">The evaluation instant.</param>
    public static SegmentEvaluation Evaluate(SegmentRule rule, SegmentSubject subject, DateTimeOffset now) => rule switch
    {
        AllRule all => All(all.Rules, subject, now),
        AnyRule any => Any(any.Rules, subject, now),
        NotRule not => Evaluate(not.Rule, subject, now) is var r ? new(!r.IsMember, r.NextCheckAt) : default,
        TraitRule t => Value(t.Condition, TraitValue(subject.Profile, t.Path), now, subject),
        StatisticRule s => Value(s.Condition, StatisticValue(subject.Profile, s.Statistic), now, subject),
        SegmentMembershipRule m => new(subject.IsMemberOf(m.SegmentId), null),
        ReachableRule r => new(IsReachable(subject.Profile, r.Channel, r.Topic), null),
        EventRule e => HistoryRule(e, e.EventType, subject.History, now),
        AggregateRule a => HistoryRule(a, a.EventType, subject.History, now),
        RecencyRule r => HistoryRule(r, r.EventType, subject.History, now),
        _ => throw new ArgumentException($"Unknown rule type {rule.GetType().Name}.", nameof(rule)),
    };

    // A rule over the kept events of one type. On a long kept list: the remembered answer while it stays exact, else
    // the rule's running window, else the walk over the kept events (see LeafAnswerCache and RunningWindow).
    private static SegmentEvaluation HistoryRule(SegmentRule rule, string eventType, RuleHistory history, DateTimeOffset now)
    {
        var list = history.ListOf(eventType);
        if (list is null || list.Count < LeafAnswerCache.MinEvents)
        {
            return Walk(rule, list is null ? default : CollectionsMarshal.AsSpan(list), now);
        }

        var entry = history.Answers.For(rule, eventType, list);
        if (!entry.Cacheable)
        {
            return Walk(rule, CollectionsMarshal.AsSpan(list), now);
        }

        if (entry.TryGet(now, out var answer))
        {
            return answer;
        }

        if (entry.Running)
        {
            if (entry.Window is not { } window || window.At > now)
            {
                entry.Window = window = RunningWindow.Build(rule, CollectionsMarshal.AsSpan(list), now);
            }

            if (!window.TryEvaluate(now, out answer))
            {
                answer = Walk(rule, CollectionsMarshal.AsSpan(list), now);
            }
        }
        else
        {
            answer = Walk(rule, CollectionsMarshal.AsSpan(list), now);
        }

        entry.Set(now, answer);
        return answer;
    }

    /// <summary>A history rule walked over the kept events, remembering nothing (what the remembered answers must equal).</summary>
    internal static SegmentEvaluation Walk(SegmentRule rule, ReadOnlySpan<RecordedEvent> events, DateTimeOffset now) => rule switch
    {
        EventRule e => Event(e, events, now),
        AggregateRule a => Aggregate(a, events, now),
        _ => Recency((RecencyRule)rule, events, now),
    };

    // Children that read the profile only (no history): cheap, and often an answer time cannot change.
    private static bool IsCheap(SegmentRule rule) => rule is TraitRule or StatisticRule or SegmentMembershipRule or ReachableRule;

    private static SegmentEvaluation All(IReadOnlyList<SegmentRule> rules, SegmentSubject subject, DateTimeOffset now)
    {
        var holds = true;
        DateTimeOffset? anyChange = null, falseChange = null;

        // Cheap children first: one false child that time cannot change makes the whole false for good, whatever the
        // others say (the answer below would be exactly that), so the others need not be evaluated.
        for (var pass = 0; pass < 2; pass++)
        {
            for (var i = 0; i < rules.Count; i++)
            {
                var rule = rules[i];
                if (IsCheap(rule) != (pass == 0))
                {
                    continue;
                }

                var r = Evaluate(rule, subject, now);
                anyChange = Min(anyChange, r.NextCheckAt);
                if (!r.IsMember)
                {
                    if (r.NextCheckAt is null)
                    {
                        return new(false, null);
                    }

                    holds = false;
                    falseChange = Min(falseChange, r.NextCheckAt);
                }
            }
        }

        // False stays false until a false child changes.
        return holds ? new(true, anyChange) : new(false, falseChange);
    }

    private static SegmentEvaluation Any(IReadOnlyList<SegmentRule> rules, SegmentSubject subject, DateTimeOffset now)
    {
        var holds = false;
        DateTimeOffset? anyChange = null, trueChange = null;

        // Cheap children first: one true child that time cannot change makes the whole true for good.
        for (var pass = 0; pass < 2; pass++)
        {
            for (var i = 0; i < rules.Count; i++)
            {
                var rule = rules[i];
                if (IsCheap(rule) != (pass == 0))
                {
                    continue;
                }

                var r = Evaluate(rule, subject, now);
                anyChange = Min(anyChange, r.NextCheckAt);
                if (r.IsMember)
                {
                    if (r.NextCheckAt is null)
                    {
                        return new(true, null);
                    }

                    holds = true;
                    trueChange = Min(trueChange, r.NextCheckAt);
                }
            }
        }

        return holds ? new(true, trueChange) : new(false, anyChange);
    }

    private static SegmentEvaluation Value(Condition condition, in RuleValue value, DateTimeOffset now, SegmentSubject subject) =>
        new(ConditionMatcher.Matches(condition, ConditionMatcher.OperandOf(condition), value, now, out var next, condition.Op == ConditionOperator.AnniversaryWithin ? subject.Zone : null), next);

    /// <summary>A trait by dotted path: the leaf value, or an object when only deeper traits are set under the path.</summary>
    internal static RuleValue TraitValue(CustomerProfile p, string path)
    {
        if (p.TraitValues.TryGetValue(path, out var tv))
        {
            return tv.Value is { } v ? RuleValue.FromElement(v) : RuleValue.Missing;
        }

        foreach (var (key, value) in p.TraitValues)
        {
            if (value.Value is not null && key.Length > path.Length && key[path.Length] == '.' && key.StartsWith(path, StringComparison.Ordinal))
            {
                return RuleValue.Object;
            }
        }

        return RuleValue.Missing;
    }

    /// <summary>A statistic by its <see cref="ProfileStatisticNames"/> name (missing for an unknown name or an unset date).</summary>
    internal static RuleValue StatisticValue(CustomerProfile p, string name)
    {
        var s = p.Statistics;
        return name switch
        {
            ProfileStatisticNames.OrderCount => RuleValue.FromNumber(s.OrderCount),
            ProfileStatisticNames.TotalSpent => RuleValue.FromNumber(s.TotalSpent),
            ProfileStatisticNames.AverageOrderValue => RuleValue.FromNumber(s.AverageOrderValue),
            ProfileStatisticNames.FirstOrderAt => RuleValue.FromDate(s.FirstOrderAt),
            ProfileStatisticNames.LastOrderAt => RuleValue.FromDate(s.LastOrderAt),
            ProfileStatisticNames.FirstSeen => RuleValue.FromDate(s.FirstSeen),
            ProfileStatisticNames.LastSeen => RuleValue.FromDate(s.LastSeen),
            ProfileStatisticNames.EventCount => RuleValue.FromNumber(s.EventCount),
            ProfileStatisticNames.ReturnCount => RuleValue.FromNumber(s.ReturnCount),
            ProfileStatisticNames.ReturnValue => RuleValue.FromNumber(s.ReturnValue),
            ProfileStatisticNames.CancelledOrderCount => RuleValue.FromNumber(s.CancelledOrderCount),
            ProfileStatisticNames.LoyaltyPoints => RuleValue.FromNumber(s.LoyaltyPoints),
            ProfileStatisticNames.ReferralsSent => RuleValue.FromNumber(s.ReferralsSent),
            ProfileStatisticNames.ReferralsConverted => RuleValue.FromNumber(s.ReferralsConverted),
            ProfileStatisticNames.ChannelsUsed => RuleValue.FromArray([.. s.ChannelsUsed.Order(StringComparer.Ordinal).Select(RuleValue.FromString)]),
            ProfileStatisticNames.LifecycleStage => RuleValue.FromString(LifecycleName(p.LifecycleStage)),
            ProfileStatisticNames.CartLineCount => RuleValue.FromNumber(p.CartLines.Count),
            ProfileStatisticNames.CartValue => RuleValue.FromNumber(p.CartLines.Values.Sum(l => l.Quantity * (l.UnitPrice ?? 0))),
            ProfileStatisticNames.CartUpdatedAt => RuleValue.FromDate(p.CartLines.Count == 0 ? null : p.CartLines.Values.Max(l => l.UpdatedAt)),
            _ => RuleValue.Missing,
        };
    }

    private static string LifecycleName(LifecycleStage stage) => stage switch
    {
        LifecycleStage.Visitor => "visitor",
        LifecycleStage.Lead => "lead",
        LifecycleStage.Customer => "customer",
        _ => "repeatCustomer",
    };

    /// <summary>An address on the channel (email → <c>email</c>, sms/whatsapp → <c>phone</c>, push → <c>device_id</c>, else an identifier named like the channel) and consent granted.</summary>
    internal static bool IsReachable(CustomerProfile p, string channel, string? topic)
    {
        var identifierType = channel switch
        {
            ChannelNames.Email => IdentifierTypes.Email,
            ChannelNames.Sms or ChannelNames.WhatsApp => IdentifierTypes.Phone,
            ChannelNames.Push => IdentifierTypes.DeviceId,
            _ => channel,
        };
        return p.IdentifierList.Exists(i => i.Type == identifierType) && p.GetConsent(channel, topic)?.Granted == true;
    }

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
                    if (v.Kind == RuleValueKind.Array)
                    {
                        foreach (var item in v.Items!)
                        {
                            if (!item.IsMissing)
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
            if (values[i].Kind == value.Kind && RuleValue.AreEqual(values[i], value))
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

    // Months and years make exit instants calendar-dependent: those windows take the general, sorting walk.
    private static bool IsCalendar(IsoDuration? d) => d is { } x && (x.Years != 0 || x.Months != 0);

    /// <summary>The index of the first event after <paramref name="time"/> (events are time-ordered).</summary>
    private static int UpperBound(ReadOnlySpan<RecordedEvent> events, DateTimeOffset time)
    {
        int lo = 0, hi = events.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (events[mid].Timestamp <= time)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

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

            return Walk(events, filter, window, sliding, lo, f, test, count, operand, inWindow, ever, result, now);
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

    // The general walk: exits of counted events (from the window's start on) merged with entries of future ones.
    private static SegmentEvaluation Walk(
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

    private static bool InFixedWindow(TimeWindow? window, DateTimeOffset t) =>
        window is null || window.Within is not null || ((window.From is not { } from || t >= from) && (window.To is not { } to || t < to));

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;
}
