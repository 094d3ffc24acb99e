using System.Runtime.CompilerServices;
using Omnichannel.Sdk.TestServers;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// The journey scenario suites (compiled into this assembly from the core tests) run on PostgreSQL: the same instants,
/// messages and counts as in memory. One throw-away cluster for them, started on first use; a fresh database per rig.
/// </summary>
internal static class ScenariosOnPostgreSql
{
    private static readonly Lazy<Task<PostgreSqlCluster>> Cluster = new(async () =>
    {
        var cluster = await PostgreSqlCluster.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return cluster;
    });

    [ModuleInitializer]
    internal static void UsePostgreSqlForScenarios() =>
        JourneyRig.DefaultStore = () =>
        {
            var cluster = Cluster.Value.GetAwaiter().GetResult();
            var database = cluster.DatabaseAsync("s" + Guid.NewGuid().ToString("N")).GetAwaiter().GetResult();
            return PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = database }).GetAwaiter().GetResult();
        };
}
