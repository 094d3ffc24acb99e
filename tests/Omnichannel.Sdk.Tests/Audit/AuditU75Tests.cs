using System.Globalization;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U75: bug classes from public reports (round 75: journey steps at their boundaries). Waits that land exactly on
/// a quiet-hours edge, a wait until a local time inside quiet hours, cooldowns and goal windows at their exact ends, a
/// journey that finishes before its goal arrives, and a once-ever journey across a new version. Audits U13, U42, U53,
/// JM, JM2 and U59 (and the ones they list) were read first and their cases are not repeated. Every case held; each test
/// names its reports and runs through the public API on the test kit's fake clock.
/// </summary>
public sealed class AuditU75Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static DateTimeOffset At(string instant) => DateTimeOffset.Parse(instant, CultureInfo.InvariantCulture);

    private static async Task<List<DateTimeOffset>> SentAtAsync(JourneyRig rig) =>
        [.. (await rig.Host.ProfileAsync(Ann)).Timeline.Where(t => t.Type == "message.sent").Select(t => t.Timestamp)];

    private static async Task ConsentInLondonAsync(JourneyRig rig) =>
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", granted = true }, context: new EventContext { TimeZone = "Europe/London" });

    // ---- 1. A delay that ends exactly on a quiet-hours edge. WingedGuardian/GENesis-AGI#1959 (a reminder scheduled for
    // the edge of quiet hours held for hours), objectstack-ai/objectstack#1453 (a notification landing inside the window
    // is deferred to the window's end, not later), fedeostan/capo-v1#189 (a message at the start of the night wakes her).
    // Quiet hours are 21:00–08:00 in London (UTC in January): a marketing send whose delay ends at 21:00 sharp is inside
    // them (the start belongs to the night) and goes at 08:00; one whose delay ends at 08:00 sharp goes at 08:00, not a
    // day later (the end belongs to the day). ----
    [Theory]
    [InlineData("2026-01-12T20:00:00Z", "PT1H", "2026-01-13T08:00:00Z")] // lands on the start: held to the end
    [InlineData("2026-01-12T07:00:00Z", "PT1H", "2026-01-12T08:00:00Z")] // lands on the end: goes then
    [InlineData("2026-01-12T20:00:00Z", "PT12H", "2026-01-13T08:00:00Z")] // lands on the next morning's end: goes then
    [InlineData("2026-01-12T20:00:00Z", "PT1H-1S", "2026-01-12T20:59:59Z")] // a second before the start: goes at once
    public async Task ADelayEndingExactlyOnAQuietHoursEdge_StartIsQuiet_EndIsNot(string start, string delay, string expected)
    {
        var duration = delay == "PT1H-1S" ? "PT59M59S" : delay;
        var journey = JourneyRig.Parse($$"""
            {"id": "j", "version": 1, "name": "J", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "d", "type": "delay", "duration": "{{duration}}"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "offer", "topic": "offers"}]}
            """);
        await using var rig = JourneyRig.Create([journey], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: At(start));
        await ConsentInLondonAsync(rig);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        for (var i = 0; i < 96; i++)
        {
            await rig.AdvanceAsync(TimeSpan.FromMinutes(15));
        }

        Assert.Equal([At(expected)], await SentAtAsync(rig));
    }

    // ---- 2. A wait until a local time that falls inside her quiet hours. mautic/mautic#1759 (a campaign sent before
    // its "wait until" time: the time read in the wrong zone), fedeostan/capo-v1#189. "Until 22:00" in London ends at
    // 22:00 her time; the marketing message it leads to is held to 08:00 the next morning, once. ----
    [Fact]
    public async Task AWaitUntilALocalTimeInsideQuietHours_EndsThen_AndItsMessageWaitsForTheMorning()
    {
        var journey = JourneyRig.Parse("""
            {"id": "j", "version": 1, "name": "J", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "w", "type": "delayUntilLocalTime", "localTime": "22:00"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "offer", "topic": "offers"}]}
            """);
        await using var rig = JourneyRig.Create([journey], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: At("2026-01-12T10:00:00Z"));
        await ConsentInLondonAsync(rig);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.AdvanceToAsync(At("2026-01-14T00:00:00Z"));

        var timeline = (await rig.Host.ProfileAsync(Ann)).Timeline;
        Assert.Contains(timeline, t => t.Type == "journey.sent" && t.Timestamp == At("2026-01-12T22:00:00Z"));
        Assert.Equal([At("2026-01-13T08:00:00Z")], await SentAtAsync(rig));
    }

    // ---- 3. A cooldown at its exact end. CarsonHoffman/office-hours-queue#39 (a cooldown that did not hold, or held from
    // the wrong instant), segment-boneyard/segment-docs#7236 (re-entry after a window). "afterCooldown P1D": a trigger a
    // tick before 24 hours after the first entry is refused with the instant it ends; one at 24 hours sharp enters. ----
    [Fact]
    public async Task ACooldown_RefusesATickBeforeItsEnd_AndAdmitsAtItsEnd()
    {
        var journey = JourneyRig.Parse("""
            {"id": "j", "version": 1, "name": "J", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"reEntry": "afterCooldown", "cooldown": "P1D"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], start: At("2026-01-12T10:00:00Z"));
        await rig.TrackAsync("product.viewed", [Ann, AnnMail]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1) - TimeSpan.FromTicks(1));
        await rig.TrackAsync("product.viewed", [Ann, AnnMail]);
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Timeline,
            t => t.Type == "journey.entry_refused" && t.Summary != null && t.Summary.Contains("in cooldown until 2026-01-13 10:00:00Z", StringComparison.Ordinal));
        await rig.AdvanceAsync(TimeSpan.FromTicks(1));
        await rig.TrackAsync("product.viewed", [Ann, AnnMail]);

        Assert.Equal(["email:t", "email:t"], rig.Sent());
        var stats = await rig.Host.Client.GetJourneyStatisticsAsync("j");
        Assert.Equal(2, stats.Entered);
        Assert.Equal(1, stats.EntriesRefused);
    }

    // ---- 4. A goal at the end of its window, and after a journey that finished at once. braze-inc/braze-docs#10078 (a
    // conversion inside the window counts even between messages), PostHog/posthog#33605 (a conversion window that did
    // not count what fell inside it), PostHog/posthog#81288 (a workflow with no delay reported no conversions: the run
    // finished before its goal arrived). The goal is "order within P1D" of the trigger: an order at 24 hours sharp
    // converts, one a tick later does not — both for an instance still waiting and for one that finished at once. ----
    [Theory]
    [InlineData(true, 0, 1)]
    [InlineData(true, 1, 0)]
    [InlineData(false, 0, 1)]
    [InlineData(false, 1, 0)]
    public async Task AGoalAtTheEndOfItsWindow_Converts_ATickLaterDoesNot_RunningOrFinished(bool stillWaiting, long ticksLate, int converted)
    {
        var journey = JourneyRig.Parse($$"""
            {"id": "j", "version": 1, "name": "J", "trigger": {"type": "event", "event": "trial.started"},
             "goal": {"event": "order.placed", "within": "P1D"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}
                       {{(stillWaiting ? """, {"id": "d", "type": "delay", "duration": "P3D"}""" : string.Empty)}}]}
            """);
        await using var rig = JourneyRig.Create([journey], start: At("2026-01-12T10:00:00Z"));
        await rig.TrackAsync("trial.started", [Ann, AnnMail]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromTicks(ticksLate));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 10, currency = "EUR" });

        var stats = await rig.Host.Client.GetJourneyStatisticsAsync("j");
        Assert.Equal(converted, stats.Converted);
        Assert.Equal(stillWaiting && converted == 0 ? 1 : 0, stats.Active);
    }

    // ---- 5. A once-ever journey across a new version. mautic/mautic#842 ("what happens if a lead goes through an entire
    // campaign then is re-added", and after the campaign is edited). `reEntry: never` is once per person for the journey,
    // whatever its version: after version 2 replaces version 1 (the engine restarted on the same store) her next
    // sign-up is refused with the reason, and nothing more is sent. ----
    [Fact]
    public async Task AOnceEverJourney_StaysOnceAcrossANewVersion()
    {
        static JourneyDefinition Version(int v) => JourneyRig.Parse($$"""
            {"id": "j", "version": {{v}}, "name": "J", "trigger": {"type": "event", "event": "user.signed_up"},
             "entry": {"reEntry": "never"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "welcome-v{{v}}", "class": "transactional"}]}
            """);
        var store = new InMemoryOmnichannelStore();
        await using (var first = JourneyRig.Create([Version(1)], start: At("2026-01-12T10:00:00Z"), store: store))
        {
            await first.TrackAsync("user.signed_up", [Ann, AnnMail]);
            Assert.Equal(["email:welcome-v1"], first.Sent());
        }

        await using var second = JourneyRig.Create([Version(2)], start: At("2026-01-13T10:00:00Z"), store: store);
        await second.TrackAsync("user.signed_up", [Ann, AnnMail]);
        Assert.Empty(second.Sent());
        Assert.Contains((await second.Host.ProfileAsync(Ann)).Timeline,
            t => t.Type == "journey.entry_refused" && t.Summary != null && t.Summary.Contains("already entered once", StringComparison.Ordinal));
    }
    // ---- 6. A goal that arrives late, with an earlier time, while the reminder is held for quiet hours.
    // PostHog/posthog#81288 (the run had moved on before its goal arrived, so nothing recorded it), braze-inc/braze-docs#10078
    // (the conversion is the last message step's before it), segment-boneyard/segment-docs#7630 (exit criteria and messages
    // already scheduled). Her cart at 20:00 London; the reminder due at 21:00 is held until 08:00; her phone uploads at
    // 23:00 an order she placed at 20:30 (before the reminder was planned) or at 21:30 (after it). Either way the journey
    // converts once, credits the reminder step only for the order after it, and the held reminder is withdrawn at 08:00
    // ("the journey's goal was reached"): nothing reaches her — with the reminder as the last step (the instance had
    // completed) and with a second reminder two days later (the instance still waiting). ----
    [Theory]
    [InlineData(false, "2026-01-12T20:30:00Z", false)]
    [InlineData(false, "2026-01-12T21:30:00Z", true)]
    [InlineData(true, "2026-01-12T20:30:00Z", false)]
    [InlineData(true, "2026-01-12T21:30:00Z", true)]
    public async Task ALateGoalWithAnEarlierTime_WhileTheReminderIsHeld_ConvertsOnce_AndWithdrawsIt(bool moreSteps, string orderAt, bool creditsTheReminder)
    {
        var journey = JourneyRig.Parse($$"""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "d", "type": "delay", "duration": "PT1H"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "reminder", "topic": "cart"}
                       {{(moreSteps ? """, {"id": "d2", "type": "delay", "duration": "P2D"}, {"id": "s2", "type": "send", "channels": ["email"], "template": "second", "topic": "cart"}""" : string.Empty)}}]}
            """);
        await using var rig = JourneyRig.Create([journey], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: At("2026-01-12T20:00:00Z"));
        await ConsentInLondonAsync(rig);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann, AnnMail], new { product_id = "p1", cart_id = "c1", price = 10, quantity = 1 });
        await rig.AdvanceToAsync(At("2026-01-12T23:00:00Z"));
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync(rig.Host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 10, currency = "EUR" }, at: At(orderAt)))).Status);
        await rig.AdvanceToAsync(At("2026-01-16T00:00:00Z"));

        Assert.Empty(rig.Sent());
        var stats = await rig.Host.Client.GetJourneyStatisticsAsync("cart");
        Assert.Equal(1, stats.Converted);
        Assert.Equal(0, stats.Active);
        var timeline = (await rig.Host.ProfileAsync(Ann)).Timeline;
        Assert.Contains(timeline, t => t.Type == "message.skipped" && t.Timestamp == At("2026-01-13T08:00:00Z")
            && t.Summary != null && t.Summary.Contains("goal was reached", StringComparison.Ordinal));
        Assert.Contains(timeline, t => t.Type == "journey.converted" && t.Summary != null
            && t.Summary.Contains(creditsTheReminder ? "last step s," : "last step -,", StringComparison.Ordinal));
    }
}
