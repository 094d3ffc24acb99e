using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit MR: the divergences the reference-model property (<see cref="AuditMeasurementReferenceProperties"/>) found,
/// shrunk to examples.
/// </summary>
public sealed class AuditMRMeasurementTests
{
    private static readonly Identifier Her = Identifier.CustomerId("c-mr");

    // 2026-01-04 23:55 and 2026-01-05 00:05 UTC: one order, two UTC days.
    private static readonly DateTimeOffset Placed = new(2026, 1, 4, 23, 55, 0, TimeSpan.Zero);

    [Fact]
    public async Task AnOrdersOriginalArrivingAfterItsUpdate_ConvertsAtItsOwnInstant_NoTouchAfterItIsCredited()
    {
        await using var host = OmnichannelTestHost.Create();
        var message = new { message_id = "m-1", channel = "email", journey_id = "j" };

        // The update (10 minutes later, a new total) reaches us first, then an open between the two, then the original.
        await host.TrackAsync(EventTypes.OrderPlaced, [Her], new { order_id = "o-1", total = 35 }, at: Placed.AddMinutes(10));
        await host.TrackAsync(EventTypes.MessageOpened, [Her], message, at: Placed.AddMinutes(5));
        await host.TrackAsync(EventTypes.OrderPlaced, [Her], new { order_id = "o-1", total = 20 }, at: Placed);

        var conversions = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        var row = Assert.Single(conversions, r => r.Count != 0);
        Assert.Equal(DateOnly.FromDateTime(Placed.UtcDateTime), row.Key.Day); // the day she placed it
        Assert.Equal(1, row.Count);
        Assert.Equal(35, row.Sum, 9); // the newest total stands
        foreach (var model in Enum.GetValues<AttributionModel>())
        {
            var credit = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Credit("order", model) });
            Assert.Equal(0, credit.Sum(r => r.Sum), 9); // the open came after she ordered
            Assert.Equal(0, credit.Sum(r => r.Count));
        }
    }

    [Fact]
    public async Task AnOrdersOriginalArrivingAfterItsUpdate_IsCreditedToTheTouchesBeforeIt()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.MessageClicked, [Her], new { message_id = "m-1", channel = "email", journey_id = "j" }, at: Placed.AddMinutes(-30));
        await host.TrackAsync(EventTypes.OrderPlaced, [Her], new { order_id = "o-1", total = 35 }, at: Placed.AddMinutes(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Her], new { order_id = "o-1", total = 20 }, at: Placed);

        foreach (var model in Enum.GetValues<AttributionModel>())
        {
            var revenue = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Revenue("order", model) });
            var row = Assert.Single(revenue, r => r.Count != 0);
            Assert.Equal(("j", DateOnly.FromDateTime(Placed.UtcDateTime), 1L), (row.Key.JourneyId, row.Key.Day, row.Count));
            Assert.Equal(35, row.Sum, 9);
        }
    }

    [Theory]
    [InlineData(EventTypes.MessageSent, "sent")]
    [InlineData(EventTypes.MessageClicked, "clicked")]
    [InlineData(EventTypes.MessageBounced, "bounced")]
    public async Task AnOutcomesEarlierCopyArrivingLate_CountsOnceOnTheDayOfItsEarliestInstant(string type, string metric)
    {
        await using var host = OmnichannelTestHost.Create();
        var message = new { message_id = "m-1", channel = "email", journey_id = "j" };
        await host.TrackAsync(type, [Her], message, at: Placed.AddMinutes(10)); // a retry stamped after midnight, first
        await host.TrackAsync(type, [Her], message, at: Placed);                // the first attempt, late

        var rows = (await host.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "j", MetricPrefix = metric }))
            .Where(r => r.Key.Metric == metric && r.Count != 0).ToList();
        var row = Assert.Single(rows);
        Assert.Equal((DateOnly.FromDateTime(Placed.UtcDateTime), 1L), (row.Key.Day, row.Count));
    }
}
