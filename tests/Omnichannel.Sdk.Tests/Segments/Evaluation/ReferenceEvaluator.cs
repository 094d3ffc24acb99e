using System.Text.Json;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

/// <summary>
/// A from-scratch evaluation of event rules over the full list of events (no history, no pruning, no walking of
/// boundaries): the definition of the semantics, written the plainest way, to check the real evaluator against.
/// It shares only <see cref="ConditionMatcher"/> (value comparison, tested on its own) with it.
/// </summary>
internal static class ReferenceEvaluator
{
    public static bool Holds(SegmentRule rule, IReadOnlyList<CustomerEvent> all, DateTimeOffset t) => rule switch
    {
        AllRule a => a.Rules.All(r => Holds(r, all, t)),
        AnyRule a => a.Rules.Any(r => Holds(r, all, t)),
        NotRule n => !Holds(n.Rule, all, t),
        EventRule e => EventHolds(e, all, t),
        AggregateRule a => AggregateHolds(a, all, t),
        RecencyRule r => RecencyHolds(r, all, t),
        _ => throw new NotSupportedException(rule.GetType().Name),
    };

    private static bool EventHolds(EventRule rule, IReadOnlyList<CustomerEvent> all, DateTimeOffset t)
    {
        var n = InWindow(all, rule.EventType, rule.Where, rule.Window, t).Count();
        return rule.Count is null ? n >= 1 : ConditionMatcher.Matches(rule.Count, RuleValue.FromNumber(n), t);
    }

    private static bool AggregateHolds(AggregateRule rule, IReadOnlyList<CustomerEvent> all, DateTimeOffset t)
    {
        var events = InWindow(all, rule.EventType, rule.Where, rule.Window, t).ToList();
        var values = rule.Property is null ? [] : events.Select(e => Read(e, rule.Property)).Where(v => !v.IsMissing).ToList();
        var numbers = values.Where(v => v.Kind == RuleValueKind.Number).Select(v => v.Number).ToList();
        var aggregate = rule.Function switch
        {
            AggregateFunction.Count => RuleValue.FromNumber(rule.Property is null ? events.Count : values.Count),
            AggregateFunction.Sum => RuleValue.FromNumber(numbers.Sum()),
            AggregateFunction.Avg => numbers.Count == 0 ? RuleValue.Missing : RuleValue.FromNumber(numbers.Sum() / numbers.Count),
            AggregateFunction.Min => numbers.Count == 0 ? RuleValue.Missing : RuleValue.FromNumber(numbers.Min()),
            AggregateFunction.Max => numbers.Count == 0 ? RuleValue.Missing : RuleValue.FromNumber(numbers.Max()),
            AggregateFunction.Distinct => RuleValue.FromNumber(values
                .SelectMany(v => v.Kind == RuleValueKind.Array ? v.Items! : [v])
                .Select(v => v.Kind == RuleValueKind.Number ? "n" + v.Number.ToString("G29", System.Globalization.CultureInfo.InvariantCulture) : v.Kind + ":" + v.Text + v.Boolean)
                .Distinct(StringComparer.Ordinal)
                .Count()),
            _ => throw new NotSupportedException(),
        };
        return ConditionMatcher.Matches(rule.Condition, aggregate, t);
    }

    private static bool RecencyHolds(RecencyRule rule, IReadOnlyList<CustomerEvent> all, DateTimeOffset t)
    {
        var times = all.Where(e => e.Type == rule.EventType && e.Timestamp <= t && Matches(e, rule.Where, t)).Select(e => e.Timestamp).ToList();
        if (times.Count == 0)
        {
            return false;
        }

        var time = rule.Which == RecencyKind.First ? times.Min() : times.Max();
        var start = WindowMath.WindowStart(t, rule.Duration);
        return rule.Op == ConditionOperator.WithinLast ? time > start : time <= start;
    }

    private static IEnumerable<CustomerEvent> InWindow(IReadOnlyList<CustomerEvent> all, string type, IReadOnlyList<PropertyCondition> where, TimeWindow? window, DateTimeOffset t) =>
        all.Where(e => e.Type == type && e.Timestamp <= t && InWindow(e.Timestamp, window, t) && Matches(e, where, t));

    private static bool InWindow(DateTimeOffset time, TimeWindow? window, DateTimeOffset t)
    {
        if (window is null)
        {
            return true;
        }

        if (window.Within is { } d)
        {
            return WindowMath.WindowStart(t, d) < time && time <= t;
        }

        return (window.From is null || window.From <= time) && (window.To is null || time < window.To);
    }

    private static bool Matches(CustomerEvent e, IReadOnlyList<PropertyCondition> where, DateTimeOffset t) =>
        where.All(w => ConditionMatcher.Matches(w.Condition, Read(e, w.Property), t));

    private static RuleValue Read(CustomerEvent e, string path)
    {
        var node = e.Properties;
        foreach (var part in path.Split('.'))
        {
            if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(part, out node))
            {
                return RuleValue.Missing;
            }
        }

        return RuleValue.FromElement(node);
    }
}
