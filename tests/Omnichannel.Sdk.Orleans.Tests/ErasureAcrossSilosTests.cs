using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// An erasure through the cluster leaves her profile in no silo's memory: audit U63 made one engine drop its hot copies,
/// but on a cluster the erasure ran on the silo that took the call, while the silos hosting her grains (where her events
/// ran) kept her deserialised profile until evicted.
/// </summary>
public sealed class ErasureAcrossSilosTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task AfterHerErasureThroughTheCluster_NoSiloKeepsACopyOfHerProfile_NorOfTheOneSheAbsorbed()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(3, services =>
        {
            services.AddSingleton<TimeProvider>(_time);
            services.AddOmnichannel(Configure).UseStore(_ => store).UseOrleans();
        });
        var options = new OmnichannelOptions();
        Configure(options);
        var client = new OmnichannelClusterClient(cluster.Client, options);
        var events = new ClusterEvents(_time);
        var email = Identifier.Email("ann@example.com");
        var phone = Identifier.Phone("+447700900123");

        // Two profiles at first (by phone, by email), then one: the phone's is absorbed, its copy left where it ran.
        var byEmail = await client.TrackAsync(events.Event("e1", EventTypes.ProductViewed, null, email, Identifier.CustomerId("ann-1")));
        var byPhone = await client.TrackAsync(events.Event("p1", EventTypes.ProductViewed, null, phone));
        var joined = await client.TrackAsync(events.Event("j1", "user.logged_in", null, email, phone));
        Assert.Equal((TrackStatus.Accepted, TrackStatus.Accepted, TrackStatus.Accepted), (byEmail.Status, byPhone.Status, joined.Status));
        var ann = joined.ProfileId!;
        var absorbed = new[] { byEmail.ProfileId!, byPhone.ProfileId! }.Single(id => id != ann);
        Assert.Single((await client.GetProfileAsync(phone))!.Merges);

        // Each identifier alone routes her events to a grain of its own, on any silo: her profile is hot wherever they
        // ran. More devices of hers until at least two silos hold it (so one is not the silo that runs the erasure).
        var ids = new List<Identifier> { email, phone, Identifier.CustomerId("ann-1") };
        for (var d = 0; d < 30 && (await SilosHoldingAsync(cluster, ann)) < 2; d++)
        {
            var device = Identifier.DeviceId($"ann-device-{d}");
            Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event($"d{d}", "app.opened", null, email, device))).Status);
            ids.Add(device);
            foreach (var id in ids)
            {
                Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event($"v{d}-{id.Type}-{id.Value}", EventTypes.ProductViewed, null, id))).Status);
            }
        }

        Assert.True(await SilosHoldingAsync(cluster, ann) >= 2, "her profile should be hot on at least two silos before the erasure");

        Assert.True(await client.EraseProfileAsync(email));

        foreach (var (engine, silo) in cluster.Engines.Select((e, i) => (e, i)))
        {
            Assert.True(await engine.HotCopiesOfAsync(ann) == 0, $"silo {silo} still holds a copy of her profile after the erasure");
            Assert.True(await engine.HotCopiesOfAsync(absorbed) == 0, $"silo {silo} still holds a copy of the profile she absorbed");
        }

        Assert.Null(await client.GetProfileAsync(phone));
    }

    private static async Task<int> SilosHoldingAsync(InProcessCluster cluster, string profileId)
    {
        var holding = 0;
        foreach (var engine in cluster.Engines)
        {
            holding += await engine.HotCopiesOfAsync(profileId) > 0 ? 1 : 0;
        }

        return holding;
    }

    private static void Configure(OmnichannelOptions o)
    {
        o.Partitions = 2;
        o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
    }
}
