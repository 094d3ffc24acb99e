using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Testing.Conformance;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>The storage contract, on a real PostgreSQL server: a fresh schema per test in one database.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlStoreConformanceTests(PostgreSqlServer server) : StoreConformanceTests
{
    private static int _schemas;

    protected override async Task<IOmnichannelStore> CreateStoreAsync() =>
        await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions
        {
            ConnectionString = await server.DatabaseAsync("conformance"),
            Schema = "t_" + Interlocked.Increment(ref _schemas),
        });
}

/// <summary>
/// The storage contract again with the sessions in a far time zone (UTC+14, <c>Timezone</c> in the connection string):
/// instants are UTC ticks, so nothing may shift by the session's zone.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlStoreInAFarTimeZoneConformanceTests(PostgreSqlServer server) : StoreConformanceTests
{
    private static int _schemas;

    protected override async Task<IOmnichannelStore> CreateStoreAsync() =>
        await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions
        {
            ConnectionString = await server.DatabaseAsync("conformance_tz") + ";Timezone=Pacific/Kiritimati",
            Schema = "z_" + Interlocked.Increment(ref _schemas),
        });
}
