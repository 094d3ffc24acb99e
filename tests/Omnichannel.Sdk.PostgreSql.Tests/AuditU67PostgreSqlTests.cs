using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// Audit U67 on one PostgreSQL database: two engines (a merge beside a stale hot copy) and a restart past pending waits,
/// on a database whose TimeZone setting is not UTC (a DBA's <c>ALTER DATABASE … SET timezone</c>).
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AuditU67PostgreSqlTests(PostgreSqlServer server)
{
    [Fact]
    public async Task AMergeOnOneEngine_WhileTheOtherHoldsTheAbsorbedProfileHot_IsNotWrittenOver()
    {
        var database = await DatabaseInZoneAsync("auditu67_merge");
        await AuditU67Scenario.AMergeOnOneEngine_WhileTheOtherHoldsTheAbsorbedProfileHot_IsNotWrittenOverAsync((time, transport) => Build(database, time, transport));
    }

    [Fact]
    public async Task WaitsPendingAtAStop_EachRunOnce_WhenTheNextEngineStartsPastThem()
    {
        var database = await DatabaseInZoneAsync("auditu67_restart");
        await AuditU67Scenario.WaitsPendingAtAStop_EachRunOnce_WhenTheNextEngineStartsPastThemAsync((time, transport) => Build(database, time, transport));
    }

    [Fact]
    public async Task AMessagePlannedByAProcessWithoutTransports_IsSentByTheWorker_WithoutWaitingForALook()
    {
        var database = await server.DatabaseAsync("auditu67_web_worker");
        await AuditU67Scenario.AMessagePlannedByAProcessWithoutTransports_IsSentByTheWorker_WithoutWaitingForALookAsync(
            (time, transport) => Build(database, time, transport, wait: false),
            time => Build(database, time, null, wait: false));
    }

    // The server's default for new sessions of this database: Newfoundland (−03:30, −02:30 in summer; the wait of the
    // restart scenario spans its spring-forward night).
    private async Task<string> DatabaseInZoneAsync(string name)
    {
        var connectionString = await server.DatabaseAsync(name);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var alter = new NpgsqlCommand($"ALTER DATABASE \"{name}\" SET timezone TO 'America/St_Johns'", connection))
        {
            await alter.ExecuteNonQueryAsync();
        }

        await using var fresh = new NpgsqlConnection(connectionString + ";Pooling=false");
        await fresh.OpenAsync();
        await using var show = new NpgsqlCommand("SHOW timezone", fresh);
        Assert.Equal("America/St_Johns", (string?)await show.ExecuteScalarAsync());
        return connectionString;
    }

    private static ServiceProvider Build(string connectionString, TimeProvider time, Omnichannel.Sdk.Delivery.IChannelTransport? transport, bool wait = true)
    {
        var services = new ServiceCollection();
        TwoProcessStoreScenario.Engine(services, time, transport, wait).UsePostgreSqlStore(connectionString);
        return services.BuildServiceProvider();
    }
}
