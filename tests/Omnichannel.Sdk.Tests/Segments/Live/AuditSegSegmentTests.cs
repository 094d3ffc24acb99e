using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Segments.Live;

/// <summary>Audit Seg: live segment membership against the bugs comparable products had.</summary>
public sealed class AuditSegSegmentTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");

    private static OmnichannelTestHost Host(params SegmentDefinition[] segments) => OmnichannelTestHost.Create(o =>
    {
        foreach (var s in segments)
        {
            o.Segments.Add(s);
        }
    });

    private static SegmentDefinition Week => Segment.Define("week", "Bought in 7 days").Where(r => r.Event(EventTypes.OrderPlaced).Within("P7D"));

    private static SegmentDefinition Two => Segment.Define("two", "Two orders in 30 days")
        .Where(r => r.Event(EventTypes.OrderPlaced).Count(c => c.Gte(2)).Within("P30D"));

    [Fact]
    public async Task AnOrderOnBothSidesOfAMerge_KeepsItsFirstTime_WhenOneSidePrunedIt()
    {
        await using var host = Host(Two);
        var cookie = Identifier.AnonymousId("c1");
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 });
        await host.AdvanceAsync(TimeSpan.FromDays(40));
        await host.TrackAsync("page.viewed", [Ann]); // any event prunes: o1 leaves Ann's kept history

        // An update of o1 reaches an anonymous profile, which then turns out to be Ann.
        await host.TrackAsync(EventTypes.OrderPlaced, [cookie], new { order_id = "o1", total = 7 });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 5 });
        await host.TrackAsync("page.viewed", [Ann, cookie]);

        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(2, ann.Statistics.OrderCount);
        Assert.False(ann.IsInSegment("two"));
    }

    [Fact]
    public async Task AnOrderUpdateThatNoLongerMatches_TakesHerOut()
    {
        await using var host = Host(
            Segment.Define("big", "Ever a big order").Where(r => r.Event(EventTypes.OrderPlaced).Where(r.Property("total").Gte(100))),
            Segment.Define("big-month", "A big order in 30 days").Where(r => r.Event(EventTypes.OrderPlaced).Where(r.Property("total").Gte(100)).Within("P30D")));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 150 });
        Assert.Equal(2, (await host.ProfileAsync(Ann)).Segments.Count);
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));

        // The order is corrected to 50: it is the same order, with its newest values, and no longer big.
        var r = await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 50 });

        Assert.Equal(["big", "big-month"], r.SegmentChanges.Where(c => !c.Entered).Select(c => c.SegmentId).Order());
        Assert.Empty((await host.ProfileAsync(Ann)).Segments);
    }

    [Fact]
    public async Task ALateOrderOutsideTheWindow_DoesNotEnter()
    {
        await using var host = Host(Week);
        await host.AdvanceAsync(TimeSpan.FromDays(30));
        var now = host.Time.GetUtcNow();
        var r = await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 }, at: now.AddDays(-7)));
        Assert.Empty(r.SegmentChanges);
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("week"));
        var r2 = await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Bob], new { order_id = "o2", total = 5 }, at: now.AddDays(-7).AddTicks(1)));
        Assert.Single(r2.SegmentChanges);
        await host.AdvanceAsync(TimeSpan.FromTicks(1));
        var bob = await host.ProfileAsync(Bob);
        Assert.False(bob.IsInSegment("week"));
        Assert.Single(bob.Timeline, t => t.Type == EventTypes.SegmentExited);
    }

    [Fact]
    public async Task TheSameEventTwice_CountsOnce()
    {
        await using var host = Host(Two);
        var e = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 });
        await host.TrackAsync(e);
        try { await host.TrackAsync(e); } catch (EventRejectedException) { }
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 6 }));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("two"));
    }

    [Fact]
    public async Task Erasure_LeavesEverySegment()
    {
        await using var host = Host(Week, Segment.Define("vip", "v").Where(r => r.Trait("tier").Eq("vip")));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 }, traits: new { tier = "vip" });
        Assert.Single(await host.Client.GetSegmentMembersAsync("week"));
        Assert.True(await host.Client.EraseProfileAsync(Ann));
        Assert.Empty(await host.Client.GetSegmentMembersAsync("week"));
        Assert.Empty(await host.Client.GetSegmentMembersAsync("vip"));
        await host.AdvanceAsync(TimeSpan.FromDays(8));
        Assert.Empty(await host.Client.GetSegmentMembersAsync("week"));
        await Assert.ThrowsAsync<EventRejectedException>(() => host.TrackAsync("page.viewed", [Ann]));
        Assert.Empty(await host.Client.GetSegmentMembersAsync("week"));
        Assert.Empty(await host.Client.GetSegmentMembersAsync("vip"));
    }

    [Fact]
    public async Task AMergeOfTwoHalves_EntersOnce_AndTheAbsorbedProfileLeavesTheList()
    {
        await using var host = Host(Two, Week);
        var cookie = Identifier.AnonymousId("c1");
        await host.TrackAsync(EventTypes.OrderPlaced, [cookie], new { order_id = "o1", total = 5 });
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 5 });
        Assert.Equal(2, (await host.Client.GetSegmentMembersAsync("week")).Count);
        var r = await host.TrackAsync("page.viewed", [Ann, cookie]);
        Assert.Equal(["two"], r.SegmentChanges.Select(c => c.SegmentId + (c.Entered ? "" : "-out")));
        Assert.Single(await host.Client.GetSegmentMembersAsync("week"));
        Assert.Single(await host.Client.GetSegmentMembersAsync("two"));
        await host.AdvanceAsync(TimeSpan.FromDays(40));
        var ann = await host.ProfileAsync(Ann);
        Assert.Empty(ann.Segments);
        Assert.Single(ann.Timeline, t => t.Type == EventTypes.SegmentExited && t.Summary == "Two orders in 30 days");
        Assert.Empty(await host.Client.GetSegmentMembersAsync("week"));
    }

    [Fact]
    public async Task AReSentOrder_AveragesItsNewestTotal()
    {
        await using var host = Host(Segment.Define("avg", "a").Where(r => r.Avg(EventTypes.OrderPlaced, "total").Gte(100)));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 50 });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 150 });
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("avg"));
    }

    [Fact]
    public async Task DecimalSums_AreExact()
    {
        await using var host = Host(Segment.Define("s", "s").Where(r => r.Sum(EventTypes.OrderPlaced, "total").Eq(0.3m)));
        foreach (var i in new[] { 1, 2, 3 })
        {
            await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o" + i, total = 0.1 });
        }

        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("s"));
    }

    [Fact]
    public async Task ADefinitionChange_ExitsOnce_AndKeepsAStayingMember()
    {
        await using var host = Host(Week);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 });
        var entered = host.Time.GetUtcNow();
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        var b = await host.Client.UpsertSegmentAsync(Segment.Define("week", "Bought in 7 days").Where(r => r.Event(EventTypes.OrderPlaced).Within("P8D")));
        await b.Completion;
        Assert.Equal(entered, Assert.Single((await host.ProfileAsync(Ann)).Segments).EnteredAt);
        b = await host.Client.UpsertSegmentAsync(Segment.Define("week", "Bought in 7 days").Where(r => r.Event(EventTypes.OrderPlaced).Within("PT1H")));
        await b.Completion;
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        var ann = await host.ProfileAsync(Ann);
        Assert.Empty(ann.Segments);
        Assert.Single(ann.Timeline, t => t.Type == EventTypes.SegmentExited);
        Assert.Single(ann.Timeline, t => t.Type == EventTypes.SegmentEntered);
    }

    [Fact]
    public async Task AReturnBeforeItsOrder_CountsInReturnValue_WhenTheOrderSetsTheCurrency()
    {
        // No shop currency: the headline currency (and so returnValue) comes from the first order; before any order, from
        // the earliest return (audit U96: it read 0, and a credit note that was her only money event counted nowhere).
        await using var host = Host(Segment.Define("returners", "Returned 20 or more").Where(r => r.Stat("returnValue").Gte(20)));
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o1", total = 50, currency = "EUR" });
        Assert.Equal(50m, (await host.ProfileAsync(Ann)).Statistics.ReturnValue);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "EUR" });

        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(50m, ann.Statistics.ReturnValue);
        Assert.True(ann.IsInSegment("returners"));
    }

    [Fact]
    public async Task AnOrderSentAgainAfterItsEntryWasPruned_KeepsItsFirstTime_AndCountsOnce()
    {
        await using var host = Host(Two);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 });
        await host.AdvanceAsync(TimeSpan.FromDays(40));
        await host.TrackAsync("page.viewed", [Ann]); // any event prunes: o1 leaves the kept history

        // An update of o1 (a new event, same order) and a new order: one order in 30 days, not two.
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 7 });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 5 });

        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(2, ann.Statistics.OrderCount);
        Assert.False(ann.IsInSegment("two"));
        Assert.DoesNotContain(ann.Timeline, t => t.Type == EventTypes.SegmentEntered);
    }

    [Fact]
    public async Task Ne_HoldsForANullTrait()
    {
        await using var host = Host(
            Segment.Define("ne", "n").Where(r => r.Trait("tier").Ne("vip")),
            Segment.Define("lt", "l").Where(r => r.Trait("age").Lt(30)));
        await host.TrackAsync("profile.updated", [Ann], traits: new { tier = (string?)null, age = "25" });
        var ann = await host.ProfileAsync(Ann);
        Assert.True(ann.IsInSegment("ne"));
    }

    [Fact]
    public void Json_HugeNumbersDeepNestingAndUnknownOperators_AreRefusedWithPaths()
    {
        var huge = SegmentJson.Parse("""{"id":"h","name":"h","rule":{"trait":"x","op":"gt","value":1e400}}""");
        Assert.NotEmpty(huge.Errors);
        var deep = "{\"id\":\"d\",\"name\":\"d\",\"rule\":" + string.Concat(Enumerable.Repeat("{\"not\":", 200)) + "{\"trait\":\"x\",\"op\":\"exists\"}" + new string('}', 200) + "}";
        var d = SegmentJson.Parse(deep);
        Assert.NotEmpty(d.Errors);
        var unknown = SegmentJson.Parse("""{"id":"u","name":"u","rule":{"trait":"x","op":"equals","value":1}}""");
        Assert.Contains(unknown.Errors, e => e.Path.StartsWith("$.rule", StringComparison.Ordinal));
        var cnt = SegmentJson.Parse("""{"id":"c","name":"c","rule":{"event":"order.placed","count":{"op":"gte","value":1e30}}}""");
        Assert.True(cnt.Errors.Count > 0 || cnt.Value is not null);
    }

    [Fact]
    public async Task MoreThanAgo_WithALateRecentOrder_Exits()
    {
        await using var host = Host(Segment.Define("lapsed", "l").Where(r => r.LastEvent(EventTypes.OrderPlaced).MoreThanAgo("P30D")));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 });
        await host.AdvanceAsync(TimeSpan.FromDays(40));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("lapsed"));
        var now = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 5 }, at: now.AddDays(-5)));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("lapsed"));
        await host.AdvanceAsync(TimeSpan.FromDays(25) + TimeSpan.FromTicks(1));
        var ann = await host.ProfileAsync(Ann);
        Assert.True(ann.IsInSegment("lapsed"));
        Assert.Equal(now.AddDays(25), ann.Segments.Single().EnteredAt);
    }

    [Fact]
    public async Task FirstEvent_ALateEarlierOrder_MovesIt()
    {
        await using var host = Host(Segment.Define("new", "n").Where(r => r.FirstEvent(EventTypes.OrderPlaced).WithinLast("P30D")));
        await host.AdvanceAsync(TimeSpan.FromDays(60));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 });
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("new"));
        var now = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o0", total = 5 }, at: now.AddDays(-50)));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("new"));
    }

    [Fact]
    public async Task OrderCount_CountsAReSentOrderOnce()
    {
        await using var host = Host(Segment.Define("c", "c").Where(r => r.Stat("orderCount").Gte(2)));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5, currency = "GBP" });
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("c"));
    }

    [Fact]
    public async Task ASegmentOfASegment_FollowsADefinitionChangeOfItsPart()
    {
        await using var host = Host(Week, Segment.Define("outer", "o").Where(r => r.Segment("week")));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 });
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("outer"));
        var b = await host.Client.UpsertSegmentAsync(Segment.Define("week", "w").Where(r => r.Event(EventTypes.OrderPlaced).Count(c => c.Gte(5))));
        await b.Completion;
        var ann = await host.ProfileAsync(Ann);
        Assert.False(ann.IsInSegment("week"));
        Assert.False(ann.IsInSegment("outer"));
        Assert.Empty(await host.Client.GetSegmentMembersAsync("outer"));
    }

    [Fact]
    public async Task DateStatisticsAndTraits_ChangeByTimeAlone()
    {
        await using var host = Host(Segment.Define("abandoned", "a").Where(r => r.Stat("cartUpdatedAt").MoreThanAgo("PT1H")),
            Segment.Define("signup", "s").Where(r => r.Trait("signed_up_at").WithinLast("P7D")));
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", price = 5, quantity = 1 }, traits: new { signed_up_at = host.Time.GetUtcNow().ToString("O") });
        var t0 = host.Time.GetUtcNow();
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("signup"));
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(t0.AddHours(1), Assert.Single(ann.Segments, s => s.SegmentId == "abandoned").EnteredAt);
        await host.AdvanceAsync(TimeSpan.FromDays(8));
        ann = await host.ProfileAsync(Ann);
        Assert.False(ann.IsInSegment("signup"));
    }

    [Fact]
    public async Task EverABigOrder_AfterTwoOfThreeWereLowered_StillHolds()
    {
        await using var host = Host(Segment.Define("big", "b").Where(r => r.Event(EventTypes.OrderPlaced).Where(r.Property("total").Gte(100))));
        foreach (var id in new[] { "o1", "o2", "o3" })
        {
            await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = id, total = 150 });
            await host.AdvanceAsync(TimeSpan.FromDays(1));
        }

        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 50 });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o3", total = 50 });
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("big"));
    }

    [Theory]
    [InlineData("count-eq-1")]
    [InlineData("avg-gte-100")]
    [InlineData("min-lte-60")]
    [InlineData("max-gte-120")]
    [InlineData("sum-between")]
    [InlineData("distinct-eq-1")]
    [InlineData("count-ne-2")]
    public async Task AggregatesOverTime_ChangeAtExactInstants(string which)
    {
        var segment = which switch
        {
            "count-eq-1" => Segment.Define(which, which).Where(r => r.Event(EventTypes.OrderPlaced).Count(c => c.Eq(1)).Within("P7D")),
            "avg-gte-100" => Segment.Define(which, which).Where(r => r.Avg(EventTypes.OrderPlaced, "total").Gte(100).Within("P7D")),
            "min-lte-60" => Segment.Define(which, which).Where(r => r.Min(EventTypes.OrderPlaced, "total").Lte(60).Within("P7D")),
            "max-gte-120" => Segment.Define(which, which).Where(r => r.Max(EventTypes.OrderPlaced, "total").Gte(120).Within("P7D")),
            "sum-between" => Segment.Define(which, which).Where(r => r.Sum(EventTypes.OrderPlaced, "total").Between(100, 160).Within("P7D")),
            "distinct-eq-1" => Segment.Define(which, which).Where(r => r.Distinct(EventTypes.OrderPlaced, "sku").Eq(1).Within("P7D")),
            _ => Segment.Define(which, which).Where(r => r.Event(EventTypes.OrderPlaced).Count(c => c.Ne(2)).Within("P7D")),
        };
        await using var host = Host(segment);
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "a", total = 150, sku = "x" });
        await host.AdvanceAsync(TimeSpan.FromDays(3));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "b", total = 50, sku = "y" });
        await host.AdvanceAsync(TimeSpan.FromDays(20));
        var ann = await host.ProfileAsync(Ann);
        var got = ann.Timeline.Where(t => t.Type is EventTypes.SegmentEntered or EventTypes.SegmentExited).OrderBy(t => t.Timestamp)
            .Select(t => $"{(t.Type == EventTypes.SegmentEntered ? "in" : "out")}@{(t.Timestamp - t0).TotalDays}").ToList();
        var expected = which switch
        {
            // a=150 (day 0..7), b=50 (day 3..10)
            "count-eq-1" => new[] { "in@0", "out@3", "in@7", "out@10" },
            "avg-gte-100" => ["in@0", "out@7"],
            "min-lte-60" => ["in@3", "out@10"],
            "max-gte-120" => ["in@0", "out@7"],
            "sum-between" => ["in@0", "out@3", "out@10"],
            "distinct-eq-1" => ["in@0", "out@3", "in@7", "out@10"],
            _ => ["in@0", "out@3", "in@7"],
        };
        if (which == "sum-between")
        {
            expected = ["in@0", "out@3"]; // 150 in range; 200 out; 50 after day 7 out
        }

        Assert.Equal(expected, got);
    }

    [Fact]
    public async Task ABatchOutOfOrder_CountsByEventTime()
    {
        var week2 = Segment.Define("w2", "w2").Where(r => r.Event(EventTypes.OrderPlaced).Count(c => c.Gte(2)).Within("P7D"));
        await using var host = Host(week2);
        await host.AdvanceAsync(TimeSpan.FromDays(20));
        var now = host.Time.GetUtcNow();
        var results = await host.Client.TrackBatchAsync([
            host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "b", total = 1 }, at: now.AddDays(-1)),
            host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "a", total = 1 }, at: now.AddDays(-6)),
            host.Event(EventTypes.OrderPlaced, [Bob], new { order_id = "c", total = 1 }, at: now.AddDays(-1)),
            host.Event(EventTypes.OrderPlaced, [Bob], new { order_id = "d", total = 1 }, at: now.AddDays(-8)),
        ]);
        Assert.All(results, r => Assert.True(r.IsAcknowledged));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("w2"));
        Assert.False((await host.ProfileAsync(Bob)).IsInSegment("w2"));
        await host.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromHours(1));
        var ann = await host.ProfileAsync(Ann);
        Assert.False(ann.IsInSegment("w2"));
        Assert.Equal(now.AddDays(1), ann.Timeline.Single(t => t.Type == EventTypes.SegmentExited).Timestamp);
    }

    [Fact]
    public async Task NestedTraits_SetAndRemoved_EnterAndLeave()
    {
        await using var host = Host(Segment.Define("paris", "p").Where(r => r.Trait("address.city").Eq("Paris")),
            Segment.Define("vip", "v").Where(r => r.Trait("tier").Eq("vip")));
        await host.TrackAsync("profile.updated", [Ann], traits: new { address = new { city = "Paris" }, tier = "vip" });
        Assert.Equal(2, (await host.ProfileAsync(Ann)).Segments.Count);
        await host.TrackAsync("profile.updated", [Ann], traits: new { address = (object?)null, tier = (string?)null });
        Assert.Empty((await host.ProfileAsync(Ann)).Segments);
    }

    [Fact]
    public async Task ATimeDependentWhere_ExitsAtItsInstant()
    {
        await using var host = Host(Segment.Define("dl", "d").Where(r => r.Event("order.delivered").Where(r.Property("delivered_at").WithinLast("P1D"))));
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync("order.delivered", [Ann], new { order_id = "o1", delivered_at = t0.AddHours(-2).ToString("O") });
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("dl"));
        await host.AdvanceAsync(TimeSpan.FromDays(2));
        var ann = await host.ProfileAsync(Ann);
        Assert.False(ann.IsInSegment("dl"));
        Assert.Equal(t0.AddHours(22), ann.Timeline.Single(t => t.Type == EventTypes.SegmentExited).Timestamp);
    }

    [Fact]
    public async Task OrderDateStatistics_UseTheOrdersFirstTime()
    {
        await using var host = Host(Segment.Define("lo", "l").Where(r => r.Stat("lastOrderAt").WithinLast("P7D")),
            Segment.Define("fo", "f").Where(r => r.Stat("firstOrderAt").MoreThanAgo("P7D")));
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 1, currency = "GBP" });
        await host.AdvanceAsync(TimeSpan.FromDays(3));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 2, currency = "GBP" });
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(t0.AddDays(7), ann.Timeline.Single(t => t.Type == EventTypes.SegmentExited).Timestamp);
        Assert.Equal(t0.AddDays(7), ann.Segments.Single().EnteredAt);
    }
}
