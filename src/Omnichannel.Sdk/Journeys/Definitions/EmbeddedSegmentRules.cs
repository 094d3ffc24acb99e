using System.Text;
using System.Text.Json;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// Reads, checks and writes the segment-rule parts of a journey (entry and exit conditions, profile branch conditions,
/// <c>where</c> lists) with the segment code itself, so both accept exactly the same rules with the same messages. The
/// segment reader reads whole definitions, so a part is wrapped in a stand-in definition and the error paths are moved
/// back under the journey path.
/// </summary>
internal static class EmbeddedSegmentRules
{
    private const string StandInId = "journey-embedded-rule";

    /// <summary>The stand-in event type <c>where</c> lists are checked under.</summary>
    private const string StandInEvent = "journey.embedded";

    public static SegmentRule ReadRule(JsonElement rule, string path, List<DefinitionError> errors)
    {
        var (definition, found) = ReadStandIn(rule.GetRawText());
        errors.AddRange(Move(found, "$.rule", path));
        return definition.Rule ?? new AllRule([]);
    }

    /// <summary>Reads a <c>where</c> array found at <paramref name="path"/>.</summary>
    public static IReadOnlyList<PropertyCondition> ReadWhere(JsonElement where, string path, List<DefinitionError> errors)
    {
        var (definition, found) = ReadStandIn($"{{\"event\": \"{StandInEvent}\", \"where\": {where.GetRawText()}}}");
        errors.AddRange(Move(found, "$.rule.where", path));
        return (definition.Rule as EventRule)?.Where ?? [];
    }

    public static void ValidateRule(SegmentRule? rule, string path, List<DefinitionError> errors)
    {
        var found = new List<DefinitionError>();
        SegmentDefinitionValidator.ValidateRule(rule, "$", found);
        errors.AddRange(Move(found, "$", path));
    }

    /// <summary>Checks a <c>where</c> list that sits at <paramref name="path"/>.</summary>
    public static void ValidateWhere(IReadOnlyList<PropertyCondition>? where, string path, List<DefinitionError> errors)
    {
        if (where is null)
        {
            errors.Add(new(path, "is null (expected an array of property conditions)"));
            return;
        }

        var found = new List<DefinitionError>();
        SegmentDefinitionValidator.ValidateLeaf(new EventRule(StandInEvent) { Where = where }, "$", found);
        errors.AddRange(Move(found, "$.where", path));
    }

    /// <summary>Checks a <c>{"trigger"|"context": path, "op", "value"}</c> leaf at <paramref name="path"/>.</summary>
    public static void ValidatePropertyLeaf(string key, string property, Condition condition, string path, List<DefinitionError> errors)
    {
        var found = new List<DefinitionError>();
        SegmentDefinitionValidator.ValidateLeaf(new EventRule(StandInEvent) { Where = [new PropertyCondition(property, condition)] }, "$", found);
        errors.AddRange(found.Select(e => new DefinitionError(
            MovePath(MovePath(e.Path, "$.where[0].property", "$.where[0]." + key), "$.where[0]", path), e.Message)));
    }

    /// <summary>Writes a rule in the segment JSON form.</summary>
    public static void WriteRule(Utf8JsonWriter writer, SegmentRule rule)
    {
        var json = SegmentJson.Serialize(new SegmentDefinition(StandInId, StandInId, rule));
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        document.RootElement.GetProperty("rule").WriteTo(writer);
    }

    /// <summary>Writes <c>"where": [...]</c> when the list is not empty.</summary>
    public static void WriteWhere(Utf8JsonWriter writer, IReadOnlyList<PropertyCondition>? where)
    {
        if (where is not { Count: > 0 })
        {
            return;
        }

        writer.WritePropertyName("where");
        using var document = JsonDocument.Parse(SegmentJson.Serialize(new SegmentDefinition(StandInId, StandInId, new EventRule(StandInEvent) { Where = where })));
        document.RootElement.GetProperty("rule").GetProperty("where").WriteTo(writer);
    }

    private static (SegmentDefinition Definition, List<DefinitionError> Errors) ReadStandIn(string ruleJson)
    {
        var text = new StringBuilder()
            .Append("{\"id\": \"").Append(StandInId).Append("\", \"name\": \"").Append(StandInId).Append("\", \"rule\": ")
            .Append(ruleJson).Append('}').ToString();
        using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 256 });
        var (definition, errors) = SegmentJsonReader.Read(document.RootElement, "$");

        // The stand-in's own id is not the journey's business: a rule naming it is no cycle.
        errors.RemoveAll(e => e.Message.StartsWith("segments form a cycle", StringComparison.Ordinal));
        return (definition, errors);
    }

    private static IEnumerable<DefinitionError> Move(IEnumerable<DefinitionError> errors, string from, string to) =>
        errors.Select(e => new DefinitionError(MovePath(e.Path, from, to), e.Message));

    private static string MovePath(string path, string from, string to) =>
        path == from ? to
        : path.StartsWith(from, StringComparison.Ordinal) && path.Length > from.Length && path[from.Length] is '.' or '['
            ? to + path[from.Length..]
            : path;
}
