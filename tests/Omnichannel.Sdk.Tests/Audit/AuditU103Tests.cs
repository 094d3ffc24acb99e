using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U103 (held, kept as tests): a journey waiting to send a topic's marketing email on her account, and her refusal of
/// that topic given on another profile of hers (a visitor's cookie, an old address) in another spelling, before the two are
/// linked. The merged profile keeps the refusal and the waiting send is skipped, for a plain topic and for an opt-out
/// topic (consent unless refused).
/// </summary>
public sealed class AuditU103Tests
{
    private sealed class SubjectRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId });
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task AJourneyWaitingToSendATopic_IsSkipped_WhenHerRefusalOnTheOtherHalfIsMergedIn(bool oldAddress, bool optOutTopic)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Journeys.Add(Omnichannel.Sdk.Journeys.Journey.Define("cart-offer", "Cart offer")
                    .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                    .Steps(s => s.Delay("wait", "PT3H").Send("offer", [ChannelNames.Email], "offer", "Offers", MessageClass.Marketing))
                    .Build());
                if (optOutTopic)
                {
                    o.Delivery.OptOutTopics.Add("offers");
                }
            },
            delivery: new DeliverySetup { Renderer = new SubjectRenderer() }.AddTransport("email", email));
        var ann = Identifier.CustomerId("ann-u103");
        var other = oldAddress ? Identifier.Email("ann.old-u103@example.com") : Identifier.AnonymousId("cookie-u103");
        await host.TrackAsync("user.signed_up", [ann, Identifier.Email("ann-u103@example.com")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = true });
        await host.TrackAsync("page.viewed", [other]);
        await host.TrackAsync(EventTypes.CartItemAdded, [ann], new { product_id = "p1", cart_id = "c1" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        await host.TrackAsync(EventTypes.ConsentChanged, [other], new { channel = "email", topic = " OFFERS ", granted = false });
        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        await host.TrackAsync("user.logged_in", [other, ann]);

        await host.AdvanceAsync(TimeSpan.FromHours(4));
        await host.Engine.RunDispatchAsync();

        Assert.Empty(email.Messages);
        var p = await host.ProfileAsync(ann);
        Assert.False(p.GetConsent(ChannelNames.Email, "offers")!.Granted);
        Assert.Contains(p.Timeline, t => t.Type is EventTypes.MessageSkipped or "journey.skipped");
    }
}
