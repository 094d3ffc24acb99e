using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Journeys;

public sealed class JourneyJsonTests
{
    private const string EventTriggerJson = """{"type": "event", "event": "cart.item_added"}""";

    internal static string Definition(string steps, string trigger = EventTriggerJson, string extra = "") =>
        $$"""{"id": "j", "version": 1, "name": "J", "trigger": {{trigger}}{{extra}}, "steps": [{{steps}}]}""";

    private static string Canonical(string json) => JsonNode.Parse(json)!.ToJsonString();

    private static JourneyDefinition ParseValid(string json)
    {
        var result = JourneyJson.Parse(json);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        return result.Value;
    }

    private static IReadOnlyList<DefinitionError> Errors(string json)
    {
        var result = JourneyJson.Parse(json);
        Assert.False(result.IsValid);
        Assert.Null(result.Value);
        return result.Errors;
    }

    [Theory]
    [InlineData("""{"type": "event", "event": "cart.item_added", "where": [{"property": "total", "op": "gte", "value": 50}]}""", typeof(EventTrigger))]
    [InlineData("""{"type": "segment", "segment": "no-order-90d", "on": "entered"}""", typeof(SegmentTrigger))]
    [InlineData("""{"type": "segment", "segment": "vip", "on": "exited"}""", typeof(SegmentTrigger))]
    [InlineData("""{"type": "date", "trait": "refill_due_at", "offset": "-P3D", "localTime": "09:00"}""", typeof(DateTrigger))]
    [InlineData("""{"type": "date", "trait": "birthday", "offset": "PT0S", "localTime": "10:30:15", "annual": true}""", typeof(DateTrigger))]
    [InlineData("""{"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["order.placed", "cart.item_added"], "within": "P7D"}""", typeof(InactivityTrigger))]
    public void Parse_EachTriggerKind_ReadsAndRoundTrips(string trigger, Type expected)
    {
        var json = Definition("""{"id": "a", "type": "exit"}""", trigger);
        var definition = ParseValid(json);
        Assert.IsType(expected, definition.Trigger);
        Assert.Equal(Canonical(json), Canonical(JourneyJson.Serialize(definition)));
    }

    [Theory]
    [InlineData("""{"id": "a", "type": "send", "channels": ["push", "email"], "template": "t", "topic": "cart", "class": "marketing"}""", typeof(SendStep))]
    [InlineData("""{"id": "a", "type": "send", "channels": ["sms"], "template": "t", "class": "transactional"}""", typeof(SendStep))]
    [InlineData("""{"id": "a", "type": "delay", "duration": "PT1H"}""", typeof(DelayStep))]
    [InlineData("""{"id": "a", "type": "delayUntilLocalTime", "localTime": "09:00", "days": ["monday", "friday"]}""", typeof(DelayUntilLocalTimeStep))]
    [InlineData("""{"id": "a", "type": "delayUntilDateTrait", "trait": "refill_due_at", "offset": "-P3D", "localTime": "09:00"}""", typeof(DelayUntilDateTraitStep))]
    [InlineData("""{"id": "a", "type": "waitForEvent", "branches": [{"event": "order.placed", "where": [{"property": "total", "op": "gt", "value": 0}], "next": "b"}, {"event": "product.viewed"}], "timeout": "P7D", "timeoutNext": "b", "restartOnMatch": true}""", typeof(WaitForEventStep))]
    [InlineData("""{"id": "a", "type": "branch", "branches": [{"condition": {"reachable": "push"}, "next": "b"}, {"condition": {"all": [{"trigger": "total", "op": "gte", "value": 50}, {"trait": "tier", "op": "eq", "value": "vip"}]}, "next": "b"}, {"condition": {"not": {"context": "variant", "op": "eq", "value": "a"}}, "next": "b"}], "else": "b"}""", typeof(BranchStep))]
    [InlineData("""{"id": "a", "type": "split", "variants": [{"name": "a", "weight": 50, "next": "b"}, {"name": "b", "weight": 50, "next": "b"}], "controlWeight": 10}""", typeof(SplitStep))]
    [InlineData("""{"id": "a", "type": "updateProfile", "set": {"tier": "gold", "prefs.color": {"x": 1}}, "unset": ["old"], "increment": {"visits": 1}}""", typeof(UpdateProfileStep))]
    [InlineData("""{"id": "a", "type": "emit", "event": "journey.cart_recovered", "properties": {"cart_id": "c1", "n": 2}}""", typeof(EmitStep))]
    [InlineData("""{"id": "a", "type": "webhook", "url": "https://example.com/hook", "payload": "{{ profile.id }}"}""", typeof(WebhookStep))]
    [InlineData("""{"id": "a", "type": "delay", "duration": "P1D", "next": "b"}""", typeof(DelayStep))]
    public void Parse_EachStepKind_ReadsAndRoundTrips(string step, Type expected)
    {
        var json = Definition(step + """, {"id": "b", "type": "exit", "reason": "done"}""");
        var definition = ParseValid(json);
        Assert.IsType(expected, definition.Steps[0]);
        Assert.IsType<ExitStep>(definition.Steps[1]);
        Assert.Equal(Canonical(json), Canonical(JourneyJson.Serialize(definition)));
    }

