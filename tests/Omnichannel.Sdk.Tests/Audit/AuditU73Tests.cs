using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using TemplateTestData = Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U73: trust defects earlier audits noticed and left alone (round 6): soft bounces that never add up, a complaint
/// without a channel on a custom channel, opt-out keywords on WhatsApp, CLDR parent locales in template fallback.
/// Public API and the test kit only.
/// </summary>
public sealed class AuditU73Tests
{
    private const string Line = "line";
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-u73");
    private static readonly Identifier AnnEmail = Identifier.Email("ann.u73@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+447700900173");

    private sealed class AnyChannelRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel switch
            {
                ChannelNames.Email => new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "Hi" },
                ChannelNames.WhatsApp => new WhatsAppMessage { MessageId = "x", To = address, TemplateName = request.TemplateId },
                _ => new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId },
            });
    }

    private static (OmnichannelTestHost Host, Dictionary<string, RecordingTransport> Sent) Host(Action<OmnichannelOptions>? configure = null)
    {
        var sent = new Dictionary<string, RecordingTransport>
        {
            [ChannelNames.Email] = new(ChannelNames.Email),
            [ChannelNames.Sms] = new(ChannelNames.Sms),
            [ChannelNames.WhatsApp] = new(ChannelNames.WhatsApp),
            [Line] = new(Line),
        };
        var delivery = new DeliverySetup { Renderer = new AnyChannelRenderer() };
        foreach (var (channel, transport) in sent)
        {
            delivery.AddTransport(channel, transport);
        }

        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Identity.AddType(new IdentifierRule(Line));
                configure?.Invoke(o);
            },
            delivery: delivery);
        return (host, sent);
    }

    private static async Task<SendResult> SendAsync(OmnichannelTestHost host, string channel, string key, MessageClass kind = MessageClass.Transactional)
    {
        var result = await host.Client.SendAsync(Ann, new MessageRequest { Key = key, Channels = [channel], TemplateId = "hello", Class = kind });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        return result;
    }

    private static Task<TrackResult> SoftBounceAsync(OmnichannelTestHost host, string channel, string key) =>
        host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel, message_id = key, bounce_type = "soft" }, channel: "server");

    // ---- 1. Soft bounces add up -------------------------------------------------------------------------------------

    // Notifuse/notifuse#323, knadh/listmonk#991, astrobin/astrobin#1672: an address that soft-bounces again and again
    // (mailbox full for good, an abandoned number) was tried forever. Three soft bounces in a row (no delivery between them)
    // within 30 days now suppress it like a hard bounce: on her profile and on the store's list.
    [Theory]
    [InlineData(ChannelNames.Email)]
    [InlineData(ChannelNames.Sms)]
    public async Task ThreeSoftBouncesInARow_SuppressTheAddress_LikeAHardBounce(string channel)
    {
        var (host, sent) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail, AnnPhone]);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(SendStatus.Queued, (await SendAsync(host, channel, $"m{i}")).Status);
            Assert.Equal(TrackStatus.Accepted, (await SoftBounceAsync(host, channel, $"m{i}")).Status);
            await host.AdvanceAsync(TimeSpan.FromDays(2));
        }

        var fourth = await SendAsync(host, channel, "m4");

        Assert.Equal(SendStatus.Skipped, fourth.Status);
        Assert.Equal(3, sent[channel].Messages.Count);
        Assert.True(await host.Client.IsSuppressedAsync(channel == ChannelNames.Email ? AnnEmail : AnnPhone));
    }

    // Phones are suppressed per channel (review of the store-level suppression): SMS soft bounces leave WhatsApp alone.
    [Fact]
    public async Task SoftBouncesOnSms_LeaveWhatsAppToTheSameNumber_Reachable()
    {
        var (host, sent) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        for (var i = 1; i <= 3; i++)
        {
            await SendAsync(host, ChannelNames.Sms, $"s{i}");
            await SoftBounceAsync(host, ChannelNames.Sms, $"s{i}");
        }

        Assert.Equal(SendStatus.Skipped, (await SendAsync(host, ChannelNames.Sms, "s4")).Status);
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.WhatsApp, "w1")).Status);
        Assert.Single(sent[ChannelNames.WhatsApp].Messages);
    }

    // "Consecutive": a delivery in between starts the count again (Listmonk cannot reset it, knadh/listmonk#2770), and
    // bounces further apart than the window never add up; the same message reported twice is one bounce.
    [Theory]
    [InlineData("delivered-between")]
    [InlineData("spread-out")]
    [InlineData("same-message")]
    public async Task SoftBouncesThatAreNotConsecutive_DoNotSuppress(string shape)
    {
        var (host, sent) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        for (var i = 1; i <= 4; i++)
        {
            await SendAsync(host, ChannelNames.Email, $"m{i}");
            await SoftBounceAsync(host, ChannelNames.Email, shape == "same-message" ? "m1" : $"m{i}");
            if (shape == "delivered-between" && i == 2)
            {
                await SendAsync(host, ChannelNames.Email, "ok");
                await host.TrackAsync(EventTypes.MessageDelivered, [Ann], new { channel = ChannelNames.Email, message_id = "ok" }, channel: "server");
            }

            await host.AdvanceAsync(shape == "spread-out" ? TimeSpan.FromDays(20) : TimeSpan.FromDays(1));
        }

        Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.Email, "last")).Status);
        Assert.False(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(shape == "delivered-between" ? 6 : 5, sent[ChannelNames.Email].Messages.Count); // "last" went out too
    }

    // The option: 0 keeps the old rule (soft bounces never suppress); its documented default is 3 in 30 days.
    [Fact]
    public async Task SoftBounceLimitZero_NeverSuppresses_AndTheDefaultsAreDocumented()
    {
        var defaults = new DeliveryOptions();
        Assert.Equal(3, defaults.SoftBounceLimit);
        Assert.Equal(TimeSpan.FromDays(30), defaults.SoftBounceWindow);

        var (host, _) = Host(o => o.Delivery.SoftBounceLimit = 0);
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        for (var i = 1; i <= 5; i++)
        {
            await SendAsync(host, ChannelNames.Email, $"m{i}");
            await SoftBounceAsync(host, ChannelNames.Email, $"m{i}");
        }

        Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.Email, "m6")).Status);
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => OmnichannelTestHost.Create(o => o.Delivery.SoftBounceWindow = TimeSpan.Zero));
    }

    // ---- 3. A complaint without a channel reaches a host's own channel ------------------------------------------------

    // Audit U67 left it: a complaint that names no channel, about a message her profile does not know (a provider's
    // feedback loop naming only its own id), withdrew email, SMS, WhatsApp, push and in-app, and left LINE granted: the
    // person who had just reported spam got the next LINE promotion. A channel-less complaint now means "no marketing on
    // any channel", the host's own included; one that names its channel still withdraws only that one.
    [Theory]
    [InlineData(null)]
    [InlineData(ChannelNames.Email)]
    public async Task AComplaintNamingNoChannel_WithdrawsEveryChannel_ALineOfTheHostsOwnIncluded(string? named)
    {
        var (host, sent) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail, new Identifier(Line, "u73line")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = Line, granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Email, granted = true });

        var complaint = named is null
            ? await host.TrackAsync(EventTypes.MessageComplained, [Ann], new { message_id = "fbl-4711" }, channel: "server")
            : await host.TrackAsync(EventTypes.MessageComplained, [Ann], new { channel = named, message_id = "fbl-4711" }, channel: "server");
        Assert.Equal(TrackStatus.Accepted, complaint.Status);

        var line = await SendAsync(host, Line, "promo-line", MessageClass.Marketing);
        var email = await SendAsync(host, ChannelNames.Email, "promo-email", MessageClass.Marketing);
        Assert.Equal(SendStatus.Skipped, email.Status);
        Assert.Equal(named is null ? SendStatus.Skipped : SendStatus.Queued, line.Status);
        Assert.Equal(named is null ? 0 : 1, sent[Line].Messages.Count);
        var profile = await host.ProfileAsync(Ann);
        Assert.Equal(named is not null, profile.GetConsent(Line, null)?.Granted);
    }

    // ---- 4. STOP on WhatsApp ----------------------------------------------------------------------------------------

    // Audits U38 and U67 left it: WhatsApp replies were not read, so a customer who answered a WhatsApp campaign with
    // "STOP" got the next one (chatwoot discussion #15196; Twilio applies its opt-out keywords to WhatsApp senders,
    // Advanced Opt-Out). The opt-out words that mean nothing else in a chat now withdraw WhatsApp, and only WhatsApp.
    [Theory]
    [InlineData("STOP")]
    [InlineData(" stop. ")]
    [InlineData("Unsubscribe")]
    [InlineData("Stop promotions")]
    public async Task AnOptOutKeywordRepliedOnWhatsApp_WithdrawsWhatsApp_NotSms(string text)
    {
        var (host, sent) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.WhatsApp, granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true });

        await host.TrackAsync(EventTypes.MessageReplied, [AnnPhone], new { channel = ChannelNames.WhatsApp, text }, channel: ChannelNames.WhatsApp);

        Assert.Equal(SendStatus.Skipped, (await SendAsync(host, ChannelNames.WhatsApp, "promo-wa", MessageClass.Marketing)).Status);
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.Sms, "promo-sms", MessageClass.Marketing)).Status);
        Assert.Empty(sent[ChannelNames.WhatsApp].Messages);
        var profile = await host.ProfileAsync(Ann);
        Assert.False(profile.GetConsent(ChannelNames.WhatsApp, null)?.Granted);
        Assert.True(profile.GetConsent(ChannelNames.Sms, null)?.Granted);
        Assert.Contains(profile.Timeline, t => t.Summary == "whatsapp reply: opt-out keyword");
    }

    // In a chat with a shop, "cancel" is about an order and "yes" answers a question: neither changes consent there, and
    // a host cannot post a keyword of its own; the text is never kept.
    [Theory]
    [InlineData("CANCEL")]
    [InlineData("yes")]
    [InlineData("please stop sending the blue one")]
    public async Task ConversationalWordsOnWhatsApp_ChangeNoConsent(string text)
    {
        var (host, _) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.WhatsApp, granted = true });

        await host.TrackAsync(EventTypes.MessageReplied, [AnnPhone], new { channel = ChannelNames.WhatsApp, text, keyword = "opt_out" }, channel: ChannelNames.WhatsApp);

        Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.WhatsApp, "promo-wa", MessageClass.Marketing)).Status);
        var profile = await host.ProfileAsync(Ann);
        Assert.True(profile.GetConsent(ChannelNames.WhatsApp, null)?.Granted);
        Assert.DoesNotContain(profile.Timeline, t => t.Summary?.Contains(text, StringComparison.OrdinalIgnoreCase) == true);
    }

    // ---- 5. CLDR parent locales ------------------------------------------------------------------------------------

    // Audit (left alone before): a locale fell back by truncation only, so an Australian got the US-English text although
    // the shop wrote a world-English one (en-001), a Mexican the Castilian one although it wrote Latin American Spanish
    // (es-419), and an Angolan the Brazilian one although it wrote European Portuguese. CLDR's parent locales (UTS #35;
    // unicode-org/cldr supplementalData.xml) now come before the bare language; other tags still truncate.
    [Theory]
    [InlineData("en-AU", "Hello (world English)")]
    [InlineData("en-GB", "Hello (world English)")]
    [InlineData("en-DE", "Hello (world English)")]
    [InlineData("en-US", "Hi")]
    [InlineData("en-CA", "Hi")]
    [InlineData("es-MX", "Hola, ustedes")]
    [InlineData("es-AR", "Hola, ustedes")]
    [InlineData("es-ES", "Hola, vosotros")]
    [InlineData("pt-AO", "Olá, de Lisboa")]
    [InlineData("pt-MZ", "Olá, de Lisboa")]
    [InlineData("pt-BR", "Oi")]
    [InlineData("fr-CA", "Bonjour")]
    public void ATemplateLocale_FallsBackThroughCldrParentLocales_BeforeTheBareLanguage(string locale, string expected)
    {
        var template = new TemplateDocument("hello", [
            TemplateVariant.Sms("Hi") with { Locale = "en" },
            TemplateVariant.Sms("Hello (world English)") with { Locale = "en-001" },
            TemplateVariant.Sms("Hola, vosotros") with { Locale = "es" },
            TemplateVariant.Sms("Hola, ustedes") with { Locale = "es-419" },
            TemplateVariant.Sms("Oi") with { Locale = "pt" },
            TemplateVariant.Sms("Olá, de Lisboa") with { Locale = "pt-PT" },
            TemplateVariant.Sms("Bonjour") with { Locale = "fr" },
        ]);
        var renderer = TemplateTestData.Renderer(template);

        var rendered = renderer.Render("hello", ChannelNames.Sms, TemplateTestData.Context() with { Locale = locale }).GetValueOrThrow();

        Assert.Equal(expected, rendered.Body);
    }
}
