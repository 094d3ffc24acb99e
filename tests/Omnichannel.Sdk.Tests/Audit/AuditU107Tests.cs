using System.Globalization;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U107: bug classes from public reports, round 107 (dates as people have them): a recurring local-time wait on a
/// fall-back night, date triggers on 29 February, with a time and offset, and near a change of offset, and events at
/// one instant written with different offsets. Public API on a fake clock.
/// </summary>
public sealed class AuditU107Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-u107");
    private static readonly Identifier AnnMail = Identifier.Email("ann-u107@example.com");

    private static DateTimeOffset At(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    // A daily message at a local time: send, wait until the time, send again (the README's "recurring message").
    private static Omnichannel.Sdk.Journeys.JourneyDefinition Daily(string localTime, string days = "") => JourneyRig.Parse($$"""
        {"id": "daily", "version": 1, "name": "Daily", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "wait", "type": "delayUntilLocalTime", "localTime": "{{localTime}}"{{days}}},
                   {"id": "send", "type": "send", "channels": ["email"], "template": "daily", "class": "transactional", "next": "wait"}]}
        """);

    // ---- A recurring wait until a local time in the repeated hour of a fall-back night (kubernetes/kubernetes#121594,
    // netresearch/go-cron#349, elizaOS/eliza#11100 for Lord Howe): the loop's wait that ended at
    // the first 01:30 began a new wait at that very instant, whose "next 01:30" was the second pass an hour later, so a
    // daily message went out twice that night. ----
    [Theory]
    [InlineData("America/New_York", "01:30", "", "2026-10-30T12:00:00Z", "2026-11-03T12:00:00Z",
        new[] { "2026-10-31T05:30Z", "2026-11-01T05:30Z", "2026-11-02T06:30Z", "2026-11-03T06:30Z" })]
    [InlineData("Europe/London", "01:15", "", "2026-10-23T12:00:00Z", "2026-10-27T12:00:00Z",
        new[] { "2026-10-24T00:15Z", "2026-10-25T00:15Z", "2026-10-26T01:15Z", "2026-10-27T01:15Z" })]
    [InlineData("Australia/Lord_Howe", "01:45", "", "2026-04-02T06:00:00Z", "2026-04-06T06:00:00Z", // a 30-minute overlap
        new[] { "2026-04-02T14:45Z", "2026-04-03T14:45Z", "2026-04-04T14:45Z", "2026-04-05T15:15Z" })]
    [InlineData("America/New_York", "01:30", ", \"days\": [\"sunday\"]", "2026-10-20T12:00:00Z", "2026-11-10T12:00:00Z",
        new[] { "2026-10-25T05:30Z", "2026-11-01T05:30Z", "2026-11-08T06:30Z" })]
    public async Task ARecurringWaitUntilALocalTime_InTheRepeatedHour_SendsOncePerLocalDay(string zone, string localTime, string days, string start, string until, string[] expected)
    {
        await using var rig = JourneyRig.Create([Daily(localTime, days)], start: At(start));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = zone }));
        await rig.SentWhileAdvancingAsync(log, At(until), TimeSpan.FromMinutes(15));
        Assert.Equal([.. expected.Select(e => "email:daily " + e)], log);
    }

    [Fact]
    public async Task ARecurringWait_WhoseWakeUpRunsLate_InTheRepeatedHour_StillSendsOnce()
    {
        // The wake-up for the first 01:30 runs at 01:50 EDT (a dispatcher held up, a clock moved in big steps): still one
        // message that night, not a second at 01:30 EST.
        await using var rig = JourneyRig.Create([Daily("01:30")], start: At("2026-10-31T12:00:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = "America/New_York" }));
        var late = At("2026-11-01T05:50:00Z");
        await rig.AdvanceToAsync(At("2026-11-01T05:00:00Z"));
        await rig.SentDuringAsync(log, async () =>
        {
            await rig.Engine.AdvanceVirtualClockAsync(late, _ => rig.Host.Time.SetUtcNow(late)); // each stop is reached late
            await rig.Engine.RunDispatchAsync();
        });
        await rig.SentWhileAdvancingAsync(log, At("2026-11-02T12:00:00Z"), TimeSpan.FromMinutes(10));
        Assert.Equal(["email:daily 2026-11-01T05:50Z", "email:daily 2026-11-02T06:30Z"], log);
    }

    [Fact]
    public async Task ARecurringWait_WhoseTraitsChangeInTheRepeatedHour_StillSendsOnce()
    {
        // A trait written at 01:40 EDT, after the first 01:30's message, recomputes the local-time wait (as a move of zone
        // does): it must not bring the second 01:30 back.
        await using var rig = JourneyRig.Create([Daily("01:30")], start: At("2026-10-31T12:00:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = "America/New_York" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-11-01T05:40:00Z"), TimeSpan.FromMinutes(10));
        await rig.SentDuringAsync(log, () => rig.TrackAsync("user.updated", [Ann], traits: new { first_name = "Ann" }, context: new EventContext { TimeZone = "America/New_York" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-11-02T12:00:00Z"), TimeSpan.FromMinutes(10));
        Assert.Equal(["email:daily 2026-11-01T05:30Z", "email:daily 2026-11-02T06:30Z"], log);
    }

    [Fact]
    public async Task AWaitBegunByAnEventBetweenTheTwoPasses_StillEndsAtTheSecond_Held()
    {
        // Audit Tz's rule, reached through the loop's first wait: signed up at 01:40 EDT, the first message goes at 01:30 EST
        // (the second pass, not a day late), the next at 01:30 EST the day after.
        await using var rig = JourneyRig.Create([Daily("01:30")], start: At("2026-11-01T05:40:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = "America/New_York" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-11-02T12:00:00Z"), TimeSpan.FromMinutes(10));
        Assert.Equal(["email:daily 2026-11-01T06:30Z", "email:daily 2026-11-02T06:30Z"], log);
    }

    [Fact]
    public async Task ARecurringWait_InTheSpringForwardGap_SendsEveryDay_NeverSkipsOne_Held()
    {
        // 02:30 does not exist in New York on 8 March 2026: that day's message goes at 03:30 EDT, one a day throughout.
        await using var rig = JourneyRig.Create([Daily("02:30")], start: At("2026-03-06T12:00:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = "America/New_York" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-10T12:00:00Z"), TimeSpan.FromMinutes(15));
        Assert.Equal(["email:daily 2026-03-07T07:30Z", "email:daily 2026-03-08T07:30Z", "email:daily 2026-03-09T06:30Z", "email:daily 2026-03-10T06:30Z"], log);
    }

    // ---- Date triggers: leap-day birthdays, birthdays sent as timestamps with an offset, an impossible date, and a
    // birthday's local time on a change night (the classes of date-flow reports in comparable products). ----
    private static Omnichannel.Sdk.Journeys.JourneyDefinition Birthday(string localTime) => JourneyRig.Parse($$"""
        {"id": "bday", "version": 1, "name": "Birthday", "trigger": {"type": "date", "trait": "birthday", "offset": "PT0S", "localTime": "{{localTime}}", "annual": true},
         "steps": [{"id": "card", "type": "send", "channels": ["email"], "template": "birthday-card", "class": "transactional"}]}
        """);

    [Theory]
    [InlineData("1992-02-29", "Europe/London", "2027-02-28T09:00Z|2028-02-29T09:00Z")] // 28 February in a common year
    [InlineData("--02-29", "Asia/Tokyo", "2027-02-28T00:00Z|2028-02-29T00:00Z")]
    [InlineData("1990-03-15T23:30:00-05:00", "Asia/Tokyo", "2027-03-15T00:00Z|2028-03-15T00:00Z")] // the date as written
    [InlineData("1990-03-15T00:00:00Z", "America/Los_Angeles", "2027-03-15T16:00Z|2028-03-15T16:00Z")]
    [InlineData("1990-02-29", "Europe/London", "")] // no such date: no wish, no exception
    public async Task ABirthday_AsPeopleWriteIt_IsWishedOnItsCalendarDate_AtNineHerTime_Held(string birthday, string zone, string expected)
    {
        await using var rig = JourneyRig.Create([Birthday("09:00")], start: At("2027-01-10T12:00:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday }, context: new EventContext { TimeZone = zone }));
        await rig.SentWhileAdvancingAsync(log, At("2027-04-01T00:00:00Z"), TimeSpan.FromHours(1));
        await rig.AdvanceToAsync(At("2028-01-10T12:00:00Z"));
        await rig.SentWhileAdvancingAsync(log, At("2028-04-01T00:00:00Z"), TimeSpan.FromHours(1));
        Assert.Equal(expected.Length == 0 ? [] : [.. expected.Split('|').Select(e => "email:birthday-card " + e)], log);
    }

    [Theory]
    [InlineData("1990-11-01", "01:30", "2026-11-01T05:30Z")] // the repeated hour: the first 01:30 (EDT), once
    [InlineData("1990-03-08", "02:30", "2026-03-08T07:30Z")] // the skipped hour: 03:30 EDT, not never
    public async Task ABirthdayAtALocalTime_OnAChangeNight_IsWishedOnce_Held(string birthday, string localTime, string expected)
    {
        await using var rig = JourneyRig.Create([Birthday(localTime)], start: At("2026-01-10T12:00:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday }, context: new EventContext { TimeZone = "America/New_York" }));
        var day = At(expected);
        await rig.AdvanceToAsync(day.AddDays(-1));
        await rig.SentWhileAdvancingAsync(log, day.AddDays(1), TimeSpan.FromMinutes(10));
        Assert.Equal(["email:birthday-card " + expected], log);
    }

    // ---- Quiet hours ending in the repeated hour: a message held until their end goes at the first pass of it, and is
    // not held again at dispatch until the second (the re-check at dispatch reads quiet hours again, audit U46). ----
    [Theory]
    [InlineData("America/New_York", "2026-11-01T03:00:00Z", "2026-11-01T05:30:00Z")] // asked 23:00 EDT; ends 01:30 EDT
    [InlineData("Europe/London", "2026-10-24T23:00:00Z", "2026-10-25T00:30:00Z")] // asked 00:00 BST; ends 01:30 BST
    public async Task AMessageHeldUntilQuietHoursEndInTheRepeatedHour_GoesAtTheFirstPass_Once_Held(string zone, string asked, string expected)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Delivery.QuietHoursStart = new TimeOnly(22, 0);
            o.Delivery.QuietHoursEnd = new TimeOnly(1, 30);
        }, At(asked), delivery: new DeliverySetup { Renderer = new Omnichannel.Sdk.Tests.Delivery.TemplateIdRenderer() }.AddTransport("email", email));
        await host.TrackAsync(host.Event("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = zone }));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var r = await host.Client.SendAsync(Ann, new MessageRequest { Key = "offer", Channels = [ChannelNames.Email], TemplateId = "t", Topic = "offers" });
        Assert.Equal(At(expected), r.DueAt);

        await host.AdvanceToAsync(At(expected).AddSeconds(-1));
        Assert.Empty(email.Messages);
        await host.AdvanceToAsync(At(expected));
        Assert.Single(email.Messages);
        await host.AdvanceToAsync(At(expected).AddHours(3));
        Assert.Single(email.Messages);
    }

    // ---- One instant written with two offsets ("+01:00" and "Z" stamps ordered as text or by their clock reading is a
    // common report class): an opt-in and an opt-out at the same instant leave her opted out, and a trait written twice at one
    // instant keeps the same value, in either arrival order. ----
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OneInstantWrittenWithTwoOffsets_IsOneInstant_WhateverTheArrivalOrder_Held(bool optOutFirst)
    {
        await using var host = OmnichannelTestHost.Create(start: At("2026-03-01T12:00:00Z"), delivery: new DeliverySetup { Renderer = new Omnichannel.Sdk.Tests.Delivery.TemplateIdRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));
        await host.TrackAsync(host.Event("user.signed_up", [Ann, AnnMail], at: At("2026-03-01T08:00:00Z")));
        var optIn = host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }, at: At("2026-03-01T10:00:00+01:00"));
        var optOut = host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = false }, at: At("2026-03-01T04:00:00-05:00"));
        var plan = At("2026-03-01T10:30:00+01:00");
        var a = host.Event("user.updated", [Ann], traits: new { tier = "gold" }, at: plan);
        var b = host.Event("user.updated", [Ann], traits: new { tier = "silver" }, at: At("2026-03-01T09:30:00Z"));
        foreach (var e in optOutFirst ? new[] { optOut, b, optIn, a } : [optIn, a, optOut, b])
        {
            Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync(e)).Status);
        }

        var r = await host.Client.SendAsync(Ann, new MessageRequest { Key = "offer", Channels = [ChannelNames.Email], TemplateId = "t", Topic = "offers" });
        Assert.Equal(SendStatus.Skipped, r.Status);
        Assert.Contains("consent", r.Reason, StringComparison.OrdinalIgnoreCase);
        var tier = string.CompareOrdinal(a.Id, b.Id) > 0 ? "gold" : "silver"; // a tie goes to the higher event id
        var profile = await host.Client.GetProfileAsync(Ann);
        Assert.True(profile!.TryGetTrait("tier", out var value));
        Assert.Equal(tier, value.GetString());

        // A grant a second later, written with a third offset, is the newer decision.
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }, at: At("2026-03-01T18:00:01+09:00"));
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, new MessageRequest { Key = "offer-2", Channels = [ChannelNames.Email], TemplateId = "t", Topic = "offers" })).Status);
    }
}
