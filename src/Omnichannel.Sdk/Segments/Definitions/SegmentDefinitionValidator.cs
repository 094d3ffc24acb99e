using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Segments;

/// <summary>
/// Checks a segment definition (built in C# or read from JSON) and reports every error with the JSON path it would have
/// in the definition's JSON form. References to other segments are checked by <see cref="SegmentSetValidator"/>.
/// </summary>
public static partial class SegmentDefinitionValidator
{
    /// <summary>
    /// How many levels rules may nest: a leaf rule is 1 level, <c>{"not": leaf}</c> 2, <c>{"all": [{"any": [leaf]}]}</c> 3.
    /// The C# builder, the JSON reader and the writer all hold to it (a deeper definition is an error with the path where
    /// it goes too deep), so that no evaluation, validation or serialisation recurses without bound.
    /// </summary>
    public const int MaxRuleDepth = 32;

    /// <summary>
    /// The longest segment id, in characters: 200 (ids are ASCII, so also bytes). A segment id is stored with every
    /// member (a store's index holds it beside the profile id) and names the segment's measurement rows, which are cut at
    /// <see cref="Measurement.MeasurementKey.MaxLength"/>; a longer id is an error at <c>$.id</c>.
    /// </summary>
    public const int MaxIdLength = 200;

    /// <summary>What a condition compares, which decides the operators and operands it accepts.</summary>
    private enum Operand
    {
        /// <summary>A trait or event property: any JSON value.</summary>
        Any,

        /// <summary>A number of events: non-negative integers.</summary>
        Count,

        /// <summary>A number that cannot be negative (count and distinct aggregates).</summary>
        NonNegativeNumber,

        /// <summary>Any number (sum, avg, min, max, numeric statistics).</summary>
        Number,

        /// <summary>An instant (date statistics): ISO 8601 strings.</summary>
        Date,

        /// <summary>The lifecycle stage.</summary>
        Stage,

        /// <summary>An array of channel names.</summary>
        Channels,
    }

    private static readonly ConditionOperator[] Comparisons =
    [
        ConditionOperator.Eq, ConditionOperator.Ne, ConditionOperator.Gt, ConditionOperator.Gte, ConditionOperator.Lt,
        ConditionOperator.Lte, ConditionOperator.In, ConditionOperator.NotIn, ConditionOperator.Between,
    ];

    /// <summary>Checks <paramref name="definition"/>; returns every error (empty when valid).</summary>
    /// <param name="definition">The definition.</param>
    public static IReadOnlyList<DefinitionError> Validate(SegmentDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new List<DefinitionError>();
        Validate(definition, "$", errors);
        return JsonPathOrder.Sort(errors);
    }

    internal static void Validate(SegmentDefinition definition, string path, List<DefinitionError> errors)
    {
        ValidateHeader(definition.Id, definition.Name, path, errors);
        if (definition.Rule is null)
        {
            errors.Add(new(JsonPath.Key(path, "rule"), "is required: the rule a profile must satisfy"));
        }
        else
        {
            ValidateRule(definition.Rule, JsonPath.Key(path, "rule"), errors);
        }

        // A segment made of itself never settles; other cycles need the whole set (SegmentSetValidator).
        if (SegmentReferences.Depth(definition.Rule, MaxRuleDepth) > MaxRuleDepth)
        {
            return;
        }

        foreach (var (refPath, reference) in SegmentReferences.Of(definition.Rule, JsonPath.Key(path, "rule")))
        {
            if (string.Equals(reference, definition.Id, StringComparison.Ordinal))
            {
                errors.Add(new(refPath, $"segments form a cycle: {definition.Id} → {definition.Id} (a segment cannot contain itself)"));
            }
        }
    }

    internal static void ValidateHeader(string? id, string? name, string path, List<DefinitionError> errors)
    {
        if (string.IsNullOrEmpty(id))
        {
            errors.Add(new(JsonPath.Key(path, "id"), "is required: a segment id such as 'lapsed-vip'"));
        }
        else if (SegmentNames.IdTooLong(id, MaxIdLength) is { } tooLong)
        {
            errors.Add(new(JsonPath.Key(path, "id"), tooLong));
        }
        else if (!SegmentNames.SegmentId().IsMatch(id))
        {
            errors.Add(new(JsonPath.Key(path, "id"), $"'{id}' is not a valid segment id (expected lower-kebab or lower_snake, e.g. 'lapsed-vip')"));
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            errors.Add(new(JsonPath.Key(path, "name"), "is required: a display name such as 'Lapsed VIPs'"));
        }
    }

    /// <summary>Checks a rule and its children; a rule nested deeper than <see cref="MaxRuleDepth"/> is one error.</summary>
    internal static void ValidateRule(SegmentRule? rule, string path, List<DefinitionError> errors) =>
        ValidateRule(rule, path, errors, 1);

