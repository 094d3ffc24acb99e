using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary><c>AddConsoleTransport()</c> and <c>AddFileTransport(path)</c>: development transports in one call.</summary>
public sealed class DevTransportRegistrationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("omnichannel-dev-transports-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task FileAndConsoleTransports_InOneCallEach_DeliverEveryChannelNamed()
    {
        var console = new StringWriter();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 5, 4, 10, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("hello", [TemplateVariant.Email("Hi", "<p>Hi there</p>", "Hi there"), TemplateVariant.Sms("Hi by SMS")])))
            .AddFileTransport(_directory, [ChannelNames.Email])
            .AddConsoleTransport([ChannelNames.Sms], console)
            .AddConsoleTransport([ChannelNames.Sms], console);   // again: adds nothing
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IOmnichannelClient>();
        Identifier[] ann = [Identifier.Email("ann@example.com"), Identifier.Phone("+447700900461")];
        await client.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = clock.GetUtcNow(), Identifiers = ann });

        foreach (var channel in new[] { ChannelNames.Email, ChannelNames.Sms })
        {
            var sent = await client.SendAsync(ann[0], new MessageRequest { Key = "hello-" + channel, Channels = [channel], TemplateId = "hello", Class = MessageClass.Transactional });
            Assert.Equal(SendStatus.Queued, sent.Status);
        }

        await provider.GetRequiredService<OmnichannelEngine>().AdvanceVirtualClockAsync(clock.GetUtcNow().AddMinutes(1), clock.SetUtcNow);

        Assert.Contains("Hi there", await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(_directory, "*.eml"))));
        Assert.Contains("Hi by SMS", console.ToString());
        Assert.Single(services, d => d.ImplementationInstance is ChannelTransportRegistration { Name: "console", Channel: ChannelNames.Sms });
    }

    [Fact]
    public void WithoutChannels_TheyRegisterForEveryMessageChannel()
    {
        var services = new ServiceCollection();
        services.AddOmnichannel().AddConsoleTransport().AddFileTransport(_directory);

        var registered = services.Select(d => d.ImplementationInstance).OfType<ChannelTransportRegistration>().ToList();
        Assert.Equal(OmnichannelBuilder.MessageChannels.Order(), registered.Where(r => r.Name == "console").Select(r => r.Channel).Order());
        Assert.Equal(OmnichannelBuilder.MessageChannels.Order(), registered.Where(r => r.Name == "file").Select(r => r.Channel).Order());
    }

    [Fact]
    public void AddFileTransport_WithoutAFolder_NamesTheArgument()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddOmnichannel().AddFileTransport(" "));
        Assert.Equal("directory", ex.ParamName);
    }
}
