using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>A hostile review of the forty-fourth session's changes: what broke, pinned.</summary>
public sealed class ReviewFortyFourthTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-r44");
    private static readonly DateTimeOffset Morning = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // a broken build fails instead of hanging; nothing waits for time

    // The forty-fourth session let disposal from a partition's worker begin and return; the engine's other own work (a
    // send, which disposal waits for) still waited for itself: a transport that stops the engine when its provider
    // suspends the account (and awaits it) hung until Delivery.SendTimeout ran out on the engine's clock, and the message
    // it had handed over was then recorded as timed out and sent again by the next process.
    [Fact]
    public async Task DisposalAwaitedFromATransportsSend_DoesNotWaitForItself_AndTheSendIsRecorded()
    {
        var store = new InMemoryOmnichannelStore();
        var transport = new DisposingTransport();
        var host = OmnichannelTestHost.Create(o => o.Partitions = 1, start: Morning, store: store,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport(ChannelNames.Email, transport));
        transport.Engine = host.Engine;
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann.r44@example.com")]);

        var send = await host.Client.SendAsync(Ann, new MessageRequest { Key = "r44-receipt", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Queued, send.Status);
        await transport.Returned.Task.WaitAsync(Bound); // hung before (until SendTimeout on the fake clock: for ever)

        await host.Engine.DisposeAsync().AsTask().WaitAsync(Bound); // the whole disposal, from outside
        Assert.Null(await store.GetNextOutboxDueAsync()); // completed: the next process does not send it again
        Assert.Equal(1, transport.Sends);
        await host.DisposeAsync(); // only once the engine is disposed: a hung disposal would hang the test here
    }

    // Audit U67 made a store's signal (PostgreSQL's NOTIFY for each statement that plans messages) start a look at once.
    // A look already under way queued one more look for each signal: a burst of commits during one slow look (a busy
    // database: 500 planned messages a second, a look of a second) queued a look per commit, each reading the store twice
    // after the last, without bound. One look queued behind the running one answers every signal before it starts.
    [Fact]
    public async Task ABurstOfStoreSignalsDuringALook_QueuesOneMoreLook_NotOnePerSignal()
    {
        var flaky = new FlakyStore(new InMemoryOmnichannelStore());
        var store = System.Reflection.DispatchProxy.Create<ISignallingStore, SignallingStore>();
        var signalling = (SignallingStore)(object)store;
        signalling.Inner = flaky;
        var engine = new OmnichannelEngine(AuditU55Tests.Options(), store, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Morning));
        await engine.RunDueAsync();
        var before = Volatile.Read(ref flaky.WakeLooks);

        var release = new TaskCompletionSource();
        flaky.HoldNextWakeLook = release;
        signalling.Signal();
        await flaky.WakeLookHeld.Task.WaitAsync(Bound);
        for (var i = 0; i < 100; i++)
        {
            signalling.Signal(); // commits of other processes while the look waits for the database
        }

        release.SetResult();
        // The signals during the look are answered by one look after it (then the timer waits its interval, on a clock
        // that does not move).
        Assert.True(await AuditU55Tests.Eventually(() => Volatile.Read(ref flaky.WakeLooks) - before >= 2 && Volatile.Read(ref flaky.WakeLooksInFlight) == 0));
        await Task.Yield();
        Assert.InRange(Volatile.Read(ref flaky.WakeLooks) - before, 2, 3); // 102 before
        await engine.DisposeAsync().AsTask().WaitAsync(Bound); // 101 before
    }

    public interface ISignallingStore : IOmnichannelStore, IStoreWorkSignal;

    public class SignallingStore : System.Reflection.DispatchProxy
    {
        private Action? _onWork;

        internal IOmnichannelStore Inner { get; set; } = null!;

        public void Signal() => _onWork?.Invoke();

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IStoreWorkSignal.SubscribeToWork))
            {
                _onWork = (Action)args![0]!;
                return new Subscription();
            }

            try
            {
                return targetMethod.Invoke(Inner, args);
            }
            catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }

        private sealed class Subscription : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }

    private sealed class DisposingTransport : IChannelTransport
    {
        public string Channel => ChannelNames.Email;

        public OmnichannelEngine? Engine { get; set; }

        public TaskCompletionSource Returned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Sends { get; private set; }

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Sends++;
            await Engine!.DisposeAsync(); // "account suspended": stop taking work
            Returned.TrySetResult();
            return DeliveryResult.Accepted("p-r44");
        }
    }
}
