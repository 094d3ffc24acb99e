using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U67 on one SQLite file: two engines (a merge beside a stale hot copy) and a restart past pending waits.</summary>
public sealed class AuditU67SqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public Task AMergeOnOneEngine_WhileTheOtherHoldsTheAbsorbedProfileHot_IsNotWrittenOver()
    {
        var path = _folder.File();
        return AuditU67Scenario.AMergeOnOneEngine_WhileTheOtherHoldsTheAbsorbedProfileHot_IsNotWrittenOverAsync((time, transport) => Build(path, time, transport));
    }

    [Fact]
    public Task WaitsPendingAtAStop_EachRunOnce_WhenTheNextEngineStartsPastThem()
    {
        var path = _folder.File();
        return AuditU67Scenario.WaitsPendingAtAStop_EachRunOnce_WhenTheNextEngineStartsPastThemAsync((time, transport) => Build(path, time, transport));
    }

    private static ServiceProvider Build(string path, TimeProvider time, Omnichannel.Sdk.Delivery.IChannelTransport transport)
    {
        var services = new ServiceCollection();
        TwoProcessStoreScenario.Engine(services, time, transport, wait: true).UseSqliteStore(path);
        return services.BuildServiceProvider();
    }
}
