using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// A hard-bounced address no longer counts as a way to reach her: the <c>reachable</c> rule does not see it, and delivery
/// uses her other address on the channel instead of passing the channel over.
/// </summary>
public sealed class BouncedAddressTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Identifier AnnAtWork = Identifier.Email("ann@work.example");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");

    [Fact]
    public async Task HerOnlyEmailHardBounced_SheLeavesTheReachableSegment()
    {
        var (host, _) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        Assert.True((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));

        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", address = "ANN@example.com", bounce_type = "hard" });

        Assert.False((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));
    }

    [Fact]
    public async Task HerNewestEmailHardBounced_MailGoesToHerOtherEmail_AndSheStaysReachable()
    {
        var (host, email) = Host();
        await using var _ = host;
        var t = host.Time.GetUtcNow().AddHours(-2);
        await host.TrackAsync("user.signed_up", [Known, Ann], at: t);
        await host.TrackAsync("user.updated", [Known, AnnAtWork], at: t.AddHours(1)); // the newest: mail goes here first
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", address = "ann@work.example", bounce_type = "hard" });

        var sent = await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Queued, sent.Status);
        Assert.Equal("ann@example.com", ((EmailMessage)Assert.Single(email.Messages)).To);
        Assert.True((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));
    }

    [Fact]
    public async Task ABounceRecordedBeforeTheAddressWasHers_CountsOnceItIs()
    {
        var (host, _) = Host();
        await using var _ = host;
        await host.TrackAsync(EventTypes.MessageBounced, [Cookie], new { channel = "email", address = "ann@example.com", bounce_type = "hard" });
        await host.TrackAsync(EventTypes.ConsentChanged, [Cookie], new { channel = "email", granted = true });
        await host.TrackAsync("user.logged_in", [Cookie, Known, Ann]); // her email, linked to the profile that saw it bounce

        Assert.False((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));
    }

    [Fact]
    public async Task ABounceOnAnotherProfile_FollowsTheMerge()
    {
        var (host, email) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.MessageBounced, [Cookie], new { channel = "email", address = "ann@example.com", bounce_type = "hard" });
        Assert.True((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));

        await host.TrackAsync("user.logged_in", [Known, Cookie]);

        Assert.False((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("p1"))).Status);
        Assert.Empty(email.Messages);
    }

    [Fact]
    public async Task APhoneBouncedOnSms_StaysReachableOnWhatsApp()
    {
        var (host, _) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Identifier.Phone("+447700900123")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "sms", granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "whatsapp", granted = true });
        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "sms", address = "+44 7700 900123", bounce_type = "hard" });

        var p = await host.ProfileAsync(Known);
        Assert.False(p.IsInSegment("reachable-sms"));
        Assert.True(p.IsInSegment("reachable-whatsapp"));
    }

    // A provider's webhook that names only the message (Customer.io, SendGrid and Braze can post bounces keyed by message
    // id): the bounce is about the address the message went to, not the one she uses by the time the webhook arrives.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ABounceNamingOnlyTheMessage_SuppressesTheAddressItWentTo_NotTheOneSheChangedTo(bool bounceDatedBeforeTheChange)
    {
        var (host, email) = Host();
        await using var _ = host;
        var start = host.Time.GetUtcNow();
        await host.TrackAsync("user.signed_up", [Known, Ann], at: start.AddHours(-1));
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Promo("p1"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal("ann@example.com", ((EmailMessage)Assert.Single(email.Messages)).To);

        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync("user.updated", [Known, AnnAtWork]); // she changes her email: mail goes here now
        await host.TrackAsync(
            EventTypes.MessageBounced,
            [Known],
            new { channel = "email", message_id = "p1", bounce_type = "hard" },
            at: bounceDatedBeforeTheChange ? start.AddMinutes(5) : null);

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Promo("p2"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal("ann@work.example", ((EmailMessage)email.Messages[^1]).To);
        Assert.True((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));

        // The address that bounced is the one passed over: a message to her old address is not sent again.
        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", address = "ann@work.example", bounce_type = "hard" });
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("p3"))).Status);
        Assert.False((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));
    }

    [Fact]
    public async Task ABounceWaitingForItsMessage_SuppressesTheAddressItWentTo_WhenTheMergeBringsIt()
    {
        var (host, email) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();
        Assert.Equal("ann@example.com", ((EmailMessage)Assert.Single(email.Messages)).To);

        // She changes her email; the bounce comes in on a profile of hers not linked yet (it waits for its message).
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync("user.updated", [Known, AnnAtWork]);
        await host.TrackAsync(EventTypes.MessageBounced, [Cookie], new { channel = "email", message_id = "p1", bounce_type = "hard" });
        await host.TrackAsync("user.logged_in", [Cookie, Known]);

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Promo("p2"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal("ann@work.example", ((EmailMessage)email.Messages[^1]).To);
        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", address = "ann@work.example", bounce_type = "hard" });
        Assert.False((await host.ProfileAsync(Known)).IsInSegment("reachable-email")); // ann@example.com was suppressed
    }

    private static (OmnichannelTestHost Host, RecordingTransport Email) Host()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                foreach (var channel in new[] { "email", "sms", "whatsapp" })
                {
                    o.Segments.Add(SegmentJson.Parse($$$"""{"id": "reachable-{{{channel}}}", "name": "x", "rule": {"reachable": "{{{channel}}}"}}""").Value!);
                }
            },
            delivery: new DeliverySetup { Renderer = new AddressRenderer() }.AddTransport("email", email));
        return (host, email);
    }

    private static MessageRequest Promo(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = MessageClass.Marketing };

    private sealed class AddressRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }
}
