using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the twenty-third session's change (a waitForEvent answered at a merge by what her other profile saw): each
/// scenario is compared with one profile that had all the events all along (the oracle), on a fake clock.
/// </summary>
public sealed class AuditReview23Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    // Triggered by a page view, waiting for another one: the trigger event is remembered as a wait answer at the very
    // instant the wait began.
    private static JourneyDefinition Browse => JourneyRig.Parse("""
        {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
         "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "product.viewed", "next": "engaged"}], "timeout": "PT1H", "timeoutNext": "nudge"},
                   {"id": "engaged", "type": "send", "channels": ["email"], "template": "engaged", "class": "transactional", "next": "end"},
                   {"id": "nudge", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional", "next": "end"},
                   {"id": "end", "type": "exit"}]}
        """);

    // Each view sends a note and goes back to waiting: the event that moved it is remembered at the instant the wait began again.
    private static JourneyDefinition Loop => JourneyRig.Parse("""
        {"id": "loop", "version": 1, "name": "Loop", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "product.viewed", "next": "note"}], "timeout": "P1D", "timeoutNext": "end"},
                   {"id": "note", "type": "send", "channels": ["email"], "template": "note", "class": "transactional", "next": "w"},
                   {"id": "end", "type": "exit"}]}
        """);

    private static JourneyDefinition Cart => JourneyRig.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"correlationKey": "cart_id"},
         "goal": {"event": "order.placed", "within": "P1D"},
         "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "thanks"}], "timeout": "PT4H", "timeoutNext": "remind"},
                   {"id": "thanks", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional", "next": "end"},
                   {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional", "next": "end"},
                   {"id": "end", "type": "exit"}]}
        """);

    // Oracle: one profile, the view that started the journey does not answer its own wait; the nudge goes out at the
    // time-out. Before the fix the merge made the trigger event answer the wait ("engaged" at the login, no nudge).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheTriggerEvent_DoesNotAnswerItsOwnWait_AtAMerge(bool merged)
    {
        var device = Identifier.AnonymousId("tab-1");
        await using var rig = JourneyRig.Create([Browse]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync("product.viewed", merged ? [device] : [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync("user.logged_in", merged ? [device, Ann] : [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:nudge"], rig.Sent());
    }

    // Oracle: one view, one note. Before the fix each later merge answered the wait again with the same view.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task AnEventThatAlreadyMovedAWait_DoesNotAnswerItAgain_AtLaterMerges(int merges)
    {
        await using var rig = JourneyRig.Create([Loop]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync("product.viewed", [Ann], new { product_id = "p1" });
        for (var i = 0; i < merges; i++)
        {
            await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
            var device = Identifier.AnonymousId("dev-" + i);
            await rig.TrackAsync("page.viewed", [device]);
            await rig.TrackAsync("user.logged_in", [device, Ann]);
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Equal(["email:note"], rig.Sent());
    }

    // The view on the other device answers once, and not again at a second merge.
    [Fact]
    public async Task AMergedAnswer_IsNotHeardAgain_AtASecondMerge()
    {
        var tablet = Identifier.AnonymousId("tab-2");
        var phone = Identifier.AnonymousId("phone-2");
        await using var rig = JourneyRig.Create([Loop]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync("product.viewed", [tablet], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync("user.logged_in", [tablet, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync("page.viewed", [phone]);
        await rig.TrackAsync("user.logged_in", [phone, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Equal(["email:note"], rig.Sent());
    }

    // The order is also the goal: it converts the instance once, and the branch is not taken as well.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnOrderThatIsAlsoTheGoal_ConvertsOnce_AndDoesNotAlsoTakeTheBranch(bool merged)
    {
        var device = Identifier.AnonymousId("tab-3");
        await using var rig = JourneyRig.Create([Cart]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", cart_id = "c1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync(EventTypes.OrderPlaced, merged ? [device] : [Ann], new { order_id = "o1", cart_id = "c1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        if (merged)
        {
            await rig.TrackAsync("user.logged_in", [device, Ann]);
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(6));
        Assert.Empty(rig.Sent());
        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Single(p.Timeline, t => t.Type == "journey.converted" && t.EventId.EndsWith(":cart:converted", StringComparison.Ordinal)); // the conversion, recorded once
        Assert.DoesNotContain(p.Timeline, t => t.Type == "journey.event_matched");
    }

    // Correlation: an order for another cart does not answer the wait of cart c1 (one profile: it would not either).
    [Theory]
    [InlineData("c1", false)]
    [InlineData("c2", true)]
    public async Task AMergedOrder_AnswersOnlyTheWaitOfItsCart(string orderCart, bool reminded)
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "entry": {"correlationKey": "cart_id"},
             "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "end"}], "timeout": "PT4H", "timeoutNext": "remind"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        var device = Identifier.AnonymousId("tab-4");
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", cart_id = "c1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync(EventTypes.OrderPlaced, [device], new { order_id = "o1", cart_id = orderCart, total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync("user.logged_in", [device, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(6));
        Assert.Equal(reminded ? ["email:remind"] : [], rig.Sent());
    }

    // A wait whose time-out is due (not yet run: the engine heard nothing since) at the merge: an order placed before the
    // time-out answers it, as it would on one profile (the order uploaded late); one placed after does not.
    [Theory]
    [InlineData(230, false, false)]
    [InlineData(250, true, false)]
    [InlineData(230, false, true)]
    [InlineData(250, true, true)]
    public async Task AWaitDueAtTheMerge_IsAnsweredOnlyByAnOrderBeforeItsTimeout(int orderMinutes, bool reminded, bool merged)
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "end"}], "timeout": "PT4H", "timeoutNext": "remind"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        var device = Identifier.AnonymousId("tab-5");
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, merged ? [device] : [Ann], new { product_id = "p1" });
        var cartAt = rig.Host.Time.GetUtcNow();
        rig.Host.Time.AdjustTime(cartAt + TimeSpan.FromMinutes(260)); // the engine was down: its timer has not run the time-out
        await rig.Host.Client.TrackAsync(rig.Host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" }, at: cartAt + TimeSpan.FromMinutes(orderMinutes)));
        if (merged)
        {
            await rig.TrackAsync("user.logged_in", [device, Ann]);
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(reminded ? ["email:remind"] : [], rig.Sent());
    }

    // The order that links the device (it names both) answers the wait once, through the live path; in a batch too.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnOrderThatCausesTheMerge_AnswersTheWaitOnce(bool batch)
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "thanks"}], "timeout": "PT4H", "timeoutNext": "remind"},
                       {"id": "thanks", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional", "next": "end"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        var device = Identifier.AnonymousId("tab-6");
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [device], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        if (batch)
        {
            var results = await rig.Host.Client.TrackBatchAsync(
            [
                rig.Host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" }),
                rig.Host.Event("user.logged_in", [device, Ann]),
                rig.Host.Event("page.viewed", [device, Ann]),
            ]);
            Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
            await rig.Engine.RunDispatchAsync();
        }
        else
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [device, Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(6));
        Assert.Equal(["email:thanks"], rig.Sent());
    }

    // A busy event type with a condition: her account's many views that the branch refuses must not push out of the
    // remembered answers the one view that answers the device's wait (one profile: the view answers it).
    [Fact]
    public async Task ViewsABranchRefuses_DoNotCrowdOutTheOneThatAnswers()
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "page.viewed", "where": [{"property": "path", "op": "eq", "value": "/thanks"}], "next": "end"}], "timeout": "PT4H", "timeoutNext": "remind"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        var device = Identifier.AnonymousId("tab-7");
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [device], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync("page.viewed", [Ann], new { path = "/thanks" });
        for (var i = 0; i < 25; i++)
        {
            await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
            await rig.TrackAsync("page.viewed", [Ann], new { path = "/p/" + i });
        }

        await rig.TrackAsync("user.logged_in", [device, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(6));
        Assert.Empty(rig.Sent());
    }

    // An order placed as a guest on the device before the cart, sent again (an update) on her account after the cart
    // began waiting: it is the order placed at its first time, before the wait, and does not answer it (one profile: it
    // does not either).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnOrderSentAgainOnTheOtherProfile_IsTheOrderAtItsFirstTime(bool merged)
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "end"}], "timeout": "PT4H", "timeoutNext": "remind"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        var device = Identifier.AnonymousId("tab-8");
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [device], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.CartItemAdded, [device], new { product_id = "p2" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.OrderPlaced, merged ? [Ann] : [device], new { order_id = "o1", total = 10, currency = "GBP", status = "paid" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync("user.logged_in", [device, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(6));
        Assert.Equal(["email:remind"], rig.Sent());
    }
}
