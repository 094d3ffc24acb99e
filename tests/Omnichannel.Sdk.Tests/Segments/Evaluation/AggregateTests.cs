using Omnichannel.Sdk.Segments;
using Xunit;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

public sealed class AggregateTests
{
    private static readonly CustomerEvent[] Orders =
    [
        Ev(EventTypes.OrderPlaced, T0.AddDays(-20), new { total = 60, products = new[] { "a", "b" } }),
        Ev(EventTypes.OrderPlaced, T0.AddDays(-5), new { total = 50.5, products = new[] { "b", "c" } }),
        Ev(EventTypes.OrderPlaced, T0.AddDays(-2), new { note = "no total", products = new[] { "a" } }),
        Ev(EventTypes.OrderPlaced, T0.AddDays(-100), new { total = 1000 }),
    ];

    private static AggregateRule Agg(AggregateFunction f, string? property, ConditionOperator op, object value, string within = "P30D") =>
        new(f, EventTypes.OrderPlaced, C(op, System.Text.Json.JsonSerializer.SerializeToNode(value))) { Property = property, Window = TimeWindow.Last(D(within)) };

    [Theory]
    [InlineData(AggregateFunction.Sum, "total", 110.5)]
    [InlineData(AggregateFunction.Avg, "total", 55.25)]
    [InlineData(AggregateFunction.Min, "total", 50.5)]
    [InlineData(AggregateFunction.Max, "total", 60)]
    [InlineData(AggregateFunction.Count, "total", 2)]
    [InlineData(AggregateFunction.Count, null, 3)]
    [InlineData(AggregateFunction.Distinct, "products", 3)]
    public void Aggregate_OverTheWindow_SkipsEventsWithoutTheProperty(AggregateFunction f, string? property, double expected)
    {
        Assert.True(Eval(Agg(f, property, ConditionOperator.Eq, (decimal)expected), T0, Orders).IsMember);
        Assert.False(Eval(Agg(f, property, ConditionOperator.Eq, (decimal)expected + 1), T0, Orders).IsMember);
    }

    [Fact]
    public void Sum_NextCheckIsWhenTheSumFallsBelowTheThreshold()
    {
        var rule = Agg(AggregateFunction.Sum, "total", ConditionOperator.Gte, 100);
        var r = Eval(rule, T0, Orders);
        Assert.True(r.IsMember);
        Assert.Equal(T0.AddDays(10), r.NextCheckAt);
        Assert.False(Eval(rule, T0.AddDays(10), Orders).IsMember);
    }

    [Fact]
    public void Max_NextCheckIsWhenTheMaximumLeaves()
    {
        var rule = Agg(AggregateFunction.Max, "total", ConditionOperator.Gte, 60);
        var r = Eval(rule, T0, Orders);
        Assert.True(r.IsMember);
        Assert.Equal(T0.AddDays(10), r.NextCheckAt);
        Assert.False(Eval(rule, T0.AddDays(10), Orders).IsMember);
    }

    [Fact]
    public void Avg_OfNoEventsIsMissing()
    {
        Assert.False(Eval(Agg(AggregateFunction.Avg, "total", ConditionOperator.Gte, 0), T0).IsMember);
        Assert.False(Eval(Agg(AggregateFunction.Min, "total", ConditionOperator.Lte, 1_000_000), T0).IsMember);
        Assert.True(Eval(Agg(AggregateFunction.Sum, "total", ConditionOperator.Eq, 0), T0).IsMember);
        Assert.True(Eval(new AggregateRule(AggregateFunction.Avg, EventTypes.OrderPlaced, C(ConditionOperator.NotExists)) { Property = "total" }, T0).IsMember);
    }

    [Fact]
    public void Aggregate_WithoutWindowCoversAllTime()
    {
        var rule = new AggregateRule(AggregateFunction.Sum, EventTypes.OrderPlaced, C(ConditionOperator.Eq, 1110.5m)) { Property = "total" };
        var r = Eval(rule, T0, Orders);
        Assert.True(r.IsMember);
        Assert.Null(r.NextCheckAt);
    }

    [Fact]
    public void Aggregate_WhereFiltersContributions()
    {
        var rule = new AggregateRule(AggregateFunction.Count, EventTypes.OrderPlaced, C(ConditionOperator.Eq, 1))
        {
            Where = [new PropertyCondition("products", C(ConditionOperator.Contains, "c"))],
        };
        Assert.True(Eval(rule, T0, Orders).IsMember);
    }

    [Fact]
    public void Distinct_CountsNumbersByValue()
    {
        var rule = new AggregateRule(AggregateFunction.Distinct, EventTypes.ProductViewed, C(ConditionOperator.Eq, 2)) { Property = "price" };
        var r = Eval(
            rule,
            T0,
            Ev(EventTypes.ProductViewed, T0.AddDays(-1), new { price = 1.50m }),
            Ev(EventTypes.ProductViewed, T0.AddDays(-1), new { price = 1.5m }),
            Ev(EventTypes.ProductViewed, T0.AddDays(-1), new { price = 2 }));
        Assert.True(r.IsMember);
    }

    [Fact]
    public void Aggregate_FutureEventsEnterAtTheirTime()
    {
        var rule = Agg(AggregateFunction.Sum, "total", ConditionOperator.Gt, 2000);
        var events = Orders.Append(Ev(EventTypes.OrderPlaced, T0.AddDays(3), new { total = 2000 })).ToArray();
        var r = Eval(rule, T0, events);
        Assert.False(r.IsMember);
        Assert.Equal(T0.AddDays(3), r.NextCheckAt);
        Assert.True(Eval(rule, T0.AddDays(3), events).IsMember);
    }
}
