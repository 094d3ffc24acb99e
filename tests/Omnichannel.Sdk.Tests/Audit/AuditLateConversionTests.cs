using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit: an order uploaded a few days late (a store's nightly import) is attributed by its event time.</summary>
public sealed class AuditLateConversionTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    [Fact]
    public async Task AnOrderUploadedThreeDaysLate_IsCreditedToTheClickSixDaysBeforeIt()
    {
        await using var host = OmnichannelTestHost.Create();
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.MessageSent, [Ann], new { message_id = "m1", channel = "email", journey_id = "news" });
        await host.TrackAsync(EventTypes.MessageClicked, [Ann], new { message_id = "m1" });

        // She keeps browsing; the in-store order of day 6 arrives with the import on day 9.
        await host.AdvanceAsync(TimeSpan.FromDays(8.5));
        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" });
        await host.AdvanceAsync(TimeSpan.FromDays(0.5));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 50 }, at: t0.AddDays(6));

        var credit = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Credit("order", AttributionModel.LastTouch) });
        Assert.Equal(1.0, credit.Where(r => r.Key.JourneyId == "news").Sum(r => r.Sum), 9); // clicked 6 days before: inside the 7-day click window
    }
}
