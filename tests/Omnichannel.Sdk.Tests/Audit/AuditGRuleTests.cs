using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit G: segment rule semantics for missing, null, odd and non-finite values, and segments of segments.</summary>
public sealed class AuditGRuleTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static SegmentDefinition Json(string json)
    {
        var r = SegmentJson.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors.Select(e => e.Path + " " + e.Message)));
        return r.Value!;
    }

    private static OmnichannelTestHost Host(params SegmentDefinition[] segments) => OmnichannelTestHost.Create(o =>
    {
        foreach (var s in segments)
        {
            o.Segments.Add(s);
        }
    });

    [Fact]
    public async Task NegationsOfAMissingTrait_HoldAsDocumented()
    {
        SegmentDefinition[] segments =
        [
            Json("""{"id": "ne", "name": "x", "rule": {"trait": "tier", "op": "ne", "value": "vip"}}"""),
            Json("""{"id": "not-in", "name": "x", "rule": {"trait": "tier", "op": "notIn", "value": ["vip", "gold"]}}"""),
            Json("""{"id": "not-contains", "name": "x", "rule": {"not": {"trait": "tier", "op": "contains", "value": "vip"}}}"""),
            Json("""{"id": "contains", "name": "x", "rule": {"trait": "tier", "op": "contains", "value": "vip"}}"""),
            Json("""{"id": "gt", "name": "x", "rule": {"trait": "age", "op": "gt", "value": 30}}"""),
            Json("""{"id": "not-gt", "name": "x", "rule": {"not": {"trait": "age", "op": "gt", "value": 30}}}"""),
        ];
        await using var host = Host(segments);
        await host.TrackAsync("page.viewed", [Ann]);
        var p = await host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("ne"));
        Assert.True(p.IsInSegment("not-in"));
        Assert.True(p.IsInSegment("not-contains"));
        Assert.False(p.IsInSegment("contains"));
        Assert.False(p.IsInSegment("gt"));
        Assert.True(p.IsInSegment("not-gt"));

        // A trait set to null is missing again.
        await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { tier = "vip" }));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("ne"));
        await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        await host.TrackAsync(host.Event("user.updated", [Ann], traits: new Dictionary<string, object?> { ["tier"] = null }));
        p = await host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("ne"));
        Assert.True(p.IsInSegment("not-in"));
    }

    [Fact]
    public void ANonFiniteOperand_IsRefusedWithItsPath()
    {
        foreach (var value in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            var ex = Assert.ThrowsAny<DefinitionException>(() => Segment.Define("s", "s").Where(r => r.Trait("score").Gt(JsonValue.Create(value))).Build());
            Assert.Contains(ex.Errors, e => e.Path.EndsWith("value", StringComparison.Ordinal) && e.Message.Contains("finite", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ANonFiniteOperand_InAList_NeverBreaksTracking()
    {
        SegmentDefinition? s = null;
        try
        {
            s = Segment.Define("s", "s").Where(r => r.Trait("score").In(JsonValue.Create(1), JsonValue.Create(double.NaN))).Build();
        }
        catch (DefinitionException ex)
        {
            Assert.Contains(ex.Errors, e => e.Path.EndsWith("value[1]", StringComparison.Ordinal));
            return; // refused up front, with the path
        }

        await using var host = Host(s);
        var r = await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { score = 1 }));
        Assert.Equal(TrackStatus.Accepted, r.Status);
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("s"));
    }

    [Fact]
    public async Task DatesWithAndWithoutOffsets_CompareAsInstants()
    {
        var recent = Json("""{"id": "recent", "name": "x", "rule": {"trait": "last_visit", "op": "withinLast", "value": "PT6H"}}""");
        var after = Json("""{"id": "after", "name": "x", "rule": {"trait": "last_visit", "op": "gte", "value": "2026-01-05T12:00:00Z"}}""");
        await using var host = Host(recent, after);

        // 07:30 in New York is 12:30 UTC; the clock is 2026-01-05 09:00 UTC: a future date is not "within the last".
        await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { last_visit = "2026-01-05T07:30:00-05:00" }));
        var p = await host.ProfileAsync(Ann);
        Assert.False(p.IsInSegment("recent"));
        Assert.True(p.IsInSegment("after"));
        await host.AdvanceToAsync(new DateTimeOffset(2026, 1, 5, 12, 30, 0, TimeSpan.Zero));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("recent"));
        await host.AdvanceToAsync(new DateTimeOffset(2026, 1, 5, 18, 30, 0, TimeSpan.Zero));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("recent"));
    }

    [Fact]
    public async Task ASegmentOfASegment_EntersAndLeavesInTheSameEvent()
    {
        var vip = Json("""{"id": "vip", "name": "VIP", "rule": {"trait": "tier", "op": "eq", "value": "vip"}}""");
        var notVip = Json("""{"id": "not-vip", "name": "Not VIP", "rule": {"not": {"segment": "vip"}}}""");
        var vipNotVip = Json("""{"id": "outer", "name": "Outer", "rule": {"any": [{"segment": "not-vip"}, {"trait": "tier", "op": "eq", "value": "gold"}]}}""");
        await using var host = Host(vipNotVip, notVip, vip);
        await host.TrackAsync("page.viewed", [Ann]);
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("outer"));
        var r = await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { tier = "vip" }));
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "vip" && c.Entered);
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "not-vip" && !c.Entered);
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "outer" && !c.Entered);
    }

    [Fact]
    public void ACycleOfSegments_IsRefusedWithItsPath()
    {
        var r = SegmentJson.ParseMany("""
            [{"id": "a", "name": "a", "rule": {"segment": "b"}},
             {"id": "b", "name": "b", "rule": {"all": [{"segment": "c"}]}},
             {"id": "c", "name": "c", "rule": {"not": {"segment": "a"}}}]
            """);
        Assert.False(r.IsValid);
        Assert.Contains(r.Errors, e => e.Message.Contains("a", StringComparison.Ordinal) && e.Message.Contains("c", StringComparison.Ordinal));
    }
}
