using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit, messages to people who opted out: topics are the host's names, and an unsubscribe from <c>Newsletter</c> (a
/// form's list name, a provider's webhook) is one from <c>newsletter</c>. It used to be a topic of its own, so the
/// newsletter went on.
/// </summary>
public sealed class TopicSpellingTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static OmnichannelTestHost Host(Action<OmnichannelOptions>? configure = null) => OmnichannelTestHost.Create(
        o =>
        {
            o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
            configure?.Invoke(o);
        },
        delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));

    private static MessageRequest Letter(string key, string topic) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Topic = topic };

    private static async Task SignUp(OmnichannelTestHost host)
    {
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        await host.TrackAsync(EventTypes.NewsletterSubscribed, [Ann], new { channel = "email", topic = "newsletter" });
        host.Time.Advance(TimeSpan.FromMinutes(1));
    }

    [Theory]
    [InlineData(EventTypes.NewsletterUnsubscribed, "Newsletter")]
    [InlineData(EventTypes.MessageUnsubscribed, " NEWSLETTER ")]
    [InlineData(EventTypes.ConsentChanged, "newsletter ")]
    public async Task AnOptOut_FromATopicInAnotherSpelling_StopsThatTopic(string type, string topic)
    {
        await using var host = Host();
        await SignUp(host);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Letter("n1", "newsletter"))).Status);

        await host.TrackAsync(type, [Ann], new { channel = "email", topic, granted = false });

        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Ann, Letter("n2", "newsletter"))).Status);
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Ann, Letter("n3", "Newsletter"))).Status);
        Assert.Single((await host.ProfileAsync(Ann)).Consents);
    }

    [Fact]
    public async Task ARequestsTopic_InAnotherSpelling_MeetsTheGrant_AndTheOptOutTopicsAndCaps()
    {
        await using var host = Host(o =>
        {
            o.Delivery.OptOutTopics.Add("Offers");
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1), ChannelNames.Email) { Topic = "NEWSLETTER" });
        });
        await SignUp(host);

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Letter("n1", "Newsletter"))).Status);
        var capped = await host.Client.SendAsync(Ann, Letter("n2", "newsletter"));
        Assert.Equal(SendStatus.Skipped, capped.Status);
        Assert.Contains("frequency cap", capped.Reason, StringComparison.Ordinal);

        // An opt-out topic needs no grant, only no refusal, in any spelling.
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Letter("o1", "offers"))).Status);
        await host.TrackAsync(EventTypes.MessageUnsubscribed, [Ann], new { channel = "email", topic = "OFFERS" });
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Ann, Letter("o2", "offers"))).Status);
    }

    [Fact]
    public async Task ABlankTopic_IsRefusedWithItsField_NotReadAsTheWholeChannel()
    {
        await using var host = Host();
        await SignUp(host);

        var r = await host.Client.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", topic = "  ", granted = true }));

        Assert.Equal(TrackStatus.Rejected, r.Status);
        Assert.Contains(r.Errors, e => e.Field == "properties.topic");
    }

    [Fact]
    public void AStoredDocument_WithTopicsKeyedByTheirSpelling_IsReadWithTheNewerDecisionPerTopic()
    {
        // Documents written before topics were compared without case keyed "email/Newsletter" apart from "email/newsletter".
        var at = OmnichannelTestHost.DefaultStart;
        var p = new CustomerProfile("p1", at);
        p.ConsentRecords["email/Newsletter"] = new ConsentRecord("email", "Newsletter", false, at.AddMinutes(2), "web") { EventId = "e2" };
        p.ConsentRecords["email/newsletter"] = new ConsentRecord("email", "newsletter", true, at.AddMinutes(1), "web") { EventId = "e1" };

        var read = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), 1);

        Assert.False(read.GetConsent("email", "newsletter")!.Granted);
        Assert.Single(read.Consents);
    }
}

