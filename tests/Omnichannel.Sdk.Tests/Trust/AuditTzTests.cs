using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>Audit Tz: time zones and daylight saving in quiet hours, journey waits, date triggers, caps and templates.</summary>
public sealed class AuditTzTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    [Fact]
    public async Task ATemplate_ForAProfileWithoutAZone_RendersInTheDefaultZoneQuietHoursUse()
    {
        // 13:30 UTC on 5 January is 08:30 in New York, the zone of customers whose own is unknown.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 13, 30, 0, TimeSpan.Zero));
        var sms = new RecordingTransport(ChannelNames.Sms);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddOmnichannel(o => o.Delivery.DefaultTimeZone = "America/New_York")
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("hello",
            [
                TemplateVariant.Sms("Good morning, it is {{ now | date: '%H:%M' }}") with { TimeOfDay = TimeOfDay.Morning },
                TemplateVariant.Sms("Hello, it is {{ now | date: '%H:%M' }}"),
            ])))
            .AddTransport("recording", ChannelNames.Sms, _ => sms);
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<OmnichannelEngine>();
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = clock.GetUtcNow(), Identifiers = [Ann, Identifier.Phone("+447700900001")] });

        Assert.Equal(SendStatus.Queued, (await engine.SendAsync(Ann, new MessageRequest { Key = "k", Channels = [ChannelNames.Sms], TemplateId = "hello", Class = MessageClass.Transactional })).Status);
        await engine.RunDispatchAsync();

        Assert.Equal("Good morning, it is 08:30", Assert.Single(sms.Sent<SmsMessage>()).Body);
    }

    private static OmnichannelTestHost QuietHost(TimeOnly start, TimeOnly end, DateTimeOffset now) =>
        OmnichannelTestHost.Create(o =>
        {
            o.Delivery.QuietHoursStart = start;
            o.Delivery.QuietHoursEnd = end;
        }, now, delivery: new DeliverySetup { Renderer = new Omnichannel.Sdk.Tests.Delivery.TemplateIdRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));

    private static async Task<DateTimeOffset> DueAtAsync(OmnichannelTestHost host, string zone)
    {
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email("ann@example.com")], context: new EventContext { TimeZone = zone }));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var r = await host.Client.SendAsync(Ann, new MessageRequest { Key = "offer", Channels = [ChannelNames.Email], TemplateId = "t", Topic = "offers" });
        Assert.Equal(SendStatus.Queued, r.Status);
        return r.DueAt!.Value;
    }

    [Theory]
    [InlineData("America/New_York", "2026-03-08T03:00:00Z", "2026-03-08T07:00:00Z")] // 22:00 EST → 03:00 EDT, the jump from 02:00
    [InlineData("Australia/Lord_Howe", "2026-10-03T12:00:00Z", "2026-10-03T15:30:00Z")] // 22:30 LHST → 02:30 LHDT, the half-hour jump
    public async Task QuietHoursEndingInsideTheSpringForwardGap_EndAtTheJump_NotLater(string zone, string now, string expected)
    {
        // Quiet until 02:15 on the night the clock skips 02:00–03:00 (New York) or 02:00–02:30 (Lord Howe): the first
        // instant her clock reads past 02:15 is the jump itself, so the quiet hours are over then.
        await using var host = QuietHost(new TimeOnly(21, 0), new TimeOnly(2, 15), DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), await DueAtAsync(host, zone));
    }

    [Theory]
    [InlineData("Europe/London", "2026-03-28T22:30:00Z", "2026-03-29T07:00:00Z")] // spring forward: 08:00 BST
    [InlineData("Europe/London", "2026-10-24T21:30:00Z", "2026-10-25T08:00:00Z")] // fall back: 08:00 GMT
    [InlineData("America/New_York", "2026-03-08T03:30:00Z", "2026-03-08T12:00:00Z")] // 22:30 EST → 08:00 EDT
    [InlineData("America/New_York", "2026-11-01T02:30:00Z", "2026-11-01T13:00:00Z")] // 22:30 EDT → 08:00 EST
    [InlineData("Australia/Sydney", "2026-10-03T12:30:00Z", "2026-10-03T21:00:00Z")] // 22:30 AEST → 08:00 AEDT
    [InlineData("Australia/Sydney", "2026-04-04T11:30:00Z", "2026-04-04T22:00:00Z")] // 22:30 AEDT → 08:00 AEST
    [InlineData("Australia/Lord_Howe", "2026-10-03T12:00:00Z", "2026-10-03T21:00:00Z")] // 22:30 LHST → 08:00 LHDT (+11)
    [InlineData("Australia/Lord_Howe", "2026-04-04T11:00:00Z", "2026-04-04T21:30:00Z")] // 22:00 LHDT → 08:00 LHST (+10:30)
    [InlineData("Australia/Lord_Howe", "2026-04-04T15:10:00Z", "2026-04-04T21:30:00Z")] // second pass of 01:40: still 08:00
    [InlineData("America/Sao_Paulo", "2018-11-04T01:30:00Z", "2018-11-04T10:00:00Z")] // 2018: DST began at midnight → 08:00 −02
    [InlineData("America/Sao_Paulo", "2026-11-01T01:30:00Z", "2026-11-01T11:00:00Z")] // DST abolished in 2019 → 08:00 −03
    public async Task QuietHoursAcrossMidnight_OnDaylightSavingNights_EndAtEightLocal(string zone, string now, string expected)
    {
        await using var host = QuietHost(new TimeOnly(22, 0), new TimeOnly(8, 0), DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), await DueAtAsync(host, zone));
    }

    [Theory]
    [InlineData("America/New_York", "2026-11-01T05:40:00Z", "2026-11-01T06:30:00Z")] // 01:40 EDT: 01:30 comes again at 01:30 EST
    [InlineData("Europe/London", "2026-10-25T00:40:00Z", "2026-10-25T01:30:00Z")] // 01:40 BST → 01:30 GMT
    [InlineData("Australia/Lord_Howe", "2026-04-04T14:50:00Z", "2026-04-04T15:15:00Z")] // 01:50 LHDT → 01:45 LHST (30-minute overlap)
    public async Task AWaitUntilALocalTime_StartedBetweenItsTwoPasses_EndsAtTheSecond_NotADayLate(string zone, string start, string expected)
    {
        var time = zone == "Australia/Lord_Howe" ? "01:45" : "01:30";
        var journey = Journeys.JourneyRig.Parse($$"""
            {"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"},
             "steps": [{"id": "d", "type": "delayUntilLocalTime", "localTime": "{{time}}"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional"}]}
            """);
        var at = DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture);
        await using var rig = Journeys.JourneyRig.Create([journey], start: at);
        await rig.TrackAsync("page.viewed", [Ann, Identifier.Email("ann@example.com")], context: new EventContext { TimeZone = zone });

        var due = DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture);
        await rig.AdvanceToAsync(due.AddSeconds(-1));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(due);
        Assert.Equal(["email:nudge"], rig.Sent());
        await rig.AdvanceToAsync(due.AddDays(2));
        Assert.Equal(["email:nudge"], rig.Sent()); // once
    }

    [Theory]
    [InlineData("GMT Standard Time")]
    [InlineData("Europe/London")]
    [InlineData("GB")]
    [InlineData("gb")]
    [InlineData("europe/jersey")]
    [InlineData("gmt standard time")]
    public async Task AZoneGivenAsAWindowsIdOrAnAlias_RunsQuietHoursInThatZone(string zone)
    {
        // 22:30 BST on 1 July: quiet until 08:00 BST (07:00 UTC), not 08:00 UTC.
        await using var host = QuietHost(new TimeOnly(22, 0), new TimeOnly(8, 0), new DateTimeOffset(2026, 7, 1, 21, 30, 0, TimeSpan.Zero));
        Assert.Equal(new DateTimeOffset(2026, 7, 2, 7, 0, 0, TimeSpan.Zero), await DueAtAsync(host, zone));
    }

    [Fact]
    public async Task APerLocalDayCap_OnThe25HourDayClocksGoBack_CountsTheWholeLocalDay()
    {
        // London, 25 October 2026: 00:00 BST (23:00 UTC the day before) to 24:00 GMT (00:00 UTC on the 26th).
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, null, PerLocalDay: true));
        }, new DateTimeOffset(2026, 10, 24, 23, 0, 0, TimeSpan.Zero), delivery: new DeliverySetup { Renderer = new Omnichannel.Sdk.Tests.Delivery.TemplateIdRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email("ann@example.com")], context: new EventContext { TimeZone = "Europe/London" }));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        MessageRequest Offer(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "t", Topic = "offers" };

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Offer("first"))).Status);
        await host.AdvanceToAsync(new DateTimeOffset(2026, 10, 25, 23, 59, 0, TimeSpan.Zero)); // 23:59 GMT, 25 hours on
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Ann, Offer("same-day"))).Status);
        await host.AdvanceToAsync(new DateTimeOffset(2026, 10, 26, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Offer("next-day"))).Status);
    }
}
