using Omnichannel.Sdk.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Journeys;

public sealed class JourneyMermaidTests
{
    [Fact]
    public void ToFlowchart_SmallJourney_IsExactly()
    {
        var journey = Journey.Define("cart", "Cart")
            .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
            .ExitOn(EventTypes.OrderPlaced)
            .Steps(s => s
                .Delay("wait-1h", "PT1H")
                .Branch("has-push", b => b.When(c => c.Profile(r => r.Reachable(ChannelNames.Push)), "push"), @else: "email")
                .Send("push", [ChannelNames.Push], template: "cart", next: "end")
                .Send("email", [ChannelNames.Email], template: "cart")
                .Exit("end", "sent"))
            .Build();

        var expected = """
            flowchart TD
                trigger(["When cart.item_added"])
                s0["wait-1h: Wait PT1H"]
                s1{"has-push: Branch"}
                s2["push: Send cart by push"]
                s3["email: Send cart by email"]
                s4(["end: Exit: sent"])
                trigger --> s0
                s0 --> s1
                s1 -->|"if reachable on push"| s2
                s1 -->|"else"| s3
                s2 --> s4
                s3 --> s4
                exit0{{"Exit on order.placed"}}

            """.ReplaceLineEndings("\n");
        Assert.Equal(expected, JourneyMermaid.ToFlowchart(journey));
    }

    [Theory]
    [MemberData(nameof(JourneyBuilderTests.ScenarioIndexes), MemberType = typeof(JourneyBuilderTests))]
    public void ToFlowchart_EveryScenario_HasEveryStep(int index)
    {
        var journey = JourneyScenarios.AllBuilt[index]();
        var chart = JourneyMermaid.ToFlowchart(journey);
        Assert.StartsWith("flowchart TD\n", chart, StringComparison.Ordinal);
        for (var i = 0; i < journey.Steps.Count; i++)
        {
            Assert.Contains($"    s{i}", chart, StringComparison.Ordinal);
            Assert.Contains(journey.Steps[i].Id + ": ", chart, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ToFlowchart_Split_LabelsVariantsAndControl()
    {
        var journey = Journey.Define("ab", "AB").TriggeredBy(t => t.SegmentEntered("vip"))
            .Steps(s => s.Split("split", [new SplitVariant("a", 70, "x"), new SplitVariant("b", 30, "x")], controlWeight: 10).Exit("x"))
            .Build();
        var chart = JourneyMermaid.ToFlowchart(journey);
        Assert.Contains("s0 -->|\"a (70)\"| s1", chart, StringComparison.Ordinal);
        Assert.Contains("s0 -.->|\"control (10)\"| done", chart, StringComparison.Ordinal);
        Assert.Contains("done([\"End\"])", chart, StringComparison.Ordinal);
    }

    [Fact]
    public void ToFlowchart_Wait_LabelsEventAndTimeoutEdges()
    {
        var chart = JourneyMermaid.ToFlowchart(JourneyScenarios.WinBack());
        Assert.Contains("s1 -->|\"order.placed\"| s3", chart, StringComparison.Ordinal);
        Assert.Contains("s1 -->|\"timeout P7D\"| s2", chart, StringComparison.Ordinal);
        Assert.Contains("goal{{\"Goal: order.placed within P30D\"}}", chart, StringComparison.Ordinal);
    }
}