    /// <summary>The error for a rule that nests too deeply (the reader reports the same one).</summary>
    internal static string TooDeep => $"nests rules more than {MaxRuleDepth} levels deep (all, any and not each add a level); at most {MaxRuleDepth} are allowed";

    private static void ValidateRule(SegmentRule? rule, string path, List<DefinitionError> errors, int depth)
    {
        if (depth > MaxRuleDepth)
        {
            errors.Add(new(path, TooDeep));
            return;
        }

        switch (rule)
        {
            case null:
                errors.Add(new(path, "is null (expected a rule)"));
                break;
            case AllRule all:
                ValidateChildren(all.Rules, JsonPath.Key(path, "all"), errors, depth);
                break;
            case AnyRule any:
                ValidateChildren(any.Rules, JsonPath.Key(path, "any"), errors, depth);
                break;
            case NotRule not:
                ValidateRule(not.Rule, JsonPath.Key(path, "not"), errors, depth + 1);
                break;
            default:
                ValidateLeaf(rule, path, errors);
                break;
        }
    }

    /// <summary>Checks a rule that has no child rules.</summary>
    internal static void ValidateLeaf(SegmentRule rule, string path, List<DefinitionError> errors)
    {
        switch (rule)
        {
            case TraitRule t:
                ValidatePath(t.Path, JsonPath.Key(path, "trait"), "trait path", errors);
                ValidateCondition(t.Condition, path, Operand.Any, errors);
                break;
            case StatisticRule s:
                ValidateStatistic(s, path, errors);
                break;
            case EventRule e:
                ValidateEventType(e.EventType, JsonPath.Key(path, "event"), errors);
                ValidateWhere(e.Where, path, errors);
                if (e.Count is not null)
                {
                    ValidateCondition(e.Count, JsonPath.Key(path, "count"), Operand.Count, errors);
                }

                ValidateWindow(e.Window, path, errors);
                break;
            case AggregateRule a:
                ValidateEventType(a.EventType, JsonPath.Key(path, "event"), errors);
                if (a.Property is null)
                {
                    if (a.Function != AggregateFunction.Count)
                    {
                        errors.Add(new(JsonPath.Key(path, "property"), $"is required for '{a.Function.Name()}' (the event property to aggregate, e.g. 'total'); only 'count' can do without"));
                    }
                }
                else
                {
                    ValidatePath(a.Property, JsonPath.Key(path, "property"), "property path", errors);
                }

                ValidateWhere(a.Where, path, errors);
                ValidateWindow(a.Window, path, errors);
                ValidateCondition(
                    a.Condition,
                    path,
                    a.Function is AggregateFunction.Count or AggregateFunction.Distinct ? Operand.NonNegativeNumber : Operand.Number,
                    errors);
                break;
            case RecencyRule r:
                ValidateEventType(r.EventType, JsonPath.Key(path, r.Which == RecencyKind.Last ? "lastEvent" : "firstEvent"), errors);
                ValidateWhere(r.Where, path, errors);
                if (r.Op is not (ConditionOperator.WithinLast or ConditionOperator.MoreThanAgo))
                {
                    errors.Add(new(JsonPath.Key(path, "op"), $"'{r.Op.Name()}' is not allowed here (expected withinLast or moreThanAgo)"));
                }
                else if (r.Op == ConditionOperator.WithinLast && r.Duration.IsZero)
                {
                    errors.Add(new(JsonPath.Key(path, "value"), "withinLast PT0S can never hold (the window is empty); expected a positive duration"));
                }

                break;
            case SegmentMembershipRule m:
                // No segment can have a longer id: said so here, not as an unknown segment (review of audit U65).
                if (m.SegmentId is { } member && SegmentNames.IdTooLong(member, MaxIdLength) is { } tooLong)
                {
                    errors.Add(new(JsonPath.Key(path, "segment"), tooLong));
                }
                else if (string.IsNullOrEmpty(m.SegmentId) || !SegmentNames.SegmentId().IsMatch(m.SegmentId))
                {
                    errors.Add(new(JsonPath.Key(path, "segment"), $"'{m.SegmentId}' is not a valid segment id (expected lower-kebab or lower_snake, e.g. 'vip')"));
                }

                break;
            case ReachableRule reach:
                if (string.IsNullOrEmpty(reach.Channel) || !SegmentNames.Channel().IsMatch(reach.Channel))
                {
                    errors.Add(new(JsonPath.Key(path, "reachable"), $"'{reach.Channel}' is not a valid channel (expected a lower_case name such as email, sms, push)"));
                }

                if (reach.Topic is not null && string.IsNullOrWhiteSpace(reach.Topic))
                {
                    errors.Add(new(JsonPath.Key(path, "topic"), "is empty (expected a topic such as 'newsletter', or no topic for the channel as a whole)"));
                }

                break;
            default:
                errors.Add(new(path, $"'{rule.GetType().Name}' is not a rule this version understands"));
                break;
        }
    }

