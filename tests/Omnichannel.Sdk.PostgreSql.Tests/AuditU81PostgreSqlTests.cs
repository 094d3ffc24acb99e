using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>Audit U81 on PostgreSQL: reports waiting for their send's record come back from the stored document.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AuditU81PostgreSqlTests(PostgreSqlServer server)
{
    [Fact]
    public async Task ReportsWaitingForTheirRecord_ComeBackFromTheStoredDocument()
    {
        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = await server.DatabaseAsync("audit_u81") });
        await AuditU81Scenario.ReportsWaitingForTheirRecord_ComeBackFromTheStoredDocument(store);
    }
    [Fact]
    public async Task AReportKeptByOneHost_CountsWhenAnotherRecordsItsSend()
    {
        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = await server.DatabaseAsync("review_u81") });
        await AuditU81Scenario.AReportKeptByOneHost_CountsWhenAnotherRecordsItsSend(store);
    }
}

