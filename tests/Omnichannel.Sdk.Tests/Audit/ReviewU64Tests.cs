using System.Globalization;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of audit U64: its one-wish-per-local-day rule pushed through a merge, and its new <see cref="TrackResult.Ignored"/>
/// against the zone spellings real clients send, on the public API and a fake clock.
/// </summary>
public sealed class ReviewU64Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-r64");
    private static readonly Identifier AnnMail = Identifier.Email("ann-r64@example.com");

    private static DateTimeOffset At(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    // ---- 1. A merge the same day as a corrected wish. Her account was wished at 09:00Z and a CRM sync then corrected her
    // birthday (a wrong day, then the right one): U64 keeps the wished day across the correction, without an instant (that
    // occurrence's instant is not the new value's). Her phone's profile (Los Angeles) was wished last year and has today's
    // 09:00 there (16:00Z) due. Merged at noon as she logs in on her phone in Los Angeles, the merge kept the wished day of
    // the side with the later instant: the phone's, last year. The account's "today" was lost and she was wished again at
    // 16:00Z. ----
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AMergeOnTheDay_AfterACorrectedWish_KeepsTheWishedDay(bool phoneNamedFirst)
    {
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard()], start: At("2025-03-01T00:00:00Z"));
        var phone = Identifier.AnonymousId("phone-r64");
        await rig.TrackAsync("app.opened", [phone], traits: new { birthday = "--03-15" }, context: new EventContext { TimeZone = "America/Los_Angeles" });
        await rig.AdvanceToAsync(At("2026-03-14T12:00:00Z"));
        Assert.Empty(rig.Sent()); // the phone's profile fired 2025-03-15 16:00Z (no address: nothing sent)

        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "--03-15" }, context: new EventContext { TimeZone = "Europe/London" });
        await rig.AdvanceToAsync(At("2026-03-15T10:00:00Z"));
        Assert.Equal(["email:birthday-card"], rig.Sent()); // her account, 09:00Z
        await rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "--03-10" });
        await rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "1990-03-15" });
        await rig.AdvanceToAsync(At("2026-03-15T12:00:00Z"));
        Assert.Single(rig.Sent());

        await rig.TrackAsync("user.logged_in", phoneNamedFirst ? [phone, Ann] : [Ann, phone], context: new EventContext { TimeZone = "America/Los_Angeles" });
        var log = new List<string>();
        while (rig.Host.Time.GetUtcNow() < At("2026-03-17T00:00:00Z"))
        {
            var before = rig.Sent().Count;
            await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
            log.AddRange(rig.Sent().Skip(before).Select(m => string.Create(CultureInfo.InvariantCulture, $"{m} {rig.Host.Time.GetUtcNow():yyyy-MM-ddTHH:mm}Z")));
        }

        Assert.Empty(log);

        // Next year once.
        await rig.AdvanceToAsync(At("2027-03-17T00:00:00Z"));
        Assert.Equal(2, rig.Sent().Count);
    }

    // ---- 2. The zone spellings clients send, each either applied as a zone this machine reads or listed in Ignored (never
    // both, never neither). .NET on Linux reads tz names (canonical and backward links) and, through ICU, Windows ids. ----
    [Theory]
    [InlineData("UTC", "UTC")]
    [InlineData("utc", "UTC")]
    [InlineData("GMT", "GMT")]
    [InlineData("Etc/UTC", "Etc/UTC")]
    [InlineData("Etc/GMT+2", "Etc/GMT+2")]
    [InlineData("America/Argentina/ComodRivadavia", "America/Argentina/ComodRivadavia")]
    [InlineData("europe/london", "Europe/London")]
    [InlineData(" Europe/London ", "Europe/London")]
    [InlineData("W. Europe Standard Time", "Europe/Berlin")]
    [InlineData("US/Eastern", "US/Eastern")]
    [InlineData("Z", "!UTC offset")]
    [InlineData("+00:00", "!UTC offset")]
    [InlineData("GMT+2", "!UTC offset")]
    [InlineData("UTC\u22123", "!UTC offset")]
    [InlineData("UTC\u221203:00", "!UTC offset")]
    [InlineData("UTC\u20133", "!UTC offset")]
    [InlineData("localtime", "!no time zone this machine knows")]
    [InlineData("posixrules", "!no time zone this machine knows")]
    [InlineData("Factory", "!no time zone this machine knows")]
    [InlineData("UTC-08", "UTC-08")] // a Windows id of a fixed-offset zone (Etc/GMT+8): a zone, not an offset typed in
    [InlineData("EST5EDT", "EST5EDT")]
    [InlineData("Europe/Lond", "!no time zone this machine knows")]
    public async Task AZoneSpelling_IsAppliedOrListedInIgnored_NeverSilentlyDropped(string zone, string expected)
    {
        await using var host = OmnichannelTestHost.Create(start: At("2026-07-01T12:00:00Z"));
        await host.TrackAsync(host.Event("page.viewed", [Ann], context: new EventContext { TimeZone = "Asia/Tokyo" }, at: At("2026-07-01T11:59:00Z")));
        var tracked = await host.TrackAsync(host.Event("page.viewed", [Ann], context: new EventContext { TimeZone = zone }));
        Assert.Equal(TrackStatus.Accepted, tracked.Status);
        var profile = await host.ProfileAsync(Ann);
        var refused = expected.StartsWith('!');
        Assert.Equal(refused ? "Asia/Tokyo" : expected, profile.TimeZone);
        if (refused)
        {
            var ignored = Assert.Single(tracked.Ignored);
            Assert.Equal("context.timeZone", ignored.Field);
            Assert.Contains(expected[1..], ignored.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(tracked.Ignored);
        }
    }

    // ---- 3. A leap-day birthday corrected on its wish day in a common year (held): "--02-29" is wished on 28 February in
    // 2027; a sync writing "--02-28" and then "1992-02-29" that day names the same day, so no second wish; 2028 on the 29th. ----
    [Fact]
    public async Task ALeapDayBirthday_CorrectedOnItsWishDay_InACommonYear_IsWishedOncePerYear()
    {
        await using var rig = JourneyRig.Create([JourneyRig.BirthdayCard()], start: At("2027-02-20T00:00:00Z"));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "--02-29" });
        var log = new List<string>();
        async Task RunToAsync(DateTimeOffset until, TimeSpan step)
        {
            while (rig.Host.Time.GetUtcNow() < until)
            {
                var before = rig.Sent().Count;
                await rig.AdvanceAsync(step);
                log.AddRange(rig.Sent().Skip(before).Select(m => string.Create(CultureInfo.InvariantCulture, $"{m} {rig.Host.Time.GetUtcNow():yyyy-MM-ddTHH:mm}Z")));
            }
        }

        await RunToAsync(At("2027-02-28T10:00:00Z"), TimeSpan.FromHours(1));
        await rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "--02-28" });
        await rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "1992-02-29" });
        await RunToAsync(At("2027-03-02T00:00:00Z"), TimeSpan.FromMinutes(30));
        await RunToAsync(At("2028-03-02T00:00:00Z"), TimeSpan.FromHours(3));
        Assert.Equal(["email:birthday-card 2027-02-28T09:00Z", "email:birthday-card 2028-02-29T09:00Z"], log);
    }
}
