using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U86 on one SQLite file: global assignments kept under the share in force (the rows' step), read back after a
/// restart with another <c>GlobalControlShare</c>; merges across the two periods un-count the row they were counted under
/// and count the people whose profiles were in both groups once.
/// </summary>
public sealed class AuditU86SqliteTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task AChangedGlobalControlShare_AndMergesAcrossItsPeriods_KeepAHealthySplitAndCountEachPersonOnce()
    {
        await using var store = await SqliteTestStores.Open(_folder.File());
        var firstGroups = new Dictionary<int, string>();
        await using (var before = OmnichannelTestHost.Create(o => o.Measurement.GlobalControlShare = 0.5, start: Start, store: store))
        {
            for (var i = 0; i < 200; i++)
            {
                await before.TrackAsync("user.signed_up", [Identifier.CustomerId($"c-u86s-{i}")]);
                firstGroups[i] = (await before.ProfileAsync(Identifier.CustomerId($"c-u86s-{i}"))).MeasurementGroup!;
            }
        }

        await using var after = OmnichannelTestHost.Create(o => o.Measurement.GlobalControlShare = 0.05, start: Start.AddDays(1), store: store);
        var both = 0;
        for (var i = 0; i < 200; i++)
        {
            await after.TrackAsync("page.viewed", [Identifier.AnonymousId($"anon-u86s-{i}")]);
            if (i < 40)
            {
                var second = (await after.ProfileAsync(Identifier.AnonymousId($"anon-u86s-{i}"))).MeasurementGroup!;
                both += second == firstGroups[i] ? 0 : 1;
                await after.TrackAsync("user.logged_in", [Identifier.CustomerId($"c-u86s-{i}"), Identifier.AnonymousId($"anon-u86s-{i}")]);
                Assert.Equal(firstGroups[i], (await after.ProfileAsync(Identifier.AnonymousId($"anon-u86s-{i}"))).MeasurementGroup);
            }
        }

        var verdict = await after.Engine.GetGlobalControlVerdictAsync();
        Assert.NotNull(verdict);
        Assert.Equal(360, verdict.Variants.Sum(v => v.Recipients));
        Assert.False(verdict.SampleRatio.Mismatch, $"p = {verdict.SampleRatio.PValue}");
        Assert.InRange(both, 1, 40);
        Assert.Equal(both, verdict.PeopleInBothGroups);
    }
}
