using System.Text.Json.Nodes;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Journeys;

public sealed class JourneyBuilderTests
{
    public static TheoryData<int> ScenarioIndexes() => [0, 1, 2, 3, 4, 5];

    [Theory]
    [MemberData(nameof(ScenarioIndexes))]
    public void Build_Scenario_ProducesTheSameJsonAsTheJsonForm(int index)
    {
        var fromJson = JourneyJson.Parse(JourneyScenarios.AllJson[index]);
        Assert.True(fromJson.IsValid, string.Join("\n", fromJson.Errors));
        Assert.Equal(JourneyJson.Serialize(fromJson.Value), JourneyJson.Serialize(JourneyScenarios.AllBuilt[index]()));
    }

    [Fact]
    public void Build_WithEveryKindOfPart_ProducesTheSameJsonAsTheJsonForm()
    {
        var built = Journey.Define("everything", "Everything", version: 3)
            .Describe("All parts")
            .TriggeredBy(t => t.Inactivity(EventTypes.ProductViewed, "P7D", EventTypes.OrderPlaced))
            .ReEnterAfterCooldown("P30D")
            .MaxConcurrent(2)
            .EnterWhen(r => r.Reachable(ChannelNames.Email, "offers"))
            .ExitWhen(r => r.Segment("blocked"))
            .Goal(EventTypes.OrderPlaced, "P14D", RuleBuilder.Instance.Property("total").Gt(0))
            .Steps(s => s
                .Split("ab", [new SplitVariant("a", 50, "branch"), new SplitVariant("b", 50, "morning")], controlWeight: 10)
                .Branch(
                    "branch",
                    b => b.When(c => c.All(c.Context("variant").Eq("a"), c.Profile(r => r.Trait("tier").Eq("vip"))), "morning"),
                    @else: "morning")
                .DelayUntilLocalTime("morning", new TimeOnly(9, 0), DayOfWeek.Monday, DayOfWeek.Friday)
                .DelayUntilDateTrait("due", "refill_due_at", "-P3D", new TimeOnly(9, 0))
                .UpdateProfile("mark", new TraitUpdate(TraitUpdateKind.Set, "win_back", true), new TraitUpdate(TraitUpdateKind.Increment, "win_back_count", 1))
                .Emit("emit", "journey.win_back_sent", new JsonObject { ["n"] = 1 })
                .Webhook("hook", "https://example.com/hook")
                .Exit("end", "done"))
            .Build();

        var json = """
            {"id": "everything", "version": 3, "name": "Everything", "description": "All parts",
             "trigger": {"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["order.placed"], "within": "P7D"},
             "entry": {"reEntry": "afterCooldown", "cooldown": "P30D", "maxConcurrent": 2, "condition": {"reachable": "email", "topic": "offers"}},
             "exit": [{"condition": {"segment": "blocked"}}],
             "goal": {"event": "order.placed", "where": [{"property": "total", "op": "gt", "value": 0}], "within": "P14D"},
             "steps": [
               {"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 50, "next": "branch"}, {"name": "b", "weight": 50, "next": "morning"}], "controlWeight": 10},
               {"id": "branch", "type": "branch", "branches": [{"condition": {"all": [{"context": "variant", "op": "eq", "value": "a"}, {"trait": "tier", "op": "eq", "value": "vip"}]}, "next": "morning"}], "else": "morning"},
               {"id": "morning", "type": "delayUntilLocalTime", "localTime": "09:00", "days": ["monday", "friday"]},
               {"id": "due", "type": "delayUntilDateTrait", "trait": "refill_due_at", "offset": "-P3D", "localTime": "09:00"},
               {"id": "mark", "type": "updateProfile", "set": {"win_back": true}, "increment": {"win_back_count": 1}},
               {"id": "emit", "type": "emit", "event": "journey.win_back_sent", "properties": {"n": 1}},
               {"id": "hook", "type": "webhook", "url": "https://example.com/hook"},
               {"id": "end", "type": "exit", "reason": "done"}]}
            """;
        var parsed = JourneyJson.Parse(json);
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        Assert.Equal(JourneyJson.Serialize(parsed.Value), JourneyJson.Serialize(built));
    }

    [Fact]
    public void Build_WhenInvalid_ThrowsListingEveryErrorWithItsPath()
    {
        var builder = Journey.Define("cart", "Cart")
            .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
            .Steps(s => s
                .Send("reminder", [], template: "")
                .Delay("wait", "PT1H", next: "nowhere"));
        var ex = Assert.Throws<JourneyDefinitionException>(() => builder.Build());
        Assert.Equal(["$.steps[0].channels", "$.steps[0].template", "$.steps[1].next"], ex.Errors.Select(e => e.Path));
        Assert.Contains("$.steps[1].next", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_WithoutATrigger_ReportsIt()
    {
        var ex = Assert.Throws<JourneyDefinitionException>(() => Journey.Define("j", "J").Steps(s => s.Exit("end")).Build());
        Assert.Equal("$.trigger", Assert.Single(ex.Errors).Path);
    }

    [Fact]
    public void Builder_IsImmutable()
    {
        var start = Journey.Define("j", "J").TriggeredBy(t => t.SegmentEntered("vip")).Steps(s => s.Exit("end"));
        var withExit = start.ExitOn(EventTypes.OrderPlaced);
        Assert.Empty(start.Build().Exit);
        Assert.Single(withExit.Build().Exit);
    }

    [Fact]
    public void Delay_WithABadDuration_ThrowsFormatException() =>
        Assert.Throws<FormatException>(() => Journey.Define("j", "J").Steps(s => s.Delay("d", "an hour")));
}
