using Omnichannel.Sdk.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the thirty-seventh session's changes (see docs/design-notes.md, "Review of the thirty-seventh session's
/// changes"). Public API and the test kit's fake clock.
/// </summary>
public sealed class ReviewSession37Tests
{
    [Fact]
    public async Task DeliveryProperty_TwoMessagesAtOneInstant_HerZoneChangedBetween_AreCappedInTheZoneEachLeftIn()
    {
        // The DX property's counterexample, shortened. Cap: two marketing messages per local day. One email at 09:00 UTC
        // (04:00 in New York), then at 00:45 UTC the next day she is in New York (19:45, the same day there) and a journey
        // sends one; she lands in Tokyo (09:45 the next day there) and another journey sends one, at the same instant.
        // The engine is right: New York's day had two, Tokyo's has one before the last. The oracle counted every message
        // handed over at or before the first journey's *instant*, so the later Tokyo one too, in New York's day: three.
        var run = new DeliveryRun(2,
        [
            new DeliveryStep(0, 1, 3, 0),  // link email + customer id
            new DeliveryStep(0, 0, 1, 0),  // link cookie + email
            new DeliveryStep(1, 1, 0, 0),  // marketing email, 09:00 UTC
            new DeliveryStep(7, 0, 0, 9),  // +10 h
            new DeliveryStep(7, 0, 0, 7),  // +5 h
            new DeliveryStep(7, 0, 0, 3),  // +45 min: 00:45 UTC
            new DeliveryStep(9, 0, 0, 1),  // New York
            new DeliveryStep(4, 0, 0, 0),  // journey "now"
            new DeliveryStep(9, 0, 0, 2),  // Tokyo
            new DeliveryStep(4, 1, 0, 0),  // journey "now" again
        ]);

        await AuditDeliveryProperties.RunAsync(run);
    }
}

/// <summary>Two messages leaving together after the dispatcher was down: each must count the other under the caps.</summary>
public sealed class ReviewSession37LeavingTogetherTests
{
    private static readonly DateTimeOffset Start = Omnichannel.Sdk.Testing.OmnichannelTestHost.DefaultStart; // 09:00 UTC

    private static readonly Identifier Email = AuditDeliveryProperties.Person[1];

    private static readonly Identifier Phone = AuditDeliveryProperties.Person[2];

