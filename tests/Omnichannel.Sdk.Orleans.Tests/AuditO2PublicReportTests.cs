using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;
using Orleans;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// Audit O2: bug classes from public reports of Orleans and other actor frameworks (retries after a timeout, cancelled
/// calls, oversized messages, deactivation, duplicate activations, erased customers), tried on the cluster client.
/// </summary>
public sealed class AuditO2PublicReportTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 4, 1, 9, 0, 0, TimeSpan.Zero));

    // dotnet/orleans#5226, #5284: a call that times out may still have run; the caller retries. Here the grain applies
    // her event and the answer is lost; the whole batch is sent again: every event is applied once.
    [Fact]
    public async Task AuditO2_ABatchWhoseAnswerWasLostAfterApplying_IsRetriedWhole_AndEachEventIsAppliedOnce()
    {
        var store = new InMemoryOmnichannelStore();
        var lose = new LoseTheFirstAnswer("o2-lost-bob");
        await using var cluster = await InProcessCluster.StartAsync(2, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.AddSingleton<IIncomingGrainCallFilter>(lose);
        });
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var batch = new[]
        {
            events.Event("o2-lost-ann", EventTypes.OrderPlaced, new { order_id = "A-1", total = 10, currency = "USD" }, Identifier.CustomerId("ann")),
            events.Event("o2-lost-bob", EventTypes.OrderPlaced, new { order_id = "B-1", total = 20, currency = "USD" }, Identifier.CustomerId("bob")),
            events.Event("o2-lost-bob-2", EventTypes.ProductViewed, null, Identifier.CustomerId("bob")),
        };

        var first = await client.TrackBatchAsync(batch);
        Assert.Equal([TrackStatus.Accepted, TrackStatus.StoreFailed, TrackStatus.StoreFailed], first.Select(r => r.Status));
        Assert.All(first.Skip(1), r => Assert.True(r.IsTransient));

        var again = await client.TrackBatchAsync(batch);
        Assert.Equal([TrackStatus.Duplicate, TrackStatus.Duplicate, TrackStatus.Duplicate], again.Select(r => r.Status));
        var bob = await client.GetProfileAsync(Identifier.CustomerId("bob"));
        Assert.NotNull(bob);
        Assert.Equal(1, bob.Statistics.OrderCount);
        Assert.Equal(2, bob.Statistics.EventCount);
    }

    // dotnet/orleans#9877 and Orleans' cancellation docs: cancelling a call abandons the caller's wait, not the work. A
    // token cancelled while her grain runs the event used to throw OperationCanceledException although the event was
    // applied. As on one engine (audit U29), an event already sent is awaited and reported: the caller learns it was
    // accepted, and a retry is a duplicate, never a second application.
    [Fact]
    public async Task AuditO2_ACallCancelledWhileHerGrainRunsIt_ReportsItsResultAndItsRetryIsADuplicate()
    {
        var store = new InMemoryOmnichannelStore();
        var hold = new HoldTheFirstCall("o2-held");
        await using var cluster = await InProcessCluster.StartAsync(1, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.AddSingleton<IIncomingGrainCallFilter>(hold);
        });
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var e = new ClusterEvents(_time).Event("o2-held", EventTypes.OrderPlaced, new { order_id = "H-1", total = 10, currency = "USD" }, Identifier.CustomerId("held"));

        using var cancel = new CancellationTokenSource();
        var call = client.TrackAsync(e, cancel.Token).AsTask();
        await hold.Started.WaitAsync(TimeSpan.FromMinutes(1));
        await cancel.CancelAsync();
        Assert.False(call.IsCompleted);

        var retry = client.TrackAsync(e).AsTask();
        hold.Release();
        Assert.Equal(TrackStatus.Accepted, (await call).Status);
        Assert.Equal(TrackStatus.Duplicate, (await retry).Status);
        Assert.Equal(1, (await client.GetProfileAsync(Identifier.CustomerId("held")))!.Statistics.OrderCount);
    }

    // As AuditOrl's writes (dotnet/orleans#9877: a cancelled call whose work still runs): an erasure, or its lifting,
    // whose token is cancelled before the call was made on the cluster while the caller saw OperationCanceledException
    // (a request recorded as failed that had in fact erased her). Cancelled now means not made.
    [Fact]
    public async Task AuditO2_ErasureAndItsLifting_WithATokenCancelledBeforeTheCall_AreNotMade()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(1, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var ann = Identifier.Email("o2-erase@example.com");
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event("o2-erase-1", EventTypes.ProductViewed, null, ann))).Status);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.EraseProfileAsync(ann, cancelled.Token));
        Assert.NotNull(await client.GetProfileAsync(ann));
        Assert.True(await client.EraseProfileAsync(ann));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.LiftErasureAsync(ann, cancelled.Token));
        Assert.Equal(TrackStatus.Erased, (await client.TrackAsync(events.Event("o2-erase-2", EventTypes.ProductViewed, null, ann))).Status);
        Assert.True(await client.LiftErasureAsync(ann));
    }

    // dotnet/orleans#7655 and PR #5908 (MaxMessageBodySize), #1481 (large messages): one customer's batch was one grain
    // call, so a batch larger than Orleans' message limit failed whole, and again on every retry (the size is the batch's).
    [Fact]
    public async Task AuditO2_OneCustomersBatch_LargerThanOrleansMessageLimit_IsAppliedInOrder()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(1, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.Configure<global::Orleans.Configuration.SiloMessagingOptions>(o => o.MaxMessageBodySize = 1024 * 1024);
        });
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var note = new string('x', 24 * 1024);
        var batch = Enumerable.Range(0, 120)
            .Select(i => events.Event($"o2-big-{i:D3}", EventTypes.ProductViewed, new { product_id = $"p-{i:D3}", note }, Identifier.CustomerId("big")))
            .ToList();

        var results = await client.TrackBatchAsync(batch);

        Assert.Equal(batch.Select(e => e.Id), results.Select(r => r.EventId));
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        var big = await client.GetProfileAsync(Identifier.CustomerId("big"));
        Assert.Equal(120, big!.Statistics.EventCount);
    }

    // dotnet/orleans#7637, #10045 (a grain deactivating with messages queued): her grain holds nothing of her own, so
    // deactivating every grain between two of her events loses nothing.
    [Fact]
    public async Task AuditO2_HerGrainDeactivatedBetweenTwoEvents_LosesNothing()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(2, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var cart = Identifier.CustomerId("deact");

        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event("o2-deact-1", EventTypes.CartItemAdded, new { product_id = "bowl", quantity = 1, price = 10, currency = "USD" }, cart))).Status);
        await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event("o2-deact-2", EventTypes.CartItemAdded, new { product_id = "cup", quantity = 2, price = 5, currency = "USD" }, cart))).Status);
        Assert.Equal(TrackStatus.Duplicate, (await client.TrackAsync(events.Event("o2-deact-1", EventTypes.CartItemAdded, new { product_id = "bowl", quantity = 1, price = 10, currency = "USD" }, cart))).Status);

        var profile = await client.GetProfileAsync(cart);
        Assert.Equal(["bowl", "cup"], profile!.Cart.Select(l => l.ProductId));
        Assert.Equal(2, profile.Statistics.EventCount);
    }

    // asynkron/protoactor-go#799, protoactor-dotnet#558 (one identity activated on two nodes during a topology change,
    // each overwriting the other's state): two silos' engines apply one customer's events at once, as two activations
    // of her grain would; the store's version check keeps every update.
    [Fact]
    public async Task AuditO2_TwoSilosApplyingOneCustomersEventsAtOnce_LoseNoUpdate()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(2, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var twin = Identifier.CustomerId("twin");

        await Task.WhenAll(cluster.Engines.Select((engine, s) => Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                var r = await engine.TrackAsync(events.Event($"o2-twin-{s}-{i}", EventTypes.ProductViewed, new { product_id = $"p{s}-{i}" }, twin));
                Assert.Equal(TrackStatus.Accepted, r.Status);
            }
        })));

        var profile = await client.GetProfileAsync(twin);
        Assert.Equal(40, profile!.Statistics.EventCount);
    }

    // Dapr's and Orleans' duplicate deliveries across two actors (dapr/dapr#8595: a call retried by the runtime): one
    // batch carrying the same event id twice, under two unrelated customers (two grains, possibly two silos, in parallel).
    // One engine applies it once; so must the cluster.
    [Fact]
    public async Task AuditO2_TheSameEventIdTwiceInOneBatch_UnderTwoGrains_IsAppliedOnce_AsOnOneEngine()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(2, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient viaCluster = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        await using var engine = new OmnichannelEngine(ClusterSetup.Options(), new InMemoryOmnichannelStore(), _time);

        Assert.Equal(await SameIdTwiceAsync(engine), await SameIdTwiceAsync(viaCluster));
    }

    private async Task<List<string>> SameIdTwiceAsync(IOmnichannelClient client)
    {
        var events = new ClusterEvents(_time);
        var results = await client.TrackBatchAsync(
        [
            events.Event("o2-same", EventTypes.ProductViewed, null, Identifier.CustomerId("same-1")),
            events.Event("o2-same", EventTypes.ProductViewed, null, Identifier.CustomerId("same-2")),
        ]);
        var applied = 0;
        foreach (var id in new[] { "same-1", "same-2" })
        {
            applied += (int)((await client.GetProfileAsync(Identifier.CustomerId(id)))?.Statistics.EventCount ?? 0);
        }

        return [.. results.Select(r => r.Status.ToString()).Order(StringComparer.Ordinal), "applied " + applied];
    }

    // Akka.NET sharding hand-off losing messages to a stopping entity (akkadotnet/akka.net#8501) and Orleans' stale
    // activations: an erasure served by another silo while her grain's silo holds her hot; her next events are refused
    // as on one engine, whichever silo applies them.
    [Fact]
    public async Task AuditO2_EventsForACustomerErasedWhileHerGrainIsHot_AreRefused_AsOnOneEngine()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(2, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient viaCluster = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        await using var engine = new OmnichannelEngine(ClusterSetup.Options(), new InMemoryOmnichannelStore(), _time);

        Assert.Equal(await ErasedAsync(engine), await ErasedAsync(viaCluster));
    }

    private async Task<List<string>> ErasedAsync(IOmnichannelClient client)
    {
        var events = new ClusterEvents(_time);
        var email = Identifier.Email("o2-gone@example.com");
        var id = Identifier.CustomerId("o2-gone");
        var outcomes = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            outcomes.Add((await client.TrackAsync(events.Event($"o2-gone-{i}", EventTypes.ProductViewed, null, id, email))).Status.ToString());
        }

        outcomes.Add("erased " + await client.EraseProfileAsync(email));
        outcomes.Add((await client.TrackAsync(events.Event("o2-gone-after", EventTypes.ProductViewed, null, id))).Status.ToString());
        outcomes.AddRange((await client.TrackBatchAsync(
        [
            events.Event("o2-gone-0", EventTypes.ProductViewed, null, id, email),
            events.Event("o2-gone-new", EventTypes.ProductViewed, null, email),
        ])).Select(r => r.Status.ToString()));
        outcomes.Add("profile " + (await client.GetProfileAsync(id) is not null) + " " + (await client.GetProfileAsync(email) is not null));
        return outcomes;
    }

    private static string[]? TrackedEvents(IIncomingGrainCallContext context) =>
        context.InterfaceMethod?.Name == "TrackAsync" && context.Request.GetArgumentCount() == 1 ? context.Request.GetArgument(0) as string[] : null;

    /// <summary>Lets the first call carrying a marked event run, then loses its answer (a timeout after the work).</summary>
    private sealed class LoseTheFirstAnswer(string marker) : IIncomingGrainCallFilter
    {
        private int _lost;

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            await context.Invoke();
            if (TrackedEvents(context)?.Any(e => e.Contains(marker, StringComparison.Ordinal)) == true && Interlocked.Exchange(ref _lost, 1) == 0)
            {
                throw new TimeoutException("The answer did not arrive in time.");
            }
        }
    }

    /// <summary>Holds the first call carrying a marked event inside its grain's turn until released.</summary>
    private sealed class HoldTheFirstCall(string marker) : IIncomingGrainCallFilter
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _held;

        public Task Started => _started.Task;

        public void Release() => _release.TrySetResult();

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            if (TrackedEvents(context)?.Any(e => e.Contains(marker, StringComparison.Ordinal)) == true && Interlocked.Exchange(ref _held, 1) == 0)
            {
                _started.TrySetResult();
                await _release.Task;
            }

            await context.Invoke();
        }
    }
}
