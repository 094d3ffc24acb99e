using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Items earlier audits left alone, closed in the forty-fourth session.</summary>
public sealed class LeftAloneFortyFourthTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-la44");
    private static readonly Identifier Bob = Identifier.CustomerId("c-bob-la44");
    private static readonly DateTimeOffset Morning = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    // Audit U63 left alone: the erasure's mark could not enter a full partition queue, so that partition kept her
    // deserialised profile (email, traits) until eviction — for the life of the process with a large cache.
    [Fact]
    public async Task AnErasureWhilePartitionQueueIsFull_StillLeavesNoHotCopyOfHerProfile()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        await using var host = OmnichannelTestHost.Create(o => { o.Partitions = 1; o.QueueCapacity = 1; }, start: Morning, store: store);
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann.la44@example.com")], traits: new { first_name = "Annabel" });
        await host.TrackAsync("user.signed_up", [Bob]);
        var annId = (await host.ProfileAsync(Ann)).Id;
        Assert.Equal(1, await host.Engine.HotCopiesOfAsync(annId)); // the test sees her copy before

        // The worker holds Bob's commit; one more event of Bob's fills the queue (capacity 1).
        store.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = host.Client.TrackAsync(host.Event("product.viewed", [Bob], new { product_id = "p1" })).AsTask();
        await store.CommitWaiting.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var queued = host.Client.TrackAsync(host.Event("product.viewed", [Bob], new { product_id = "p2" })).AsTask();

        Assert.True(await host.Client.EraseProfileAsync(Ann)); // the store erases; the mark finds the queue full

        var gate = store.Gate;
        store.Gate = null;
        gate.SetResult();
        Assert.Equal(TrackStatus.Accepted, (await held).Status);
        Assert.Equal(TrackStatus.Accepted, (await queued).Status);

        Assert.Equal(0, await host.Engine.HotCopiesOfAsync(annId));
        Assert.Equal(1, await host.Engine.HotCopiesOfAsync((await host.ProfileAsync(Bob)).Id));
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event("user.logged_in", [Ann]))).Status);
    }

    // Left alone since U58: disposal called from inside the engine's own work (a renderer or a store on a partition's
    // worker) waited for that worker, which waited for the call: a hang for ever (RabbitMQ's "closing a channel from its
    // consumer callback", Kafka's "Close() from a handler" are the public reports of the kind). It now begins the
    // disposal, returns, and the rest finishes once the work returns.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // a broken build fails instead of hanging; nothing waits for time

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisposalFromARendererOnTheWorker_DoesNotHang_AndTheEngineEndsDisposed(bool awaited)
    {
        var renderer = new DisposingRenderer { Awaited = awaited };
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 1, start: Morning,
            delivery: new DeliverySetup { Renderer = renderer }.AddTransport(ChannelNames.Email, email));
        renderer.Engine = host.Engine;
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann.la44@example.com")]);

        var send = host.Client.SendAsync(Ann, new MessageRequest { Key = "r-la44", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional }).AsTask();
        await send.WaitAsync(Bound); // hung before

        Assert.True(renderer.Returned);
        await host.Engine.DisposeAsync().AsTask().WaitAsync(Bound); // the whole disposal, from outside
        await Assert.ThrowsAsync<ObjectDisposedException>(() => host.Client.TrackAsync(host.Event("user.logged_in", [Ann])).AsTask());
    }

    [Fact]
    public async Task DisposalAwaitedFromAStoreCommitOnTheWorker_DoesNotHang_AndTheCommitItMadeIsKept()
    {
        var inner = new InMemoryOmnichannelStore();
        var store = System.Reflection.DispatchProxy.Create<IOmnichannelStore, DisposingStore>();
        var disposing = (DisposingStore)(object)store;
        disposing.Inner = inner;
        var host = OmnichannelTestHost.Create(o => o.Partitions = 1, start: Morning, store: store);
        disposing.Engine = host.Engine;
        await host.TrackAsync("user.signed_up", [Ann]);

        disposing.Armed = true;
        var result = await host.Client.TrackAsync(host.Event("user.logged_in", [Ann])).AsTask().WaitAsync(Bound); // hung before

        Assert.Equal(TrackStatus.Accepted, result.Status);
        Assert.True(disposing.Returned);
        await host.Engine.DisposeAsync().AsTask().WaitAsync(Bound);
        var stored = await inner.LoadProfileAsync((await inner.ResolveIdentifiersAsync([Ann]))[Ann]);
        Assert.Equal(2, stored!.Version); // the commit that disposed was written
        await host.DisposeAsync();
    }

    private sealed class DisposingRenderer : IMessageRenderer
    {
        private readonly StubMessageRenderer _stub = new();

        public OmnichannelEngine? Engine { get; set; }

        public bool Awaited { get; init; }

        public bool Returned { get; private set; }

        public async ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            if (Awaited)
            {
                await Engine!.DisposeAsync();
            }
            else
            {
                Engine!.Dispose();
            }

            Returned = true;
            return await _stub.RenderAsync(request, channel, address, profile, now, cancellationToken);
        }
    }

    public class DisposingStore : System.Reflection.DispatchProxy
    {
        public IOmnichannelStore Inner { get; set; } = null!;

        public OmnichannelEngine? Engine { get; set; }

        public bool Armed { get; set; }

        public bool Returned { get; private set; }

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IOmnichannelStore.CommitAsync) && Armed)
            {
                Armed = false;
                return new ValueTask<CommitResult>(CommitAfterDisposingAsync((ProfileCommit)args![0]!));
            }

            return targetMethod.Invoke(Inner, args);
        }

        private async Task<CommitResult> CommitAfterDisposingAsync(ProfileCommit commit)
        {
            await Engine!.DisposeAsync();
            Returned = true;
            return await Inner.CommitAsync(commit);
        }
    }
}
