using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit Q: journeys and delivery against bug classes from public reports of comparable systems.</summary>
public sealed class AuditQJourneyDeliveryTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+12125550101");

    private static async Task Consent(JourneyRig rig, string channel, bool granted, string? topic = null) =>
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], topic is null ? new { channel, granted } : (object)new { channel, topic, granted });

    // Mautic #6729: a frequency rule applied to one kind of send (segment emails) but not to campaign emails.
    [Fact]
    public async Task AJourneysMarketingSend_CountsAgainstTheSameCap_AsTheHostsOwnSend()
    {
        var journey = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "product.viewed"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "browse", "topic": "offers"}]}
            """);
        await using var rig = JourneyRig.Create([journey], configure: o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1))));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await Consent(rig, "email", true);

        var direct = await rig.Host.Client.SendAsync(Ann, new MessageRequest { Key = "weekly", Channels = [ChannelNames.Email], TemplateId = "browse", Topic = "offers" });
        Assert.Equal(SendStatus.Queued, direct.Status);
        await rig.Engine.RunDispatchAsync();
        await rig.TrackAsync("product.viewed", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(["email:browse"], rig.Sent());
    }

    // novuhq/novu #6548: a channel the subscriber turned off still received the workflow's message.
    [Fact]
    public async Task AJourneySend_WithEmailConsentWithdrawn_GoesBySmsOnly_NeverBoth()
    {
        var journey = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "product.viewed"},
             "steps": [{"id": "s", "type": "send", "channels": ["email", "sms"], "template": "browse", "topic": "offers"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail, AnnPhone]);
        await Consent(rig, "email", true);
        await Consent(rig, "sms", true);
        await Consent(rig, "email", false, "offers");

        await rig.TrackAsync("product.viewed", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(["sms:browse"], rig.Sent());
    }

    // Mautic DNC / Simplero #482: a contact who turns on "do not contact" stays in the automation; the remaining steps
    // must send nothing, while a transactional step of the same journey still goes.
    [Fact]
    public async Task AnOptOutMidJourney_StopsItsLaterMarketingSteps_ButNotATransactionalOne()
    {
        var journey = JourneyRig.Parse("""
            {"id": "series", "version": 1, "name": "Series", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "one", "type": "send", "channels": ["email"], "template": "one", "topic": "newsletter"},
                       {"id": "wait", "type": "delay", "duration": "P1D"},
                       {"id": "two", "type": "send", "channels": ["email"], "template": "two", "topic": "newsletter"},
                       {"id": "three", "type": "send", "channels": ["email"], "template": "three", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.Host.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", granted = true });
        await rig.TrackAsync("user.signed_up", [Ann]);
        Assert.Equal(["email:one"], rig.Sent());

        await rig.TrackAsync(EventTypes.MessageUnsubscribed, [Ann], new { channel = "email" });
        await rig.AdvanceAsync(TimeSpan.FromDays(2));

        Assert.Equal(["email:one", "email:three"], rig.Sent());
    }

    // thirdset/ThirdSetMauticTimingBundle #27: both A/B variants sent to one contact; splits must also stay sticky on re-entry.
    [Fact]
    public async Task ASplitWithAHoldout_IsStickyAcrossReEntries_AndNeverSendsTwoVariants()
    {
        var journey = JourneyRig.Parse("""
            {"id": "ab", "version": 1, "name": "AB", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "steps": [{"id": "split", "type": "split", "controlWeight": 1,
                        "variants": [{"name": "a", "weight": 1, "next": "sa"}, {"name": "b", "weight": 1, "next": "sb"}]},
                       {"id": "sa", "type": "send", "channels": ["email"], "template": "va", "class": "transactional", "next": "end"},
                       {"id": "sb", "type": "send", "channels": ["email"], "template": "vb", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        var seen = new Dictionary<string, List<string>>();
        for (var i = 0; i < 30; i++)
        {
            var id = Identifier.CustomerId("c" + i);
            await rig.TrackAsync("user.signed_up", [id, Identifier.Email($"c{i}@example.com")]);
            for (var round = 0; round < 3; round++)
            {
                rig.Recorder.Clear();
                await rig.TrackAsync("product.viewed", [id]);
                var sent = rig.Sent();
                Assert.True(sent.Count <= 1, string.Join(",", sent));
                (seen.TryGetValue(id.Value, out var l) ? l : seen[id.Value] = []).Add(sent.Count == 0 ? "control" : sent[0]);
            }
        }

        Assert.All(seen.Values, l => Assert.Single(l.Distinct()));
        var arms = seen.Values.Select(l => l[0]).Distinct().ToList();
        Assert.Equal(3, arms.Count);
    }

    // Dittofeed / Customer.io: an entry condition read the profile before the triggering event's own traits.
    [Fact]
    public async Task AnEntryCondition_SeesTheTraitsTheTriggeringEventSets()
    {
        var journey = JourneyRig.Parse("""
            {"id": "gold", "version": 1, "name": "Gold", "trigger": {"type": "event", "event": "user.signed_up"},
             "entry": {"condition": {"trait": "tier", "op": "eq", "value": "gold"}},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "hello-gold", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { tier = "gold" });
        Assert.Equal(["email:hello-gold"], rig.Sent());
    }

    // Mautic campaigns: a contact who already meets the exit rule when the trigger fires got the first email anyway.
    [Fact]
    public async Task AnExitCondition_AlreadyTrueAtEntry_SendsNothing()
    {
        var journey = JourneyRig.Parse("""
            {"id": "nudge", "version": 1, "name": "Nudge", "trigger": {"type": "event", "event": "product.viewed"},
             "exit": [{"condition": {"trait": "vip", "op": "eq", "value": "yes"}}],
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { vip = "yes" });
        await rig.TrackAsync("product.viewed", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Empty(rig.Sent());
    }

    // Dittofeed: a wait-for that fires on an event seen before the wait began.
    [Fact]
    public async Task AWaitForEvent_IgnoresTheSameEventSeenDuringAnEarlierDelay()
    {
        var journey = JourneyRig.Parse("""
            {"id": "w", "version": 1, "name": "W", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "d", "type": "delay", "duration": "P1D"},
                       {"id": "wait", "type": "waitForEvent", "branches": [{"event": "app.opened", "next": "opened"}], "timeout": "P2D", "timeoutNext": "nudge"},
                       {"id": "opened", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional", "next": "end"},
                       {"id": "nudge", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        await rig.TrackAsync("app.opened", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Empty(rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(["email:nudge"], rig.Sent());
    }

    // Dittofeed: a wait-for timed out one tick late / early: the timeout lands exactly at start + timeout.
    [Fact]
    public async Task AWaitForEvent_TimesOutExactlyAtItsTimeout()
    {
        var journey = JourneyRig.Parse("""
            {"id": "w", "version": 1, "name": "W", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "wait", "type": "waitForEvent", "branches": [{"event": "app.opened", "next": "end"}], "timeout": "PT6H", "timeoutNext": "nudge"},
                       {"id": "nudge", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.AdvanceAsync(TimeSpan.FromHours(6) - TimeSpan.FromTicks(1));
        Assert.Empty(rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromTicks(1));
        Assert.Equal(["email:nudge"], rig.Sent());
    }

    // Customer.io / Braze community: an inactivity trigger kept firing every window after one visit.
    [Fact]
    public async Task AnInactivityTrigger_FiresOncePerVisit_NotEveryWindowAfter()
    {
        var journey = JourneyRig.Parse("""
            {"id": "idle", "version": 1, "name": "Idle", "trigger": {"type": "inactivity", "afterEvent": "app.opened", "noEvent": ["order.placed"], "within": "P1D"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "miss-you", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync("app.opened", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(6));
        Assert.Equal(["email:miss-you"], rig.Sent());

        // A visit followed by an order never fires.
        await rig.TrackAsync("app.opened", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(23));
        await rig.TrackAsync("order.placed", [Ann], new { order_id = "o1", total = 10 });
        await rig.AdvanceAsync(TimeSpan.FromDays(6));
        Assert.Equal(["email:miss-you"], rig.Sent());
    }

    // Mautic frequency rules per channel: an SMS cap must not hold back an email, nor a topic cap another topic.
    [Fact]
    public async Task AChannelCapAndATopicCap_HoldBackOnlyTheirOwnMessages()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse("""
            {"id": "x", "version": 1, "name": "X", "trigger": {"type": "event", "event": "never.happens"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
            """)], configure: o =>
        {
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1), ChannelNames.Sms));
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(7), Topic: "newsletter"));
        });
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail, AnnPhone]);
        await Consent(rig, "email", true);
        await Consent(rig, "sms", true);

        async Task<SendStatus> Send(string key, string channel, string topic) =>
            (await rig.Host.Client.SendAsync(Ann, new MessageRequest { Key = key, Channels = [channel], TemplateId = "t", Topic = topic })).Status;

        Assert.Equal(SendStatus.Queued, await Send("s1", ChannelNames.Sms, "offers"));
        Assert.Equal(SendStatus.Skipped, await Send("s2", ChannelNames.Sms, "offers"));
        Assert.Equal(SendStatus.Queued, await Send("e1", ChannelNames.Email, "offers"));
        Assert.Equal(SendStatus.Queued, await Send("n1", ChannelNames.Email, "newsletter"));
        Assert.Equal(SendStatus.Skipped, await Send("n2", ChannelNames.Email, "newsletter"));
        Assert.Equal(SendStatus.Queued, await Send("e2", ChannelNames.Email, "offers"));
    }

    // "Wait until Monday 09:00" reports: started on a Monday after 09:00 it must wait a week, before 09:00 only until 09:00.
    [Theory]
    [InlineData(8, 1)] // Monday 08:00 New York → 09:00 the same day
    [InlineData(10, 168 - 2)] // Monday 10:00 EST → next Monday 09:00 EDT (New York springs forward on 8 March 2026)
    public async Task AWaitUntilAWeekdayAndTime_StartedThatDay_EndsAtTheRightMonday(int localHour, int hoursToWait)
    {
        var journey = JourneyRig.Parse("""
            {"id": "mon", "version": 1, "name": "Mon", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "w", "type": "delayUntilLocalTime", "localTime": "09:00", "days": ["monday"]},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "digest", "class": "transactional"}]}
            """);
        var start = new DateTimeOffset(2026, 3, 2, localHour + 5, 0, 0, TimeSpan.Zero); // Monday 2 March, New York is UTC-5
        await using var rig = JourneyRig.Create([journey], start: start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = "America/New_York" });
        await rig.AdvanceToAsync(start + TimeSpan.FromHours(hoursToWait) - TimeSpan.FromMinutes(1));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(start + TimeSpan.FromHours(hoursToWait));
        Assert.Equal(["email:digest"], rig.Sent());
    }
}
