using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit, messages to people who opted out: an unsubscribe, refusal, complaint or bounce from a provider's webhook that
/// spells the channel <c>Email</c> or <c> email </c> is about the email channel (it used to be stored under its own key
/// and ignored, so marketing went on).
/// </summary>
public sealed class OptOutSpellingTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");

    private static (OmnichannelTestHost Host, RecordingTransport Email) Host()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        return (host, email);
    }

    private static MessageRequest Promo(string key, MessageClass cls = MessageClass.Marketing) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = cls };

    [Theory]
    [InlineData(EventTypes.MessageUnsubscribed, "Email")]
    [InlineData(EventTypes.MessageUnsubscribed, " email ")]
    [InlineData(EventTypes.ConsentChanged, "EMAIL")]
    [InlineData(EventTypes.NewsletterUnsubscribed, "Email")]
    [InlineData(EventTypes.ConsentChanged, "e mail")]
    [InlineData(EventTypes.MessageComplained, "Email")]
    public async Task AnOptOut_WithTheChannelInAnotherCase_StopsMarketing(string type, string channel)
    {
        var (host, email) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Identifier.Email("ann@example.com")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.NewsletterSubscribed, [Known], new { channel = "email" });
        host.Time.Advance(TimeSpan.FromMinutes(1));

        var r = await host.Client.TrackAsync(host.Event(type, [Known], new { channel, granted = false, message_id = "m1" }));
        if (channel == "e mail")
        {
            // Not a channel name in any spelling: refused with its field rather than stored where nothing reads it.
            Assert.Equal(TrackStatus.Rejected, r.Status);
            Assert.Contains(r.Errors, e => e.Field == "properties.channel" && e.Message.Contains("not a channel name", StringComparison.Ordinal));
            return;
        }

        Assert.True(r.IsAcknowledged, string.Join("; ", r.Errors));
        var send = await host.Client.SendAsync(Known, Promo("p1") with { Topic = type == EventTypes.NewsletterUnsubscribed ? "newsletter" : null });
        Assert.Equal(SendStatus.Skipped, send.Status);
        Assert.StartsWith("email: no consent", send.Reason, StringComparison.Ordinal);
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
    }

    [Fact]
    public async Task AHardBounce_WithTheChannelInCapitals_SuppressesTheAddress()
    {
        var (host, email) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Identifier.Email("ann@example.com")]);
        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "Email", address = "ANN@example.com", bounce_type = "hard" });

        var send = await host.Client.SendAsync(Known, Promo("receipt", MessageClass.Transactional));
        Assert.Equal((SendStatus.Skipped, "email: the address is suppressed"), (send.Status, send.Reason));
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
    }
}
