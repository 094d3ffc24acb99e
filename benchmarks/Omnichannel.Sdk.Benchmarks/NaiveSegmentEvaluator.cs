using System.Text.Json;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// The naive way: every segment, from scratch, over the profile's whole event history, with plain LINQ. Written
/// independently of the SDK's evaluator (it shares only the rule model), for the rule kinds
/// <see cref="SegmentBenchmarkData.Segments"/> generates: trait <c>eq</c>/<c>in</c>/<c>gte</c>, statistic <c>gte</c>,
/// event counts and sums over sliding day windows with <c>where</c> (<c>eq</c>, <c>in</c>, <c>gte</c>), <c>lastEvent</c>
/// <c>moreThanAgo</c>/<c>withinLast</c>, <c>all</c>/<c>any</c>/<c>not</c> and segment references.
/// </summary>
internal sealed class NaiveSegmentEvaluator(IReadOnlyList<SegmentDefinition> segmentsInDependencyOrder)
{
    // Operands read once, as any hand-written evaluator would (the naive part is re-scanning the history, not parsing).
    private readonly ConditionOperands _operands = new();

    /// <summary>The ids of the segments <paramref name="profile"/> is in at <paramref name="now"/>, given its whole history.</summary>
    public HashSet<string> Members(CustomerProfile profile, List<CustomerEvent> history, DateTimeOffset now)
    {
        var members = new HashSet<string>(StringComparer.Ordinal);
        foreach (var segment in segmentsInDependencyOrder)
        {
            if (Holds(segment.Rule, profile, history, now, members))
            {
                members.Add(segment.Id);
            }
        }

        return members;
    }

    private bool Holds(SegmentRule rule, CustomerProfile profile, List<CustomerEvent> history, DateTimeOffset now, HashSet<string> members) => rule switch
    {
        AllRule all => all.Rules.All(r => Holds(r, profile, history, now, members)),
        AnyRule any => any.Rules.Any(r => Holds(r, profile, history, now, members)),
        NotRule not => !Holds(not.Rule, profile, history, now, members),
        SegmentMembershipRule m => members.Contains(m.SegmentId),
        TraitRule t => profile.TryGetTrait(t.Path, out var value) && Compare(t.Condition, value),
        StatisticRule s => CompareNumber(s.Condition, Statistic(profile, s.Statistic)),
        EventRule e => CountHolds(e.Count, history.Count(x => InWindow(x, e.EventType, e.Window, now) && Where(x, e.Where))),
        AggregateRule { Function: AggregateFunction.Sum } a => CompareNumber(
            a.Condition,
            history.Where(x => InWindow(x, a.EventType, a.Window, now) && Where(x, a.Where))
                .Select(x => Number(x.Properties, a.Property!))
                .Sum(n => n ?? 0)),
        RecencyRule { Which: RecencyKind.Last } r => Recency(r, history, now),
        _ => throw new NotSupportedException($"The naive evaluator does not handle {rule}."),
    };

    private bool Recency(RecencyRule rule, List<CustomerEvent> history, DateTimeOffset now)
    {
        var last = history
            .Where(x => x.Type == rule.EventType && x.Timestamp <= now && Where(x, rule.Where))
            .Select(x => (DateTimeOffset?)x.Timestamp)
            .Max();
        if (last is not { } t)
        {
            return false;
        }

        var cutoff = now.AddDays(-Days(rule.Duration));
        return rule.Op == ConditionOperator.MoreThanAgo ? t <= cutoff : t > cutoff;
    }

    // Sliding window "within D" at now: now − D < time ≤ now; no window: every past event.
    private static bool InWindow(CustomerEvent e, string type, TimeWindow? window, DateTimeOffset now) =>
        e.Type == type && e.Timestamp <= now && (window?.Within is not { } d || e.Timestamp > now.AddDays(-Days(d)));

    private static int Days(IsoDuration d) =>
        d.Years == 0 && d.Months == 0 && d.Time == TimeSpan.Zero ? d.Days : throw new NotSupportedException("Only whole days.");

    private bool Where(CustomerEvent e, IReadOnlyList<PropertyCondition> where) =>
        where.All(c => e.Properties.ValueKind == JsonValueKind.Object && e.Properties.TryGetProperty(c.Property, out var v) && Compare(c.Condition, v));

    private bool CountHolds(Condition? count, int n) => count is null ? n >= 1 : CompareNumber(count, n);

    private bool Compare(Condition c, JsonElement value) => c.Op switch
    {
        ConditionOperator.Eq when value.ValueKind == JsonValueKind.String => value.ValueEquals(_operands.Of(c).Text),
        ConditionOperator.Eq or ConditionOperator.Gte when value.ValueKind == JsonValueKind.Number => CompareNumber(c, value.GetDecimal()),
        ConditionOperator.In when value.ValueKind == JsonValueKind.String => _operands.Of(c).Set!.Contains(value.GetString()!),
        ConditionOperator.Eq or ConditionOperator.Gte or ConditionOperator.In => false,
        _ => throw new NotSupportedException($"The naive evaluator does not handle {c.Op}."),
    };

    private bool CompareNumber(Condition c, decimal actual)
    {
        var operand = _operands.Of(c).Number ?? throw new NotSupportedException($"{c} has no number operand.");
        return c.Op switch
        {
            ConditionOperator.Eq => actual == operand,
            ConditionOperator.Gte => actual >= operand,
            _ => throw new NotSupportedException($"The naive evaluator does not handle {c.Op}."),
        };
    }

    private static decimal Statistic(CustomerProfile p, string name) => name switch
    {
        ProfileStatisticNames.OrderCount => p.Statistics.OrderCount,
        ProfileStatisticNames.TotalSpent => p.Statistics.TotalSpent,
        _ => throw new NotSupportedException($"The naive evaluator does not handle statistic {name}."),
    };

    private static decimal? Number(JsonElement properties, string name) =>
        properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDecimal() : null;
}
