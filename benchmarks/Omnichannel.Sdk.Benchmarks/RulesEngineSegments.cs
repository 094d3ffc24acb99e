using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using RulesEngine.Models;
using ReRule = RulesEngine.Models.Rule;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// What a RulesEngine evaluates: the profile's traits and statistics, and one value per history-dependent condition
/// of the rules (<see cref="Values"/>: an event count, a sum, or the age of the last matching event in ticks, −1 when
/// there is none), computed from the event history for each evaluation.
/// </summary>
public sealed class SegmentFacts
{
    /// <summary>Trait <c>tier</c>, or <see langword="null"/>.</summary>
    public string? Tier { get; set; }

    /// <summary>Trait <c>country</c>, or <see langword="null"/>.</summary>
    public string? Country { get; set; }

    /// <summary>Trait <c>preferred_category</c>, or <see langword="null"/>.</summary>
    public string? PreferredCategory { get; set; }

    /// <summary>Whether trait <c>age</c> is a number.</summary>
    public bool HasAge { get; set; }

    /// <summary>Trait <c>age</c> (0 when <see cref="HasAge"/> is false).</summary>
    public decimal Age { get; set; }

    /// <summary>Statistic <c>orderCount</c>.</summary>
    public decimal OrderCount { get; set; }

    /// <summary>Statistic <c>totalSpent</c>.</summary>
    public decimal TotalSpent { get; set; }

    /// <summary>The history-dependent inputs, by leaf index.</summary>
    public decimal[] Values { get; set; } = [];
}

/// <summary>
/// The same segments as Microsoft RulesEngine workflow rules: each segment is one lambda-expression rule over
/// <c>input1</c>, a <see cref="SegmentFacts"/>; a segment reference is inlined (RulesEngine rules cannot read each
/// other's results). The facts are rebuilt from the whole history for each evaluation, as a RulesEngine user would have to.
/// </summary>
internal sealed class RulesEngineSegments
{
    public const string WorkflowName = "segments";

    private readonly Dictionary<SegmentRule, int> _leafIndex = new(ReferenceEqualityComparer.Instance);
    private readonly List<SegmentRule> _leaves = [];
    private readonly ConditionOperands _operands = new();
    private readonly Dictionary<string, string> _expressions = new(StringComparer.Ordinal);
    private readonly global::RulesEngine.RulesEngine _engine;

    public RulesEngineSegments(IReadOnlyList<SegmentDefinition> segmentsInDependencyOrder)
    {
        var rules = new List<ReRule>();
        foreach (var segment in segmentsInDependencyOrder)
        {
            var expression = Translate(segment.Rule);
            _expressions[segment.Id] = expression;
            rules.Add(new ReRule
            {
                RuleName = segment.Id,
                Expression = expression,
                RuleExpressionType = RuleExpressionType.LambdaExpression,
                SuccessEvent = segment.Id,
            });
        }

        var workflow = new Workflow { WorkflowName = WorkflowName, Rules = rules };
        _engine = new global::RulesEngine.RulesEngine([workflow], new ReSettings());
    }

    /// <summary>The expression of each segment (for the report and for debugging a mismatch).</summary>
    public IReadOnlyDictionary<string, string> Expressions => _expressions;

    /// <summary>The ids of the segments the profile is in at <paramref name="now"/>: facts from the whole history, then every rule.</summary>
    public HashSet<string> Members(CustomerProfile profile, List<CustomerEvent> history, DateTimeOffset now)
    {
        var facts = Facts(profile, history, now);
        var results = _engine.ExecuteAllRulesAsync(WorkflowName, facts).GetAwaiter().GetResult();
        var members = new HashSet<string>(StringComparer.Ordinal);
        foreach (var result in results)
        {
            if (!string.IsNullOrEmpty(result.ExceptionMessage))
            {
                throw new InvalidOperationException($"RulesEngine failed on {result.Rule.RuleName}: {result.ExceptionMessage} ({result.Rule.Expression})");
            }

            if (result.IsSuccess)
            {
                members.Add(result.Rule.RuleName);
            }
        }

        return members;
    }

