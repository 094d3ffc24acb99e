using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Segments.Definitions;

public sealed class BuilderTests
{
    [Fact]
    public void Build_TheIssueExample_SerializesToTheIssueJson()
    {
        var lapsedVip = Segment.Define("lapsed-vip", "Lapsed VIPs")
            .Where(r => r.All(
                r.Trait("tier").Eq("vip"),
                r.Event("order.placed").Count(c => c.Gte(3)).Within(IsoDuration.FromDays(365)),
                r.LastEvent("order.placed").MoreThanAgo("P90D")))
            .Build();

        Assert.Equal(SegmentJson.Serialize(ParseTests.Valid(ParseTests.IssueExample)), SegmentJson.Serialize(lapsedVip));
    }

    [Fact]
    public void Build_WhenInvalid_ThrowsWithEveryErrorAndPath()
    {
        var builder = Segment.Define("Bad Id", "")
            .Where(r => r.All(
                r.Event("order.placed").Count(c => c.Lt(0)),
                r.Trait("tier").In()));

        var ex = Assert.Throws<SegmentDefinitionException>(() => builder.Build());

        Assert.Equal(["$.id", "$.name", "$.rule.all[0].count.value", "$.rule.all[1].value"], ex.Errors.Select(e => e.Path));
        Assert.Contains("$.rule.all[1].value", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_WithoutARule_SaysTheRuleIsRequired()
    {
        var ex = Assert.Throws<SegmentDefinitionException>(() => Segment.Define("s", "S").Build());

        Assert.Equal("$.rule", Assert.Single(ex.Errors).Path);
    }

    [Fact]
    public void ImplicitConversion_BuildsAndValidates()
    {
        SegmentDefinition ok = Segment.Define("s", "S").Where(r => r.Segment("vip"));

        Assert.Equal("vip", Assert.IsType<SegmentMembershipRule>(ok.Rule).SegmentId);
        Assert.Throws<SegmentDefinitionException>(() =>
        {
            SegmentDefinition bad = Segment.Define("s", "S").Where(r => r.Trait("birthday").AnniversaryWithin("next week"));
            return bad;
        });
    }

    [Fact]
    public void Builder_IsImmutable_EachStepReturnsANewBuilder()
    {
        var start = Segment.Define("s", "S").Where(r => r.Segment("vip"));
        var described = start.Describe("with a description");

        Assert.Null(start.Build().Description);
        Assert.Equal("with a description", described.Build().Description);
    }

    [Fact]
    public void Where_OnEvents_AccumulatesPropertyConditions()
    {
        var r = RuleBuilder.Instance;

        var rule = r.Event("order.placed")
            .Where(r.Property("total").Gt(100))
            .Where(r.Property("fulfillment").Eq("pickup"), r.Property("store_id").Exists());

        Assert.Equal(["total", "fulfillment", "store_id"], rule.Where.Select(w => w.Property));
    }

    [Fact]
    public void Aggregates_HaveAShortcutForEachFunction()
    {
        var r = RuleBuilder.Instance;

        AggregateRule[] rules =
        [
            r.Sum("order.placed", "total").Gte(1), r.Avg("order.placed", "total").Gte(1), r.Min("order.placed", "total").Gte(1),
            r.Max("order.placed", "total").Gte(1), r.Distinct("order.placed", "products").Gte(1), r.CountOf("order.placed").Gte(1),
        ];

        Assert.Equal(Enum.GetValues<AggregateFunction>().Order(), rules.Select(a => a.Function).Order());
        Assert.Null(rules[5].Property);
    }

    [Fact]
    public void Within_WithABadDurationString_ThrowsAtOnce()
    {
        Assert.Throws<FormatException>(() => RuleBuilder.Instance.Event("order.placed").Within("90 days"));
    }

    [Fact]
    public void ConditionBuilder_CoversEveryOperator()
    {
        var t = RuleBuilder.Instance.Trait("x");

        TraitRule[] rules =
        [
            t.Eq(1), t.Ne(1), t.Gt(1), t.Gte(1), t.Lt(1), t.Lte(1), t.In(1, 2), t.NotIn(1, 2), t.Contains("a"), t.StartsWith("a"),
            t.Exists(), t.NotExists(), t.Between(1, 2), t.WithinLast("P1D"), t.MoreThanAgo(IsoDuration.FromDays(1)),
            t.AnniversaryWithin(IsoDuration.FromDays(7)),
        ];

        Assert.Equal(Enum.GetValues<ConditionOperator>(), rules.Select(x => x.Condition.Op));
        Assert.All(rules, rule => Assert.Empty(SegmentDefinitionValidator.Validate(new SegmentDefinition("s", "S", rule))));
    }
}
