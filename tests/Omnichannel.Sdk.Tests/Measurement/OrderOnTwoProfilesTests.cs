using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>
/// One checkout tracked twice under two identifiers (the browser with its cookie, the shop's server with the customer
/// id) converts once when the two profiles meet: the later conversion, and the credit it gave, are taken back.
/// </summary>
public sealed class OrderOnTwoProfilesTests
{
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");
    private static readonly Identifier Known = Identifier.CustomerId("c-1");

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the server's copy arrives first
    public async Task OneOrderTrackedOnTwoProfiles_ConvertsOnce_WhenTheyMerge(bool serverFirst)
    {
        await using var host = OmnichannelTestHost.Create();
        var t = host.Time.GetUtcNow().AddMinutes(-30);
        await host.TrackAsync(EventTypes.MessageSent, [Cookie], new { channel = "email", message_id = "m1", template_id = "promo" }, at: t);
        await host.TrackAsync(EventTypes.MessageClicked, [Cookie], new { channel = "email", message_id = "m1" }, at: t.AddMinutes(1));
        var browser = host.Event(EventTypes.OrderPlaced, [Cookie], new { order_id = "o-1", total = 100 }, at: t.AddMinutes(10));
        var server = host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o-1", total = 100 }, at: t.AddMinutes(11));
        foreach (var e in serverFirst ? new[] { server, browser } : [browser, server])
        {
            await host.TrackAsync(e);
        }

        Assert.Equal(2, await Conversions(host)); // two profiles, each converted it
        await host.TrackAsync("user.logged_in", [Cookie, Known]);

        Assert.Equal(1, (await host.ProfileAsync(Known)).Statistics.OrderCount);
        Assert.Equal(1, await Conversions(host));
        var revenue = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Revenue("order", AttributionModel.LastTouch) });
        Assert.Equal(100, revenue.Sum(r => r.Sum), 6); // the browser's conversion, credited to the click, is the one kept
        var credit = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Credit("order", AttributionModel.LastTouch) });
        Assert.Equal(1, credit.Sum(r => r.Sum), 6);
    }

    [Fact]
    public async Task TwoDifferentOrders_StillConvertTwice_AfterTheMerge()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.OrderPlaced, [Cookie], new { order_id = "o-1", total = 100 });
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o-2", total = 50 });
        await host.TrackAsync("user.logged_in", [Cookie, Known]);

        Assert.Equal(2, await Conversions(host));
    }

    private static async Task<long> Conversions(OmnichannelTestHost host) =>
        (await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") })).Sum(r => r.Count);
}
