using Omnichannel.Sdk.Segments;
using Xunit;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

public sealed class TimeEdgeTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private static int _orders;

    // Each call is another order (orders are counted once per order_id).
    private static CustomerEvent Order(DateTimeOffset at, decimal total = 10) => Ev(EventTypes.OrderPlaced, at, new { order_id = "o" + Interlocked.Increment(ref _orders), total });

    [Fact]
    public void Within_CountsAnEventFromItsOwnInstant()
    {
        var rule = new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P7D")) };
        var e = Order(T0);
        var before = Eval(rule, T0 - Tick, e);
        Assert.False(before.IsMember);
        Assert.Equal(T0, before.NextCheckAt);
        Assert.True(Eval(rule, T0, e).IsMember);
    }

    [Fact]
    public void Within_ExitsExactlyWhenTheWindowStartReachesTheEvent()
    {
        var rule = new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P7D")) };
        var e = Order(T0);
        var inside = Eval(rule, T0 + TimeSpan.FromDays(7) - Tick, e);
        Assert.True(inside.IsMember);
        Assert.Equal(T0.AddDays(7), inside.NextCheckAt);
        var atEdge = Eval(rule, T0.AddDays(7), e);
        Assert.False(atEdge.IsMember);
        Assert.Null(atEdge.NextCheckAt);
    }

    [Fact]
    public void Within_NextCheckIsWhenTheCountConditionFlipsNotTheFirstExit()
    {
        var rule = new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P7D")), Count = C(ConditionOperator.Gte, 2) };
        var events = new[] { Order(T0), Order(T0.AddDays(1)), Order(T0.AddDays(2)) };
        var r = Eval(rule, T0.AddDays(2), events);
        Assert.True(r.IsMember);
        Assert.Equal(T0.AddDays(8), r.NextCheckAt);
        Assert.True(Eval(rule, T0.AddDays(8) - Tick, events).IsMember);
        Assert.False(Eval(rule, T0.AddDays(8), events).IsMember);
    }

    [Fact]
    public void Within_CalendarMonthExitsAtTheFirstInstantTheWindowPassesTheEvent()
    {
        // 31 January + P1M: on 29 February the window starts on 29 January; on 1 March it starts on 1 February.
        var e = Order(new DateTimeOffset(2024, 1, 31, 10, 0, 0, TimeSpan.Zero));
        var rule = new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P1M")) };
        var r = Eval(rule, new DateTimeOffset(2024, 2, 15, 0, 0, 0, TimeSpan.Zero), e);
        Assert.True(r.IsMember);
        Assert.Equal(new DateTimeOffset(2024, 3, 1, 0, 0, 0, TimeSpan.Zero), r.NextCheckAt);
        Assert.True(Eval(rule, r.NextCheckAt!.Value - Tick, e).IsMember);
        Assert.False(Eval(rule, r.NextCheckAt!.Value, e).IsMember);
    }

    [Fact]
    public void CountBelow_BecomesTrueWhenTheLastEventLeaves()
    {
        var rule = new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P7D")), Count = C(ConditionOperator.Lt, 1) };
        var e = Order(T0.AddDays(-3));
        var r = Eval(rule, T0, e);
        Assert.False(r.IsMember);
        Assert.Equal(T0.AddDays(4), r.NextCheckAt);
        Assert.True(Eval(rule, T0.AddDays(4), e).IsMember);
    }

    [Fact]
    public void NoWindow_CountsEverAndHasNoCheck()
    {
        var rule = new EventRule(EventTypes.OrderPlaced) { Count = C(ConditionOperator.Eq, 2) };
        var r = Eval(rule, T0, Order(T0.AddYears(-5)), Order(T0.AddDays(-1)));
        Assert.True(r.IsMember);
        Assert.Null(r.NextCheckAt);
    }

    [Fact]
    public void FutureEvents_DoNotCountUntilTheirTime()
    {
        var rule = new EventRule(EventTypes.OrderPlaced);
        var r = Eval(rule, T0, Order(T0.AddDays(1)));
        Assert.False(r.IsMember);
        Assert.Equal(T0.AddDays(1), r.NextCheckAt);
    }

    [Fact]
    public void FixedWindow_IncludesFromExcludesTo()
    {
        var from = T0.AddDays(-10);
        var to = T0.AddDays(-5);
        var rule = new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Between(from, to) };
        Assert.True(Eval(rule, T0, Order(from)).IsMember);
        Assert.False(Eval(rule, T0, Order(to)).IsMember);
        Assert.False(Eval(rule, T0, Order(from - Tick)).IsMember);
        Assert.Null(Eval(rule, T0, Order(from)).NextCheckAt);
    }

    [Fact]
    public void FixedWindow_ALaterEventInsideItCountsFromItsTime()
    {
        var rule = new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Between(T0, T0.AddDays(10)) };
        var e = Order(T0.AddDays(3));
        var r = Eval(rule, T0.AddDays(1), e);
        Assert.False(r.IsMember);
        Assert.Equal(T0.AddDays(3), r.NextCheckAt);
        Assert.True(Eval(rule, T0.AddDays(30), e).IsMember);
    }

    [Fact]
    public void Where_FiltersEventsByProperty()
    {
        var rule = new EventRule(EventTypes.OrderPlaced) { Where = [new PropertyCondition("total", C(ConditionOperator.Gt, 100))] };
        Assert.False(Eval(rule, T0, Order(T0.AddDays(-1), 50)).IsMember);
        Assert.True(Eval(rule, T0, Order(T0.AddDays(-1), 150)).IsMember);
    }

    [Fact]
    public void Where_OnANestedProperty()
    {
        var rule = new EventRule(EventTypes.ProductViewed) { Where = [new PropertyCondition("product.category", C(ConditionOperator.Eq, "shoes"))] };
        var e = Ev(EventTypes.ProductViewed, T0.AddDays(-1), new { product = new { category = "shoes" } });
        Assert.True(Eval(rule, T0, e).IsMember);
    }

    [Fact]
    public void Where_WithADateOperatorChangesWithTime()
    {
        var rule = new EventRule(EventTypes.OrderDelivered)
        {
            Where = [new PropertyCondition("delivered_at", C(ConditionOperator.MoreThanAgo, "P14D"))],
        };
        var e = Ev(EventTypes.OrderDelivered, T0, new { delivered_at = "2024-03-10T00:00:00Z" });
        var r = Eval(rule, T0, e);
        Assert.False(r.IsMember);
        Assert.Equal(new DateTimeOffset(2024, 3, 24, 0, 0, 0, TimeSpan.Zero), r.NextCheckAt);
        Assert.True(Eval(rule, r.NextCheckAt!.Value, e).IsMember);
    }

    [Fact]
    public void LastEvent_MoreThanAgo_TurnsTrueExactlyAtTheBoundary()
    {
        var rule = new RecencyRule(RecencyKind.Last, EventTypes.OrderPlaced, ConditionOperator.MoreThanAgo, D("P90D"));
        var events = new[] { Order(T0.AddDays(-200)), Order(T0.AddDays(-50)) };
        var r = Eval(rule, T0, events);
        Assert.False(r.IsMember);
        Assert.Equal(T0.AddDays(40), r.NextCheckAt);
        Assert.False(Eval(rule, T0.AddDays(40) - Tick, events).IsMember);
        var at = Eval(rule, T0.AddDays(40), events);
        Assert.True(at.IsMember);
        Assert.Null(at.NextCheckAt);
    }

    [Fact]
    public void LastEvent_MoreThanAgo_IsFalseForNever()
    {
        var r = Eval(new RecencyRule(RecencyKind.Last, EventTypes.OrderPlaced, ConditionOperator.MoreThanAgo, D("P90D")), T0);
        Assert.False(r.IsMember);
        Assert.Null(r.NextCheckAt);
    }

    [Fact]
    public void LastEvent_MoreThanAgo_AFutureEventEndsItAtItsTime()
    {
        var rule = new RecencyRule(RecencyKind.Last, EventTypes.OrderPlaced, ConditionOperator.MoreThanAgo, D("P90D"));
        var r = Eval(rule, T0, Order(T0.AddDays(-100)), Order(T0.AddDays(2)));
        Assert.True(r.IsMember);
        Assert.Equal(T0.AddDays(2), r.NextCheckAt);
    }

    [Fact]
    public void LastEvent_WithinLast_ExitsWhenTheLastLeaves()
    {
        var rule = new RecencyRule(RecencyKind.Last, EventTypes.OrderPlaced, ConditionOperator.WithinLast, D("P30D"));
        var events = new[] { Order(T0.AddDays(-20)), Order(T0.AddDays(-10)) };
        var r = Eval(rule, T0, events);
        Assert.True(r.IsMember);
        Assert.Equal(T0.AddDays(20), r.NextCheckAt);
        Assert.False(Eval(rule, T0.AddDays(20), events).IsMember);
    }

    [Fact]
    public void FirstEvent_WithinLast_LooksAtTheFirstOnly()
    {
        var rule = new RecencyRule(RecencyKind.First, EventTypes.OrderPlaced, ConditionOperator.WithinLast, D("P30D"));
        var r = Eval(rule, T0, Order(T0.AddDays(-40)), Order(T0.AddDays(-10)));
        Assert.False(r.IsMember);
        Assert.Null(r.NextCheckAt);
        var single = Eval(rule, T0, Order(T0.AddDays(-10)));
        Assert.True(single.IsMember);
        Assert.Equal(T0.AddDays(20), single.NextCheckAt);
    }

    [Fact]
    public void FirstEvent_MoreThanAgo_TurnsTrueAtTheBoundary()
    {
        var rule = new RecencyRule(RecencyKind.First, EventTypes.OrderPlaced, ConditionOperator.MoreThanAgo, D("P30D"));
        var e = Order(T0.AddDays(-10));
        var r = Eval(rule, T0, e);
        Assert.False(r.IsMember);
        Assert.Equal(T0.AddDays(20), r.NextCheckAt);
        Assert.True(Eval(rule, T0.AddDays(20), e).IsMember);
    }

    [Fact]
    public void Recency_WhereSelectsTheEventsConsidered()
    {
        var rule = new RecencyRule(RecencyKind.Last, EventTypes.OrderPlaced, ConditionOperator.WithinLast, D("P30D"))
        {
            Where = [new PropertyCondition("total", C(ConditionOperator.Gte, 100))],
        };
        Assert.False(Eval(rule, T0, Order(T0.AddDays(-40), 150), Order(T0.AddDays(-1), 20)).IsMember);
        Assert.True(Eval(rule, T0, Order(T0.AddDays(-5), 150), Order(T0.AddDays(-1), 20)).IsMember);
    }

    [Fact]
    public void DateTrait_WithinLast_ExitsAtTheBoundary()
    {
        var p = ProfileWithTraits(new { signup = "2024-03-01T00:00:00Z" });
        var rule = new TraitRule("signup", C(ConditionOperator.WithinLast, "P10D"));
        var r = EvalProfile(rule, p, T0);
        Assert.True(r.IsMember);
        var edge = new DateTimeOffset(2024, 3, 11, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(edge, r.NextCheckAt);
        Assert.True(EvalProfile(rule, p, edge - Tick).IsMember);
        Assert.False(EvalProfile(rule, p, edge).IsMember);
    }

    [Fact]
    public void DateTrait_MoreThanAgo_BecomesTrueAtTheBoundary()
    {
        var p = ProfileWithTraits(new { signup = "2024-03-01T00:00:00Z" });
        var rule = new TraitRule("signup", C(ConditionOperator.MoreThanAgo, "P10D"));
        var r = EvalProfile(rule, p, T0);
        Assert.False(r.IsMember);
        var edge = new DateTimeOffset(2024, 3, 11, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(edge, r.NextCheckAt);
        Assert.True(EvalProfile(rule, p, edge).IsMember);
    }

    [Fact]
    public void DateTrait_InTheFuture_EntersWithinLastAtItsTime()
    {
        var p = ProfileWithTraits(new { appointment = "2024-03-12T09:00:00Z" });
        var r = EvalProfile(new TraitRule("appointment", C(ConditionOperator.WithinLast, "P1D")), p, T0);
        Assert.False(r.IsMember);
        Assert.Equal(new DateTimeOffset(2024, 3, 12, 9, 0, 0, TimeSpan.Zero), r.NextCheckAt);
    }

    [Fact]
    public void Anniversary_InRange_ExitsTheDayAfter()
    {
        var p = ProfileWithTraits(new { birthday = "1990-03-15" });
        var rule = new TraitRule("birthday", C(ConditionOperator.AnniversaryWithin, "P7D"));
        var r = EvalProfile(rule, p, T0);
        Assert.True(r.IsMember);
        var edge = new DateTimeOffset(2024, 3, 16, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(edge, r.NextCheckAt);
        Assert.True(EvalProfile(rule, p, edge - Tick).IsMember);
        Assert.False(EvalProfile(rule, p, edge).IsMember);
    }

    [Fact]
    public void Anniversary_OutOfRange_EntersWhenTodayPlusDurationReachesIt()
    {
        var p = ProfileWithTraits(new { birthday = "1990-03-15" });
        var rule = new TraitRule("birthday", C(ConditionOperator.AnniversaryWithin, "P7D"));
        var now = new DateTimeOffset(2024, 3, 7, 15, 0, 0, TimeSpan.Zero);
        var r = EvalProfile(rule, p, now);
        Assert.False(r.IsMember);
        var edge = new DateTimeOffset(2024, 3, 8, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(edge, r.NextCheckAt);
        Assert.True(EvalProfile(rule, p, edge).IsMember);
    }

    [Fact]
    public void Anniversary_LeapDayIsCelebratedOn28FebruaryInOtherYears()
    {
        var p = ProfileWithTraits(new { birthday = "2000-02-29" });
        var rule = new TraitRule("birthday", C(ConditionOperator.AnniversaryWithin, "P0D"));
        Assert.True(EvalProfile(rule, p, new DateTimeOffset(2025, 2, 28, 8, 0, 0, TimeSpan.Zero)).IsMember);
        Assert.False(EvalProfile(rule, p, new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero)).IsMember);
        Assert.True(EvalProfile(rule, p, new DateTimeOffset(2024, 2, 29, 8, 0, 0, TimeSpan.Zero)).IsMember);
        Assert.False(EvalProfile(rule, p, new DateTimeOffset(2024, 2, 28, 8, 0, 0, TimeSpan.Zero)).IsMember);
    }

    [Fact]
    public void Anniversary_NextChecksFollowEachOtherExactlyForAYear()
    {
        var p = ProfileWithTraits(new { birthday = "1988-12-31" });
        var rule = new TraitRule("birthday", C(ConditionOperator.AnniversaryWithin, "P3D"));
        var now = T0;
        var transitions = 0;
        while (now < T0.AddYears(1))
        {
            var r = EvalProfile(rule, p, now);
            var next = Assert.NotNull(r.NextCheckAt);
            Assert.Equal(r.IsMember, EvalProfile(rule, p, next - Tick).IsMember);
            Assert.NotEqual(r.IsMember, EvalProfile(rule, p, next).IsMember);
            now = next;
            transitions++;
        }

        Assert.Equal(3, transitions);
    }

    [Fact]
    public void All_IsFalseForGoodWhenAFalseChildCannotChangeWithTime()
    {
        var rule = new AllRule([
            new TraitRule("tier", C(ConditionOperator.Eq, "vip")),
            new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P7D")) }]);
        var r = Eval(rule, T0, Order(T0.AddDays(-1)));
        Assert.False(r.IsMember);
        Assert.Null(r.NextCheckAt);
    }

    [Fact]
    public void Not_KeepsTheChildsNextCheck()
    {
        var rule = new NotRule(new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P7D")) });
        var r = Eval(rule, T0, Order(T0.AddDays(-1)));
        Assert.False(r.IsMember);
        Assert.Equal(T0.AddDays(6), r.NextCheckAt);
    }

    [Fact]
    public void Any_TakesTheEarliestChangeWhenAllAreFalse()
    {
        var rule = new AnyRule([
            new RecencyRule(RecencyKind.Last, EventTypes.OrderPlaced, ConditionOperator.MoreThanAgo, D("P30D")),
            new RecencyRule(RecencyKind.Last, EventTypes.OrderPlaced, ConditionOperator.MoreThanAgo, D("P10D"))]);
        var r = Eval(rule, T0, Order(T0.AddDays(-5)));
        Assert.False(r.IsMember);
        Assert.Equal(T0.AddDays(5), r.NextCheckAt);
    }
}
