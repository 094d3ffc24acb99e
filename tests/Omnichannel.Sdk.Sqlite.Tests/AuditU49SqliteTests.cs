using Omnichannel.Sdk.Tests.Audit;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U49 on SQLite: segment definitions changed across a restart are in force for every stored profile at start.</summary>
public sealed class AuditU49SqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ASegmentChangedOrRemovedAcrossARestart_IsInForceForEveryStoredProfile_WithoutAnEvent()
    {
        var file = "Data Source=" + _folder.File();
        await AuditU49RestartScenario.RunAsync(
            async () => await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file }),
            store => ((SqliteOmnichannelStore)store).DisposeAsync());
    }
}
