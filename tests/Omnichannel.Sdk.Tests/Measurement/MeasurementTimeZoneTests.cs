using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>
/// The days aggregates and reports count in: <see cref="MeasurementOptions.TimeZone"/>, UTC by default. A New York shop's
/// evening message and order (after 20:00 EDT, the next day in UTC) belong to its own day (reports by UTC day were noted
/// as left alone in U53; analytics tools' "project time zone" reports, e.g. PostHog and Mixpanel, are the same idea).
/// </summary>
public sealed class MeasurementTimeZoneTests
{
    // 21:30 on Wednesday 1 April 2026 in New York (EDT, UTC-4): already Thursday 2 April in UTC.
    private static readonly DateTimeOffset Evening = new(2026, 4, 2, 1, 30, 0, TimeSpan.Zero);
    private static readonly DateOnly Wednesday = new(2026, 4, 1);
    private static readonly DateOnly Thursday = new(2026, 4, 2);

    private static JourneyRig Welcome(string? zone) => JourneyRig.Create(
        [JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "welcome-mail", "class": "transactional"}]}
            """)],
        configure: zone is null ? null : o => o.Measurement.TimeZone = zone,
        start: Evening);

    private static async Task<JourneyRig> EveningWithAnOrderAsync(string? zone)
    {
        var rig = Welcome(zone);
        var ann = Identifier.CustomerId("ann");
        await rig.TrackAsync("user.signed_up", [ann, Identifier.Email("ann@example.com")]);
        var message = Assert.Single(rig.Recorder.Messages);
        await rig.TrackAsync(EventTypes.MessageClicked, [ann], new { message_id = message.MessageId });
        await rig.AdvanceAsync(TimeSpan.FromHours(2)); // 23:30 EDT, 03:30 UTC on Thursday
        await rig.TrackAsync(EventTypes.OrderPlaced, [ann], new { order_id = "o1", total = 40 });
        return rig;
    }

    [Theory]
    [InlineData(null, "2026-04-02")]
    [InlineData("UTC", "2026-04-02")]
    [InlineData("America/New_York", "2026-04-01")]
    [InlineData("Asia/Tokyo", "2026-04-02")] // 10:30 and 12:30 on Thursday there
    public async Task EveryRow_CountsOnTheDayOfTheShopsZone(string? zone, string expected)
    {
        await using var rig = await EveningWithAnOrderAsync(zone);
        var rows = await rig.Engine.GetMeasurementsAsync(new MeasurementQuery());

        Assert.NotEmpty(rows);
        Assert.Contains(rows, r => r.Key.Metric == MeasurementMetrics.Sent);
        Assert.Contains(rows, r => r.Key.Metric == "conversion:order");
        Assert.Contains(rows, r => r.Key.Metric.StartsWith("credit:order:", StringComparison.Ordinal));
        Assert.All(rows.Where(r => r.Key.Day != new DateOnly(1970, 1, 1)), // the epoch rows hold no day
            r => Assert.Equal(DateOnly.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), r.Key.Day));
    }

    [Fact]
    public async Task AReportOfTheShopsWednesday_HoldsItsEveningOrder_AndItsDefaultDayIsTheShopsToday()
    {
        await using var rig = await EveningWithAnOrderAsync("America/New_York");

        var wednesday = await MeasurementReport.BuildAsync(rig.Engine, new MeasurementReportOptions { From = Wednesday, To = Wednesday });
        Assert.Equal(1, wednesday.Conversions);
        Assert.Equal(40, wednesday.ConversionRevenue, 9);
        Assert.Equal(1, Assert.Single(wednesday.Journeys).Touches.Sent);
        Assert.Equal(1, Assert.Single(wednesday.Journeys).Touches.Conversions, 9);
        Assert.Equal([Wednesday], wednesday.ChannelDays.Select(d => d.Day).Distinct());

        var thursday = await MeasurementReport.BuildAsync(rig.Engine, new MeasurementReportOptions { From = Thursday, To = Thursday });
        Assert.Equal(0, thursday.Conversions);

        // 03:30 UTC on Thursday is still Wednesday in New York: the default period ends on the shop's today.
        var byDefault = await MeasurementReport.BuildAsync(rig.Engine, time: rig.Host.Time);
        Assert.Equal(Wednesday, byDefault.To);
        Assert.Equal(1, byDefault.Conversions);
    }

    [Fact]
    public async Task ALateRefundOrOutcome_IsCountedOnTheSameZonedDayAsItsOrder()
    {
        await using var rig = await EveningWithAnOrderAsync("America/New_York");
        var ann = Identifier.CustomerId("ann");

        // A full return the next evening removes the revenue on the day the order counted, not on a UTC day beside it.
        await rig.AdvanceAsync(TimeSpan.FromHours(20));
        await rig.TrackAsync(EventTypes.OrderReturned, [ann], new { order_id = "o1", total = 40, return_id = "r1" });

        var rows = await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = "conversion:order" });
        Assert.All(rows, r => Assert.Equal(Wednesday, r.Key.Day));
        Assert.Equal(0, rows.Sum(r => r.Sum), 9);
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("")]
    public void AnUnknownZone_IsRefusedNamingTheField(string zone)
    {
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => Omnichannel.Sdk.Testing.OmnichannelTestHost.Create(o => o.Measurement.TimeZone = zone));
        Assert.Contains("Measurement.TimeZone", ex.Message);
    }

    private static readonly string[] Zones = ["UTC", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Honolulu", "Europe/London"];

    /// <summary>
    /// Orders around a local midnight (one shop zone of seven, offsets of 45 minutes and half hours among them), some sent
    /// again with a new total, arriving in any order: every conversion row is on its order's own local day, and the rows
    /// are the same whatever the arrival order.
    /// </summary>
    [Property(MaxTest = 40)]
    public void ConversionRows_AreOnEachOrdersLocalDay_InAnyArrivalOrder(NonNegativeInt zoneIndex, int[] minutes, int seed)
    {
        var zone = Zones[zoneIndex.Get % Zones.Length];
        var offsets = minutes.Take(5).Select(m => ((m % 360) + 360) % 360 - 180).DefaultIfEmpty(-1).ToArray(); // within 3 hours of midnight
        Run(zone, offsets, seed).GetAwaiter().GetResult();
    }

    /// <summary>An order placed a minute before the shop's midnight and sent again after it stays on the first day.</summary>
    [Theory]
    [InlineData("America/New_York", 1)]
    [InlineData("Asia/Kathmandu", 7)]
    [InlineData("Pacific/Chatham", 3)]
    public Task AnOrderSentAgainAcrossTheLocalMidnight_StaysOnItsFirstDay(string zone, int seed) => Run(zone, [30, -1, -90, -1], seed);

    private static async Task Run(string zoneId, int[] offsets, int seed)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
        var midnight = new DateTimeOffset(2026, 10, 15, 0, 0, 0, zone.GetUtcOffset(new DateTime(2026, 10, 15))).ToUniversalTime();
        var ann = Identifier.CustomerId("ann");
        foreach (var shuffle in new[] { false, true })
        {
            await using var host = OmnichannelTestHost.Create(o => o.Measurement.TimeZone = zoneId, start: midnight.AddHours(4));
            // Order i at its offset; every second one sent again a minute later with a new total.
            var events = offsets.SelectMany((m, i) => i % 2 == 0
                    ? new[] { host.Event(EventTypes.OrderPlaced, [ann], new { order_id = "o" + i, total = 10 + i }, at: midnight.AddMinutes(m)) }
                    : [host.Event(EventTypes.OrderPlaced, [ann], new { order_id = "o" + i, total = 10 + i }, at: midnight.AddMinutes(m)),
                       host.Event(EventTypes.OrderPlaced, [ann], new { order_id = "o" + i, total = 20 + i }, at: midnight.AddMinutes(m + 1))])
                .ToList();
            var random = new Random(seed);
            foreach (var e in shuffle ? events.OrderBy(_ => random.Next()).ToList() : events)
            {
                Assert.True((await host.TrackAsync(e)).IsAcknowledged);
            }

            var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = "conversion:order" });
            var byDay = rows.GroupBy(r => (r.Key.Day, r.Key.Metric)).ToDictionary(g => g.Key, g => (g.Sum(r => r.Count), Math.Round(g.Sum(r => r.Sum), 6)));
            var expected = offsets.Select((m, i) => (Day: DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(midnight.AddMinutes(m), zone).DateTime), Total: i % 2 == 0 ? 10 + i : 20 + i))
                .GroupBy(o => o.Day).ToDictionary(g => (g.Key, "conversion:order"), g => ((long)g.Count(), (double)g.Sum(o => o.Total)));
            Assert.Equal(expected.OrderBy(kv => kv.Key).ToList(), byDay.Where(kv => kv.Value.Item1 != 0 || kv.Value.Item2 != 0).OrderBy(kv => kv.Key).ToList());
        }
    }
}
