using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// Audit SP: the same seeded sequences of public-API operations give the same profiles, segment members, messages (and
/// the instants they were handed over at), journey statistics and measurement rows on PostgreSQL as in memory, whatever
/// the server session's time zone.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AuditStoreParityTests(PostgreSqlServer server)
{
    [Theory]
    [InlineData(1, "UTC")]
    [InlineData(2, "Pacific/Kiritimati")]
    [InlineData(3, "Pacific/Pago_Pago")]
    [InlineData(4, "UTC")]
    public async Task TheSameOperations_GiveTheSameAnswers_InMemoryAndOnPostgreSql(int seed, string sessionTimeZone)
    {
        var expected = await StoreParityDriver.RunAsync(seed, new InMemoryOmnichannelStore());
        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = await server.DatabaseAsync("parity_" + seed) + ";Timezone=" + sessionTimeZone });
        var actual = await StoreParityDriver.RunAsync(seed, store);

        Assert.True(StoreParityDriver.FirstDifference(expected, actual) is null, StoreParityDriver.FirstDifference(expected, actual));
        Assert.Contains(expected, l => l.StartsWith("sent ", StringComparison.Ordinal));
    }
}
