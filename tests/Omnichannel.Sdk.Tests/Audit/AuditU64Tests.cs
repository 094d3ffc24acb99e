using System.Globalization;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U64: trust defects earlier audits had noted and left alone (round 5), replayed against the public API on a fake
/// clock: a birthday corrected on the day after its wish (wished again), a date written by a journey's
/// <c>updateProfile</c> step late on its day (a year's silence where the same date tracked by an event is wished late).
/// </summary>
public sealed class AuditU64Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-u64");
    private static readonly Identifier AnnMail = Identifier.Email("ann-u64@example.com");

    private static DateTimeOffset At(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    // A journey whose step writes her birthday when she finishes the profile quiz (the quiz's answer is fixed here).
    private static JourneyDefinition QuizWritesBirthday(string value) => JourneyRig.Parse($$$"""
        {"id": "quiz", "version": 1, "name": "Quiz", "trigger": {"type": "event", "event": "quiz.finished"},
         "steps": [{"id": "save", "type": "updateProfile", "set": {"birthday": "{{{value}}}"}}]}
        """);

    // ---- 1. A birthday corrected on the day, after its wish (review of audit U59, left alone): wished 09:00Z for
    // "--03-15", a CRM sync then writes a wrong date ("--03-10") and corrects it back; before, the wrong date's new schedule
    // forgot the morning's wish, and the corrected value was "given late on its day": wished again at once. With her zone
    // reported west (Los Angeles, where 09:00 is still ahead), the corrected value was scheduled for 16:00Z: wished again
    // then. One wish per person per local day for a trigger, whatever corrections arrive. ----
    [Theory]
    [InlineData(null)]
    [InlineData("America/Los_Angeles")]
    public async Task ABirthdayCorrectedOnTheDay_AfterItsWish_IsNotWishedAgainThatDay(string? zoneWithTheCorrection)
    {
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard()], start: At("2026-03-14T12:00:00Z"));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "--03-15" });
        var log = await rig.SentWhileAdvancingAsync([], At("2026-03-15T10:00:00Z"), TimeSpan.FromMinutes(30));
        Assert.Equal(["email:birthday-card 2026-03-15T09:00Z"], log);

        await rig.SentDuringAsync(log, () => rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "--03-10" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-15T11:00:00Z"), TimeSpan.FromMinutes(30));
        await rig.SentDuringAsync(log, () => rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "1990-03-15" },
            context: zoneWithTheCorrection is null ? null : new EventContext { TimeZone = zoneWithTheCorrection }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-17T00:00:00Z"), TimeSpan.FromMinutes(30));
        Assert.Equal(["email:birthday-card 2026-03-15T09:00Z"], log);

        // Next year she is wished as usual, on her corrected date.
        await rig.SentWhileAdvancingAsync(log, At("2027-03-16T12:00:00Z"), TimeSpan.FromHours(1));
        Assert.Equal(2, log.Count);
        Assert.StartsWith("email:birthday-card 2027-03-15", log[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABirthdayCorrectedToAnotherDay_IsWishedOnThatDay_Once()
    {
        // Guard: the memory of this morning's wish holds that day only. Corrected to tomorrow, she is wished tomorrow.
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard()], start: At("2026-03-14T12:00:00Z"));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "--03-15" });
        var log = await rig.SentWhileAdvancingAsync([], At("2026-03-15T10:00:00Z"), TimeSpan.FromMinutes(30));
        await rig.SentDuringAsync(log, () => rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "--03-16" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-18T00:00:00Z"), TimeSpan.FromMinutes(30));
        Assert.Equal(["email:birthday-card 2026-03-15T09:00Z", "email:birthday-card 2026-03-16T09:00Z"], log);
    }

    // ---- 2. A date written by a journey's updateProfile step (review of audit U59, left alone: "not given by an event",
    // it kept the old rule). At 15:00 in London on 15 March a step writes her birthday, today: before, it waited a year,
    // where the same date tracked by an event at that instant is wished at once. Both paths now follow one rule: a date
    // given live late on its local day fires at once, once. ----
    [Fact]
    public async Task ABirthdayWrittenByAJourneyStep_LateOnTheDay_IsWishedOnceThatDay_AsAnEventsWouldBe()
    {
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard(), QuizWritesBirthday("1990-03-15")], start: At("2026-03-15T10:00:00Z"));
        await rig.TrackAsync("page.viewed", [Ann, AnnMail], context: new EventContext { TimeZone = "Europe/London" });
        await rig.AdvanceToAsync(At("2026-03-15T15:00:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("quiz.finished", [Ann]));
        Assert.Equal(["email:birthday-card 2026-03-15T15:00Z"], log);

        // The quiz taken again that day writes the same date: no second wish; next year on time.
        await rig.SentWhileAdvancingAsync(log, At("2026-03-15T17:00:00Z"), TimeSpan.FromMinutes(30));
        await rig.SentDuringAsync(log, () => rig.TrackAsync("quiz.finished", [Ann]));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-17T00:00:00Z"), TimeSpan.FromMinutes(30));
        await rig.SentWhileAdvancingAsync(log, At("2027-03-16T00:00:00Z"), TimeSpan.FromHours(3));
        Assert.Equal(["email:birthday-card 2026-03-15T15:00Z", "email:birthday-card 2027-03-15T09:00Z"], log);
    }

    [Fact]
    public async Task ABirthdayWrittenByAJourneyStep_OnAnotherDay_IsWishedOnlyAtItsTime()
    {
        // Guard: the late rule is for today's date only; a step writing yesterday's date waits a year.
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard(), QuizWritesBirthday("--03-14")], start: At("2026-03-15T10:00:00Z"));
        await rig.TrackAsync("page.viewed", [Ann, AnnMail], context: new EventContext { TimeZone = "Europe/London" });
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("quiz.finished", [Ann]));
        await rig.SentWhileAdvancingAsync(log, At("2027-03-13T10:00:00Z"), TimeSpan.FromHours(6));
        await rig.SentWhileAdvancingAsync(log, At("2027-03-15T00:00:00Z"), TimeSpan.FromMinutes(30));
        Assert.Equal(["email:birthday-card 2027-03-14T09:00Z"], log);
    }

    // ---- 3. A zone sent as a raw UTC offset (audits U14 and U59, left alone: ignored silently). The Segment Spec's
    // context.timezone is an IANA name, and an offset has no daylight saving ("+02:00" sent from Paris in July is an hour
    // wrong all winter), so it is still not applied; but the accepted event now says so, with the field's path, and the
    // rest of it (her traits, her locale) is applied. Before: TrackResult said nothing. ----
    [Theory]
    [InlineData("+02:00", "UTC offset")]
    [InlineData("UTC+2", "UTC offset")]
    [InlineData("GMT-05:30", "UTC offset")]
    [InlineData("-0300", "UTC offset")]
    [InlineData("Mars/Olympus_Mons", "no time zone this machine knows")]
    public async Task AZoneSentAsARawOffset_IsNotApplied_AndTheAcceptedEventSaysSoByItsPath(string zone, string why)
    {
        var now = At("2026-07-01T12:00:00Z");
        await using var host = OmnichannelTestHost.Create(start: now);
        await host.TrackAsync(host.Event("page.viewed", [Ann], context: new EventContext { TimeZone = "Europe/Paris" }, at: now.AddMinutes(-1)));
        var tracked = await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { plan = "gold" }, context: new EventContext { TimeZone = zone, Locale = "fr-FR" }));

        Assert.Equal(TrackStatus.Accepted, tracked.Status);
        var ignored = Assert.Single(tracked.Ignored);
        Assert.Equal("context.timeZone", ignored.Field);
        Assert.Contains(why, ignored.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(zone, ignored.Message, StringComparison.Ordinal); // the path and the reason, never the value

        var profile = await host.ProfileAsync(Ann);
        Assert.Equal("Europe/Paris", profile.TimeZone);
        Assert.Equal("fr-FR", profile.Locale);
        Assert.True(profile.TryGetTrait("plan", out var plan) && plan.GetString() == "gold");
    }

    [Theory]
    [InlineData("Europe/Paris")]
    [InlineData("europe/paris")]
    [InlineData("Etc/GMT-2")]
    [InlineData(null)]
    public async Task AZoneThatIsAZone_IsAppliedWithNothingIgnored(string? zone)
    {
        await using var host = OmnichannelTestHost.Create(start: At("2026-07-01T12:00:00Z"));
        var tracked = await host.TrackAsync(host.Event("page.viewed", [Ann], context: new EventContext { TimeZone = zone }));
        Assert.Equal(TrackStatus.Accepted, tracked.Status);
        Assert.Empty(tracked.Ignored);
    }
}
