using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Segments.Definitions;

public sealed class ParseTests
{
    internal const string IssueExample = """
        { "id": "lapsed-vip", "name": "Lapsed VIPs",
          "rule": { "all": [
            { "trait": "tier", "op": "eq", "value": "vip" },
            { "event": "order.placed", "count": { "op": "gte", "value": 3 }, "within": "P365D" },
            { "lastEvent": "order.placed", "op": "moreThanAgo", "value": "P90D" } ] } }
        """;

    internal static SegmentDefinition Valid(string json)
    {
        var result = SegmentJson.Parse(json);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        return result.Value;
    }

    internal static SegmentRule ValidRule(string ruleJson) => Valid($$"""{"id":"s","name":"S","rule":{{ruleJson}}}""").Rule;

    [Fact]
    public void Parse_TheIssueExample_LoadsEveryPart()
    {
        var d = Valid(IssueExample);

        Assert.Equal("lapsed-vip", d.Id);
        Assert.Equal("Lapsed VIPs", d.Name);
        Assert.Null(d.Description);
        var all = Assert.IsType<AllRule>(d.Rule);
        Assert.Equal(3, all.Rules.Count);
        var trait = Assert.IsType<TraitRule>(all.Rules[0]);
        Assert.Equal("tier", trait.Path);
        Assert.Equal(ConditionOperator.Eq, trait.Condition.Op);
        Assert.Equal("vip", trait.Condition.Value!.GetValue<string>());
        var ev = Assert.IsType<EventRule>(all.Rules[1]);
        Assert.Equal("order.placed", ev.EventType);
        Assert.Equal(ConditionOperator.Gte, ev.Count!.Op);
        Assert.Equal(3, ev.Count.Value!.GetValue<int>());
        Assert.Equal(IsoDuration.FromDays(365), ev.Window!.Within);
        var recency = Assert.IsType<RecencyRule>(all.Rules[2]);
        Assert.Equal(RecencyKind.Last, recency.Which);
        Assert.Equal(ConditionOperator.MoreThanAgo, recency.Op);
        Assert.Equal(IsoDuration.FromDays(90), recency.Duration);
    }

