using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>
/// A message that is not sent, or waits for quiet hours to end, says so in the log (a newcomer trying the SDK in the
/// evening saw nothing happen and nothing logged) — with the reason, and without the address.
/// </summary>
public sealed class SkipLoggingTests
{
    [Fact]
    public async Task ASkippedMessage_AndADeferredOne_AreLogged_WithoutTheAddress()
    {
        var logs = new List<string>();
        using var factory = LoggerFactory.Create(b => b.AddProvider(new ListLogger(logs)).SetMinimumLevel(LogLevel.Information));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 22, 0, 0, TimeSpan.Zero));
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        await using var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), time, factory,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));
        var ann = Identifier.CustomerId("c-1");
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = time.GetUtcNow(), Identifiers = [ann, Identifier.Email("ann@example.com")] });

        await engine.SendAsync(ann, new MessageRequest { Key = "promo-1", Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "offers" });
        await engine.TrackAsync(new CustomerEvent { Id = "e2", Type = EventTypes.ConsentChanged, Timestamp = time.GetUtcNow(), Identifiers = [ann], Properties = JsonData.From(new { channel = "email", granted = true }) });
        await engine.SendAsync(ann, new MessageRequest { Key = "promo-2", Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "offers" });

        Assert.Contains(logs, l => l.Contains("promo-1 was not sent: email: no consent for offers", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Contains("promo-2 waits for the end of quiet hours, until 2026-01-06 08:00:00Z", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Contains("ann@", StringComparison.OrdinalIgnoreCase));
    }
}
