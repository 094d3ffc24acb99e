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

    // Two instances of one journey that started at the same instant, one on each of her profiles: the kept profile's goes
    // on (the merge numbers the absorbed side's instances past the kept side's). The tie was broken by the instance id as
    // text, so once her kept profile had numbered nine instances, the absorbed side's renumbered "welcome#10" sorted before
    // her "welcome#9" and went on instead: which instance ran on depended on how many she had had.
    [Theory]
    [InlineData("a", 8)]
    [InlineData("b", 8)]
    [InlineData("a", 1)]
    [InlineData("b", 1)]
    public async Task SameInstantInstances_AtAMerge_TheKeptProfilesGoesOn_HoweverManySheHadBefore(string historyOn, int earlier)
    {
        var welcome = JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                       {"id": "w", "type": "send", "channels": ["email"], "template": "welcome-1", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([welcome], start: Afternoon);
        var a = Identifier.AnonymousId("cookie-a");
        var b = Identifier.AnonymousId("cookie-b");
        await rig.TrackAsync("page.viewed", [a]);
        await rig.TrackAsync("page.viewed", [b]);
        var withHistory = historyOn == "a" ? a : b;
        for (var i = 0; i < earlier; i++)
        {
            await rig.TrackAsync("user.signed_up", [withHistory]); // an entry that ends: that side's instance numbers grow
            await rig.AdvanceAsync(TimeSpan.FromHours(2));
        }

        var ids = new[] { (await rig.Host.ProfileAsync(a)).Id, (await rig.Host.ProfileAsync(b)).Id };
        await rig.TrackAsync("user.signed_up", [a]);
        await rig.TrackAsync("user.signed_up", [b]);

        await rig.TrackAsync("page.viewed", [a, b]);

        var p = await rig.Host.ProfileAsync(a);
        var absorbed = Assert.Single(ids, id => id != p.Id);
        var merged = Assert.Single(p.Timeline, t => t.Type == "journey.merged");
        Assert.StartsWith(absorbed + ":", merged.EventId, StringComparison.Ordinal);
        Assert.Single(p.Journeys);
    }
}
