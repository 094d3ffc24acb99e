using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Engine;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>
/// Moving the virtual clock (the test kit's <c>AdvanceAsync</c>) returns once what falls due on the way is sent and its
/// outcome recorded, also when the engine's own timer started a dispatch run that claimed the message while the clock
/// looked for the next due instant (the read then shows the claim's lease end, not the message).
/// </summary>
public sealed class VirtualClockSendRaceTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-1");

    [Fact]
    public async Task AdvanceToNow_WaitsForASendTheTimersRunClaimedWhileItLooked_AndItsOutcome()
    {
        var waited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var factory = LoggerFactory.Create(b => b.AddProvider(new Signal(97, waited)).SetMinimumLevel(LogLevel.Debug));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var email = new HeldTransport();
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        await using var engine = new OmnichannelEngine(options, store, time, factory, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = time.GetUtcNow(), Identifiers = [Ann, Identifier.Email("ann@example.com")] });

        // The message's commit waits; when the clock reads the next due instant, it goes on, and the timer it arms starts a
        // dispatch run that claims the message (after the clock's wait for sends in flight) before the read is answered.
        store.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sending = engine.SendAsync(Ann, new MessageRequest { Key = "receipt-1", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        await store.CommitWaiting.Task.WaitAsync(TimeSpan.FromSeconds(30));
        store.BeforeNextOutboxDueRead = async () =>
        {
            var gate = store.Gate!;
            store.Gate = null;
            gate.SetResult();
            await store.ClaimedOne.Task;
        };

        var advancing = engine.AdvanceVirtualClockAsync(time.GetUtcNow(), time.SetUtcNow);
        try
        {
            // The transport holds the send: the clock must not have returned before it is let go (the engine logs that it
            // waits for it; before, the clock returned with the send and its outcome under way).
            await Task.WhenAny(advancing, waited.Task).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(advancing.IsCompleted, "the virtual clock returned while a send was still in flight");
        }
        finally
        {
            email.Release.TrySetResult();
        }

        await advancing;
        await sending;
        Assert.Single(email.Sent);
        var timeline = (await engine.GetProfileAsync(Ann))!.Timeline;
        Assert.Contains(timeline, t => t.Type == EventTypes.MessageSent && t.EventId == "receipt-1:sent");
        Assert.Null(await store.GetNextOutboxDueAsync());
    }

    // Holds every send until released.
    private sealed class HeldTransport : IChannelTransport
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public System.Collections.Concurrent.ConcurrentQueue<OutboundMessage> Sent { get; } = new();

        public string Channel => ChannelNames.Email;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            await Release.Task.WaitAsync(cancellationToken);
            Sent.Enqueue(message);
            return DeliveryResult.Accepted("p-" + message.MessageId);
        }
    }

    // Completes its task when a log line with the event id is written.
    private sealed class Signal(int eventId, TaskCompletionSource logged) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (id.Id == eventId)
            {
                logged.TrySetResult();
            }
        }
    }
}
