using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit J2: journeys against bugs reported of comparable systems (late events, waits, batches, merges, versions).</summary>
public sealed class AuditJ2JourneyTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    // Signed up → a day later, wait up to two days for her to open the app; a nudge if she does not.
    private const string Nudge = """
        {"id": "nudge", "version": 1, "name": "Nudge",
         "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [
           {"id": "day", "type": "delay", "duration": "P1D"},
           {"id": "wait", "type": "waitForEvent", "branches": [{"event": "app.opened", "next": "done"}], "timeout": "P2D", "timeoutNext": "mail"},
           {"id": "mail", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional"},
           {"id": "done", "type": "exit"}]}
        """;

    private const string Inactivity = """
        {"id": "abandon", "version": 1, "name": "Abandoned",
         "trigger": {"type": "inactivity", "afterEvent": "cart.item_added", "noEvent": ["order.placed"], "within": "PT1H"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "abandon", "class": "transactional"}]}
        """;

    [Fact]
    public async Task WaitForEvent_AnEventFromBeforeTheWaitBegan_ArrivingLate_DoesNotAnswerIt()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Nudge)]);
        var t0 = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync("user.signed_up", [Known, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromHours(1)); // waiting since t0 + 1 day

        // An app open from two hours after sign-up, synced from an offline phone now: it happened before the wait.
        var r = await rig.Host.Client.TrackAsync(rig.Host.Event("app.opened", [Known], at: t0 + TimeSpan.FromHours(2)));
        Assert.True(r.IsAcknowledged);
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Equal(["email:nudge"], rig.Sent());
    }

    [Fact]
    public async Task WaitForEvent_AnEventInsideTheWait_ArrivingLate_StillAnswersIt()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Nudge)]);
        var t0 = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync("user.signed_up", [Known, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromHours(3));
        var r = await rig.Host.Client.TrackAsync(rig.Host.Event("app.opened", [Known], at: t0 + TimeSpan.FromDays(1) + TimeSpan.FromHours(1)));
        Assert.True(r.IsAcknowledged);
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Empty(rig.Sent());
    }

    [Fact]
    public async Task Inactivity_ACartAndItsOrder_UploadedTogetherLate_SendNoReminder()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Inactivity)]);
        await rig.TrackAsync("user.signed_up", [Known, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        var now = rig.Host.Time.GetUtcNow();

        // An offline phone syncs: a cart add two hours ago and the order placed half an hour after it.
        var results = await rig.Host.Client.TrackBatchAsync(
        [
            rig.Host.Event(EventTypes.CartItemAdded, [Known], new { product_id = "p1" }, at: now - TimeSpan.FromHours(2)),
            rig.Host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 5 }, at: now - TimeSpan.FromMinutes(90)),
        ]);
        Assert.All(results, r => Assert.True(r.IsAcknowledged));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Empty(rig.Sent());
    }

    // Checked and left (documented: what went out before a late event arrived stays sent): a cart arriving alone whose
    // window has already passed fires at once; its order, arriving in a later call, cannot call the reminder back.
    [Fact]
    public async Task Inactivity_ACartArrivingAloneAfterItsWindow_FiresAtOnce_EvenWhenItsOrderFollowsInALaterCall()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Inactivity)]);
        await rig.TrackAsync("user.signed_up", [Known, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        var now = rig.Host.Time.GetUtcNow();
        var cart = rig.Host.Event(EventTypes.CartItemAdded, [Known], new { product_id = "p1" }, at: now - TimeSpan.FromHours(2));
        var order = rig.Host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 5 }, at: now - TimeSpan.FromMinutes(90));
        Assert.True((await rig.Host.Client.TrackAsync(cart)).IsAcknowledged);
        Assert.True((await rig.Host.Client.TrackAsync(order)).IsAcknowledged);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:abandon"], rig.Sent());
    }

    private static readonly DateTimeOffset LateEvening = new(2026, 1, 5, 22, 30, 0, TimeSpan.Zero);

    // The reminder is the journey's last step: the instance completes when it is planned, but quiet hours hold it.
    private const string CartReminder = """
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "exit": [{"event": "order.placed"}],
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart"}]}
        """;

    [Fact]
    public async Task AnExitEvent_AfterTheLastStepWasPlanned_CancelsItsMessageStillHeldForQuietHours()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(CartReminder)], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: LateEvening);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Known, Ann], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2)); // planned at 23:30, held until the morning; the instance completed
        Assert.Empty(rig.Sent());

        await rig.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 5 }); // 00:30: she bought
        await rig.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Empty(rig.Sent());
    }

    [Fact]
    public async Task AnExitEvent_FromBeforeTheJourneyStarted_ArrivingLate_DoesNotCancelTheHeldMessage()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(CartReminder)], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: LateEvening);
        var t0 = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync(EventTypes.ConsentChanged, [Known, Ann], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        var r = await rig.Host.Client.TrackAsync(rig.Host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o0", total = 5 }, at: t0 - TimeSpan.FromDays(1)));
        Assert.True(r.IsAcknowledged);
        await rig.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Equal(["email:cart"], rig.Sent());
    }
}
