using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U4: a hostile review of audit U3's fixes (an order sent again starts nothing; the message log keeps her newest
/// 32), then bug classes from public reports of comparable systems (round 4), replayed against the public API.
/// </summary>
public sealed class AuditU4Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static JourneyDefinition Confirm => JourneyRig.Parse("""
        {"id": "confirm", "version": 1, "name": "Confirm", "trigger": {"type": "event", "event": "order.placed"},
         "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "confirm", "class": "transactional"}]}
        """);

    private static JourneyDefinition CartReminder => JourneyRig.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "end"}], "timeout": "PT4H", "timeoutNext": "remind"},
                   {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional", "next": "end"},
                   {"id": "end", "type": "exit"}]}
        """);

    // ---- Part A: audit U3's "an order starts a journey once" ----

    // Shopify and WooCommerce send order ids as JSON numbers. The profile keys a numeric order_id as its text (1001 and
    // "1001" are one order, audit M), but the check that the profile already holds the order read strings only: the
    // webhook sent again started the order confirmation again.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ANumericOrderId_SentAgain_StartsNoJourneyAgain(bool secondAsText)
    {
        await using var rig = JourneyRig.Create([Confirm]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = 1001, total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], secondAsText ? new { order_id = (object)"1001", total = 10, currency = "GBP" } : new { order_id = (object)1001, total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(["email:confirm"], rig.Sent());
        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Contains(p.Timeline, t => t.Type == "journey.entry_refused");
    }

    // Several copies of two orders in one batch: each order is confirmed once, whatever the interleaving.
    [Fact]
    public async Task CopiesOfTwoOrdersInOneBatch_ConfirmEachOrderOnce()
    {
        await using var rig = JourneyRig.Create([Confirm]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var h = rig.Host;
        var results = await h.Client.TrackBatchAsync(
        [
            h.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" }),
            h.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 11, currency = "GBP" }),
            h.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 20, currency = "GBP" }),
            h.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 12, currency = "GBP" }),
            h.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 20, currency = "GBP" }),
        ]);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(2, rig.Sent().Count);
        Assert.Equal(2, (await rig.Host.ProfileAsync(Ann)).Statistics.OrderCount);
    }

    // Ids the profile reads as distinct orders (an empty id is no id: each event its own order; a blank id is an id;
    // case matters) start the journey once per order the profile counts, neither more nor fewer.
    [Fact]
    public async Task OrdersWithEmptyBlankOrCaseDifferentIds_StartAsManyJourneysAsTheProfileCountsOrders()
    {
        await using var rig = JourneyRig.Create([Confirm]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        foreach (var id in new[] { string.Empty, string.Empty, "  ", "  ", "A-1", "a-1", "A-1" })
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = id, total = 10, currency = "GBP" });
            await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        }

        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Equal(5, p.Statistics.OrderCount);
        Assert.Equal(p.Statistics.OrderCount, rig.Sent().Count);
    }

    // The copy arrives from a device not yet joined to her (the order event itself carries both ids, so it merges the
    // device's profile into hers first): it is still her order, already confirmed.
    [Fact]
    public async Task AnOrderCopyThatMergesAnAnonymousDevice_StartsNoJourneyAgain()
    {
        var device = Identifier.AnonymousId("device-1");
        await using var rig = JourneyRig.Create([Confirm]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.TrackAsync(EventTypes.ProductViewed, [device], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        await rig.TrackAsync(EventTypes.OrderPlaced, [device, Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(["email:confirm"], rig.Sent());
        Assert.Equal(1, (await rig.Host.ProfileAsync(device)).Statistics.OrderCount);
    }

    // After her erasure the order's copy is refused (her identifiers are suppressed) and sends nothing.
    [Fact]
    public async Task AnOrderCopyAfterHerErasure_IsRefused_AndSendsNothing()
    {
        await using var rig = JourneyRig.Create([Confirm]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann, AnnMail], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.True(await rig.Host.Client.EraseProfileAsync(Ann));

        var r = await rig.Host.Client.TrackAsync(rig.Host.Event(EventTypes.OrderPlaced, [AnnMail], new { order_id = "o1", total = 10, currency = "GBP" }));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(TrackStatus.Erased, r.Status);
        Assert.Equal(["email:confirm"], rig.Sent());
    }

    // ---- Part B: bug classes from public reports (round 4) ----

    // TycheSoftwares/woocommerce-abandoned-cart#166 (and #874, mailchimp/mc-magento2#754): a guest filled a cart, gave her
    // email at checkout and registered while ordering; the guest cart was still "abandoned" and reminded. Here the
    // order carries her new account id and the email the guest cart was tracked under.
    [Fact]
    public async Task AGuestWhoRegistersWhileOrdering_GetsNoReminderForTheGuestCart()
    {
        var device = Identifier.AnonymousId("guest-1");
        await using var rig = JourneyRig.Create([CartReminder]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [device, AnnMail], new { product_id = "p1", cart_id = "c1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(2));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann, AnnMail], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromHours(5));

        Assert.Empty(rig.Sent());
    }

    // antiwork/gumroad#6720: a cart built on one device and bought in another session stayed "abandoned" (checkout
    // retired only the cart of the session that paid). Here the cart is on a device nobody knows yet, she orders on her
    // account, and the device is linked to her only afterwards, before the reminder's time-out: the order (by event time
    // after the wait began) answers the device's wait.
    [Fact]
    public async Task ACartOnOneDevice_BoughtOnHerAccount_AndTheDeviceLinkedLater_GetsNoReminder()
    {
        var device = Identifier.AnonymousId("tablet-1");
        await using var rig = JourneyRig.Create([CartReminder]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [device], new { product_id = "p1", cart_id = "c1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.logged_in", [device, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(5));

        Assert.Empty(rig.Sent());
    }

    // The other direction: the cart waits on her account, the order is on a device nobody knew, the device is linked.
    [Fact]
    public async Task ACartOnHerAccount_BoughtOnAnUnknownDevice_AndTheDeviceLinkedLater_GetsNoReminder()
    {
        var device = Identifier.AnonymousId("phone-1");
        await using var rig = JourneyRig.Create([CartReminder]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", cart_id = "c1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync(EventTypes.OrderPlaced, [device], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.logged_in", [device, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(5));

        Assert.Empty(rig.Sent());
        var p = await rig.Host.Client.GetProfileAsync(Ann);
        Assert.Contains(p!.Timeline, t => t.Type == "journey.event_matched" && (t.Summary ?? "").Contains("merged", StringComparison.Ordinal));
    }

    // What the other profile saw before the wait began, or what a branch's condition refuses, does not answer it.
    [Theory]
    [InlineData(-10, 80, true)]
    [InlineData(30, 10, true)]
    [InlineData(30, 80, false)]
    public async Task AMergedEvent_AnswersAWait_OnlyFromAfterItBegan_AndWhenItsBranchMatches(int orderMinutes, int total, bool reminded)
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "order.placed", "where": [{"property": "total", "op": "gt", "value": 50}], "next": "end"}], "timeout": "PT4H", "timeoutNext": "remind"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        var device = Identifier.AnonymousId("tablet-2");
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var cartAt = rig.Host.Time.GetUtcNow() + TimeSpan.FromMinutes(20);
        await rig.AdvanceToAsync(cartAt + TimeSpan.FromMinutes(Math.Min(orderMinutes, 0)));
        if (orderMinutes < 0)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total, currency = "GBP" });
        }

        await rig.AdvanceToAsync(cartAt);
        await rig.TrackAsync(EventTypes.CartItemAdded, [device], new { product_id = "p1" });
        if (orderMinutes > 0)
        {
            await rig.AdvanceAsync(TimeSpan.FromMinutes(orderMinutes));
            await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total, currency = "GBP" });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.logged_in", [device, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(5));
        Assert.Equal(reminded ? ["email:remind"] : [], rig.Sent());
    }

    // woocommerce/woocommerce-admin#2522: an order both refunded and marked cancelled was taken off twice, and the
    // customer report showed a negative total spend. Here: fully returned, then cancelled (and the reverse).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnOrderRefundedAndCancelled_IsNotTakenOffTwice(bool cancelFirst)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Currency = "GBP");
        await host.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 50, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 30, currency = "GBP" });
        if (cancelFirst)
        {
            await host.TrackAsync(EventTypes.OrderCancelled, [Ann], new { order_id = "o1" });
        }

        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r1", total = 50, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r1", total = 50, currency = "GBP" }); // the refund webhook again
        if (!cancelFirst)
        {
            await host.TrackAsync(EventTypes.OrderCancelled, [Ann], new { order_id = "o1" });
        }

        // TotalSpent is gross (a cancellation reverses nothing, audit T; returns are ReturnValue): the refund is taken
        // off once, and the cancellation takes nothing more.
        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal(80m, s.TotalSpent);
        Assert.Equal(50m, s.ReturnValue);
        Assert.True(s.TotalSpent - s.ReturnValue >= 0);
        Assert.Equal(1, s.CancelledOrderCount);
        Assert.Equal(2, s.OrderCount);
    }

    // glific/glific#5400 (and rapidpro/casepro#222): WhatsApp delivers a number as 919876543210 (no '+'), the API as
    // +919876543210, a form as a national number with its trunk 0: three contacts for one person. With the default region
    // India, all three are one identifier.
    [Fact]
    public async Task OnePhoneInInternationalNationalAndPlusLessForms_IsOnePerson()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.DefaultPhoneRegion = "IN");
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Phone("+91 98765 43210")]);
        await host.TrackAsync("whatsapp.inbound", [Identifier.Phone("919876543210")], channel: ChannelNames.WhatsApp);
        await host.TrackAsync("form.submitted", [Identifier.Phone("098765-43210")]);

        var p = await host.ProfileAsync(Ann);
        Assert.Equal(3, p.Timeline.Count(t => t.Type is "user.signed_up" or "whatsapp.inbound" or "form.submitted"));
        Assert.Equal(p.Id, (await host.ProfileAsync(Identifier.Phone("919876543210"))).Id);
    }

    // OneSignal/OneSignal-Website-SDK#1096 (a language set for the user reset to the new device's default when she logs in
    // on another device) and PostHog/posthog#31154 (the merge event's own context overwrote the person's properties):
    // the profile's locale is the newest by event time across both profiles, whichever is kept, and a merging event that
    // carries no locale, or a device's older event arriving late, changes nothing.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheLocale_AfterAMergeAndALateOlderEvent_IsTheNewestByEventTime(bool deviceNewer)
    {
        var device = Identifier.AnonymousId("phone-1");
        await using var host = OmnichannelTestHost.Create();
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.TrackAsync("app.opened", [Ann], context: new EventContext { Locale = "fr-FR" }, at: deviceNewer ? t0 + TimeSpan.FromMinutes(10) : t0 + TimeSpan.FromMinutes(20));
        await host.TrackAsync("app.opened", [device], context: new EventContext { Locale = "en-US" }, at: deviceNewer ? t0 + TimeSpan.FromMinutes(20) : t0 + TimeSpan.FromMinutes(10));
        await host.TrackAsync("user.logged_in", [device, Ann]);
        await host.TrackAsync("app.opened", [device], context: new EventContext { Locale = "de-DE" }, at: t0 + TimeSpan.FromMinutes(5)); // older, late

        Assert.Equal(deviceNewer ? "en-US" : "fr-FR", (await host.ProfileAsync(Ann)).Locale);
    }
}
