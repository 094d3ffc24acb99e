using System.Runtime.CompilerServices;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// The journey scenario suites (compiled into this assembly from the core tests) run on SQLite files: the same
/// instants, messages and counts as in memory. Each rig gets its own database in a temporary folder.
/// </summary>
internal static class ScenariosOnSqlite
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "omnichannel-sqlite-scenarios", Guid.NewGuid().ToString("N"));

    [ModuleInitializer]
    internal static void UseSqliteForScenarios()
    {
        Directory.CreateDirectory(Root);
        JourneyRig.DefaultStore = () => SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = $"Data Source={Path.Combine(Root, Guid.NewGuid().ToString("N") + ".db")}",
            Durability = SqliteDurability.Normal,
        }).GetAwaiter().GetResult();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a leftover temp folder must not fail the run.
            }
        };
    }
}