    /// <summary>The facts at <paramref name="now"/>: traits and statistics, and every leaf computed from the history with LINQ.</summary>
    public SegmentFacts Facts(CustomerProfile profile, List<CustomerEvent> history, DateTimeOffset now)
    {
        var facts = new SegmentFacts
        {
            Tier = TraitString(profile, "tier"),
            Country = TraitString(profile, "country"),
            PreferredCategory = TraitString(profile, "preferred_category"),
            OrderCount = profile.Statistics.OrderCount,
            TotalSpent = profile.Statistics.TotalSpent,
            Values = new decimal[_leaves.Count],
        };
        if (profile.TryGetTrait("age", out var age) && age.ValueKind == JsonValueKind.Number)
        {
            facts.HasAge = true;
            facts.Age = age.GetDecimal();
        }

        for (var i = 0; i < _leaves.Count; i++)
        {
            facts.Values[i] = _leaves[i] switch
            {
                EventRule e => history.Count(x => InWindow(x, e.EventType, e.Window, now) && Where(x, e.Where)),
                AggregateRule a => history
                    .Where(x => InWindow(x, a.EventType, a.Window, now) && Where(x, a.Where))
                    .Sum(x => x.Properties.ValueKind == JsonValueKind.Object && x.Properties.TryGetProperty(a.Property!, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDecimal() : 0),
                RecencyRule r => history
                    .Where(x => x.Type == r.EventType && x.Timestamp <= now && Where(x, r.Where))
                    .Select(x => (decimal?)(now - x.Timestamp).Ticks)
                    .Min() ?? -1,
                _ => throw new NotSupportedException(),
            };
        }

        return facts;
    }

    private static string? TraitString(CustomerProfile profile, string path) =>
        profile.TryGetTrait(path, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool InWindow(CustomerEvent e, string type, TimeWindow? window, DateTimeOffset now) =>
        e.Type == type && e.Timestamp <= now && (window?.Within is not { } d || e.Timestamp > now.AddDays(-d.Days));

    private bool Where(CustomerEvent e, IReadOnlyList<PropertyCondition> where)
    {
        foreach (var c in where)
        {
            if (e.Properties.ValueKind != JsonValueKind.Object || !e.Properties.TryGetProperty(c.Property, out var v))
            {
                return false;
            }

            var operand = _operands.Of(c.Condition);
            var holds = c.Condition.Op switch
            {
                ConditionOperator.Eq => v.ValueKind == JsonValueKind.String && v.ValueEquals(operand.Text),
                ConditionOperator.In => v.ValueKind == JsonValueKind.String && operand.Set!.Contains(v.GetString()!),
                ConditionOperator.Gte => v.ValueKind == JsonValueKind.Number && v.GetDecimal() >= operand.Number,
                _ => throw new NotSupportedException(c.Condition.Op.ToString()),
            };
            if (!holds)
            {
                return false;
            }
        }

        return true;
    }

    private string Translate(SegmentRule rule) => rule switch
    {
        AllRule all => "(" + string.Join(" AND ", all.Rules.Select(Translate)) + ")",
        AnyRule any => "(" + string.Join(" OR ", any.Rules.Select(Translate)) + ")",
        NotRule not => "!(" + Translate(not.Rule) + ")",
        SegmentMembershipRule m => _expressions[m.SegmentId],
        TraitRule t => Trait(t),
        StatisticRule s => Compare(s.Statistic == ProfileStatisticNames.OrderCount ? "input1.OrderCount" : "input1.TotalSpent", s.Condition),
        EventRule e => e.Count is { } count ? Compare(Leaf(e), count) : Leaf(e) + " >= 1",
        AggregateRule a => Compare(Leaf(a), a.Condition),
        RecencyRule r => Recency(r),
        _ => throw new NotSupportedException(rule.ToString()),
    };

    private string Trait(TraitRule t)
    {
        if (t.Path == "age")
        {
            return "(input1.HasAge AND " + Compare("input1.Age", t.Condition) + ")";
        }

        var member = t.Path switch
        {
            "tier" => "input1.Tier",
            "country" => "input1.Country",
            "preferred_category" => "input1.PreferredCategory",
            _ => throw new NotSupportedException(t.Path),
        };
        return t.Condition.Op switch
        {
            ConditionOperator.Eq => member + " == " + Quote(t.Condition.Value!),
            ConditionOperator.In => "(" + string.Join(" OR ", t.Condition.Value!.AsArray().Select(v => member + " == " + Quote(v!))) + ")",
            _ => throw new NotSupportedException(t.Condition.Op.ToString()),
        };
    }

    // Age of the last matching event: moreThanAgo D ⇔ age ≥ D; withinLast D ⇔ 0 ≤ age < D (−1: never).
    private string Recency(RecencyRule r)
    {
        var leaf = Leaf(r);
        var ticks = TimeSpan.FromDays(r.Duration.Days).Ticks.ToString(CultureInfo.InvariantCulture);
        return r.Op == ConditionOperator.MoreThanAgo
            ? "(" + leaf + " >= " + ticks + ")"
            : "(" + leaf + " >= 0 AND " + leaf + " < " + ticks + ")";
    }

    private string Leaf(SegmentRule rule)
    {
        if (!_leafIndex.TryGetValue(rule, out var i))
        {
            i = _leaves.Count;
            _leaves.Add(rule);
            _leafIndex[rule] = i;
        }

        return "input1.Values[" + i.ToString(CultureInfo.InvariantCulture) + "]";
    }

    private static string Compare(string member, Condition c) => c.Op switch
    {
        ConditionOperator.Gte => member + " >= " + Number(c.Value).ToString(CultureInfo.InvariantCulture),
        ConditionOperator.Eq => member + " == " + Number(c.Value).ToString(CultureInfo.InvariantCulture),
        _ => throw new NotSupportedException(c.Op.ToString()),
    };

    private static decimal Number(JsonNode? node) => decimal.Parse(node!.ToJsonString(), CultureInfo.InvariantCulture);

    private static string Quote(JsonNode value)
    {
        var s = new StringBuilder("\"");
        s.Append(value.GetValue<string>().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal));
        return s.Append('"').ToString();
    }
}
