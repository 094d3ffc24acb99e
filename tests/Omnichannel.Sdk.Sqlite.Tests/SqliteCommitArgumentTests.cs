using System.Text;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Arguments the SQLite store's JSON-array statements would otherwise read differently from the in-memory store (review of
/// the SQLite store's kept wake-ups, thirty-ninth session).
/// </summary>
public sealed class SqliteCommitArgumentTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>A null segment id is refused by the call: the JSON array's INSERT OR IGNORE skipped its row, and the commit was kept without it.</summary>
    [Fact]
    public async Task ANullSegmentId_IsRefusedByTheCall_NotCommittedWithoutIt()
    {
        await using var store = await Open(_folder.File());
        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await store.CommitAsync(Commit("p1", T0) with { Segments = ["vip", null!] }));
        Assert.Contains("segment", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Null(await store.LoadProfileAsync("p1"));
        Assert.Empty(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 5));
        Assert.Empty(await store.ListSegmentMembersAsync("vip", null, 5));
    }

    /// <summary>A default identifier (no type, no value) is no one's, asked alone or with others, as in memory.</summary>
    [Fact]
    public async Task ADefaultIdentifier_HasNoOwner_AskedAloneOrWithOthers_AsInMemory()
    {
        await using var store = await Open(_folder.File());
        var memory = new InMemoryOmnichannelStore();
        Assert.Empty(await memory.ResolveIdentifiersAsync([default]));
        Assert.Empty(await store.ResolveIdentifiersAsync([default])); // threw a bind error ("Value must be set") before
        Assert.Empty(await store.ResolveIdentifiersAsync([default, Identifier.Email("ann@example.com")]));
    }

    private static ProfileCommit Commit(string id, DateTimeOffset? wakeAt) => new()
    {
        ProfileId = id,
        ExpectedVersion = 0,
        Document = Encoding.UTF8.GetBytes("{}"),
        WakeAt = wakeAt,
    };

    private static Task<SqliteOmnichannelStore> Open(string path) =>
        SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = "Data Source=" + path });
}
