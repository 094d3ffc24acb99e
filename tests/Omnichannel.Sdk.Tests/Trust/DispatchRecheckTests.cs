using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>Issue "One person, one truth", section 4: every rule is checked again when the message actually leaves.</summary>
public sealed class DispatchRecheckTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    // 22:30 in New York (EST, UTC-5) on 2026-01-05.
    private static readonly DateTimeOffset LateEvening = new(2026, 1, 6, 3, 30, 0, TimeSpan.Zero);

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Sms
                ? new SmsMessage { MessageId = "x", To = address, Body = $"{request.TemplateId} {(now.Hour < 17 ? "good-morning" : "good-evening")}" }
                : new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }

    private static (OmnichannelTestHost Host, RecordingTransport Sms) Host()
    {
        var sms = new RecordingTransport(ChannelNames.Sms);
        var host = OmnichannelTestHost.Create(start: LateEvening, delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("sms", sms));
        return (host, sms);
    }

    private static async Task SignUp(OmnichannelTestHost host)
    {
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Phone("+12125550101")], context: new EventContext { TimeZone = "America/New_York" }));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true });
    }

    [Fact]
    public async Task AMessageHeldForQuietHours_IsNotSent_WhenConsentIsWithdrawnMeanwhile()
    {
        var (host, sms) = Host();
        await using var _ = host;
        await SignUp(host);
        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Sms], TemplateId = "promo", Topic = "offers" });
        Assert.Equal(SendStatus.Queued, queued.Status);
        Assert.True(queued.DueAt > host.Time.GetUtcNow());

        await host.AdvanceAsync(TimeSpan.FromMinutes(30));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = false });
        await host.AdvanceToAsync(queued.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();

        Assert.Empty(sms.Messages);
        var p = await host.ProfileAsync(Ann);
        var skipped = Assert.Single(p.Timeline, t => t.Type == EventTypes.MessageSkipped);
        Assert.Contains("no consent", skipped.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMessageHeldForQuietHours_IsRenderedForTheMomentItLeaves()
    {
        var (host, sms) = Host();
        await using var _ = host;
        await SignUp(host);
        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Sms], TemplateId = "promo", Topic = "offers" });

        await host.AdvanceToAsync(queued.DueAt!.Value);
        await host.Engine.RunDispatchAsync();

        Assert.Equal("promo good-morning", Assert.IsType<SmsMessage>(Assert.Single(sms.Messages)).Body);
    }

    [Fact]
    public async Task AHeldAbandonedCartReminder_IsCancelled_WhenTheGoalIsReachedOvernight()
    {
        var cart = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Abandoned cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "goal": {"event": "order.placed", "within": "P3D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "cart-reminder", "topic": "cart"}]}
            """);
        await using var rig = JourneyRig.Create([cart], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: new DateTimeOffset(2026, 1, 5, 20, 30, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "tower", quantity = 1 });

        await rig.AdvanceAsync(TimeSpan.FromHours(2)); // 22:30 UTC: the reminder is held until 08:00
        Assert.Empty(rig.Sent());
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 90 });
        await rig.AdvanceAsync(TimeSpan.FromHours(12));

        Assert.DoesNotContain("email:cart-reminder", rig.Sent());
        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Contains(p.Timeline, t => t.Type == EventTypes.MessageSkipped && t.Summary!.Contains("goal", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AMessageWaitingForARetry_IsNotSent_WhenConsentIsWithdrawnMeanwhile()
    {
        var failing = new FailingTransport(ChannelNames.Sms).FailTransiently(3);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.Retry!.MaxRetryAttempts = 2;
                o.Delivery.RetryDelay = TimeSpan.FromMinutes(5);
            },
            start: LateEvening,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("sms", failing));
        await SignUp(host);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Sms], TemplateId = "promo" })).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(3, failing.Attempts);

        await host.TrackAsync(EventTypes.MessageUnsubscribed, [Ann], new { channel = "SMS" }); // a STOP reply, as the provider spells it
        host.Time.Advance(TimeSpan.FromMinutes(30));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(3, failing.Attempts);
        Assert.Empty(failing.Recorder!.Messages);
        Assert.Contains((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageSkipped);
    }

    [Fact]
    public async Task AFallbackChannel_IsNotUsed_WhenItsConsentWasWithdrawnAfterPlanning()
    {
        var email = new FailingTransport(ChannelNames.Email).FailPermanently("550 mailbox unavailable");
        var sms = new RecordingTransport(ChannelNames.Sms);
        await using var host = OmnichannelTestHost.Create(
            start: LateEvening,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", email).AddTransport("sms", sms));
        await SignUp(host);
        await host.TrackAsync("user.updated", [Ann, Identifier.Email("ann@example.com")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "promo" });
        Assert.Equal(SendStatus.Queued, queued.Status);

        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = false });
        await host.AdvanceToAsync(queued.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(1, email.Attempts);
        Assert.Empty(sms.Messages);
        var failed = Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageFailed);
        Assert.Contains("sms: no consent", failed.Summary, StringComparison.Ordinal);
    }
}

