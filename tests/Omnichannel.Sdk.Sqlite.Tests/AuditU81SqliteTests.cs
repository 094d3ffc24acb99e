using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U81 on one SQLite file: reports waiting for their send's record come back from the stored document.</summary>
public sealed class AuditU81SqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ReportsWaitingForTheirRecord_ComeBackFromTheStoredDocument()
    {
        await using var store = await SqliteTestStores.Open(_folder.File());
        await AuditU81Scenario.ReportsWaitingForTheirRecord_ComeBackFromTheStoredDocument(store);
    }
    [Fact]
    public async Task AReportKeptByOneHost_CountsWhenAnotherRecordsItsSend()
    {
        await using var store = await SqliteTestStores.Open(_folder.File());
        await AuditU81Scenario.AReportKeptByOneHost_CountsWhenAnotherRecordsItsSend(store);
    }
}

