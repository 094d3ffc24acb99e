using FsCheck.Xunit;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit CKS: a random timed scenario (waits, waits until a local time, inactivity and date triggers, segment windows,
/// marketing held in quiet hours; sub-second ticks and offsets such as +05:45 and -03:30) gives the same wake-ups,
/// hand-overs, histories, memberships and outbox due times on SQLite as in memory, and an engine disposed and opened
/// again on the same file gives what one that slept through the same downtime gives.
/// </summary>
public sealed class AuditCKSTimerStoreProperties
{
    [Property(Arbitrary = [typeof(TimedStoreRunArbitrary)], MaxTest = 25)]
    public void ATimedScenario_OnSqlite_MatchesMemory_AndARestartIsOnlySleep(TimedStoreRun run)
    {
        using var folder = new TempFolder();
        TimedStoreScenario.RunAsync(run, async name =>
            (IOmnichannelStore)await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = "Data Source=" + folder.File(name + ".db") })).GetAwaiter().GetResult();
    }
}
