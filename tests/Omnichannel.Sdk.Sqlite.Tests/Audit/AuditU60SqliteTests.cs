using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.AuditU60;
using Feed = Omnichannel.Sdk.AuditU60.AuditU60Driver.Feed;
using Settings = Omnichannel.Sdk.AuditU60.AuditU60Driver.Settings;

namespace Omnichannel.Sdk.Sqlite.Tests.Audit;

/// <summary>
/// Audit U60 on SQLite: the same generated events give the same trace on a SQLite file (segment rows written only when
/// they change, the next wake-up kept in memory, a restart that reopens the file) as on the in-memory store (shared
/// documents).
/// </summary>
public sealed class AuditU60SqliteTests
{
    private static async Task<string?> CompareAsync(AuditU60Driver.Plan plan, Settings settings)
    {
        using var folder = new TempFolder();
        var expected = await AuditU60Driver.RunAsync(plan, settings with { RestartBefore = null }, new InMemoryOmnichannelStore());
        var options = new SqliteStoreOptions { ConnectionString = "Data Source=" + folder.File() };
        IOmnichannelStore store = await SqliteOmnichannelStore.OpenAsync(options);
        var holder = new[] { store };
        try
        {
            var actual = await AuditU60Driver.RunAsync(plan, settings, store, async old =>
            {
                await ((IAsyncDisposable)old).DisposeAsync();
                holder[0] = await SqliteOmnichannelStore.OpenAsync(options);
                return holder[0];
            });
            return AuditU60Driver.FirstDifference(expected, actual, "in memory", "SQLite");
        }
        finally
        {
            await ((IAsyncDisposable)holder[0]).DisposeAsync();
        }
    }

    /// <summary>(3) In memory against SQLite, any feed and cache; (4) with the engine and the file reopened mid-sequence.</summary>
    [Property(MaxTest = 8)]
    public void TheSameEvents_GiveTheSameTrace_InMemoryAndOnSqlite_WithOrWithoutARestart(PositiveInt seed)
    {
        var plan = AuditU60Driver.Generate(seed.Get, events: 24);
        var r = new Random(seed.Get);
        var settings = new Settings
        {
            Feed = (Feed)(seed.Get % 3),
            CutSeed = seed.Get,
            CacheSize = r.Next(3) == 0 ? 0 : 100_000,
            RestartBefore = r.Next(2) == 0 ? r.Next(1, plan.Count) : null,
        };
        var difference = CompareAsync(plan, settings).GetAwaiter().GetResult();
        Assert.True(difference is null, $"{plan}; {settings}\n{difference}");
    }

    /// <summary>A long history on SQLite: a timeline past 200, an order list past 32, a restart in the middle.</summary>
    [Fact]
    public async Task ALongHistory_GivesTheSameTrace_InMemoryAndOnSqlite_AcrossARestart()
    {
        var plan = AuditU60Driver.Long();
        var difference = await CompareAsync(plan, new Settings { Feed = Feed.Batch, CacheSize = 1, RestartBefore = plan.Count / 2 });
        Assert.True(difference is null, difference);
    }

    /// <summary>
    /// (5) The de-duplication window on SQLite follows its model. The traces are not compared with the in-memory store's:
    /// the engine's hourly purge runs in the background when the fake clock passes it, so whether an expired id that no
    /// explicit purge reached is still remembered at the next event is a race (the model allows either).
    /// </summary>
    [Property(MaxTest = 8)]
    public void TheDeduplicationWindow_FollowsItsModel(PositiveInt seed)
    {
        using var folder = new TempFolder();
        var store = SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = "Data Source=" + folder.File() }).GetAwaiter().GetResult();
        try
        {
            // Throws at the first status or remembered id the model does not allow.
            AuditU60Driver.RunDedupeAsync(seed.Get, store).GetAwaiter().GetResult();
        }
        finally
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
