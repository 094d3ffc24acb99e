using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using Xunit;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

public sealed class OperatorTests
{
    private static readonly CustomerProfile P = ProfileWithTraits(new
    {
        tier = "vip",
        age = 42,
        score = 3.50m,
        active = true,
        tags = new[] { "a", "b" },
        signup = "2024-03-01T00:00:00Z",
        address = new { city = "Paris", zip = "75001" },
    });

    private static bool Trait(string path, ConditionOperator op, JsonNode? value = null) =>
        EvalProfile(new TraitRule(path, C(op, value)), P, T0).IsMember;

    [Theory]
    [InlineData("tier", "\"vip\"", true)]
    [InlineData("tier", "\"VIP\"", false)]
    [InlineData("age", "42", true)]
    [InlineData("age", "42.0", true)]
    [InlineData("score", "3.5", true)]
    [InlineData("active", "true", true)]
    [InlineData("active", "false", false)]
    [InlineData("signup", "\"2024-03-01\"", true)]
    [InlineData("signup", "\"2024-03-01T01:00:00+01:00\"", true)]
    [InlineData("missing", "\"x\"", false)]
    [InlineData("age", "\"42\"", false)]
    public void Eq_ComparesByTypeAndValue(string path, string operand, bool expected) =>
        Assert.Equal(expected, Trait(path, ConditionOperator.Eq, JsonNode.Parse(operand)));

    [Theory]
    [InlineData("tier", "\"vip\"", false)]
    [InlineData("tier", "\"gold\"", true)]
    [InlineData("missing", "\"gold\"", true)]
    public void Ne_IsTrueWhenMissing(string path, string operand, bool expected) =>
        Assert.Equal(expected, Trait(path, ConditionOperator.Ne, JsonNode.Parse(operand)));

    [Theory]
    [InlineData(ConditionOperator.Gt, "41", true)]
    [InlineData(ConditionOperator.Gt, "42", false)]
    [InlineData(ConditionOperator.Gte, "42", true)]
    [InlineData(ConditionOperator.Gte, "42.5", false)]
    [InlineData(ConditionOperator.Lt, "42.5", true)]
    [InlineData(ConditionOperator.Lt, "42", false)]
    [InlineData(ConditionOperator.Lte, "42", true)]
    [InlineData(ConditionOperator.Lte, "41.99", false)]
    public void Ordering_ComparesNumbersAsDecimals(ConditionOperator op, string operand, bool expected) =>
        Assert.Equal(expected, Trait("age", op, JsonNode.Parse(operand)));

    [Fact]
    public void Ordering_ComparesStringsOrdinally() => Assert.True(Trait("tier", ConditionOperator.Gt, "Vip"));

    [Fact]
    public void Ordering_ComparesIsoDatesAsInstants()
    {
        Assert.True(Trait("signup", ConditionOperator.Lt, "2024-03-01T00:30:00Z"));
        Assert.True(Trait("signup", ConditionOperator.Gt, "2024-03-01T00:30:00+02:00"));
    }

    [Fact]
    public void Ordering_IsFalseWhenMissingOrOfAnotherType()
    {
        Assert.False(Trait("missing", ConditionOperator.Lt, 5));
        Assert.False(Trait("missing", ConditionOperator.Gte, 5));
        Assert.False(Trait("tier", ConditionOperator.Gt, 5));
    }

    [Fact]
    public void In_MatchesAnyElement()
    {
        Assert.True(Trait("tier", ConditionOperator.In, Arr("gold", "vip")));
        Assert.False(Trait("tier", ConditionOperator.In, Arr("gold", "silver")));
        Assert.True(Trait("age", ConditionOperator.In, Arr(1, 42.00m)));
        Assert.False(Trait("missing", ConditionOperator.In, Arr("x")));
    }

    [Fact]
    public void NotIn_IsTrueWhenMissing()
    {
        Assert.False(Trait("tier", ConditionOperator.NotIn, Arr("gold", "vip")));
        Assert.True(Trait("tier", ConditionOperator.NotIn, Arr("gold")));
        Assert.True(Trait("missing", ConditionOperator.NotIn, Arr("x")));
    }

