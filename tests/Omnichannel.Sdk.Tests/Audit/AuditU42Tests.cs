using System.Globalization;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U42: bug classes from public reports (round 42: journeys as marketers run them). Journeys that change what
/// another journey waits for, goals that arrive after the step they precede, re-entry and cooldowns, and what earlier
/// audits pinned (U13, U32, U37, U40) left out; each test names its reports and runs through the public API on the test
/// kit's fake clock.
/// </summary>
public sealed class AuditU42Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-42");
    private static readonly DateTimeOffset Monday = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset At(string instant) => DateTimeOffset.Parse(instant, CultureInfo.InvariantCulture);

    // ---- 1. A trial extended by another journey's step ----
    // PostHog/posthog#82920 (a delay until a date on the person: "stored date moved further out while parked: woke at the
    // old instant, re-parked"), idempiere/idempiere#3337 (a scheduled wait is "recalculated on every run before due
    // activities are resumed; a due or past result completes the wait immediately"), mautic/mautic#7338 and #7704 (what
    // one campaign's action changes on the contact is not acted on by another). A "trial ending" journey waits until a day
    // before `trial_ends_at`, at 09:00; a survey-reward journey's `updateProfile` step moves that date. The README says a
    // journey's write "is read as a trait you set", and a trait the host sets moves the wait (audit U13); the write did not,
    // so "your trial ends tomorrow" went on the old date, three and a half weeks early, or (a date moved into the past)
    // nine days late.
    private const string Trial = """
        {"id": "trial", "version": 1, "name": "Trial ending", "trigger": {"type": "event", "event": "trial.started"},
         "steps": [{"id": "w", "type": "delayUntilDateTrait", "trait": "trial_ends_at", "offset": "-P1D", "localTime": "09:00"},
                   {"id": "s", "type": "send", "channels": ["email"], "template": "trial-ending", "class": "transactional"}]}
        """;

    private static JourneyDefinition Reward(string date, bool afterADelay) => JourneyRig.Parse($$$"""
        {"id": "reward", "version": 1, "name": "Survey reward", "trigger": {"type": "event", "event": "survey.completed"},
         "steps": [{{{(afterADelay ? """{"id": "d", "type": "delay", "duration": "PT1H"},""" : string.Empty)}}}
                   {"id": "set", "type": "updateProfile", "set": {"trial_ends_at": "{{{date}}}"}}]}
        """);

    [Theory]
    [InlineData("2026-02-15", "reward", false, "2026-02-14T09:00:00Z")] // the write runs in the survey's own unit
    [InlineData("2026-02-15", "reward", true, "2026-02-14T09:00:00Z")] // the write runs at a wake-up an hour later
    [InlineData("2026-01-08", "reward", false, "2026-01-09T23:00:00Z")] // moved into the past: the wait ends at once
    [InlineData("2026-02-15", "host", false, "2026-02-14T09:00:00Z")] // control: the host sets the same trait
    public async Task ADateMovedByAnotherJourneysWrite_MovesTheWaitUntilIt(string newDate, string writer, bool afterADelay, string expected)
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Trial), Reward(newDate, afterADelay)], start: Monday);
        await rig.TrackAsync("trial.started", [Ann, AnnMail], traits: new { trial_ends_at = "2026-01-20" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 9, 23, 0, 0, TimeSpan.Zero));
        if (writer == "host")
        {
            await rig.TrackAsync("profile.updated", [Ann], traits: new { trial_ends_at = newDate });
        }
        else
        {
            await rig.TrackAsync("survey.completed", [Ann]);
        }

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var sent = (await rig.Host.ProfileAsync(Ann)).Timeline.Where(t => t.Type == "journey.sent").Select(t => t.Timestamp).ToList();
        Assert.Equal([At(expected)], sent);
        Assert.Equal(["email:trial-ending"], rig.Sent());
    }

    // ---- 2. An order placed before the reminder, heard after it ----
    // braze-inc/braze-docs#10078 (a conversion is "attributed to the last message step" received before it), audit AT
    // (touches are credited by event time, whatever the arrival order). Her phone was offline: the order she placed at
    // 09:30 reaches the engine at 11:00, after the 10:00 reminder went out. The journey's step statistics credited the
    // reminder and its channel with a purchase made before it was sent, so a marketer reading step conversions saw a
    // reminder that "converted" a customer who had already bought. Also for an entry that ended with the reminder (its
    // pending conversion), and for an order under her guest cookie at 09:30 that a login at 11:00 links to her.
    private static JourneyDefinition Cart(bool reminderIsLast) => JourneyRig.Parse($$"""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "goal": {"event": "order.placed", "within": "P7D"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "reminder", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}
                   {{(reminderIsLast ? string.Empty : """, {"id": "later", "type": "delay", "duration": "P2D"}""")}}]}
        """);

    [Theory]
    [InlineData("running", true)]
    [InlineData("ended", true)]
    [InlineData("merged", true)]
    [InlineData("running", false)] // control: an order at 10:30, after the reminder, is the reminder's
    public async Task AnOrderPlacedBeforeTheReminder_HeardAfterIt_IsNotCreditedToTheReminder(string entry, bool beforeTheReminder)
    {
        await using var rig = JourneyRig.Create([Cart(reminderIsLast: entry != "running")], start: Monday);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1, price = 10 });
        var placed = beforeTheReminder ? Monday.AddMinutes(30) : Monday.AddMinutes(90);
        if (entry == "merged")
        {
            await rig.AdvanceToAsync(placed);
            await rig.TrackAsync(EventTypes.OrderPlaced, [Cookie], new { order_id = "o1", total = 10, currency = "GBP" });
        }

        await rig.AdvanceToAsync(Monday.AddHours(2)); // the reminder went at 10:00
        Assert.Equal(["email:cart"], rig.Sent());
        if (entry == "merged")
        {
            await rig.TrackAsync("user.logged_in", [Ann, Cookie]);
        }
        else
        {
            var r = await rig.Host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" }, at: placed);
            Assert.Equal(TrackStatus.Accepted, r.Status);
        }

        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(1, stats.Converted);
        Assert.Equal(beforeTheReminder ? 0 : 1, stats.Steps["reminder"].Converted);
        Assert.Equal(beforeTheReminder ? 0 : 1, stats.ConversionsByChannel.GetValueOrDefault(ChannelNames.Email));
        Assert.Single(rig.Sent());
    }

    // ---- 3. An order placed between two reminders, heard after the second ----
    // The same reports: the step credited is the one that had run when she bought, not none. The e-mail reminder goes at
    // 10:00, the text a day later; the order placed at 15:00 on the first day reaches the engine after the text. The
    // e-mail step and channel take the conversion; the text, sent after she bought, does not.
    [Fact]
    public async Task AnOrderPlacedBetweenTwoReminders_HeardAfterTheSecond_IsCreditedToTheFirst()
    {
        var cart = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"},
                       {"id": "wait-1d", "type": "delay", "duration": "P1D"},
                       {"id": "text", "type": "send", "channels": ["sms"], "template": "cart-sms", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([cart], start: Monday);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail, Identifier.Phone("+447700900142")]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1, price = 10 });
        await rig.AdvanceToAsync(Monday.AddDays(1).AddHours(2)); // e-mail at 10:00, text at 10:00 the next day
        Assert.Equal(["email:cart", "sms:cart-sms"], rig.Sent());
        var r = await rig.Host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" }, at: Monday.AddHours(6));
        Assert.Equal(TrackStatus.Accepted, r.Status);

        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(1, stats.Converted);
        Assert.Equal((1L, 0L), (stats.Steps["mail"].Converted, stats.Steps["text"].Converted));
        Assert.Equal(1, stats.ConversionsByChannel.GetValueOrDefault(ChannelNames.Email));
        Assert.False(stats.ConversionsByChannel.ContainsKey(ChannelNames.Sms));
    }

    // ---- 4. A cooldown and a trigger heard late (pinned; left alone) ----
    // Braze's re-eligibility window and Iterable's "re-enter after" count from when the user entered. A cart added at
    // 09:00 on a phone that syncs at 20:00 starts the journey at 20:00 (the trigger's maxAge is two days), and a cooldown
    // of a day counts from then: a second cart at 10:00 the next day (25 hours after the first by event time, 14 hours
    // after the first message) is refused; one at 20:00 starts. Counting from the event time would let two messages go
    // 14 hours apart under a "once a day" rule: the cooldown keeps its meaning for the person who receives them.
    [Fact]
    public async Task ACooldown_CountsFromWhenTheEngineStartedThePreviousEntry_NotFromItsLateTriggersTime()
    {
        var j = JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "cart.item_added", "maxAge": "P2D"},
             "entry": {"reEntry": "afterCooldown", "cooldown": "P1D"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([j], start: Monday);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.AdvanceAsync(TimeSpan.FromHours(11));
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1, price = 10 }, at: Monday)).Status);
        await rig.Engine.RunDispatchAsync();
        Assert.Single(rig.Sent());

        await rig.AdvanceToAsync(Monday.AddHours(25));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p2", quantity = 1, price = 10 });
        Assert.Single(rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("browse")).EntriesRefused);

        await rig.AdvanceToAsync(Monday.AddHours(35));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p3", quantity = 1, price = 10 });
        Assert.Equal(2, rig.Sent().Count);
    }
}
