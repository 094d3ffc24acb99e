using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>
/// The global control group counts people: when two profiles of one person merge, she is one recipient, one converter
/// at most, and her revenue (and its square, for Welch's test) is that of the whole person, in the group she was assigned
/// first (audit U85; at one instant, control), whichever profile survives.
/// </summary>
public sealed class GlobalGroupMergeTests
{
    [Theory]
    [InlineData(0.5)]
    [InlineData(0.25)]
    [InlineData(0.001)] // both in treatment
    public async Task TwoProfilesThatConverted_MergeIntoOneConverter_WithHerWholeRevenue(double share)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Measurement.GlobalControlShare = share);
        var known = Identifier.CustomerId("c-1");
        var guest = Identifier.AnonymousId("guest-1");
        await host.TrackAsync(EventTypes.OrderPlaced, [known], new { order_id = "o1", total = 30 });
        await host.TrackAsync(EventTypes.OrderPlaced, [guest], new { order_id = "o2", total = 20 }); // a guest checkout
        var (knownId, guestId) = ((await host.ProfileAsync(known)).Id, (await host.ProfileAsync(guest)).Id);
        await host.TrackAsync("user.logged_in", [known, guest]);

        var verdict = await host.Engine.GetGlobalControlVerdictAsync();
        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "$global", MetricPrefix = "global:" });
        // Both profiles joined at the same instant: control if either did.
        var group = MeasurementRecorder.InGlobalControl(knownId, share) || MeasurementRecorder.InGlobalControl(guestId, share) ? "control" : "treatment";
        Assert.Equal(group, (await host.ProfileAsync(known)).MeasurementGroup);

        Assert.Equal(1, rows.Where(r => r.Key.Metric == "global:assigned").Sum(r => r.Count));
        Assert.Equal(1, rows.Where(r => r.Key.Metric == "global:converted:order").Sum(r => r.Count));
        Assert.Equal(50, rows.Where(r => r.Key.Metric == "global:converted:order").Sum(r => r.Sum), 9);
        Assert.Equal(2500, rows.Where(r => r.Key.Metric == "global:revenue_sq:order").Sum(r => r.Sum), 9);
        // Audit U86: the people whose profiles were in both groups are a row of their own, under no group.
        Assert.All(rows.Where(r => r.Key.Variant != group && r.Key.Metric != "global:both"), r => Assert.Equal((0L, 0.0), (r.Count, Math.Round(r.Sum, 9))));
        Assert.Equal(MeasurementRecorder.InGlobalControl(knownId, share) != MeasurementRecorder.InGlobalControl(guestId, share) ? 1 : 0, rows.Where(r => r.Key.Metric == "global:both").Sum(r => r.Count));
        Assert.Null(verdict); // one person: the other group is empty
    }

    [Theory]
    [InlineData(0.5, true)]
    [InlineData(0.5, false)]
    [InlineData(0.001, true)]
    [InlineData(0.001, false)]
    public async Task OneOrderTrackedOnBothProfiles_IsHerRevenueOnce_AfterTheMerge(double share, bool serverFirst)
    {
        // The browser and the server both track the checkout, under a cookie and under her customer id.
        await using var host = OmnichannelTestHost.Create(o => o.Measurement.GlobalControlShare = share);
        var known = Identifier.CustomerId("c-1");
        var guest = Identifier.AnonymousId("guest-1");
        await host.TrackAsync(EventTypes.OrderPlaced, [known], new { order_id = "o0", total = 5 }); // an earlier order of hers
        var at = host.Time.GetUtcNow();
        var server = host.Event(EventTypes.OrderPlaced, [known], new { order_id = "o1", total = 30 }, at: at);
        var browser = host.Event(EventTypes.OrderPlaced, [guest], new { order_id = "o1", total = 30 }, at: at.AddSeconds(1));
        foreach (var e in serverFirst ? new[] { server, browser } : [browser, server])
        {
            await host.TrackAsync(e);
        }

        await host.TrackAsync("user.logged_in", [known, guest]);

        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "$global", MetricPrefix = "global:" });
        Assert.Equal(1, rows.Where(r => r.Key.Metric == "global:converted:order").Sum(r => r.Count));
        Assert.Equal(35, rows.Where(r => r.Key.Metric == "global:converted:order").Sum(r => r.Sum), 9);
        Assert.Equal(35 * 35, rows.Where(r => r.Key.Metric == "global:revenue_sq:order").Sum(r => r.Sum), 9);
    }
}
