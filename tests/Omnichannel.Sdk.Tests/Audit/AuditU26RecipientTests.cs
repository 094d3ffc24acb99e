using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U26: the recipient a renderer writes. Consent, suppression, caps and erasure are checked for the address the
/// engine hands the renderer; a renderer is the host's code and writes the whole message, so a message addressed elsewhere
/// (read from a trait, an old address, another person's), one of another channel, or an email whose extra headers add
/// recipients reached someone nobody checked, on every transport. Such a channel is now passed over, with the reason.
/// </summary>
public sealed class AuditU26RecipientTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    [Fact]
    public async Task ARendererThatAddressesAnotherEmail_IsPassedOver_AndNobodyUncheckedIsMessaged()
    {
        // The other address opted out, as a person of its own: the renderer read an old "email" trait.
        var (host, email, _) = Host((_, _, _) => Email("old-ann@example.com"));
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Identifier.Email("old-ann@example.com")], new { channel = "email", granted = false });

        var sent = await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, sent.Status);
        Assert.Contains("another recipient than the one whose consent was checked", sent.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("old-ann", sent.Reason, StringComparison.Ordinal); // names no address
        Assert.Empty(email.Messages);
    }

    [Theory]
    [InlineData("Bcc")]
    [InlineData("cc")]
    [InlineData(" To ")]
    [InlineData("Resent-Bcc")]
    public async Task AnEmailWhoseHeadersAddARecipient_IsPassedOver_OnAnyTransport(string header)
    {
        var (host, email, _) = Host((_, _, address) => Email(address) with { Headers = new Dictionary<string, string> { [header] = "mallory@example.com" } });
        await using var _ = host;
        await SignedUpWithConsent(host);

        var sent = await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, sent.Status);
        Assert.Contains("would add or change a recipient", sent.Reason, StringComparison.Ordinal);
        Assert.Empty(email.Messages);
    }

    [Theory]
    [InlineData("ann@example.com")]
    [InlineData("ANN@Example.com")]
    [InlineData(" ann@example.com ")]
    [InlineData("Ann Smith <ann@example.com>")]
    [InlineData("\"Smith, Ann\" <Ann@example.com>")]
    public async Task TheCheckedAddress_InAnotherSpellingOrWithADisplayName_IsSent(string to)
    {
        var (host, email, _) = Host((_, _, _) => Email(to) with { Headers = new Dictionary<string, string> { ["X-Campaign"] = "spring", ["Reply-To"] = "help@example.com" } });
        await using var _ = host;
        await SignedUpWithConsent(host);

        var sent = await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Queued, sent.Status);
        Assert.Equal(to, ((EmailMessage)Assert.Single(email.Messages)).To);
    }

    [Theory]
    [InlineData("ann@example.com, mallory@example.com")]
    [InlineData("Ann <ann@example.com>, mallory@example.com")]
    [InlineData("")]
    public async Task AListOfAddressesOrNone_IsPassedOver(string to)
    {
        var (host, email, _) = Host((_, _, _) => Email(to));
        await using var _ = host;
        await SignedUpWithConsent(host);

        var sent = await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, sent.Status);
        Assert.Empty(email.Messages);
    }

    [Fact]
    public async Task AMessageOfAnotherChannel_IsPassedOver_WithTheReason()
    {
        var (host, email, sms) = Host((_, _, _) => new SmsMessage { MessageId = "x", To = "+447700900123", Body = "Hi" });
        await using var _ = host;
        await SignedUpWithConsent(host);

        var sent = await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, sent.Status);
        Assert.Contains("returned a 'sms' message for the 'email' channel", sent.Reason, StringComparison.Ordinal);
        Assert.Empty(email.Messages);
        Assert.Empty(sms.Messages);
    }

    [Fact]
    public async Task AnSmsToAnotherNumber_IsPassedOver_AndHerNumberInAnotherFormIsSent()
    {
        var to = "+44 7700 900999";
        var (host, _, sms) = Host((_, _, _) => new SmsMessage { MessageId = "x", To = to, Body = "Hi" });
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Identifier.Phone("+447700900123")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "sms", granted = true });

        var other = await host.Client.SendAsync(Known, Promo("p1", ChannelNames.Sms));
        to = "+44 7700 900123";
        var hers = await host.Client.SendAsync(Known, Promo("p2", ChannelNames.Sms));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, other.Status);
        Assert.Equal(SendStatus.Queued, hers.Status);
        Assert.Equal("+44 7700 900123", ((SmsMessage)Assert.Single(sms.Messages)).To);
    }

    [Fact]
    public async Task APushToHerDevices_IsSent_AndOneToADeviceNotHers_IsPassedOver()
    {
        string[] tokens = [];
        var push = new RecordingTransport(ChannelNames.Push);
        var host = OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            delivery: new DeliverySetup { Renderer = new Renderer((_, _, _) => new PushMessage { MessageId = "x", DeviceTokens = tokens, Title = "Hi", Body = "Hi" }) }
                .AddTransport("push", push));
        await using var _ = host;
        await host.TrackAsync("app.opened", [Known, Identifier.DeviceId("phone-1")], channel: ChannelNames.App);
        await host.TrackAsync("app.opened", [Known, Identifier.DeviceId("tablet-1")], channel: ChannelNames.App);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "push", granted = true });

        tokens = ["phone-1", "tablet-1"];
        var hers = await host.Client.SendAsync(Known, Promo("p1", ChannelNames.Push));
        tokens = ["phone-1", "someone-elses-phone"];
        var notHers = await host.Client.SendAsync(Known, Promo("p2", ChannelNames.Push));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Queued, hers.Status);
        Assert.Equal(SendStatus.Skipped, notHers.Status);
        Assert.Equal(["phone-1", "tablet-1"], ((PushMessage)Assert.Single(push.Messages)).DeviceTokens);
    }

    [Fact]
    public async Task RenderedAgainAtDelivery_ToAnotherAddress_TheMessageAsPlannedIsSent()
    {
        // Held by quiet hours, the message is rendered again when it leaves; by then the renderer writes another address.
        var elsewhere = false;
        var (host, email, _) = Host(
            (_, _, address) => Email(elsewhere ? "someone@example.com" : address),
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer,
            start: new DateTimeOffset(2026, 3, 2, 22, 0, 0, TimeSpan.Zero));
        await using var _ = host;
        await SignedUpWithConsent(host);

        var sent = await host.Client.SendAsync(Known, Promo("p1"));
        Assert.Equal(SendStatus.Queued, sent.Status);
        Assert.True(sent.DueAt > host.Time.GetUtcNow());
        elsewhere = true;
        await host.AdvanceAsync(TimeSpan.FromHours(11));

        Assert.Equal("ann@example.com", ((EmailMessage)Assert.Single(email.Messages)).To);
    }

    [Fact]
    public async Task ACustomChannel_SentInOneOfTheSdksMessageTypes_ReachesItsTransport()
    {
        // It was queued, then failed when it left: the outbox could not read a message back for a channel it had no type for.
        var line = new RecordingTransport("line");
        var host = OmnichannelTestHost.Create(
            o => o.Identity.AddType(new IdentifierRule("line")),
            delivery: new DeliverySetup { Renderer = new Renderer((_, _, address) => new InAppMessage { MessageId = "x", To = address, Text = "Your parcel is on its way" }) }
                .AddTransport("line", line));
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, new Identifier("line", "U4af4980629")]);

        var sent = await host.Client.SendAsync(Known, new MessageRequest { Key = "r1", Channels = ["line"], TemplateId = "shipped", Class = MessageClass.Transactional });
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Queued, sent.Status);
        Assert.Equal("U4af4980629", ((InAppMessage)Assert.Single(line.Messages)).To);
        Assert.Contains((await host.ProfileAsync(Known)).Timeline, t => t.Type == EventTypes.MessageSent);
    }

    [Fact]
    public async Task AMessageTypeOfTheHostsOwn_IsPassedOverWhenPlanned_NotFailedWhenItLeaves()
    {
        var line = new RecordingTransport("line");
        var host = OmnichannelTestHost.Create(
            o => o.Identity.AddType(new IdentifierRule("line")),
            delivery: new DeliverySetup { Renderer = new Renderer((_, _, address) => new LineMessage { MessageId = "x", UserId = address }) }.AddTransport("line", line));
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, new Identifier("line", "U4af4980629")]);

        var sent = await host.Client.SendAsync(Known, new MessageRequest { Key = "r1", Channels = ["line"], TemplateId = "shipped", Class = MessageClass.Transactional });

        Assert.Equal(SendStatus.Skipped, sent.Status);
        Assert.Contains("LineMessage, which the outbox cannot keep", sent.Reason, StringComparison.Ordinal);
        Assert.Null(await host.Store.GetNextOutboxDueAsync());
    }

    private sealed record LineMessage : OutboundMessage
    {
        public override string Channel => "line";

        public required string UserId { get; init; }
    }

    private static async Task SignedUpWithConsent(OmnichannelTestHost host)
    {
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
    }

    private static EmailMessage Email(string to) => new() { MessageId = "x", From = "shop@example.com", To = to, Subject = "Hi", TextBody = "Hi" };

    private static MessageRequest Promo(string key, string channel = ChannelNames.Email) =>
        new() { Key = key, Channels = [channel], TemplateId = key, Class = MessageClass.Marketing };

    private static (OmnichannelTestHost Host, RecordingTransport Email, RecordingTransport Sms) Host(
        Func<MessageRequest, string, string, OutboundMessage> render, Action<OmnichannelOptions>? configure = null, DateTimeOffset? start = null)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var sms = new RecordingTransport(ChannelNames.Sms);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                configure?.Invoke(o);
            },
            start,
            delivery: new DeliverySetup { Renderer = new Renderer(render) }.AddTransport("email", email).AddTransport("sms", sms));
        return (host, email, sms);
    }

    private sealed class Renderer(Func<MessageRequest, string, string, OutboundMessage> render) : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(render(request, channel, address));
    }
}
