using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

// Branch conditions: segment rules (read by the segment reader) mixed with trigger and context leaves.
internal sealed partial class JourneyJsonReader
{
    /// <summary>A branch condition: the whole node goes to the segment reader unless a <c>trigger</c>/<c>context</c> leaf is in it.</summary>
    private JourneyCondition ReadCondition(JsonElement e, string path) =>
        Nested<JourneyCondition>(path, () => ReadConditionAt(e, path), () => new ProfileCondition(new AllRule([])));

    private JourneyCondition ReadConditionAt(JsonElement e, string path)
    {
        if (!HasJourneyLeaf(e))
        {
            Unreadable(path);
            return new ProfileCondition(EmbeddedSegmentRules.ReadRule(e, path, Errors));
        }

        if (e.TryGetProperty("trigger", out _) || e.TryGetProperty("context", out _))
        {
            var key = e.TryGetProperty("trigger", out _) ? "trigger" : "context";
            var keys = Keys(e, path, [key, "op", "value"], $"a {key} condition");
            var property = String(keys, key, path, "a dotted property path", required: true) ?? string.Empty;
            var condition = Operator(keys, path);
            return key == "trigger" ? new TriggerCondition(property, condition) : new ContextCondition(property, condition);
        }

        // all/any/not over children, some of which are journey leaves.
        if (e.TryGetProperty("not", out var not))
        {
            Keys(e, path, ["not"], "a 'not' condition");
            return new NotCondition(ReadCondition(not, JsonPath.Key(path, "not")));
        }

        var kind = e.TryGetProperty("all", out var a) && a.ValueKind == JsonValueKind.Array && a.EnumerateArray().Any(HasJourneyLeaf) ? "all" : "any";
        Keys(e, path, [kind], $"an '{kind}' condition");
        var children = new List<JourneyCondition>();
        if (!e.TryGetProperty(kind, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            Error(JsonPath.Key(path, kind), $"expected an array of conditions, got {(list.ValueKind == JsonValueKind.Undefined ? "nothing" : Kind(list))}");
            Unreadable(path);
            return new ProfileCondition(new AllRule([]));
        }

        var i = 0;
        foreach (var child in list.EnumerateArray())
        {
            children.Add(ReadCondition(child, JsonPath.Index(JsonPath.Key(path, kind), i++)));
        }

        return kind == "all" ? new AllCondition(children) : new AnyCondition(children);
    }

    private static bool HasJourneyLeaf(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (e.TryGetProperty("trigger", out _) || e.TryGetProperty("context", out _))
        {
            return true;
        }

        if (e.TryGetProperty("not", out var not))
        {
            return HasJourneyLeaf(not);
        }

        foreach (var key in new[] { "all", "any" })
        {
            if (e.TryGetProperty(key, out var children) && children.ValueKind == JsonValueKind.Array && children.EnumerateArray().Any(HasJourneyLeaf))
            {
                return true;
            }
        }

        return false;
    }

    private Condition Operator(Dictionary<string, JsonElement> keys, string path)
    {
        var opPath = JsonPath.Key(path, "op");
        JsonNode? value = keys.TryGetValue("value", out var v) ? DefinitionJson.Node(v) : null;
        if (keys.TryGetValue("op", out var op) && op.ValueKind == JsonValueKind.String && SegmentNames.TryParseOperator(op.GetString(), out var parsed))
        {
            return new Condition(parsed, value);
        }

        Error(opPath, op.ValueKind == JsonValueKind.Undefined
            ? $"is required: an operator ({SegmentNames.OperatorList})"
            : $"unknown operator {op.GetRawText()} (expected one of {SegmentNames.OperatorList})");
        Unreadable(opPath);
        Unreadable(JsonPath.Key(path, "value"));
        return new Condition(ConditionOperator.Exists, null);
    }
}
