using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>An email worker and an SMS worker on one SQLite file: each sends its own channel's messages only.</summary>
public sealed class ChannelClaimsSqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public Task EachMessage_IsSentByTheWorkerOfItsChannel_WhicheverProcessPlannedIt()
    {
        var path = _folder.File();
        return ChannelClaimsScenario.EachMessage_IsSentByTheWorkerOfItsChannel_WhicheverProcessPlannedItAsync((time, configure) => Build(path, time, configure));
    }

    [Fact]
    public Task AMessageOfAChannelNoRunningProcessServes_WaitsForAWorkerOfThatChannel()
    {
        var path = _folder.File();
        return ChannelClaimsScenario.AMessageOfAChannelNoRunningProcessServes_WaitsForAWorkerOfThatChannelAsync((time, configure) => Build(path, time, configure));
    }

    private static ServiceProvider Build(string path, TimeProvider time, Action<OmnichannelBuilder> configure)
    {
        var services = new ServiceCollection();
        var builder = ChannelClaimsScenario.Services(services, time).UseSqliteStore(path);
        configure(builder);
        return services.BuildServiceProvider();
    }
}
