using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.PostgreSql;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// Identity stays exact across silos: two events that merge the same two profiles, sent at once to two different
/// customers' grains (so usually two silos, each with its own store connection), end in one profile; and the grain that
/// served the absorbed profile never answers from the absorbed state afterwards.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class MergeAcrossSilosTests(PostgreSqlServer server)
{
    private const int People = 40;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task TwoMergesOfTheSameProfilesOnTwoSilos_EndInOneProfile_OnPostgreSql()
    {
        var database = await server.DatabaseAsync("orleans_merge_race");
        await RaceAsync(services => services.AddOmnichannel(Configure).UsePostgreSqlStore(database).UseOrleans(), async cluster =>
            Assert.Equal(People, (await cluster.Engines[0].Store.ListProfileIdsAsync(null, 1000)).Count));
    }

    [Fact]
    public async Task TwoMergesOfTheSameProfilesOnTwoSilos_EndInOneProfile_InMemory()
    {
        var store = new InMemoryOmnichannelStore();
        await RaceAsync(services => services.AddOmnichannel(Configure).UseStore(_ => store).UseOrleans(), async _ =>
            Assert.Equal(People, (await store.ListProfileIdsAsync(null, 1000)).Count));
    }

    private async Task RaceAsync(Action<IServiceCollection> register, Func<InProcessCluster, Task> countProfiles)
    {
        await using var cluster = await InProcessCluster.StartAsync(3, services =>
        {
            services.AddSingleton<TimeProvider>(_time);
            register(services);
        });
        var options = new OmnichannelOptions();
        Configure(options);
        var client = new OmnichannelClusterClient(cluster.Client, options);
        var events = new ClusterEvents(_time);

        // Each person starts as two profiles: one known by email (and a laptop), one by phone (and a phone app).
        var first = await client.TrackBatchAsync(Enumerable.Range(0, People).SelectMany(i => new[]
        {
            events.Event($"a{i}", EventTypes.ProductViewed, null, Email(i), Identifier.DeviceId($"laptop-{i}")),
            events.Event($"b{i}", EventTypes.ProductViewed, null, Phone(i), Identifier.DeviceId($"app-{i}")),
        }));
        Assert.All(first, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        var before = Enumerable.Range(0, People).Select(i => (A: first[2 * i].ProfileId!, B: first[(2 * i) + 1].ProfileId!)).ToList();
        Assert.All(before, p => Assert.NotEqual(p.A, p.B));

        // Then, all at once, two events join each pair: one routed by the email (its grain), one by a device id
        // (another grain, on another silo as often as not). Both want to absorb one profile into the other.
        var merges = Enumerable.Range(0, People).SelectMany(i => new[]
        {
            events.Event($"m{i}", "user.logged_in", null, Email(i), Phone(i)),
            events.Event($"n{i}", "app.opened", null, Identifier.DeviceId($"laptop-{i}"), Identifier.DeviceId($"app-{i}")),
        }).ToList();
        var merged = await Task.WhenAll(merges.Select(e => Task.Run(async () => await client.TrackAsync(e))));
        Assert.All(merged, r => Assert.Equal(TrackStatus.Accepted, r.Status));

        await countProfiles(cluster);
        for (var i = 0; i < People; i++)
        {
            var profile = await client.GetProfileAsync(Email(i));
            Assert.NotNull(profile);
            foreach (var id in new[] { Phone(i), Identifier.DeviceId($"laptop-{i}"), Identifier.DeviceId($"app-{i}") })
            {
                Assert.Equal(profile.Id, (await client.GetProfileAsync(id))?.Id);
            }

            Assert.Equal(profile.Id, (await client.GetProfileByIdAsync(before[i].A))?.Id);
            Assert.Equal(profile.Id, (await client.GetProfileByIdAsync(before[i].B))?.Id);
            Assert.Equal(4, profile.Timeline.Count);
            Assert.Single(profile.Merges);
        }

        // The grains that served the absorbed profiles (by phone) take new events: they land on the survivor, whole.
        var after = await client.TrackBatchAsync(Enumerable.Range(0, People).Select(i =>
            events.Event($"o{i}", EventTypes.OrderPlaced, new { order_id = $"O-{i}", total = 20, currency = "USD" }, Phone(i))));
        for (var i = 0; i < People; i++)
        {
            Assert.Equal(TrackStatus.Accepted, after[i].Status);
            var profile = await client.GetProfileAsync(Phone(i));
            Assert.Equal(profile!.Id, after[i].ProfileId);
            Assert.Equal(5, profile.Timeline.Count);
            Assert.Equal(1, profile.Statistics.OrderCount);
        }
    }

    private static Identifier Email(int i) => Identifier.Email($"person{i}@example.com");

    private static Identifier Phone(int i) => Identifier.Phone($"+4477009{i:D5}");

    private static void Configure(OmnichannelOptions o)
    {
        o.Partitions = 2;
        o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
    }
}
