using Omnichannel.Sdk.Segments;
using Xunit;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

public sealed class CatalogTests
{
    private static readonly SegmentDefinition Vip = Seg("vip", new TraitRule("tier", C(ConditionOperator.Eq, "vip")));
    private static readonly SegmentDefinition Buyer = Seg("buyer", new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P30D")) });
    private static readonly SegmentDefinition VipBuyer = Seg("vip-buyer", new AllRule([new SegmentMembershipRule("vip"), new SegmentMembershipRule("buyer")]));
    private static readonly SegmentDefinition Top = Seg("top", new NotRule(new SegmentMembershipRule("vip-buyer")));
    private static readonly SegmentDefinition City = Seg("paris", new TraitRule("address.city", C(ConditionOperator.Eq, "Paris")));
    private static readonly SegmentDefinition Reachable = Seg("reachable", new ReachableRule(ChannelNames.Email, null));

    [Fact]
    public void Create_OrdersSegmentsAfterTheirDependencies()
    {
        var catalog = SegmentCatalog.Create([Top, VipBuyer, Vip, Buyer]);
        var ids = catalog.Segments.Select(s => s.Id).ToList();
        Assert.Equal(["vip", "buyer", "vip-buyer", "top"], ids);
        Assert.Equal(["vip", "buyer"], catalog.DependsOn("vip-buyer"));
        Assert.Equal(["vip-buyer"], catalog.Dependents("vip"));
        Assert.True(catalog.Contains("top"));
        Assert.Same(Vip, catalog.Find("vip"));
        Assert.Null(catalog.Find("nope"));
    }

    [Fact]
    public void Create_RejectsUnknownReferences()
    {
        var e = Assert.Throws<ArgumentException>(() => SegmentCatalog.Create([VipBuyer, Vip]));
        Assert.Contains("buyer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_RejectsCycles()
    {
        var a = Seg("a", new SegmentMembershipRule("b"));
        var b = Seg("b", new AnyRule([new NotRule(new SegmentMembershipRule("a"))]));
        var e = Assert.Throws<ArgumentException>(() => SegmentCatalog.Create([a, b]));
        Assert.Contains("a → b → a", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => SegmentCatalog.Create([Seg("self", new SegmentMembershipRule("self"))]));
    }

    [Fact]
    public void Create_RejectsDuplicateIds() =>
        Assert.Throws<ArgumentException>(() => SegmentCatalog.Create([Vip, Vip]));

    [Fact]
    public void AffectedBy_AnEventOfARuleTypeReachesItsDependentsTransitively()
    {
        var catalog = SegmentCatalog.Create([Vip, Buyer, VipBuyer, Top, City]);
        var ids = catalog.AffectedBy(Ev(EventTypes.OrderPlaced, T0)).Select(s => s.Id);
        Assert.Equal(["buyer", "vip-buyer", "top"], ids);
    }

    [Fact]
    public void AffectedBy_AnUnrelatedEventAffectsNothing()
    {
        var catalog = SegmentCatalog.Create([Vip, Buyer, VipBuyer, Top, City]);
        Assert.Empty(catalog.AffectedBy(Ev(EventTypes.ProductViewed, T0)));
    }

    [Fact]
    public void AffectedBy_TraitUpdatesTouchTheSamePathParentsAndChildren()
    {
        var catalog = SegmentCatalog.Create([Vip, Buyer, VipBuyer, Top, City]);
        Assert.Equal(["vip", "vip-buyer", "top"], catalog.AffectedBy(Ev("x.y", T0, traits: new { tier = "gold" })).Select(s => s.Id));
        Assert.Equal(["paris"], catalog.AffectedBy(Ev("x.y", T0, traits: new { address = new { city = "Lyon" } })).Select(s => s.Id));
        Assert.Equal(["paris"], catalog.AffectedBy(Ev("x.y", T0, traits: new { address = "unknown" })).Select(s => s.Id));
        Assert.Empty(catalog.AffectedBy(Ev("x.y", T0, traits: new { address = new { zip = "69001" } })));
        Assert.Empty(catalog.AffectedBy(Ev("x.y", T0, traits: new { tiers = "x" })));
    }

    [Fact]
    public void AffectedBy_ReachabilityAndSeenStatisticsAreAffectedByEveryEvent()
    {
        var seen = Seg("seen", new StatisticRule(ProfileStatisticNames.LastSeen, C(ConditionOperator.Exists)));
        var stage = Seg("stage", new StatisticRule(ProfileStatisticNames.LifecycleStage, C(ConditionOperator.Eq, "lead")));
        var catalog = SegmentCatalog.Create([seen, stage, Reachable, Vip]);
        Assert.Equal(["seen", "stage", "reachable"], catalog.AffectedBy(Ev("anything.at_all", T0)).Select(s => s.Id));
    }

    [Fact]
    public void AffectedBy_OrderStatisticsAreAffectedOnlyByTheEventsThatChangeThem()
    {
        var big = Seg("big", new StatisticRule(ProfileStatisticNames.TotalSpent, C(ConditionOperator.Gt, 100)));
        var cart = Seg("cart", new StatisticRule(ProfileStatisticNames.CartValue, C(ConditionOperator.Gt, 10)));
        var returns = Seg("returns", new StatisticRule(ProfileStatisticNames.ReturnCount, C(ConditionOperator.Gt, 1)));
        var catalog = SegmentCatalog.Create([big, cart, returns]);
        Assert.Empty(catalog.AffectedBy(Ev(EventTypes.ProductViewed, T0)));
        Assert.Equal(["big", "cart"], catalog.AffectedBy(Ev(EventTypes.OrderPlaced, T0)).Select(s => s.Id));
        Assert.Equal(["cart"], catalog.AffectedBy(Ev(EventTypes.CartItemRemoved, T0)).Select(s => s.Id));
        Assert.Equal(["returns"], catalog.AffectedBy(Ev(EventTypes.OrderReturned, T0)).Select(s => s.Id));
    }

    [Fact]
    public void Requirements_CollectTypesPathsAndRetention()
    {
        var windowed = Seg("w", new AggregateRule(AggregateFunction.Sum, EventTypes.OrderPlaced, C(ConditionOperator.Gt, 1))
        {
            Property = "total",
            Where = [new PropertyCondition("currency", C(ConditionOperator.Eq, "EUR"))],
            Window = TimeWindow.Last(D("P90D")),
        });
        var lapsed = Seg("l", new RecencyRule(RecencyKind.Last, EventTypes.OrderPlaced, ConditionOperator.MoreThanAgo, D("P30D")));
        var ever = Seg("e", new EventRule(EventTypes.ProductViewed) { Count = C(ConditionOperator.Gte, 5) });
        var catalog = SegmentCatalog.Create([windowed, lapsed, ever, Vip]);
        var orders = catalog.Requirements.For(EventTypes.OrderPlaced)!;
        Assert.Equal(["currency", "total"], orders.Paths);
        Assert.False(orders.KeepAll);
        Assert.Equal([D("P90D")], orders.SlidingWindows);
        Assert.Single(orders.Anchors);
        Assert.True(catalog.Requirements.For(EventTypes.ProductViewed)!.KeepAll);
        Assert.Null(catalog.Requirements.For(EventTypes.CartItemAdded));
    }

    [Fact]
    public void SegmentsOfSegments_EvaluatedInCatalogOrderSeeFreshMemberships()
    {
        var catalog = SegmentCatalog.Create([Top, VipBuyer, Vip, Buyer]);
        var (p, h) = Apply(catalog, Ev(EventTypes.OrderPlaced, T0.AddDays(-1), traits: new { tier = "vip" }));
        var members = new HashSet<string>(StringComparer.Ordinal);
        var subject = new SegmentSubject(p, h, members.Contains);
        foreach (var s in catalog.Segments)
        {
            if (SegmentEvaluator.Evaluate(s, subject, T0).IsMember)
            {
                members.Add(s.Id);
            }
        }

        Assert.Equal(["buyer", "vip", "vip-buyer"], members.Order(StringComparer.Ordinal));
        Assert.DoesNotContain("top", members);
    }
}
