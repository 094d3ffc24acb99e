using System.Text.Json;
using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Segments.Definitions;

public sealed class SchemaTests
{
    private static readonly string[] OperatorNames =
    [
        "eq", "ne", "gt", "gte", "lt", "lte", "in", "notIn", "contains", "startsWith", "exists", "notExists", "between",
        "withinLast", "moreThanAgo", "anniversaryWithin",
    ];

    private static readonly string[] RuleKinds =
        ["all", "any", "not", "trait", "stat", "event", "aggregate", "lastEvent", "firstEvent", "segment", "reachable"];

    [Fact]
    public void Schema_IsDraft202012Json()
    {
        using var doc = JsonDocument.Parse(SegmentJson.Schema);

        Assert.Equal("https://json-schema.org/draft/2020-12/schema", doc.RootElement.GetProperty("$schema").GetString());
        Assert.Equal(["id", "name", "rule"], doc.RootElement.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Schema_NamesEveryOperator()
    {
        using var doc = JsonDocument.Parse(SegmentJson.Schema);

        var ops = doc.RootElement.GetProperty("$defs").GetProperty("op").GetProperty("enum").EnumerateArray().Select(e => e.GetString());

        Assert.Equal(OperatorNames, ops);
        Assert.Equal(Enum.GetValues<ConditionOperator>().Length, OperatorNames.Length);
    }

    [Fact]
    public void Schema_HasADefinitionForEveryRuleKind_ReferencedFromRule()
    {
        using var doc = JsonDocument.Parse(SegmentJson.Schema);
        var defs = doc.RootElement.GetProperty("$defs");

        var referenced = defs.GetProperty("rule").GetProperty("oneOf").EnumerateArray().Select(e => e.GetProperty("$ref").GetString());

        Assert.Equal(RuleKinds.Select(k => "#/$defs/" + k), referenced);
        foreach (var kind in RuleKinds)
        {
            Assert.Contains(kind, defs.GetProperty(kind).GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        }
    }

    [Fact]
    public void Schema_ListsEveryStatisticAndAggregate()
    {
        using var doc = JsonDocument.Parse(SegmentJson.Schema);
        var defs = doc.RootElement.GetProperty("$defs");

        var stats = defs.GetProperty("stat").GetProperty("properties").GetProperty("stat").GetProperty("enum").EnumerateArray().Select(e => e.GetString());
        var aggregates = defs.GetProperty("aggregate").GetProperty("properties").GetProperty("aggregate").GetProperty("enum").EnumerateArray().Select(e => e.GetString());

        Assert.Equal(ProfileStatisticNames.All, stats);
        Assert.Equal(["sum", "avg", "min", "max", "count", "distinct"], aggregates);
    }

    [Fact]
    public void Schema_InTheRepositoryDocs_IsTheEmbeddedOne()
    {
        var docsCopy = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "schemas", "segment.schema.json"));

        Assert.Equal(SegmentJson.Schema, docsCopy);
    }

    /// <summary>Found above the test's output folder (source paths are mapped away in CI builds).</summary>
    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!Directory.Exists(Path.Combine(dir.FullName, "docs")) || !Directory.Exists(Path.Combine(dir.FullName, "src")))
        {
            dir = dir.Parent ?? throw new InvalidOperationException("The repository root was not found above " + AppContext.BaseDirectory);
        }

        return dir.FullName;
    }
}
