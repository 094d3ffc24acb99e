using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit: segment rules over orders sent again with their order_id.</summary>
public sealed class AuditSegmentTests
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
    public async Task AnOrderSentAgainWithItsOrderId_IsOneOrder_ForEventCountRules()
    {
        var twice = Json("""{"id": "two-orders", "name": "Two orders in 30 days", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 2}, "within": "P30D"}}""");
        await using var host = Host(twice);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "GBP" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        // The client retries (new event id) or the shop updates the order: the same order_id.
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "GBP" });

        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(1, ann.Statistics.OrderCount);
        Assert.False(ann.IsInSegment("two-orders"), "one order, counted twice by the segment");
    }

    [Fact]
    public async Task AnOrderSentAgainWithItsOrderId_IsOneOrder_ForSumRules()
    {
        var big = Json("""{"id": "big", "name": "Spent 150 in 30 days", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 150, "within": "P30D"}}""");
        await using var host = Host(big);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "GBP" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "GBP" });

        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(100m, ann.Statistics.TotalSpent);
        Assert.False(ann.IsInSegment("big"), "one order of 100, summed twice by the segment");
    }
}
