using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;
using Orleans.Hosting;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>First hour, tenth pass (forty-second session): the README's one-machine silo, used before its host starts.</summary>
public sealed class FirstHourTenthPassTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));

    // The README's "Try it on one machine" silo, its IOmnichannelClient called before host.StartAsync(): TrackAsync answered
    // StoreFailed "NullReferenceException … send it again" (a retry failed the same way until the host started) and
    // GetProfileAsync threw a bare NullReferenceException from inside Orleans. Now each says to start the host, as a
    // process that only sends does.
    [Fact]
    public async Task ASiloHostsClient_UsedBeforeTheHostStarts_SaysToStartIt()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseLocalhostClustering(siloPort: 11_942, gatewayPort: 30_942));
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseInMemoryStore().UseOrleans();
        using var host = builder.Build();
        var client = host.Services.GetRequiredService<IOmnichannelClient>();
        var ann = Identifier.Email("fh10-early@example.com");
        var e = new ClusterEvents(_time).Event("fh10-early", EventTypes.ProductViewed, null, ann);

        var single = await Assert.ThrowsAsync<InvalidOperationException>(async () => await client.TrackAsync(e));
        var read = await Assert.ThrowsAsync<InvalidOperationException>(async () => await client.GetProfileAsync(ann));
        var batch = await client.TrackBatchAsync([e]);

        foreach (var message in new[] { single.Message, read.Message, batch[0].FailureReason! })
        {
            Assert.Contains("has not started yet", message, StringComparison.Ordinal);
            Assert.Contains("host.StartAsync()", message, StringComparison.Ordinal);
            Assert.DoesNotContain(nameof(NullReferenceException), message, StringComparison.Ordinal);
        }

        Assert.Equal((TrackStatus.StoreFailed, true), (batch[0].Status, batch[0].IsTransient));
    }
}
