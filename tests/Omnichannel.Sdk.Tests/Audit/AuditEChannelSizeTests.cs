using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit E: message sizes on each channel with non-ASCII text.</summary>
public sealed class AuditEChannelSizeTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    [Fact]
    public async Task APushInJapanese_WellUnderFourKilobytesOfUtf8_RendersAndIsSent()
    {
        // 900 CJK characters are 2,700 UTF-8 bytes: the renderer accepts the part (MaxPushBytes 4,096, measured in UTF-8),
        // and the JSON a provider receives is about 2.8 KB. The outbox check measured the JSON form with every non-ASCII
        // character escaped as \uXXXX (6 bytes each): 5,400+ bytes, and the push was passed over as too large.
        var body = new string('届', 900);
        var push = new RecordingTransport(ChannelNames.Push);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(OmnichannelTestHost.DefaultStart));
        services.AddOmnichannel()
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("notice", [TemplateVariant.Push("お知らせ", body)])))
            .AddTransport("recording", ChannelNames.Push, _ => push);
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<OmnichannelEngine>();
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = OmnichannelTestHost.DefaultStart, Identifiers = [Ann, Identifier.DeviceId("device-token-1")] });

        var result = await engine.SendAsync(Ann, new MessageRequest { Key = "jp", Channels = [ChannelNames.Push], TemplateId = "notice", Class = MessageClass.Transactional });
        await engine.RunDispatchAsync();

        Assert.True(SendStatus.Queued == result.Status, result.Reason);
        Assert.Equal(body, Assert.Single(push.Sent<PushMessage>()).Body);
    }

    [Theory]
    [InlineData("届", 900)]   // 2,700 UTF-8 bytes
    [InlineData("🐱", 700)]  // 2,800 UTF-8 bytes
    [InlineData("é", 1500)]  // 3,000 UTF-8 bytes
    public async Task APushUnderFourKilobytesOfUtf8_IsNotPassedOverAsTooLarge(string character, int count)
    {
        var body = string.Concat(Enumerable.Repeat(character, count));
        var (result, _) = await SendPushAsync(body);

        Assert.True(SendStatus.Queued == result.Status, result.Reason);
    }

    [Fact]
    public async Task APushJustOverTheLimit_IsRefusedWithItsSize_NotTruncated()
    {
        var (result, push) = await SendPushAsync(string.Concat(Enumerable.Repeat("🐱", 1024)) + "!"); // 4,097 UTF-8 bytes

        Assert.NotEqual(SendStatus.Queued, result.Status);
        Assert.Contains("4097 bytes; at most 4096", result.Reason, StringComparison.Ordinal);
        Assert.Empty(push.Sent<PushMessage>());
    }

    // A push of one body to a customer with a device token, on a registration's engine; dispatched before it returns.
    private static async Task<(SendResult Result, RecordingTransport Push)> SendPushAsync(string body)
    {
        var push = new RecordingTransport(ChannelNames.Push);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(OmnichannelTestHost.DefaultStart));
        services.AddOmnichannel()
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("any", [TemplateVariant.Push("Hi", "{{ journey.body }}")])))
            .AddTransport("recording", ChannelNames.Push, _ => push);
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<OmnichannelEngine>();
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = OmnichannelTestHost.DefaultStart, Identifiers = [Ann, Identifier.DeviceId("device-token-1")] });
        var result = await engine.SendAsync(Ann, new MessageRequest
        {
            Key = "p",
            Channels = [ChannelNames.Push],
            TemplateId = "any",
            Class = MessageClass.Transactional,
            Data = new() { ["body"] = body },
        });
        await engine.RunDispatchAsync();
        return (result, push);
    }
}
