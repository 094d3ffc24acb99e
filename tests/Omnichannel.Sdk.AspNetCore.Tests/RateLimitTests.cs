using System.Net;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>One request per second per write key, no burst.</summary>
public sealed class RateLimitedServer : TrackingServer
{
    protected override void Configure(TrackingApiOptions o)
    {
        o.RequestsPerSecond = 1;
        o.Burst = 1;
    }
}

public sealed class RateLimitTests(RateLimitedServer server) : IClassFixture<RateLimitedServer>
{
    [Fact]
    public async Task OverAWriteKeysRate_429WithRetryAfter_AndOtherKeysAreUnaffected()
    {
        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add(await server.PostAsync("track", $$"""{"userId":"u-rl","event":"Ping","messageId":"rl-{{i}}"}"""));
        }

        var limited = statuses.FirstOrDefault(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.NotNull(limited);
        Assert.Equal(TimeSpan.FromSeconds(1), limited.Headers.RetryAfter!.Delta);
        Assert.Equal(HttpStatusCode.OK, statuses[0].StatusCode);

        // The backend key has its own bucket.
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("track", """{"userId":"u-rl2","event":"Ping","messageId":"rl-b"}""", TrackingServer.BackendKey)).StatusCode);
    }
}
