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
