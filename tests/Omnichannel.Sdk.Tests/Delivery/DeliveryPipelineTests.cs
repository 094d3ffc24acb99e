using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Delivery;

public sealed class DeliveryPipelineTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private sealed class PlainRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel switch
            {
                ChannelNames.Email => new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hello" },
                ChannelNames.Sms => new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId },
                ChannelNames.Push => new PushMessage { MessageId = "x", DeviceTokens = [address], Title = request.TemplateId, Body = "Hello" },
                _ => null,
            });
    }

    private static (OmnichannelTestHost Host, RecordingTransport Email, RecordingTransport Sms, RecordingTransport Push) Create(
        Action<OmnichannelOptions>? configure = null, IChannelTransport? email = null, DateTimeOffset? start = null)
    {
        var emailRecorder = new RecordingTransport(ChannelNames.Email);
        var sms = new RecordingTransport(ChannelNames.Sms);
        var push = new RecordingTransport(ChannelNames.Push);
        var setup = new DeliverySetup { Renderer = new PlainRenderer() }
            .AddTransport("email", email ?? emailRecorder)
            .AddTransport("sms", sms)
            .AddTransport("push", push);
        return (OmnichannelTestHost.Create(configure, start, delivery: setup), emailRecorder, sms, push);
    }

    private static MessageRequest Offer(string key, params string[] channels) =>
        new() { Key = key, Channels = channels.Length == 0 ? [ChannelNames.Email] : channels, TemplateId = "spring-offer", Topic = "offers" };

    private static async Task Known(OmnichannelTestHost host, bool emailConsent = true, bool smsConsent = false, string? timeZone = null)
    {
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email("ann@example.com"), Identifier.Phone("+447700900001")],
            context: timeZone is null ? null : new EventContext { TimeZone = timeZone }));
        if (emailConsent)
        {
            await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        }

        if (smsConsent)
        {
            await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true });
        }
    }

    [Fact]
    public async Task AConsentedMessage_IsSentOnce_AndItsOutcomeLandsOnTheTimeline()
    {
        var (host, email, _, _) = Create();
        await using var _ = host;
        await Known(host);

        var queued = await host.Engine.SendAsync(Ann, Offer("offer-1"));
        Assert.Equal((SendStatus.Queued, ChannelNames.Email), (queued.Status, queued.Channel));
        await host.Engine.RunDispatchAsync(); // waits for the dispatcher's own run, which the due message already started

        var sent = Assert.Single(email.Sent<EmailMessage>());
        Assert.Equal(("offer-1", "ann@example.com", "spring-offer"), (sent.MessageId, sent.To, sent.Subject));
        var again = await host.Engine.SendAsync(Ann, Offer("offer-1"));
        Assert.Equal(SendStatus.Duplicate, again.Status);
        Assert.Equal(0, await host.Engine.RunDispatchAsync());
        Assert.Single(email.Messages);
        var ann = await host.ProfileAsync(Ann);
        Assert.Contains(ann.Timeline, t => t.Type == EventTypes.MessageSent && t.EventId == "offer-1:sent");
    }

    [Fact]
    public async Task WithoutConsent_AMarketingMessageFallsThroughToAConsentedChannel_OrIsSkippedWithEveryReason()
    {
        var (host, email, sms, _) = Create();
        await using var _ = host;
        await Known(host, emailConsent: false, smsConsent: true);

        var viaSms = await host.Engine.SendAsync(Ann, Offer("o-1", ChannelNames.Push, ChannelNames.Email, ChannelNames.Sms));
        Assert.Equal((SendStatus.Queued, ChannelNames.Sms), (viaSms.Status, viaSms.Channel));
        Assert.Equal("push: no address; email: no consent for offers", viaSms.Reason);

        var skipped = await host.Engine.SendAsync(Ann, Offer("o-2", ChannelNames.Email, ChannelNames.Push));
        Assert.Equal((SendStatus.Skipped, "email: no consent for offers; push: no address"), (skipped.Status, skipped.Reason));

        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
        Assert.Single(sms.Messages);
        Assert.Contains((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageSkipped && t.Summary!.Contains("no consent", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ATransactionalMessage_SkipsMarketingConsent_ButNeverGoesToASuppressedAddress()
    {
        var (host, email, _, _) = Create();
        await using var _ = host;
        await Known(host, emailConsent: false);
        var receipt = new MessageRequest { Key = "receipt-1", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional };
        Assert.Equal(SendStatus.Queued, (await host.Engine.SendAsync(Ann, receipt)).Status);
        await host.Engine.RunDispatchAsync(); // out before the bounce: a message still waiting then would be re-checked and held back

        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", address = "ann@example.com", bounce_type = "hard" });
        var second = await host.Engine.SendAsync(Ann, receipt with { Key = "receipt-2" });
        Assert.Equal((SendStatus.Skipped, "email: the address is suppressed"), (second.Status, second.Reason));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(["receipt-1"], email.Messages.Select(m => m.MessageId));
    }

    [Fact]
    public async Task InsideQuietHours_AMarketingMessageWaitsForTheirEnd_InTheCustomersZone_AcrossTheSpringChange()
    {
        // 28 March 2026 22:30 in Paris (UTC+1); clocks go forward that night, so 08:00 the next morning is 06:00 UTC.
        var (host, email, _, _) = Create(start: new DateTimeOffset(2026, 3, 28, 21, 30, 0, TimeSpan.Zero));
        await using var _ = host;
        await Known(host, timeZone: "Europe/Paris");

        var queued = await host.Engine.SendAsync(Ann, Offer("night-offer"));
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 6, 0, 0, TimeSpan.Zero), queued.DueAt);
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);

        host.Time.SetUtcNow(new DateTimeOffset(2026, 3, 29, 5, 59, 0, TimeSpan.Zero));
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
        host.Time.SetUtcNow(new DateTimeOffset(2026, 3, 29, 6, 0, 0, TimeSpan.Zero));
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);

        var receipt = new MessageRequest { Key = "r", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional };
        host.Time.SetUtcNow(new DateTimeOffset(2026, 3, 29, 21, 0, 0, TimeSpan.Zero));
        Assert.Equal(host.Time.GetUtcNow(), (await host.Engine.SendAsync(Ann, receipt)).DueAt);
    }

    [Fact]
    public async Task AFrequencyCap_SkipsTheMessageThatWouldBreakIt_AndFreesUpAsTheWindowMoves()
    {
        var (host, _, _, _) = Create(o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(2, TimeSpan.FromDays(1), ChannelNames.Email)));
        await using var _ = host;
        await Known(host);
        Assert.Equal(SendStatus.Queued, (await host.Engine.SendAsync(Ann, Offer("c1"))).Status);
        await host.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Equal(SendStatus.Queued, (await host.Engine.SendAsync(Ann, Offer("c2"))).Status);
        var third = await host.Engine.SendAsync(Ann, Offer("c3"));
        Assert.Equal(SendStatus.Skipped, third.Status);
        Assert.Contains("frequency cap of 2", third.Reason, StringComparison.Ordinal);

        await host.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Equal(SendStatus.Queued, (await host.Engine.SendAsync(Ann, Offer("c4"))).Status);
    }

    [Fact]
    public async Task TransientFailures_AreRetriedLater_AndTheMessageIsSentExactlyOnce()
    {
        var failing = new FailingTransport(ChannelNames.Email).FailTransiently(4);
        var (host, _, _, _) = Create(o => { o.Delivery.Retry!.MaxRetryAttempts = 2; o.Delivery.RetryDelay = TimeSpan.FromMinutes(1); }, email: failing);
        await using var _ = host;
        await Known(host);
        await host.Engine.SendAsync(Ann, Offer("retry-1"));

        await host.Engine.RunDispatchAsync();
        Assert.Equal(3, failing.Attempts);
        Assert.Empty(failing.Recorder!.Messages);

        host.Time.Advance(TimeSpan.FromMinutes(2));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(5, failing.Attempts);
        Assert.Equal(["retry-1"], failing.Recorder!.Messages.Select(m => m.MessageId));
        host.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, await host.Engine.RunDispatchAsync());
    }

    [Fact]
    public async Task TransientFailures_RetryTheirChannel_AndOnTheLastAttempt_TheFallbackChannelTakesTheMessage()
    {
        var failing = new FailingTransport(ChannelNames.Email).FailTransiently(1_000);
        var (host, _, sms, _) = Create(o => { o.Delivery.Retry = null; o.Delivery.MaxAttempts = 3; o.Delivery.RetryDelay = TimeSpan.FromMinutes(1); }, email: failing);
        await using var _ = host;
        await Known(host, smsConsent: true);
        await host.Engine.SendAsync(Ann, Offer("tf-1", ChannelNames.Email, ChannelNames.Sms));

        // Attempts 1 and 2: the email provider is down for now; the message waits for it, and no SMS goes.
        await host.Engine.RunDispatchAsync();
        host.Time.Advance(TimeSpan.FromMinutes(2));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(2, failing.Attempts);
        Assert.Empty(sms.Messages);

        // Attempt 3, the last: email fails again, and the SMS fallback takes the message, once.
        host.Time.Advance(TimeSpan.FromMinutes(5));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(3, failing.Attempts);
        Assert.Equal(["tf-1"], sms.Messages.Select(m => m.MessageId));
        var ann = await host.ProfileAsync(Ann);
        Assert.Contains(ann.Timeline, t => t.EventId == "tf-1:sent" && t.Channel == ChannelNames.Sms);
        Assert.DoesNotContain(ann.Timeline, t => t.EventId == "tf-1:failed");

        host.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, await host.Engine.RunDispatchAsync());
        Assert.Single(sms.Messages);
    }

    [Fact]
    public async Task TransientFailures_OnTheOnlyChannel_FailTheMessageAfterTheLastAttempt()
    {
        var failing = new FailingTransport(ChannelNames.Email).FailTransiently(1_000);
        var (host, _, sms, _) = Create(o => { o.Delivery.Retry = null; o.Delivery.MaxAttempts = 2; o.Delivery.RetryDelay = TimeSpan.FromMinutes(1); }, email: failing);
        await using var _ = host;
        await Known(host, smsConsent: true);
        await host.Engine.SendAsync(Ann, Offer("tf-2", ChannelNames.Email));

        await host.Engine.RunDispatchAsync();
        host.Time.Advance(TimeSpan.FromMinutes(5));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(2, failing.Attempts);
        Assert.Empty(sms.Messages);
        Assert.Contains((await host.ProfileAsync(Ann)).Timeline, t => t.EventId == "tf-2:failed");
    }

    [Fact]
    public async Task APermanentFailure_FallsBackToTheNextChannel_AndWhenAllFail_TheMessageFailsWithEveryReason()
    {
        var failing = new FailingTransport(ChannelNames.Email).FailPermanently("550 mailbox unavailable");
        var (host, _, sms, _) = Create(email: failing);
        await using var _ = host;
        await Known(host, smsConsent: true);

        await host.Engine.SendAsync(Ann, Offer("fb-1", ChannelNames.Email, ChannelNames.Sms));
        await host.Engine.SendAsync(Ann, Offer("fb-2", ChannelNames.Email));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(["fb-1"], sms.Messages.Select(m => m.MessageId));
        var ann = await host.ProfileAsync(Ann);
        Assert.Contains(ann.Timeline, t => t.EventId == "fb-1:sent" && t.Channel == ChannelNames.Sms);
        Assert.Contains(ann.Timeline, t => t.EventId == "fb-2:failed");
    }

    [Fact]
    public async Task InvalidDeliveryOptions_AreRefusedAtStart_WithEachProblem()
    {
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => OmnichannelTestHost.Create(o =>
        {
            o.Delivery.DefaultTimeZone = "Mars/Olympus";
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(0, null));
        }));
        Assert.Contains(ex.Failures, f => f.Contains("Mars/Olympus", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Delivery.FrequencyCaps[0].Max", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Delivery.FrequencyCaps[0]: give either", StringComparison.Ordinal));
    }
}
