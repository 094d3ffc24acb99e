using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Orleans;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// Segments and journeys changed at run time through the cluster client, as on one engine: every silo applies the change
/// before its next event, the change's background work (backfill, visit of running instances) runs once, a refused change
/// reaches no silo, a silo that joins later catches up, and the changes outlive the silo that numbered them.
/// </summary>
public sealed class ClusterDefinitionTests
{
    private const int Customers = 30;
    private const string CartV1 = """
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"correlationKey": "cart_id"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "reminder", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]}
        """;

    private const string CartV2WithoutTheWait = """
        {"id": "cart", "version": 2, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"correlationKey": "cart_id"},
         "steps": [{"id": "reminder", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]}
        """;

    private static readonly SegmentDefinition Buyers = Segment.Define("buyers", "Bought anything").Where(r => r.Event(EventTypes.OrderPlaced).Count(c => c.Gte(1)));

    private static readonly SegmentDefinition BigSpenders = Segment.Define("big", "Spent 20 or more").Where(r => r.Stat(ProfileStatisticNames.TotalSpent).Gte(20));

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 2, 9, 0, 0, TimeSpan.Zero));
    private readonly InMemoryOmnichannelStore _store = new();
    private readonly RecordingTransport _recorder = new(ChannelNames.Email);

    [Fact]
    public async Task UpsertingASegment_ReachesEverySilo_AndBackfillsEveryProfileOnce_WithProgress()
    {
        await using var cluster = await StartAsync();
        var client = Client(cluster);
        await OrdersAsync(client, Customers);

        var reports = new List<SegmentBackfillProgress>();
        var backfill = await client.UpsertSegmentAsync(BigSpenders, new SyncProgress(reports));
        await backfill.Completion.WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(new SegmentBackfillProgress("big", Customers, 0, true), backfill.Progress);
        Assert.Equal(new SegmentBackfillProgress("big", Customers, 0, true), reports[^1]);
        Assert.All(cluster.Engines, e => Assert.Contains("big", e.Segments.Select(s => s.Id)));
        Assert.Contains("big", client.Segments.Select(s => s.Id));
        Assert.Equal(10, (await client.GetSegmentMembersAsync("big", limit: 100)).Count);

        // New customers' grains land on every silo; each enters the new segment on her first order.
        var events = new ClusterEvents(_time);
        var results = await client.TrackBatchAsync(Enumerable.Range(0, 12).Select(i =>
            events.Event($"new-{i}", EventTypes.OrderPlaced, new { order_id = $"n{i}", total = 25, currency = "GBP" }, Identifier.CustomerId($"new-{i}"))));
        Assert.All(results, r => Assert.Contains(r.SegmentChanges, c => c.SegmentId == "big" && c.Entered));
    }

    [Fact]
    public async Task ARefusedChange_CarriesItsPath_AndReachesNoSilo()
    {
        await using var cluster = await StartAsync();
        var client = Client(cluster);

        var unknown = await Assert.ThrowsAsync<SegmentDefinitionException>(async () =>
            await client.UpsertSegmentAsync(Segment.Define("x", "X").Where(r => r.Segment("nope"))));
        Assert.Contains(unknown.Errors, e => e.Message.Contains("nope", StringComparison.Ordinal) && e.Path.StartsWith('$'));
        Assert.All(cluster.Engines, e => Assert.DoesNotContain("x", e.Segments.Select(s => s.Id)));
        Assert.DoesNotContain("x", client.Segments.Select(s => s.Id));

        await client.UpsertSegmentAsync(Segment.Define("repeat-buyers", "Buyers, again").Where(r => r.Segment("buyers")));
        await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await client.RemoveSegmentAsync("buyers"));
        Assert.All(cluster.Engines, e => Assert.Contains("buyers", e.Segments.Select(s => s.Id)));

        Assert.True(await client.RemoveSegmentAsync("repeat-buyers"));
        Assert.False(await client.RemoveSegmentAsync("repeat-buyers"));
        Assert.All(cluster.Engines, e => Assert.DoesNotContain("repeat-buyers", e.Segments.Select(s => s.Id)));
    }

    [Fact]
    public async Task PublishingJourneyVersions_RunsOnEverySilo_AndEndsInstancesWhoseStepIsGone_Once()
    {
        await using var cluster = await StartAsync();
        var client = Client(cluster);

        Assert.Equal(0, await client.PublishJourneyAsync(Journey(CartV1)));
        Assert.Equal(0, await client.PublishJourneyAsync(Journey(CartV1))); // the same version again changes nothing
        Assert.All(cluster.Engines, e => Assert.Equal(1, Assert.Single(e.Journeys).Version));

        // Carts on grains across the silos: each silo runs the run-time journey.
        var events = new ClusterEvents(_time);
        var carts = await client.TrackBatchAsync(Enumerable.Range(0, Customers).Select(i =>
            events.Event($"cart-{i}", EventTypes.CartItemAdded, new { cart_id = $"c{i}", product_id = "litter", price = 10 }, Identifier.Email($"c{i}@example.com"))));
        Assert.All(carts, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Equal(Customers, (await client.GetJourneyStatisticsAsync("cart")).Entered);

        Assert.Equal(Customers, await client.PublishJourneyAsync(Journey(CartV2WithoutTheWait)));
        Assert.All(cluster.Engines, e => Assert.Equal(2, Assert.Single(e.Journeys).Version));
        Assert.Equal(2, Assert.Single(client.Journeys).Version);
        for (var i = 0; i < Customers; i++)
        {
            var profile = (await client.GetProfileAsync(Identifier.Email($"c{i}@example.com")))!;
            Assert.Empty(profile.Journeys);
            Assert.Single(profile.Timeline, t => t.Type == "journey.exited" && t.Summary == "cart: version 2 removed step 'wait'");
        }

        await Assert.ThrowsAsync<JourneyDefinitionException>(() => client.PublishJourneyAsync(Journey(CartV2WithoutTheWait) with { Name = "changed" }));
        Assert.True(await client.RemoveJourneyAsync("cart"));
        Assert.False(await client.RemoveJourneyAsync("cart"));
        Assert.All(cluster.Engines, e => Assert.Empty(e.Journeys));
        Assert.Empty(_recorder.Messages);
    }

    [Fact]
    public async Task ASiloThatJoinsLater_CatchesUpBeforeItsFirstEvent()
    {
        await using var cluster = await StartAsync();
        var client = Client(cluster);
        await (await client.UpsertSegmentAsync(BigSpenders)).Completion.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(await client.RemoveSegmentAsync("buyers"));

        var joined = await cluster.StartSiloAsync();
        var engine = joined.GetRequiredService<OmnichannelEngine>();
        await joined.GetRequiredService<Implementation.ClusterDefinitions>().WhenReady.WaitAsync(InProcessCluster.JoinPatience);

        Assert.Equal(["big"], engine.Segments.Select(s => s.Id));
    }

    [Fact]
    public async Task TheChangesOutliveTheSiloThatNumberedThem_AndNumberingGoesOn()
    {
        await using var cluster = await StartAsync();
        var client = Client(cluster);
        await (await client.UpsertSegmentAsync(BigSpenders)).Completion.WaitAsync(TimeSpan.FromMinutes(1));

        var registry = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(cluster.Client.GetGrain<Implementation.IDefinitionsGrain>(0));
        Assert.NotNull(registry);
        await cluster.KillSiloAsync(registry);

        Assert.True(await client.RemoveSegmentAsync("buyers"));
        var joined = await cluster.StartSiloAsync();
        var definitions = joined.GetRequiredService<Implementation.ClusterDefinitions>();
        await definitions.WhenReady.WaitAsync(InProcessCluster.JoinPatience);

        Assert.Equal(["big"], joined.GetRequiredService<OmnichannelEngine>().Segments.Select(s => s.Id));
        Assert.Equal([1L, 2L], definitions.Log.Select(c => c.Sequence));
        Assert.All(cluster.Engines, e => Assert.Equal(["big"], e.Segments.Select(s => s.Id)));
    }

    private static JourneyDefinition Journey(string json) => JourneyJson.Parse(json).Value!;

    private async Task<InProcessCluster> StartAsync() => await InProcessCluster.StartAsync(3, services =>
    {
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<IMessageRenderer>(new StubMessageRenderer());
        services.AddOmnichannel(o =>
        {
            o.Partitions = 2;
            o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
            o.Segments.Add(Buyers);
        })
            .UseStore(_ => _store)
            .AddTransport("recorder", ChannelNames.Email, _ => _recorder)
            .UseOrleans();
    });

    private static OmnichannelClusterClient Client(InProcessCluster cluster)
    {
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        options.Segments.Add(Buyers);
        return new OmnichannelClusterClient(cluster.Client, options);
    }

    private async Task OrdersAsync(OmnichannelClusterClient client, int customers)
    {
        var events = new ClusterEvents(_time);
        var results = await client.TrackBatchAsync(Enumerable.Range(0, customers).Select(i =>
            events.Event($"order-{i}", EventTypes.OrderPlaced, new { order_id = $"o{i}", total = i, currency = "GBP" }, Identifier.CustomerId($"c{i}"))));
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
    }

    private sealed class SyncProgress(List<SegmentBackfillProgress> reports) : IProgress<SegmentBackfillProgress>
    {
        public void Report(SegmentBackfillProgress value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
