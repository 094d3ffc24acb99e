using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Orleans;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// Run-time definition changes on a cluster, tried the way users and auditors would: hostile input, cancelled tokens,
/// concurrent clients, a registry that lost a change. The single-process engine is the contract: for each case the
/// cluster must answer as one engine does.
/// </summary>
public sealed class ClusterDefinitionAdversarialTests
{
    private static readonly SegmentDefinition Buyers = Segment.Define("buyers", "Bought anything").Where(r => r.Event(EventTypes.OrderPlaced).Count(c => c.Gte(1)));

    private static readonly SegmentDefinition BigSpenders = Segment.Define("big", "Spent 20 or more").Where(r => r.Stat(ProfileStatisticNames.TotalSpent).Gte(20));

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 2, 9, 0, 0, TimeSpan.Zero));
    private readonly InMemoryOmnichannelStore _store = new();

    /// <summary>
    /// Definitions the engine refuses must be refused by the cluster with the same exception type, and definitions it
    /// accepts must be in force on every silo exactly as on the engine (no silent rewrite through the JSON form).
    /// </summary>
    [Fact]
    public async Task HostileSegments_AreAnsweredAsOneEngineAnswers()
    {
        SegmentRule deep = new StatisticRule(ProfileStatisticNames.OrderCount, new Condition(ConditionOperator.Gte, 1));
        for (var i = 0; i < 40; i++)
        {
            deep = new NotRule(deep);
        }

        var cases = new (string Case, SegmentDefinition Segment)[]
        {
            // One engine: SegmentDefinitionException at the depth; the cluster client threw ArgumentException from SegmentJson.Serialize.
            ("a rule nested 41 levels deep", new SegmentDefinition("deep", "Deep", deep)),

            // One engine: refused ("is null"); the JSON form writes {"all": []}, which every silo accepted as "every profile".
            ("an 'all' with a null list", new SegmentDefinition("everyone", "Null list", new AllRule(null!))),

            // One engine: accepts an open-ended fixed window; the JSON form writes [from, null], which the reader refuses.
            ("a fixed window with no end", new SegmentDefinition("since-epoch", "From only", new EventRule(EventTypes.OrderPlaced) { Window = new TimeWindow { From = DateTimeOffset.UnixEpoch } })),

            ("a valid segment", BigSpenders),
        };

        await using var cluster = await StartAsync();
        var client = Client(cluster);
        var mismatches = new List<string>();
        foreach (var (name, segment) in cases)
        {
            string single, clustered;
            await using (var host = OmnichannelTestHost.Create(o => o.Segments.Add(Buyers)))
            {
                single = await OutcomeAsync(async () => await host.Engine.UpsertSegmentAsync(segment), () => host.Engine.Segments);
            }

            clustered = await OutcomeAsync(async () => await client.UpsertSegmentAsync(segment), () => cluster.Engines[0].Segments);
            foreach (var engine in cluster.Engines)
            {
                if (segment.Id is not null && engine.Segments.Any(s => s.Id == segment.Id) != single.StartsWith("ok", StringComparison.Ordinal))
                {
                    clustered += " (and a silo disagrees)";
                }
            }

            if (single != clustered)
            {
                mismatches.Add($"{name}: one engine {single}; cluster {clustered}");
            }
        }

        Assert.Empty(mismatches);
    }

    /// <summary>
    /// Audit U29: a token already cancelled makes no change, on one engine and on the cluster alike (the cluster used to
    /// make it, as one engine then did). Before audit U29's rule the cluster call went out, every silo removed the
    /// segment, and the caller got OperationCanceledException; now nothing leaves the client.
    /// </summary>
    [Fact]
    public async Task ACancelledToken_MakesNoChange_OnOneEngineOrOnTheCluster()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await using (var host = OmnichannelTestHost.Create(o => o.Segments.Add(Buyers)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await host.Engine.RemoveSegmentAsync("buyers", cancelled.Token));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await host.Engine.UpsertSegmentAsync(BigSpenders, cancellationToken: cancelled.Token));
            Assert.Equal(["buyers"], host.Engine.Segments.Select(s => s.Id));
        }

        await using var cluster = await StartAsync();
        var client = Client(cluster);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.RemoveSegmentAsync("buyers", cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.UpsertSegmentAsync(BigSpenders, cancellationToken: cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.RemoveJourneyAsync("none", cancelled.Token));
        Assert.Contains("buyers", client.Segments.Select(s => s.Id));
        Assert.DoesNotContain("big", client.Segments.Select(s => s.Id));
        Assert.All(cluster.Engines, e => Assert.Contains("buyers", e.Segments.Select(s => s.Id)));
        Assert.All(cluster.Engines, e => Assert.DoesNotContain("big", e.Segments.Select(s => s.Id)));

        // Unchanged, the same calls go through.
        Assert.True(await client.RemoveSegmentAsync("buyers"));
        Assert.All(cluster.Engines, e => Assert.DoesNotContain("buyers", e.Segments.Select(s => s.Id)));
    }

    /// <summary>
    /// Journey 'welcome' starts when a profile enters segment 'buyers'. Before the fixes, removing 'buyers' was accepted
    /// (by one engine too), after which removing an unrelated journey failed on one engine (its catalog no longer built),
    /// while on the cluster the registry's check skipped that step: it numbered the change and answered true, every silo
    /// then refused to apply it (an error in the log) and the journey stayed loaded everywhere. Now the segment removal
    /// is refused on both, and removing a journey is checked as it is applied; whatever the sequence, both answer alike.
    /// </summary>
    [Fact]
    public async Task RemovingAJourney_ThatOneEngineRefuses_IsRefusedByTheCluster()
    {
        var welcome = Journey.Define("welcome", "Welcome").TriggeredBy(t => t.SegmentEntered("buyers"))
            .Steps(s => s.Send("hello", [ChannelNames.Email], template: "hello", @class: MessageClass.Transactional)).Build();
        var other = Journey.Define("other", "Other").TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
            .Steps(s => s.Send("hello", [ChannelNames.Email], template: "hello", @class: MessageClass.Transactional)).Build();

        string single;
        await using (var host = OmnichannelTestHost.Create(o => o.Segments.Add(Buyers)))
        {
            await host.Engine.PublishJourneyAsync(welcome);
            await host.Engine.PublishJourneyAsync(other);
            single = await OutcomeAsync(async () => { await host.Engine.RemoveSegmentAsync("buyers"); await host.Engine.RemoveJourneyAsync("other"); }, () => []);
            single += " journeys=" + string.Join(",", host.Engine.Journeys.Select(j => j.Id));
        }

        await using var cluster = await StartAsync();
        var client = Client(cluster);
        await client.PublishJourneyAsync(welcome);
        await client.PublishJourneyAsync(other);
        var clustered = await OutcomeAsync(async () => { await client.RemoveSegmentAsync("buyers"); await client.RemoveJourneyAsync("other"); }, () => []);
        foreach (var engine in cluster.Engines)
        {
            clustered += " journeys=" + string.Join(",", engine.Journeys.Select(j => j.Id));
        }

        Assert.StartsWith(single, clustered, StringComparison.Ordinal);
        Assert.All(cluster.Engines, e => Assert.Equal(["other", "welcome"], e.Journeys.Select(j => j.Id).Order()));
    }

    /// <summary>
    /// One client sends many changes of one segment at once. The registry numbers them in one order; the client must list
    /// the version the silos hold (the last one numbered), not the last answer that happened to arrive.
    /// </summary>
    [Fact]
    public async Task ConcurrentChangesFromOneClient_ItsSegmentsShowWhatTheSilosHold()
    {
        await using var cluster = await StartAsync();
        var client = Client(cluster);
        for (var round = 0; round < 4; round++)
        {
            await Task.WhenAll(Enumerable.Range(1, 25).Select(i => Task.Run(async () =>
                await client.UpsertSegmentAsync(Segment.Define("big", $"Spent {i} or more").Where(r => r.Stat(ProfileStatisticNames.TotalSpent).Gte(i))))));

            // What each silo applied, so that a failure says which side is behind (a push that timed out, or the client's view).
            var state = string.Join("; ", cluster.SiloServices.Select(s => $"silo at {s.GetRequiredService<Implementation.ClusterDefinitions>().Applied}: '{s.GetRequiredService<OmnichannelEngine>().Segments.Single(x => x.Id == "big").Name}'"));
            var onSilos = cluster.Engines.Select(e => e.Segments.Single(s => s.Id == "big").Name).Distinct().ToList();
            Assert.True(onSilos.Count == 1, $"round {round}: {state}");
            var listed = client.Segments.Single(s => s.Id == "big").Name;
            Assert.True(onSilos[0] == listed, $"round {round}: the client lists '{listed}'; {state}");
        }
    }

    /// <summary>
    /// Every change pushed the registry's whole log to every silo: traffic grows with the square of the number of changes,
    /// and once the log outgrows Orleans' message limit (<c>MaxMessageBodySize</c>, 100 MB by default; the runtime closes
    /// the connection) no push gets through, and a new registry activation cannot read any silo's log. Here the limit is
    /// 200 KB and each definition about 60 KB: the fourth change did not reach the other silos.
    /// </summary>
    [Fact]
    public async Task ALongLogOfLargeDefinitions_StillReachesEverySilo()
    {
        await using var cluster = await StartAsync(services => services.Configure<global::Orleans.Configuration.SiloMessagingOptions>(o => o.MaxMessageBodySize = 200_000));
        var client = Client(cluster);
        for (var i = 1; i <= 6; i++)
        {
            var codes = Enumerable.Range(0, 4_000).Select(k => (JsonNode?)JsonValue.Create($"code-{k:D6}")).ToArray();
            var large = Segment.Define("large", $"Large {i}").Where(r => r.Trait("code").In(codes));
            await client.UpsertSegmentAsync(large);
            Assert.All(cluster.Engines, e => Assert.Equal($"Large {i}", e.Segments.Single(s => s.Id == "large").Name));
        }

        // The registry's next activation reads the log from a living silo, and a joining silo reads it too, both in pages.
        var registry = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(cluster.Client.GetGrain<Implementation.IDefinitionsGrain>(0));
        Assert.NotNull(registry);
        await cluster.KillSiloAsync(registry);
        Assert.True(await client.RemoveSegmentAsync("buyers"));
        var joined = await cluster.StartSiloAsync();
        var definitions = joined.GetRequiredService<Implementation.ClusterDefinitions>();
        await definitions.WhenReady.WaitAsync(InProcessCluster.JoinPatience);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), definitions.Log.Select(c => c.Sequence));
        Assert.All(cluster.Engines, e => Assert.Equal(["large"], e.Segments.Select(s => s.Id)));
        Assert.All(cluster.Engines, e => Assert.Equal("Large 6", e.Segments.Single().Name));
    }

    /// <summary>
    /// A journey starts when a profile enters 'buyers'. One engine (and so the cluster) accepted removing 'buyers', which
    /// left a definition set that no longer builds: every later journey change was refused with an error about the
    /// untouched journey, until the segment was added back. The removal must be refused, on both, as removing a segment
    /// another segment uses is.
    /// </summary>
    [Fact]
    public async Task RemovingASegmentAJourneyStartsOn_IsRefused_OnOneEngineAndOnTheCluster()
    {
        var welcome = Journey.Define("welcome", "Welcome").TriggeredBy(t => t.SegmentEntered("buyers"))
            .Steps(s => s.Send("hello", [ChannelNames.Email], template: "hello", @class: MessageClass.Transactional)).Build();

        await using (var host = OmnichannelTestHost.Create(o => o.Segments.Add(Buyers)))
        {
            await host.Engine.PublishJourneyAsync(welcome);
            var refused = await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await host.Engine.RemoveSegmentAsync("buyers"));
            Assert.Contains(refused.Errors, e => e.Message.Contains("welcome", StringComparison.Ordinal));
            Assert.Contains("buyers", host.Engine.Segments.Select(s => s.Id));
        }

        await using var cluster = await StartAsync();
        var client = Client(cluster);
        await client.PublishJourneyAsync(welcome);
        await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await client.RemoveSegmentAsync("buyers"));
        Assert.All(cluster.Engines, e => Assert.Contains("buyers", e.Segments.Select(s => s.Id)));
        Assert.Contains("buyers", client.Segments.Select(s => s.Id));
    }

    /// <summary>
    /// A silo dies (killed, not yet declared dead). Changes from several clients queue on the registry, one at a time; each
    /// waits for its pushes. None may run into Orleans' 30 s response timeout (the caller would see a failure for a change
    /// that is then made anyway).
    /// </summary>
    [Fact]
    public async Task ChangesFromSeveralClients_RightAfterASiloDies_AllAnswerInTime()
    {
        await using var cluster = await StartAsync();
        var clients = Enumerable.Range(0, 4).Select(_ => Client(cluster)).ToList();
        await clients[0].UpsertSegmentAsync(BigSpenders);
        var registry = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(cluster.Client.GetGrain<Implementation.IDefinitionsGrain>(0));
        await cluster.KillSiloAsync(cluster.SiloAddresses.First(a => !a.Equals(registry)));

        var started = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(clients.Select((c, i) => c.UpsertSegmentAsync(Segment.Define($"s{i}", $"S{i}").Where(r => r.Stat(ProfileStatisticNames.OrderCount).Gte(i))).AsTask()));
        var elapsed = started.Elapsed;
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"took {elapsed}");

        // Every change is in force on the living silos once each has run what its sweep runs (CI once saw a silo the
        // registry's pushes had not reached, on a loaded machine: a silo given up on catches up there, by design).
        var pushed = string.Join("; ", cluster.SiloServices.Select(s => $"silo at {s.GetRequiredService<Implementation.ClusterDefinitions>().Applied}"));
        foreach (var silo in cluster.SiloServices)
        {
            await silo.GetRequiredService<Implementation.ClusterDefinitions>().CatchUpFromClusterAsync();
        }

        Assert.All(cluster.Engines, e => Assert.True(e.Segments.Count == 6, $"{e.Segments.Count} segments; after the pushes: {pushed}"));
    }

    /// <summary>
    /// On one engine the token given to an upsert cancels its backfill. On the cluster it only stopped the client from
    /// following the backfill: the work ran on to the end on the registry's silo (and its entry was never forgotten).
    /// </summary>
    [Fact]
    public async Task ACancelledToken_CancelsTheBackgroundWork_NotOnlyItsFollowing()
    {
        await using var cluster = await StartAsync();
        var client = Client(cluster);
        // Enough profiles that the cancellation reaches the registry before the backfill could finish: runs of profile
        // work made a backfill of 1,000 fast enough to end first now and then.
        const int customers = 4000;
        var events = new ClusterEvents(_time);
        var orders = await client.TrackBatchAsync(Enumerable.Range(0, customers).Select(i =>
            events.Event($"order-{i}", EventTypes.OrderPlaced, new { order_id = $"o{i}", total = i, currency = "GBP" }, Identifier.CustomerId($"c{i}"))));
        Assert.All(orders, r => Assert.Equal(TrackStatus.Accepted, r.Status));

        // Cancelled while the change is being made (a token already cancelled makes no change: audit U29): the change is
        // made, and the token reaches its backfill as soon as the client learns the work's number.
        using var cancelled = new CancellationTokenSource();
        var pending = client.UpsertSegmentAsync(BigSpenders, cancellationToken: cancelled.Token);
        await cancelled.CancelAsync();
        var backfill = await pending;
        Assert.Contains("big", client.Segments.Select(s => s.Id));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => backfill.Completion.WaitAsync(TimeSpan.FromMinutes(1)));

        // The registry's own account of the work (the first operation of its activation).
        var work = await cluster.Client.GetGrain<Implementation.IDefinitionsGrain>(0).WaitAsync(1, TimeSpan.FromMinutes(1));
        Assert.True(work.Completed);
        Assert.True(work.Processed < customers, $"the backfill ran on to the end ({work.Processed} profiles)");
    }

    /// <summary>
    /// A silo holds a change the registry lost (it reached that silo alone before the registry's silo died, and the new
    /// activation could not reach the silo). Before numbering the next change the registry hears from every silo and
    /// takes that change first, so no number is given to two changes and every silo ends with one set.
    /// </summary>
    [Fact]
    public async Task ASiloHoldingAChangeTheRegistryLost_DoesNotDivergeSilently()
    {
        await using var cluster = await StartAsync();
        var client = Client(cluster);
        await (await client.UpsertSegmentAsync(BigSpenders)).Completion.WaitAsync(TimeSpan.FromMinutes(1));
        var registry = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(cluster.Client.GetGrain<Implementation.IDefinitionsGrain>(0));
        var index = cluster.SiloAddresses.ToList().FindIndex(a => !a.Equals(registry));
        var lonely = cluster.SiloServices[index].GetRequiredService<Implementation.ClusterDefinitions>();

        // The state the design allows: this silo applied change 2, the registry's log ends at 1.
        var ghost = Segment.Define("ghost", "Lost change").Where(r => r.Stat(ProfileStatisticNames.OrderCount).Gte(5));
        lonely.CatchUp([new Implementation.DefinitionChange(2, Implementation.DefinitionChangeKind.UpsertSegment, "ghost", SegmentJson.Serialize(ghost))]);

        await (await client.UpsertSegmentAsync(Segment.Define("real", "Numbered 2 by the registry").Where(r => r.Stat(ProfileStatisticNames.OrderCount).Gte(2)))).Completion.WaitAsync(TimeSpan.FromMinutes(1));

        var sets = cluster.Engines.Select(e => string.Join(",", e.Segments.Select(s => s.Id).Order())).Distinct().ToList();
        Assert.Single(sets);
    }

    /// <summary>
    /// Another client changed the definitions: a process that only sends lists the cluster's segments, as one engine
    /// lists its own, not only its start-up options and its own changes.
    /// </summary>
    [Fact]
    public async Task AClientOnlyProcess_SeesChangesMadeByAnotherClient()
    {
        await using var cluster = await StartAsync();
        var first = Client(cluster);
        var second = Client(cluster);
        await (await first.UpsertSegmentAsync(BigSpenders)).Completion.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(await first.RemoveSegmentAsync("buyers"));

        // A read asks the registry once its last answer is a second old and waits at most 5 s for it, so what a read at
        // an arbitrary moment shows is timing; the registry's answer, folded over the start-up options, is not.
        await second.RefreshDefinitionsAsync();

        Assert.Equal(["big"], second.Segments.Select(s => s.Id));
    }

    private static async Task<string> OutcomeAsync(Func<Task> change, Func<IReadOnlyList<SegmentDefinition>> segments)
    {
        try
        {
            await change();
            return "ok";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }

    /// <summary>
    /// CI saw a just-started cluster refuse its first change for a minute: the registry could not reach one silo that
    /// membership listed as active, and it waited for an answer the silo never gave. Here no silo can reach another's
    /// per-silo grain at all; every silo asked the registry at start, which is as good as an answer, so the change goes
    /// through at once, and the silos it could not push to take it when they next ask (their sweep).
    /// </summary>
    [Fact]
    public async Task SilosTheRegistryCannotReach_ButThatAskedIt_DoNotHoldChangesBack()
    {
        await using var cluster = await StartAsync(after: services => services.AddPlacementDirector<Implementation.SiloKeyPlacement, OnlyLocalSiloPlacement>());
        await Task.WhenAll(cluster.SiloServices.Select(s => s.GetRequiredService<Implementation.ClusterDefinitions>().WhenReady));
        var client = Client(cluster);

        // Refused before ("silo … has not answered"), after the client had asked again for a minute.
        await (await client.UpsertSegmentAsync(BigSpenders)).Completion.WaitAsync(TimeSpan.FromMinutes(1));

        // What each silo's sweep runs (DueWorkSweep), called here rather than waited for: the silos the push could not
        // reach take the change from the registry.
        foreach (var silo in cluster.SiloServices)
        {
            await silo.GetRequiredService<Implementation.ClusterDefinitions>().CatchUpFromClusterAsync();
        }

        Assert.All(cluster.Engines, engine => Assert.Contains("big", engine.Segments.Select(s => s.Id)));
    }

    /// <summary>
    /// A silo's view of which silos host a grain type (the cluster manifest) lags membership after a silo joins, the more
    /// so on a loaded machine. The per-silo grain was placed only on silos that view listed, so the registry's pushes to a
    /// silo it did not list yet failed, and that silo ran on the previous definitions until its sweep. It is placed on the
    /// active member it names.
    /// </summary>
    [Fact]
    public async Task ASiloTheManifestDoesNotListYet_StillGetsEveryChangeAtOnce()
    {
        await using var cluster = await StartAsync(after: services => services.AddPlacementDirector<Implementation.SiloKeyPlacement, ManifestLagPlacement>());
        await Task.WhenAll(cluster.SiloServices.Select(s => s.GetRequiredService<Implementation.ClusterDefinitions>().WhenReady));
        var client = Client(cluster);

        await client.UpsertSegmentAsync(BigSpenders);

        // No sweep: the push itself reached every silo.
        Assert.All(cluster.Engines, engine => Assert.Contains("big", engine.Segments.Select(s => s.Id)));
    }

    /// <summary>The real director, shown only this silo as hosting the grain type (as a manifest that has not caught up).</summary>
    private sealed class ManifestLagPlacement(global::Orleans.Runtime.IClusterMembershipService membership) : global::Orleans.Runtime.Placement.IPlacementDirector
    {
        private readonly Implementation.SiloKeyPlacementDirector _real = new(membership);

        public Task<global::Orleans.Runtime.SiloAddress> OnAddActivation(global::Orleans.Runtime.PlacementStrategy strategy, global::Orleans.Runtime.Placement.PlacementTarget target, global::Orleans.Runtime.Placement.IPlacementContext context) =>
            _real.OnAddActivation(strategy, target, new OnlyLocalCompatible(context));

        private sealed class OnlyLocalCompatible(global::Orleans.Runtime.Placement.IPlacementContext inner) : global::Orleans.Runtime.Placement.IPlacementContext
        {
            public global::Orleans.Runtime.SiloAddress LocalSilo => inner.LocalSilo;

            public global::Orleans.Runtime.SiloStatus LocalSiloStatus => inner.LocalSiloStatus;

            public global::Orleans.Runtime.SiloAddress[] GetCompatibleSilos(global::Orleans.Runtime.Placement.PlacementTarget target) => [inner.LocalSilo];

            public IReadOnlyDictionary<ushort, global::Orleans.Runtime.SiloAddress[]> GetCompatibleSilosWithVersions(global::Orleans.Runtime.Placement.PlacementTarget target) =>
                new Dictionary<ushort, global::Orleans.Runtime.SiloAddress[]> { [0] = [inner.LocalSilo] };
        }
    }

    /// <summary>Places a per-silo grain only when the caller is that silo: every call from another silo fails, as to a silo that cannot be reached.</summary>
    private sealed class OnlyLocalSiloPlacement : global::Orleans.Runtime.Placement.IPlacementDirector
    {
        public Task<global::Orleans.Runtime.SiloAddress> OnAddActivation(global::Orleans.Runtime.PlacementStrategy strategy, global::Orleans.Runtime.Placement.PlacementTarget target, global::Orleans.Runtime.Placement.IPlacementContext context) =>
            target.GrainIdentity.Key.ToString() == context.LocalSilo.ToParsableString()
                ? Task.FromResult(context.LocalSilo)
                : throw new global::Orleans.Runtime.OrleansException("Unreachable in this test.");
    }

    private async Task<InProcessCluster> StartAsync(Action<IServiceCollection>? configure = null, Action<IServiceCollection>? after = null) => await InProcessCluster.StartAsync(3, services =>
    {
        configure?.Invoke(services);
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<IMessageRenderer>(new StubMessageRenderer());
        services.AddOmnichannel(o =>
        {
            o.Partitions = 2;
            o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
            o.Segments.Add(Buyers);
        })
            .UseStore(_ => _store)
            .AddTransport("recorder", ChannelNames.Email, _ => new RecordingTransport(ChannelNames.Email))
            .UseOrleans();
        after?.Invoke(services);
    });

    private static OmnichannelClusterClient Client(InProcessCluster cluster)
    {
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        options.Segments.Add(Buyers);
        return new OmnichannelClusterClient(cluster.Client, options);
    }
}
