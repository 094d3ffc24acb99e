using System.Globalization;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Review of session 59's audits U95, U96 and the capped-list write (rv59).</summary>
public sealed class ReviewRv59Tests
{
    private static string Line(string run, string prefix) =>
        string.Join("\n", run.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)));

    /// <summary>
    /// An order placed at 07:50 (150, before her cart at 08:00) and updated at 08:10 (still 150), both on her cookie's
    /// profile: in time order the update meets no goal of the cart's entry ("an order of 100 or more"): an order's outcome
    /// time is its first report's (U24), before the start. U95 keeps the order's goal record at that first time; after the
    /// login the entry is not converted by it either, in either arrival order.
    /// </summary>
    [Fact]
    public async Task AnUpdateOfAnOrderPlacedBeforeTheCart_OnTheOtherProfile_ConvertsNoGoal_AsInTimeOrder()
    {
        U95Report[] reports = [new(0, 2, -10, 0), new(1, 2, 10, 0)];
        var byTime = AuditU95Tests.ByTime(reports);
        var expected = await AuditU95Tests.Run(reports, byTime, _ => false);
        Assert.Contains("goal: entered 1 active 0 converted 0", expected, StringComparison.Ordinal);
        foreach (var arrival in new[] { byTime, byTime.Reverse().ToArray() })
        {
            var actual = await AuditU95Tests.Run(reports, arrival, _ => true);
            Assert.Equal(Line(expected, "goal:"), Line(actual, "goal:"));
        }
    }

    private static readonly Identifier Who = Identifier.CustomerId("rv59");
    private static readonly Identifier Ann = Identifier.Email("rv59@example.com");
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(1); // 08:00

    private static CustomerEvent Order(string id, int minute, object properties) => new()
    {
        Id = id,
        Type = EventTypes.OrderPlaced,
        Timestamp = Start + TimeSpan.FromMinutes(minute),
        Identifiers = [Who],
        Channel = ChannelNames.Web,
        Properties = JsonData.From(properties),
    };

    /// <summary>
    /// Two entries of a journey whose goal is any order within 15 minutes (08:00 and 08:12). o0 is placed at 08:09 and
    /// corrected at 08:22; an order naming no order_id comes at 08:30. In time order the 08:09 report converts the 08:00
    /// entry, the correction is an update and the 08:30 order is past both windows: one conversion. With the correction
    /// first it converts the 08:12 entry (its goal record credited); the order without an id then replaced o0's goal record
    /// (the latest-per-key rule of other goal events reached an order's record), so o0's late first report, no longer known
    /// as credited, converted the 08:00 entry too.
    /// </summary>
    [Fact]
    public async Task AnOrderWithoutAnId_DoesNotHideAnOrdersCreditedGoalRecord()
    {
        var journey = JourneyRig.Parse(AuditU95Tests.TwoEntriesOneGoal);
        async Task<(long Entered, long Converted)> RunTwo(params int[] arrival)
        {
            await using var rig = JourneyRig.Create([journey], start: Start);
            await rig.TrackAsync("user.signed_up", [Who, Ann]);
            await rig.TrackAsync(EventTypes.CartItemAdded, [Who], new { product_id = "p1" });
            await rig.AdvanceAsync(TimeSpan.FromMinutes(12));
            await rig.TrackAsync(EventTypes.CartItemAdded, [Who], new { product_id = "p2" });
            await rig.AdvanceAsync(TimeSpan.FromMinutes(23)); // 08:35
            CustomerEvent[] reports =
            [
                Order("o0-first", 9, new { order_id = "o0", total = 150, currency = "EUR" }),
                Order("o0-fixed", 22, new { order_id = "o0", total = 50, currency = "EUR" }),
                Order("no-id", 30, new { total = 30, currency = "EUR" }),
            ];
            foreach (var i in arrival)
            {
                Assert.True((await rig.Host.TrackAsync(reports[i])).IsAcknowledged);
            }

            await rig.AdvanceAsync(TimeSpan.FromHours(4));
            var s = await rig.Engine.GetJourneyStatisticsAsync("two");
            return (s.Entered, s.Converted);
        }

        Assert.Equal((2L, 1L), await RunTwo(0, 1, 2));
        Assert.Equal((2L, 1L), await RunTwo(1, 2, 0));
    }

    /// <summary>
    /// The stored document keeps what U95 and U96 added: the earliest return's headline currency and the order that
    /// started a journey's last entry (a reload between an order's later report and its late first one keeps the guard).
    /// </summary>
    [Fact]
    public async Task TheReturnHeadlineAndAnEntrysOrder_SurviveTheStoredDocument()
    {
        var journey = JourneyRig.Parse("""
            {"id": "trig", "version": 1, "name": "x", "trigger": {"type": "event", "event": "order.placed"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "trig", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], start: Start);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        Assert.True((await rig.Host.TrackAsync(new CustomerEvent
        {
            Id = "r1",
            Type = EventTypes.OrderReturned,
            Timestamp = Start + TimeSpan.FromMinutes(1),
            Identifiers = [Who],
            Channel = ChannelNames.Web,
            Properties = JsonData.From(new { order_id = "C1", total = 5m, currency = "GBP" }),
        })).IsAcknowledged);
        Assert.True((await rig.Host.TrackAsync(Order("o7-fixed", 20, new { order_id = 7, total = 40 }))).IsAcknowledged);

        var bytes = ProfileSerializer.Serialize(await rig.Host.ProfileAsync(Who));
        var loaded = ProfileSerializer.Deserialize(bytes, 1);
        Assert.Equal("GBP", loaded.Statistics.ReturnHeadlineCurrency);
        Assert.Equal(("GBP", 5m), (loaded.Statistics.Currency, loaded.Statistics.ReturnValue));
        Assert.Equal("7", Assert.Single(loaded.JourneyData!.Entries).OrderId);
    }

    private static async Task<string> Measured(U95Report[] reports, int[] arrival, Func<int, Identifier> side, Identifier[] logins)
    {
        await using var rig = JourneyRig.Create(AuditU95Tests.Journeys(), configure: AuditU95Tests.Configure, start: Start);
        await rig.TrackAsync("user.signed_up", [Who, Ann]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Who], new { product_id = "p1", price = 10 });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(45));
        foreach (var i in arrival)
        {
            Assert.True((await rig.Host.TrackAsync(AuditU95Tests.Build(reports[i], i, side(i)))).IsAcknowledged);
            await rig.Engine.RunDispatchAsync();
        }

        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        foreach (var other in logins)
        {
            await rig.TrackAsync("user.logged_in", [Who, other]);
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(5));
        var text = new System.Text.StringBuilder();
        var rows = new List<MeasurementRow>();
        foreach (var prefix in (string[])["conversion:", "credit:", "revenue:"])
        {
            rows.AddRange(await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = prefix }));
        }

        foreach (var g in rows.GroupBy(r => r.Key.Metric).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"{g.Key}: {g.Sum(r => r.Count)} {g.Sum(r => r.Sum):0.##}\n");
        }

        return text.ToString();
    }

    /// <summary>
    /// One order's three reports (50, 120, 150 at 08:10, 08:20, 08:30) on three profiles of hers, merged into her customer
    /// id's in either order: the measured conversions (order, "big" of 100 or more) are the time-order run's on one profile.
    /// </summary>
    [Theory]
    [InlineData(0, 1, 2)]
    [InlineData(2, 1, 0)]
    [InlineData(1, 0, 2)]
    [InlineData(1, 2, 0)]
    [InlineData(2, 0, 1)]
    public async Task AnOrdersReportsOnThreeProfiles_MergedInEitherOrder_MeasureAsOneInTimeOrder(int a, int b, int c)
    {
        var c1 = Identifier.AnonymousId("rv59-c1");
        var c2 = Identifier.AnonymousId("rv59-c2");
        U95Report[] reports = [new(0, 0, 10, 0), new(1, 4, 20, 0), new(2, 2, 30, 0), new(4, 0, 35, 0)];
        int[] byTime = [0, 1, 2, 3];
        var expected = await Measured(reports, byTime, _ => Who, []);
        Identifier[] sides = [Who, c1, c2];
        Func<int, Identifier> side = i => i == 3 ? Who : sides[new[] { a, b, c }[i]];
        foreach (var logins in new[] { new[] { c1, c2 }, [c2, c1] })
        {
            foreach (var arrival in new[] { byTime, [a, b, c, 3], [3, c, b, a] })
            {
                Assert.Equal(expected, await Measured(reports, arrival, side, logins));
            }
        }
    }
}
