using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Segments;

/// <summary>
/// Reads the JSON form into the model, collecting shape errors (unknown or missing keys, wrong JSON types, unknown
/// operators, bad durations and instants). Where a part cannot be read it puts in a harmless stand-in, so the rest can
/// still be checked by <see cref="SegmentDefinitionValidator"/>; errors the validator finds under a part that could not
/// be read are dropped, as the reader has already reported that part.
/// </summary>
/// <remarks>Paths, errors and typed reads come from <see cref="DefinitionJsonReader"/>; this class keeps the rule grammar.</remarks>
internal sealed class SegmentJsonReader : DefinitionJsonReader
{
    private static readonly string[] DefinitionKeys = ["id", "name", "description", "rule"];

    public static (SegmentDefinition Definition, List<DefinitionError> Errors) Read(JsonElement element, string path)
    {
        if (ShapeErrors(element, path) is { } shape)
        {
            return (new SegmentDefinition(string.Empty, string.Empty, new AllRule([])), shape);
        }

        var reader = new SegmentJsonReader();
        var definition = reader.ReadDefinition(element, path);
        var validation = new List<DefinitionError>();
        SegmentDefinitionValidator.Validate(definition, path, validation);
        return (definition, reader.WithValidation(validation));
    }

    private SegmentDefinition ReadDefinition(JsonElement e, string path)
    {
        if (!IsObject(e, path, "a segment definition object {\"id\", \"name\", \"rule\"}"))
        {
            return new SegmentDefinition(string.Empty, string.Empty, new AllRule([]));
        }

        var keys = Keys(e, path, DefinitionKeys, "a segment definition");
        var id = String(keys, "id", path, "a segment id such as 'lapsed-vip'", required: false);
        var name = String(keys, "name", path, "a display name", required: false);
        var description = String(keys, "description", path, "a description", required: false);
        SegmentRule rule;
        if (keys.TryGetValue("rule", out var r))
        {
            rule = ReadRule(r, JsonPath.Key(path, "rule"));
        }
        else
        {
            // The validator reports the missing rule.
            rule = null!;
        }

        return new SegmentDefinition(id!, name!, rule) { Description = description };
    }

    // Depth-limited like the validator and the writer: no document makes the reader recurse without bound.
    private SegmentRule ReadRule(JsonElement e, string path) => Nested<SegmentRule>(path, () => ReadRuleAt(e, path), () => Placeholder(path));

