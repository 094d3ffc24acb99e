using System.Text.Json;
using Omnichannel.Sdk.Segments;
using Xunit;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

public sealed class RuleHistoryTests
{
    private static readonly SegmentDefinition Sum90 = Seg("sum90", new AggregateRule(AggregateFunction.Sum, EventTypes.OrderPlaced, C(ConditionOperator.Gte, 100))
    {
        Property = "total",
        Where = [new PropertyCondition("shipping.country", C(ConditionOperator.Eq, "FR"))],
        Window = TimeWindow.Last(D("P90D")),
    });

    private static readonly SegmentDefinition Count7 = Seg("count7", new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P7D")) });

    private static readonly SegmentDefinition LastView = Seg("viewed", new RecencyRule(RecencyKind.Last, EventTypes.ProductViewed, ConditionOperator.MoreThanAgo, D("P30D"))
    {
        Where = [new PropertyCondition("category", C(ConditionOperator.Eq, "shoes"))],
    });

    private static HistoryRequirements Req(params SegmentDefinition[] defs) => SegmentCatalog.Create(defs).Requirements;

    private static CustomerEvent Order(DateTimeOffset at, string? id = null, decimal total = 10) =>
        Ev(EventTypes.OrderPlaced, at, new { total, currency = "EUR", shipping = new { country = "FR", city = "Paris" } }, id: id);

    [Fact]
    public void Record_IgnoresTypesNoRuleReads()
    {
        var h = new RuleHistory();
        Assert.False(h.Record(Ev(EventTypes.CartItemAdded, T0, new { product_id = "p" }), Req(Sum90)));
        Assert.Equal(0, h.Count);
    }

    [Fact]
    public void Record_KeepsOnlyReferencedPropertiesByDottedPath()
    {
        var h = new RuleHistory();
        Assert.True(h.Record(Order(T0, total: 12.5m), Req(Sum90)));
        var e = Assert.Single(h.EventsOf(EventTypes.OrderPlaced));
        Assert.Equal(["shipping.country", "total"], e.Properties!.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.Equal(12.5m, e.Property("total").Number);
        Assert.Equal("FR", e.Property("shipping.country").Text);
    }

    [Fact]
    public void Record_WithoutReferencedPropertiesStoresNone()
    {
        var h = new RuleHistory();
        h.Record(Order(T0), Req(Count7));
        Assert.Null(Assert.Single(h.EventsOf(EventTypes.OrderPlaced)).Properties);
    }

    [Fact]
    public void Record_InsertsLateEventsInTimeOrder()
    {
        var h = new RuleHistory();
        var req = Req(Count7);
        h.Record(Order(T0, "b"), req);
        h.Record(Order(T0.AddHours(2), "c"), req);
        h.Record(Order(T0.AddHours(-1), "a"), req);
        h.Record(Order(T0, "b2"), req);
        Assert.Equal(["a", "b", "b2", "c"], h.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));
    }

    [Fact]
    public void Record_IgnoresAnIdAlreadyRecorded()
    {
        var h = new RuleHistory();
        var req = Req(Count7);
        Assert.True(h.Record(Order(T0, "x"), req));
        Assert.False(h.Record(Order(T0, "x"), req));
        Assert.False(h.Record(Order(T0.AddDays(-1), "x"), req));
        Assert.Equal(1, h.Count);
    }

    [Fact]
    public void Prune_DropsEventsThatLeftTheLongestWindowExactlyAtTheBoundary()
    {
        var h = new RuleHistory();
        var req = Req(Count7, Sum90);
        h.Record(Order(T0.AddDays(-200), "first"), req); // a type's first and last events stay (audit U35)
        h.Record(Order(T0.AddDays(-90), "out"), req);
        h.Record(Order(T0.AddDays(-90).AddTicks(1), "in"), req);
        h.Record(Order(T0.AddDays(-3), "recent"), req);
        h.Prune(T0, req);
        Assert.Equal(["first", "in", "recent"], h.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));
    }

    [Fact]
    public void Prune_KeepsFutureEvents()
    {
        var h = new RuleHistory();
        var req = Req(Count7);
        h.Record(Order(T0.AddDays(30), "future"), req);
        h.Prune(T0, req);
        Assert.Equal(1, h.Count);
    }

    [Fact]
    public void Prune_KeepsEverythingWhenARuleHasNoWindow()
    {
        var ever = Seg("ever", new EventRule(EventTypes.OrderPlaced) { Count = C(ConditionOperator.Gte, 3) });
        var h = new RuleHistory();
        var req = Req(ever, Count7);
        for (var i = 0; i < 5; i++)
        {
            h.Record(Order(T0.AddYears(-i - 1)), req);
        }

        h.Prune(T0, req);
        Assert.Equal(5, h.Count);
    }