    [Theory]
    [InlineData("eq", "\"vip\"", ConditionOperator.Eq)]
    [InlineData("ne", "\"vip\"", ConditionOperator.Ne)]
    [InlineData("gt", "10", ConditionOperator.Gt)]
    [InlineData("gte", "10", ConditionOperator.Gte)]
    [InlineData("lt", "10.5", ConditionOperator.Lt)]
    [InlineData("lte", "\"2024-01-01T00:00:00Z\"", ConditionOperator.Lte)]
    [InlineData("in", "[\"FR\", \"BE\"]", ConditionOperator.In)]
    [InlineData("notIn", "[1, 2]", ConditionOperator.NotIn)]
    [InlineData("contains", "\"shoes\"", ConditionOperator.Contains)]
    [InlineData("startsWith", "\"+33\"", ConditionOperator.StartsWith)]
    [InlineData("between", "[18, 30]", ConditionOperator.Between)]
    [InlineData("withinLast", "\"P30D\"", ConditionOperator.WithinLast)]
    [InlineData("moreThanAgo", "\"P1Y\"", ConditionOperator.MoreThanAgo)]
    [InlineData("anniversaryWithin", "\"P7D\"", ConditionOperator.AnniversaryWithin)]
    public void Parse_TraitWithEachOperator_ReadsOperatorAndValue(string op, string value, ConditionOperator expected)
    {
        var rule = Assert.IsType<TraitRule>(ValidRule($$"""{"trait":"profile.x","op":"{{op}}","value":{{value}}}"""));

        Assert.Equal(expected, rule.Condition.Op);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(value), rule.Condition.Value), rule.Condition.Value?.ToJsonString());
    }

    [Theory]
    [InlineData("exists", ConditionOperator.Exists)]
    [InlineData("notExists", ConditionOperator.NotExists)]
    public void Parse_PresenceOperators_TakeNoValue(string op, ConditionOperator expected)
    {
        var rule = Assert.IsType<TraitRule>(ValidRule($$"""{"trait":"email","op":"{{op}}"}"""));

        Assert.Equal(expected, rule.Condition.Op);
        Assert.Null(rule.Condition.Value);
    }

    [Fact]
    public void Parse_AnyAndNot_BuildCombinators()
    {
        var any = Assert.IsType<AnyRule>(ValidRule("""{"any":[{"not":{"segment":"vip"}},{"reachable":"email","topic":"newsletter"}]}"""));

        var not = Assert.IsType<NotRule>(any.Rules[0]);
        Assert.Equal("vip", Assert.IsType<SegmentMembershipRule>(not.Rule).SegmentId);
        var reach = Assert.IsType<ReachableRule>(any.Rules[1]);
        Assert.Equal(("email", "newsletter"), (reach.Channel, reach.Topic));
    }

    [Fact]
    public void Parse_ReachableWithoutTopic_MeansTheWholeChannel()
    {
        var reach = Assert.IsType<ReachableRule>(ValidRule("""{"reachable":"sms"}"""));

        Assert.Null(reach.Topic);
    }

    [Fact]
    public void Parse_EventWithWhereAndBetween_ReadsConditionsAndFixedWindow()
    {
        var ev = Assert.IsType<EventRule>(ValidRule("""
            {"event":"product.viewed","where":[{"property":"category","op":"eq","value":"food"},{"property":"price","op":"gte","value":20}],
             "between":["2025-01-01T00:00:00Z","2025-02-01T00:00:00+01:00"]}
            """));

        Assert.Equal(2, ev.Where.Count);
        Assert.Equal("price", ev.Where[1].Property);
        Assert.Equal(ConditionOperator.Gte, ev.Where[1].Condition.Op);
        Assert.Null(ev.Count);
        Assert.Null(ev.Window!.Within);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), ev.Window.From);
        Assert.Equal(new DateTimeOffset(2025, 2, 1, 0, 0, 0, TimeSpan.FromHours(1)), ev.Window.To);
    }

    [Fact]
    public void Parse_EventWithoutCountOrWindow_MeansAtLeastOnceEver()
    {
        var ev = Assert.IsType<EventRule>(ValidRule("""{"event":"email.opened"}"""));

        Assert.Null(ev.Count);
        Assert.Null(ev.Window);
        Assert.Empty(ev.Where);
    }

    [Theory]
    [InlineData("sum", AggregateFunction.Sum)]
    [InlineData("avg", AggregateFunction.Avg)]
    [InlineData("min", AggregateFunction.Min)]
    [InlineData("max", AggregateFunction.Max)]
    [InlineData("distinct", AggregateFunction.Distinct)]
    [InlineData("count", AggregateFunction.Count)]
    public void Parse_AggregateWithEachFunction_ReadsFunctionPropertyAndCondition(string function, AggregateFunction expected)
    {
        var a = Assert.IsType<AggregateRule>(ValidRule($$"""
            {"aggregate":"{{function}}","event":"order.placed","property":"total","where":[{"property":"currency","op":"eq","value":"EUR"}],"within":"P90D","op":"gte","value":500}
            """));

        Assert.Equal(expected, a.Function);
        Assert.Equal("order.placed", a.EventType);
        Assert.Equal("total", a.Property);
        Assert.Single(a.Where);
        Assert.Equal(IsoDuration.FromDays(90), a.Window!.Within);
        Assert.Equal(ConditionOperator.Gte, a.Condition.Op);
        Assert.Equal(500m, a.Condition.Value!.GetValue<decimal>());
    }

    [Fact]
    public void Parse_CountAggregateWithoutProperty_IsValid()
    {
        var a = Assert.IsType<AggregateRule>(ValidRule("""{"aggregate":"count","event":"order.returned","op":"lte","value":2}"""));

        Assert.Null(a.Property);
        Assert.Equal(AggregateFunction.Count, a.Function);
    }

    [Fact]
    public void Parse_FirstEventWithWhere_ReadsRecencyRule()
    {
        var r = Assert.IsType<RecencyRule>(ValidRule("""{"firstEvent":"order.placed","where":[{"property":"store_id","op":"exists"}],"op":"withinLast","value":"P1M"}"""));

        Assert.Equal(RecencyKind.First, r.Which);
        Assert.Equal(ConditionOperator.WithinLast, r.Op);
        Assert.Equal(IsoDuration.FromMonths(1), r.Duration);
        Assert.Equal(ConditionOperator.Exists, Assert.Single(r.Where).Condition.Op);
    }

    [Theory]
    [InlineData("""{"stat":"orderCount","op":"gte","value":3}""")]
    [InlineData("""{"stat":"totalSpent","op":"between","value":[100,500.5]}""")]
    [InlineData("""{"stat":"lastOrderAt","op":"moreThanAgo","value":"P90D"}""")]
    [InlineData("""{"stat":"firstSeen","op":"gte","value":"2024-06-01T00:00:00Z"}""")]
    [InlineData("""{"stat":"lifecycleStage","op":"in","value":["customer","repeatCustomer"]}""")]
    [InlineData("""{"stat":"channelsUsed","op":"contains","value":"store"}""")]
    [InlineData("""{"stat":"cartValue","op":"gt","value":0}""")]
    public void Parse_StatisticRules_AreValid(string rule)
    {
        Assert.IsType<StatisticRule>(ValidRule(rule));
    }

    [Fact]
    public void Parse_Description_IsKept()
    {
        var d = Valid("""{"id":"vip","name":"VIP","description":"Our best customers","rule":{"trait":"tier","op":"eq","value":"vip"}}""");

        Assert.Equal("Our best customers", d.Description);
    }

    [Fact]
    public void Parse_FromJsonElement_GivesTheSameDefinition()
    {
        using var doc = JsonDocument.Parse(IssueExample);

        var result = SegmentJson.Parse(doc.RootElement);

        Assert.True(result.IsValid);
        Assert.Equal(SegmentJson.Serialize(Valid(IssueExample)), SegmentJson.Serialize(result.Value));
    }

    [Fact]
    public void ParseMany_ValidArray_LoadsEveryDefinitionInOrder()
    {
        var result = SegmentJson.ParseMany("""
            [ {"id":"vip","name":"VIP","rule":{"trait":"tier","op":"eq","value":"vip"}},
              {"id":"vip-fr","name":"French VIPs","rule":{"all":[{"segment":"vip"},{"trait":"country","op":"eq","value":"FR"}]}} ]
            """);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal(["vip", "vip-fr"], result.Value.Select(d => d.Id));
    }

    [Fact]
    public void ParseMany_ReferenceToExistingSegment_IsAccepted()
    {
        var result = SegmentJson.ParseMany(
            """[{"id":"vip-fr","name":"French VIPs","rule":{"segment":"vip"}}]""",
            new HashSet<string> { "vip" });

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
    }
}
