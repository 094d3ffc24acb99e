using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Orleans;
using Orleans.Runtime;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// Audit U62: the Orleans cluster under failure (silos killed or stopped with events in their grains, calls that time
/// out after the work, a client used before its host started or across a silo's restart, wake-ups and sends of silos
/// that left), classes from dotnet/orleans reports, tried through <see cref="OmnichannelClusterClient"/>.
/// </summary>
public sealed class AuditU62Tests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(25);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));

    // dotnet/orleans#6977 (requests outstanding to a silo that goes are left to time out), #1552 (a failed call may have
    // run): a silo killed while
    // her events wait in its grains. Her single TrackAsync threw the transport's TimeoutException, although the interface
    // reports failures as results (IsTransient) and the same customer's batch answered StoreFailed, transient. Now both
    // answer StoreFailed, transient, with no personal data; sending again applies each event once.
    [Fact]
    public async Task AuditU62_ASiloKilledWithHerEventsInItsGrains_AnswersStoreFailedTransient_AndTheRetryAppliesEachOnce()
    {
        var store = new InMemoryOmnichannelStore();
        var hold = new HoldOnOneSilo();
        await using var cluster = await InProcessCluster.StartAsync(2, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.AddSingleton<IIncomingGrainCallFilter>(sp => new HoldOnOneSiloFilter(hold, sp.GetRequiredService<ILocalSiloDetails>()));
        }, responseTimeout: TimeSpan.FromSeconds(5));
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var people = Enumerable.Range(0, 20).Select(i => Identifier.Email($"u62-kill-{i}@example.com")).ToList();
        for (var i = 0; i < people.Count; i++)
        {
            Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event($"u62-kill-a{i}", EventTypes.ProductViewed, null, people[i]))).Status);
        }

        hold.Silo = cluster.SiloAddresses[1];
        var singles = Enumerable.Range(0, people.Count)
            .Select(i => events.Event($"u62-kill-b{i}", EventTypes.ProductViewed, null, people[i]))
            .ToList();
        var batch = Enumerable.Range(0, people.Count)
            .Select(i => events.Event($"u62-kill-c{i}", EventTypes.ProductViewed, null, people[i]))
            .ToList();
        var singleCalls = singles.Select(e => client.TrackAsync(e).AsTask()).ToList();
        var batchCall = client.TrackBatchAsync(batch);
        await hold.Started.Task.WaitAsync(Patience);
        await cluster.KillSiloAsync(cluster.SiloAddresses[1]);

        var results = (await Task.WhenAll(singleCalls).WaitAsync(Patience)).Concat(await batchCall.WaitAsync(Patience)).ToList();
        hold.Release.TrySetResult();
        Assert.All(results, r => Assert.True(r.Status == TrackStatus.Accepted || (r.Status == TrackStatus.StoreFailed && r.IsTransient), $"{r.EventId}: {r.Status}"));
        Assert.Contains(results, r => r.Status == TrackStatus.StoreFailed);
        Assert.All(results, r => Assert.DoesNotContain("@example.com", r.FailureReason ?? string.Empty, StringComparison.Ordinal));

        var again = singles.Concat(batch).Where(e => results.Single(r => r.EventId == e.Id).Status == TrackStatus.StoreFailed).ToList();
        Assert.All(await client.TrackBatchAsync(again).WaitAsync(Patience), r => Assert.Equal(TrackStatus.Accepted, r.Status));
        foreach (var person in people)
        {
            Assert.Equal(3, (await client.GetProfileAsync(person))!.Statistics.EventCount);
        }
    }

    // dotnet/orleans#5226 (the grain method finishes after the caller's timeout), #5284: the answer of a single event arrives after the client's
    // response timeout. It was a TimeoutException; now a transient StoreFailed, and the caller's retry with the same event
    // id is a Duplicate: counted once.
    [Fact]
    public async Task AuditU62_ASingleEventWhoseAnswerTimesOutAfterItWasApplied_IsStoreFailed_AndItsRetryADuplicate()
    {
        var store = new InMemoryOmnichannelStore();
        var late = new AnswerLate("u62-late-order");
        await using var cluster = await InProcessCluster.StartAsync(1, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.AddSingleton<IIncomingGrainCallFilter>(late);
        }, responseTimeout: TimeSpan.FromSeconds(3));
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var ann = Identifier.Email("u62-late@example.com");
        var order = new ClusterEvents(_time).Event("u62-late-order", EventTypes.OrderPlaced, new { order_id = "U62-1", total = 10, currency = "USD" }, ann);

        TrackResult first;
        try
        {
            first = await client.TrackAsync(order).AsTask().WaitAsync(Patience);
        }
        finally
        {
            late.Release.TrySetResult(); // else the cluster's disposal waits for the held answer
        }

        Assert.Equal((TrackStatus.StoreFailed, true), (first.Status, first.IsTransient));
        Assert.Contains(nameof(TimeoutException), first.FailureReason, StringComparison.Ordinal);
        Assert.Equal(TrackStatus.Duplicate, (await client.TrackAsync(order)).Status);
        Assert.Equal(1, (await client.GetProfileAsync(ann))!.Statistics.OrderCount);
    }

    // A grain call refused before it ran (dotnet/orleans#1552: a call fails with an exception other than a timeout; here one
    // quoting an address):
    // a single event is a result, transient, as in a batch, and its reason carries no personal data.
    [Fact]
    public async Task AuditU62_ASingleEventWhoseGrainCallFails_IsATransientResult_WithoutPersonalData()
    {
        var store = new InMemoryOmnichannelStore();
        var refuse = new RefuseOnce();
        await using var cluster = await InProcessCluster.StartAsync(1, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.AddSingleton<IIncomingGrainCallFilter>(refuse);
        });
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var bob = Identifier.Email("u62-refused@example.com");
        var e = new ClusterEvents(_time).Event("u62-refused", EventTypes.ProductViewed, null, bob);

        var first = await client.TrackAsync(e);

        Assert.Equal((TrackStatus.StoreFailed, true, "u62-refused"), (first.Status, first.IsTransient, first.EventId));
        Assert.Contains(nameof(InvalidOperationException), first.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain("u62-refused@example.com", first.FailureReason, StringComparison.Ordinal);
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(e)).Status);
        Assert.Equal(1, (await client.GetProfileAsync(bob))!.Statistics.EventCount);
    }

    // dotnet/orleans#8773, #8180, #8065 ("Could not find an implementation for interface", whose causes differ; one is a
    // cluster client that has not connected, which knows no silo's grains yet): an IOmnichannelClient resolved and used before its host started said that an internal grain
    // interface had no implementation, which reads as a missing package on the silos. It now says to start the host.
    [Fact]
    public async Task AuditU62_AClientUsedBeforeItsHostStarted_SaysToStartIt_NotThatAGrainIsMissing()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleansClient(c => c.UseLocalhostClustering(gatewayPort: 39_962));
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseOrleansClient();
        using var host = builder.Build();
        var client = host.Services.GetRequiredService<IOmnichannelClient>();
        var ann = Identifier.Email("u62-early@example.com");
        var e = new ClusterEvents(_time).Event("u62-early", EventTypes.ProductViewed, null, ann);

        var single = await Assert.ThrowsAsync<InvalidOperationException>(async () => await client.TrackAsync(e));
        var read = await Assert.ThrowsAsync<InvalidOperationException>(async () => await client.GetProfileAsync(ann));
        var batch = await client.TrackBatchAsync([e]);

        foreach (var message in new[] { single.Message, read.Message, batch[0].FailureReason! })
        {
            Assert.Contains("has not connected yet", message, StringComparison.Ordinal);
            Assert.Contains("host.StartAsync()", message, StringComparison.Ordinal);
            Assert.DoesNotContain("u62-early@example.com", message, StringComparison.Ordinal);
        }

        Assert.Equal((TrackStatus.StoreFailed, true), (batch[0].Status, batch[0].IsTransient));
    }

    /// <summary>
    /// Found in the forty-eighth session (the test below failed under load: calls of the batch reached the silo after it
    /// began stopping). A call refused unopened by a leaving silo (<see cref="OrleansMessageRejectionException"/>, or
    /// <see cref="SiloUnavailableException"/>) came back as a transient failure, which the caller had to send again, though
    /// the grain activates on a living silo at once (dotnet/orleans#4757: retrying those is safe for idempotent calls). The
    /// client now sends it again itself, three times at most; a fourth refusal is still the caller's transient result.
    /// </summary>
    [Theory]
    [InlineData(3, TrackStatus.Accepted)]
    [InlineData(4, TrackStatus.StoreFailed)]
    public async Task AuditU62_ACallRefusedByALeavingSilo_IsSentAgain_ThreeTimesAtMost(int refusals, TrackStatus expected)
    {
        var store = new InMemoryOmnichannelStore();
        var refuse = new RefuseAsLeaving(refusals);
        await using var cluster = await InProcessCluster.StartAsync(1, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.AddSingleton<IIncomingGrainCallFilter>(refuse);
        });
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var ann = Identifier.CustomerId("u62-leaving-ann");
        var bob = Identifier.CustomerId("u62-leaving-bob");

        var single = await client.TrackAsync(events.Event("u62-leaving-1", EventTypes.ProductViewed, null, ann));
        refuse.Reset();
        var batch = await client.TrackBatchAsync([events.Event("u62-leaving-2", EventTypes.ProductViewed, null, bob)]);

        Assert.Equal(expected, single.Status);
        Assert.Equal(expected, batch[0].Status);
        Assert.Equal(expected == TrackStatus.StoreFailed, single.IsTransient);
        Assert.Equal(expected == TrackStatus.Accepted ? 1 : 0, (await client.GetProfileAsync(ann))?.Statistics.EventCount ?? 0);
    }

    // Held. dotnet/orleans#457 (requests in flight when a silo shuts down gracefully): a silo stopped gracefully while her
    // events wait in its grains runs them before it leaves; each is applied once. A call the stopping silo loses (CI saw
    // one left unanswered past 25 s, once in many runs) answers StoreFailed, transient, at the response timeout: as the
    // interface says, the caller sends it again and it is still applied once.
    [Fact]
    public async Task AuditU62_ASiloStoppedGracefullyWithHerEventsInItsGrains_AppliesEachOnce()
    {
        var store = new InMemoryOmnichannelStore();
        var hold = new HoldOnOneSilo();
        var responseTimeout = TimeSpan.FromSeconds(15);
        await using var cluster = await InProcessCluster.StartAsync(2, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.AddSingleton<IIncomingGrainCallFilter>(sp => new HoldOnOneSiloFilter(hold, sp.GetRequiredService<ILocalSiloDetails>()));
        }, responseTimeout);
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var people = Enumerable.Range(0, 20).Select(i => Identifier.CustomerId($"u62-stop-{i}")).ToList();
        Assert.All(await client.TrackBatchAsync(people.Select((p, i) => events.Event($"u62-stop-a{i}", EventTypes.ProductViewed, null, p))), r => Assert.Equal(TrackStatus.Accepted, r.Status));

        hold.Silo = cluster.SiloAddresses[1];
        var second = people.Select((p, i) => events.Event($"u62-stop-b{i}", EventTypes.ProductViewed, null, p)).ToList();
        var third = people.Select((p, i) => events.Event($"u62-stop-c{i}", EventTypes.ProductViewed, null, p)).ToList();
        var singles = second.Select(e => client.TrackAsync(e).AsTask()).ToList();
        var batch = client.TrackBatchAsync(third);
        await hold.Started.Task.WaitAsync(Patience);
        var stop = cluster.StopSiloAsync(cluster.SiloAddresses[1]);
        hold.Release.TrySetResult();
        await stop.WaitAsync(Patience);

        var patience = Patience + responseTimeout;
        var results = (await Task.WhenAll(singles).WaitAsync(patience)).Concat(await batch.WaitAsync(patience)).ToList();
        var sent = second.Concat(third).ToList();
        Assert.All(results, r => Assert.True(r.Status == TrackStatus.Accepted || (r.Status == TrackStatus.StoreFailed && r.IsTransient), $"{r.EventId}: {r.Status}"));
        var again = sent.Where((_, i) => results[i].Status != TrackStatus.Accepted).ToList();
        if (again.Count > 0)
        {
            // Sent again as the failure says: applied once (Accepted if the lost call never ran, Duplicate if it had).
            Assert.All(await client.TrackBatchAsync(again).WaitAsync(patience), r => Assert.Contains(r.Status, new[] { TrackStatus.Accepted, TrackStatus.Duplicate }));
        }

        foreach (var person in people)
        {
            Assert.Equal(3, (await client.GetProfileAsync(person))!.Statistics.EventCount);
        }
    }

    // Held. dotnet/orleans#6746 (a cluster client's calls after a silo restarts): a client built before one silo is killed
    // and another joins keeps routing every customer, and her earlier events are all still there.
    [Fact]
    public async Task AuditU62_AClientBuiltBeforeASiloIsReplaced_KeepsWorking_AndLosesNothing()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(2, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var people = Enumerable.Range(0, 20).Select(i => Identifier.CustomerId($"u62-restart-{i}")).ToList();
        Assert.All(await client.TrackBatchAsync(people.Select((p, i) => events.Event($"u62-restart-a{i}", EventTypes.ProductViewed, null, p))), r => Assert.Equal(TrackStatus.Accepted, r.Status));

        await cluster.KillSiloAsync(cluster.SiloAddresses[1]);
        await cluster.StartSiloAsync();
        for (var i = 0; i < people.Count; i++)
        {
            Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event($"u62-restart-b{i}", EventTypes.ProductViewed, null, people[i]))).Status);
        }

        foreach (var person in people)
        {
            Assert.Equal(2, (await client.GetProfileAsync(person))!.Statistics.EventCount);
        }
    }

    // Held. dotnet/orleans#4128 (timers do not survive a graceful silo shutdown), #10154 (reminders of a silo that is
    // leaving): the silos
    // whose engines armed the customers' journey wake-ups are stopped gracefully (ClusterWakeUpTests kills them); the
    // survivor's sweep fires every wake-up and its dispatcher sends each reminder once.
    [Fact]
    public async Task AuditU62_WakeUpsOfSilosStoppedGracefully_FireOnTheSurvivor_AndEachMessageGoesOnce()
    {
        const string cartJourney = """
            [{"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
              "entry": {"correlationKey": "cart_id"},
              "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                        {"id": "reminder", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]}]
            """;
        var store = new InMemoryOmnichannelStore();
        var recorder = new RecordingTransport(ChannelNames.Email);
        const int customers = 24;
        var counted = new CountingTransport(recorder, customers);
        await using var cluster = await InProcessCluster.StartAsync(3, services =>
        {
            services.AddSingleton<TimeProvider>(_time);
            services.AddSingleton<IMessageRenderer>(new StubMessageRenderer());
            services.AddOmnichannel(o =>
            {
                o.Partitions = 2;
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
                o.Delivery.Retry!.Delay = TimeSpan.Zero;
            })
                .AddJourneysFromJson(cartJourney)
                .UseStore(_ => store)
                .AddTransport("recorder", ChannelNames.Email, _ => counted)
                .UseOrleans(o => o.Sweep = TimeSpan.FromSeconds(10));
        });
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        Assert.All(await client.TrackBatchAsync(Enumerable.Range(0, customers).Select(i =>
            events.Event($"u62-cart-{i}", EventTypes.CartItemAdded, new { cart_id = $"c{i}", product_id = "litter", price = 10 }, Identifier.Email($"u62-cart-{i}@example.com")))),
            r => Assert.Equal(TrackStatus.Accepted, r.Status));

        foreach (var silo in cluster.SiloAddresses.Skip(1).ToList())
        {
            await cluster.StopSiloAsync(silo);
        }

        _time.Advance(TimeSpan.FromHours(1));
        await counted.Reached.Task.WaitAsync(Patience); // the sends run on the silo's workers after the clock moves

        Assert.Equal(customers, recorder.Messages.Count);
        Assert.Empty(recorder.DuplicateMessageIds);
        Assert.Equal(customers, recorder.Messages.Cast<EmailMessage>().Select(m => m.To).Distinct().Count());
        Assert.Empty(await store.GetDueProfilesAsync(_time.GetUtcNow(), 10));
    }

    private static bool IsTrack(IIncomingGrainCallContext context) => context.InterfaceMethod?.Name == "TrackAsync";

    private sealed class HoldOnOneSilo
    {
        public volatile SiloAddress? Silo;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Holds every track call that reaches the chosen silo, before its grain runs it, until released.</summary>
    private sealed class HoldOnOneSiloFilter(HoldOnOneSilo hold, ILocalSiloDetails silo) : IIncomingGrainCallFilter
    {
        public async Task Invoke(IIncomingGrainCallContext context)
        {
            if (IsTrack(context) && silo.SiloAddress.Equals(hold.Silo))
            {
                hold.Started.TrySetResult();
                await hold.Release.Task;
            }

            await context.Invoke();
        }
    }

    /// <summary>Runs the marked event's call, then holds its answer until released (past the caller's response timeout).</summary>
    private sealed class AnswerLate(string marker) : IIncomingGrainCallFilter
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            await context.Invoke();
            if (IsTrack(context) && context.Request.GetArgument(0) is string[] events && events.Any(e => e.Contains(marker, StringComparison.Ordinal)))
            {
                await Release.Task;
            }
        }
    }

    /// <summary>Refuses the first <paramref name="times"/> track calls as a stopping silo does, unopened.</summary>
    private sealed class RefuseAsLeaving(int times) : IIncomingGrainCallFilter
    {
        private int _refused;

        public void Reset() => Interlocked.Exchange(ref _refused, 0);

        public Task Invoke(IIncomingGrainCallContext context) =>
            IsTrack(context) && Interlocked.Increment(ref _refused) <= times
                ? throw new SiloUnavailableException("The silo is shutting down.")
                : context.Invoke();
    }

    /// <summary>Refuses the first track call with an exception whose text quotes the customer's address.</summary>
    private sealed class RefuseOnce : IIncomingGrainCallFilter
    {
        private int _refused;

        public Task Invoke(IIncomingGrainCallContext context) =>
            IsTrack(context) && Interlocked.Exchange(ref _refused, 1) == 0
                ? throw new InvalidOperationException("Refused the call for u62-refused@example.com.")
                : context.Invoke();
    }

    // Hands each message to the recorder and says when it holds the expected number (no polling).
    private sealed class CountingTransport(RecordingTransport recorder, int expected) : IChannelTransport
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Channel => recorder.Channel;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var result = await recorder.SendAsync(message, cancellationToken);
            if (recorder.Messages.Count >= expected)
            {
                Reached.TrySetResult();
            }

            return result;
        }
    }
}
