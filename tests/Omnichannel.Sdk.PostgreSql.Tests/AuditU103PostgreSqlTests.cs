using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>Audit U103 on PostgreSQL: a few seeds of <see cref="AuditU103Scenario"/>, the engine restarted on the database after the erasure.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AuditU103PostgreSqlTests(PostgreSqlServer server)
{
    [Theory]
    [InlineData(1, 2)]
    [InlineData(7, -3)]
    [InlineData(-11, 40)]
    [InlineData(103, 606)]
    [InlineData(-2024, 77)]
    [InlineData(55, -55)]
    public async Task AfterHerErasure_HerOldIdentifiers_BringBackNothingOfHers_OnPostgreSql(int a, int b)
    {
        var connection = await server.DatabaseAsync("audit_u103_" + (a & 0xffff).ToString(System.Globalization.CultureInfo.InvariantCulture) + "_" + (b & 0xffff).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await AuditU103Scenario.RunAsync(
            a,
            b,
            async () => await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connection }),
            s => ((PostgreSqlOmnichannelStore)s).DisposeAsync());
    }
}
