using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Property soak A (thirty-fourth session): the latent failures a tenfold soak of the FsCheck properties looked for, and a
/// hostile review of 31d706e (a merge renumbers the other side's instances whose number this profile may have issued).
/// </summary>
public sealed class PropertySoakATests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    private static JourneyDefinition Welcome(string within = "P7D") => JourneyRig.Parse($$"""
        {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
         "entry": {"reEntry": "afterPreviousEnded"}, "goal": {"event": "order.placed", "within": "{{within}}"},
         "steps": [{"id": "w", "type": "send", "channels": ["email"], "template": "welcome-1", "class": "transactional"},
                   {"id": "wait", "type": "delay", "duration": "PT2H"},
                   {"id": "w2", "type": "send", "channels": ["email"], "template": "welcome-2", "class": "transactional"}]}
        """);

    // The journey's conversion record (the instance's own step entry "journey.converted" carries its origin profile).
    private static bool Conversion(TimelineEntry t) => t.Type == "journey.converted" && t.EventId.EndsWith(":converted", StringComparison.Ordinal);

    [Fact]
    public async Task TwoConversions_OfInstancesBothProfilesNumberedOne_BothStayOnHerTimelineAfterLogin()
    {
        // Her account's welcome#1 converts; her guest profile's own welcome#1 converts too; the login keeps both on the
        // timeline (its conversion entry was named by instance and journey only, so the merge dropped one of them).
        await using var rig = JourneyRig.Create([Welcome()]);
        await rig.TrackAsync("user.signed_up", [Known]);
        await rig.TrackAsync("order.placed", [Known], new { order_id = "o-1", total = 10 });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.signed_up", [Ann]);
        await rig.TrackAsync("order.placed", [Ann], new { order_id = "o-2", total = 20 });
        Assert.Single((await rig.Host.ProfileAsync(Known)).Timeline, Conversion);
        Assert.Single((await rig.Host.ProfileAsync(Ann)).Timeline, Conversion);

        await rig.TrackAsync("user.logged_in", [Known, Ann]);

        var merged = await rig.Host.ProfileAsync(Known);
        Assert.Equal(2, merged.Timeline.Count(Conversion));
    }

    // Review of 31d706e: the other side's instance is renamed at login because her account may have issued its number
    // (her account's promo#1 exited and was forgotten); what hangs off the old id must follow it.
    private static JourneyDefinition Promo(string extra = "") => JourneyRig.Parse($$"""
        {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
         "entry": {"reEntry": "afterPreviousEnded"}, "exit": [{"event": "order.placed"}]{{extra}},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT13H"},
                   {"id": "promo", "type": "send", "channels": ["email"], "template": "promo-1", "class": "transactional"},
                   {"id": "after", "type": "delay", "duration": "P1D"}]}
        """);

    private static async Task<(JourneyRig Rig, string First)> HerAccountsInstanceEnded_AndHerGuestProfileRunsItsOwn(JourneyDefinition journey)
    {
        var rig = JourneyRig.Create([journey], configure: o => o.Delivery.TransactionalQuietHours = QuietHoursAction.Defer);
        await rig.TrackAsync("user.signed_up", [Known]);
        var first = Assert.Single((await rig.Host.ProfileAsync(Known)).Journeys).InstanceId;
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("order.placed", [Known], new { order_id = "o-1", total = 10 });
        Assert.Empty((await rig.Host.ProfileAsync(Known)).Journeys);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.signed_up", [Ann]); // 11:00: her guest profile's promo#1 sends at 00:00, in the quiet hours
        Assert.Equal(first, Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys).InstanceId);
        return (rig, first);
    }

    [Fact]
    public async Task AHeldMessageOfTheRenamedInstance_IsCancelledWhenItExitsAfterLogin()
    {
        var (rig, first) = await HerAccountsInstanceEnded_AndHerGuestProfileRunsItsOwn(Promo());
        await using var _ = rig;
        await rig.AdvanceAsync(TimeSpan.FromHours(13.5)); // 00:30: the promo waits for 08:00 in the outbox
        Assert.DoesNotContain("email:promo-1", rig.Sent());
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Timeline, t => t.Type == "message.queued");

        await rig.TrackAsync("user.logged_in", [Known, Ann]);
        var renamed = Assert.Single((await rig.Host.ProfileAsync(Known)).Journeys).InstanceId;
        Assert.NotEqual(first, renamed);
        await rig.TrackAsync("order.placed", [Known], new { order_id = "o-2", total = 20 }); // the exit criterion

        await rig.AdvanceAsync(TimeSpan.FromHours(10));
        Assert.DoesNotContain("email:promo-1", rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("promo");
        Assert.Equal((2L, 0L, 2L), (stats.Entered, stats.Active, stats.Exited));
    }

    [Fact]
    public async Task TheRenamedInstance_SendsItsHeldMessageOnce_AndItsNextStepsOnce()
    {
        var (rig, first) = await HerAccountsInstanceEnded_AndHerGuestProfileRunsItsOwn(Promo());
        await using var _ = rig;
        await rig.AdvanceAsync(TimeSpan.FromHours(13.5));
        await rig.TrackAsync("user.logged_in", [Known, Ann]);
        Assert.NotEqual(first, Assert.Single((await rig.Host.ProfileAsync(Known)).Journeys).InstanceId);

        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Equal(1, rig.Sent().Count(s => s == "email:promo-1"));
        Assert.Empty(rig.Recorder.DuplicateMessageIds);
        Assert.Empty((await rig.Host.ProfileAsync(Known)).Journeys);
        var stats = await rig.Engine.GetJourneyStatisticsAsync("promo");
        Assert.Equal((2L, 0L, 1L, 1L), (stats.Entered, stats.Active, stats.Completed, stats.Exited));
    }

    [Fact]
    public async Task ThePendingConversionOfTheRenamedInstance_ConvertsOnce_OnAnOrderAfterLogin()
    {
        // Her guest profile's promo ran to its end; its goal is still watched when she logs in, then she orders.
        var journey = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
             "entry": {"reEntry": "afterPreviousEnded"}, "exit": [{"event": "account.closed"}], "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT30M"},
                       {"id": "promo", "type": "send", "channels": ["email"], "template": "promo-1", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Known]);
        await rig.TrackAsync("account.closed", [Known]); // her account's promo#1 exits, watched for nothing
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.signed_up", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(["email:promo-1"], rig.Sent());
        Assert.Empty((await rig.Host.ProfileAsync(Ann)).Journeys);

        await rig.TrackAsync("user.logged_in", [Known, Ann]);
        await rig.TrackAsync("order.placed", [Known], new { order_id = "o-1", total = 30 });
        await rig.TrackAsync("order.placed", [Known], new { order_id = "o-2", total = 40 });

        var stats = await rig.Engine.GetJourneyStatisticsAsync("promo");
        Assert.Equal((2L, 1L, 1L), (stats.Entered, stats.Exited, stats.Converted));
        Assert.Single((await rig.Host.ProfileAsync(Known)).Timeline, t => t.Type == "journey.converted");
    }

    [Fact]
    public async Task TheRenamedInstance_IsAnsweredByTheEventItWaitsFor_AfterLogin()
    {
        var journey = JourneyRig.Parse("""
            {"id": "ask", "version": 1, "name": "Ask", "trigger": {"type": "event", "event": "user.signed_up"},
             "entry": {"reEntry": "afterPreviousEnded"}, "exit": [{"event": "account.closed"}],
             "steps": [{"id": "wait", "type": "waitForEvent", "timeout": "P2D", "timeoutNext": "late",
                        "branches": [{"event": "survey.answered", "next": "thanks"}]},
                       {"id": "thanks", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional", "next": "end"},
                       {"id": "late", "type": "send", "channels": ["email"], "template": "late", "class": "transactional"},
                       {"id": "end", "type": "exit"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Known]);
        await rig.TrackAsync("account.closed", [Known]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.signed_up", [Ann]);
        await rig.TrackAsync("user.logged_in", [Known, Ann]);
        Assert.Equal("wait", Assert.Single((await rig.Host.ProfileAsync(Known)).Journeys).StepId);

        await rig.TrackAsync("survey.answered", [Known]);
        await rig.AdvanceAsync(TimeSpan.FromDays(3));

        Assert.Equal(["email:thanks"], rig.Sent());
        Assert.Empty((await rig.Host.ProfileAsync(Known)).Journeys);
        var stats = await rig.Engine.GetJourneyStatisticsAsync("ask");
        Assert.Equal((2L, 0L), (stats.Entered, stats.Active));
        Assert.Equal(1L, stats.Steps["wait"].Matched);
    }
}
