using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit G: local time across daylight-saving changes, zone changes while something is pending, late wake-ups.</summary>
public sealed class AuditGTimeTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static SegmentDefinition Json(string json)
    {
        var r = SegmentJson.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors.Select(e => e.Path + " " + e.Message)));
        return r.Value!;
    }

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId });
    }

    private static (OmnichannelTestHost Host, RecordingTransport Sms) SmsHost(DateTimeOffset start, Action<OmnichannelOptions>? configure = null)
    {
        var sms = new RecordingTransport(ChannelNames.Sms);
        var host = OmnichannelTestHost.Create(configure, start: start, delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("sms", sms));
        return (host, sms);
    }

    private static async Task SignUp(OmnichannelTestHost host, string zone)
    {
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Phone("+447700900123")], context: new EventContext { TimeZone = zone }));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true });
    }

    [Fact]
    public async Task AnAnniversarySegment_FollowsAZoneChange_AtOnce()
    {
        var birthday = Json("""{"id": "birthday-today", "name": "x", "rule": {"trait": "birthday", "op": "anniversaryWithin", "value": "P0D"}}""");

        // 2026-03-14 20:00 UTC: still the 14th in London, already the 15th in Auckland (UTC+13).
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(birthday), start: new DateTimeOffset(2026, 3, 14, 20, 0, 0, TimeSpan.Zero));
        await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { birthday = "1990-03-15" }, context: new EventContext { TimeZone = "Europe/London" }));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("birthday-today"));

        // She lands in Auckland: an event with her new zone and no trait.
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(host.Event("app.opened", [Ann], context: new EventContext { TimeZone = "Pacific/Auckland" }));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("birthday-today"), "her birthday has begun where she now is");

        // It ends at midnight in Auckland (11:00 UTC on the 15th), not at London's midnight.
        await host.AdvanceToAsync(new DateTimeOffset(2026, 3, 15, 11, 0, 0, TimeSpan.Zero));
        var p = await host.ProfileAsync(Ann);
        Assert.False(p.IsInSegment("birthday-today"));
        var exited = Assert.Single(p.Timeline, t => t.Type == EventTypes.SegmentExited);
        Assert.Equal(new DateTimeOffset(2026, 3, 15, 11, 0, 0, TimeSpan.Zero), exited.Timestamp);
    }

    [Fact]
    public async Task AMessageHeldForQuietHours_WaitsForHerMorning_WhenSheMovesZoneMeanwhile()
    {
        // 22:30 in London: a marketing SMS waits for 08:00 London (08:00 UTC).
        var (host, sms) = SmsHost(new DateTimeOffset(2026, 1, 5, 22, 30, 0, TimeSpan.Zero));
        await using var _ = host;
        await SignUp(host, "Europe/London");
        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Sms], TemplateId = "promo", Topic = "offers" });
        Assert.Equal(new DateTimeOffset(2026, 1, 6, 8, 0, 0, TimeSpan.Zero), queued.DueAt);

        // She flies to New York overnight: 08:00 UTC is 03:00 there.
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.TrackAsync(host.Event("app.opened", [Ann], context: new EventContext { TimeZone = "America/New_York" }));
        await host.AdvanceToAsync(queued.DueAt!.Value);
        await host.Engine.RunDispatchAsync();
        Assert.Empty(sms.Messages);

        // It goes out at 08:00 in New York (13:00 UTC), once.
        await host.AdvanceToAsync(new DateTimeOffset(2026, 1, 6, 13, 0, 0, TimeSpan.Zero));
        await host.Engine.RunDispatchAsync();
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.Engine.RunDispatchAsync();
        Assert.Single(sms.Messages);
        var sent = Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageSent);
        Assert.Equal(new DateTimeOffset(2026, 1, 6, 13, 0, 0, TimeSpan.Zero), sent.Timestamp);
    }

    [Fact]
    public async Task AWaitUntilNineOnTheMorningAfterSpringForward_IsNineLocal()
    {
        var journey = Journey.Define("morning", "Morning")
            .TriggeredBy(t => t.Event("app.opened"))
            .Steps(s => s.DelayUntilLocalTime("nine", new TimeOnly(9, 0)).Send("hello", [ChannelNames.Email], "hello", topic: null, MessageClass.Transactional))
            .Build();

        // Saturday 28 March 2026 20:00 in Berlin (CET, UTC+1); Sunday 09:00 is CEST (UTC+2) = 07:00 UTC.
        await using var rig = JourneyRig.Create([journey], start: new DateTimeOffset(2026, 3, 28, 19, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("app.opened", [Ann, Identifier.Email("ann@example.com")], context: new EventContext { TimeZone = "Europe/Berlin" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 29, 6, 59, 0, TimeSpan.Zero));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 29, 7, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());
    }

    [Fact]
    public async Task AWaitUntilHalfPastOne_OnTheFallBackNight_IsTheFirstHalfPastOne()
    {
        var journey = Journey.Define("night", "Night")
            .TriggeredBy(t => t.Event("app.opened"))
            .Steps(s => s.DelayUntilLocalTime("late", new TimeOnly(1, 30)).Send("hello", [ChannelNames.Email], "hello", topic: null, MessageClass.Transactional))
            .Build();

        // New York falls back on 1 November 2026 at 02:00 EDT → 01:00 EST; 01:30 happens at 05:30 and 06:30 UTC.
        await using var rig = JourneyRig.Create([journey], start: new DateTimeOffset(2026, 11, 1, 3, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("app.opened", [Ann, Identifier.Email("ann@example.com")], context: new EventContext { TimeZone = "America/New_York" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 11, 1, 5, 30, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());
    }

    [Fact]
    public async Task ABirthdayInAQuarterHourZone_FiresAtNineThere()
    {
        var journey = Journey.Define("birthday", "Birthday")
            .TriggeredBy(t => t.Date("birthday", "P0D", new TimeOnly(9, 0), annual: true))
            .Steps(s => s.Send("wish", [ChannelNames.Email], "happy-birthday", topic: null, MessageClass.Transactional))
            .Build();

        // Chatham Islands in June: UTC+12:45. 09:00 on 10 June there is 20:15 UTC on 9 June.
        await using var rig = JourneyRig.Create([journey], start: new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")], traits: new { birthday = "1990-06-10" }, context: new EventContext { TimeZone = "Pacific/Chatham" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 6, 9, 20, 14, 0, TimeSpan.Zero));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 6, 9, 20, 15, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());
    }

    [Fact]
    public async Task AWindowEndsExactlyAtItsEdge()
    {
        var recent = Json("""{"id": "recent", "name": "x", "rule": {"event": "page.viewed", "count": {"op": "gte", "value": 1}, "within": "P7D"}}""");
        var lapsed = Json("""{"id": "lapsed", "name": "x", "rule": {"lastEvent": "page.viewed", "op": "moreThanAgo", "value": "P30D"}}""");
        var start = new DateTimeOffset(2026, 3, 20, 12, 0, 0, TimeSpan.Zero);
        await using var host = OmnichannelTestHost.Create(o => { o.Segments.Add(recent); o.Segments.Add(lapsed); }, start: start);
        await host.TrackAsync(host.Event("page.viewed", [Ann], context: new EventContext { TimeZone = "Europe/Paris" }));
        await host.AdvanceToAsync(start + TimeSpan.FromDays(7) - TimeSpan.FromTicks(1));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("recent"));
        await host.AdvanceToAsync(start + TimeSpan.FromDays(7));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("recent"));
        await host.AdvanceToAsync(start + TimeSpan.FromDays(30) - TimeSpan.FromTicks(1));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("lapsed"));
        await host.AdvanceToAsync(start + TimeSpan.FromDays(30));
        var p = await host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("lapsed"));
        Assert.Equal(start + TimeSpan.FromDays(30), p.Timeline.Single(t => t.Type == EventTypes.SegmentEntered && t.Summary == "x" && t.Timestamp > start + TimeSpan.FromDays(8)).Timestamp);
    }

    [Fact]
    public async Task AProcessDownForAWeek_RunsEachDueTimerOnce_AtItsOwnInstant()
    {
        var recent = Json("""{"id": "recent", "name": "Recent", "rule": {"event": "page.viewed", "count": {"op": "gte", "value": 1}, "within": "P1D"}}""");
        var journey = Journey.Define("drip", "Drip")
            .TriggeredBy(t => t.Event("user.signed_up"))
            .Steps(s => s
                .Delay("d1", "P1D").Send("m1", [ChannelNames.Email], "m1", topic: null, MessageClass.Transactional)
                .Delay("d2", "P1D").Send("m2", [ChannelNames.Email], "m2", topic: null, MessageClass.Transactional)
                .Delay("d3", "P1D").Send("m3", [ChannelNames.Email], "m3", topic: null, MessageClass.Transactional))
            .Build();
        var start = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        await using var rig = JourneyRig.Create([journey], [recent], start: start);
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        await rig.TrackAsync("page.viewed", [Ann]);

        // The process is down for a week: the clock jumps, then the wake-ups run.
        rig.Host.Time.SetUtcNow(start + TimeSpan.FromDays(7));
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDispatchAsync();
        await rig.Engine.RunDueAsync();
        await rig.Engine.RunDispatchAsync();

        var p = await rig.Host.ProfileAsync(Ann);
        var exited = Assert.Single(p.Timeline, t => t.Type == EventTypes.SegmentExited);
        Assert.Equal(start + TimeSpan.FromDays(1), exited.Timestamp);
        Assert.Equal(["email:m1"], rig.Sent());

        // Then one a day, as designed, never two at once.
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(["email:m1", "email:m2"], rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromDays(5));
        Assert.Equal(["email:m1", "email:m2", "email:m3"], rig.Sent());
    }
}
