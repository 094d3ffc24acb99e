using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Segments.Definitions;

public sealed class ValidationTests
{
    private static IReadOnlyList<DefinitionError> Errors(string json)
    {
        var result = SegmentJson.Parse(json);
        Assert.False(result.IsValid);
        Assert.Null(result.Value);
        Assert.NotEmpty(result.Errors);
        return result.Errors;
    }

    private static IReadOnlyList<DefinitionError> RuleErrors(string ruleJson) =>
        Errors($$"""{"id":"s","name":"S","rule":{{ruleJson}}}""");

    private static DefinitionError Single(IReadOnlyList<DefinitionError> errors, string path)
    {
        Assert.True(errors.Count == 1, "expected one error, got:\n" + string.Join("\n", errors));
        Assert.Equal(path, errors[0].Path);
        return errors[0];
    }

    [Fact]
    public void Parse_ErrorsAreOrderedByPath_WithIndicesComparedAsNumbers()
    {
        var items = string.Join(",", Enumerable.Range(0, 12).Select(i => i is 2 or 10 ? """{"event":"Bad"}""" : """{"segment":"vip"}"""));

        var errors = RuleErrors("{\"any\":[" + items + "]}");

        Assert.Equal(["$.rule.any[2].event", "$.rule.any[10].event"], errors.Select(e => e.Path));
    }

