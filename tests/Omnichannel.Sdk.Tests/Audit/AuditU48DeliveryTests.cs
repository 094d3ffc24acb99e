using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;
using static Omnichannel.Sdk.Tests.Audit.AuditU46Tests;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U48: trust defects left alone earlier, round 3 (delivery). Through the public API on the test kit's fake clock,
/// with audit U46's renderer, scripted transport, clock and sign-up.
/// </summary>
public sealed class AuditU48DeliveryTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static MessageRequest Promo(string key, params string[] channels) => new() { Key = key, Channels = channels, TemplateId = "promo" };

    private static Task MoveTo(OmnichannelTestHost host, string zone) =>
        host.TrackAsync(host.Event("app.opened", [Ann], context: new EventContext { TimeZone = zone }));

    private static bool InQuietHours(DateTimeOffset at, string zone)
    {
        var local = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, TimeZoneInfo.FindSystemTimeZoneById(zone)).DateTime);
        return local >= new TimeOnly(21, 0) || local < new TimeOnly(8, 0);
    }

    // ---- 1. A message held for quiet hours follows her zone ----
    // Left alone by audit U46 ("waits for that instant even when her new zone's morning came earlier"). Braze and Iterable
    // send a message held by quiet hours when they end in the user's time zone; OneSignal's "intelligent delivery" reads the
    // zone when it sends. At 22:00 in London (22:00 UTC, 2 March) a promotion is held until 08:00 London (08:00 UTC). Before
    // the morning her zone changes: it goes at the end of that night where she is now. Tokyo at 22:30 UTC is 07:30
    // there: 08:00 Tokyo (23:00 UTC), not nine hours later. Kolkata at 22:30 UTC is 04:00 there: 08:00 IST (02:30 UTC).
    // Tokyo at 23:30 UTC is 08:30 there, her night over: it goes now. New York at 22:30 UTC (17:30 there) or 03:00 UTC
    // (22:00 there): 08:00 New York (13:00 UTC), later than London's morning (the dispatch check did this already:
    // controls). Back to London before Tokyo's morning: London's morning again (control for the way back).
    [Theory]
    [InlineData("Asia/Tokyo", 30, null, "2026-03-02T23:00:00Z")]
    [InlineData("Asia/Kolkata", 30, null, "2026-03-03T02:30:00Z")]
    [InlineData("Asia/Tokyo", 90, null, "2026-03-02T23:30:00Z")]
    [InlineData("America/New_York", 30, null, "2026-03-03T13:00:00Z")] // control: her new night ends later
    [InlineData("America/New_York", 300, null, "2026-03-03T13:00:00Z")] // control
    [InlineData("Asia/Tokyo", 30, "Europe/London", "2026-03-03T08:00:00Z")] // control: back before Tokyo's morning
    public async Task AMessageHeldForQuietHours_GoesAtTheEndOfThoseOfHerCurrentZone(string movedTo, int minutesLater, string? thenBackTo, string expected)
    {
        var start = new DateTimeOffset(2026, 3, 2, 22, 0, 0, TimeSpan.Zero);
        OmnichannelTestHost? hostRef = null;
        var email = new Scripted(ChannelNames.Email, new HostClock(() => hostRef!.Time), _ => DeliveryResult.Accepted("e"));
        await using var host = OmnichannelTestHost.Create(_ => { }, start, delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email));
        hostRef = host;
        await SignUp(host);
        await MoveTo(host, "Europe/London");

        var held = await host.Client.SendAsync(Ann, Promo("held", ChannelNames.Email));
        Assert.Equal(new DateTimeOffset(2026, 3, 3, 8, 0, 0, TimeSpan.Zero), held.DueAt);

        await host.AdvanceAsync(TimeSpan.FromMinutes(minutesLater));
        await MoveTo(host, movedTo);
        var zone = movedTo;
        if (thenBackTo is not null)
        {
            await host.AdvanceAsync(TimeSpan.FromMinutes(10));
            await MoveTo(host, thenBackTo);
            zone = thenBackTo;
        }

        for (var i = 0; i < 24 * 4; i++)
        {
            await host.AdvanceAsync(TimeSpan.FromMinutes(15));
        }

        var sent = Assert.Single(email.Accepted);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), sent.At);
        Assert.False(InQuietHours(sent.At, zone), $"sent at {sent.At:u}, inside her quiet hours in {zone}");
    }

    // ---- 3. A fallback over its cap when the message was planned ----
    // Left alone by the review of the thirty-sixth session ("planned without that candidate, though a late fallback might
    // leave on the next day"). Braze and Customer.io apply frequency caps when a message is sent; nyaruka/rapidpro#6172 and
    // Robert-Velhorst/013-Hire-AI#79 (limits across "midnight ... retry"). "One SMS a day" in her zone (UTC), quiet hours
    // off for marketing. An SMS went at 23:30; at 23:35 a promotion is planned by email, then SMS. The email provider asks
    // to wait 30 minutes, twice: the message falls back to SMS at 00:05, on a day without one, and goes. It was planned
    // without its SMS (the day's cap was full at 23:35), so it failed. Control: an SMS already went on the new day, so
    // the fallback is refused when it would leave.
    [Theory]
    [InlineData(false)]
    [InlineData(true)] // control
    public async Task AFallbackOverItsCapWhenPlanned_IsCheckedWhenItLeaves(bool smsOnTheNewDay)
    {
        var start = new DateTimeOffset(2026, 3, 2, 23, 30, 0, TimeSpan.Zero);
        var (host, email, sms) = SlowEmailThenCappedSms(start);
        await using var _ = host;
        await SignUp(host);

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Promo("evening", ChannelNames.Sms))).Status);
        await host.Engine.RunDispatchAsync();
        await host.AdvanceAsync(TimeSpan.FromMinutes(5)); // 23:35
        var late = await host.Client.SendAsync(Ann, Promo("late", ChannelNames.Email, ChannelNames.Sms));
        Assert.Equal((SendStatus.Queued, ChannelNames.Email), (late.Status, late.Channel));
        await host.Engine.RunDispatchAsync(); // the email waits 30 minutes
        if (smsOnTheNewDay)
        {
            await host.AdvanceAsync(TimeSpan.FromMinutes(27)); // 00:02
            Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Promo("morning", ChannelNames.Sms))).Status);
            await host.Engine.RunDispatchAsync();
        }

        for (var i = 0; i < 12; i++)
        {
            await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        }

        Assert.Equal(2, email.Attempts);
        Assert.Equal(smsOnTheNewDay ? ["evening", "morning"] : ["evening", "late"], sms.Accepted.Select(a => a.Key));
        Assert.All(sms.Accepted.GroupBy(a => DateOnly.FromDateTime(a.At.UtcDateTime)), d => Assert.Single(d));
        var outcome = (await host.ProfileAsync(Ann)).Timeline.Where(t => t.EventId.StartsWith("late:", StringComparison.Ordinal) && t.Type != "message.queued").Select(t => t.Type);
        Assert.Equal([smsOnTheNewDay ? EventTypes.MessageFailed : EventTypes.MessageSent], outcome);
    }
}
