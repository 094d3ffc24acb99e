using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit U87's findings (<see cref="AuditU87Properties"/>), shrunk to facts. Public API and the test kit's clock.</summary>
public sealed class AuditU87Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-u87");
    private static readonly Identifier AnnEmail = Identifier.Email("ann.u87@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+447700900587");
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;

    private static CustomerEvent[] Events(string bounceType)
    {
        var at = Start.AddMinutes(-5);
        CustomerEvent Bounce(string id, string key, int minute) => new()
        {
            Id = id,
            Type = EventTypes.MessageBounced,
            Timestamp = at.AddMinutes(minute),
            Identifiers = [Ann],
            Channel = "server",
            Properties = JsonData.From(new { channel = ChannelNames.Sms, message_id = key, bounce_type = bounceType }),
        };
        return
        [
            new() { Id = "e0", Type = "user.signed_up", Timestamp = at, Identifiers = [Ann, AnnEmail, AnnPhone] },
            Bounce("e1", "k1", 1), Bounce("e2", "k2", 2), Bounce("e3", "k3", 3),
        ];
    }

    // The property's failure (tracked again shuffled over three partitions), shrunk: three soft bounces of SMS messages the
    // host sent itself, naming only the message (its key, no address), after her sign-up that gave her number. In time
    // order they count against her number (the address she has there) and suppress it; a bounce heard before the sign-up,
    // on a profile with no number yet, waited for its message to be placed, and the sign-up giving her the number did not
    // place it: two bounces counted, and she stayed reachable. Before: orders 1–3 ended not suppressed (and the next text went).
    [Theory]
    [InlineData("soft", 0)]
    [InlineData("soft", 1)]
    [InlineData("soft", 2)]
    [InlineData("soft", 3)]
    [InlineData("hard", 0)]
    [InlineData("hard", 1)]
    public async Task BouncesNamingOnlyAHostsMessage_HeardBeforeSheHadANumber_SuppressItAsInTimeOrder(string bounceType, int signUpArrives)
    {
        var events = Events(bounceType).ToList();
        var signUp = events[0];
        events.RemoveAt(0);
        events.Insert(signUpArrives, signUp);
        var sms = new RecordingTransport(ChannelNames.Sms);
        await using var host = OmnichannelTestHost.Create(start: Start, delivery: new DeliverySetup { Renderer = new SmsRenderer() }.AddTransport(ChannelNames.Sms, sms));
        foreach (var e in events)
        {
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(e)).Status);
        }

        Assert.True(await host.Client.IsSuppressedAsync(AnnPhone));
        var next = await host.Client.SendAsync(Ann, new MessageRequest { Key = "t-next", Channels = [ChannelNames.Sms], TemplateId = "code", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(SendStatus.Skipped, next.Status);
        Assert.Empty(sms.Messages);
    }
}
