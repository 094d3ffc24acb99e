using System.Collections.Concurrent;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Delivery;

public sealed class DeliveryFaultTests
{
    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }

    // Fails by a fixed pseudo-random plan per (message, attempt): transient, permanent (for "bad" addresses), or accepted.
    private sealed class ChaoticTransport : IChannelTransport
    {
        public ConcurrentDictionary<string, int> Accepted { get; } = new();

        public ConcurrentDictionary<string, int> Calls { get; } = new();

        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var call = Calls.AddOrUpdate(message.MessageId, 1, (_, n) => n + 1);
            var email = (EmailMessage)message;
            if (email.To.StartsWith("bad", StringComparison.Ordinal))
            {
                return ValueTask.FromResult(DeliveryResult.PermanentFailure("550 no such mailbox"));
            }

            if ((StringComparer.Ordinal.GetHashCode(message.MessageId) ^ call * 7919) % 3 != 0)
            {
                return ValueTask.FromResult(DeliveryResult.TransientFailure("421 try again later"));
            }

            Accepted.AddOrUpdate(message.MessageId, 1, (_, n) => n + 1);
            return ValueTask.FromResult(DeliveryResult.Accepted("provider-" + message.MessageId));
        }
    }

    [Fact]
    public async Task UnderRandomFaults_EveryMessageEndsSentExactlyOnce_OrFailedWithAReason()
    {
        var chaos = new ChaoticTransport();
        await using var host = OmnichannelTestHost.Create(
            o => { o.Delivery.Retry!.MaxRetryAttempts = 1; o.Delivery.RetryDelay = TimeSpan.FromMinutes(1); o.Delivery.MaxAttempts = 6; o.Delivery.CircuitBreaker.MinimumThroughput = 1000; },
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("chaos", chaos));
        var keys = new List<(string Key, string Customer)>();
        for (var c = 0; c < 20; c++)
        {
            var email = c % 7 == 3 ? $"bad{c}@example.com" : $"c{c}@example.com";
            await host.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId($"c{c}"), Identifier.Email(email)]));
            for (var m = 0; m < 3; m++)
            {
                var key = $"m-{c}-{m}";
                keys.Add((key, $"c{c}"));
                var r = await host.Engine.SendAsync(Identifier.CustomerId($"c{c}"),
                    new MessageRequest { Key = key, Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional });
                Assert.Equal(SendStatus.Queued, r.Status);
            }
        }

        for (var round = 0; round < 1000 && await host.Store.GetNextOutboxDueAsync() is { } next; round++)
        {
            await host.AdvanceToAsync(next > host.Time.GetUtcNow() ? next : host.Time.GetUtcNow());
            await host.Engine.RunDispatchAsync();
        }

        Assert.Null(await host.Store.GetNextOutboxDueAsync());
        var failedCount = 0;
        foreach (var (key, customer) in keys)
        {
            var timeline = (await host.ProfileAsync(Identifier.CustomerId(customer))).Timeline;
            var sent = timeline.Any(t => t.EventId == key + ":sent");
            var failed = timeline.Any(t => t.EventId == key + ":failed");
            Assert.True(sent ^ failed, $"{key}: sent={sent} failed={failed}");
            Assert.Equal(sent ? 1 : 0, chaos.Accepted.GetValueOrDefault(key));
            failedCount += failed ? 1 : 0;
        }

        Assert.InRange(failedCount, 9, 59); // the bad addresses (9 messages) fail for sure; most others get through
        Assert.All(chaos.Accepted.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task ATransportThatNeverAnswers_IsTimedOut_AndTheMessageIsTriedAgainLater()
    {
        var failing = new FailingTransport(ChannelNames.Email).TimeOut(1);
        await using var host = OmnichannelTestHost.Create(
            o => { o.Delivery.Retry = null; o.Delivery.SendTimeout = TimeSpan.FromSeconds(10); o.Delivery.RetryDelay = TimeSpan.FromMinutes(1); },
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("slow", failing));
        await host.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("ann"), Identifier.Email("ann@example.com")]));
        var sending = host.Engine.SendAsync(Identifier.CustomerId("ann"), new MessageRequest { Key = "t-1", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Queued, (await sending).Status);

        // The dispatcher is stuck in the transport until the fake clock passes the time-out.
        // (A bound on real time, not a count of spins: a busy machine may take a while to get the send to the transport.)
        var dispatch = host.Engine.RunDispatchAsync();
        Assert.True(await Task.Run(() => SpinWait.SpinUntil(() => failing.TimeOuts > 0, TimeSpan.FromSeconds(60))), "the transport was never called");

        host.Time.Advance(TimeSpan.FromSeconds(10));
        await dispatch;
        Assert.Empty(failing.Recorder!.Messages);
        await host.AdvanceAsync(TimeSpan.FromMinutes(2));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(["t-1"], failing.Recorder!.Messages.Select(m => m.MessageId));
    }
}
