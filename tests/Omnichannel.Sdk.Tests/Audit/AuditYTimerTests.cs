using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit Y: timers, wake-ups and scheduled sends against bug classes from public reports of comparable systems.</summary>
public sealed class AuditYTimerTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static JourneyDefinition DailySeries() => JourneyRig.Parse("""
        {"id": "series", "version": 1, "name": "Series", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "d1", "type": "delay", "duration": "P1D"},
                   {"id": "one", "type": "send", "channels": ["email"], "template": "one", "class": "transactional"},
                   {"id": "d2", "type": "delay", "duration": "P1D"},
                   {"id": "two", "type": "send", "channels": ["email"], "template": "two", "class": "transactional"},
                   {"id": "d3", "type": "delay", "duration": "P1D"},
                   {"id": "three", "type": "send", "channels": ["email"], "template": "three", "class": "transactional"}]}
        """);

    // Hangfire #544 (misfires while the server was down), quartz #939 (two runs after a resume): the clock jumps past
    // every step of a series at once (a VM resumed, a host down for a week). The missed wait ends once, at the jump; the
    // next delay counts from there (a delay starts when she reaches it), so the series is neither lost, nor sent as a
    // burst, nor sent twice.
    [Fact]
    public async Task ADailySeries_AfterTheClockJumpsPastEveryStep_CatchesUpOnce_ThenKeepsItsSpacing()
    {
        await using var rig = JourneyRig.Create([DailySeries()]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);

        var jumped = rig.Host.Time.GetUtcNow().AddDays(10);
        rig.Host.Time.SetUtcNow(jumped);
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDispatchAsync();
        Assert.Equal(["email:one"], rig.Sent());
        Assert.Equal(jumped.AddDays(1), await rig.Engine.GetNextWakeUpAsync());

        await rig.AdvanceAsync(TimeSpan.FromDays(10));
        Assert.Equal(["email:one", "email:two", "email:three"], rig.Sent());
        Assert.Null(await rig.Engine.GetNextWakeUpAsync());
    }

    // Quartz misfire handling (quartz #952, #939; Orleans docs, dotnet/orleans#5032: a reminder tick missed while the
    // cluster was down): an annual trigger whose clock jumps three years fires at most once for the missed years, and its
    // next wake-up is in the future, not a past year's date that would fire again at once.
    [Fact]
    public async Task AnAnnualDateTrigger_AfterTheClockJumpsThreeYears_FiresAtMostOnce_AndWakesNextInTheFuture()
    {
        var journey = Journey.Define("birthday", "Birthday")
            .TriggeredBy(t => t.Date("birthday", "P0D", new TimeOnly(10, 0), annual: true))
            .Steps(s => s.Send("wish", [ChannelNames.Email], "happy-birthday", topic: null, MessageClass.Transactional))
            .Build();
        await using var rig = JourneyRig.Create([journey], start: new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "1990-03-01" });

        rig.Host.Time.SetUtcNow(new DateTimeOffset(2029, 6, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDispatchAsync();

        Assert.True(rig.Sent().Count <= 1, string.Join(", ", rig.Sent()));
        Assert.Equal(new DateTimeOffset(2030, 3, 1, 10, 0, 0, TimeSpan.Zero), await rig.Engine.GetNextWakeUpAsync());
        await rig.AdvanceToAsync(new DateTimeOffset(2030, 3, 2, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(rig.Sent().Count, (await rig.Host.ProfileAsync(Ann)).Timeline.Count(t => t.Type == "journey.entered"));
        Assert.Equal("email:happy-birthday", rig.Sent()[^1]);
    }

    // HangfireIO/Hangfire #1952 and #2380 (the same job run by two nodes after a restart or failover): two engines on one
    // store both run the same due wake-up; the step's message goes once.
    [Fact]
    public async Task TwoEnginesOnOneStore_RunningTheSameDueWakeUp_SendTheStepOnce()
    {
        var store = new InMemoryOmnichannelStore();
        await using var first = JourneyRig.Create([DailySeries()], store: store);
        await using var second = JourneyRig.Create([DailySeries()], store: store);
        await first.TrackAsync("user.signed_up", [Ann, AnnMail]);

        var due = first.Host.Time.GetUtcNow().AddDays(1);
        first.Host.Time.SetUtcNow(due);
        second.Host.Time.SetUtcNow(due);
        await Task.WhenAll(first.Engine.RunDueAsync(), second.Engine.RunDueAsync());
        await Task.WhenAll(first.Engine.RunDispatchAsync(), second.Engine.RunDispatchAsync());

        Assert.Equal(["email:one"], [.. first.Sent(), .. second.Sent()]);
    }

    // NTP stepping the clock back (Quartz and Hangfire both document misfires on clock changes; a virtual clock moved
    // back by a replay): a wait does not end early while the clock is behind, an event tracked meanwhile is accepted, and
    // the step runs once when its instant comes.
    [Fact]
    public async Task AWait_WhileTheClockIsSetBack_DoesNotEndEarly_AndEndsOnceWhenItsTimeComes()
    {
        await using var rig = JourneyRig.Create([DailySeries()]);
        var start = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);

        rig.Host.Time.AdjustTime(start.AddHours(-6));
        await rig.TrackAsync("app.opened", [Ann]);
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDispatchAsync();
        Assert.Empty(rig.Sent());
        Assert.Equal(start.AddDays(1), await rig.Engine.GetNextWakeUpAsync());

        rig.Host.Time.AdjustTime(start.AddDays(1).AddTicks(-1));
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDispatchAsync();
        Assert.Empty(rig.Sent());

        await rig.AdvanceToAsync(start.AddDays(1));
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDispatchAsync();
        Assert.Equal(["email:one"], rig.Sent());
    }

    // Braze/Customer.io "send in the recipient's local time" for a person whose zone changes before the send: a
    // marketing message held for quiet hours in London, then she lands in New York. It must not go out at 08:00
    // London (03:00 in New York), inside her quiet hours where she now is.
    [Fact]
    public async Task AMessageHeldForQuietHours_WhenSheMovesZone_IsNotSentInsideHerNewZonesQuietHours()
    {
        var journey = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "product.viewed"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "browse", "topic": "offers"}]}
            """);
        var start = new DateTimeOffset(2026, 1, 5, 22, 0, 0, TimeSpan.Zero); // 22:00 in London (winter: UTC)
        await using var rig = JourneyRig.Create([journey], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: start);
        await rig.Host.TrackAsync(rig.Host.Event("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = "Europe/London" }));
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await rig.TrackAsync("product.viewed", [Ann]);
        Assert.Empty(rig.Sent());

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.Host.TrackAsync(rig.Host.Event("app.opened", [Ann], context: new EventContext { TimeZone = "America/New_York" }));
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 6, 8, 30, 0, TimeSpan.Zero)); // 03:30 in New York
        Assert.Empty(rig.Sent());

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 6, 13, 0, 0, TimeSpan.Zero)); // 08:00 in New York
        Assert.Equal(["email:browse"], rig.Sent());
    }

    // temporalio: a signal and a timer due in the same workflow task (the signal must not be lost to the timer): an
    // engine was down past a wait's timeout; the answer that happened before the timeout is tracked before the
    // wake-up runs. It answers the wait (it happened inside the window), and the timeout branch does not also run.
    [Fact]
    public async Task AWaitForEvent_AnsweredInsideItsWindow_ButTrackedAfterTheTimeoutIsDue_TakesTheAnswer()
    {
        await using var rig = JourneyRig.Create([WaitForAppOpen()]);
        var start = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);

        rig.Host.Time.AdjustTime(start.AddHours(7)); // the engine was down: its timer has not run the timeout yet
        var r = await rig.Host.TrackAsync("app.opened", [Ann], at: start.AddHours(5));
        Assert.Equal(TrackStatus.Accepted, r.Status);
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDispatchAsync();

        Assert.Equal(["email:thanks"], rig.Sent());
        Assert.Null(await rig.Engine.GetNextWakeUpAsync());
    }

    // The other side of the same race: an awaited event from the timeout's instant or later, tracked late, does not
    // undo the timeout (the wait had ended), and the timeout branch runs once.
    [Fact]
    public async Task AWaitForEvent_AnsweredAtItsTimeout_AndTrackedLate_StillTimesOut()
    {
        await using var rig = JourneyRig.Create([WaitForAppOpen()]);
        var start = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);

        rig.Host.Time.AdjustTime(start.AddHours(7));
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync("app.opened", [Ann], at: start.AddHours(6))).Status);
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDispatchAsync();

        Assert.Equal(["email:nudge"], rig.Sent());
    }

    // Signed up → wait up to 6 h for app.opened: "thanks" if it comes, "nudge" if the wait times out.
    private static JourneyDefinition WaitForAppOpen() => JourneyRig.Parse("""
        {"id": "w", "version": 1, "name": "W", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "wait", "type": "waitForEvent", "branches": [{"event": "app.opened", "next": "opened"}], "timeout": "PT6H", "timeoutNext": "nudge"},
                   {"id": "opened", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional", "next": "end"},
                   {"id": "nudge", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional", "next": "end"},
                   {"id": "end", "type": "exit"}]}
        """);
}
