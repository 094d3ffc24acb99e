using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;
using Orleans;
using Orleans.Runtime;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// The public path end to end: silos built from the application's registration (<c>AddOmnichannel(...).UseOrleans()</c>),
/// a client implementing <see cref="IOmnichannelClient"/>, grains, the engine's unit of work, the store.
/// </summary>
public sealed class ClusterEndToEndTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task ThroughTheClusterClient_EventsMergesReadsExportAndErasure_BehaveAsOnOneEngine()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(3, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);

        // A visitor, then her login: two profiles, then one.
        var anonymous = await client.TrackAsync(events.Event("e1", EventTypes.ProductViewed, new { product_id = "bowl" }, Identifier.AnonymousId("anon-1")));
        Assert.Equal(TrackStatus.Accepted, anonymous.Status);
        var known = await client.TrackAsync(events.Event("e2", EventTypes.ProductViewed, null, Identifier.Email("Ann@Example.com")));
        Assert.NotEqual(anonymous.ProfileId, known.ProfileId);
        var login = await client.TrackAsync(events.Event("e3", "user.logged_in", null, Identifier.AnonymousId("anon-1"), Identifier.Email("ann@example.com")));
        Assert.Equal(TrackStatus.Accepted, login.Status);

        // 60 customers' orders in one batch: results in order, each applied once.
        var batch = Enumerable.Range(0, 120).Select(i => events.Event($"o{i}", EventTypes.OrderPlaced, new { order_id = $"O-{i}", total = 10, currency = "USD" }, Identifier.CustomerId($"C-{i % 60}"))).ToList();
        var results = await client.TrackBatchAsync(batch);
        Assert.Equal(batch.Select(e => e.Id), results.Select(r => r.EventId));
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Equal(TrackStatus.Duplicate, (await client.TrackAsync(batch[7])).Status);

        // Reads follow the merge from either side.
        var ann = await client.GetProfileAsync(Identifier.Email("ANN@example.com"));
        Assert.NotNull(ann);
        Assert.True(ann.Has(Identifier.AnonymousId("anon-1")));
        Assert.Equal(3, ann.Timeline.Count);
        var survivor = login.ProfileId!;
        Assert.Equal(survivor, ann.Id);
        foreach (var id in new[] { anonymous.ProfileId!, known.ProfileId! })
        {
            Assert.Equal(survivor, (await client.GetProfileByIdAsync(id))?.Id);
        }

        for (var c = 0; c < 60; c++)
        {
            Assert.Equal(2, (await client.GetProfileAsync(Identifier.CustomerId($"C-{c}")))!.Statistics.OrderCount);
        }

        // The customers' grains are spread over the silos.
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        var activations = (await management.GetSimpleGrainStatistics()).Where(s => s.GrainType.Contains("ProfileGrain", StringComparison.Ordinal)).ToList();
        Assert.True(activations.Select(s => s.SiloAddress).Distinct().Count() > 1, "every customer grain ran on one silo");
        Assert.Equal(62, activations.Sum(s => s.ActivationCount)); // 60 customers, the visitor's cookie, Ann's email

        // Access and erasure requests.
        var export = await client.ExportProfileAsync(Identifier.Email("ann@example.com"));
        Assert.Equal("omnichannel-profile-export/1", (string?)export!["format"]);
        Assert.True(await client.EraseProfileAsync(Identifier.Email("ann@example.com")));
        Assert.Null(await client.GetProfileAsync(Identifier.AnonymousId("anon-1")));
        Assert.True(await client.IsSuppressedAsync(Identifier.Email("ann@example.com")));
        Assert.Equal(TrackStatus.Erased, (await client.TrackAsync(events.Event("e4", EventTypes.ProductViewed, null, Identifier.Email("ann@example.com")))).Status);
        Assert.True(await client.LiftErasureAsync(Identifier.Email("ann@example.com")));
        Assert.False(await client.IsSuppressedAsync(Identifier.Email("ann@example.com")));
    }

    // Review of audit U64: TrackResult.Ignored (a zone sent as a raw offset, not applied) crosses the grain call, alone and
    // in a batch, as the engine answers it in process.
    [Fact]
    public async Task AZoneSentAsAnOffset_IsListedInIgnored_ThroughTheClusterClient_AloneAndInABatch()
    {
        await using var cluster = await InProcessCluster.StartAsync(2, services => ClusterSetup.Register(_time, services, new InMemoryOmnichannelStore()));
        var client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        CustomerEvent WithZone(string id, string zone, string customer) =>
            events.Event(id, EventTypes.ProductViewed, null, Identifier.CustomerId(customer)) with { Context = new EventContext { TimeZone = zone } };

        var single = await client.TrackAsync(WithZone("z1", "+02:00", "c-z1"));
        var batch = await client.TrackBatchAsync([WithZone("z2", "UTC+2", "c-z2"), WithZone("z3", "Europe/Paris", "c-z3")]);

        Assert.Equal(TrackStatus.Accepted, single.Status);
        Assert.Equal("context.timeZone", Assert.Single(single.Ignored).Field);
        Assert.Contains("UTC offset", single.Ignored[0].Message, StringComparison.Ordinal);
        Assert.Equal("context.timeZone", Assert.Single(batch[0].Ignored).Field);
        Assert.Empty(batch[1].Ignored);
    }

    [Fact]
    public async Task ABadEvent_IsRejectedWithItsErrors_AndTheOthersOfItsBatchGoOn()
    {
        await using var cluster = await InProcessCluster.StartAsync(2, services => ClusterSetup.Register(_time, services, new InMemoryOmnichannelStore()));
        var client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var bad = events.Event("bad", "", null);

        var results = await client.TrackBatchAsync([events.Event("good", EventTypes.ProductViewed, null, Identifier.CustomerId("c1")), bad]);

        Assert.Equal(TrackStatus.Accepted, results[0].Status);
        Assert.Equal(TrackStatus.Rejected, results[1].Status);
        Assert.Contains(results[1].Errors, e => e.Field == "type");
        Assert.Contains(results[1].Errors, e => e.Field == "identifiers");
    }

    [Fact]
    public async Task OnASilo_IOmnichannelClient_IsTheClusterClient_AndTheEngineRunsBehindTheGrains()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(1, services => ClusterSetup.Register(_time, services, store));
        Assert.Single(cluster.Engines);
        Assert.Same(store, cluster.Engines[0].Store);
        var client = cluster.SiloServices[0].GetRequiredService<IOmnichannelClient>();
        Assert.IsType<OmnichannelClusterClient>(client);
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(new ClusterEvents(_time).Event("e1", EventTypes.ProductViewed, null, Identifier.CustomerId("c1")))).Status);
        Assert.NotNull(await store.ResolveIdentifiersAsync([Identifier.CustomerId("c1")]));
    }

    [Fact]
    public void UseOrleansClient_RunsNoEngineAndNoStore()
    {
        var services = new ServiceCollection();
        services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseOrleansClient();

        Assert.DoesNotContain(services, d => d.ServiceType == typeof(OmnichannelEngine));
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService));
        Assert.Single(services, d => d.ServiceType == typeof(IOmnichannelClient));
    }

    [Fact]
    public void UseOrleansClient_WithoutTheHashKey_FailsSayingToSetTheSilosKey()
    {
        // Without it the client hashed identifiers with a fixed fallback key, the silos with theirs: one customer, two grains.
        var services = new ServiceCollection();
        services.AddOmnichannel().UseOrleansClient();   // no cluster needed: the options are checked before the grain factory is asked for
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<IOmnichannelClient>());

        Assert.Contains("Privacy.HashKey is required with UseOrleansClient()", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseOrleans_StopsTheEngineAfterEveryOtherHostedService_SoTheSiloDrainsItsGrainsFirst()
    {
        var services = new ServiceCollection();
        services.AddHostedService<SiloStandIn>(); // the host's UseOrleans(silo => ...) before AddOmnichannel
        services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseOrleans();

        var hosted = services.Where(d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService)).ToList();
        Assert.Equal("OmnichannelHostedService", hosted[0].ImplementationType!.Name); // stopped last
    }

    [Fact]
    public void UseOrleans_WithAnInvalidSweep_FailsWithTheRange()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddOmnichannel().UseOrleans(o => o.Sweep = TimeSpan.Zero));
        Assert.Contains("between 100 ms and 1 day", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASiloWithAnEngineButWithoutUseOrleans_RefusesWithWhatToRegister()
    {
        // Orleans finds the package's grains in any silo that references it; the RetailReplay sample once registered its
        // engine alone and every event failed with a dependency-injection error naming an internal type.
        await using var cluster = await InProcessCluster.StartAsync(1, services => services.AddSingleton(_ => new OmnichannelEngine(ClusterSetup.Options(), new InMemoryOmnichannelStore(), _time)));
        var client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());

        // A failed grain call is a result, as in a batch (audit U62: it was the call's exception).
        var result = await client.TrackAsync(new ClusterEvents(_time).Event("e1", EventTypes.ProductViewed, null, Identifier.CustomerId("c1")));

        Assert.Equal(TrackStatus.StoreFailed, result.Status);
        Assert.True(result.FailureReason!.Contains(".UseOrleans()", StringComparison.Ordinal), result.FailureReason);
    }

    [Fact]
    public async Task AnEngineRegisteredDirectly_ThenUseOrleans_RunsTheGrains()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(2, services =>
        {
            services.AddSingleton(_ => new OmnichannelEngine(ClusterSetup.Options(), store, _time));
            services.AddOmnichannel().UseOrleans();
        });
        var client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());

        var result = await client.TrackAsync(new ClusterEvents(_time).Event("e1", EventTypes.ProductViewed, null, Identifier.CustomerId("c1")));

        Assert.True(result.IsAcknowledged);
        Assert.NotNull(await client.GetProfileAsync(Identifier.CustomerId("c1")));
    }

    [Fact]
    public async Task ASegmentPreviewedThenUpserted_OnASingleSilo_AnswersAsOneEngine()
    {
        await using var cluster = await InProcessCluster.StartAsync(1, services => ClusterSetup.Register(_time, services, new InMemoryOmnichannelStore()));
        var client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var segment = Segments.SegmentJson.Parse("""{"id": "vip", "name": "VIP", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""").Value!;

        Assert.Equal(0, (await client.PreviewSegmentAsync(segment)).Matching);
        var backfill = await client.UpsertSegmentAsync(segment);
        await backfill.Completion.WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(new Segments.SegmentBackfillProgress("vip", 0, 0, true), backfill.Progress);
        Assert.Equal(["vip"], cluster.Engines[0].Segments.Select(s => s.Id));
        Assert.False(await client.RemoveJourneyAsync("x"));
    }



    private sealed class SiloStandIn : Microsoft.Extensions.Hosting.BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.CompletedTask;
    }
}
