using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// First hour, eighth pass (thirty-ninth session): the reason a message is skipped for a limit names the window as
/// the ISO 8601 duration the preference or option was given in (<c>P7D</c>), not as .NET's <c>7.00:00:00</c>.
/// </summary>
public sealed class AuditFirstHourEighthPassTests
{
    private static readonly Identifier Clara = Identifier.Email("clara@example.com");

    private static OmnichannelTestHost Host(Action<OmnichannelOptions>? configure = null) =>
        OmnichannelTestHost.Create(services => services.AddOmnichannel(o =>
            {
                o.Delivery.EmailFrom = "Shop <news@shop.example>";
                configure?.Invoke(o);
            })
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("digest", [TemplateVariant.Email("Digest", "<p>Picks.</p>")]))));

    private static MessageRequest Digest(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "digest", Topic = "digest" };

    [Theory]
    [InlineData("P1W", "P7D")]
    [InlineData("P7D", "P7D")]
    [InlineData("PT36H", "P1DT12H")]
    public async Task HerOwnLimit_SkipReason_NamesThePeriodAsAnIsoDuration(string period, string expected)
    {
        await using var host = Host();
        await host.TrackAsync(EventTypes.ConsentChanged, [Clara], new { channel = "email", topic = "digest", granted = true });
        await host.TrackAsync(EventTypes.PreferencesUpdated, [Clara], new { preferred_channels = new[] { "SMS" }, max_messages = 1, period });

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Clara, Digest("d1"))).Status);
        await host.AdvanceAsync(TimeSpan.Zero);
        var second = await host.Client.SendAsync(Clara, Digest("d2"));

        Assert.Equal(SendStatus.Skipped, second.Status);
        Assert.Equal($"email: the customer's own limit of 1 per {expected} reached", second.Reason);
    }

    [Fact]
    public async Task AFrequencyCap_SkipReason_NamesItsWindowAsAnIsoDuration()
    {
        await using var host = Host(o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromHours(2), ChannelNames.Email)));
        await host.TrackAsync(EventTypes.ConsentChanged, [Clara], new { channel = "email", granted = true });

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Clara, Digest("d1"))).Status);
        await host.AdvanceAsync(TimeSpan.Zero);
        var second = await host.Client.SendAsync(Clara, Digest("d2"));

        Assert.Equal(SendStatus.Skipped, second.Status);
        Assert.Equal("email: frequency cap of 1 per PT2H on email reached", second.Reason);
    }
}