    [Fact]
    public void Contains_WorksOnStringsAndArrays()
    {
        Assert.True(Trait("address.city", ConditionOperator.Contains, "ari"));
        Assert.False(Trait("address.city", ConditionOperator.Contains, "ARI"));
        Assert.True(Trait("tags", ConditionOperator.Contains, "b"));
        Assert.False(Trait("tags", ConditionOperator.Contains, "c"));
        Assert.False(Trait("missing", ConditionOperator.Contains, "c"));
    }

    [Fact]
    public void StartsWith_IsOrdinal()
    {
        Assert.True(Trait("address.zip", ConditionOperator.StartsWith, "75"));
        Assert.False(Trait("address.city", ConditionOperator.StartsWith, "pa"));
        Assert.False(Trait("age", ConditionOperator.StartsWith, "4"));
    }

    [Fact]
    public void ExistsAndNotExists_SeeLeavesAndParentObjects()
    {
        Assert.True(Trait("tier", ConditionOperator.Exists));
        Assert.True(Trait("address", ConditionOperator.Exists));
        Assert.False(Trait("address.country", ConditionOperator.Exists));
        Assert.True(Trait("address.country", ConditionOperator.NotExists));
        Assert.False(Trait("address", ConditionOperator.NotExists));
    }

    [Fact]
    public void Exists_IsFalseForARemovedTrait()
    {
        var p = ProfileWithTraits(new { nickname = "Annie" }, T0.AddDays(-2));
        ProfileCore.Apply(p, Ev("profile.updated", T0.AddDays(-1), traits: JsonData.Parse("""{"nickname": null}""")), 100);
        Assert.False(EvalProfile(new TraitRule("nickname", C(ConditionOperator.Exists)), p, T0).IsMember);
        Assert.True(EvalProfile(new TraitRule("nickname", C(ConditionOperator.NotExists)), p, T0).IsMember);
    }

    [Theory]
    [InlineData(42, 42, true)]
    [InlineData(40, 42, true)]
    [InlineData(42, 50, true)]
    [InlineData(43, 50, false)]
    [InlineData(10, 41.9, false)]
    public void Between_IsInclusiveAtBothEnds(double low, double high, bool expected) =>
        Assert.Equal(expected, Trait("age", ConditionOperator.Between, Arr((decimal)low, (decimal)high)));

    [Fact]
    public void Between_ComparesDates() =>
        Assert.True(Trait("signup", ConditionOperator.Between, Arr("2024-02-01", "2024-03-01")));

    [Fact]
    public void Statistics_AreAddressableByName()
    {
        var catalog = SegmentCatalog.Empty;
        var (p, _) = Apply(
            catalog,
            Ev(EventTypes.OrderPlaced, T0.AddDays(-3), new { order_id = "o1", total = 30, currency = "EUR" }),
            Ev(EventTypes.OrderPlaced, T0.AddDays(-1), new { order_id = "o2", total = 50, currency = "EUR" }));

        Assert.True(EvalProfile(new StatisticRule(ProfileStatisticNames.OrderCount, C(ConditionOperator.Eq, 2)), p, T0).IsMember);
        Assert.True(EvalProfile(new StatisticRule(ProfileStatisticNames.TotalSpent, C(ConditionOperator.Gte, 80)), p, T0).IsMember);
        Assert.True(EvalProfile(new StatisticRule(ProfileStatisticNames.AverageOrderValue, C(ConditionOperator.Eq, 40)), p, T0).IsMember);
        Assert.True(EvalProfile(new StatisticRule(ProfileStatisticNames.LifecycleStage, C(ConditionOperator.Eq, "repeatCustomer")), p, T0).IsMember);
        Assert.True(EvalProfile(new StatisticRule(ProfileStatisticNames.ChannelsUsed, C(ConditionOperator.Contains, "web")), p, T0).IsMember);
        Assert.True(EvalProfile(new StatisticRule(ProfileStatisticNames.LastOrderAt, C(ConditionOperator.Eq, "2024-03-09T12:00:00Z")), p, T0).IsMember);
        Assert.False(EvalProfile(new StatisticRule("noSuchStatistic", C(ConditionOperator.Exists)), p, T0).IsMember);
    }

