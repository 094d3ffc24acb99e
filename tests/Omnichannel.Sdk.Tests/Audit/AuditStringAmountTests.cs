using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit: an order total sent as a numeric string ("19.99", as some shop platforms send money) is accepted and
/// counted by the profile; measurement and segments must read the same amount.</summary>
public sealed class AuditStringAmountTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    [Fact]
    public async Task ConversionRevenue_ReadsATotalSentAsANumericString_AsTheProfileDoes()
    {
        await using var host = OmnichannelTestHost.Create();
        var result = await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = "19.99", currency = "GBP" });
        Assert.Equal(19.99m, (await host.ProfileAsync(Ann)).Statistics.TotalSpent); // accepted, and counted by the profile

        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        Assert.Equal(1, rows.Sum(r => r.Count));
        Assert.Equal(19.99, rows.Sum(r => r.Sum), 9);
    }

    [Fact]
    public async Task ASumSegment_ReadsATotalSentAsANumericString_AsTheProfileDoes()
    {
        var big = SegmentJson.Parse("""{"id": "big", "name": "Spent 10 in 30 days", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 10, "within": "P30D"}}""").Value!;
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(big));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = "19.99", currency = "GBP" });

        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(19.99m, ann.Statistics.TotalSpent);
        Assert.True(ann.IsInSegment("big"), "an order of 19.99 in the last 30 days");
    }
}
