using Omnichannel.Sdk.Storage;

using static Omnichannel.Sdk.Sqlite.Tests.SqliteTestStores;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// The SQLite store's own work per event (issue 14, forty-ninth session): a commit runs only the segment statement that
/// has rows to change, and point reads go to the idle writer connection (whose page cache survives its own commits)
/// while seeing what a pooled reader would: the file's last committed state, another store's commits included.
/// </summary>
public sealed class SqliteStoreCpuTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ACommitWhoseSegmentsOnlyArriveOrOnlyLeave_RunsOnlyThatStatement_AndLeavesTheWantedRows()
    {
        await using var store = await Open(_folder.File());
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", 0, ["a"]))).Status);

        async Task<long> Statements(ProfileCommit commit)
        {
            var before = store.WriterStatementCount;
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(commit)).Status);
            return store.WriterStatementCount - before;
        }

        var unchanged = await Statements(Commit("p1", 1, ["a"]));
        var onlyArrive = await Statements(Commit("p1", 2, ["b", "a"]));
        Assert.Single(await store.ListSegmentMembersAsync("a", null, 10));
        Assert.Single(await store.ListSegmentMembersAsync("b", null, 10));
        var onlyLeave = await Statements(Commit("p1", 3, ["b"]));
        Assert.Empty(await store.ListSegmentMembersAsync("a", null, 10));
        Assert.Single(await store.ListSegmentMembersAsync("b", null, 10));
        var both = await Statements(Commit("p1", 4, ["c"]));
        var allLeave = await Statements(Commit("p1", 5, []));

        // One statement more than an unchanged set (before: a DELETE and an INSERT for any change, two more).
        Assert.Equal(unchanged + 1, onlyArrive);
        Assert.Equal(unchanged + 1, onlyLeave);
        Assert.Equal(unchanged + 2, both);
        Assert.Equal(unchanged + 1, allLeave);
        foreach (var segment in new[] { "a", "b", "c" })
        {
            Assert.Empty(await store.ListSegmentMembersAsync(segment, null, 10));
        }
    }

    [Fact]
    public async Task PointReads_WithTheWriterIdle_AreServedOnTheWriterConnection_AndSeeASecondStoresCommits()
    {
        var path = _folder.File();
        await using var first = await Open(path);
        await using var second = await Open(path);
        var email = Identifier.Email("ann@example.com");
        Assert.Equal(CommitStatus.Committed, (await first.CommitAsync(Commit("p1", 0, []) with { EventId = "e1", Claims = [new IdentifierClaim(email, null)] })).Status);
        var served = first.PointReadsOnWriter;

        // Read once on the first store (its writer's cache now holds the pages), then written by the second store.
        Assert.False(await first.IsEventProcessedAsync("e2"));
        Assert.Null(await first.LoadProfileAsync("p2"));
        var phone = Identifier.Phone("+447700900123");
        Assert.Equal(CommitStatus.Committed, (await second.CommitAsync(Commit("p2", 0, []) with { EventId = "e2", Claims = [new IdentifierClaim(phone, null)] })).Status);
        Assert.Equal(CommitStatus.Committed, (await second.CommitAsync(Commit("p1", 1, []) with { EventId = "e3", Absorbed = [] })).Status);

        Assert.True(await first.IsEventProcessedAsync("e2"));
        Assert.Equal(1, (await first.LoadProfileAsync("p2"))!.Version);
        Assert.Equal(2, (await first.LoadProfileAsync("p1"))!.Version);
        var owners = await first.ResolveIdentifiersAsync([email, phone]);
        Assert.Equal("p1", owners[email]);
        Assert.Equal("p2", owners[phone]);
        Assert.Equal("p2", await first.ResolveProfileIdAsync("p2"));
        Assert.True(first.PointReadsOnWriter >= served + 7, $"{first.PointReadsOnWriter - served} of 7 point reads on the writer");

        // The first store's writer still commits after its reads (no transaction left open by them).
        Assert.Equal(CommitStatus.Committed, (await first.CommitAsync(Commit("p1", 2, []) with { EventId = "e4" })).Status);
        Assert.True(await second.IsEventProcessedAsync("e4"));
    }
}