    private static void ValidateChildren(IReadOnlyList<SegmentRule>? rules, string path, List<DefinitionError> errors, int depth)
    {
        if (rules is null)
        {
            errors.Add(new(path, "is null (expected an array of rules)"));
            return;
        }

        for (var i = 0; i < rules.Count; i++)
        {
            ValidateRule(rules[i], JsonPath.Index(path, i), errors, depth + 1);
        }
    }

    private static void ValidateStatistic(StatisticRule s, string path, List<DefinitionError> errors)
    {
        Operand? operand = s.Statistic switch
        {
            ProfileStatisticNames.LifecycleStage => Operand.Stage,
            ProfileStatisticNames.ChannelsUsed => Operand.Channels,
            ProfileStatisticNames.FirstOrderAt or ProfileStatisticNames.LastOrderAt or ProfileStatisticNames.FirstSeen
                or ProfileStatisticNames.LastSeen or ProfileStatisticNames.CartUpdatedAt => Operand.Date,
            _ when ProfileStatisticNames.All.Contains(s.Statistic) => Operand.Number,
            _ => null,
        };
        if (operand is null)
        {
            errors.Add(new(JsonPath.Key(path, "stat"), $"unknown statistic '{s.Statistic}' (expected one of {string.Join(", ", ProfileStatisticNames.All)})"));
            return;
        }

        ValidateCondition(s.Condition, path, operand.Value, errors);
    }

    private static void ValidateWhere(IReadOnlyList<PropertyCondition>? where, string path, List<DefinitionError> errors)
    {
        if (where is null)
        {
            errors.Add(new(JsonPath.Key(path, "where"), "is null (expected a list of property conditions, empty for none)"));
            return;
        }

        for (var i = 0; i < where.Count; i++)
        {
            var at = JsonPath.Index(JsonPath.Key(path, "where"), i);
            if (where[i] is not { } w)
            {
                errors.Add(new(at, "is null (expected a property condition)"));
                continue;
            }

            ValidatePath(w.Property, JsonPath.Key(at, "property"), "property path", errors);
            ValidateCondition(w.Condition, at, Operand.Any, errors);
        }
    }

    private static void ValidateWindow(TimeWindow? window, string path, List<DefinitionError> errors)
    {
        if (window is null)
        {
            return;
        }

        var hasFixed = window.From is not null || window.To is not null;
        if (window.Within is { } within)
        {
            if (hasFixed)
            {
                errors.Add(new(JsonPath.Key(path, "within"), "cannot be combined with 'between' (a window is either sliding or fixed)"));
            }

            if (within.IsZero)
            {
                errors.Add(new(JsonPath.Key(path, "within"), "a zero-length window never contains an event (expected a positive duration such as P30D)"));
            }
        }
        else if (window.From is not { } from || window.To is not { } to)
        {
            errors.Add(new(JsonPath.Key(path, "between"), "needs both a start and an end: [\"<from ISO instant>\", \"<to ISO instant>\"]"));
        }
        else if (from >= to)
        {
            errors.Add(new(JsonPath.Key(path, "between"), $"the window [{SegmentJsonWriter.Instant(from)}, {SegmentJsonWriter.Instant(to)}) is empty, so the rule can never hold (expected from < to)"));
        }
    }

    private static void ValidateEventType(string? type, string path, List<DefinitionError> errors)
    {
        if (string.IsNullOrEmpty(type) || !SegmentNames.EventType().IsMatch(type))
        {
            errors.Add(new(path, $"'{type}' is not a valid event type (expected a lower.dotted_name such as order.placed){SegmentNames.EventTypeHint(type)}"));
        }
    }

    private static void ValidatePath(string? value, string path, string what, List<DefinitionError> errors)
    {
        if (string.IsNullOrEmpty(value) || !SegmentNames.DottedPath().IsMatch(value))
        {
            errors.Add(new(path, $"'{value}' is not a valid {what} (expected dotted names such as address.city)"));
        }
    }

    internal static bool TryInstant(string text, out DateTimeOffset instant) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out instant);

    /// <summary>Reads a number from a node made by parsing JSON or by a C# conversion (<c>JsonValue.Create(3)</c>).</summary>
    internal static bool TryGetNumber(JsonNode? node, out decimal number)
    {
        number = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
        {
            return false;
        }

        if (v.TryGetValue<JsonElement>(out var element))
        {
            return element.TryGetDecimal(out number);
        }

        if (v.TryGetValue<decimal>(out number))
        {
            return true;
        }

        if (v.TryGetValue<long>(out var l))
        {
            number = l;
            return true;
        }

        if (v.TryGetValue<int>(out var i))
        {
            number = i;
            return true;
        }

        if (v.TryGetValue<double>(out var d) && double.IsFinite(d) && Math.Abs(d) < 7.9e28)
        {
            number = (decimal)d;
            return true;
        }

        // Rarer numeric CLR types: read them back through their JSON text.
        using var doc = JsonDocument.Parse(v.ToJsonString());
        return doc.RootElement.TryGetDecimal(out number);
    }
}
