using System.Globalization;
using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Review;

/// <summary>
/// Review of audit U59 (local times and late date triggers): <c>LocalTime</c>'s reading of wall-clock times against a
/// brute-force oracle (every minute of UTC instants around the wall time, converted to local time by
/// <see cref="TimeZoneInfo.ConvertTime(DateTimeOffset, TimeZoneInfo)"/>), over every zone this machine has, instants
/// near their offset changes since 1850 and the ends of the calendar; and date triggers whose zone or date arrives after
/// their local time on the day (public API on a fake clock).
/// </summary>
public sealed class ReviewAuditU59Tests
{
    private static readonly Lazy<TimeZoneInfo[]> AllZones = new(() => [.. TimeZoneInfo.GetSystemTimeZones(skipSorting: true).OrderBy(z => z.Id, StringComparer.Ordinal)]);

    // The oracle: every whole-minute UTC instant within 26 hours of the wall time read as UTC (offsets, even the local mean
    // times of the 1800s, are within ±16 hours), converted to local time. Those that show the wall time are its readings;
    // for a wall time no instant shows, the gap's edges are the last minute before the clock passes it and the first after.
    private sealed record Reading(List<DateTimeOffset> Instants, DateTimeOffset? LastBefore, TimeSpan? OffsetBefore, DateTimeOffset? FirstAfter);

    private static Reading Oracle(DateTime wall, TimeZoneInfo zone)
    {
        var readings = new List<DateTimeOffset>();
        DateTimeOffset? lastBefore = null;
        TimeSpan? offsetBefore = null;
        DateTimeOffset? firstAfter = null;
        DateTime? previous = null;
        DateTimeOffset previousAt = default;
        for (var m = -26 * 60; m <= 26 * 60; m++)
        {
            var ticks = wall.Ticks + (m * TimeSpan.TicksPerMinute);
            if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
            {
                previous = null;
                continue;
            }

            var u = new DateTimeOffset(ticks, TimeSpan.Zero);
            DateTimeOffset converted;
            try
            {
                converted = TimeZoneInfo.ConvertTime(u, zone);
            }
            catch (ArgumentOutOfRangeException)
            {
                converted = default;
            }

            if (converted.UtcTicks != u.UtcTicks || ticks == 0)
            {
                // Its local time is beyond the calendar: thrown, or clamped to its end (at the first instant of the
                // calendar the clamp keeps the instant, as UTC).
                previous = null;
                continue;
            }

            var local = converted.DateTime;

            if (local == wall)
            {
                readings.Add(u);
            }
            else if (previous is { } p && p < wall && local > wall)
            {
                lastBefore = previousAt;
                offsetBefore = p - previousAt.UtcDateTime;
                firstAfter = u;
            }

            previous = local;
            previousAt = u;
        }

        return new Reading(readings, lastBefore, offsetBefore, firstAfter);
    }

