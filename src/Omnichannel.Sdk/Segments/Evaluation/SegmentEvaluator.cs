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

    /// <summary>The profile's own zone when the subject was made (a kept subject is remade when it changes, with <see cref="Zone"/>).</summary>
    internal string? ProfileTimeZone { get; init; }
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
internal static partial class SegmentEvaluator
{
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

    private static bool InFixedWindow(TimeWindow? window, DateTimeOffset t) =>
        window is null || window.Within is not null || ((window.From is not { } from || t >= from) && (window.To is not { } to || t < to));

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;
}
