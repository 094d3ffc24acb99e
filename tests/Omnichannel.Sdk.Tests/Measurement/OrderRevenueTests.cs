using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>
/// An order's revenue in measurement is what the profile knows of it: its newest total, less its returns, counted once,
/// on the touch (and journey, variant, global group) it was credited to — whatever order the events arrive in.
/// </summary>
public sealed class OrderRevenueTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static async Task<OmnichannelTestHost> ClickedHost(double share = 0)
    {
        var host = OmnichannelTestHost.Create(o => o.Measurement.GlobalControlShare = share);
        var t = host.Time.GetUtcNow().AddHours(-2);
        await host.TrackAsync(EventTypes.MessageSent, [Ann], new { channel = "email", message_id = "m1", template_id = "promo" }, at: t);
        await host.TrackAsync(EventTypes.MessageClicked, [Ann], new { channel = "email", message_id = "m1" }, at: t.AddMinutes(1));
        return host;
    }

    private static async Task<(long Count, double Sum)> Metric(OmnichannelTestHost host, string prefix, string? journey = null)
    {
        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = prefix, JourneyId = journey });
        return (rows.Sum(r => r.Count), rows.Sum(r => r.Sum));
    }

    [Theory]
    [InlineData(false, 30)]
    [InlineData(true, 30)] // the return's webhook came first
    [InlineData(false, 100)] // a full return
    [InlineData(true, 100)]
    public async Task AReturn_TakesItsValueOffTheRevenueCreditedToTheTouch(bool returnFirst, int returned)
    {
        await using var host = await ClickedHost();
        var at = host.Time.GetUtcNow().AddHours(-1);
        var order = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 100 }, at: at);
        var back = host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "o-1", total = returned }, at: at.AddMinutes(30));
        foreach (var e in returnFirst ? new[] { back, order } : [order, back])
        {
            await host.TrackAsync(e);
        }

        foreach (var model in Enum.GetValues<AttributionModel>())
        {
            var credited = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Revenue("order", model) });
            var row = Assert.Single(credited);
            Assert.Equal(("email", "promo"), (row.Key.Channel, row.Key.TemplateId));
            Assert.Equal(100 - returned, row.Sum, 9);
            Assert.Equal(1, row.Count);
        }

        Assert.Equal((1L, 100.0 - returned), await Metric(host, MeasurementMetrics.Conversion("order")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the original arrives after its update
    public async Task AReSentOrder_CountsItsNewestTotal_Once(bool originalLate)
    {
        await using var host = await ClickedHost(share: 0.5);
        var at = host.Time.GetUtcNow().AddHours(-1);
        var original = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 100 }, at: at);
        var update = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 80 }, at: at.AddMinutes(5));
        foreach (var e in originalLate ? new[] { update, original } : [original, update])
        {
            await host.TrackAsync(e);
        }

        Assert.Equal(80, (await host.ProfileAsync(Ann)).Statistics.TotalSpent);
        Assert.Equal((1L, 80.0), await Metric(host, MeasurementMetrics.Revenue("order", AttributionModel.LastTouch)));
        Assert.Equal((1L, 80.0), await Metric(host, MeasurementMetrics.Conversion("order")));
        Assert.Equal((1L, 80.0), await Metric(host, "global:converted:order", "$global"));
        Assert.Equal(6400, (await Metric(host, "global:revenue_sq:order", "$global")).Sum, 9);
    }

    [Fact]
    public async Task AJourneysAndItsVariantsRevenue_FollowTheOrdersUpdateAndReturn()
    {
        await using var rig = JourneyRig.Create(
            [JourneyRig.Parse("""
                {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
                 "goal": {"event": "order.placed", "within": "P30D"},
                 "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "hello"}]},
                           {"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
                """)]);
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 50 });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 40 }); // the shop's update
        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        await rig.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o-1", total = 10 });

        async Task<double> Sum(string metric) =>
            (await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "welcome", MetricPrefix = metric })).Where(r => r.Key.Metric == metric).Sum(r => r.Sum);
        Assert.Equal(30, await Sum("journey:revenue"), 9);
        Assert.Equal(30, await Sum("journey:variant:a:revenue"), 9);
        Assert.Equal(900, await Sum("journey:variant:a:revenue_sq"), 9);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AReturnKnownOnTwoProfiles_CountsOnce_AfterTheyMerge(bool returnOnGuestOnly)
    {
        await using var host = await ClickedHost();
        var guest = Identifier.AnonymousId("cookie-9");
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 100 });
        if (!returnOnGuestOnly)
        {
            await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o-1", total = 30 });
        }

        await host.TrackAsync(EventTypes.OrderReturned, [guest], new { order_id = "o-1", total = 30 }); // a return known only by its order id
        await host.TrackAsync("user.logged_in", [Ann, guest]);

        Assert.Equal((1L, 70.0), Round(await Metric(host, MeasurementMetrics.Revenue("order", AttributionModel.LastTouch))));
        Assert.Equal((1L, 70.0), Round(await Metric(host, MeasurementMetrics.Conversion("order"))));
    }

    [Fact]
    public async Task AnOrdersRevenueUnderEveryProperty_IsStored_AndAReturnAfterAReloadTakesItsShareOffEach()
    {
        // The revenue kept per order is stored as an object by property path ({"total": .., "net": ..}): a return that
        // arrives after the profile was read back from the store still finds both.
        var store = new Omnichannel.Sdk.Storage.InMemoryOmnichannelStore();
        void Net(OmnichannelOptions o) => o.Measurement.Conversions.Add(new ConversionDefinition("net-order", EventTypes.OrderPlaced) { RevenueProperty = "net" });
        DateTimeOffset at;
        await using (var first = OmnichannelTestHost.Create(Net, store: store))
        {
            at = first.Time.GetUtcNow().AddHours(-1);
            await first.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 100, net = 80 }, at: at);
        }

        var profileId = Assert.Single((await store.ResolveIdentifiersAsync([Ann])).Values);
        var stored = System.Text.Json.Nodes.JsonNode.Parse((await store.LoadProfileAsync(profileId))!.Document)!;
        Assert.Equal("""{"total":100,"net":80}""", stored["orderConversions"]!["order:o-1"]!["gross"]!.ToJsonString());

        await using var second = OmnichannelTestHost.Create(Net, start: at.AddHours(1), store: store);
        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o-1", total = 25 }, at: at.AddMinutes(30))).Status);

        Assert.Equal((1L, 75.0), Round(await Metric(second, MeasurementMetrics.Conversion("order"))));
        Assert.Equal((1L, 60.0), Round(await Metric(second, MeasurementMetrics.Conversion("net-order"))));
    }

    /// <summary>One order's versions (totals) and returns, in any arrival order: measurement counts its newest total less its returns.</summary>
    [Property(MaxTest = 40)]
    public void AnOrdersMeasuredRevenue_IsItsNewestTotalLessItsReturns_InAnyArrivalOrder(PositiveInt[] totals, NonNegativeInt[] returns, int seed)
    {
        var versions = totals.Take(4).Select(t => t.Get % 500).DefaultIfEmpty(120).ToArray();
        var refunds = returns.Take(3).Select(r => r.Get % 200).ToArray();
        Run(versions, refunds, seed).GetAwaiter().GetResult();
    }

    private static async Task Run(int[] versions, int[] refunds, int seed)
    {
        await using var host = await ClickedHost(share: 0.5);
        var at = host.Time.GetUtcNow().AddHours(-1);
        var events = versions.Select((t, i) => host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = t }, at: at.AddMinutes(i)))
            .Concat(refunds.Select((r, i) => host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "o-1", return_id = "r" + i, total = r }, at: at.AddMinutes(10 + i))))
            .ToList();
        var random = new Random(seed);
        foreach (var e in events.OrderBy(_ => random.Next()))
        {
            await host.TrackAsync(e);
        }

        var expected = Math.Max(0, versions[^1] - refunds.Sum()); // the newest version has the latest time
        foreach (var model in Enum.GetValues<AttributionModel>())
        {
            var credited = await Metric(host, MeasurementMetrics.Revenue("order", model));
            Assert.Equal(1, credited.Count);
            Assert.Equal(expected, credited.Sum, 6);
        }

        Assert.Equal((1L, (double)expected), Round(await Metric(host, MeasurementMetrics.Conversion("order"))));
        Assert.Equal((1L, (double)expected), Round(await Metric(host, "global:converted:order", "$global")));
        Assert.Equal((double)expected * expected, Math.Round((await Metric(host, "global:revenue_sq:order", "$global")).Sum, 6));
    }

    private static (long, double) Round((long Count, double Sum) m) => (m.Count, Math.Round(m.Sum, 6));
}