    private static DateTimeOffset Saturated(DateTime wall, TimeSpan offset)
    {
        var ticks = wall.Ticks - offset.Ticks;
        return ticks < DateTimeOffset.MinValue.Ticks ? DateTimeOffset.MinValue
            : ticks > DateTimeOffset.MaxValue.Ticks ? DateTimeOffset.MaxValue
            : new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    // The first offset change of a zone after an instant within two years (found on six-hour steps, then to the second),
    // with the offsets before and after it; null when none.
    private static (DateTimeOffset At, TimeSpan Before, TimeSpan After)? NextChange(TimeZoneInfo zone, DateTimeOffset from)
    {
        var before = zone.GetUtcOffset(from);
        for (var t = from; t < from.AddYears(2); t = t.AddHours(6))
        {
            var next = t.AddHours(6);
            if (zone.GetUtcOffset(next) == before)
            {
                continue;
            }

            long lo = t.UtcTicks, hi = next.UtcTicks;
            while (hi - lo > TimeSpan.TicksPerSecond)
            {
                var mid = lo + ((hi - lo) / 2);
                if (zone.GetUtcOffset(new DateTimeOffset(mid, TimeSpan.Zero)) == before)
                {
                    lo = mid;
                }
                else
                {
                    hi = mid;
                }
            }

            var at = new DateTimeOffset(hi, TimeSpan.Zero);
            return (at, before, zone.GetUtcOffset(at));
        }

        return null;
    }

    // A wall time to probe: near an offset change of the zone between 1850 and 2100 (most cases), within two days of either
    // end of the calendar, or anywhere in 1900–2100.
    private static DateTime Wall(TimeZoneInfo zone, byte mode, uint position, short minutes)
    {
        switch (mode % 10)
        {
            case 8:
                return new DateTime(1, 1, 1).AddMinutes(position % (2 * 24 * 60));
            case 9:
                return new DateTime(9999, 12, 31, 23, 59, 0).AddMinutes(-(position % (2 * 24 * 60)));
            case 7:
                return new DateTime(1900, 1, 1).AddMinutes(position % (200L * 365 * 24 * 60));
            default:
                var from = new DateTimeOffset(1850, 1, 1, 0, 0, 0, TimeSpan.Zero).AddHours(position % (250L * 365 * 24));
                if (NextChange(zone, from) is not { } change)
                {
                    return from.UtcDateTime.AddMinutes(minutes);
                }

                // Around the change's wall time read with the old offset or the new one, within three hours, on whole minutes.
                var edge = change.At.UtcDateTime + (mode % 2 == 0 ? change.Before : change.After);
                var minute = new DateTime(edge.Ticks - (edge.Ticks % TimeSpan.TicksPerMinute));
                return minute.AddMinutes(minutes % 181);
        }
    }

    private static string Describe(TimeZoneInfo zone, DateTime wall, Reading r) =>
        string.Create(CultureInfo.InvariantCulture, $"{zone.Id} {wall:yyyy-MM-ddTHH:mm}: readings [{string.Join(", ", r.Instants.Select(i => i.ToString("O", CultureInfo.InvariantCulture)))}], gap {r.LastBefore:O}..{r.FirstAfter:O}");

    [Property(MaxTest = 3000)]
    public void LocalTime_ReadsEveryWallTime_AsTheInstantsThatShowIt(DoNotSize<ushort> zoneIndex, DoNotSize<byte> mode, DoNotSize<uint> position, DoNotSize<short> minutes)
    {
        // Unsized: FsCheck's sized integers stay below 100, which would leave most zones and years unvisited.
        var zone = AllZones.Value[zoneIndex.Item % AllZones.Value.Length];
        var wall = Wall(zone, mode.Item, position.Item, minutes.Item);
        var r = Oracle(wall, zone);
        var what = Describe(zone, wall, r);

        var instant = LocalTime.ToInstant(wall, zone);
        var skipped = LocalTime.IsSkipped(wall, zone);
        var second = LocalTime.SecondPass(wall, zone);
        if (r.Instants.Count > 0)
        {
            // Shown once or twice: the earlier instant, and the later as the second pass.
            Assert.True(r.Instants.Count <= 2, what);
            Assert.False(skipped, what);
            Assert.Equal(r.Instants[0], instant);
            Assert.Equal(r.Instants.Count == 2 ? r.Instants[1] : null, second);
        }
        else if (r.FirstAfter is { } after)
        {
            // Skipped: forward by the gap (read with the offset before the jump), and the gap ends at the jump.
            Assert.True(skipped, what);
            Assert.Null(second);
            Assert.Equal(Saturated(wall, r.OffsetBefore!.Value), instant);
            var end = LocalTime.EndOfGap(wall, zone);
            Assert.True(end > r.LastBefore && end <= after, what + $" end of gap {end:O}");
        }
        else
        {
            // No instant of the calendar shows it (year 1 east of Greenwich, 9999-12-31 west of it): saturated.
            Assert.True(instant == DateTimeOffset.MinValue || instant == DateTimeOffset.MaxValue, what + $" instant {instant:O}");
        }
    }

    // ---- Late date triggers (audit U59's open item). An annual date at 09:00 in her zone, a zone or a date that arrives
    // after that day's 09:00 has passed where she lives, while it is still that day there: the occurrence was taken as
    // the next one after now, a year away, so she was not wished that year at all. Now it fires once, at once (late, the
    // same local day); never a second time, never for a day already over where she lives, never for history. ----
    private static readonly Identifier Ann = Identifier.CustomerId("ann-u59-review");
    private static readonly Identifier AnnMail = Identifier.Email("ann-u59-review@example.com");

    private static DateTimeOffset At(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public async Task AZoneReportedAfterHerLocal0900_OnHerBirthday_WishesHerOnceThatDay_NotAYearLater()
    {
        // No zone at first (UTC): due 15 March 09:00Z. At 03:00Z (12:00 in Tokyo, her birthday) she reports Asia/Tokyo,
        // whose 09:00 was 00:00Z. Before: moved to 2027 (nothing on 15 March 2026). Now: at once, and once.
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard()], start: At("2026-03-14T12:00:00Z"));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "1990-03-15" });
        await rig.AdvanceToAsync(At("2026-03-15T03:00:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("page.viewed", [Ann], context: new EventContext { TimeZone = "Asia/Tokyo" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-17T00:00:00Z"), TimeSpan.FromMinutes(30));
        Assert.Equal(["email:birthday-card 2026-03-15T03:00Z"], log);

        // Next year, on her morning in Tokyo.
        await rig.SentWhileAdvancingAsync(log, At("2027-03-16T00:00:00Z"), TimeSpan.FromHours(3));
        Assert.Equal(["email:birthday-card 2026-03-15T03:00Z", "email:birthday-card 2027-03-15T00:00Z"], log);
    }

    [Fact]
    public async Task ABirthdayGivenOnTheDay_AfterHerLocal0900_WishesHerOnceThatDay()
    {
        // Her zone is known; at 15:00 in London on 15 March she gives her birthday, today.
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard()], start: At("2026-03-15T10:00:00Z"));
        await rig.TrackAsync("page.viewed", [Ann, AnnMail], context: new EventContext { TimeZone = "Europe/London" });
        await rig.AdvanceToAsync(At("2026-03-15T15:00:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "1990-03-15" }));

        // The same value again later that day (a CRM sync clearing, then writing it another way) wishes her no second time.
        await rig.SentWhileAdvancingAsync(log, At("2026-03-15T18:00:00Z"), TimeSpan.FromMinutes(30));
        await rig.SentDuringAsync(log, () => rig.TrackAsync("user.updated", [Ann], traits: new { birthday = (string?)null }));
        await rig.SentDuringAsync(log, () => rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "--03-15" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-17T00:00:00Z"), TimeSpan.FromMinutes(30));
        Assert.Equal(["email:birthday-card 2026-03-15T15:00Z"], log);
    }

    [Theory]
    [InlineData("Pacific/Kiritimati", "2026-03-15T12:00:00Z")] // already 16 March there: her birthday is over
    [InlineData("Asia/Tokyo", "2026-03-14T12:00:00Z")] // 21:00 on 14 March there: due tomorrow 00:00Z as usual
    public async Task AZoneReportedWhenHerBirthdayIsNotToday_WishesHerOnlyAtItsTime(string zone, string reportedAt)
    {
        // Default zone Los Angeles: due 15 March 16:00Z.
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard()], configure: o => o.Delivery.DefaultTimeZone = "America/Los_Angeles", start: At("2026-03-13T12:00:00Z"));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "1990-03-15" });
        await rig.AdvanceToAsync(At(reportedAt));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("page.viewed", [Ann], context: new EventContext { TimeZone = zone }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-17T00:00:00Z"), TimeSpan.FromMinutes(30));
        Assert.Equal(zone == "Asia/Tokyo" ? ["email:birthday-card 2026-03-15T00:00Z"] : [], log);
    }

    [Fact]
    public async Task AZoneReportedAfterTheWish_WishesHerNoSecondTime()
    {
        // Wished at 09:00Z (no zone); at 10:00Z she reports Tokyo (19:00 there, still her birthday), then Los Angeles
        // (03:00 there, her birthday's 09:00 ahead): neither wishes her again.
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard()], start: At("2026-03-14T12:00:00Z"));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "1990-03-15" });
        var log = await rig.SentWhileAdvancingAsync([], At("2026-03-15T10:00:00Z"), TimeSpan.FromMinutes(30));
        await rig.SentDuringAsync(log, () => rig.TrackAsync("page.viewed", [Ann], context: new EventContext { TimeZone = "Asia/Tokyo" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-15T11:00:00Z"), TimeSpan.FromMinutes(30));
        await rig.SentDuringAsync(log, () => rig.TrackAsync("page.viewed", [Ann], context: new EventContext { TimeZone = "America/Los_Angeles" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-17T00:00:00Z"), TimeSpan.FromMinutes(30));
        Assert.Equal(["email:birthday-card 2026-03-15T09:00Z"], log);
    }

    [Fact]
    public async Task ABirthdayGivenAsHistory_OnTheDay_WishesHerOnlyNextYear()
    {
        // A migration's history starts no journey (context.historical): today's birthday was the old system's to wish.
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard()], start: At("2026-03-15T10:00:00Z"));
        await rig.TrackAsync("page.viewed", [Ann, AnnMail], context: new EventContext { TimeZone = "Europe/London" });
        await rig.AdvanceToAsync(At("2026-03-15T15:00:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "1990-03-15" }, context: new EventContext { Historical = true }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-15T16:00:00Z"), TimeSpan.FromMinutes(30));
        await rig.SentDuringAsync(log, () => rig.TrackAsync("page.viewed", [Ann], context: new EventContext { TimeZone = "Europe/Paris" }));
        await rig.SentWhileAdvancingAsync(log, At("2027-03-15T07:00:00Z"), TimeSpan.FromHours(3));
        await rig.SentWhileAdvancingAsync(log, At("2027-03-16T00:00:00Z"), TimeSpan.FromMinutes(30));
        Assert.Equal(["email:birthday-card 2027-03-15T08:00Z"], log); // 09:00 in Paris
    }

    [Fact]
    public async Task AOneOffDateStillDue_MovedBehindNowByAZoneReportedThatDay_FiresOnce()
    {
        // An appointment reminder at 09:00 on the day, due 09:00Z (no zone); at 03:00Z (12:00 in Tokyo) she reports Tokyo.
        // Before: never sent (a one-off moved behind now was dropped). Now: at once, once.
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard(annual: false, trait: "appointment")], start: At("2026-03-14T12:00:00Z"));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { appointment = "2026-03-15" });
        await rig.AdvanceToAsync(At("2026-03-15T03:00:00Z"));
        var log = await rig.SentDuringAsync([], () => rig.TrackAsync("page.viewed", [Ann], context: new EventContext { TimeZone = "Asia/Tokyo" }));
        await rig.SentWhileAdvancingAsync(log, At("2026-03-17T00:00:00Z"), TimeSpan.FromMinutes(30));
        Assert.Equal(["email:birthday-card 2026-03-15T03:00Z"], log);
    }
}
