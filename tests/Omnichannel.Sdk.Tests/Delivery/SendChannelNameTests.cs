using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>
/// A send on a misspelt channel ("Email", "emial") used to be accepted and skipped for "no address", the same answer
/// as for a customer without an email: the typo never showed. It is refused with the field and the likely channel.
/// </summary>
public sealed class SendChannelNameTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static OmnichannelTestHost Host(params IChannelTransport[] transports)
    {
        var setup = new DeliverySetup { Renderer = new TemplateIdRenderer() };
        foreach (var t in transports)
        {
            setup.AddTransport(t.Channel, t);
        }

        return OmnichannelTestHost.Create(o => o.Identity.AddType(new IdentifierRule("line")), delivery: setup);
    }

    [Theory]
    [InlineData("Email", "Channels[1] 'Email' is not a valid channel name", "(did you mean 'email'?)")]
    [InlineData("emial", "Channels[1] 'emial' is neither a standard channel", "(did you mean 'email'?)")]
    [InlineData("whatsap", "Channels[1] 'whatsap' is neither a standard channel", "(did you mean 'whatsapp'?)")]
    [InlineData("lne", "Channels[1] 'lne' is neither a standard channel", "(did you mean 'line'?)")]
    public async Task AMisspeltChannel_IsRefused_WithItsPosition_AndTheLikelyOne(string channel, string what, string suggestion)
    {
        await using var host = Host(new RecordingTransport(ChannelNames.Email), new RecordingTransport("line"));
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email("ann@example.com")]));

        var refused = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await host.Client.SendAsync(Ann, new MessageRequest { Key = "r-1", Channels = [ChannelNames.Push, channel], TemplateId = "receipt", Class = MessageClass.Transactional }));

        Assert.Contains(what, refused.Message, StringComparison.Ordinal);
        Assert.Contains(suggestion, refused.Message, StringComparison.Ordinal);
        Assert.Null(await host.Store.GetNextOutboxDueAsync()); // nothing queued
    }

    [Fact]
    public async Task ACustomChannelWithATransport_AndAStandardOneWithout_AreAccepted()
    {
        var line = new RecordingTransport("line");
        await using var host = Host(line);
        await host.TrackAsync(host.Event("user.signed_up", [Ann, new Identifier("line", "U4af4980629")]));

        var custom = await host.Client.SendAsync(Ann, new MessageRequest { Key = "r-1", Channels = ["line"], TemplateId = "receipt", Class = MessageClass.Transactional });
        var standard = await host.Client.SendAsync(Ann, new MessageRequest { Key = "r-2", Channels = [ChannelNames.Sms], TemplateId = "receipt", Class = MessageClass.Transactional });

        Assert.Equal(SendStatus.Queued, custom.Status);
        Assert.Equal(SendStatus.Skipped, standard.Status); // no phone: the usual answer, not a refusal
    }

    private static Omnichannel.Sdk.Journeys.JourneyDefinition Journey(string channel) => Omnichannel.Sdk.Tests.Journeys.JourneyRig.Parse($$"""
        {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "hello", "type": "send", "channels": ["push", "{{channel}}"], "template": "welcome"}]}
        """);

    [Fact]
    public async Task AJourneyPublishedWithAMisspeltChannel_IsRefused_WithThePathOfTheChannel()
    {
        await using var host = Host(new RecordingTransport(ChannelNames.Email));

        var refused = await Assert.ThrowsAsync<Omnichannel.Sdk.Journeys.JourneyDefinitionException>(() => host.Client.PublishJourneyAsync(Journey("emial")));

        var error = Assert.Single(refused.Errors);
        Assert.Equal("$.steps[0].channels[1]", error.Path);
        Assert.Contains("(did you mean 'email'?)", error.Message, StringComparison.Ordinal);
        Assert.Empty(host.Engine.Journeys);
    }

    [Fact]
    public void AStartUpJourneyWithAMisspeltChannel_StopsTheEngineFromStarting_SayingWhere()
    {
        var options = new OmnichannelOptions();
        options.Journeys.Add(Journey("smss"));

        var refused = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new OmnichannelEngine(options, new Omnichannel.Sdk.Storage.InMemoryOmnichannelStore()));

        Assert.Contains("$.steps[0].channels[1]", refused.Message, StringComparison.Ordinal);
        Assert.Contains("(did you mean 'sms'?)", refused.Message, StringComparison.Ordinal);
    }
}