    [Fact]
    public async Task TwoRetriesDueWhileTheDispatcherWasDown_LeaveUnderACapOfOne_OneOfThem()
    {
        // Found by the DX property. Cap: one email per two hours. The first email fails at 09:00 and again when the process
        // comes back at 11:30; a second one planned then fails too (its cap did not count the first, due at 09:00). The
        // process is down again until 14:00, when both retries are due: each checked the other at its old due time (09:00,
        // 11:30), outside the window ending at 14:00, and both went at 14:00.
        var (email, sms, renderer) = Rig();
        var store = new Omnichannel.Sdk.Storage.InMemoryOmnichannelStore();
        var host = NewHost(Start, store, email, sms, renderer);
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Email], new { channel = ChannelNames.Email, granted = true }, at: Start - TimeSpan.FromHours(1)));
        email.Fail(AuditDeliveryProperties.Outcome.Transient, 3);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Email, Request("m-1", ChannelNames.Email))).Status);
        await host.Engine.RunDispatchAsync();
        await host.DisposeAsync();

        host = NewHost(Start + TimeSpan.FromMinutes(150), store, email, sms, renderer);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Email, Request("m-2", ChannelNames.Email))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(3, email.Log.Count); // m-1 twice, m-2 once: all transient
        await host.DisposeAsync();

        host = NewHost(Start + TimeSpan.FromMinutes(300), store, email, sms, renderer);
        try
        {
            await host.Engine.RunDispatchAsync();
            await host.AdvanceAsync(TimeSpan.FromDays(1));
            var accepted = email.Log.Where(h => h.Outcome == AuditDeliveryProperties.Outcome.Accepted).ToList();
            Assert.Equal(["m-1"], accepted.Select(h => h.Key)); // the earlier one; the other would break the cap at 14:00
            Assert.Equal(Start + TimeSpan.FromMinutes(300), accepted[0].At);
            Assert.True(await host.Store.IsEventProcessedAsync("m-2:cancelled"));
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task AFallbackLeavingWithARetryDueWhileTheDispatcherWasDown_CountsIt()
    {
        // Found by the DX property. Cap: one email per two hours. A promotion by SMS then email at 18:00: the gateway refuses
        // it, the email provider times out, and again at 21:30 when the process comes back. Another promotion planned then,
        // in quiet hours, waits for 08:00 on SMS. The process is down until 08:00: the first one's last attempt and the
        // second both leave; the gateway refuses the second, whose fallback to email counted the first at 21:30, outside
        // the window, and two emails went at 08:00.
        var (email, sms, renderer) = Rig();
        var store = new Omnichannel.Sdk.Storage.InMemoryOmnichannelStore();
        var evening = Start + TimeSpan.FromHours(9); // 18:00 UTC
        var host = NewHost(evening, store, email, sms, renderer);
        await host.TrackAsync(host.Event("user.logged_in", [Email, Phone], at: evening - TimeSpan.FromHours(2)));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Email], new { channel = ChannelNames.Email, granted = true }, at: evening - TimeSpan.FromHours(1)));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Phone], new { channel = ChannelNames.Sms, granted = true }, at: evening - TimeSpan.FromHours(1)));
        sms.Fail(AuditDeliveryProperties.Outcome.Permanent, 2);
        email.Fail(AuditDeliveryProperties.Outcome.Transient, 2);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Phone, Request("m-1", ChannelNames.Sms, ChannelNames.Email))).Status);
        await host.Engine.RunDispatchAsync();
        await host.DisposeAsync();

        host = NewHost(evening + TimeSpan.FromMinutes(210), store, email, sms, renderer);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Phone, Request("m-2", ChannelNames.Sms, ChannelNames.Email))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Single(sms.Log); // m-2 waits for 08:00
        Assert.Equal(2, email.Log.Count); // m-1 at 18:00 and 21:30, both transient
        await host.DisposeAsync();

        var morning = Start + TimeSpan.FromHours(23); // 08:00 UTC the next day
        host = NewHost(morning, store, email, sms, renderer);
        try
        {
            await host.Engine.RunDispatchAsync();
            await host.AdvanceAsync(TimeSpan.FromDays(1));
            Assert.Equal(["m-1", "m-2"], sms.Log.Select(h => h.Key).Order());
            var accepted = email.Log.Where(h => h.Outcome == AuditDeliveryProperties.Outcome.Accepted).ToList();
            Assert.Equal(["m-1"], accepted.Select(h => h.Key));
            Assert.Equal(morning, accepted[0].At);
            Assert.True(await host.Store.IsEventProcessedAsync("m-2:failed"));
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task TwoMessagesHeldForOneMorning_BroughtForwardByAZoneChange_CountEachOther()
    {
        // Found by the DX property. Cap: two marketing messages per six hours. In Tokyo at 12:30 UTC (21:30 there) two
        // emails are held for 08:00 there (23:00 UTC); back in London (UTC) at 13:15 a third goes at once. She lands in New
        // York (08:15 there): the night they were held in is over, so they go now, if the caps let them. Each was checked
        // as if it alone moved (the third and the other one, still at 23:00: one), and both went: three in six hours.
        var (email, sms, renderer) = Rig();
        var at = Start + TimeSpan.FromMinutes(210); // 12:30 UTC
        _starting = at;
        var host = _host = AuditDeliveryProperties.NewHost(1, at, new Omnichannel.Sdk.Storage.InMemoryOmnichannelStore(), email, sms, renderer);
        try
        {
            await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Email], new { channel = ChannelNames.Email, granted = true }, at: at - TimeSpan.FromHours(1)));
            await MoveAsync(host, "Asia/Tokyo");
            foreach (var key in new[] { "m-1", "m-2" })
            {
                Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Email, Request(key, ChannelNames.Email))).Status);
            }

            await host.AdvanceAsync(TimeSpan.FromMinutes(45)); // 13:15 UTC, 22:15 in Tokyo
            Assert.Empty(email.Log);
            await MoveAsync(host, "UTC");
            Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Email, Request("m-3", ChannelNames.Email))).Status);
            await host.AdvanceAsync(TimeSpan.Zero);
            Assert.Equal(["m-3"], email.Log.Select(h => h.Key)); // the held ones keep 23:00 (UTC's night is later)
            await MoveAsync(host, "America/New_York");
            await host.AdvanceAsync(TimeSpan.FromDays(1));

            var sent = email.Log.Where(h => h.Outcome == AuditDeliveryProperties.Outcome.Accepted).ToList();
            Assert.Equal(["m-1", "m-2", "m-3"], sent.Select(h => h.Key).Order());
            foreach (var h in sent)
            {
                Assert.True(sent.Count(x => x.At <= h.At && x.At > h.At - TimeSpan.FromHours(6)) <= 2, string.Join(", ", sent.Select(x => $"{x.Key} {x.At:HH:mm}")));
            }

            Assert.Equal(2, sent.Count(h => h.At == at + TimeSpan.FromMinutes(45))); // m-3 and one held message at 13:15
            Assert.Contains(sent, h => h.At == Start + TimeSpan.FromHours(14)); // the other at 23:00 UTC, as held
        }
        finally
        {
            await host.DisposeAsync();
        }

        static async Task MoveAsync(Omnichannel.Sdk.Testing.OmnichannelTestHost host, string zone) =>
            await host.TrackAsync(host.Event("page.viewed", [Email], context: new EventContext { TimeZone = zone }));
    }

    private Omnichannel.Sdk.Testing.OmnichannelTestHost? _host;

    private (AuditDeliveryProperties.Recorder Email, AuditDeliveryProperties.Recorder Sms, AuditDeliveryProperties.Renderer Renderer) Rig() => (
        new AuditDeliveryProperties.Recorder(ChannelNames.Email, Now, _ => 6),
        new AuditDeliveryProperties.Recorder(ChannelNames.Sms, Now, _ => 6),
        new AuditDeliveryProperties.Renderer());

    // The host being created starts sending what its outbox holds before Create returns: until then its clock is at its
    // start. Reading the host before it (disposed) dated a hand-over at 08:00 to 21:30 now and then (a flaky failure).
    private DateTimeOffset _starting = DateTimeOffset.MinValue;

    private DateTimeOffset Now() => _host?.Time.GetUtcNow() ?? _starting;

    private Omnichannel.Sdk.Testing.OmnichannelTestHost NewHost(DateTimeOffset start, Omnichannel.Sdk.Storage.IOmnichannelStore store, AuditDeliveryProperties.Recorder email, AuditDeliveryProperties.Recorder sms, AuditDeliveryProperties.Renderer renderer)
    {
        _host = null;
        _starting = start;
        return _host = AuditDeliveryProperties.NewHost(0, start, store, email, sms, renderer);
    }

    private static MessageRequest Request(string key, params string[] channels) =>
        new() { Key = key, Channels = channels, TemplateId = "tpl", Class = MessageClass.Marketing };
}