    [Fact]
    public void Parse_EntryExitAndGoal_ReadsEveryPart()
    {
        var json = Definition(
            """{"id": "a", "type": "exit"}""",
            extra: """, "description": "d", "entry": {"reEntry": "afterCooldown", "cooldown": "P30D", "maxConcurrent": 2, "correlationKey": "cart_id", "condition": {"reachable": "email"}}, "exit": [{"event": "order.placed", "where": [{"property": "total", "op": "gt", "value": 0}]}, {"condition": {"segment": "blocked"}}], "goal": {"event": "order.placed", "within": "P7D"}""");
        var d = ParseValid(json);
        Assert.Equal(ReEntryPolicy.AfterCooldown, d.Entry.ReEntry);
        Assert.Equal(IsoDuration.FromDays(30), d.Entry.Cooldown);
        Assert.Equal(2, d.Entry.MaxConcurrent);
        Assert.Equal("cart_id", d.Entry.CorrelationKey);
        Assert.IsType<ReachableRule>(d.Entry.Condition);
        Assert.IsType<EventExitCriterion>(d.Exit[0]);
        Assert.Equal(new SegmentMembershipRule("blocked"), Assert.IsType<SegmentExitCriterion>(d.Exit[1]).Condition);
        Assert.Equal(IsoDuration.FromDays(7), d.Goal!.Within);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(JourneyJson.Serialize(d))));
    }

    [Fact]
    public void Parse_DateTrigger_ReadsSignedOffsetAndLocalTime()
    {
        var d = ParseValid(Definition("""{"id": "a", "type": "exit"}""", """{"type": "date", "trait": "refill_due_at", "offset": "-P3D", "localTime": "09:00"}"""));
        var trigger = Assert.IsType<DateTrigger>(d.Trigger);
        Assert.True(trigger.Offset.IsNegative);
        Assert.Equal(IsoDuration.FromDays(3), trigger.Offset.Magnitude);
        Assert.Equal(new TimeOnly(9, 0), trigger.LocalTime);
        Assert.Equal(new DateTimeOffset(2026, 3, 7, 0, 0, 0, TimeSpan.Zero), trigger.Offset.ApplyTo(new DateTimeOffset(2026, 3, 10, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void Parse_BranchConditionWithTriggerLeaf_ReadsJourneyCombinators()
    {
        var d = ParseValid(Definition("""{"id": "a", "type": "branch", "branches": [{"condition": {"all": [{"trigger": "total", "op": "gte", "value": 50}, {"reachable": "sms"}]}, "next": "b"}]}, {"id": "b", "type": "exit"}"""));
        var all = Assert.IsType<AllCondition>(Assert.IsType<BranchStep>(d.Steps[0]).Branches[0].Condition);
        Assert.Equal("total", Assert.IsType<TriggerCondition>(all.Conditions[0]).Path);
        Assert.Equal(new ReachableRule("sms", null), Assert.IsType<ProfileCondition>(all.Conditions[1]).Rule);
    }

    [Fact]
    public void Parse_BranchConditionWithOnlySegmentRules_ReadsOneProfileCondition()
    {
        var d = ParseValid(Definition("""{"id": "a", "type": "branch", "branches": [{"condition": {"any": [{"reachable": "sms"}, {"segment": "vip"}]}, "next": "b"}]}, {"id": "b", "type": "exit"}"""));
        var profile = Assert.IsType<ProfileCondition>(Assert.IsType<BranchStep>(d.Steps[0]).Branches[0].Condition);
        Assert.Equal(2, Assert.IsType<AnyRule>(profile.Rule).Rules.Count);
    }

    [Fact]
    public void Parse_UpdateProfile_ReadsEveryKindInOrder()
    {
        var d = ParseValid(Definition("""{"id": "a", "type": "updateProfile", "set": {"tier": "gold"}, "unset": ["old"], "increment": {"visits": 2}}"""));
        var updates = Assert.IsType<UpdateProfileStep>(d.Steps[0]).Updates;
        Assert.Equal([TraitUpdateKind.Set, TraitUpdateKind.Unset, TraitUpdateKind.Increment], updates.Select(u => u.Kind));
        Assert.Equal(["tier", "old", "visits"], updates.Select(u => u.Trait));
    }

    [Fact]
    public void Serialize_LeavesOutDefaults()
    {
        var json = JourneyJson.Serialize(ParseValid(Definition("""{"id": "a", "type": "send", "channels": ["email"], "template": "t"}""", extra: """, "entry": {}""")));
        Assert.DoesNotContain("entry", json, StringComparison.Ordinal);
        Assert.Contains("\"class\":\"marketing\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseMany_ReadsEveryScenario()
    {
        var result = JourneyJson.ParseMany("[" + string.Join(",", JourneyScenarios.AllJson) + "]");
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal(JourneyScenarios.AllJson.Count, result.Value.Count);
    }

    [Fact]
    public void ParseMany_WhenIdAndVersionRepeat_ReportsTheSecond()
    {
        var one = Definition("""{"id": "a", "type": "exit"}""");
        var two = one.Replace("\"version\": 1", "\"version\": 2", StringComparison.Ordinal);
        var result = JourneyJson.ParseMany($"[{one}, {two}, {one}]");
        Assert.Equal("$[2].version", Assert.Single(result.Errors).Path);
    }

    [Fact]
    public void SerializeMany_ThenParseMany_RoundTrips()
    {
        var built = JourneyScenarios.AllBuilt.Select(f => f()).ToList();
        var json = JourneyJson.SerializeMany(built, indented: true);
        var result = JourneyJson.ParseMany(json);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal(json, JourneyJson.SerializeMany(result.Value, indented: true));
    }

    [Fact]
    public void Parse_WhenNotJson_ReportsRoot()
    {
        var error = Assert.Single(Errors("{ nope"));
        Assert.Equal("$", error.Path);
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_IsJsonAndNamesEveryStepAndTriggerType()
    {
        using var schema = JsonDocument.Parse(JourneyJson.Schema);
        var text = JourneyJson.Schema;
        foreach (var type in new[] { "send", "delay", "delayUntilLocalTime", "delayUntilDateTrait", "waitForEvent", "branch", "split", "updateProfile", "emit", "webhook", "exit", "event", "segment", "date", "inactivity" })
        {
            Assert.Contains($"\"const\": \"{type}\"", text, StringComparison.Ordinal);
        }

        Assert.Equal("https://omnichannel-sdk.dev/schemas/journey.schema.json", schema.RootElement.GetProperty("$id").GetString());
    }

    /// <summary>The copy in <c>docs/schemas</c> (linked from the READMEs) is the schema the package embeds, as for segments.</summary>
    [Fact]
    public void Schema_InTheRepositoryDocs_IsTheEmbeddedOne()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!Directory.Exists(Path.Combine(dir.FullName, "docs")) || !Directory.Exists(Path.Combine(dir.FullName, "src")))
        {
            dir = dir.Parent ?? throw new InvalidOperationException("The repository root was not found above " + AppContext.BaseDirectory);
        }

        Assert.Equal(JourneyJson.Schema, File.ReadAllText(Path.Combine(dir.FullName, "docs", "schemas", "journey.schema.json")));
    }
}
