using Omnichannel.Sdk.Measurement;
using Xunit;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>
/// One goal event converts one entry per journey, the latest started: an order after two entries of one person (two
/// devices that later merged, or a re-entry) is one conversion, and its revenue is credited to the journey once.
/// </summary>
public sealed class OneGoalEventOneConversionTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Phone = Identifier.AnonymousId("phone-cookie");

    private static Omnichannel.Sdk.Journeys.JourneyDefinition Journey(string reEntry) => JourneyRig.Parse($$"""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"reEntry": "{{reEntry}}"},
         "goal": {"event": "order.placed", "within": "P7D"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "s", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """);

    private static object Item(string sku) => new { product_id = sku, sku, price = 10, quantity = 1 };

    [Fact]
    public async Task TwoProfilesEachInTheJourney_MergedByTheOrder_ConvertOnce_AndCreditItsRevenueOnce()
    {
        await using var rig = JourneyRig.Create([Journey("afterPreviousEnded")]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], Item("a"));
        await rig.AdvanceAsync(TimeSpan.FromHours(2)); // the first entry has ended, and is watched for its goal
        await rig.TrackAsync(EventTypes.CartItemAdded, [Phone], Item("b"));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        await rig.TrackAsync(EventTypes.OrderPlaced, [Known, Phone], new { order_id = "o-1", total = 99.5 });

        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(2, stats.Entered);
        Assert.Equal(1, stats.Converted);
        var revenue = (await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "cart", MetricPrefix = MeasurementMetrics.JourneyPrefix + "revenue" }))
            .Sum(r => r.Sum);
        Assert.Equal(99.5, revenue, 6);
    }

    [Fact]
    public async Task AnEndedEntryAndARunningOne_TheRunningOneIsCredited_AndTheEndedOneStaysWatchedForTheNextOrder()
    {
        await using var rig = JourneyRig.Create([Journey("afterPreviousEnded")]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], Item("a"));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], Item("b"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10)); // the second entry still waits

        await rig.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o-1", total = 20 });
        var profile = await rig.Host.ProfileAsync(Known);
        var converted = profile.Timeline.Where(t => t.Type == "journey.converted" && t.Summary!.Contains("last step", StringComparison.Ordinal)).Select(t => t.Summary).ToList();
        Assert.Single(converted);
        Assert.Contains("cart#2", converted[0]);
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o-2", total = 30 });
        Assert.Equal(2, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
    }

    [Fact]
    public async Task TwoRunningEntries_TheLaterIsCredited_AndTheEarlierStopsWithoutSending()
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "entry": {"reEntry": "afterCooldown", "cooldown": "PT5M", "maxConcurrent": 2},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], Item("a"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], Item("b"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));

        await rig.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o-1", total = 20 });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(1, stats.Converted);
        Assert.Equal(1, stats.Exited);
        Assert.Equal(0, stats.Active);
        Assert.Empty(rig.Sent());
        var converted = (await rig.Host.ProfileAsync(Known)).Timeline.Single(t => t.Type == "journey.converted" && t.Summary!.Contains("last step", StringComparison.Ordinal));
        Assert.Contains("cart#2", converted.Summary);
    }
}