    [Fact]
    public void Statistics_DateOperatorsGiveTheirNextCheck()
    {
        var (p, _) = Apply(SegmentCatalog.Empty, Ev(EventTypes.OrderPlaced, T0.AddDays(-10), new { order_id = "o1", total = 30 }));
        var r = EvalProfile(new StatisticRule(ProfileStatisticNames.LastOrderAt, C(ConditionOperator.MoreThanAgo, "P30D")), p, T0);
        Assert.False(r.IsMember);
        Assert.Equal(T0.AddDays(20), r.NextCheckAt);
    }

    [Theory]
    [InlineData(ChannelNames.Email, true)]
    [InlineData(ChannelNames.Sms, false)]
    [InlineData(ChannelNames.Push, false)]
    public void Reachable_NeedsAnAddressAndGrantedConsent(string channel, bool expected)
    {
        var p = NewProfile();
        p.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Email, "ann@x.io", T0));
        p.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.DeviceId, "dev-1", T0));
        ProfileCore.Apply(p, Ev(EventTypes.ConsentChanged, T0.AddDays(-1), new { channel = "email", granted = true }), 100);
        ProfileCore.Apply(p, Ev(EventTypes.ConsentChanged, T0.AddDays(-1), new { channel = "sms", granted = true }), 100);
        ProfileCore.Apply(p, Ev(EventTypes.ConsentChanged, T0.AddDays(-1), new { channel = "push", granted = false }), 100);
        Assert.Equal(expected, EvalProfile(new ReachableRule(channel, "newsletter"), p, T0).IsMember);
    }

    [Fact]
    public void Reachable_TopicDenialOverridesChannelGrant()
    {
        var p = NewProfile();
        p.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Phone, "+33600000000", T0));
        ProfileCore.Apply(p, Ev(EventTypes.ConsentChanged, T0.AddDays(-2), new { channel = "whatsapp", granted = true }), 100);
        ProfileCore.Apply(p, Ev(EventTypes.ConsentChanged, T0.AddDays(-1), new { channel = "whatsapp", topic = "promos", granted = false }), 100);
        Assert.True(EvalProfile(new ReachableRule(ChannelNames.WhatsApp, "orders"), p, T0).IsMember);
        Assert.False(EvalProfile(new ReachableRule(ChannelNames.WhatsApp, "promos"), p, T0).IsMember);
        Assert.Null(EvalProfile(new ReachableRule(ChannelNames.WhatsApp, "promos"), p, T0).NextCheckAt);
    }

    [Fact]
    public void Combinators_AllAnyNot()
    {
        var vip = new TraitRule("tier", C(ConditionOperator.Eq, "vip"));
        var old = new TraitRule("age", C(ConditionOperator.Gt, 60));
        Assert.False(EvalProfile(new AllRule([vip, old]), P, T0).IsMember);
        Assert.True(EvalProfile(new AnyRule([vip, old]), P, T0).IsMember);
        Assert.True(EvalProfile(new AllRule([vip, new NotRule(old)]), P, T0).IsMember);
        Assert.True(EvalProfile(new AllRule([]), P, T0).IsMember);
        Assert.False(EvalProfile(new AnyRule([]), P, T0).IsMember);
    }

    [Fact]
    public void SegmentMembership_ReadsTheCurrentMemberships()
    {
        var rule = new SegmentMembershipRule("vip");
        Assert.True(EvalProfile(rule, P, T0, id => id == "vip").IsMember);
        Assert.False(EvalProfile(rule, P, T0, _ => false).IsMember);
        Assert.Null(EvalProfile(rule, P, T0, id => id == "vip").NextCheckAt);
    }
}