    [Fact]
    public void Parse_WhenCountOpIsUnknown_ReportsItsJsonPath()
    {
        var e = Single(RuleErrors("""{"all":[{"trait":"tier","op":"eq","value":"vip"},{"event":"order.placed","count":{"op":"atLeast","value":3}}]}"""), "$.rule.all[1].count.op");

        Assert.Contains("unknown operator 'atLeast'", e.Message, StringComparison.Ordinal);
        Assert.Contains("gte", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenTraitOpIsMissing_SaysItIsRequired()
    {
        var e = Single(RuleErrors("""{"trait":"tier","value":"vip"}"""), "$.rule.op");

        Assert.Contains("required", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenANodeHasTwoKinds_ReportsBoth()
    {
        var e = Single(RuleErrors("""{"any":[{"trait":"tier","event":"order.placed","op":"eq","value":"vip"}]}"""), "$.rule.any[0]");

        Assert.Contains("'trait' and 'event'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenANodeHasNoKind_ListsTheKinds()
    {
        var e = Single(RuleErrors("""{"all":[{"op":"eq","value":1}]}"""), "$.rule.all[0]");

        Assert.Contains("reachable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenAKeyIsUnknown_ReportsTheKeyAndTheExpectedKeys()
    {
        var e = Single(RuleErrors("""{"trait":"tier","op":"eq","value":"vip","window":"P1D"}"""), "$.rule.window");

        Assert.Contains("trait, op, value", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenTopLevelKeyIsUnknownAndIdMissing_ReportsBoth()
    {
        var errors = Errors("""{"name":"S","rules":{"segment":"x"},"rule":{"segment":"x"}}""");

        Assert.Equal(["$.id", "$.rules"], errors.Select(e => e.Path));
    }

    [Fact]
    public void Parse_WhenSeveralThingsAreWrong_ReportsEveryError()
    {
        var errors = RuleErrors("""
            {"all":[
              {"trait":"tier","op":"equals","value":"vip"},
              {"event":"Order Placed","count":{"op":"gte","value":-1},"within":"90 days"},
              {"lastEvent":"order.placed","op":"moreThanAgo","value":"P9X"},
              {"stat":"orderz","op":"gte","value":1}
            ]}
            """);

        Assert.Equal(
            ["$.rule.all[0].op", "$.rule.all[1].count.value", "$.rule.all[1].event", "$.rule.all[1].within", "$.rule.all[2].value", "$.rule.all[3].stat"],
            errors.Select(e => e.Path));
    }

    [Theory]
    [InlineData("in", "\"FR\"")]
    [InlineData("notIn", "3")]
    [InlineData("between", "\"a\"")]
    public void Parse_WhenAnArrayOperatorGetsAScalar_SaysAnArrayIsNeeded(string op, string value)
    {
        var e = Single(RuleErrors($$"""{"trait":"country","op":"{{op}}","value":{{value}}}"""), "$.rule.value");

        Assert.Contains("array", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenBetweenHasThreeValues_SaysExactlyTwo()
    {
        var e = Single(RuleErrors("""{"trait":"age","op":"between","value":[1,2,3]}"""), "$.rule.value");

        Assert.Contains("exactly 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenBetweenIsDescending_SaysItCanNeverHold()
    {
        var e = Single(RuleErrors("""{"trait":"age","op":"between","value":[30,18]}"""), "$.rule.value");

        Assert.Contains("ascending", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenBetweenDatesHaveDifferentOffsets_ComparesThemAsInstants()
    {
        // Ordinally descending, but 00:00+05:00 is 19:00Z the day before, so the range is ascending.
        ParseTests.ValidRule("""{"trait":"signup","op":"between","value":["2025-01-02T00:00:00+05:00","2025-01-01T20:00:00Z"]}""");
        var e = Single(RuleErrors("""{"trait":"signup","op":"between","value":["2025-01-02T00:00:00+05:00","2025-01-01T18:00:00Z"]}"""), "$.rule.value");

        Assert.Contains("ascending", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenBetweenMixesKinds_SaysTheyMustMatch()
    {
        var e = Single(RuleErrors("""{"trait":"age","op":"between","value":[1,"nine"]}"""), "$.rule.value");

        Assert.Contains("same kind", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenExistsHasAValue_SaysItTakesNone()
    {
        var e = Single(RuleErrors("""{"trait":"email","op":"exists","value":true}"""), "$.rule.value");

        Assert.Contains("takes no value", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenEqHasNoValue_SaysWhatIsExpected()
    {
        var e = Single(RuleErrors("""{"trait":"tier","op":"eq"}"""), "$.rule.value");

        Assert.Contains("exists/notExists", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("withinLast", "30")]
    [InlineData("moreThanAgo", "\"90 days\"")]
    [InlineData("anniversaryWithin", "\"P7X\"")]
    public void Parse_WhenADateOperatorHasNoValidDuration_ReportsTheValue(string op, string value)
    {
        var e = Single(RuleErrors($$"""{"trait":"birthday","op":"{{op}}","value":{{value}}}"""), "$.rule.value");

        Assert.Contains("ISO 8601", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("-2")]
    [InlineData("\"3\"")]
    public void Parse_WhenCountValueIsNotANonNegativeInteger_ReportsIt(string value)
    {
        var e = Single(RuleErrors("""{"event":"order.placed","count":{"op":"gte","value":""" + value + "}}"), "$.rule.count.value");

        Assert.Contains("non-negative integer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenCountIsBelowZero_SaysItCanNeverHold()
    {
        var e = Single(RuleErrors("""{"event":"order.placed","count":{"op":"lt","value":0}}"""), "$.rule.count.value");

        Assert.Contains("never hold", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenCountIsBelowOne_IsFine()
    {
        Assert.IsType<EventRule>(ParseTests.ValidRule("""{"event":"order.placed","count":{"op":"lt","value":1},"within":"P30D"}"""));
    }

    [Fact]
    public void Parse_WhenCountUsesAStringOperator_SaysWhichOperatorsAreAllowed()
    {
        var e = Single(RuleErrors("""{"event":"order.placed","count":{"op":"startsWith","value":"1"}}"""), "$.rule.count.op");

        Assert.Contains("not allowed for an event count", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenCountInListIsEmpty_SaysItCanNeverHold()
    {
        var e = Single(RuleErrors("""{"event":"order.placed","count":{"op":"in","value":[]}}"""), "$.rule.count.value");

        Assert.Contains("never hold", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenEventWindowIsZero_SaysItNeverContainsAnEvent()
    {
        var e = Single(RuleErrors("""{"event":"order.placed","within":"PT0S"}"""), "$.rule.within");

        Assert.Contains("zero-length", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenBetweenWindowEndsBeforeItStarts_SaysItCanNeverHold()
    {
        var e = Single(RuleErrors("""{"event":"order.placed","between":["2025-02-01T00:00:00Z","2025-02-01T00:00:00Z"]}"""), "$.rule.between");

        Assert.Contains("from < to", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenBetweenWindowHasABadInstant_ReportsTheElement()
    {
        Single(RuleErrors("""{"event":"order.placed","between":["2025-02-01T00:00:00Z","next tuesday"]}"""), "$.rule.between[1]");
    }

    [Fact]
    public void Parse_WhenWithinAndBetweenAreBothGiven_SaysChooseOne()
    {
        var e = Single(RuleErrors("""{"event":"order.placed","within":"P1D","between":["2025-01-01T00:00:00Z","2025-02-01T00:00:00Z"]}"""), "$.rule.within");

        Assert.Contains("either sliding or fixed", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Order.Placed")]
    [InlineData("order placed")]
    [InlineData("order..placed")]
    [InlineData("")]
    public void Parse_WhenEventTypeIsNotALowerDottedName_ReportsIt(string type)
    {
        var e = Single(RuleErrors($$"""{"event":"{{type}}"}"""), "$.rule.event");

        Assert.Contains("lower.dotted_name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenStatisticIsUnknown_ListsTheKnownOnes()
    {
        var e = Single(RuleErrors("""{"stat":"orders","op":"gte","value":1}"""), "$.rule.stat");

        Assert.Contains("orderCount", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenLifecycleStageIsUnknown_ListsTheStages()
    {
        var e = Single(RuleErrors("""{"stat":"lifecycleStage","op":"eq","value":"vip"}"""), "$.rule.value");

        Assert.Contains("repeatCustomer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenNumericStatisticGetsAString_SaysANumberIsExpected()
    {
        var e = Single(RuleErrors("""{"stat":"totalSpent","op":"gt","value":"100"}"""), "$.rule.value");

        Assert.Contains("expected a number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenAggregateHasNoProperty_SaysOnlyCountCanDoWithout()
    {
        var e = Single(RuleErrors("""{"aggregate":"sum","event":"order.placed","op":"gte","value":100}"""), "$.rule.property");

        Assert.Contains("only 'count'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenAggregateFunctionIsUnknown_ListsTheFunctions()
    {
        var e = Single(RuleErrors("""{"aggregate":"median","event":"order.placed","property":"total","op":"gte","value":100}"""), "$.rule.aggregate");

        Assert.Contains("sum|avg|min|max|count|distinct", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenDistinctIsBelowZero_SaysItCanNeverHold()
    {
        var e = Single(RuleErrors("""{"aggregate":"distinct","event":"order.placed","property":"products","op":"lt","value":0}"""), "$.rule.value");

        Assert.Contains("never hold", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("count", "eq", "-1")]
    [InlineData("count", "lte", "-0.5")]
    [InlineData("distinct", "between", "[-5, -1]")]
    public void Parse_WhenACountAggregateMustBeNegative_SaysItCanNeverHold(string function, string op, string value)
    {
        var e = Single(RuleErrors($$"""{"aggregate":"{{function}}","event":"order.placed","property":"products","op":"{{op}}","value":{{value}}}"""), "$.rule.value");

        Assert.Contains("never", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenASumMustBeNegative_IsFine()
    {
        Assert.IsType<AggregateRule>(ParseTests.ValidRule("""{"aggregate":"sum","event":"order.returned","property":"total","op":"lt","value":0}"""));
    }

    [Fact]
    public void Parse_WhenRecencyUsesAComparison_SaysWhichOperatorsAreAllowed()
    {
        var e = Single(RuleErrors("""{"lastEvent":"order.placed","op":"gte","value":"P1D"}"""), "$.rule.op");

        Assert.Contains("withinLast or moreThanAgo", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenWherePropertyConditionIsWrong_ReportsTheElementPath()
    {
        var e = Single(RuleErrors("""{"event":"order.placed","where":[{"property":"total","op":"gt","value":1},{"property":"items","op":"in","value":5}]}"""), "$.rule.where[1].value");

        Assert.Contains("array", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenAKeyAppearsTwice_ReportsTheRepeat()
    {
        var e = Single(RuleErrors("""{"trait":"tier","op":"eq","op":"ne","value":"vip"}"""), "$.rule.op");

        Assert.Contains("twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenASegmentReferencesItself_ReportsACycle()
    {
        var e = Single(Errors("""{"id":"loop","name":"Loop","rule":{"any":[{"segment":"loop"}]}}"""), "$.rule.any[0].segment");

        Assert.Contains("loop → loop", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenJsonIsMalformed_ReportsWhere()
    {
        var e = Single(Errors("""{"id":"x", "name": """), "$");

        Assert.Contains("not valid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenRuleIsNotAnObject_SaysWhatARuleLooksLike()
    {
        Single(Errors("""{"id":"x","name":"X","rule":[]}"""), "$.rule");
    }

    [Fact]
    public void Parse_WhenIdIsNotKebabOrSnake_ReportsIt()
    {
        var e = Single(Errors("""{"id":"Lapsed VIP","name":"X","rule":{"segment":"vip"}}"""), "$.id");

        Assert.Contains("lower-kebab", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenReachableChannelAndTopicAreInvalid_ReportsBoth()
    {
        var errors = RuleErrors("""{"reachable":"E-Mail","topic":""}""");

        Assert.Equal(["$.rule.reachable", "$.rule.topic"], errors.Select(e => e.Path));
    }

    [Fact]
    public void Validate_DefinitionBuiltInCSharp_ReportsTheSamePathsAsJson()
    {
        var json = """{"id":"s","name":"S","rule":{"all":[{"segment":"vip"},{"event":"order.placed","count":{"op":"lt","value":0},"within":"P1D"}]}}""";
        var fromJson = SegmentJson.Parse(json).Errors;
        var definition = new SegmentDefinition("s", "S", new AllRule([
            new SegmentMembershipRule("vip"),
            new EventRule("order.placed") { Count = new Condition(ConditionOperator.Lt, 0), Window = TimeWindow.Last(IsoDuration.FromDays(1)) },
        ]));

        var fromModel = SegmentDefinitionValidator.Validate(definition);

        Assert.Equal(fromJson, fromModel);
        Assert.Equal("$.rule.all[1].count.value", Assert.Single(fromModel).Path);
    }
}
