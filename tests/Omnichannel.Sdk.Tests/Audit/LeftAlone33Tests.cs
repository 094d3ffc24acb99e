using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Left alone by the thirty-third session, taken up in the thirty-fourth: an ended entry of a journey that correlates by
/// a value (its cart) was converted by a goal event naming another cart. A running entry is not (its instance is not moved
/// by events that name another cart), so the journey's conversions depended on whether her reminder was the last step.
/// </summary>
public sealed class LeftAlone33Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");
    private static readonly DateTimeOffset Afternoon = new(2026, 1, 5, 14, 0, 0, TimeSpan.Zero);

    // The reminder about cart c1 is the journey's last step, so the entry ends when it goes and is watched for the goal.
    internal static JourneyDefinition CartJourney() => JourneyRig.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"correlationKey": "cart_id"}, "goal": {"event": "order.placed", "within": "P2D"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """);

    // An order for another cart (c2) converted c1's ended entry: the reminder about c1 was credited with an order it had
    // nothing to do with (the same order, had the entry still been running, converts nothing). An order for c1, or one
    // that names no cart, still converts it.
    [Theory]
    [InlineData("c2", 0)]
    [InlineData("c1", 1)]
    [InlineData(null, 1)]
    public async Task AnOrderForAnotherCart_DoesNotConvertTheEndedEntryOfThisCart(string? orderedCart, long converted)
    {
        await using var rig = JourneyRig.Create([CartJourney()], start: Afternoon);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p1", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:cart"], rig.Sent());
        Assert.Empty((await rig.Host.ProfileAsync(Ann)).Journeys);

        object order = orderedCart is null ? new { order_id = "o1", total = 20 } : new { order_id = "o1", cart_id = orderedCart, total = 20 };
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], order);

        Assert.Equal(converted, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
    }

    // The same through a merge: the order for c2 was placed on her guest profile (the cookie), and she logs in afterwards;
    // the merge converted her account's ended c1 entry with it. An order for c1 on the guest profile still converts it.
    [Theory]
    [InlineData("c2", 0)]
    [InlineData("c1", 1)]
    public async Task AnOrderForAnotherCart_OnHerOtherProfile_DoesNotConvertTheEndedEntry_AtTheMerge(string orderedCart, long converted)
    {
        await using var rig = JourneyRig.Create([CartJourney()], start: Afternoon);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p1", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:cart"], rig.Sent());

        await rig.TrackAsync(EventTypes.OrderPlaced, [Cookie], new { order_id = "o1", cart_id = orderedCart, total = 20 });
        await rig.TrackAsync("user.logged_in", [Ann, Cookie]);

        Assert.Equal(converted, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
    }
}
