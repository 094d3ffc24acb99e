using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U53: bug classes from public reports (round 53: journey re-entry and exit when a profile re-qualifies or
/// merges mid-journey, and a profile's export right after a merge or an erasure). Public API only, the test kit's fake
/// clock, in-memory store.
/// </summary>
public sealed class AuditU53Tests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-53");

    private static readonly Identifier Ann = Identifier.CustomerId("ann-53");

    private static readonly Identifier AnnEmail = Identifier.Email("ann53@example.com");

    private static JourneyDefinition Journey(string id, string trigger, string entry = "{}", string exit = "[]", string steps = """[{"id": "s", "type": "send", "channels": ["email"], "template": "T", "class": "transactional"}]""") =>
        JourneyRig.Parse($$"""
            {"id": "{{id}}", "version": 1, "name": "{{id}}", "trigger": {{trigger}}, "entry": {{entry}}, "exit": {{exit}},
             "steps": {{steps.Replace("\"T\"", "\"" + id + "\"", StringComparison.Ordinal)}}}
            """);

    private static int Count(JourneyRig rig, string template) => rig.Sent().Count(s => s == "email:" + template);

    // ---- 1. Re-entering gives two schedules for one person (mautic/mautic#9797) ----
    // A form submitted twice while her first run waits out its day: one run, one message. Once it has ended, the same
    // form starts a second run (afterPreviousEnded), again with exactly one message.
    [Fact]
    public async Task ATriggerRepeatedWhileWaiting_KeepsOneRun_AndReEntersOnlyAfterItEnded()
    {
        await using var rig = JourneyRig.Create([Journey("form", """{"type": "event", "event": "form.submitted"}""",
            steps: """[{"id": "wait", "type": "delay", "duration": "P1D"}, {"id": "s", "type": "send", "channels": ["email"], "template": "T", "class": "transactional"}]""")], start: Start);
        await rig.TrackAsync("profile.updated", [Ann, AnnEmail]);
        await rig.TrackAsync("form.submitted", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("form.submitted", [Ann]);
        Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys);
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Equal(1, Count(rig, "form"));
        Assert.Empty((await rig.Host.ProfileAsync(Ann)).Journeys);

        await rig.TrackAsync("form.submitted", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Equal(2, Count(rig, "form"));
    }

    // ---- 2. A merge re-sends notifications for what each record already had (SuiteCRM/SuiteCRM#8368) ----
    // Her guest profile (a cookie) and her account each went through a once-ever welcome; the login that joins them
    // starts nothing, sends nothing, and a later sign-up event (a replayed form) does not start it again — whichever
    // profile absorbs the other. (A guest profile that already holds another email is a shared device, not a merge:
    // audit U44.)
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AMergeOfTwoProfilesThatBothWentThroughAOnceEverJourney_StartsAndSendsNothingMore(bool accountFirst)
    {
        await using var rig = JourneyRig.Create([Journey("welcome", """{"type": "event", "event": "user.signed_up"}""", entry: """{"reEntry": "never"}""")], start: Start);
        async Task Guest() => await rig.TrackAsync("user.signed_up", [Cookie]);
        async Task Account() => await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        if (accountFirst)
        {
            await Account();
            await Guest();
        }
        else
        {
            await Guest();
            await Account();
        }

        Assert.Equal(2L, (await rig.Engine.GetJourneyStatisticsAsync("welcome")).Entered);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.logged_in", accountFirst ? [Ann, Cookie] : [Cookie, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.signed_up", [Ann]);
        await rig.TrackAsync("user.signed_up", [Cookie]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(1, Count(rig, "welcome"));
        Assert.Equal(2L, (await rig.Engine.GetJourneyStatisticsAsync("welcome")).Entered);
    }

    // ---- 3. Re-entry after a cooldown counts the newest start of either merged profile (segment-docs#7236) ----
    // A 30-day cooldown: the guest entered on day 0, the account on day 20; they merge on day 25. On day 35 the guest's
    // start is 35 days old but the account's only 15: she must not enter. On day 51 (31 days after the newest) she does.
    // (The guest has no address, so only the account's run and the last one send.)
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ACooldownAfterAMerge_CountsFromTheNewestStartOfEitherProfile(bool loginNamesAccountFirst)
    {
        await using var rig = JourneyRig.Create([Journey("browse", """{"type": "event", "event": "product.viewed"}""", entry: """{"reEntry": "afterCooldown", "cooldown": "P30D"}""")], start: Start);
        await rig.TrackAsync("product.viewed", [Cookie]);
        await rig.AdvanceAsync(TimeSpan.FromDays(20));
        await rig.TrackAsync("product.viewed", [Ann, AnnEmail]);
        Assert.Equal(2L, (await rig.Engine.GetJourneyStatisticsAsync("browse")).Entered);
        await rig.AdvanceAsync(TimeSpan.FromDays(5));
        await rig.TrackAsync("user.logged_in", loginNamesAccountFirst ? [Ann, Cookie] : [Cookie, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(10));
        await rig.TrackAsync("product.viewed", [Cookie]);
        Assert.Equal(2L, (await rig.Engine.GetJourneyStatisticsAsync("browse")).Entered);
        Assert.Equal(1, Count(rig, "browse"));
        await rig.AdvanceAsync(TimeSpan.FromDays(16));
        await rig.TrackAsync("product.viewed", [Ann]);
        Assert.Equal(3L, (await rig.Engine.GetJourneyStatisticsAsync("browse")).Entered);
        Assert.Equal(2, Count(rig, "browse"));
    }

    // ---- 4. Two waiting runs of one journey merge into one person (mautic/mautic#9797, merged contacts) ----
    // The guest and the account each wait in the abandoned-browse journey (one at a time); after the login joins them
    // she is sent its message once, not once per former profile.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TwoWaitingRunsOfOneJourney_JoinedByAMerge_SendOnce(bool loginNamesAccountFirst)
    {
        await using var rig = JourneyRig.Create([Journey("nudge", """{"type": "event", "event": "product.viewed"}""",
            steps: """[{"id": "wait", "type": "delay", "duration": "PT6H"}, {"id": "s", "type": "send", "channels": ["email"], "template": "T", "class": "transactional"}]""")], start: Start);
        await rig.TrackAsync("product.viewed", [Cookie]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("product.viewed", [Ann, AnnEmail]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.logged_in", loginNamesAccountFirst ? [Ann, Cookie] : [Cookie, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(1, Count(rig, "nudge"));
        Assert.Empty((await rig.Host.ProfileAsync(Ann)).Journeys);
    }

    // ---- 5. Exit criteria met through a merge (braze-inc/braze-docs#10341: "users who match ... exit and won't receive any further messaging") ----
    // The guest (a cookie) waits a day in a "finish your sign-up" reminder that exits on the condition "has ordered".
    // The order was placed on her account. When the login joins them the condition holds, so the run ends and no
    // reminder goes to the account's address; without the merge the guest's run completes (it has no address).
    // (An exit *event* under the other profile is audit JM.)
    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task AnExitConditionMetThroughAMerge_EndsTheRun_AndNothingIsSent(bool merge, bool loginNamesAccountFirst)
    {
        await using var rig = JourneyRig.Create([Journey("remind", """{"type": "event", "event": "product.viewed"}""",
            exit: """[{"condition": {"stat": "orderCount", "op": "gte", "value": 1}}]""",
            steps: """[{"id": "wait", "type": "delay", "duration": "P1D"}, {"id": "s", "type": "send", "channels": ["email"], "template": "T", "class": "transactional"}]""")], start: Start);
        await rig.TrackAsync("product.viewed", [Cookie]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann, AnnEmail], new { order_id = "o-53", total = 20, currency = "EUR" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        if (merge)
        {
            await rig.TrackAsync("user.logged_in", loginNamesAccountFirst ? [Ann, Cookie] : [Cookie, Ann]);
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Equal(0, Count(rig, "remind"));
        var stats = await rig.Engine.GetJourneyStatisticsAsync("remind");
        Assert.Equal((1L, merge ? 1L : 0L, merge ? 0L : 1L), (stats.Entered, stats.Exited, stats.Completed));
    }

    // ---- 6. Re-qualifying for a segment while still in its journey (dittofeed/dittofeed#958, segment-docs#7236) ----
    // A journey on entry to "vip" (afterPreviousEnded): she leaves and re-enters the segment while her run waits — no
    // second run; after her run has ended, leaving and re-entering starts one again.
    [Fact]
    public async Task ReQualifyingForASegment_WhileInItsJourney_DoesNotStartASecondRun_ButDoesAfterItEnded()
    {
        var vip = SegmentJson.Parse("""{"id": "vip", "name": "vip", "rule": {"trait": "tier", "op": "eq", "value": "vip"}}""").Value!;
        await using var rig = JourneyRig.Create([Journey("vip-welcome", """{"type": "segment", "segment": "vip", "on": "entered"}""",
            steps: """[{"id": "wait", "type": "delay", "duration": "P2D"}, {"id": "s", "type": "send", "channels": ["email"], "template": "T", "class": "transactional"}]""")], [vip], start: Start);
        await rig.TrackAsync("profile.updated", [Ann, AnnEmail], traits: new { tier = "vip" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("profile.updated", [Ann], traits: new { tier = "basic" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("profile.updated", [Ann], traits: new { tier = "vip" });
        Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys);
        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        Assert.Equal(1, Count(rig, "vip-welcome"));

        await rig.TrackAsync("profile.updated", [Ann], traits: new { tier = "basic" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("profile.updated", [Ann], traits: new { tier = "vip" });
        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        Assert.Equal(2, Count(rig, "vip-welcome"));
    }

    // ---- 7. The export right after a merge holds both records' data (SORMAS-Project#8033, pimcore/pimcore#2612) ----
    // Account: an order and an email consent; an hour later, the guest: a cart line and a page view. Right after the
    // login joins them,
    // the export asked by either former identifier is one document naming both identifiers, the order, the cart line,
    // the consent, the merge, and both former profiles' timeline entries — whichever profile absorbs the other.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheExportRightAfterAMerge_HoldsBothProfilesData_ByEitherIdentifier(bool loginNamesAccountFirst)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann, AnnEmail], new { order_id = "o-53", total = 20, currency = "EUR" });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync(EventTypes.CartItemAdded, [Cookie], new { product_id = "lamp-53", quantity = 1, price = 30 });
        await host.TrackAsync("page.viewed", [Cookie], new { path = "/lamps" });
        await host.TrackAsync("user.logged_in", loginNamesAccountFirst ? [Ann, Cookie] : [Cookie, Ann]);

        var byCookie = (await host.Client.ExportProfileAsync(Cookie))!;
        var byAccount = (await host.Client.ExportProfileAsync(AnnEmail))!;
        Assert.Equal(byCookie["id"]!.GetValue<string>(), byAccount["id"]!.GetValue<string>());
        var text = byCookie.ToJsonString();
        foreach (var needle in new[] { "cookie-53", "ann-53", "ann53@example.com", "lamp-53", "o-53" })
        {
            Assert.Contains(needle, text, StringComparison.Ordinal);
        }

        Assert.Single(byCookie["merges"]!.AsArray());
        Assert.Contains(byCookie["timeline"]!.AsArray(), t => t!["type"]!.GetValue<string>() == "page.viewed");
        Assert.Contains(byCookie["consents"]!.AsArray(), c => c!["channel"]!.GetValue<string>() == "email" && c["granted"]!.GetValue<bool>());
        var profile = await host.ProfileAsync(Cookie);
        Assert.Equal(1, profile.Statistics.OrderCount);
        Assert.Single(profile.Cart);
    }

    // ---- 8. The export right after an erasure of a merged profile (PostHog batch-export FAQ, posthog.com#8489) ----
    // After the merge, erasing her by the account's id leaves nothing to export by any identifier either former profile
    // held, and a late guest event carrying the old cookie is refused rather than re-creating an exportable profile.
    [Fact]
    public async Task TheExportRightAfterErasingAMergedProfile_IsEmptyForEveryFormerIdentifier()
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        await host.TrackAsync(EventTypes.CartItemAdded, [Cookie], new { product_id = "lamp-53", quantity = 1, price = 30 });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann, AnnEmail], new { order_id = "o-53", total = 20, currency = "EUR" });
        await host.TrackAsync("user.logged_in", [Cookie, Ann]);
        Assert.True(await host.Client.EraseProfileAsync(Ann));

        foreach (var id in new[] { Cookie, Ann, AnnEmail })
        {
            Assert.Null(await host.Client.ExportProfileAsync(id));
            Assert.Null(await host.Client.GetProfileAsync(id));
        }

        var late = await host.Client.TrackAsync(host.Event("page.viewed", [Cookie], new { path = "/lamps" }, at: Start.AddMinutes(-5)));
        Assert.Equal(TrackStatus.Erased, late.Status);
        Assert.Null(await host.Client.ExportProfileAsync(Cookie));
    }

    // ---- 9. A merge turns a subscribed person into an unsubscribed one, or back (SuiteCRM/SuiteCRM#7132) ----
    // The guest opted out of "offers" at 10:00; the account opted in at 11:00 (and every other mix of who decided what
    // when; the account's decision sent second, by arrival, in every case). After the merge the
    // newest decision holds in the profile and in the export alike, whichever profile absorbs the other, and a marketing
    // journey on "offers" messages her only when the newest decision was a grant.
    [Theory]
    [InlineData(true, true, false)]
    [InlineData(true, true, true)]
    [InlineData(true, false, false)]
    [InlineData(true, false, true)]
    [InlineData(false, true, false)]
    [InlineData(false, true, true)]
    [InlineData(false, false, false)]
    [InlineData(false, false, true)]
    public async Task ConflictingTopicConsentsJoinedByAMerge_KeepTheNewestDecision_InProfileExportAndSends(bool grantIsNewer, bool newestOnAccount, bool loginNamesAccountFirst)
    {
        var offer = Journey("offer", """{"type": "event", "event": "promo.started"}""",
            steps: """[{"id": "s", "type": "send", "channels": ["email"], "template": "T", "topic": "offers"}]""");
        await using var rig = JourneyRig.Create([offer], start: Start);
        var host = rig.Host;
        var guestAt = Start.AddHours(newestOnAccount ? 1 : 2);
        var accountAt = Start.AddHours(newestOnAccount ? 2 : 1);
        var guestGrants = newestOnAccount ? !grantIsNewer : grantIsNewer;
        await host.AdvanceAsync(TimeSpan.FromHours(3));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Cookie], new { channel = "email", topic = "offers", granted = guestGrants }, at: guestAt));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann, AnnEmail], new { channel = "email", topic = "offers", granted = !guestGrants }, at: accountAt));
        await rig.TrackAsync("user.logged_in", loginNamesAccountFirst ? [Ann, Cookie] : [Cookie, Ann]);

        var profile = await host.ProfileAsync(Ann);
        var consent = profile.GetConsent("email", "offers");
        Assert.NotNull(consent);
        Assert.Equal(grantIsNewer, consent!.Granted);
        var export = (await host.Client.ExportProfileAsync(Cookie))!;
        var exported = export["consents"]!.AsArray().Where(c => c!["channel"]!.GetValue<string>() == "email" && c["topic"]?.GetValue<string>() == "offers").ToList();
        Assert.Single(exported);
        Assert.Equal(grantIsNewer, exported[0]!["granted"]!.GetValue<bool>());

        await rig.TrackAsync("promo.started", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(grantIsNewer ? 1 : 0, Count(rig, "offer"));
    }

    // ---- 10. One run per cart after a merge (mautic/mautic#9797, with a correlation key) ----
    // A reminder per cart (correlated by cart_id). The guest and the account both added to cart K1 (the same cart, on
    // two devices) and the account also to K2; after the login joins them, one reminder per cart: two, not three.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CorrelatedRunsOfTheSameCart_JoinedByAMerge_SendOncePerCart(bool loginNamesAccountFirst)
    {
        await using var rig = JourneyRig.Create([Journey("cart", """{"type": "event", "event": "cart.item_added"}""", entry: """{"correlationKey": "cart_id"}""",
            steps: """[{"id": "wait", "type": "delay", "duration": "PT6H"}, {"id": "s", "type": "send", "channels": ["email"], "template": "T", "class": "transactional"}]""")], start: Start);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Cookie], new { cart_id = "K1", product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann, AnnEmail], new { cart_id = "K1", product_id = "p2" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "K2", product_id = "p3" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync("user.logged_in", loginNamesAccountFirst ? [Ann, Cookie] : [Cookie, Ann]);
        Assert.Equal(2, (await rig.Host.ProfileAsync(Ann)).Journeys.Count);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(2, Count(rig, "cart"));
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal((3L, 2L, 0L), (stats.Entered, stats.Completed, stats.Active));
    }

    // ---- 11. A merge that qualifies her starts the segment's journey once (PostHog/posthog#70109, #14051) ----
    // "repeat buyers" (two orders or more): the guest ordered once, the account once. The login that joins them makes
    // her a member, and the journey on entry sends once, whichever profile absorbs the other; a third order (still a
    // member) starts nothing.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AMergeThatQualifiesHerForASegment_StartsItsJourneyOnce(bool loginNamesAccountFirst)
    {
        var repeat = SegmentJson.Parse("""{"id": "repeat", "name": "repeat", "rule": {"stat": "orderCount", "op": "gte", "value": 2}}""").Value!;
        await using var rig = JourneyRig.Create([Journey("thanks", """{"type": "segment", "segment": "repeat", "on": "entered"}""")], [repeat], start: Start);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Cookie], new { order_id = "o-1", total = 5 });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann, AnnEmail], new { order_id = "o-2", total = 5 });
        Assert.Empty(rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync("user.logged_in", loginNamesAccountFirst ? [Ann, Cookie] : [Cookie, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(["email:thanks"], rig.Sent());
        Assert.Contains((await rig.Host.ProfileAsync(Cookie)).Segments, m => m.SegmentId == "repeat");
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-3", total = 5 });
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(["email:thanks"], rig.Sent());
    }

    // ---- 12. A goal window across a DST change in her zone (GrantDecay#4, duckduckgo-privacy-extension#2950) ----
    // IsoDuration documents calendar days in UTC, so a one-day goal window is 24 hours whatever her zone does: she
    // lives in London and the clocks go forward on 29 March 2026. Started at 12:00 UTC on the 28th, an order 23 h 59 min
    // later converts; one 24 h 1 min later does not.
    [Theory]
    [InlineData(23 * 60 + 59, true)]
    [InlineData(24 * 60 + 1, false)]
    public async Task AOneDayGoalWindow_AcrossADstChangeInHerZone_IsTwentyFourHours(int orderAfterMinutes, bool converts)
    {
        var start = new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero);
        await using var rig = JourneyRig.Create([JourneyRig.Parse("""
            {"id": "nudge", "version": 1, "name": "nudge", "trigger": {"type": "event", "event": "product.viewed"},
             "goal": {"event": "order.placed", "within": "P1D"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional"},
                       {"id": "wait", "type": "delay", "duration": "P3D"}]}
            """)], start: start);
        await rig.TrackAsync("product.viewed", [Ann, AnnEmail], context: new EventContext { TimeZone = "Europe/London" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(orderAfterMinutes));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-53", total = 20, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromDays(4));
        Assert.Equal(converts ? 1L : 0L, (await rig.Engine.GetJourneyStatisticsAsync("nudge")).Converted);
    }

    // ---- 13. Exit criteria already met when she (re-)enters (braze-inc/braze-docs#10341, segment-docs#7630) ----
    // A journey whose first step sends at once and that exits on "has ordered": a trigger from someone who already
    // ordered sends nothing — also when the trigger event is the one that merges her guest cookie into the account that
    // holds the order. An order after the first message ends the run before the second.
    [Theory]
    [InlineData("ordered-before")]
    [InlineData("merged-by-the-trigger")]
    [InlineData("ordered-after-entry")]
    public async Task AnExitConditionAlreadyMet_StopsTheRunBeforeItsFirstMessage(string scenario)
    {
        await using var rig = JourneyRig.Create([Journey("first", """{"type": "event", "event": "product.viewed"}""",
            exit: """[{"condition": {"stat": "orderCount", "op": "gte", "value": 1}}]""",
            steps: """[{"id": "s", "type": "send", "channels": ["email"], "template": "T", "class": "transactional"}, {"id": "w", "type": "delay", "duration": "P1D"}, {"id": "s2", "type": "send", "channels": ["email"], "template": "second", "class": "transactional"}]""")], start: Start);
        if (scenario == "ordered-after-entry")
        {
            await rig.TrackAsync("product.viewed", [Ann, AnnEmail]);
            await rig.AdvanceAsync(TimeSpan.FromHours(1));
            await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-53", total = 20 });
        }
        else
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Ann, AnnEmail], new { order_id = "o-53", total = 20 });
            await rig.AdvanceAsync(TimeSpan.FromHours(1));
            if (scenario == "merged-by-the-trigger")
            {
                await rig.TrackAsync("page.viewed", [Cookie]);
                await rig.TrackAsync("product.viewed", [Cookie, Ann]);
            }
            else
            {
                await rig.TrackAsync("product.viewed", [Ann]);
            }
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Equal(scenario == "ordered-after-entry" ? ["email:first"] : [], rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("first");
        Assert.Equal((1L, 1L, 0L), (stats.Entered, stats.Exited, stats.Completed));
    }
}
