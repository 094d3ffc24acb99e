using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using Xunit;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

/// <summary>The shortcuts of per-event evaluation (narrow statistic index, typed property cache, id index) give the same answers.</summary>
public sealed class FastPathTests
{
    private static readonly SegmentDefinition Count7 = Seg("count7", new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P7D")) });

    public static TheoryData<string> AllEventTypes()
    {
        var data = new TheoryData<string>();
        foreach (var f in typeof(EventTypes).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.FieldType == typeof(string)))
        {
            data.Add((string)f.GetRawConstantValue()!);
        }

        data.Add("custom.thing_happened");
        return data;
    }

    [Theory]
    [MemberData(nameof(AllEventTypes))]
    public void AffectedBy_IncludesEveryStatisticTheEventChanges(string type)
    {
        var segments = ProfileStatisticNames.All.Select(name => Seg(name, new StatisticRule(name, C(ConditionOperator.Exists)))).ToList();
        var catalog = SegmentCatalog.Create(segments);
        var p = NewProfile();
        ProfileCore.Apply(p, Ev(EventTypes.OrderPlaced, T0.AddDays(-3), new { total = 30, currency = "GBP" }), 100);
        ProfileCore.Apply(p, Ev(EventTypes.CartItemAdded, T0.AddDays(-2), new { product_id = "p1", quantity = 2, price = 5 }), 100);
        ProfileCore.Apply(p, Ev(EventTypes.CartItemAdded, T0.AddDays(-1), new { product_id = "p2", quantity = 1, price = 7 }), 100);
        var before = ProfileStatisticNames.All.ToDictionary(n => n, n => SegmentEvaluator.StatisticValue(p, n));

        var e = Ev(type, T0, new
        {
            product_id = "p1",
            quantity = 1,
            price = 5,
            total = 20,
            currency = "GBP",
            points = 10,
            channel = ChannelNames.Email,
            topic = "news",
            granted = true,
            message_id = "m1",
            bounce = "hard",
            address = "ann@x.io",
        }) with { Channel = ChannelNames.Sms };
        ProfileCore.Apply(p, e, 100);
        var affected = catalog.AffectedBy(e).Select(s => s.Id).ToHashSet(StringComparer.Ordinal);

        foreach (var name in ProfileStatisticNames.All)
        {
            var after = SegmentEvaluator.StatisticValue(p, name);
            if (!Same(before[name], after))
            {
                Assert.True(affected.Contains(name), $"{type} changes {name} but does not re-evaluate rules on it.");
            }
        }
    }

    [Fact]
    public void AffectedBy_AnEventOfAnotherTypeSkipsOrderStatistics()
    {
        var catalog = SegmentCatalog.Create([Seg("orders", new StatisticRule(ProfileStatisticNames.OrderCount, C(ConditionOperator.Gte, 2)))]);
        Assert.Empty(catalog.AffectedBy(Ev(EventTypes.MessageOpened, T0)));
        Assert.Single(catalog.AffectedBy(Ev(EventTypes.OrderPlaced, T0)));
    }

    [Fact]
    public void RecordedEvent_PropertyReadsTheTypedValueAndACopyDoesNotKeepTheOldOne()
    {
        var e = new RecordedEvent("a", T0, new JsonObject { ["total"] = 12.5m, ["tags"] = new JsonArray("x", "y") });
        Assert.Equal(12.5m, e.Property("total").Number);
        Assert.Equal(2, e.Property("tags").Items!.Count);
        Assert.True(e.Property("other").IsMissing);

        var copy = e with { Properties = new JsonObject { ["total"] = 3 } };
        Assert.Equal(3m, copy.Property("total").Number);
        Assert.True(copy.Property("tags").IsMissing);
        Assert.True((e with { Properties = null }).Property("total").IsMissing);
    }

    [Fact]
    public void RecordedEvent_EqualityIgnoresWhatWasRead()
    {
        var props = new JsonObject { ["total"] = 1 };
        var a = new RecordedEvent("a", T0, props);
        var b = new RecordedEvent("a", T0, props);
        _ = a.Property("total");
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Id = "b" });
    }

    [Fact]
    public void Record_AfterAPruneAcceptsAnIdThatWasDroppedAndStillRejectsKeptOnes()
    {
        var req = SegmentCatalog.Create([Count7]).Requirements;
        var h = new RuleHistory();
        Assert.True(h.Record(Ev(EventTypes.OrderPlaced, T0.AddDays(-20), id: "first"), req)); // a type's first event stays (audit U35)
        Assert.True(h.Record(Ev(EventTypes.OrderPlaced, T0.AddDays(-10), id: "old"), req));
        Assert.True(h.Record(Ev(EventTypes.OrderPlaced, T0.AddDays(-1), id: "new"), req));
        h.Prune(T0, req);
        Assert.Equal(["first", "new"], h.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));

        Assert.False(h.Record(Ev(EventTypes.OrderPlaced, T0.AddHours(-5), id: "new"), req));
        Assert.True(h.Record(Ev(EventTypes.OrderPlaced, T0.AddHours(-2), id: "old"), req));
        Assert.Equal(["first", "new", "old"], h.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));
    }

    [Fact]
    public void Record_AfterDeserializationStillRejectsARedeliveryAtAnotherTime()
    {
        var req = SegmentCatalog.Create([Count7]).Requirements;
        var h = new RuleHistory();
        h.Record(Ev(EventTypes.OrderPlaced, T0, id: "o1"), req);
        var back = JsonSerializer.Deserialize<RuleHistory>(JsonSerializer.Serialize(h))!;
        Assert.False(back.Record(Ev(EventTypes.OrderPlaced, T0.AddHours(1), id: "o1"), req));
        Assert.True(back.Record(Ev(EventTypes.OrderPlaced, T0.AddHours(1), id: "o2"), req));
        Assert.Equal(2, back.Count);
    }

    [Fact]
    public void CountWalk_ExitAndEntryAtTheSameInstantAreSettledTogether()
    {
        // Two orders in the window, one leaves exactly when a future one arrives: the count stays 2, then drops.
        var rule = new EventRule(EventTypes.OrderPlaced) { Count = C(ConditionOperator.Gte, 2), Window = TimeWindow.Last(D("P7D")) };
        var r = Eval(rule, T0, Ev(EventTypes.OrderPlaced, T0.AddDays(-6)), Ev(EventTypes.OrderPlaced, T0.AddDays(-1)), Ev(EventTypes.OrderPlaced, T0.AddDays(1)));
        Assert.True(r.IsMember);
        Assert.Equal(T0.AddDays(6), r.NextCheckAt);
    }

    [Fact]
    public void RunningWalk_SumNextCheckIsTheFirstExitThatBreaksTheThreshold()
    {
        var rule = new AggregateRule(AggregateFunction.Sum, EventTypes.OrderPlaced, C(ConditionOperator.Gte, 50)) { Property = "total", Window = TimeWindow.Last(D("P30D")) };
        var r = Eval(
            rule,
            T0,
            Ev(EventTypes.OrderPlaced, T0.AddDays(-20), new { total = 5 }),
            Ev(EventTypes.OrderPlaced, T0.AddDays(-10), new { total = 30 }),
            Ev(EventTypes.OrderPlaced, T0.AddDays(-5), new { total = 20 }));
        Assert.True(r.IsMember);
        Assert.Equal(T0.AddDays(20), r.NextCheckAt);
    }

    private static bool Same(RuleValue a, RuleValue b) => a.Kind == b.Kind && (a.IsMissing || a.Kind == RuleValueKind.Object || RuleValue.AreEqual(a, b));
}
