using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.Segments;

/// <summary>The JSON names of operators, aggregate functions and rule kinds, and the syntax of names in rules.</summary>
internal static partial class SegmentNames
{
    public static readonly IReadOnlyList<(ConditionOperator Op, string Name)> Operators =
    [
        (ConditionOperator.Eq, "eq"), (ConditionOperator.Ne, "ne"), (ConditionOperator.Gt, "gt"), (ConditionOperator.Gte, "gte"),
        (ConditionOperator.Lt, "lt"), (ConditionOperator.Lte, "lte"), (ConditionOperator.In, "in"), (ConditionOperator.NotIn, "notIn"),
        (ConditionOperator.Contains, "contains"), (ConditionOperator.StartsWith, "startsWith"), (ConditionOperator.Exists, "exists"),
        (ConditionOperator.NotExists, "notExists"), (ConditionOperator.Between, "between"), (ConditionOperator.WithinLast, "withinLast"),
        (ConditionOperator.MoreThanAgo, "moreThanAgo"), (ConditionOperator.AnniversaryWithin, "anniversaryWithin"),
    ];

    public static readonly IReadOnlyList<(AggregateFunction Function, string Name)> Aggregates =
    [
        (AggregateFunction.Sum, "sum"), (AggregateFunction.Avg, "avg"), (AggregateFunction.Min, "min"),
        (AggregateFunction.Max, "max"), (AggregateFunction.Count, "count"), (AggregateFunction.Distinct, "distinct"),
    ];

    /// <summary>The keys that say what kind a rule node is (<c>aggregate</c> wins over <c>event</c>, which it also uses).</summary>
    public static readonly IReadOnlyList<string> RuleKinds =
        ["all", "any", "not", "trait", "stat", "event", "aggregate", "lastEvent", "firstEvent", "segment", "reachable"];

    /// <summary>Lifecycle stage values (see <see cref="ProfileStatisticNames.LifecycleStage"/>).</summary>
    public static readonly IReadOnlyList<string> LifecycleStages = ["visitor", "lead", "customer", "repeatCustomer"];

    public static string Name(this ConditionOperator op) => Operators.First(o => o.Op == op).Name;

    public static string Name(this AggregateFunction function) => Aggregates.First(a => a.Function == function).Name;

    public static bool TryParseOperator(string? name, out ConditionOperator op)
    {
        foreach (var (o, n) in Operators)
        {
            if (string.Equals(n, name, StringComparison.Ordinal))
            {
                op = o;
                return true;
            }
        }

        op = default;
        return false;
    }

    public static bool TryParseAggregate(string? name, out AggregateFunction function)
    {
        foreach (var (f, n) in Aggregates)
        {
            if (string.Equals(n, name, StringComparison.Ordinal))
            {
                function = f;
                return true;
            }
        }

        function = default;
        return false;
    }

    public static string OperatorList => string.Join(", ", Operators.Select(o => o.Name));

    public static string AggregateList => string.Join("|", Aggregates.Select(a => a.Name));

    /// <summary>The same rule as event validation: <c>lower.dotted_name</c>.</summary>
    public static Regex EventType() => EventValidator.TypePattern();

    /// <summary>
    /// <c>" (did you mean 'cart.item_added'?)"</c> when <paramref name="type"/> is only a valid event type in the wrong
    /// case (event types are compared exactly, so <c>Cart.Item_Added</c> would never match); for a name with a space, as
    /// the Segment Spec writes them (<c>Order Completed</c>), where such names are translated and what to write instead;
    /// else empty.
    /// </summary>
    public static string EventTypeHint(string? type) =>
        type is not { Length: > 0 and <= 100 } ? ""
        : EventType().IsMatch(type.ToLowerInvariant()) ? $" (did you mean '{type.ToLowerInvariant()}'?)"
        : type.Contains(' ', StringComparison.Ordinal) ? SpecNameHint
        : "";

    /// <summary>The hint for a Segment-Spec-style name (<c>Order Completed</c>) given where an SDK event type is expected.</summary>
    internal const string SpecNameHint =
        "; a Segment Spec name such as 'Order Completed' is translated only by the tracking API (Omnichannel.Sdk.AspNetCore, " +
        "TrackingApiOptions.Mapping): here write the SDK's type, such as order.placed (the names on EventTypes)";

    /// <summary>Segment ids: <c>lower-kebab</c> or <c>lower_snake</c> (digits allowed).</summary>
    /// <summary>
    /// The error for an id longer than <paramref name="maxLength"/> characters (quoted in full: a definition error cuts
    /// what it quotes), else <see langword="null"/>.
    /// </summary>
    public static string? IdTooLong(string id, int maxLength) =>
        id.Length > maxLength ? $"'{id}' is {id.Length} characters long; at most {maxLength} are allowed" : null;

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$")]
    public static partial Regex SegmentId();

    /// <summary>The same rule as channels of events.</summary>
    public static Regex Channel() => EventValidator.ChannelPattern();

    /// <summary>A dotted path of names (<c>address.city</c>, <c>items.0.sku</c>): no empty segment, no spaces.</summary>
    [GeneratedRegex("^[A-Za-z0-9_$@-]+(\\.[A-Za-z0-9_$@-]+)*$")]
    public static partial Regex DottedPath();
}

/// <summary>Builds JSON paths (<c>$.rule.all[1].op</c>).</summary>
internal static partial class JsonPath
{
    public static string Key(string path, string key) =>
        PlainKey().IsMatch(key) ? path + "." + key : path + "['" + key.Replace("'", "\\'", StringComparison.Ordinal) + "']";

    public static string Index(string path, int index) => path + "[" + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex PlainKey();
}

/// <summary>Orders JSON paths so errors read node by node: array indices numerically, keys ordinally, parents first.</summary>
internal sealed partial class JsonPathOrder : IComparer<string>
{
    public static readonly JsonPathOrder Instance = new();

    public static IReadOnlyList<DefinitionError> Sort(IEnumerable<DefinitionError> errors) =>
        errors.OrderBy(e => e.Path, Instance).ToList();

    // Token by token without allocating (audit U104: the match collections of every comparison were most of what reading a
    // definition with thousands of errors allocated).
    public int Compare(string? x, string? y)
    {
        x ??= string.Empty;
        y ??= string.Empty;
        var a = Token().EnumerateMatches(x);
        var b = Token().EnumerateMatches(y);
        while (true)
        {
            var moreA = a.MoveNext();
            var moreB = b.MoveNext();
            if (!moreA || !moreB)
            {
                return moreA.CompareTo(moreB);
            }

            var ta = x.AsSpan(a.Current.Index, a.Current.Length);
            var tb = y.AsSpan(b.Current.Index, b.Current.Length);
            int c;
            if (ta.StartsWith('[') && tb.StartsWith('[')
                && int.TryParse(ta[1..^1], out var ia) && int.TryParse(tb[1..^1], out var ib))
            {
                c = ia.CompareTo(ib);
            }
            else
            {
                c = ta.SequenceCompareTo(tb);
            }

            if (c != 0)
            {
                return c;
            }
        }
    }

    [GeneratedRegex(@"\$|\.[^.\[]+|\[[^\]]*\]")]
    private static partial Regex Token();
}
