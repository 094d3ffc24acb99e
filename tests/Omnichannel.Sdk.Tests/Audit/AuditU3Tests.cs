using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit U3: bug classes from public reports of comparable systems (round 3), replayed against the public API.</summary>
public sealed class AuditU3Tests
{
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;
    private static readonly DateTimeOffset Day0 = new(Start.Year, Start.Month, Start.Day, 0, 0, 0, TimeSpan.Zero);
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static SegmentDefinition Segment(string json)
    {
        var r = SegmentJson.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors.Select(e => e.Path + " " + e.Message)));
        return r.Value!;
    }

    private static JourneyDefinition GoldJourney(string reEntry) => JourneyRig.Parse($$"""
        {"id": "gold-welcome", "version": 1, "name": "Gold welcome", "trigger": {"type": "segment", "segment": "gold", "on": "entered"},
         "entry": {"reEntry": "{{reEntry}}"},
         "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "gold-hello", "class": "transactional"}]}
        """);

    private static readonly SegmentDefinition Gold = Segment("""{"id": "gold", "name": "Gold", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""");

    // Templates for direct sends: a journey that never starts carries them.
    private static readonly JourneyDefinition Templates = JourneyRig.Parse("""
        {"id": "templates", "version": 1, "name": "Templates", "trigger": {"type": "event", "event": "never.happens"},
         "steps": [{"id": "a", "type": "send", "channels": ["email"], "template": "offers", "topic": "offers", "next": "b"},
                   {"id": "b", "type": "send", "channels": ["email"], "template": "news", "topic": "news", "next": "c"},
                   {"id": "c", "type": "send", "channels": ["email"], "template": "plain"}]}
        """);

    private static MessageRequest Marketing(string key, string template, string? topic) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = template, Topic = topic };

    private static async Task Consent(JourneyRig rig, bool granted, string? topic = null)
    {
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], topic is null ? new { channel = "email", granted } : (object)new { channel = "email", topic, granted });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
    }

    // mautic/mautic#7338, #16075, #16026: a segment-triggered campaign that allows restarts did not take back a contact
    // who left the segment and re-entered it.
    [Fact]
    public async Task ASegmentTriggeredJourney_AllowingReEntry_TakesBackAPersonWhoLeftAndReEnteredTheSegment()
    {
        await using var rig = JourneyRig.Create([GoldJourney("afterPreviousEnded")], [Gold]);
        await rig.TrackAsync("x.update", [Ann, AnnMail], traits: new { tier = "gold" });
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("x.update", [Ann], traits: new { tier = "silver" });
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("x.update", [Ann], traits: new { tier = "gold" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(["email:gold-hello", "email:gold-hello"], rig.Sent());
    }

    // mautic/mautic#7881: with restarts not allowed, a contact re-added to the source segment received the email again.
    [Fact]
    public async Task ASegmentTriggeredJourney_WithReEntryNever_DoesNotSendAgainOnReEntryToTheSegment()
    {
        await using var rig = JourneyRig.Create([GoldJourney("never")], [Gold]);
        await rig.TrackAsync("x.update", [Ann, AnnMail], traits: new { tier = "gold" });
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("x.update", [Ann], traits: new { tier = "silver" });
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("x.update", [Ann], traits: new { tier = "gold" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(["email:gold-hello"], rig.Sent());
    }

    // segment-boneyard/segment-docs#7236 (re-entry window): a cooldown re-admits her exactly when it has passed, not a
    // tick before, and not only after the previous instance's exit plus the cooldown (ours counts from the start).
    [Fact]
    public async Task ACooldown_ReAdmitsExactlyWhenItHasPassedSinceThePreviousStart()
    {
        var journey = JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"reEntry": "afterCooldown", "cooldown": "P7D"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional", "next": "w"},
                       {"id": "w", "type": "delay", "duration": "P3D"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync("product.viewed", [Ann]);
        await rig.AdvanceToAsync(Start + TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1));
        await rig.TrackAsync("product.viewed", [Ann]);
        Assert.Single(rig.Sent());

        await rig.AdvanceToAsync(Start + TimeSpan.FromDays(7));
        await rig.TrackAsync("product.viewed", [Ann]);
        Assert.Equal(["email:browse", "email:browse"], rig.Sent());
    }

    // margince/margince#5619 (a cap counts what went out) and braze-docs#281: a marketing message refused for want of
    // consent, or dropped in quiet hours, must not use up her frequency cap.
    [Fact]
    public async Task AMessageRefusedForConsentOrDroppedInQuietHours_DoesNotUseUpTheCap()
    {
        await using var rig = JourneyRig.Create([Templates], configure: o =>
        {
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1)));
            o.Delivery.MarketingQuietHours = QuietHoursAction.Drop;
        });
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await Consent(rig, true, "offers");

        await rig.Host.Client.SendAsync(Ann, Marketing("n1", "news", "news")); // opt-in topic never granted
        await rig.Engine.RunDispatchAsync();
        await rig.AdvanceToAsync(Day0.AddHours(22)); // 22:00 UTC: quiet hours
        await rig.Host.Client.SendAsync(Ann, Marketing("o1", "offers", "offers"));
        await rig.Engine.RunDispatchAsync();
        Assert.Empty(rig.Sent());

        await rig.AdvanceToAsync(Day0.AddDays(1).AddHours(9));
        await rig.Host.Client.SendAsync(Ann, Marketing("o2", "offers", "offers"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(["email:offers"], rig.Sent());
    }

    // twentyhq/twenty#26308: a later per-topic change must not lift an earlier global (channel-wide) opt-out.
    [Fact]
    public async Task AChannelWideOptOut_StopsEveryTopic_AndALaterTopicRefusalDoesNotLiftIt()
    {
        await using var rig = JourneyRig.Create([Templates]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await Consent(rig, true, "offers");
        await Consent(rig, true, "news");
        await Consent(rig, false);
        await Consent(rig, false, "news");

        await rig.Host.Client.SendAsync(Ann, Marketing("o1", "offers", "offers"));
        await rig.Host.Client.SendAsync(Ann, Marketing("n1", "news", "news"));
        await rig.Host.Client.SendAsync(Ann, Marketing("p1", "plain", null));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Empty(rig.Sent());
    }

    // twentyhq/twenty#26308 (the other half): unticking every topic one by one is not a global opt-out.
    [Fact]
    public async Task RefusingEveryTopicOneByOne_IsNotAChannelWideOptOut()
    {
        await using var rig = JourneyRig.Create([Templates]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await Consent(rig, true);
        await Consent(rig, false, "offers");
        await Consent(rig, false, "news");

        await rig.Host.Client.SendAsync(Ann, Marketing("o1", "offers", "offers"));
        await rig.Host.Client.SendAsync(Ann, Marketing("n1", "news", "news"));
        await rig.Host.Client.SendAsync(Ann, Marketing("p1", "plain", null));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(["email:plain"], rig.Sent());
    }

    // PostHog/posthog#30579 (future-dated timestamps): an event a few minutes ahead of the clock (inside the accepted
    // skew) counts in a "within 7 days" window from its own time: in once its time comes, out exactly 7 days later.
    [Fact]
    public async Task AnEventStampedAheadOfTheClock_CountsInItsWindowFromItsOwnTime()
    {
        var recent = Segment("""{"id": "recent", "name": "Ordered in 7 days", "rule": {"event": "order.placed", "within": "P7D"}}""");
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(recent));
        var at = Start + TimeSpan.FromMinutes(4);
        var r = await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" }, at: at);
        Assert.Equal(TrackStatus.Accepted, r.Status);

        await host.AdvanceToAsync(at);
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("recent"));
        await host.AdvanceToAsync(at + TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("recent"));
        await host.AdvanceToAsync(at + TimeSpan.FromDays(7));
        var p = await host.ProfileAsync(Ann);
        Assert.False(p.IsInSegment("recent"));
        Assert.Equal(at + TimeSpan.FromDays(7), p.Timeline.Last(t => t.Type == EventTypes.SegmentExited).Timestamp);
    }

    // apache/unomi#160 (UNOMI-336): a past-event count raised by an event whose own timestamp is outside the window.
    [Fact]
    public async Task ABackdatedEventOutsideTheWindow_DoesNotRaiseTheWindowCount()
    {
        var three = Segment("""{"id": "three", "name": "Three orders in 30 days", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 3}, "within": "P30D"}}""");
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(three));
        await host.AdvanceAsync(TimeSpan.FromDays(60));
        var now = Start + TimeSpan.FromDays(60);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "old", total = 10, currency = "GBP" }, at: now - TimeSpan.FromDays(40));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 10, currency = "GBP" });

        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("three"));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o3", total = 10, currency = "GBP" }, at: now - TimeSpan.FromDays(29));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("three"));
        await host.AdvanceToAsync(now + TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("three"));
        await host.AdvanceToAsync(now + TimeSpan.FromDays(1));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("three"));
    }

    // Unomi/Dittofeed "at least N times in a window": with four orders, membership ends when the second-oldest leaves
    // the window (the count drops below three), not when the oldest does, and not at the next batch run.
    [Fact]
    public async Task AtLeastThreeInAWindow_WithFourOrders_EndsWhenTheSecondOldestLeaves()
    {
        var three = Segment("""{"id": "three", "name": "Three orders in 30 days", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 3}, "within": "P30D"}}""");
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(three));
        for (var d = 0; d < 4; d++)
        {
            await host.AdvanceToAsync(Start + TimeSpan.FromDays(d));
            await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o" + d, total = 10, currency = "GBP" });
        }

        await host.AdvanceToAsync(Start + TimeSpan.FromDays(30));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("three"));
        await host.AdvanceToAsync(Start + TimeSpan.FromDays(31) - TimeSpan.FromSeconds(1));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("three"));
        await host.AdvanceToAsync(Start + TimeSpan.FromDays(31));
        var p = await host.ProfileAsync(Ann);
        Assert.False(p.IsInSegment("three"));
        Assert.Equal(Start + TimeSpan.FromDays(31), p.Timeline.Last(t => t.Type == EventTypes.SegmentExited).Timestamp);
    }

    // Local-time sends for a person with no known zone (Braze/Iterable fall back to the company zone): quiet hours are
    // read in DeliveryOptions.DefaultTimeZone, so a message at 04:00 New York waits for 08:00 there, not UTC's morning.
    [Fact]
    public async Task QuietHours_ForAPersonWithNoZone_AreReadInTheDefaultZone()
    {
        await using var rig = JourneyRig.Create([Templates], configure: o =>
        {
            o.Delivery.DefaultTimeZone = "America/New_York";
            o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
        });
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await Consent(rig, true, "offers");
        await rig.Host.Client.SendAsync(Ann, Marketing("o1", "offers", "offers")); // 09:01 UTC = 04:01 New York
        await rig.Engine.RunDispatchAsync();
        await rig.AdvanceToAsync(Day0.AddHours(13) - TimeSpan.FromSeconds(1));
        Assert.Empty(rig.Sent());

        await rig.AdvanceToAsync(Day0.AddHours(13)); // 08:00 New York (EST)
        Assert.Equal(["email:offers"], rig.Sent());
    }
    // braze-inc/braze-docs#75 (a limit is computed when a message is sent, over what she has already received): a
    // limit she sets counts the messages she got before she set it, even when no rule was counting them yet.
    [Fact]
    public async Task HerOwnLimit_SetAfterSomeMessages_CountsTheMessagesSheAlreadyReceived()
    {
        await using var rig = JourneyRig.Create([Templates]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await Consent(rig, true, "offers");
        await rig.Host.Client.SendAsync(Ann, Marketing("o1", "offers", "offers"));
        await rig.AdvanceToAsync(Start + TimeSpan.FromDays(5));
        await rig.Host.Client.SendAsync(Ann, Marketing("o2", "offers", "offers"));
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.PreferencesUpdated, [Ann], new { max_messages = 2, period = "P7D" });

        await rig.AdvanceToAsync(Start + TimeSpan.FromDays(6));
        var third = await rig.Host.Client.SendAsync(Ann, Marketing("o3", "offers", "offers"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(SendStatus.Skipped, third.Status);
        Assert.Equal(["email:offers", "email:offers"], rig.Sent());
    }
    // Shopify-style at-least-once webhooks (an order sent twice under two event ids) starting the order confirmation
    // twice: a journey keyed by order_id with reEntry never confirms each order once, and the next order again.
    [Fact]
    public async Task AnOrderSentTwiceUnderTwoEventIds_StartsAnOrderKeyedJourneyOnce()
    {
        var journey = JourneyRig.Parse("""
            {"id": "confirm", "version": 1, "name": "Confirm", "trigger": {"type": "event", "event": "order.placed"},
             "entry": {"reEntry": "never", "correlationKey": "order_id"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "confirm", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Single(rig.Sent());

        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 10, currency = "GBP" });
        Assert.Equal(2, rig.Sent().Count);
    }

    // The same webhook retried without a correlation key: an order the profile already holds is an update, not a new
    // order (profile statistics, segments, goals and measurement count it once), so it does not start the journey again.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnOrderSentAgainUnderANewEventId_DoesNotStartAnOrderJourneyAgain_InEitherArrivalOrder(bool olderCopyLast)
    {
        var journey = JourneyRig.Parse("""
            {"id": "confirm", "version": 1, "name": "Confirm", "trigger": {"type": "event", "event": "order.placed"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "confirm", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var now = rig.Host.Time.GetUtcNow();
        var first = olderCopyLast ? now : now - TimeSpan.FromMinutes(5);
        var second = olderCopyLast ? now - TimeSpan.FromMinutes(5) : now;
        await rig.Host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" }, at: first);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        await rig.Host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 12, currency = "GBP" }, at: second);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Single(rig.Sent());

        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(2, rig.Sent().Count);
    }

    // The same class in a wait for an order: an order placed before the wait began and sent again during it is not a
    // new order, so it does not answer the wait (goals and exits already read it at its first time).
    [Fact]
    public async Task AnOrderPlacedBeforeAWaitBegan_SentAgainDuringIt_DoesNotAnswerTheWait()
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "thanks"}], "timeout": "P1D", "timeoutNext": "remind"},
                       {"id": "thanks", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional", "next": "end"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" }); // the webhook again
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(["email:remind"], rig.Sent());
    }

    // And in an inactivity clock: "30 days after her order without a visit" is not pushed back by that order sent again.
    [Fact]
    public async Task AnOrderSentAgain_DoesNotRestartAnInactivityClock()
    {
        var journey = JourneyRig.Parse("""
            {"id": "winback", "version": 1, "name": "Win-back", "trigger": {"type": "inactivity", "afterEvent": "order.placed", "noEvent": ["product.viewed"], "within": "P30D"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "miss-you", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var placed = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromDays(20));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" }); // the webhook again
        await rig.AdvanceToAsync(placed + TimeSpan.FromDays(30) + TimeSpan.FromMinutes(1));
        Assert.Equal(["email:miss-you"], rig.Sent());
    }

    // apache/unomi#160 (UNOMI-336), the journey side: a back-dated event already outside a segment's window neither
    // enters the segment (no entered/exited pair) nor starts a journey on entering it.
    [Fact]
    public async Task ABackdatedEventAlreadyOutsideTheWindow_EntersNoSegmentAndStartsNoJourney()
    {
        var recent = Segment("""{"id": "recent", "name": "Viewed in 7 days", "rule": {"event": "product.viewed", "within": "P7D"}}""");
        var journey = JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "segment", "segment": "recent", "on": "entered"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], [recent]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.AdvanceAsync(TimeSpan.FromDays(30));
        var r = await rig.Host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" }, at: rig.Host.Time.GetUtcNow() - TimeSpan.FromDays(8));
        Assert.Equal(TrackStatus.Accepted, r.Status);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Empty(r.SegmentChanges);
        var p = await rig.Host.ProfileAsync(Ann);
        Assert.False(p.IsInSegment("recent"));
        Assert.DoesNotContain(p.Timeline, t => t.Type is EventTypes.SegmentEntered or EventTypes.SegmentExited);
        Assert.Empty(rig.Sent());
    }
    // 2witstudios/PageSpace#913 and Segment's SUPPRESS_WITH_DELETE (which suppresses the userId only): erasing a person
    // who changed her email suppresses and refuses the old address too, not just the one she used last.
    [Fact]
    public async Task Erasure_OfAPersonWhoChangedHerEmail_SuppressesAndRefusesTheOldAddressToo()
    {
        await using var host = OmnichannelTestHost.Create();
        var oldMail = Identifier.Email("ann.old@example.com");
        var newMail = Identifier.Email("ann.new@example.com");
        await host.TrackAsync("user.signed_up", [Ann, oldMail]);
        await host.AdvanceAsync(TimeSpan.FromDays(30));
        await host.TrackAsync("x.update", [Ann, newMail]);

        Assert.True(await host.Client.EraseProfileAsync(newMail));

        Assert.True(await host.Client.IsSuppressedAsync(oldMail));
        Assert.True(await host.Client.IsSuppressedAsync(newMail));
        var refused = await Assert.ThrowsAsync<EventRejectedException>(() => host.TrackAsync("x.visit", [Identifier.Email("ANN.OLD@example.com")]));
        Assert.Equal(TrackStatus.Erased, refused.Result.Status);
        Assert.Null(await host.Client.GetProfileAsync(oldMail));
    }
}
