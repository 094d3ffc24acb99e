using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit SP: the same seeded sequences of public-API operations give the same profiles, segment members, messages (and
/// the instants they were handed over at), journey statistics and measurement rows on SQLite as in memory.
/// </summary>
public sealed class AuditStoreParityTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task TheSameOperations_GiveTheSameAnswers_InMemoryAndOnSqlite(int seed)
    {
        var expected = await StoreParityDriver.RunAsync(seed, new InMemoryOmnichannelStore());
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = "Data Source=" + _folder.File() });
        var actual = await StoreParityDriver.RunAsync(seed, store);

        Assert.True(StoreParityDriver.FirstDifference(expected, actual) is null, StoreParityDriver.FirstDifference(expected, actual));
        Assert.Contains(expected, l => l.StartsWith("sent ", StringComparison.Ordinal));
    }
}
