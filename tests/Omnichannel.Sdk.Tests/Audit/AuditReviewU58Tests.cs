using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Tests.Delivery;
using Omnichannel.Sdk.Tests.Engine;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// An adversarial review of audit U58 (one shared disposal, a synchronous Dispose, the drain in StoppedAsync, gauges
/// read through fields disposal clears); docs/design-notes.md, "Review of audit U58", lists what held and what was fixed.
/// </summary>
public sealed class AuditReviewU58Tests
{
    private const string Email = "ann.review58@example.com";

    // A real-time bound only so that a broken build fails instead of hanging; nothing waits for time to pass.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static readonly DateTimeOffset Start = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);

    private static CustomerEvent Event(string id, DateTimeOffset at) =>
        new() { Id = id, Type = "page.viewed", Timestamp = at, Identifiers = [Identifier.Email(Email)] };

    private static MessageRequest Receipt(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional };

    // Waits for its caller's token: a send the caller of RunDispatchAsync cancels.
    private sealed class CancellableTransport : IChannelTransport
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Channel => ChannelNames.Email;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Started.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return DeliveryResult.Accepted("never");
        }
    }

    // A send in flight that its run's caller cancels (a RunDispatchAsync(stoppingToken) of the application) ends as a
    // cancelled task. The disposal waited for it with Task.WhenAll and so threw the caller's cancellation: the queues were
    // never closed nor the workers stopped, and, the disposal being shared since U58, every later DisposeAsync threw it
    // too: the host's stop failed and the container's disposal stopped at the engine, leaving the store undisposed.
    [Fact]
    public async Task AHostStoppingWhileACallerCancelsItsSend_StopsCleanly_AndTheContainerStillDisposesTheStore()
    {
        var time = new FakeTimeProvider(Start);
        var flaky = new FlakyStore(new InMemoryOmnichannelStore()) { ClaimOnlyHere = true }; // the timer's runs claim nothing
        var store = AuditU58Tests.DisposalWatch.Around(flaky);
        var transport = new CancellableTransport();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddOmnichannel(o =>
            {
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
                o.Delivery.EmailFrom = "shop@example.com";
                o.Delivery.Retry = null;
            })
            .UseStore(_ => store)
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("receipt", [TemplateVariant.Email("Your receipt", null, "Thanks")])))
            .AddTransport("cancellable", ChannelNames.Email, _ => transport);
        var host = builder.Build();
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<OmnichannelEngine>();
        await engine.TrackAsync(Event("e1", time.GetUtcNow()));
        await engine.SendAsync(Identifier.Email(Email), Receipt("order-1"));
        using var cts = new CancellationTokenSource();
        var run = Task.Run(() =>
        {
            FlakyStore.ClaimsHere.Value = true;
            return engine.RunDispatchAsync(cts.Token);
        });
        await transport.Started.Task.WaitAsync(Bound);

        var stopping = host.StopAsync();
        Assert.False(stopping.IsCompleted); // the drain waits for the send
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Bound));

        await stopping.WaitAsync(Bound); // was: AggregateException (TaskCanceledException) from the engine's disposal
        await engine.DisposeAsync().AsTask().WaitAsync(Bound); // a later caller: was the same fault
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.TrackAsync(Event("e2", time.GetUtcNow())));
        host.Dispose(); // was: threw again, before the store
        var watch = (AuditU58Tests.DisposalWatch)(object)store;
        Assert.True(watch.Disposed);
        Assert.Equal(0, watch.CallsAfterDisposal);
    }

    // A batch is queued whole (its events applied in order, or none of it refused). One half-written when the engine
    // stopped (waiting for room in a full queue) had its first events queued and applied, and the rest refused: the caller
    // heard ObjectDisposedException, "not taken", for a batch part of which was stored.
    [Fact]
    public async Task ABatchBeingQueuedWhenTheEngineStops_IsQueuedWhole_NotHalfAppliedAndRefused()
    {
        var time = new FakeTimeProvider(Start);
        var flaky = new FlakyStore(new InMemoryOmnichannelStore()) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var options = new OmnichannelOptions { Partitions = 1, QueueCapacity = 1 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        var engine = new OmnichannelEngine(options, flaky, time);
        var first = engine.TrackAsync(Event("e0", time.GetUtcNow())).AsTask();
        await flaky.CommitWaiting.Task.WaitAsync(Bound); // the worker holds e0; the queue is empty

        var batch = engine.TrackBatchAsync([Event("b1", time.GetUtcNow()), Event("b2", time.GetUtcNow())]); // b1 queued, b2 waits for room
        Assert.False(batch.IsCompleted);
        var disposing = engine.DisposeAsync().AsTask();
        flaky.Gate.SetResult();
        await disposing.WaitAsync(Bound);

        Assert.Equal(TrackStatus.Accepted, (await first.WaitAsync(Bound)).Status);
        var results = await batch.WaitAsync(Bound); // was: ObjectDisposedException, with b1 applied
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.True(await flaky.IsEventProcessedAsync("b1"));
        Assert.True(await flaky.IsEventProcessedAsync("b2"));
    }

    private sealed class GatedTransport : IChannelTransport
    {
        private int _calls;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls => Volatile.Read(ref _calls);

        public string Channel => ChannelNames.Email;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            Started.TrySetResult();
            await Gate.Task; // no ConfigureAwait: host code that resumes on whatever context it was called on
            return DeliveryResult.Accepted("p-" + message.MessageId);
        }
    }

    private static HostApplicationBuilder Builder(FakeTimeProvider time, IOmnichannelStore store, IChannelTransport transport)
    {
        var builder = Host.CreateApplicationBuilder();
        AuditU58Tests.AddReceipts(builder.Services, time, store, transport);
        return builder;
    }

    // Held: the host's stop token (ShutdownTimeout, here already over) does not cut the drain, also with the services
    // stopped side by side: StoppedAsync comes after every StopAsync, and the send in flight is recorded before the stop
    // returns (cutting it would let the caller dispose the store under it: the message sent again by the next process).
    // Fixed: nothing said why the stop ran past the host's timeout; a warning (event 126) now does, once.
    [Fact]
    public async Task AHostWithNoShutdownTimeLeft_StoppingServicesConcurrently_StillDrainsTheSendInFlight()
    {
        var time = new FakeTimeProvider(Start);
        var store = new InMemoryOmnichannelStore();
        var transport = new GatedTransport();
        var builder = Builder(time, store, transport);
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ServicesStopConcurrently = true;
            o.ServicesStartConcurrently = true;
            o.ShutdownTimeout = TimeSpan.Zero;
        });
        var logged = new EventIds();
        builder.Logging.AddProvider(logged);
        using var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IOmnichannelClient>();
        await client.TrackAsync(Event("e1", time.GetUtcNow()));
        await client.SendAsync(Identifier.Email(Email), Receipt("order-1"));
        time.Advance(TimeSpan.FromSeconds(1));
        await transport.Started.Task.WaitAsync(Bound);

        var stopping = host.StopAsync();
        await logged.DrainPastTimeout.Task.WaitAsync(Bound); // was: never logged; the drain waits for the send, past the token
        Assert.False(stopping.IsCompleted);
        transport.Gate.SetResult();
        await stopping.WaitAsync(Bound);
        Assert.Single((await client.GetProfileAsync(Identifier.Email(Email)))!.Timeline, t => t.Type == EventTypes.MessageSent);
        Assert.Equal(1, transport.Calls);
        Assert.Equal(1, logged.Count(126)); // once
    }

    private sealed class EventIds : ILoggerProvider, ILogger
    {
        private readonly ConcurrentQueue<int> _ids = new();

        public TaskCompletionSource DrainPastTimeout { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count(int id) => _ids.Count(i => i == id);

        public ILogger CreateLogger(string categoryName) => this;

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            _ids.Enqueue(eventId.Id);
            if (eventId.Id == 126)
            {
                DrainPastTimeout.TrySetResult();
            }
        }
    }

    // A context that never runs what is posted to it: a UI thread blocked in Dispose().
    private sealed class BlockedContext : SynchronizationContext
    {
        public int Posted;

        public override void Post(SendOrPostCallback d, object? state) => Interlocked.Increment(ref Posted);

        public override void Send(SendOrPostCallback d, object? state) => Interlocked.Increment(ref Posted);
    }

    // Held: Dispose() (sync over async) on a thread whose SynchronizationContext is blocked by that very call: nothing in
    // the disposal resumes on the caller's context, also with a send in flight whose transport awaits without
    // ConfigureAwait(false), so it returns once the send is recorded instead of deadlocking.
    [Fact]
    public async Task DisposeOnAThreadWithASynchronizationContext_ReturnsOnceTheSendIsRecorded_WithoutDeadlock()
    {
        var time = new FakeTimeProvider(Start);
        var store = new InMemoryOmnichannelStore();
        var transport = new GatedTransport();
        using var host = Builder(time, store, transport).Build();
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<OmnichannelEngine>();
        await engine.TrackAsync(Event("e1", time.GetUtcNow()));
        await engine.SendAsync(Identifier.Email(Email), Receipt("order-1"));
        time.Advance(TimeSpan.FromSeconds(1));
        await transport.Started.Task.WaitAsync(Bound);

        var context = new BlockedContext();
        var disposed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(context);
            try
            {
                engine.Dispose();
                disposed.TrySetResult();
            }
            catch (Exception ex)
            {
                disposed.TrySetException(ex);
            }
        });
        thread.Start();
        Assert.False(disposed.Task.IsCompleted);
        transport.Gate.SetResult();
        await disposed.Task.WaitAsync(Bound);
        Assert.Equal(0, Volatile.Read(ref context.Posted));
        Assert.Single((await engine.GetProfileAsync(Identifier.Email(Email)))!.Timeline, t => t.Type == EventTypes.MessageSent); // reads work after disposal
        await engine.DisposeAsync(); // after Dispose: at once
        await host.StopAsync().WaitAsync(Bound);
    }

    // Held: the gauges' callbacks run on a collector's thread, racing the disposal that clears what they read; and a
    // listener started after the disposal finds the instruments still on the factory's meter. Neither throws, and once
    // disposed the engine reports nothing.
    [Fact]
    public async Task GaugesCollectedWhileAndAfterTheEngineIsDisposed_NeitherThrowNorReport()
    {
        var time = new FakeTimeProvider(Start);
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        var options = new OmnichannelOptions { Partitions = 2 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        MeterListener Listen(ConcurrentBag<string> seen)
        {
            var listener = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Scope == factory && instrument.Name.StartsWith("omnichannel.", StringComparison.Ordinal))
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            listener.SetMeasurementEventCallback<long>((i, _, _, _) => seen.Add(i.Name));
            listener.SetMeasurementEventCallback<double>((i, _, _, _) => seen.Add(i.Name));
            listener.Start();
            return listener;
        }

        for (var round = 0; round < 20; round++)
        {
            var during = new ConcurrentBag<string>();
            using var racing = Listen(during);
            var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), time, meterFactory: factory);
            await engine.TrackAsync(Event($"e{round}", time.GetUtcNow()));
            var collecting = Task.Run(() =>
            {
                for (var i = 0; i < 200; i++)
                {
                    racing.RecordObservableInstruments();
                }
            });
            await engine.DisposeAsync();
            await collecting.WaitAsync(Bound); // was it to throw (a reader cleared under it), this would fault

            var after = new ConcurrentBag<string>();
            using var late = Listen(after);
            late.RecordObservableInstruments();
            racing.RecordObservableInstruments();
            Assert.Empty(after);
        }
    }

    private sealed class FailingStart : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("the cache could not connect");

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    // Held: a host whose start fails part-way (another hosted service throws, registered before the SDK's, so the engine's
    // was never started, or after it) still drains and disposes the engine: by its StopAsync (StoppingAsync, StopAsync and
    // StoppedAsync reach every hosted service, started or not) or, without one, by the container; a send in flight is
    // recorded before either returns.
    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task AHostWhoseStartFailedPartWay_StillDrainsTheEngine(bool failingFirst, bool stopBeforeDispose)
    {
        var time = new FakeTimeProvider(Start);
        var store = new InMemoryOmnichannelStore();
        var transport = new GatedTransport();
        var builder = Host.CreateApplicationBuilder();
        if (failingFirst)
        {
            builder.Services.AddHostedService<FailingStart>();
        }

        AuditU58Tests.AddReceipts(builder.Services, time, store, transport);
        if (!failingFirst)
        {
            builder.Services.AddHostedService<FailingStart>();
        }

        var host = builder.Build();
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        var engine = host.Services.GetRequiredService<OmnichannelEngine>();
        await engine.TrackAsync(Event("e1", time.GetUtcNow()));
        await engine.SendAsync(Identifier.Email(Email), Receipt("order-1"));
        time.Advance(TimeSpan.FromSeconds(1));
        await transport.Started.Task.WaitAsync(Bound);

        var stopping = stopBeforeDispose ? host.StopAsync() : ((IAsyncDisposable)host).DisposeAsync().AsTask();
        Assert.False(stopping.IsCompleted);
        transport.Gate.SetResult();
        await stopping.WaitAsync(Bound);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.TrackAsync(Event("e2", time.GetUtcNow())));
        Assert.Single((await engine.GetProfileAsync(Identifier.Email(Email)))!.Timeline, t => t.Type == EventTypes.MessageSent);
        await ((IAsyncDisposable)host).DisposeAsync().AsTask().WaitAsync(Bound);
    }

    // Held: single events and batches racing the disposal from other threads. Every call either is answered Accepted, and
    // then its event is stored, or is refused with ObjectDisposedException having stored nothing; none hangs.
    [Fact]
    public async Task CallsRacingTheDisposal_AreStoredWhenAccepted_AndRefusedWholeOtherwise()
    {
        for (var round = 0; round < 10; round++)
        {
            var time = new FakeTimeProvider(Start);
            var store = new InMemoryOmnichannelStore();
            var options = new OmnichannelOptions { Partitions = 3, QueueCapacity = 4 };
            options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
            var engine = new OmnichannelEngine(options, store, time);
            CustomerEvent Of(string id) =>
                new() { Id = id, Type = "page.viewed", Timestamp = time.GetUtcNow(), Identifiers = [Identifier.Email($"{id}@example.com")] };
            using var go = new ManualResetEventSlim();
            var calls = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
            {
                go.Wait();
                var outcomes = new List<(string[] Ids, bool Accepted)>();
                for (var i = 0; i < 40; i++)
                {
                    var ids = i % 3 == 0 ? new[] { $"r{round}-t{t}-{i}-a", $"r{round}-t{t}-{i}-b" } : [$"r{round}-t{t}-{i}"];
                    try
                    {
                        var results = ids.Length == 1 ? [await engine.TrackAsync(Of(ids[0]))] : await engine.TrackBatchAsync(ids.Select(Of));
                        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
                        outcomes.Add((ids, true));
                    }
                    catch (ObjectDisposedException)
                    {
                        outcomes.Add((ids, false));
                    }
                }

                return outcomes;
            })).ToList();
            go.Set();
            await engine.DisposeAsync().AsTask().WaitAsync(Bound);
            foreach (var (ids, accepted) in (await Task.WhenAll(calls).WaitAsync(Bound)).SelectMany(o => o))
            {
                foreach (var id in ids)
                {
                    Assert.Equal(accepted, await store.IsEventProcessedAsync(id));
                }
            }
        }
    }
}
