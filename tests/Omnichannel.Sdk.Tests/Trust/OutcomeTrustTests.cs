using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// What an audit found (sixth session): complaints and hard bounces that stopped nothing, an erased person's address left
/// readable on another profile, the address a message goes to decided by arrival order, and a tie between an opt-in and
/// an opt-out settled by event id. Each test failed before its fix.
/// </summary>
public sealed class OutcomeTrustTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");

    [Fact]
    public async Task Erase_LeavesHerAddressReadableNowhere_NotEvenInAnotherProfilesSuppressions()
    {
        var (host, _) = Host();
        await using var __ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.MessageBounced, [Cookie], new { channel = "email", address = "ann@example.com", bounce_type = "hard" });

        Assert.True(await host.Client.EraseProfileAsync(Ann));

        var other = await host.Client.ExportProfileAsync(Cookie);
        Assert.NotNull(other);
        Assert.DoesNotContain("ann@example.com", other!.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        var stored = await host.Engine.Store.LoadProfileAsync((await host.ProfileAsync(Cookie)).Id);
        Assert.DoesNotContain("ann@example.com", System.Text.Encoding.UTF8.GetString(stored!.Document), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task HardBounce_KeptAsAHash_StillSuppressesTheAddress_AndFollowsAMerge()
    {
        var (host, email) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.MessageBounced, [Cookie], new { channel = "email", address = "ANN@example.com", bounce_type = "hard" });
        await host.TrackAsync("user.logged_in", [Known, Cookie]); // the cookie's profile, with the bounce, merges into hers

        var sent = await host.Client.SendAsync(Known, Promo("t1", MessageClass.Transactional));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, sent.Status);
        Assert.Empty(email.Messages);
    }

    [Fact]
    public async Task Complaint_WithTheChannelOnTheEventOnly_StopsMarketing()
    {
        var (host, email) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });

        var r = await host.Client.TrackAsync(host.Event(EventTypes.MessageComplained, [Ann], new { address = "ann@example.com" }, channel: ChannelNames.Email));
        var sent = await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(TrackStatus.Accepted, r.Status);
        Assert.Equal(SendStatus.Skipped, sent.Status);
        Assert.Empty(email.Messages);
    }

    [Fact]
    public async Task Complaint_ThatNamesNoChannelAtAll_IsRejectedWithTheField()
    {
        await using var host = OmnichannelTestHost.Create();

        var r = await host.Client.TrackAsync(host.Event(EventTypes.MessageComplained, [Ann], new { address = "ann@example.com" }));

        Assert.Equal(TrackStatus.Rejected, r.Status);
        Assert.Equal("properties.channel", Assert.Single(r.Errors).Field);
    }

    [Fact]
    public async Task Complaint_AboutAMessageTheSdkNeverSent_WithoutAChannel_StopsMarketingOnEveryChannel()
    {
        var (host, email) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });

        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(EventTypes.MessageComplained, [Ann], new { message_id = "esp-123" }))).Status);

        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("p1"))).Status);
        Assert.False((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Sms)!.Granted);
    }

    [Fact]
    public async Task HardBounce_OfAnSdkMessage_WithoutAnAddress_SuppressesTheAddressItWentTo()
    {
        var (host, email) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.Client.SendAsync(Known, Promo("t1", MessageClass.Transactional));
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);

        var r = await host.Client.TrackAsync(host.Event(EventTypes.MessageBounced, [Known], new { message_id = "t1", bounce_type = "hard" }, channel: ChannelNames.Email));
        var second = await host.Client.SendAsync(Known, Promo("t2", MessageClass.Transactional));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(TrackStatus.Accepted, r.Status);
        Assert.Equal(SendStatus.Skipped, second.Status);
        Assert.Single(email.Messages);
    }

    [Fact]
    public async Task HardBounce_CarryingTheAddressAsItsIdentifier_SuppressesIt()
    {
        var (host, email) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);

        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", bounce_type = "hard" });

        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("t1", MessageClass.Transactional))).Status);
    }

    [Fact]
    public async Task HardBounce_ThatSaysNotWhichAddress_IsRejectedWithTheField()
    {
        await using var host = OmnichannelTestHost.Create();

        var r = await host.Client.TrackAsync(host.Event(EventTypes.MessageBounced, [Known], new { channel = "email", bounce_type = "hard" }));

        Assert.Equal(TrackStatus.Rejected, r.Status);
        Assert.Equal("properties.address", Assert.Single(r.Errors).Field);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheAddressAMessageGoesTo_IsTheNewestByEventTime_WhateverTheArrivalOrder(bool backfillLast)
    {
        var (host, email) = Host();
        await using var _ = host;
        var t = host.Time.GetUtcNow();
        var old = host.Event("user.updated", [Known, Identifier.Email("old@example.com")], at: t - TimeSpan.FromDays(30));
        var current = host.Event("user.updated", [Known, Identifier.Email("new@example.com")], at: t - TimeSpan.FromDays(1));
        foreach (var e in backfillLast ? new[] { current, old } : [old, current])
        {
            await host.TrackAsync(e);
            await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        }

        await host.Client.SendAsync(Known, Promo("t1", MessageClass.Transactional));
        await host.Engine.RunDispatchAsync();

        Assert.Equal("new@example.com", Assert.IsType<EmailMessage>(Assert.Single(email.Messages)).To);
    }

    [Theory]
    [InlineData("a-optout", "b-optin", false)]
    [InlineData("b-optout", "a-optin", false)]
    [InlineData("a-optout", "b-optin", true)]
    [InlineData("b-optout", "a-optin", true)]
    public async Task AnOptOutAndAnOptIn_AtTheSameInstant_LeaveHerOptedOut_WhateverTheIdsAndOrder(string optOutId, string optInId, bool optInFirst)
    {
        var (host, _) = Host();
        await using var __ = host;
        var t = host.Time.GetUtcNow() - TimeSpan.FromMinutes(1);
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        var optOut = host.Event(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = false }, at: t) with { Id = optOutId };
        var optIn = host.Event(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true }, at: t) with { Id = optInId };
        foreach (var e in optInFirst ? new[] { optIn, optOut } : [optOut, optIn])
        {
            await host.TrackAsync(e);
        }

        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("p1"))).Status);
        Assert.False((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Email)!.Granted);
    }

    private static (OmnichannelTestHost Host, RecordingTransport Email) Host()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            delivery: new DeliverySetup { Renderer = new SubjectRenderer() }.AddTransport("email", email));
        return (host, email);
    }

    private static MessageRequest Promo(string key, MessageClass messageClass = MessageClass.Marketing) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = messageClass };

    private sealed class SubjectRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }
}
