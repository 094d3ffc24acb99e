using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit JM2: a goal event converts by event time, whatever the arrival order or the identifier it came under.</summary>
public sealed class AuditJM2JourneyGoalOrderTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");

    private static Omnichannel.Sdk.Journeys.JourneyDefinition Cart(string within = "PT2H", bool orderExits = false) => JourneyRig.Parse($$"""
        {"id": "cart", "version": 1, "name": "Abandoned cart",
         "trigger": {"type": "event", "event": "cart.item_added"},
         "goal": {"event": "order.placed", "within": "{{within}}"},
         {{(orderExits ? "\"exit\": [{\"event\": \"order.placed\"}]," : string.Empty)}}
         "steps": [
           {"id": "wait", "type": "delay", "duration": "PT1H"},
           {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """);

    private static async Task<double> Revenue(JourneyRig rig) =>
        (await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "cart", MetricPrefix = MeasurementMetrics.JourneyPrefix + "revenue" }))
            .Where(r => r.Key.Metric == MeasurementMetrics.JourneyPrefix + "revenue").Sum(r => r.Sum);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnOrderArrivingBeforeAnOlderCartAdd_ConvertsTheInstance_WithItsRevenue(bool orderAlsoExits)
    {
        // The 09:20 order reaches us before her phone syncs the 09:00 cart add. With the order also an exit criterion
        // it still converts, as a running instance reached by it does (the goal is checked first).
        await using var rig = JourneyRig.Create([Cart(orderExits: orderAlsoExits)]);
        var t0 = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync("user.signed_up", [Known, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(20));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 42 });
        await rig.Host.TrackAsync(rig.Host.Event(EventTypes.CartItemAdded, [Known], new { product_id = "p1" }, at: t0));
        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Empty(rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal((1L, 0L, 1L, 0L, 0L), (stats.Entered, stats.Active, stats.Converted, stats.Exited, stats.Completed));
        Assert.Equal(42, await Revenue(rig), 9);
        Assert.Empty((await rig.Host.ProfileAsync(Known)).Journeys);
    }

    [Fact]
    public async Task AnOrderUnderHerCustomerId_BeforeSheLogsIn_ConvertsTheCartSheFilledAsAVisitor()
    {
        await using var rig = JourneyRig.Create([Cart()]);
        await rig.TrackAsync("user.signed_up", [Known, Ann]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Cookie], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 42 });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync("user.logged_in", [Known, Cookie]);
        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Empty(rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal((1L, 0L, 1L, 0L), (stats.Entered, stats.Active, stats.Converted, stats.Completed));
        Assert.Equal(42, await Revenue(rig), 9);
    }

    [Fact]
    public async Task OneOrder_ThatConvertedBeforeAMerge_DoesNotConvertTheOtherProfilesInstanceAfterIt()
    {
        // One conversion per goal event: her customer id's cart converts at once; the cookie's cart, merged later, is
        // reached by the same order, which was already credited.
        await using var rig = JourneyRig.Create([Cart()]);
        await rig.TrackAsync("user.signed_up", [Known, Ann]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p0" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Cookie], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 42 });
        Assert.Equal(1L, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync("user.logged_in", [Known, Cookie]);
        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Empty(rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal((2L, 0L, 1L, 0L), (stats.Entered, stats.Active, stats.Converted, stats.Completed));
        Assert.Equal(42, await Revenue(rig), 9);
    }

    [Fact]
    public async Task AnOrderFromBeforeTheCartAdd_ArrivingFirst_DoesNotConvert()
    {
        await using var rig = JourneyRig.Create([Cart()]);
        var t0 = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync("user.signed_up", [Known, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(20));
        await rig.Host.TrackAsync(rig.Host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 42 }, at: t0));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Equal(["email:cart"], rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal((1L, 0L, 1L), (stats.Entered, stats.Converted, stats.Completed));
        Assert.Equal(0, await Revenue(rig), 9);
    }

    [Fact]
    public async Task AnOrderArrivingFirst_AfterTheGoalWindowOfTheOlderCartAdd_DoesNotConvert()
    {
        // Goal within 30 minutes of the cart add; the order came 40 minutes after it (by event time).
        await using var rig = JourneyRig.Create([Cart(within: "PT30M")]);
        var t0 = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync("user.signed_up", [Known, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(40));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 42 });
        await rig.Host.TrackAsync(rig.Host.Event(EventTypes.CartItemAdded, [Known], new { product_id = "p1" }, at: t0));
        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Equal(["email:cart"], rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal((1L, 0L, 1L), (stats.Entered, stats.Converted, stats.Completed));
        Assert.Equal(0, await Revenue(rig), 9);
    }
}
