using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit D: journeys' entry rules across merges, and journeys while their definitions change.</summary>
public sealed class AuditDJourneyMergeTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    [Fact]
    public async Task AfterCooldown_AnInstanceStartedWithinTheCooldownOfTheOtherProfilesEndedOne_DoesNotGoOnAfterTheMerge()
    {
        // One browse reminder a day at most. Ann browsed as a known customer (that instance already finished), then
        // three hours later on another device under her address alone; then she logs in.
        var journey = JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"reEntry": "afterCooldown", "cooldown": "P1D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT2H"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync(EventTypes.ProductViewed, [Known, Identifier.Email("ann@old.example")], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Equal(1, rig.Sent().Count(s => s == "email:browse"));
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p2" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));

        await rig.TrackAsync("user.logged_in", [Known, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        // Had she been one profile all along, the second view (3 h after the first) would have been refused.
        Assert.Equal(1, rig.Sent().Count(s => s == "email:browse"));
    }
    private static readonly DateTimeOffset LateEvening = new(2026, 1, 5, 22, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task TwoInstancesOfAOnceOnlyJourney_EachHoldingAMessageForQuietHours_SendOneMessageAfterTheMerge()
    {
        var journey = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"reEntry": "never"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "promo"},
                       {"id": "wait", "type": "delay", "duration": "P2D"}]}
            """);
        await using var rig = JourneyRig.Create([journey], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: LateEvening);
        var old = Identifier.Email("ann@old.example");
        await rig.TrackAsync(EventTypes.ConsentChanged, [Known, old], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.ProductViewed, [Known], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p2" });
        Assert.Empty(rig.Sent()); // both held until the morning

        await rig.TrackAsync("user.logged_in", [Known, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(12));

        Assert.Equal(1, rig.Sent().Count(s => s == "email:promo"));
    }

    [Fact]
    public async Task AnExitOfTheKeptInstance_DoesNotCancelAMessageHeldByTheOtherProfilesFinishedInstance()
    {
        // Both profiles numbered their first instance "promo#1". The known profile's finished at once but its message
        // waits for the morning; the address profile's instance is still running when she logs in, then exits. The exit
        // event is timed after the running instance's start and before the finished one's, so only the running instance
        // left by it. (A condition exit holds for the merged person and withdraws the finished instance's held message
        // too since audit U37; an exit event after both starts would as well, audit J2.)
        var journey = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "exit": [{"event": "x.stop"}],
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "promo", "class": "transactional"},
                       {"id": "route", "type": "branch", "branches": [{"condition": {"trait": "tier", "op": "eq", "value": "vip"}, "next": "done"}], "else": "wait"},
                       {"id": "done", "type": "exit"},
                       {"id": "wait", "type": "delay", "duration": "P2D"}]}
            """);
        await using var rig = JourneyRig.Create([journey], configure: o => o.Delivery.TransactionalQuietHours = QuietHoursAction.Defer, start: LateEvening);
        var old = Identifier.Email("ann@old.example");
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p2" });
        Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.ProductViewed, [Known, old], new { product_id = "p1" }, traits: new { tier = "vip" });
        var p = await rig.Host.ProfileAsync(Known);
        Assert.Empty(p.Journeys); // finished; its message is held
        await rig.TrackAsync("user.logged_in", [Known, Ann]);
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync("x.stop", [Ann], at: LateEvening + TimeSpan.FromMinutes(5))).Status);
        await rig.Engine.RunDispatchAsync();
        Assert.Empty((await rig.Host.ProfileAsync(Known)).Journeys);
        await rig.AdvanceAsync(TimeSpan.FromHours(12));

        // The exiting instance's own held message is cancelled (an exit criterion); the finished instance's message was not the exiting instance's to cancel.
        Assert.Equal(1, rig.Sent().Count(s => s == "email:promo"));
    }

    [Fact]
    public async Task PublishingAVersionThatRenamesTheWait_DoesNotWithdrawTheMessageAnEarlierStepAlreadySent()
    {
        // A welcome email planned at 22:30 waits for the morning (quiet hours); the instance moved on to a two-day wait.
        // The marketer publishes v2, renaming that wait: Ann's instance ends, but her welcome email was already sent by
        // the journey (journey.sent on her timeline, counted in the step's statistics) and must still go out.
        var v1 = JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "hello", "type": "send", "channels": ["email"], "template": "welcome"},
                       {"id": "wait", "type": "delay", "duration": "P2D"},
                       {"id": "tips", "type": "send", "channels": ["email"], "template": "tips"}]}
            """);
        var v2 = JourneyRig.Parse("""
            {"id": "welcome", "version": 2, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "hello", "type": "send", "channels": ["email"], "template": "welcome"},
                       {"id": "wait-3d", "type": "delay", "duration": "P3D"},
                       {"id": "tips", "type": "send", "channels": ["email"], "template": "tips"}]}
            """);
        await using var rig = JourneyRig.Create([v1], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: LateEvening);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Known, Ann], new { channel = "email", granted = true });
        await rig.TrackAsync("user.signed_up", [Known]);
        var p = await rig.Host.ProfileAsync(Known);
        Assert.Contains(p.Timeline, t => t.Type == "journey.sent");
        Assert.Empty(rig.Sent());

        await rig.Engine.PublishJourneyAsync(v2);
        await rig.AdvanceAsync(TimeSpan.FromHours(12));

        Assert.Equal(1, rig.Sent().Count(s => s == "email:welcome"));
    }
}
