using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Review of the store-level hard-bounce suppression (a hard bounce puts the address on the store's list).</summary>
public sealed class ReviewStoreBounceSuppressionTests
{
    // An SMS hard bounce (a landline, a number that takes no texts) is about SMS: the phone stays reachable on WhatsApp
    // (BouncedAddressTests.APhoneBouncedOnSms_StaysReachableOnWhatsApp pins the segment). The store-level list held the
    // phone itself, so her WhatsApp messages, on her profile and every other, were skipped as suppressed.
    [Theory]
    [InlineData("sms", "whatsapp")]
    [InlineData("whatsapp", "sms")]
    public async Task APhoneHardBouncedOnOneChannel_IsStillMessagedOnTheOther_AndNotOnTheBouncedOne(string bounced, string other)
    {
        var sms = new RecordingTransport(ChannelNames.Sms);
        var whatsApp = new RecordingTransport(ChannelNames.WhatsApp);
        await using var host = OmnichannelTestHost.Create(
            HeldUntilEleven,
            delivery: new DeliverySetup { Renderer = new PhoneRenderer() }.AddTransport("sms", sms).AddTransport("whatsapp", whatsApp));
        var ann = Identifier.CustomerId("ann-r45b");
        var phone = Identifier.Phone("+447700900123");
        await host.TrackAsync("user.signed_up", [ann, phone]);
        var queuedBefore = await host.Client.SendAsync(ann, Request("q-r45b", bounced));

        // Reported under her cookie (not linked to her account): only the store's list can stop her messages.
        await host.TrackAsync(EventTypes.MessageBounced, [Identifier.AnonymousId("cookie-r45b")], new { channel = bounced, address = "+44 (0)7700-900123", bounce_type = "hard" });
        var toOther = await host.Client.SendAsync(ann, Request("o-r45b", other));
        var toBounced = await host.Client.SendAsync(ann, Request("b-r45b", bounced));
        await host.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Equal(SendStatus.Queued, queuedBefore.Status);
        Assert.True(toOther.Status == SendStatus.Queued, toOther.Reason);
        Assert.Equal(SendStatus.Skipped, toBounced.Status);
        Assert.Single(other == "sms" ? sms.Messages : whatsApp.Messages);
        Assert.Empty(bounced == "sms" ? sms.Messages : whatsApp.Messages); // the one queued before: refused at dispatch
        Assert.True(await host.Client.IsSuppressedAsync(phone));

        // She asks to be texted there again: the lift takes the phone's channel entry off the list.
        Assert.True(await host.Client.LiftErasureAsync(phone));
        Assert.False(await host.Client.IsSuppressedAsync(phone));
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann, Request("l-r45b", bounced))).Status);
        await host.AdvanceAsync(TimeSpan.Zero);
        Assert.Single(bounced == "sms" ? sms.Messages : whatsApp.Messages);
    }

    private static MessageRequest Request(string key, string channel) =>
        new() { Key = key, Channels = [channel], TemplateId = "hi", Class = MessageClass.Transactional };

    // The host's clock starts at 09:00 UTC: messages planned now are held until 11:00, so dispatch (not planning) meets
    // what the test reports meanwhile.
    private static void HeldUntilEleven(OmnichannelOptions o)
    {
        o.Delivery.TransactionalQuietHours = QuietHoursAction.Defer;
        o.Delivery.QuietHoursStart = new TimeOnly(8, 0);
        o.Delivery.QuietHoursEnd = new TimeOnly(11, 0);
    }

    private sealed class PhoneRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.WhatsApp
                ? new WhatsAppMessage { MessageId = "w", To = address, TemplateName = request.TemplateId }
                : new SmsMessage { MessageId = "s", To = address, Body = request.TemplateId });
    }
}