    private SegmentRule ReadRuleAt(JsonElement e, string path)
    {
        if (!IsObject(e, path, "a rule object such as {\"trait\": \"tier\", \"op\": \"eq\", \"value\": \"vip\"}"))
        {
            return Placeholder(path);
        }

        var present = e.EnumerateObject().Select(p => p.Name).Distinct(StringComparer.Ordinal).ToList();
        var kinds = SegmentNames.RuleKinds.Where(present.Contains).ToList();
        if (kinds.Contains("aggregate"))
        {
            kinds.Remove("event");
        }

        if (kinds.Count == 0)
        {
            Error(path, $"is not a rule: it has none of the keys {string.Join(", ", SegmentNames.RuleKinds)} (expected exactly one)");
            return Placeholder(path);
        }

        if (kinds.Count > 1)
        {
            Error(path, $"has more than one rule kind ({string.Join(" and ", kinds.Select(k => $"'{k}'"))}); a rule has exactly one of {string.Join(", ", SegmentNames.RuleKinds)} (combine rules with 'all' or 'any')");
            return Placeholder(path);
        }

        var kind = kinds[0];
        switch (kind)
        {
            case "all" or "any":
            {
                var keys = Keys(e, path, [kind], $"an '{kind}' rule");
                var rules = Array(keys[kind], JsonPath.Key(path, kind), "rules", ReadRule);
                return kind == "all" ? new AllRule(rules) : new AnyRule(rules);
            }

            case "not":
            {
                var keys = Keys(e, path, ["not"], "a 'not' rule");
                return new NotRule(ReadRule(keys["not"], JsonPath.Key(path, "not")));
            }

            case "trait":
            {
                var keys = Keys(e, path, ["trait", "op", "value"], "a trait rule");
                return new TraitRule(RequiredString(keys, "trait", path, "a dotted trait path such as 'address.city'"), ReadCondition(keys, path));
            }

            case "stat":
            {
                var keys = Keys(e, path, ["stat", "op", "value"], "a statistic rule");
                return new StatisticRule(RequiredString(keys, "stat", path, "a statistic name such as 'orderCount'"), ReadCondition(keys, path));
            }

            case "event":
            {
                var keys = Keys(e, path, ["event", "where", "count", "within", "between"], "an event rule");
                Condition? count = null;
                if (keys.TryGetValue("count", out var c))
                {
                    var countPath = JsonPath.Key(path, "count");
                    if (IsObject(c, countPath, "an object {\"op\": \"gte\", \"value\": 3}"))
                    {
                        count = ReadCondition(Keys(c, countPath, ["op", "value"], "a count"), countPath);
                    }
                }

                return new EventRule(RequiredString(keys, "event", path, "an event type such as 'order.placed'"))
                {
                    Where = ReadWhere(keys, path),
                    Count = count,
                    Window = ReadWindow(keys, path),
                };
            }

            case "aggregate":
            {
                var keys = Keys(e, path, ["aggregate", "event", "property", "where", "within", "between", "op", "value"], "an aggregate rule");
                var functionName = RequiredString(keys, "aggregate", path, $"one of {SegmentNames.AggregateList}");
                var function = AggregateFunction.Sum;
                if (functionName.Length > 0 && !SegmentNames.TryParseAggregate(functionName, out function))
                {
                    Error(JsonPath.Key(path, "aggregate"), $"unknown aggregate '{functionName}' (expected one of {SegmentNames.AggregateList})");
                    Unreadable(JsonPath.Key(path, "property"));
                }

                return new AggregateRule(function, RequiredString(keys, "event", path, "an event type such as 'order.placed'"), ReadCondition(keys, path))
                {
                    Property = String(keys, "property", path, "an event property path such as 'total'", required: false),
                    Where = ReadWhere(keys, path),
                    Window = ReadWindow(keys, path),
                };
            }

            case "lastEvent" or "firstEvent":
            {
                var keys = Keys(e, path, [kind, "where", "op", "value"], $"a '{kind}' rule");
                var type = RequiredString(keys, kind, path, "an event type such as 'order.placed'");
                var condition = ReadCondition(keys, path);
                var duration = IsoDuration.FromDays(1);
                var valuePath = JsonPath.Key(path, "value");
                if (!IsUnreadable(valuePath))
                {
                    if (condition.Value is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
                    {
                        Error(valuePath, $"expected an ISO 8601 duration string such as \"P90D\", got {(condition.Value is null ? "nothing" : Kind(condition.Value))}");
                    }
                    else if (!IsoDuration.TryParse(v.GetValue<string>(), out duration, out var error))
                    {
                        Error(valuePath, error);
                        duration = IsoDuration.FromDays(1);
                    }
                }

                return new RecencyRule(kind == "lastEvent" ? RecencyKind.Last : RecencyKind.First, type, condition.Op, duration)
                {
                    Where = ReadWhere(keys, path),
                };
            }

            case "segment":
            {
                var keys = Keys(e, path, ["segment"], "a segment rule");
                return new SegmentMembershipRule(RequiredString(keys, "segment", path, "a segment id"));
            }

            default:
            {
                var keys = Keys(e, path, ["reachable", "topic"], "a reachability rule");
                return new ReachableRule(
                    RequiredString(keys, "reachable", path, "a channel such as 'email'"),
                    String(keys, "topic", path, "a topic such as 'newsletter'", required: false));
            }
        }
    }

    private AllRule Placeholder(string path)
    {
        Unreadable(path);
        return new AllRule([]);
    }

    /// <summary>Reads <c>op</c> and <c>value</c>; an unreadable operator becomes <c>exists</c> and is reported once.</summary>
    private Condition ReadCondition(Dictionary<string, JsonElement> keys, string path)
    {
        var opPath = JsonPath.Key(path, "op");
        JsonNode? value = keys.TryGetValue("value", out var v) ? DefinitionJson.Node(v) : null;
        if (!keys.TryGetValue("op", out var op))
        {
            Error(opPath, $"is required: an operator ({SegmentNames.OperatorList})");
        }
        else if (op.ValueKind != JsonValueKind.String)
        {
            Error(opPath, $"expected an operator name string ({SegmentNames.OperatorList}), got {Kind(op)}");
        }
        else if (!SegmentNames.TryParseOperator(op.GetString(), out var parsed))
        {
            Error(opPath, $"unknown operator '{op.GetString()}' (expected one of {SegmentNames.OperatorList})");
        }
        else
        {
            return new Condition(parsed, value);
        }

        // Without an operator the value cannot be judged either.
        Unreadable(opPath);
        Unreadable(JsonPath.Key(path, "value"));
        return new Condition(ConditionOperator.Exists, null);
    }

    private List<PropertyCondition> ReadWhere(Dictionary<string, JsonElement> keys, string path)
    {
        if (!keys.TryGetValue("where", out var e))
        {
            return [];
        }

        return Array(e, JsonPath.Key(path, "where"), "property conditions [{\"property\": \"category\", \"op\": \"eq\", \"value\": \"food\"}]", (item, at) =>
        {
            if (!IsObject(item, at, "a property condition {\"property\": ..., \"op\": ..., \"value\": ...}"))
            {
                return new PropertyCondition("placeholder", new Condition(ConditionOperator.Exists, null));
            }

            var k = Keys(item, at, ["property", "op", "value"], "a property condition");
            return new PropertyCondition(RequiredString(k, "property", at, "an event property path such as 'category'"), ReadCondition(k, at));
        });
    }

    private TimeWindow? ReadWindow(Dictionary<string, JsonElement> keys, string path)
    {
        var within = Duration(keys, "within", path, required: false, example: "P30D");

        DateTimeOffset? from = null, to = null;
        if (keys.TryGetValue("between", out var b))
        {
            var at = JsonPath.Key(path, "between");
            if (b.ValueKind != JsonValueKind.Array || b.GetArrayLength() != 2)
            {
                Error(at, $"expected an array of 2 ISO 8601 instants [\"<from>\", \"<to>\"], got {Kind(b)}{(b.ValueKind == JsonValueKind.Array ? $" of {b.GetArrayLength()}" : string.Empty)}");
                Unreadable(at);
            }
            else
            {
                from = Instant(b[0], JsonPath.Index(at, 0));
                to = Instant(b[1], JsonPath.Index(at, 1));
                if (from is null || to is null)
                {
                    Unreadable(at);
                }
            }
        }

        if (within is null && from is null && to is null)
        {
            return null;
        }

        return new TimeWindow { Within = within, From = from, To = to };
    }

    private string RequiredString(Dictionary<string, JsonElement> keys, string key, string path, string expected) =>
        String(keys, key, path, expected, required: true) ?? string.Empty;
}
