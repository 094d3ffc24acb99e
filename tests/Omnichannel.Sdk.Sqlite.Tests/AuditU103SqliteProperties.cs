using FsCheck.Xunit;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U103 on a SQLite file, the engine restarted on it after the erasure: see <see cref="AuditU103Scenario"/>.</summary>
public sealed class AuditU103SqliteProperties : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Property(MaxTest = 30)]
    public void AfterHerErasure_HerOldIdentifiers_BringBackNothingOfHers_OnSqlite(int a, int b)
    {
        var path = _folder.File(Guid.NewGuid().ToString("N") + ".db");
        AuditU103Scenario.RunAsync(a, b, async () => await SqliteTestStores.Open(path), s => ((SqliteOmnichannelStore)s).DisposeAsync()).GetAwaiter().GetResult();
    }
}
