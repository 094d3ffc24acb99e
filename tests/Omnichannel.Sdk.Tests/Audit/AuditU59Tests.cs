using System.Globalization;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U59: bug classes from public reports of comparable systems (round 59: clocks and calendars), replayed against the
/// public API on a fake clock: quiet hours and waits until a local time in zones whose tz data has a negative daylight
/// saving (Europe/Dublin's winter, Africa/Casablanca's Ramadan), a property that no message leaves inside quiet hours
/// around any 2026 offset change of seventeen zones, and guards for a one-day delay across a spring-forward night and a
/// one-month delay from 31 January.
/// </summary>
public sealed class AuditU59Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static DateTimeOffset At(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    private static OmnichannelTestHost QuietHost(DateTimeOffset now, TimeOnly start, TimeOnly end) =>
        OmnichannelTestHost.Create(o =>
        {
            o.Delivery.QuietHoursStart = start;
            o.Delivery.QuietHoursEnd = end;
        }, now, delivery: new DeliverySetup { Renderer = new Omnichannel.Sdk.Tests.Delivery.TemplateIdRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));

    // A marketing email asked for now, for her in `zone`: when it is due (now, or the end of her quiet hours).
    private static async Task<DateTimeOffset> DueAtAsync(OmnichannelTestHost host, string zone)
    {
        await host.TrackAsync(host.Event("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = zone }));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var r = await host.Client.SendAsync(Ann, new MessageRequest { Key = "offer", Channels = [ChannelNames.Email], TemplateId = "t", Topic = "offers" });
        Assert.Equal(SendStatus.Queued, r.Status);
        return r.DueAt!.Value;
    }

    // ---- 1. Zones with a negative daylight saving. dotnet/runtime#120915 (TimeZoneInfo.IsAmbiguousTime false for
    // Europe/Dublin's repeated hour on Linux), mattjohnsonpint/TimeZoneConverter#83 (IsInvalidTime false for Morocco's
    // skipped hour on Linux), dateutil/dateutil#1048 (the same for Dublin in Python): since tzdata 2018e Ireland's
    // standard time is summer's IST and winter's GMT a negative saving, and Morocco's Ramadan hour the same. LocalTime
    // asked TimeZoneInfo whether a wall time was skipped or repeated, and it answered wrongly: quiet hours ending at 01:30
    // (or 01:00) on Dublin's spring-forward night (01:00 GMT → 02:00 IST) were read as already over at 00:30 GMT, so a
    // message asked for at 00:30 or 00:50 went out at once; on Dublin's fall-back night (02:00 IST → 01:00 GMT) and
    // Casablanca's Ramadan night (03:00 → 02:00) the second pass of the hour before the end did not see the end's second
    // instant, so a message asked for then went out at once too (4 of 5 cases failed; the first-pass case held). Fixed:
    // skipped and repeated times are read from the zone's offsets at instants. ----
    [Theory]
    [InlineData("Europe/Dublin", "2026-03-29T00:30:00Z", "22:00", "01:30", "2026-03-29T01:00:00Z")] // 00:30 GMT → the jump (02:00 IST)
    [InlineData("Europe/Dublin", "2026-03-29T00:50:00Z", "00:15", "01:00", "2026-03-29T01:00:00Z")] // an end at the gap's start
    [InlineData("Africa/Casablanca", "2026-02-15T02:10:00Z", "22:00", "02:30", "2026-02-15T02:30:00Z")] // second pass → second 02:30
    [InlineData("Europe/Dublin", "2026-10-25T00:10:00Z", "22:00", "01:30", "2026-10-25T00:30:00Z")] // first pass → first 01:30 (IST)
    [InlineData("Europe/Dublin", "2026-10-25T01:10:00Z", "22:00", "01:30", "2026-10-25T01:30:00Z")] // second pass → second 01:30 (GMT)
    public async Task QuietHoursEndingInANegativeSavingZonesChangedHour_EndWhenHerClockSaysSo(string zone, string now, string start, string end, string expected)
    {
        await using var host = QuietHost(At(now), TimeOnly.Parse(start, CultureInfo.InvariantCulture), TimeOnly.Parse(end, CultureInfo.InvariantCulture));
        Assert.Equal(At(expected), await DueAtAsync(host, zone));
    }

    // ---- 2. A wait until a local time in Dublin on both nights (same reports). "Until 01:30" on the night that skips
    // 01:00–02:00 ends at 02:30 IST (as far past the jump as the time lay in the gap, the documented rule: 01:30 UTC);
    // on the night that repeats it, at the first 01:30 (IST, 00:30 UTC), the documented "earlier instant". Before the fix
    // the spring wait ended an hour early (00:30 GMT, before the gap); the autumn case held. ----
    [Theory]
    [InlineData("2026-03-28T23:00:00Z", "2026-03-29T01:30:00Z")]
    [InlineData("2026-10-24T22:30:00Z", "2026-10-25T00:30:00Z")]
    public async Task AWaitUntilALocalTime_InDublin_OnItsChangeNights_EndsWhereTheDocumentedRuleSays(string startedAt, string expected)
    {
        var journey = JourneyRig.Parse("""
            {"id": "night", "version": 1, "name": "Night", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "w", "type": "delayUntilLocalTime", "localTime": "01:30"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "late", "class": "transactional"}]}
            """);
        await SendsFirstAtAsync(journey, startedAt, "Europe/Dublin", At(expected), TimeSpan.FromMinutes(1), "email:late");
    }

    // ---- 3. Property: no message leaves inside quiet hours (fedeostan/capo-v1#189, department-of-veterans-affairs/
    // va.gov-team#136575: texts at night get a sender muted or reported). For seventeen zones with every kind of 2026
    // change (a one-hour, a half-hour (Lord Howe), a two-hour (Troll) shift, midnight changes (Santiago, Havana,
    // Asuncion), negative savings (Dublin, Casablanca), +05:45 without DST, +12:45/+13:45), any instant within a day
    // of a change, and quiet hours of 15 minutes to 21 hours, half the time ending within 90 minutes of the change:
    // a message asked for outside them is due now; inside them, at an instant her clock shows outside them, no more
    // than the quiet hours' length plus the change's shift later. Her clock is read by UTC → local conversion only,
    // which negative savings do not upset. ----
    private static readonly string[] Zones =
    [
        "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia", "America/Santiago",
        "America/Havana", "Africa/Casablanca", "Europe/Dublin", "Antarctica/Troll", "Pacific/Chatham", "America/St_Johns",
        "America/Asuncion", "Australia/Sydney", "Europe/Chisinau", "America/Sao_Paulo", "Asia/Gaza",
    ];

    // Each zone's 2026 offset changes (none for Kathmandu and São Paulo: they are checked around 1 January).
    private static readonly Lazy<Dictionary<string, List<DateTimeOffset>>> Changes = new(() => Zones.ToDictionary(id => id, id =>
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(id);
        var changes = new List<DateTimeOffset>();
        for (var t = At("2026-01-01T00:00:00Z"); t < At("2027-01-01T00:00:00Z"); t = t.AddMinutes(15))
        {
            if (zone.GetUtcOffset(t) != zone.GetUtcOffset(t.AddMinutes(15)))
            {
                changes.Add(t.AddMinutes(15));
            }
        }

        return changes.Count > 0 ? changes : [At("2026-01-01T00:00:00Z")];
    }));

    private static bool Inside(TimeOnly time, TimeOnly start, TimeOnly end) =>
        start < end ? time >= start && time < end : time >= start || time < end;

    [Property(MaxTest = 300)]
    public void NoMessageLeavesInsideQuietHours_AroundAnyOffsetChange(byte zoneIndex, byte changeIndex, ushort minutes, byte startQuarter, byte lengthQuarters, bool endNearTheChange)
    {
        var id = Zones[zoneIndex % Zones.Length];
        var zone = TimeZoneInfo.FindSystemTimeZoneById(id);
        var changes = Changes.Value[id];
        var change = changes[changeIndex % changes.Count];
        var length = TimeSpan.FromMinutes(15 * (1 + (lengthQuarters % 84))); // 15 minutes to 21 hours
        TimeOnly end;
        DateTimeOffset now;
        if (endNearTheChange)
        {
            // The end within 90 minutes of the wall time just before the change, now within 90 minutes of the change.
            var wall = TimeZoneInfo.ConvertTime(change.AddTicks(-1), zone).DateTime;
            var quarter = new DateTime(wall.Year, wall.Month, wall.Day, wall.Hour, wall.Minute / 15 * 15, 0);
            end = TimeOnly.FromDateTime(quarter.AddMinutes(15 * ((startQuarter % 13) - 6)));
            now = change.AddMinutes((minutes % 181) - 90);
        }
        else
        {
            end = new TimeOnly(0, 0).Add(TimeSpan.FromMinutes(15 * (startQuarter % 96)) + length);
            now = change.AddMinutes((minutes % (52 * 60 + 1)) - (26 * 60));
        }

        var start = end.Add(-length);
        var due = Task.Run(async () =>
        {
            await using var host = QuietHost(now, start, end);
            return await DueAtAsync(host, id);
        }).GetAwaiter().GetResult();

        var nowLocal = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        var dueLocal = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(due, zone).DateTime);
        var what = $"{id} now {now:O} ({nowLocal}) quiet {start}–{end}: due {due:O} ({dueLocal})";
        Assert.True(Inside(nowLocal, start, end) ? due > now : due == now, what);
        Assert.False(Inside(dueLocal, start, end), what);
        Assert.True(due - now <= length + TimeSpan.FromHours(2), what);
    }

    // ---- 4. "1 day" across a spring-forward night (braze-inc/braze-docs#4396 and #7382: a Delay step's "day" is 24 hours
    // from entry, a "calendar day" is counted in her zone; iamkun/dayjs#319: adding a day is not adding 24 hours on a
    // 23-hour day). The README says `delay` counts in UTC (P1D is 24 hours) and "the same time tomorrow" is
    // `delayUntilLocalTime`.
    // Held: from 10:00 EST the day before New York springs forward, P1D ends at 11:00 EDT and "until 10:00" at 10:00 EDT. ----
    [Theory]
    [InlineData("""{"id": "w", "type": "delay", "duration": "P1D"}""", "2026-03-08T15:00:00Z")]
    [InlineData("""{"id": "w", "type": "delay", "duration": "PT24H"}""", "2026-03-08T15:00:00Z")]
    [InlineData("""{"id": "w", "type": "delayUntilLocalTime", "localTime": "10:00"}""", "2026-03-08T14:00:00Z")]
    public async Task OneDay_AcrossASpringForwardNight_IsTwentyFourHours_AndTheLocalTimeWaitKeepsHerClock(string wait, string expected)
    {
        var journey = JourneyRig.Parse($$"""
            {"id": "next-day", "version": 1, "name": "Next day", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{{wait}}, {"id": "s", "type": "send", "channels": ["email"], "template": "tomorrow", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], start: At("2026-03-07T15:00:00Z")); // 10:00 EST, Saturday
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = "America/New_York" });
        await rig.AdvanceToAsync(At(expected).AddSeconds(-1));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(At(expected));
        Assert.Equal(["email:tomorrow"], rig.Sent());
    }

    // ---- 5. P1M from 31 January (tidyverse/lubridate#133 and qcubed/qcubed#675: one month from 31 January rolled over
    // into March; moment/moment#1216): the last day of February, 28th in 2027 and 29th in 2028, at the same UTC time.
    // Held. ----
    [Theory]
    [InlineData("2027-01-31T10:00:00Z", "2027-02-28T10:00:00Z")]
    [InlineData("2028-01-31T10:00:00Z", "2028-02-29T10:00:00Z")]
    public async Task AMonthFrom31January_EndsOnTheLastDayOfFebruary(string startedAt, string expected)
    {
        var journey = JourneyRig.Parse("""
            {"id": "month", "version": 1, "name": "Month", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "w", "type": "delay", "duration": "P1M"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "month", "class": "transactional"}]}
            """);
        await SendsFirstAtAsync(journey, startedAt, "Europe/London", At(expected), TimeSpan.FromSeconds(1), "email:month");
    }

    // She signs up in the zone at startedAt: nothing is sent until `before` ahead of expected, then exactly the one message.
    private static async Task SendsFirstAtAsync(Omnichannel.Sdk.Journeys.JourneyDefinition journey, string startedAt, string zone, DateTimeOffset expected, TimeSpan before, string message)
    {
        await using var rig = JourneyRig.Create([journey], start: At(startedAt));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = zone });
        await rig.AdvanceToAsync(expected - before);
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(expected);
        Assert.Equal([message], rig.Sent());
    }
}
