using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit M: host code that calls back into the engine, hangs, or throws what the engine did not expect.</summary>
public sealed class AuditMStallTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(30); // real time: a hang fails the test instead of the run

    private static MessageRequest Receipt(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = MessageClass.Transactional };

    private static async Task SignUp(OmnichannelTestHost host, Identifier id, string email) =>
        await host.TrackAsync(host.Event("user.signed_up", [id, Identifier.Email(email)]));

    // Renders through the template-id renderer after running a host callback.
    private sealed class CallbackRenderer(Func<MessageRequest, CustomerProfile, CancellationToken, Task> before) : IMessageRenderer
    {
        public int Calls;

        public async ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            await before(request, profile, cancellationToken);
            return await new TemplateIdRenderer().RenderAsync(request, channel, address, profile, now, cancellationToken);
        }
    }

    [Fact]
    public async Task ARendererThatTracksAnEventForItsCustomer_FailsFast_InsteadOfDeadlockingThePartition()
    {
        OmnichannelTestHost? self = null;
        var renderer = new CallbackRenderer(async (r, p, ct) => await self!.Engine.TrackAsync(self.Event("page.viewed", [Ann]), ct));
        await using var host = OmnichannelTestHost.Create(o => { o.Partitions = 1; o.QueueCapacity = 1; }, delivery: new DeliverySetup { Renderer = renderer }.AddTransport("rec", new RecordingTransport(ChannelNames.Email)));
        self = host;
        await SignUp(host, Ann, "ann@example.com");

        var result = await host.Client.SendAsync(Ann, Receipt("r-1")).AsTask().WaitAsync(Hang);

        Assert.Equal(SendStatus.Skipped, result.Status);
        Assert.Contains("rendering failed", result.Reason);
        Assert.Contains("deadlock", result.Reason);

        // The partition goes on.
        Assert.Equal(TrackStatus.Accepted, (await host.Engine.TrackAsync(host.Event("page.viewed", [Bob])).AsTask().WaitAsync(Hang)).Status);
    }

    [Fact]
    public async Task ARendererThatSendsAnotherMessage_FailsFast_InsteadOfDeadlockingThePartition()
    {
        OmnichannelTestHost? self = null;
        var renderer = new CallbackRenderer(async (r, p, ct) =>
        {
            if (r.Key == "r-1")
            {
                await self!.Engine.SendAsync(Bob, Receipt("nested"), ct);
            }
        });
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 1, delivery: new DeliverySetup { Renderer = renderer }.AddTransport("rec", new RecordingTransport(ChannelNames.Email)));
        self = host;
        await SignUp(host, Ann, "ann@example.com");
        await SignUp(host, Bob, "bob@example.com");

        var result = await host.Client.SendAsync(Ann, Receipt("r-1")).AsTask().WaitAsync(Hang);
        Assert.Equal(SendStatus.Skipped, result.Status);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Bob, Receipt("r-2")).AsTask().WaitAsync(Hang)).Status);
    }

    [Fact]
    public async Task ARendererThatNeverAnswers_IsAbandonedAfterItsTimeOut_AndThePartitionGoesOn()
    {
        var renderer = new CallbackRenderer((r, p, ct) => r.Key == "r-1" ? new TaskCompletionSource().Task : Task.CompletedTask); // ignores its token
        await using var host = OmnichannelTestHost.Create(o => { o.Partitions = 1; o.Delivery.RenderTimeout = TimeSpan.FromSeconds(10); },
            delivery: new DeliverySetup { Renderer = renderer }.AddTransport("rec", new RecordingTransport(ChannelNames.Email)));
        await SignUp(host, Ann, "ann@example.com");

        var send = host.Client.SendAsync(Ann, Receipt("r-1")).AsTask();
        Assert.True(await Task.Run(() => SpinWait.SpinUntil(() => renderer.Calls > 0, Hang)));
        for (var step = 0; step < 100 && !send.IsCompleted; step++)
        {
            host.Time.Advance(TimeSpan.FromSeconds(5));
            await Task.WhenAny(send, Task.Delay(TimeSpan.FromMilliseconds(50))); // real time: waiting for the worker, not for the clock
        }

        var result = await send.WaitAsync(Hang);
        Assert.Equal(SendStatus.Skipped, result.Status);
        Assert.Contains("RenderTimeout", result.Reason);
        Assert.Equal(TrackStatus.Accepted, (await host.Engine.TrackAsync(host.Event("page.viewed", [Bob])).AsTask().WaitAsync(Hang)).Status);
    }

    [Fact]
    public async Task ARendererThrowingACancellationOfItsOwn_PassesTheChannelOver_LikeAnyRenderingFailure()
    {
        // An HttpClient time-out inside a renderer is a TaskCanceledException whose token is not the engine's.
        var renderer = new CallbackRenderer((r, p, ct) => throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout"));
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 1, delivery: new DeliverySetup { Renderer = renderer }.AddTransport("rec", new RecordingTransport(ChannelNames.Email)));
        await SignUp(host, Ann, "ann@example.com");

        var result = await host.Client.SendAsync(Ann, Receipt("r-1")).AsTask().WaitAsync(Hang);

        Assert.Equal(SendStatus.Skipped, result.Status);
        Assert.Contains("rendering failed", result.Reason);
    }

    // Quiet hours from 08:30 to 09:30: a receipt planned at 09:00 is held and rendered again when it leaves.
    private static void HeldUntilHalfPastNine(OmnichannelOptions o)
    {
        o.Delivery.Retry = null;
        o.Delivery.TransactionalQuietHours = QuietHoursAction.Defer;
        o.Delivery.QuietHoursStart = new(8, 30);
        o.Delivery.QuietHoursEnd = new(9, 30);
    }

    [Fact]
    public async Task ARendererThatHangsWhenRenderingAgainAtDelivery_DoesNotStallTheDispatcher()
    {
        var renders = 0;
        var renderer = new CallbackRenderer((r, p, ct) => Interlocked.Increment(ref renders) == 2 ? new TaskCompletionSource().Task : Task.CompletedTask);
        var transport = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(o => { HeldUntilHalfPastNine(o); o.Delivery.RenderTimeout = TimeSpan.FromSeconds(10); },
            delivery: new DeliverySetup { Renderer = renderer }.AddTransport("rec", transport));
        await SignUp(host, Ann, "ann@example.com");
        await host.Client.SendAsync(Ann, Receipt("ann-1"));

        var run = Task.Run(() => host.AdvanceAsync(TimeSpan.FromHours(1)));
        for (var step = 0; step < 400 && !run.IsCompleted; step++)
        {
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromMilliseconds(50))); // real time: waiting for the engine's threads
            if (Volatile.Read(ref renders) >= 2)
            {
                host.Time.Advance(TimeSpan.FromSeconds(5));
            }
        }

        await run.WaitAsync(Hang);
        Assert.Equal(2, renders);
        Assert.Equal(["ann-1"], transport.Messages.Select(m => m.MessageId)); // the message rendered when planned still stands
    }

    [Fact]
    public async Task ACancellationOfItsOwnWhileRenderingAgain_DoesNotStopTheDispatcher()
    {
        var renders = 0;
        var renderer = new CallbackRenderer((r, p, ct) => Interlocked.Increment(ref renders) == 2 ? throw new OperationCanceledException("foreign") : Task.CompletedTask);
        var transport = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(HeldUntilHalfPastNine, delivery: new DeliverySetup { Renderer = renderer }.AddTransport("rec", transport));
        await SignUp(host, Ann, "ann@example.com");
        await host.Client.SendAsync(Ann, Receipt("ann-1"));

        await host.AdvanceAsync(TimeSpan.FromHours(1)).WaitAsync(Hang);

        Assert.Equal(2, renders);
        Assert.Equal(["ann-1"], transport.Messages.Select(m => m.MessageId));
        Assert.Null(await host.Store.GetNextOutboxDueAsync());
    }

    // Holds the first send until released.
    private sealed class HeldTransport : IChannelTransport
    {
        public RecordingTransport Recorder { get; } = new(ChannelNames.Email);

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Channel => ChannelNames.Email;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Release.Task;
            return await Recorder.SendAsync(message, cancellationToken);
        }
    }

    [Fact]
    public async Task DisposingWhileASendIsInFlight_RecordsItsOutcome_SoTheNextProcessDoesNotSendItAgain()
    {
        var store = new InMemoryOmnichannelStore();
        var transport = new HeldTransport();
        var host = OmnichannelTestHost.Create(store: store, delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("held", transport));
        await SignUp(host, Ann, "ann@example.com");
        await host.Client.SendAsync(Ann, Receipt("ann-1"));
        var dispatch = host.Engine.RunDispatchAsync();
        await transport.Entered.Task.WaitAsync(Hang);

        var disposing = host.DisposeAsync().AsTask();
        await Task.Delay(100); // real time: let disposal reach the wait
        transport.Release.SetResult();
        await disposing.WaitAsync(Hang);
        await Task.WhenAny(dispatch, Task.Delay(Hang));

        Assert.Equal(["ann-1"], transport.Recorder.Messages.Select(m => m.MessageId));
        Assert.Null(await store.GetNextOutboxDueAsync()); // completed, not left claimed for the next process to send again
        var profile = await store.LoadProfileAsync((await store.ResolveIdentifiersAsync([Ann]))[Ann]);
        Assert.Contains("message.sent", System.Text.Encoding.UTF8.GetString(profile!.Document));
    }

    // A logging sink that fails on errors (a full disk, a dead collector): host code the worker calls after a failure.
    private sealed class ThrowingOnErrorLoggerFactory : Microsoft.Extensions.Logging.ILoggerFactory, Microsoft.Extensions.Logging.ILogger
    {
        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider) { }

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

        public void Dispose() { }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= Microsoft.Extensions.Logging.LogLevel.Error)
            {
                throw new IOException("the log sink is full");
            }
        }
    }

    [Fact]
    public async Task ALoggerThatThrowsWhileAnEventFails_DoesNotKillThePartition()
    {
        var store = new Omnichannel.Sdk.Tests.Engine.FlakyStore(new InMemoryOmnichannelStore()) { FailCommitsFor = "boom" };
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        var options = new OmnichannelOptions { Partitions = 1 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        await using var engine = new OmnichannelEngine(options, store, time, new ThrowingOnErrorLoggerFactory());
        CustomerEvent Viewed(string who) => new() { Id = Guid.NewGuid().ToString("N"), Type = "page.viewed", Timestamp = time.GetUtcNow(), Identifiers = [Identifier.CustomerId(who)] };

        var failed = await engine.TrackAsync(Viewed("boom")).AsTask().WaitAsync(Hang);
        var next = await engine.TrackAsync(Viewed("bob")).AsTask().WaitAsync(Hang);

        Assert.Equal(TrackStatus.StoreFailed, failed.Status);
        Assert.Equal(TrackStatus.Accepted, next.Status);
    }
}
