using Omnichannel.Sdk.Journeys;
using Xunit;
using static Omnichannel.Sdk.Tests.Journeys.JourneyJsonTests;

namespace Omnichannel.Sdk.Tests.Journeys;

public sealed class JourneyValidationTests
{
    private const string End = """{"id": "end", "type": "exit"}""";

    private static IReadOnlyList<DefinitionError> Errors(string json)
    {
        var result = JourneyJson.Parse(json);
        Assert.False(result.IsValid, "expected errors");
        return result.Errors;
    }

    private static void AssertError(string json, string path, string fragment)
    {
        var errors = Errors(json);
        Assert.Contains(errors, e => e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"id": "a", "type": "teleport"}""", "$.steps[0].type", "unknown step type")]
    [InlineData("""{"id": "a", "type": "delay", "duration": "PT1H", "colour": "red"}""", "$.steps[0].colour", "unknown key")]
    [InlineData("""{"id": "a", "type": "delay", "duration": "1 hour"}""", "$.steps[0].duration", "ISO 8601")]
    [InlineData("""{"id": "a", "type": "delay", "duration": "PT0S"}""", "$.steps[0].duration", "zero delay")]
    [InlineData("""{"id": "a", "type": "delayUntilLocalTime", "localTime": "25:00"}""", "$.steps[0].localTime", "not a local time")]
    [InlineData("""{"id": "a", "type": "delayUntilLocalTime", "localTime": "9am"}""", "$.steps[0].localTime", "not a local time")]
    [InlineData("""{"id": "a", "type": "delayUntilLocalTime", "localTime": "09:00", "days": ["funday"]}""", "$.steps[0].days[0]", "unknown day")]
    [InlineData("""{"id": "a", "type": "delayUntilLocalTime", "localTime": "09:00", "days": []}""", "$.steps[0].days", "never end")]
    [InlineData("""{"id": "a", "type": "delayUntilDateTrait", "trait": "due", "offset": "3 days"}""", "$.steps[0].offset", "signed ISO 8601")]
    [InlineData("""{"id": "a", "type": "send", "channels": [], "template": "t"}""", "$.steps[0].channels", "at least one channel")]
    [InlineData("""{"id": "a", "type": "send", "channels": ["E-Mail"], "template": "t"}""", "$.steps[0].channels[0]", "not a valid channel")]
    [InlineData("""{"id": "a", "type": "send", "channels": ["sms", "sms"], "template": "t"}""", "$.steps[0].channels[1]", "appears twice")]
    [InlineData("""{"id": "a", "type": "send", "channels": ["sms"]}""", "$.steps[0].template", "is required")]
    [InlineData("""{"id": "a", "type": "send", "channels": ["sms"], "template": "t", "class": "urgent"}""", "$.steps[0].class", "unknown value")]
    [InlineData("""{"id": "a", "type": "waitForEvent", "timeout": "P1D"}""", "$.steps[0].branches", "at least one awaited event")]
    [InlineData("""{"id": "a", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "end"}]}""", "$.steps[0].timeout", "is required")]
    [InlineData("""{"id": "a", "type": "waitForEvent", "branches": [{"event": "order.placed"}], "timeout": "P1D"}""", "$.steps[0].branches[0].next", "only with restartOnMatch")]
    [InlineData("""{"id": "a", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "end"}], "timeout": "P1D", "restartOnMatch": true}""", "$.steps[0].restartOnMatch", "no effect")]
    [InlineData("""{"id": "a", "type": "split", "variants": [{"name": "a", "weight": 0, "next": "end"}]}""", "$.steps[0].variants[0].weight", "not a valid weight")]
    [InlineData("""{"id": "a", "type": "split", "variants": [{"name": "a", "weight": -5, "next": "end"}]}""", "$.steps[0].variants[0].weight", "not a valid weight")]
    [InlineData("""{"id": "a", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "end"}], "controlWeight": 0}""", "$.steps[0].controlWeight", "not a valid weight")]
    [InlineData("""{"id": "a", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "end"}, {"name": "a", "weight": 1, "next": "end"}]}""", "$.steps[0].variants[1].name", "another variant")]
    [InlineData("""{"id": "a", "type": "split", "variants": []}""", "$.steps[0].variants", "at least one variant")]
    [InlineData("""{"id": "a", "type": "updateProfile"}""", "$.steps[0]", "changes nothing")]
    [InlineData("""{"id": "a", "type": "updateProfile", "increment": {"visits": "one"}}""", "$.steps[0].increment.visits", "expected a number")]
    [InlineData("""{"id": "a", "type": "updateProfile", "set": {"tier": 1}, "unset": ["tier"]}""", "$.steps[0].unset[0]", "changed twice")]
    [InlineData("""{"id": "a", "type": "webhook", "url": "ftp://example.com"}""", "$.steps[0].url", "http or https")]
    [InlineData("""{"id": "a", "type": "emit", "event": "Not An Event"}""", "$.steps[0].event", "not a valid event type")]
    [InlineData("""{"id": "Bad Id", "type": "exit"}""", "$.steps[0].id", "not a valid step id")]
    [InlineData("""{"id": "a", "type": "branch", "branches": []}""", "$.steps[0].branches", "at least one")]
    public void Parse_WhenAStepIsWrong_ReportsItsPath(string step, string path, string fragment) =>
        AssertError(Definition(step + ", " + End), path, fragment);

    [Theory]
    [InlineData("""{"type": "rocket"}""", "$.trigger.type", "unknown trigger type")]
    [InlineData("""{"type": "event", "event": "Cart Added"}""", "$.trigger.event", "not a valid event type")]
    [InlineData("""{"type": "segment", "segment": "vip", "on": "joined"}""", "$.trigger.on", "unknown value")]
    [InlineData("""{"type": "date", "trait": "due", "localTime": "9:00"}""", "$.trigger.localTime", "not a local time")]
    [InlineData("""{"type": "inactivity", "afterEvent": "product.viewed", "noEvent": [], "within": "P7D"}""", "$.trigger.noEvent", "at least one event type")]
    [InlineData("""{"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["order.placed"], "within": "P0D"}""", "$.trigger.within", "zero duration")]
    public void Parse_WhenTheTriggerIsWrong_ReportsItsPath(string trigger, string path, string fragment) =>
        AssertError(Definition(End, trigger), path, fragment);

    [Theory]
    [InlineData(""", "entry": {"reEntry": "afterCooldown"}""", "$.entry.cooldown", "is required with afterCooldown")]
    [InlineData(""", "entry": {"reEntry": "never", "cooldown": "P1D"}""", "$.entry.cooldown", "only applies to afterCooldown")]
    [InlineData(""", "entry": {"maxConcurrent": 0}""", "$.entry.maxConcurrent", "let nobody in")]
    [InlineData(""", "entry": {"reEntry": "sometimes"}""", "$.entry.reEntry", "unknown value")]
    [InlineData(""", "entry": {"condition": {"trait": "age", "op": "older", "value": 3}}""", "$.entry.condition.op", "unknown operator")]
    [InlineData(""", "exit": [{"event": "order.placed", "condition": {"segment": "x"}}]""", "$.exit[0]", "either")]
    [InlineData(""", "goal": {"event": "order.placed", "within": "PT0S"}""", "$.goal.within", "zero conversion window")]
    [InlineData(""", "goal": {"event": "order.placed", "where": [{"property": "total", "op": "between", "value": [5, 1]}], "within": "P1D"}""", "$.goal.where[0].value", "ascending")]
    public void Parse_WhenEntryExitOrGoalIsWrong_ReportsItsPath(string extra, string path, string fragment) =>
        AssertError(Definition(End, extra: extra), path, fragment);

    [Fact]
    public void Parse_WhenCorrelationKeyOnANonEventTrigger_ReportsIt() =>
        AssertError(Definition(End, """{"type": "segment", "segment": "vip", "on": "entered"}""", """, "entry": {"correlationKey": "cart_id"}"""), "$.entry.correlationKey", "needs an event trigger");

    [Fact]
    public void Parse_WhenAnEmbeddedSegmentRuleIsWrong_ReportsTheFullPath()
    {
        var json = Definition("""
            {"id": "a", "type": "send", "channels": ["sms"], "template": "t"},
            {"id": "b", "type": "delay", "duration": "PT1H"},
            {"id": "c", "type": "delay", "duration": "PT1H"},
            {"id": "d", "type": "branch", "branches": [{"condition": {"all": [{"reachable": "sms"}, {"stat": "orderCount", "op": "bigger", "value": 3}]}, "next": "end"}]},
            {"id": "end", "type": "exit"}
            """);
        var error = Assert.Single(Errors(json));
        Assert.Equal("$.steps[3].branches[0].condition.all[1].op", error.Path);
        Assert.Contains("unknown operator 'bigger'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenATriggerLeafIsWrongInsideJourneyCombinators_ReportsTheFullPath()
    {
        var json = Definition("""{"id": "d", "type": "branch", "branches": [{"condition": {"any": [{"reachable": "sms"}, {"trigger": "total", "op": "in", "value": []}]}, "next": "end"}]}, {"id": "end", "type": "exit"}""");
        Assert.Equal("$.steps[0].branches[0].condition.any[1].value", Assert.Single(Errors(json)).Path);
    }

    [Fact]
    public void Parse_WhenAWhereListIsWrong_ReportsTheFullPath() =>
        AssertError(
            Definition(End, """{"type": "event", "event": "cart.item_added", "where": [{"property": "total", "op": "gte"}]}"""),
            "$.trigger.where[0].value",
            "is required for 'gte'");

    [Fact]
    public void Parse_WhenStepIdsRepeat_ReportsTheSecond()
    {
        var errors = Errors(Definition("""{"id": "a", "type": "delay", "duration": "PT1H"}, {"id": "a", "type": "exit"}"""));
        Assert.Contains(errors, e => e.Path == "$.steps[1].id" && e.Message.Contains("already the id of $.steps[0]", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"id": "a", "type": "delay", "duration": "PT1H", "next": "nowhere"}""", "$.steps[0].next")]
    [InlineData("""{"id": "a", "type": "branch", "branches": [{"condition": {"reachable": "sms"}, "next": "nowhere"}]}""", "$.steps[0].branches[0].next")]
    [InlineData("""{"id": "a", "type": "branch", "branches": [{"condition": {"reachable": "sms"}, "next": "end"}], "else": "nowhere"}""", "$.steps[0].else")]
    [InlineData("""{"id": "a", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "end"}], "timeout": "P1D", "timeoutNext": "nowhere"}""", "$.steps[0].timeoutNext")]
    [InlineData("""{"id": "a", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "nowhere"}, {"name": "b", "weight": 1, "next": "end"}]}""", "$.steps[0].variants[0].next")]
    public void Parse_WhenATargetDoesNotExist_ReportsItsPath(string step, string path) =>
        AssertError(Definition(step + ", " + End), path, "'nowhere' is not a step of this journey");

    [Fact]
    public void Parse_WhenAStepIsUnreachable_ReportsIt()
    {
        var errors = Errors(Definition("""{"id": "a", "type": "delay", "duration": "PT1H", "next": "end"}, {"id": "orphan", "type": "exit"}, {"id": "end", "type": "exit"}"""));
        var error = Assert.Single(errors);
        Assert.Equal("$.steps[1]", error.Path);
        Assert.Contains("unreachable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenALoopNeverWaits_RejectsIt()
    {
        var errors = Errors(Definition("""{"id": "a", "type": "send", "channels": ["sms"], "template": "t"}, {"id": "b", "type": "updateProfile", "increment": {"n": 1}, "next": "a"}"""));
        var error = Assert.Single(errors);
        Assert.Equal("$.steps[0]", error.Path);
        Assert.Contains("a → b → a", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenAStepLoopsToItselfThroughABranch_RejectsIt() =>
        AssertError(Definition("""{"id": "a", "type": "branch", "branches": [{"condition": {"reachable": "sms"}, "next": "a"}]}, {"id": "end", "type": "exit"}"""), "$.steps[0]", "loop with no delay");

    [Fact]
    public void Parse_WhenALoopHasADelay_AcceptsIt()
    {
        var result = JourneyJson.Parse(Definition("""{"id": "a", "type": "send", "channels": ["sms"], "template": "t"}, {"id": "b", "type": "delay", "duration": "P1D", "next": "a"}"""));
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
    }

    [Fact]
    public void Parse_WhenALoopWaitsOnlyForADateTrait_RejectsIt() =>
        AssertError(Definition("""{"id": "a", "type": "send", "channels": ["sms"], "template": "t"}, {"id": "b", "type": "delayUntilDateTrait", "trait": "due", "next": "a"}"""), "$.steps[0]", "loop with no delay");

    [Fact]
    public void Parse_WhenManyThingsAreWrong_ReportsEveryOneOrderedByPath()
    {
        var json = """
            {"id": "Bad", "version": 0, "name": "", "trigger": {"type": "event", "event": "x y"},
             "steps": [{"id": "a", "type": "send", "channels": [], "template": ""}, {"id": "a", "type": "delay", "duration": "PT0S", "next": "zz"}]}
            """;
        var paths = Errors(json).Select(e => e.Path).ToList();
        Assert.Equal(
            ["$.id", "$.name", "$.steps[0].channels", "$.steps[0].template", "$.steps[1].duration", "$.steps[1].id", "$.steps[1].next", "$.trigger.event", "$.version"],
            paths);
    }

    [Fact]
    public void Parse_WhenRequiredTopLevelKeysAreMissing_ReportsEach()
    {
        var paths = Errors("""{"id": "j"}""").Select(e => e.Path).ToList();
        Assert.Equal(["$.name", "$.steps", "$.trigger", "$.version"], paths);
    }

    [Fact]
    public void Validate_WhenBuiltInCSharpWithAnUnknownTarget_ReportsTheSamePathAsJson()
    {
        var definition = new JourneyDefinition("j", 1, "J", new EventTrigger("cart.item_added"), [new DelayStep("a", global::Omnichannel.Sdk.Segments.IsoDuration.FromDays(1)) { Next = "nowhere" }]);
        Assert.Equal("$.steps[0].next", Assert.Single(JourneyDefinitionValidator.Validate(definition)).Path);
    }

    [Fact]
    public void Validate_WhenBuiltInCSharpWithABadProfileCondition_ReportsTheFullPath()
    {
        var rule = new global::Omnichannel.Sdk.Segments.AllRule([new global::Omnichannel.Sdk.Segments.ReachableRule("sms", null), new global::Omnichannel.Sdk.Segments.StatisticRule("nope", new global::Omnichannel.Sdk.Segments.Condition(global::Omnichannel.Sdk.Segments.ConditionOperator.Gte, 1))]);
        var definition = new JourneyDefinition("j", 1, "J", new EventTrigger("cart.item_added"),
        [
            new BranchStep("a", [new ConditionalBranch(new ProfileCondition(rule), "b")]),
            new ExitStep("b"),
        ]);
        Assert.Equal("$.steps[0].branches[0].condition.all[1].stat", Assert.Single(JourneyDefinitionValidator.Validate(definition)).Path);
    }
}
