using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>The client's IP address is kept only when the host asks for it.</summary>
public sealed class IpStoringServer : TrackingServer
{
    protected override void Configure(TrackingApiOptions o) => o.StoreIpAddress = true;
}

public sealed class IpStoringTests(IpStoringServer server) : IClassFixture<IpStoringServer>
{
    [Fact]
    public async Task WithStoreIpAddress_TheIpIsAnEventProperty()
    {
        var user = $"user-{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Ping","context":{"ip":"203.0.113.77"},"messageId":"{{Guid.NewGuid():N}}"}""")).StatusCode);
        Assert.True((await server.ProfileAsync(Identifier.CustomerId(user))).IsInSegment("seen-from-test-net"));
    }
}

public sealed class HostingTests
{
    [Fact]
    public async Task WithoutWriteKeys_TheHostFailsAtStartUp_SayingWhatToSet()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddOmnichannel().AddTrackingApi(o => o.RequestsPerSecond = -1);
        await using var app = builder.Build();
        app.MapOmnichannelTracking();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains(e.Failures, f => f.Contains("WriteKeys", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.Contains("RequestsPerSecond", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MappingWithoutAddTrackingApi_Throws_SayingWhatToCall()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddOmnichannel();
        await using var app = builder.Build();
        var e = Assert.Throws<InvalidOperationException>(() => app.MapOmnichannelTracking("/v1"));
        Assert.Contains("AddTrackingApi", e.Message, StringComparison.Ordinal);
    }
}
