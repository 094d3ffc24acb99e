using FsCheck.Xunit;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// Audit CKS: a random timed scenario (waits, waits until a local time, inactivity and date triggers, segment windows,
/// marketing held in quiet hours; sub-second ticks and offsets such as +05:45 and -03:30) gives the same wake-ups,
/// hand-overs, histories, memberships and outbox due times on PostgreSQL (a session in a far zone) as in memory, and an
/// engine disposed and opened again on the same database gives what one that slept through the same downtime gives.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AuditCKSTimerStoreProperties(PostgreSqlServer server)
{
    private static int _case;

    [Property(Arbitrary = [typeof(TimedStoreRunArbitrary)], MaxTest = 8)]
    public void ATimedScenario_OnPostgreSql_MatchesMemory_AndARestartIsOnlySleep(TimedStoreRun run)
    {
        var n = Interlocked.Increment(ref _case);
        var zone = n % 2 == 0 ? "Asia/Kathmandu" : "America/St_Johns";
        TimedStoreScenario.RunAsync(run, async name =>
            (IOmnichannelStore)await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = await server.DatabaseAsync($"cks_{n}_{name}") + ";Timezone=" + zone })).GetAwaiter().GetResult();
    }
}
