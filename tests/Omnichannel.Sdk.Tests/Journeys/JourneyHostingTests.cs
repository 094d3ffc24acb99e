using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>In a generic host, nothing but the clock moving is needed: the hosted engine's timers fire waits and dispatch.</summary>
public sealed class JourneyHostingTests
{
    [Fact]
    public async Task TheHostedEngine_FiresADueWait_AndDeliversTheMessage_WhenOnlyTheClockMoves()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 4, 1, 10, 0, 0, TimeSpan.Zero));
        var transport = new SignallingTransport();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddOmnichannel(o => o.Delivery.EmailFrom = "shop@example.com")
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("later", [TemplateVariant.Email("Later", null, "An hour later")])))
            .AddTransport("signal", ChannelNames.Email, _ => transport)
            .AddJourney(Journey.Define("later", "Later")
                .TriggeredBy(t => t.Event("user.signed_up"))
                .Steps(s => s.Delay("wait", "PT1H").Send("mail", [ChannelNames.Email], "later", null, MessageClass.Transactional))
                .Build());
        using var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IOmnichannelClient>();
        await client.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = time.GetUtcNow(), Identifiers = [Identifier.Email("ann@example.com")] });

        time.Advance(TimeSpan.FromMinutes(59));
        Assert.False(transport.Sent.Task.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(1)); // the engine's own wake-up timer fires; then its dispatch timer

        // A real-time bound only so that a broken build fails instead of hanging; nothing waits for time to pass.
        var sent = await transport.Sent.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("Later", ((EmailMessage)sent).Subject);
        await host.StopAsync();
    }

    private sealed class SignallingTransport : IChannelTransport
    {
        public TaskCompletionSource<OutboundMessage> Sent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Sent.TrySetResult(message);
            return ValueTask.FromResult(DeliveryResult.Accepted("p-1"));
        }
    }
}
