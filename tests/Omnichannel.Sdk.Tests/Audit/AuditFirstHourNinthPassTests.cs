using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// First hour, ninth pass (forty-first session): a measurement report built without a clock counts the days of the
/// engine's own clock (a test host's fake clock), not the machine's date, so a test's report is not silently empty.
/// </summary>
public sealed class AuditFirstHourNinthPassTests
{
    // 20:30 on Wednesday 1 April 2031 in New York (EDT): Thursday in UTC, and years from any machine's date.
    private static readonly DateTimeOffset WednesdayEvening = new(2031, 4, 2, 0, 30, 0, TimeSpan.Zero);
    private static readonly DateOnly Wednesday = new(2031, 4, 1);

    [Fact]
    public async Task AReportWithoutAClock_OnTheTestHost_EndsOnTheFakeClocksDay_AndHoldsItsOrders()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Measurement.TimeZone = "America/New_York", start: WednesdayEvening);
        await host.TrackAsync(EventTypes.OrderPlaced, [Identifier.CustomerId("ann")], new { order_id = "o1", total = 40 });

        var report = await MeasurementReport.BuildAsync(host.Engine);

        Assert.Equal(Wednesday, report.To);
        Assert.Equal(Wednesday.AddDays(-30), report.From);
        Assert.Equal(1, report.Conversions);
        Assert.Equal(40, report.ConversionRevenue, 9);
    }

    [Fact]
    public async Task AReportWithoutAClock_OnAnEngineBuiltByHand_UsesTheEnginesTimeProvider()
    {
        var clock = new FakeTimeProvider(WednesdayEvening);
        var options = new OmnichannelOptions();
        options.Measurement.TimeZone = "America/New_York";
        await using var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), clock);
        var result = await engine.TrackAsync(new CustomerEvent
        {
            Id = "o1",
            Type = EventTypes.OrderPlaced,
            Timestamp = clock.GetUtcNow(),
            Identifiers = [Identifier.CustomerId("ann")],
            Properties = JsonData.From(new { order_id = "o1", total = 40 }),
        });
        Assert.Equal(TrackStatus.Accepted, result.Status);

        var report = await MeasurementReport.BuildAsync(engine);

        Assert.Equal(Wednesday, report.To);
        Assert.Equal(1, report.Conversions);
    }

    [Fact]
    public async Task AClockGivenToTheReport_StillDecidesItsDefaultDay()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Measurement.TimeZone = "America/New_York", start: WednesdayEvening);
        var later = new FakeTimeProvider(WednesdayEvening.AddDays(40));

        var report = await MeasurementReport.BuildAsync(host.Engine, time: later);

        Assert.Equal(Wednesday.AddDays(40), report.To);
    }

    [Theory]
    [InlineData("UTC", "2031-04-02")]
    [InlineData("America/New_York", "2031-04-01")]
    [InlineData("Asia/Tokyo", "2031-04-02")]
    public void DayOf_IsTheShopsDayOfAnInstant(string zone, string expected)
    {
        var options = new MeasurementOptions { TimeZone = zone };
        Assert.Equal(DateOnly.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), options.DayOf(WednesdayEvening));
    }

    /// <summary>An order tracked without an <c>order_id</c> (a tracking call's "Order Completed" may send none) reads
    /// "order, 10 EUR" on her timeline, not "order , 10 EUR".</summary>
    [Theory]
    [InlineData("{\"total\": 10, \"currency\": \"EUR\"}", "order, 10 EUR")]
    [InlineData("{\"order_id\": \"\", \"total\": 10, \"currency\": \"EUR\"}", "order, 10 EUR")]
    [InlineData("{\"total\": 10}", "order, 10")]
    [InlineData("{\"order_id\": \"o1\", \"total\": 10, \"currency\": \"EUR\"}", "order o1, 10 EUR")]
    [InlineData("{\"order_id\": \"o1\"}", "order o1")]
    public async Task AnOrderWithoutAnId_IsSummarisedWithoutAStraySpace(string properties, string expected)
    {
        await using var host = OmnichannelTestHost.Create();
        var ann = Identifier.CustomerId("ann");
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [ann], JsonData.Parse(properties)));

        var profile = await host.ProfileAsync(ann);

        Assert.Equal(expected, Assert.Single(profile.Timeline, t => t.Type == EventTypes.OrderPlaced).Summary);
    }
}
