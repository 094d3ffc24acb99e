using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Testing.Tests;

public sealed class TestHostTests
{
    [Fact]
    public async Task Create_InOneLine_TracksOnTheFakeClock()
    {
        await using var host = OmnichannelTestHost.Create();
        host.Time.Advance(TimeSpan.FromHours(2));
        await host.TrackAsync(EventTypes.ProductViewed, [Identifier.AnonymousId("a1")], new { product_id = "sku-1" });

        var profile = await host.ProfileAsync(Identifier.AnonymousId("a1"));
        Assert.Equal(OmnichannelTestHost.DefaultStart.AddHours(2), profile.Statistics.LastSeen);
    }

    [Fact]
    public async Task TrackAsync_WhenEventInvalid_ThrowsWithEveryError()
    {
        await using var host = OmnichannelTestHost.Create();
        var bad = host.Event("Bad Type", []);
        var ex = await Assert.ThrowsAsync<EventRejectedException>(() => host.TrackAsync(bad));
        Assert.False(ex.IsTransient);
        Assert.Contains(ex.Result.Errors, e => e.Field == "type");
        Assert.Contains(ex.Result.Errors, e => e.Field == "identifiers");
    }
}

/// <summary>
/// Audit U103's trap: two hosts over one store, both built before either tracked anything, took the same event ids, so the
/// second host's events came back Duplicate (which TrackAsync does not throw on) and were silently lost.
/// </summary>
public sealed class TestHostSharedStoreTests
{
    [Fact]
    public async Task TwoHostsOverOneStore_BuiltBeforeEitherTracks_NeverShareAnEventId()
    {
        var store = new InMemoryOmnichannelStore();
        await using var first = OmnichannelTestHost.Create(store: store);
        await using var second = OmnichannelTestHost.Create(store: store);

        var a = await first.TrackAsync("user.signed_up", [Identifier.CustomerId("ann")]);
        var b = await second.TrackAsync("user.signed_up", [Identifier.CustomerId("bob")]);
        var c = await first.TrackAsync(EventTypes.ConsentChanged, [Identifier.CustomerId("ann")], new { channel = "email", granted = false });

        Assert.Equal(TrackStatus.Accepted, a.Status);
        Assert.Equal(TrackStatus.Accepted, b.Status);
        Assert.Equal(TrackStatus.Accepted, c.Status);
        Assert.NotEqual(a.EventId, b.EventId);
        Assert.Equal("evt-000001", a.EventId);
        Assert.Equal("evt-h000002-000001", b.EventId); // the same ids from run to run
    }

    [Fact]
    public async Task AHostOverAnotherHostsOwnStore_TakesOtherIds_EvenBeforeThatHostTracks()
    {
        await using var first = OmnichannelTestHost.Create();
        await using var second = OmnichannelTestHost.Create(store: first.Engine.Store);

        var b = await second.TrackAsync("user.signed_up", [Identifier.CustomerId("bob")]);
        var a = await first.TrackAsync("user.signed_up", [Identifier.CustomerId("ann")]);

        Assert.Equal(TrackStatus.Accepted, b.Status);
        Assert.Equal(TrackStatus.Accepted, a.Status);
        Assert.NotEqual(a.EventId, b.EventId);
    }
}
