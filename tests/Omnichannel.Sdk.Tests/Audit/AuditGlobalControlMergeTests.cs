using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit: the global control group's per-person converters and revenue across a profile merge.</summary>
public sealed class AuditGlobalControlMergeTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OnePersonWhoOrderedBeforeAndAfterAMerge_IsOneConverter_WithHerWholeRevenue(bool knownProfileFirst)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Measurement.GlobalControlShare = 0.5);
        var ann = Identifier.CustomerId("ann");
        var anon = Identifier.AnonymousId("browser-1");
        if (knownProfileFirst)
        {
            await host.TrackAsync("user.signed_up", [ann]);
            await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        }

        // As a guest she orders, then logs in (the two profiles merge), then orders again.
        await host.TrackAsync(EventTypes.OrderPlaced, [anon], new { order_id = "o1", total = 50, currency = "GBP" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        if (!knownProfileFirst)
        {
            await host.TrackAsync("user.signed_up", [ann]);
            await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        }

        await host.TrackAsync("user.logged_in", [ann, anon]);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.OrderPlaced, [ann], new { order_id = "o2", total = 30, currency = "GBP" });
        Assert.Equal(2, (await host.ProfileAsync(ann)).Statistics.OrderCount);

        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "$global", MetricPrefix = "global:" });
        long Count(string metric) => rows.Where(r => r.Key.Metric == metric).Sum(r => r.Count);
        double Sum(string metric) => rows.Where(r => r.Key.Metric == metric).Sum(r => r.Sum);

        Assert.Equal(1, Count("global:assigned"));              // one person
        Assert.Equal(1, Count("global:converted:order"));       // who converted: once
        Assert.Equal(80.0, Sum("global:converted:order"), 9);   // for 80 in all
        Assert.Equal(6400.0, Sum("global:revenue_sq:order"), 9); // her revenue squared, for the revenue variance
    }
}
