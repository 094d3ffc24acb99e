using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit D: caps, held messages and consent when two profiles of one person merge.</summary>
public sealed class AuditDMergeDeliveryTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Identifier Work = Identifier.Email("ann@work.example");
    private static readonly DateTimeOffset LateEvening = new(2026, 1, 5, 22, 30, 0, TimeSpan.Zero);

    private static MessageRequest Promo(string key, string? topic = null) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Topic = topic };

    [Fact]
    public async Task TwoMessagesHeldForQuietHours_OnProfilesThatMerge_RespectAOneADayCap()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1), ChannelNames.Email)),
            start: LateEvening,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Known, Work]);
        await host.TrackAsync("page.viewed", [Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var q1 = await host.Client.SendAsync(Known, Promo("promo-a"));
        var q2 = await host.Client.SendAsync(Ann, Promo("promo-b"));
        Assert.Equal(SendStatus.Queued, q1.Status);
        Assert.Equal(SendStatus.Queued, q2.Status);
        Assert.True(q1.DueAt > host.Time.GetUtcNow());

        await host.TrackAsync("user.logged_in", [Known, Ann]);
        await host.AdvanceToAsync(q1.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();

        // One person, a cap of one email a day: she gets one, not two.
        Assert.Single(email.Messages);
    }
    [Fact]
    public async Task AMessageHeldOnTheFirstProfileOfAChainOfMerges_IsNotSent_AfterAnOptOutUnderItsFirstIdentifier()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 4, start: LateEvening,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        var cookie = Identifier.AnonymousId("cookie-1");
        var device = Identifier.DeviceId("dev-1");
        await host.TrackAsync("page.viewed", [cookie, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var q = await host.Client.SendAsync(Ann, Promo("promo"));
        Assert.True(q.DueAt > host.Time.GetUtcNow());
        await host.TrackAsync("app.opened", [device]);
        await host.TrackAsync("user.signed_up", [Known]);

        await host.TrackAsync("app.linked", [device, cookie]);   // A + B
        await host.TrackAsync("user.logged_in", [Known, device]); // (A+B) + C
        host.Time.Advance(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.MessageUnsubscribed, [cookie], new { channel = "email" }); // under the first cookie

        await host.AdvanceToAsync(q.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
        var p = await host.ProfileAsync(Known);
        Assert.True(p.Has(Ann) && p.Has(cookie) && p.Has(device));
        Assert.Single(p.Timeline, t => t.Type == "message.queued");
    }
}
