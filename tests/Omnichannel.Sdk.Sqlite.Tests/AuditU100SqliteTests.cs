using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U100 on SQLite (fewer cases): split over three identifiers and merged three deep in any arrival order, each run on
/// its own file and read again after a restart on it, equals one identity in time order on a file of its own.
/// </summary>
public sealed class AuditU100SqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public static Arbitrary<(int L1Minute, int L1Arrival, int L2Minute, int L2Arrival, U100Event[] Events)> Streams() => U100Streams.Of(20).ToArbitrary();

    [Property(Arbitrary = [typeof(AuditU100SqliteTests)], MaxTest = 30)]
    public void AnyArrivalOrder_SplitAndMergedThreeDeep_OnSqlite_ReadsAsOneIdentityInTimeOrder((int L1Minute, int L1Arrival, int L2Minute, int L2Arrival, U100Event[] Events) s) =>
        RunAsync(s.L1Minute, s.L1Arrival, s.L2Minute, s.L2Arrival, s.Events).GetAwaiter().GetResult();

    private static int Cap(int drawn) => AuditU100Scenario.TimelineCaps[drawn % AuditU100Scenario.TimelineCaps.Length];

    private async Task RunAsync(int l1Minute, int l1Arrival, int l2Minute, int l2Arrival, U100Event[] events)
    {
        AuditU100Scenario.Read reference;
        await using (var store = await SqliteTestStores.Open(_folder.File(Guid.NewGuid().ToString("N") + ".db")))
        {
            reference = await AuditU100Scenario.RunAsync(AuditU100Scenario.OneIdentityInTimeOrder(events, l1Minute, l2Minute), Cap(l1Arrival), store);
        }

        await using (var store = await SqliteTestStores.Open(_folder.File(Guid.NewGuid().ToString("N") + ".db")))
        {
            var split = await AuditU100Scenario.RunAsync(AuditU100Scenario.Split(events, l1Minute, l1Arrival, l2Minute, l2Arrival), Cap(l1Arrival), store);
            AuditU100Scenario.Read.Same(reference, split, "one identity in time order", "split, generated order, SQLite");
        }
    }
}
