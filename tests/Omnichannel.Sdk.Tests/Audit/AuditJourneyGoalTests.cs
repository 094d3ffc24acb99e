using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit: an old order sent again (same order_id) while a later abandoned-cart journey waits.</summary>
public sealed class AuditJourneyGoalTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    [Fact]
    public async Task AnUpdateOfAnOrderPlacedBeforeTheJourneyStarted_IsNotItsGoal_NorItsExit()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(JourneyScenarios.AbandonedCartJson)]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann, Identifier.Email("ann@example.com")], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 40, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromDays(2));

        // Two days later she fills a new cart; ten minutes on, the shop sends order o1 again (an update of the old order).
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c2", product_id = "p1", price = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 40, currency = "GBP", status = "paid" });
        Assert.Equal(1, (await rig.Host.ProfileAsync(Ann)).Statistics.OrderCount); // still one order

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        var stats = await rig.Engine.GetJourneyStatisticsAsync("abandoned-cart");
        Assert.Equal(0, stats.Converted);               // no new order was placed
        Assert.Contains("email:cart-reminder", rig.Sent()); // the cart is still abandoned: the reminder goes
    }
}
