using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U13: bug classes from public reports of comparable systems (round 13: journey features), replayed against the
/// public API on a fake clock: a profile update made by a journey step and the segment-entry journeys and condition exits
/// it concerns, a send step skipped for want of an address, split shares and independence for ids made one
/// after another, waits until a local time in zones with 30- and 45-minute offsets and shifts, an annual date at a time a
/// spring-forward night skips and across the year's end, a wait until a date trait that changes meanwhile, inactivity
/// for people who never did the first thing, a condition exit that becomes true by time alone, a branch reading the
/// trigger's own traits, a segment-exit journey at erasure, and a journey that loops daily for months.
/// </summary>
public sealed class AuditU13Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static SegmentDefinition Segment(string json)
    {
        var r = SegmentJson.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors.Select(e => e.Path + " " + e.Message)));
        return r.Value!;
    }

    // The instants her (only) journey was entered.
    private static async Task<List<DateTimeOffset>> Entered(JourneyRig rig) =>
        [.. (await rig.Host.ProfileAsync(Ann)).Timeline.Where(t => t.Type == "journey.entered").Select(t => t.Timestamp).OrderBy(t => t)];

    // ---- 1. A profile update made by a journey step starts the journey of the segment it puts her in ----
    // mautic/mautic#7338 and #7704 (a contact put into a segment by another campaign's "modify contact's segments" action
    // did not start the campaign whose source is that segment), mautic/mautic#5600 (campaign actions noted but segment
    // membership not acted on). An `updateProfile` step that makes her a VIP puts her in the VIP segment (its
    // `segment.entered` is on her timeline), so the journey triggered by entering it must start, as it does when the host
    // sets the same trait.
    private const string Vip = """{"id": "vip", "name": "VIP", "rule": {"trait": "tier", "op": "eq", "value": "vip"}}""";

    private static readonly string VipWelcome = """
        {"id": "vip-welcome", "version": 1, "name": "VIP welcome", "trigger": {"type": "segment", "segment": "vip", "on": "entered"},
         "steps": [{"id": "welcome", "type": "send", "channels": ["email"], "template": "vip-welcome", "class": "transactional"}]}
        """;

    [Theory]
    [InlineData(false)] // the update runs in the order's own unit of work
    [InlineData(true)] // the update runs at a wake-up, an hour later
    public async Task AProfileUpdateByAJourney_StartsTheJourneyOfTheSegmentItPutsHerIn(bool afterADelay)
    {
        var upgrade = JourneyRig.Parse("""
            {"id": "upgrade", "version": 1, "name": "Upgrade", "trigger": {"type": "event", "event": "order.placed"},
             "steps": [WAIT
                       {"id": "tag", "type": "updateProfile", "set": {"tier": "vip"}}]}
            """.Replace("WAIT", afterADelay ? """{"id": "wait", "type": "delay", "duration": "PT1H"},""" : string.Empty, StringComparison.Ordinal));
        await using var rig = JourneyRig.Create([upgrade, JourneyRig.Parse(VipWelcome)], [Segment(Vip)]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 500, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        var p = await rig.Host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("vip"));
        Assert.Equal(["email:vip-welcome"], rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("vip-welcome")).Entered);
    }

    // The control: the same trait set by the host starts it (so the case above is not empty for want of a journey).
    [Fact]
    public async Task TheSameTraitSetByTheHost_StartsTheVipJourney()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(VipWelcome)], [Segment(Vip)]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { tier = "vip" });
        Assert.Equal(["email:vip-welcome"], rig.Sent());
    }

    // Two journeys that move her into and out of one segment in their own steps (each started by the move the other
    // makes) are bounded as journeys emitting events are: nothing spins in one unit of work, and nothing resumes later.
    [Fact]
    public async Task JourneysThatMoveHerInAndOutOfTheirOwnSegment_DoNotSpin()
    {
        var toVip = JourneyRig.Parse("""
            {"id": "to-vip", "version": 1, "name": "To VIP", "trigger": {"type": "segment", "segment": "vip", "on": "exited"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "up", "class": "transactional"},
                       {"id": "tag", "type": "updateProfile", "set": {"tier": "vip"}}]}
            """);
        var fromVip = JourneyRig.Parse("""
            {"id": "from-vip", "version": 1, "name": "From VIP", "trigger": {"type": "segment", "segment": "vip", "on": "entered"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "down", "class": "transactional"},
                       {"id": "tag", "type": "updateProfile", "set": {"tier": "basic"}}]}
            """);
        await using var rig = JourneyRig.Create([toVip, fromVip], [Segment(Vip)]);
        var r = await rig.Host.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { tier = "vip" });
        Assert.Equal(TrackStatus.Accepted, r.Status);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        // The event's own start, then four rounds of writes answered by the other journey (the bound emitted events
        // have too); then it stops, and time passing starts nothing more.
        Assert.Equal(["email:down", "email:down", "email:down", "email:up", "email:up"], rig.Sent().Order(StringComparer.Ordinal));
        var p = await rig.Host.ProfileAsync(Ann);
        Assert.All(p.Journeys, i => Assert.NotNull(i.WakeAt)); // nothing left running without a wake-up
    }

    // ---- 2. A profile update made by another journey ends an instance whose exit condition it makes true ----
    // Simplero/Roadmap#482 and mautic/mautic#2320 (contacts who met a stop rule still got the next step), mautic/mautic#842
    // (taken out of the source segment by a campaign action, the contact stayed in the campaign): a promotion that exits
    // once she is a VIP must not send its next step after another journey made her one. Condition exits were checked
    // after events and at their own time-dependent checks, never after a journey's own write.
    [Fact]
    public async Task AProfileUpdateByAnotherJourney_EndsAnInstanceWhoseExitConditionItMakesTrue()
    {
        var promo = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "product.viewed"},
             "exit": [{"condition": {"trait": "tier", "op": "eq", "value": "vip"}}],
             "steps": [{"id": "wait", "type": "delay", "duration": "P1D"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "promo", "class": "transactional"}]}
            """);
        var upgrade = JourneyRig.Parse("""
            {"id": "upgrade", "version": 1, "name": "Upgrade", "trigger": {"type": "event", "event": "order.placed"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                       {"id": "tag", "type": "updateProfile", "set": {"tier": "vip"}}]}
            """);
        await using var rig = JourneyRig.Create([promo, upgrade]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync("product.viewed", [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 500, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2)); // the upgrade writes tier = vip
        var stats = await rig.Engine.GetJourneyStatisticsAsync("promo");
        Assert.Equal(0, stats.Active);
        Assert.Equal(1, stats.Exited);

        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Empty(rig.Sent());
    }

    // ---- 3. A send step skipped for want of an address counts as no message ----
    // novuhq/novu#6548 (a channel turned off still got the workflow's step), and Iterable's and Braze's documented
    // attribution of conversions to the last message received. The reminder goes by email; the
    // SMS follow-up is skipped (no phone); her order converts the journey. The skipped step counts as skipped, not sent,
    // the conversion's channel is the email that reached her, and the journey goes on after the skip as after a send.
    // The step credited with the conversion is the last step that ran, the skipped SMS step: the documented rule
    // (design notes, "Journeys (execution)", and JourneyScenarioTests' scenario 1), recorded here as it stands.
    [Fact]
    public async Task ASkippedSend_CountsAsSkippedNotSent_AndTheConversionsChannelIsTheMessageThatReachedHer()
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "cart-mail", "class": "transactional"},
                       {"id": "wait", "type": "delay", "duration": "PT2H"},
                       {"id": "text", "type": "send", "channels": ["sms"], "template": "cart-sms", "class": "transactional"},
                       {"id": "wait-2", "type": "delay", "duration": "P2D"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Equal("wait-2", Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys).StepId);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 40, currency = "GBP" });

        Assert.Equal(["email:cart-mail"], rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(1, stats.Converted);
        Assert.Equal((0L, 1L), (stats.Steps["text"].Sent, stats.Steps["text"].Skipped));
        Assert.Empty(stats.Steps["text"].Channels);
        Assert.Equal(1, stats.Steps["mail"].Sent);
        Assert.Equal(1, stats.ConversionsByChannel[ChannelNames.Email]);
        Assert.False(stats.ConversionsByChannel.ContainsKey(ChannelNames.Sms));
        Assert.Equal(1, stats.Steps["text"].Converted); // the last step that ran (left alone, see the design notes)
    }

    // ---- 4. Split shares for ids made one after another, and two splits independent ----
    // togglz/togglz#104 (gradual rollouts hashed the user alone, so the same users got every feature first),
    // Automattic/wp-calypso#20135 (a modulus on user ids is not random across tests), openflagr/flagr#464 (sample-ratio
    // mismatch from a weak hash), splitrb/split#71 (uneven arms): one split's arm must not predict another's. Profile ids are version-7 GUIDs made one after another on one clock; customer ids are
    // "c0001", "c0002", … Two 50/50 splits, one after the other on the same path, give four cells of about 100 in 400.
    [Fact]
    public async Task TwoSplits_OverSequentialIds_AreEvenAndIndependent()
    {
        var journey = JourneyRig.Parse("""
            {"id": "ab", "version": 1, "name": "AB", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "first", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "mark-a"}, {"name": "b", "weight": 1, "next": "mark-b"}]},
                       {"id": "mark-a", "type": "updateProfile", "set": {"first": "a"}, "next": "second"},
                       {"id": "mark-b", "type": "updateProfile", "set": {"first": "b"}, "next": "second"},
                       {"id": "second", "type": "split", "variants": [{"name": "x", "weight": 1, "next": "is-x"}, {"name": "y", "weight": 1, "next": "is-y"}]},
                       {"id": "is-x", "type": "branch", "branches": [{"condition": {"trait": "first", "op": "eq", "value": "a"}, "next": "ax"}], "else": "bx"},
                       {"id": "is-y", "type": "branch", "branches": [{"condition": {"trait": "first", "op": "eq", "value": "a"}, "next": "ay"}], "else": "by"},
                       {"id": "ax", "type": "send", "channels": ["email"], "template": "ax", "class": "transactional", "next": "end"},
                       {"id": "ay", "type": "send", "channels": ["email"], "template": "ay", "class": "transactional", "next": "end"},
                       {"id": "bx", "type": "send", "channels": ["email"], "template": "bx", "class": "transactional", "next": "end"},
                       {"id": "by", "type": "send", "channels": ["email"], "template": "by", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        const int people = 400;
        for (var i = 1; i <= people; i++)
        {
            await rig.Host.TrackAsync("user.signed_up", [Identifier.CustomerId($"c{i:D4}"), Identifier.Email($"c{i:D4}@example.com")]);
        }

        await rig.Engine.RunDispatchAsync();
        var cells = rig.Sent().GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(people, cells.Values.Sum());
        var sigma = Math.Sqrt(people * 0.25 * 0.75);
        foreach (var cell in new[] { "email:ax", "email:ay", "email:bx", "email:by" })
        {
            Assert.InRange(cells.GetValueOrDefault(cell), people / 4 - 4 * sigma, people / 4 + 4 * sigma);
        }
    }

    // ---- 5. A wait until a local time in zones with 30- and 45-minute offsets, on a night a 30-minute shift skips ----
    // spencermountain/spacetime#464 (Lord Howe's 30-minute DST shift taken as a full hour), d3/d3-time#4 (an hour is not
    // always 60 minutes), davedelong/calendar_fallacies#67 (DST adjustments are not always one hour), and Kathmandu's
    // +05:45 for schedulers that assume whole or half hours.
    // Lord Howe springs forward from 02:00 (+10:30) to 02:30 (+11:00) on 4 October 2026: "until 02:15" that night is the
    // first instant after the gap as far after it as 02:15 lay in it, 02:45 (+11:00), not 03:15; Kathmandu's 09:00 is
    // 03:15 UTC.
    [Theory]
    [InlineData("Australia/Lord_Howe", "02:15", "2026-10-03T12:00:00Z", "2026-10-03T15:45:00Z")]
    [InlineData("Australia/Lord_Howe", "09:00", "2026-10-03T12:00:00Z", "2026-10-03T22:00:00Z")]
    [InlineData("Asia/Kathmandu", "09:00", "2026-01-05T09:00:00Z", "2026-01-06T03:15:00Z")]
    [InlineData("Asia/Kolkata", "09:00", "2026-01-05T09:00:00Z", "2026-01-06T03:30:00Z")]
    public async Task AWaitUntilALocalTime_InAZoneWithAQuarterOrHalfHourOffset_EndsAtThatWallClockTime(string zone, string localTime, string start, string expected)
    {
        var journey = JourneyRig.Parse($$"""
            {"id": "morning", "version": 1, "name": "Morning", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "w", "type": "delayUntilLocalTime", "localTime": "{{localTime}}"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
            """);
        var due = DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture);
        await using var rig = JourneyRig.Create([journey], start: DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = zone });
        await rig.AdvanceToAsync(due - TimeSpan.FromMinutes(1));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(due);
        Assert.Equal(["email:hello"], rig.Sent());
    }

    // ---- 6. An annual date at a time the spring-forward night skips, and a week before a 3 January birthday ----
    // mautic/mautic#6439 (anniversary campaigns), argoproj/argo-workflows#8140 (a schedule at a local time the DST night
    // skips runs once, twice or not at all), and "a week before her birthday" flows across 31 December (date-property
    // flows with negative offsets). New York skips 02:00–03:00 on 8 March
    // 2026: a 02:30 wish fires once at 03:30 EDT; in 2027 (the jump is on 14 March) at 02:30 EST. A week before 3 January
    // at 09:00 London is 27 December, every year, once.
    [Fact]
    public async Task AnAnnualDate_AtATimeTheNightSkips_FiresOnceAtTheShiftedTime_AndAtItsOwnTimeNextYear()
    {
        var journey = JourneyRig.Parse("""
            {"id": "bday", "version": 1, "name": "Birthday", "trigger": {"type": "date", "trait": "birthday", "offset": "P0D", "localTime": "02:30", "annual": true},
             "steps": [{"id": "wish", "type": "send", "channels": ["email"], "template": "wish", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], start: new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "1990-03-08" }, context: new EventContext { TimeZone = "America/New_York" });
        await rig.AdvanceToAsync(new DateTimeOffset(2027, 3, 20, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(
            [new DateTimeOffset(2026, 3, 8, 7, 30, 0, TimeSpan.Zero), new DateTimeOffset(2027, 3, 8, 7, 30, 0, TimeSpan.Zero)],
            await Entered(rig));
        Assert.Equal(["email:wish", "email:wish"], rig.Sent());
    }

    [Fact]
    public async Task AWeekBeforeA3JanuaryBirthday_FiresOn27December_EveryYear_Once()
    {
        var journey = JourneyRig.Parse("""
            {"id": "bday", "version": 1, "name": "Birthday", "trigger": {"type": "date", "trait": "birthday", "offset": "-P7D", "localTime": "09:00", "annual": true},
             "steps": [{"id": "wish", "type": "send", "channels": ["email"], "template": "soon", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], start: new DateTimeOffset(2026, 12, 28, 0, 0, 0, TimeSpan.Zero));
        // Set the day after this year's 27 December: the next is 27 December 2027, not 2028, and not at once.
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "1990-01-03" }, context: new EventContext { TimeZone = "Europe/London" });
        await rig.AdvanceToAsync(new DateTimeOffset(2029, 1, 10, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(
            [new DateTimeOffset(2027, 12, 27, 9, 0, 0, TimeSpan.Zero), new DateTimeOffset(2028, 12, 27, 9, 0, 0, TimeSpan.Zero)],
            await Entered(rig));
    }

    // ---- 7. A wait until a date trait that changes while she waits ----
    // PostHog/posthog#82920 (a delay computed at entry cannot follow an extended trial; a wait until the person's date
    // must re-read it): her renewal moved a month later while the journey waited for "three days before"; the reminder
    // goes three days before the new date, once; then moved into the past, the journey goes on at once (as at the step).
    [Fact]
    public async Task AWaitUntilADateTrait_FollowsTheDateWhenItChanges()
    {
        var journey = JourneyRig.Parse("""
            {"id": "renew", "version": 1, "name": "Renewal", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "w", "type": "delayUntilDateTrait", "trait": "renews_on", "offset": "-P3D", "localTime": "09:00"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "renew", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], start: new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { renews_on = "2026-02-01" }, context: new EventContext { TimeZone = "Europe/London" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 10, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("subscription.changed", [Ann], traits: new { renews_on = "2026-03-01" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 2, 26, 8, 59, 0, TimeSpan.Zero));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 2, 26, 9, 0, 0, TimeSpan.Zero));
        Assert.Equal(["email:renew"], rig.Sent());
    }

    // ---- 8. Inactivity for people who never did the first thing ----
    // Audit Q's Customer.io and Braze community threads ("has not done X"), mautic/mautic#5600 (a campaign on an
    // inactivity segment): a "viewed, then no order within
    // a day" trigger does not start for someone who only signed up, however long she stays; the one who viewed is started
    // once.
    [Fact]
    public async Task AnInactivityTrigger_DoesNotStartForSomeoneWhoNeverDidTheFirstThing()
    {
        var journey = JourneyRig.Parse("""
            {"id": "idle", "version": 1, "name": "Idle", "trigger": {"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["order.placed"], "within": "P1D"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional"}]}
            """);
        var bob = Identifier.CustomerId("bob");
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync("user.signed_up", [bob, Identifier.Email("bob@example.com")]);
        await rig.TrackAsync("product.viewed", [bob], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromDays(60));
        Assert.Equal(["email:nudge"], rig.Sent());
        Assert.DoesNotContain((await rig.Host.ProfileAsync(Ann)).Timeline, t => t.Type.StartsWith("journey.", StringComparison.Ordinal));
    }

    // ---- 9. A condition exit that becomes true by time alone, while she waits ----
    // mautic/mautic#6439 (a segment condition turning false after a day removed contacts mid-campaign — the reverse case)
    // and Braze's "exit criteria are checked throughout" docs: a nurture that exits once she has not been seen for two
    // days ends at that instant, before its third-day send, with no event to prompt the check.
    [Fact]
    public async Task AConditionExitThatBecomesTrueByTimeAlone_EndsTheInstanceBeforeItsNextSend()
    {
        var journey = JourneyRig.Parse("""
            {"id": "nurture", "version": 1, "name": "Nurture", "trigger": {"type": "event", "event": "user.signed_up"},
             "exit": [{"condition": {"stat": "lastSeen", "op": "moreThanAgo", "value": "P2D"}}],
             "steps": [{"id": "wait", "type": "delay", "duration": "P3D"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "tips", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.AdvanceAsync(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(1));
        var stats = await rig.Engine.GetJourneyStatisticsAsync("nurture");
        Assert.Equal(0, stats.Active);
        Assert.Equal(1, stats.Exited);
        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        Assert.Empty(rig.Sent());
    }

    // ---- 10. A branch at the first step reads the traits the trigger event itself set ----
    // dittofeed/dittofeed#272 (a journey read the user's properties from before the identify that triggered it; audit Q
    // pinned the entry condition), novuhq/docs#690 (which value a step's condition reads: the one at trigger or now): the branch right after the trigger sees her plan from the same event.
    [Fact]
    public async Task ABranchAtTheFirstStep_ReadsTheTraitsTheTriggerEventSet()
    {
        var journey = JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "which", "type": "branch",
                        "branches": [{"condition": {"trait": "plan", "op": "eq", "value": "pro"}, "next": "pro"}], "else": "free"},
                       {"id": "pro", "type": "send", "channels": ["email"], "template": "pro", "class": "transactional", "next": "end"},
                       {"id": "free", "type": "send", "channels": ["email"], "template": "free", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { plan = "pro" });
        Assert.Equal(["email:pro"], rig.Sent());
    }

    // ---- 11. A segment-exit journey at erasure ----
    // mautic/mautic#9245 and gitcoinco/web#8850 (deleted people still processed and listed; audit U5 pinned the
    // segments): erasing a VIP takes her out of every segment, but it is
    // no "left the VIP segment" of hers, and a win-back on leaving it sends nothing to the erased person.
    [Fact]
    public async Task ErasingAMemberOfASegment_StartsNoSegmentExitJourney()
    {
        var lapsed = JourneyRig.Parse("""
            {"id": "lost-vip", "version": 1, "name": "Lost VIP", "trigger": {"type": "segment", "segment": "vip", "on": "exited"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "come-back", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([lapsed], [Segment(Vip)]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { tier = "vip" });
        Assert.True(await rig.Engine.EraseProfileAsync(Ann));
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Empty(rig.Sent());
        Assert.Empty(await rig.Engine.GetSegmentMembersAsync("vip"));
    }

    // ---- 12. A journey that loops daily for months ----
    // n8n-io/n8n#15505 (a loop through a Wait node spawned dozens of waits), mautic/mautic#3340 (a burst of overdue
    // sends): a "daily tip" loop sends exactly one
    // tip a day for 120 days, is still running, and its profile keeps a bounded timeline.
    [Fact]
    public async Task ADailyLoop_SendsOneTipADay_ForMonths_WithoutGrowingTheTimeline()
    {
        var journey = JourneyRig.Parse("""
            {"id": "tips", "version": 1, "name": "Tips", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "wait", "type": "delay", "duration": "P1D"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "tip", "class": "transactional", "next": "wait"}]}
            """);
        await using var rig = JourneyRig.Create([journey], configure: o => o.TimelineLength = 100);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        for (var day = 1; day <= 120; day++)
        {
            await rig.AdvanceAsync(TimeSpan.FromDays(1));
            Assert.Equal(day, rig.Sent().Count);
        }

        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Equal("wait", Assert.Single(p.Journeys).StepId);
        // Audit U100: her events and the engine's own entries (the journey's steps) each keep at most the cap.
        Assert.InRange(p.Timeline.Count(t => !StoreParity.AuditU100Scenario.IsEngineEntry(t.Type, t.Channel)), 1, 100);
        Assert.InRange(p.Timeline.Count(t => StoreParity.AuditU100Scenario.IsEngineEntry(t.Type, t.Channel)), 1, 100);
        var stats = await rig.Engine.GetJourneyStatisticsAsync("tips");
        Assert.Equal(120, stats.Steps["s"].Sent);
        Assert.Equal(1, stats.Active);
    }

    // ---- 13. At most N instances per person, per correlation value ----
    // dittofeed/dittofeed#958 (a journey meant to run many times ran once), TycheSoftwares/woocommerce-abandoned-cart#168
    // (one reminder per cart, not per add): with one instance per cart and at most two at a time, a third cart is refused
    // with its reason and counted, a second add to a running cart starts nothing, and a cart whose instance ended can start
    // again.
    [Fact]
    public async Task MaxConcurrentPerCart_RefusesTheThirdCart_WithItsReason_AndAdmitsAgainOnceOneEnds()
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "entry": {"correlationKey": "cart_id", "maxConcurrent": 2},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        foreach (var cart in new[] { "c1", "c2", "c3", "c1" })
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = cart, product_id = "p1", quantity = 1 });
        }

        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(2, stats.Entered);
        Assert.Equal(2, stats.EntriesRefused);
        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Equal(["c1", "c2"], p.Journeys.Select(i => i.CorrelationKey).Order(StringComparer.Ordinal));
        Assert.Contains(p.Timeline, t => t.Type == "journey.entry_refused" && t.Summary!.Contains("max 2", StringComparison.Ordinal));

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(["email:cart", "email:cart"], rig.Sent());
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c3", product_id = "p1", quantity = 1 });
        Assert.Equal(3, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Entered);
    }
}
