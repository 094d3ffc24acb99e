using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>
/// One-click unsubscribe (RFC 8058): marketing email carries <c>List-Unsubscribe</c> and <c>List-Unsubscribe-Post</c>, its
/// template the same link, and posting the link's token withdraws consent for the message's topic — once, for the right
/// person, and never for a forged token.
/// </summary>
public sealed class OneClickUnsubscribeTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Uri Endpoint = new("https://shop.example/unsubscribe?list=main");

    [Fact]
    public async Task AMarketingEmail_CarriesTheOneClickHeaders_AndItsTemplateTheSameLink()
    {
        var (host, email) = await HostWithConsentAsync();
        await using var _ = host;

        await host.Client.SendAsync(Known, Request("p1", MessageClass.Marketing, "newsletter"));
        await host.Engine.RunDispatchAsync();

        var sent = (EmailMessage)Assert.Single(email.Messages);
        var link = Assert.Single(UrlsOf(sent.Headers["List-Unsubscribe"]));
        Assert.StartsWith("https://shop.example/unsubscribe?list=main&t=", link, StringComparison.Ordinal);
        Assert.Equal("List-Unsubscribe=One-Click", sent.Headers["List-Unsubscribe-Post"]);
        Assert.Equal(link, sent.TextBody);
        Assert.DoesNotContain("ann", link, StringComparison.OrdinalIgnoreCase); // no address in the URL
    }

    [Fact]
    public async Task ATransactionalEmail_HasNoUnsubscribeLink()
    {
        var (host, email) = await HostWithConsentAsync();
        await using var _ = host;

        await host.Client.SendAsync(Known, Request("r1", MessageClass.Transactional, null));
        await host.Engine.RunDispatchAsync();

        var sent = (EmailMessage)Assert.Single(email.Messages);
        Assert.False(sent.Headers.ContainsKey("List-Unsubscribe"));
        Assert.Equal(string.Empty, sent.TextBody);
    }

    [Fact]
    public async Task PostingTheLink_WithdrawsConsentForItsTopic_Once_AndTheNextNewsletterIsNotSent()
    {
        var (host, email) = await HostWithConsentAsync();
        await using var _ = host;
        await host.Client.SendAsync(Known, Request("p1", MessageClass.Marketing, "newsletter"));
        await host.Engine.RunDispatchAsync();
        var token = TokenOf((EmailMessage)email.Messages[0]);

        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(token));
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(token)); // a second click

        var p = await host.ProfileAsync(Known);
        Assert.False(p.GetConsent(ChannelNames.Email, "newsletter")!.Granted);
        Assert.Single(p.Timeline, t => t.Type == EventTypes.MessageUnsubscribed);
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Request("p2", MessageClass.Marketing, "newsletter"))).Status);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Request("o1", MessageClass.Marketing, "offers"))).Status); // another list
    }

    [Fact]
    public async Task ALinkCanBeRead_ForItsConfirmationPage_WithoutUnsubscribing()
    {
        var (host, email) = await HostWithConsentAsync();
        await using var _ = host;
        // Dispatched one at a time: two messages due at the same instant leave in no promised order.
        await host.Client.SendAsync(Known, Request("p1", MessageClass.Marketing, "newsletter"));
        await host.Engine.RunDispatchAsync();
        await host.Client.SendAsync(Known, Request("p2", MessageClass.Marketing, null));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(2, email.Messages.Count);
        Assert.Equal(new UnsubscribeLink(ChannelNames.Email, "newsletter"), host.Engine.ReadUnsubscribeLink(TokenOf((EmailMessage)email.Messages[0])));
        Assert.Equal(new UnsubscribeLink(ChannelNames.Email, null), host.Engine.ReadUnsubscribeLink(TokenOf((EmailMessage)email.Messages[1])));
        Assert.Null(host.Engine.ReadUnsubscribeLink("eyJ4Ijox.AAAA"));
        Assert.True((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Email, "newsletter")!.Granted);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-token")]
    [InlineData("eyJ4Ijox.AAAA")]
    public async Task AMalformedToken_IsInvalid(string token)
    {
        var (host, _) = await HostWithConsentAsync();
        await using var __ = host;
        Assert.Equal(UnsubscribeStatus.InvalidToken, await host.Engine.UnsubscribeAsync(token));
    }

    [Fact]
    public async Task AForgedToken_ForAnotherPerson_IsInvalid_AndChangesNothing()
    {
        var (host, email) = await HostWithConsentAsync();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("c-200"), Identifier.Email("bob@example.com")]);
        await host.Client.SendAsync(Known, Request("p1", MessageClass.Marketing, "newsletter"));
        await host.Engine.RunDispatchAsync();
        var token = TokenOf((EmailMessage)email.Messages[0]);
        var bob = (await host.ProfileAsync(Identifier.CustomerId("c-200"))).Id;
        var ann = (await host.ProfileAsync(Known)).Id;

        // The payload names Bob instead of Ann, the signature is Ann's.
        var dot = token.IndexOf('.');
        var payload = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(0, dot))).Replace(ann, bob);
        var forged = System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(payload)) + token[dot..];

        Assert.Equal(UnsubscribeStatus.InvalidToken, await host.Engine.UnsubscribeAsync(forged));
        Assert.DoesNotContain((await host.ProfileAsync(Identifier.CustomerId("c-200"))).Timeline, t => t.Type == EventTypes.MessageUnsubscribed);
    }

    [Fact]
    public async Task ALinkSignedBeforeAKeyRotation_StillWorks_AndFollowsAMerge()
    {
        var store = new InMemoryOmnichannelStore();
        var email = new RecordingTransport(ChannelNames.Email);
        string token;
        await using (var before = Host(store, email, o => o.Privacy.HashKey = "the-old-key-0123456789abcdef0123456789"))
        {
            await before.TrackAsync("user.signed_up", [Known, Ann]);
            await before.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
            await before.Client.SendAsync(Known, Request("p1", MessageClass.Marketing, "newsletter"));
            await before.Engine.RunDispatchAsync();
            token = TokenOf((EmailMessage)email.Messages[0]);
        }

        await using var after = Host(store, email, o =>
        {
            o.Privacy.HashKey = "the-new-key-0123456789abcdef0123456789";
            o.Privacy.PreviousHashKeys.Add("the-old-key-0123456789abcdef0123456789");
        });
        var cookie = Identifier.AnonymousId("cookie-9");
        await after.TrackAsync("page.viewed", [cookie]);
        await after.TrackAsync("user.logged_in", [cookie, Known]); // which profile survives does not matter

        Assert.Equal(UnsubscribeStatus.Unsubscribed, await after.Engine.UnsubscribeAsync(token));
        Assert.False((await after.ProfileAsync(Known)).GetConsent(ChannelNames.Email, "newsletter")!.Granted);
    }

    [Fact]
    public async Task AfterErasure_TheLinkFindsNobody()
    {
        var (host, email) = await HostWithConsentAsync();
        await using var _ = host;
        await host.Client.SendAsync(Known, Request("p1", MessageClass.Marketing, "newsletter"));
        await host.Engine.RunDispatchAsync();
        var token = TokenOf((EmailMessage)email.Messages[0]);
        Assert.True(await host.Client.EraseProfileAsync(Known));

        Assert.Equal(UnsubscribeStatus.ProfileNotFound, await host.Engine.UnsubscribeAsync(token));
    }

    [Theory]
    [InlineData("http://shop.example/unsubscribe", null)]
    [InlineData("https://shop.example/unsubscribe#x", null)]
    [InlineData("https://shop.example/unsubscribe", "no hash key")]
    public void AnEndpointThatCannotWork_IsRefusedAtStartup(string endpoint, string? withoutKey)
    {
        var options = new OmnichannelOptions();
        options.Delivery.Unsubscribe.Endpoint = new Uri(endpoint);
        if (withoutKey is null)
        {
            options.Privacy.HashKey = "a-key-0123456789abcdef0123456789abcdef";
        }

        var ex = Assert.ThrowsAny<Exception>(() => new OmnichannelEngine(options, new InMemoryOmnichannelStore()));
        Assert.Contains("Delivery.Unsubscribe.Endpoint", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSameLinkClickedAgain_AfterSheOptedBackIn_UnsubscribesAgain()
    {
        var (host, email) = await HostWithConsentAsync();
        await using var _ = host;
        await host.Client.SendAsync(Known, Request("p1", MessageClass.Marketing, "newsletter"));
        await host.Engine.RunDispatchAsync();
        var token = TokenOf((EmailMessage)email.Messages[0]);
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(token));

        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", topic = "newsletter", granted = true });
        Assert.True((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Email, "newsletter")!.Granted);
        await host.AdvanceAsync(TimeSpan.FromDays(1));

        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(token));
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(token)); // a retry of that click
        var p = await host.ProfileAsync(Known);
        Assert.False(p.GetConsent(ChannelNames.Email, "newsletter")!.Granted);
        Assert.Equal(2, p.Timeline.Count(t => t.Type == EventTypes.MessageUnsubscribed));
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Request("p2", MessageClass.Marketing, "newsletter"))).Status);
    }

    [Theory]
    [InlineData("not an address")]
    [InlineData("unsubscribe")]
    [InlineData("a@b.example>, <https://elsewhere.example/x")]
    [InlineData("a@b.example\r\nBcc: x@y.example")]
    public void AMailtoThatIsNotABareAddress_IsRefusedAtStartup(string mailto)
    {
        var options = new OmnichannelOptions();
        options.Delivery.Unsubscribe.Endpoint = Endpoint;
        options.Delivery.Unsubscribe.Mailto = mailto;
        options.Privacy.HashKey = "a-key-0123456789abcdef0123456789abcdef";

        var ex = Assert.ThrowsAny<Exception>(() => new OmnichannelEngine(options, new InMemoryOmnichannelStore()));
        Assert.Contains("Delivery.Unsubscribe.Mailto", ex.Message, StringComparison.Ordinal);
    }

    private static async Task<(OmnichannelTestHost Host, RecordingTransport Email)> HostWithConsentAsync()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var host = Host(new InMemoryOmnichannelStore(), email);
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        return (host, email);
    }

    private static OmnichannelTestHost Host(IOmnichannelStore store, RecordingTransport email, Action<OmnichannelOptions>? more = null) =>
        OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.Unsubscribe.Endpoint = Endpoint;
                more?.Invoke(o);
            },
            store: store,
            delivery: new DeliverySetup { Renderer = new LinkRenderer() }.AddTransport("email", email));

    private static MessageRequest Request(string key, MessageClass messageClass, string? topic) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = messageClass, Topic = topic };

    private static IEnumerable<string> UrlsOf(string header) =>
        header.Split(',').Select(s => s.Trim().TrimStart('<').TrimEnd('>')).Where(u => u.StartsWith("https:", StringComparison.Ordinal));

    private static string TokenOf(EmailMessage message)
    {
        var url = UrlsOf(message.Headers["List-Unsubscribe"]).Single();
        return Uri.UnescapeDataString(url[(url.LastIndexOf("&t=", StringComparison.Ordinal) + 3)..]);
    }

    // The template's view of the link: the text body is {{ journey.unsubscribe_url }}.
    private sealed class LinkRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage
            {
                MessageId = "x",
                From = "shop@example.com",
                To = address,
                Subject = request.TemplateId,
                TextBody = request.Data?["unsubscribe_url"]?.GetValue<string>() ?? string.Empty,
            });
    }
}