    [Fact]
    public void Prune_ForRecencyKeepsOnlyFirstAndLastMatchingEvents()
    {
        var h = new RuleHistory();
        var req = Req(LastView);
        string[] categories = ["shoes", "hats", "shoes", "shoes", "hats"];
        for (var i = 0; i < categories.Length; i++)
        {
            h.Record(Ev(EventTypes.ProductViewed, T0.AddDays(-100 + i), new { category = categories[i] }, id: "v" + i), req);
        }

        h.Record(Ev(EventTypes.ProductViewed, T0.AddDays(1), new { category = "shoes" }, id: "future"), req);
        h.Prune(T0, req);
        // v4 (hats) is the type's last past event, which every kept type keeps (audit U35); v1 and v2 go.
        Assert.Equal(["v0", "v3", "v4", "future"], h.EventsOf(EventTypes.ProductViewed).Select(e => e.Id));
    }

    [Fact]
    public void Prune_KeepsEventsInFixedWindows()
    {
        var fixedRule = Seg("march", new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Between(T0.AddYears(-2), T0.AddYears(-2).AddDays(31)) });
        var h = new RuleHistory();
        var req = Req(fixedRule, Count7);
        h.Record(Order(T0.AddYears(-2).AddDays(3), "kept"), req);
        h.Record(Order(T0.AddYears(-1), "dropped"), req);
        h.Record(Order(T0.AddDays(-1), "last"), req); // a type's last event stays (audit U35)
        h.Prune(T0, req);
        Assert.Equal(["kept", "last"], h.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));
    }

    [Fact]
    public void Prune_DropsTypesNoLongerRead()
    {
        var h = new RuleHistory();
        h.Record(Order(T0), Req(Count7));
        h.Prune(T0, Req(LastView));
        Assert.Empty(h.Events);
    }

    [Fact]
    public void Prune_NeverChangesAnAnswerAtOrAfterThePruneInstant()
    {
        var catalog = SegmentCatalog.Create([Sum90, Count7, LastView]);
        var events = new List<CustomerEvent>();
        for (var i = 0; i < 40; i++)
        {
            events.Add(Order(T0.AddDays(-i * 5), total: 7 * i));
            events.Add(Ev(EventTypes.ProductViewed, T0.AddDays(-i * 3 + 20), new { category = i % 3 == 0 ? "shoes" : "hats" }));
        }

        var (p, full) = Apply(catalog, [.. events]);
        var (_, pruned) = Apply(catalog, [.. events]);
        pruned.Prune(T0, catalog.Requirements);
        Assert.True(pruned.Count < full.Count);
        for (var day = 0; day < 200; day += 3)
        {
            var at = T0.AddDays(day).AddHours(day % 7);
            foreach (var s in catalog.Segments)
            {
                Assert.Equal(
                    SegmentEvaluator.Evaluate(s, new SegmentSubject(p, full, _ => false), at),
                    SegmentEvaluator.Evaluate(s, new SegmentSubject(p, pruned, _ => false), at));
            }
        }
    }

    [Fact]
    public void MergeFrom_UnitesBothHistoriesInOrderWithoutDuplicates()
    {
        var req = Req(Count7);
        var a = new RuleHistory();
        var b = new RuleHistory();
        a.Record(Order(T0, "1"), req);
        a.Record(Order(T0.AddHours(2), "3"), req);
        b.Record(Order(T0.AddHours(1), "2"), req);
        b.Record(Order(T0, "1"), req);
        b.Record(Ev(EventTypes.ProductViewed, T0, id: "v"), Req(LastView));
        a.MergeFrom(b);
        Assert.Equal(["1", "2", "3"], a.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));
        Assert.Single(a.EventsOf(EventTypes.ProductViewed));
    }

    [Fact]
    public void Serialization_RoundTripsEventsAndProperties()
    {
        var req = Req(Sum90);
        var h = new RuleHistory();
        h.Record(Order(T0, "o1", 60), req);
        h.Record(Order(T0.AddDays(-1), "o2", 45.5m), req);
        var json = JsonSerializer.Serialize(h);
        var back = JsonSerializer.Deserialize<RuleHistory>(json)!;
        Assert.Equal(["o2", "o1"], back.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));
        Assert.Equal(45.5m, back.EventsOf(EventTypes.OrderPlaced)[0].Property("total").Number);
        Assert.Equal(T0, back.EventsOf(EventTypes.OrderPlaced)[1].Timestamp);
        var p = NewProfile();
        Assert.True(SegmentEvaluator.Evaluate(Sum90, new SegmentSubject(p, back, _ => false), T0).IsMember);
    }
}
