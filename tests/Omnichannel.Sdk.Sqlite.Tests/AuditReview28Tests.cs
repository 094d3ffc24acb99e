using System.Text;
using Microsoft.Data.Sqlite;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Review of the twenty-eighth session's changes to the SQLite store (audit U21): probes that held.</summary>
public sealed class AuditReview28Tests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // A file literally named "file.db" / "filex.db" / "file-store.db", or with other keys such as Cache=Shared, is a path,
    // not a URI: only a Data Source beginning "file:" is refused.
    [Theory]
    [InlineData("file.db", "Data Source={0}")]
    [InlineData("filex.db", "{0}")]
    [InlineData("file-store.db", "Data Source={0};Cache=Shared;Foreign Keys=True")]
    [InlineData("file.db", "Data Source=\"{0}\";Default Timeout=3")]
    public async Task APathWhoseNameStartsWithFile_IsAPath_AndOpensThatFile(string name, string format)
    {
        var path = Path.Combine(_folder.Path, name);
        await using (var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, path) }))
        {
            Assert.Equal(path, store.FilePath);
            await store.CommitAsync(Commit("p1", "one"));
            Assert.Equal("one", Encoding.UTF8.GetString((await store.LoadProfileAsync("p1"))!.Document));
        }

        Assert.True(File.Exists(path));
    }

    [Theory]
    [InlineData("File:{0}")]
    [InlineData("Data Source=FILE:{0}?mode=rwc")]
    public async Task AUriFileName_InAnyCase_IsRefused(string format)
    {
        var path = Path.Combine(_folder.Path, "u.db");
        await Assert.ThrowsAsync<ArgumentException>(() => SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, path) }));
        Assert.False(File.Exists(path));
    }

    // The escaped LIKE still skips SQLite's own tables: a file with only sqlite_stat1 (ANALYZE) and sqlite_sequence
    // (AUTOINCREMENT, table dropped) is empty and gets this store's schema; a zero-byte file too.
    [Fact]
    public async Task AFileWithOnlySqlitesOwnTables_OrNoBytes_IsEmpty_AndMigrates()
    {
        var analysed = Path.Combine(_folder.Path, "analysed.db");
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = analysed, Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, x); INSERT INTO t (x) VALUES (1); CREATE INDEX tx ON t (x); ANALYZE; DROP TABLE t;";
            command.ExecuteNonQuery();
            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE name IN ('sqlite_stat1', 'sqlite_sequence')";
            Assert.Equal(2L, command.ExecuteScalar());
        }

        var empty = Path.Combine(_folder.Path, "empty.db");
        File.WriteAllBytes(empty, []);
        foreach (var path in new[] { analysed, empty })
        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
            await store.CommitAsync(Commit("p1", "one"));
            Assert.Equal("one", Encoding.UTF8.GetString((await store.LoadProfileAsync("p1"))!.Document));
        }
    }

    // The 100 ms cap is min(BusyTimeout, 100 ms): a busy timeout of zero or below 100 ms still truncates the WAL at an
    // erasure when no outside reader holds it, and the writer's busy timeout is restored afterwards.
    [Theory]
    [InlineData(0)]
    [InlineData(30)]
    [InlineData(5000)]
    public async Task AnErasureWithNoOutsideReader_TruncatesTheWalAtOnce_WhateverTheBusyTimeout(int busyMs)
    {
        var path = Path.Combine(_folder.Path, $"erase-{busyMs}.db");
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path, BusyTimeout = TimeSpan.FromMilliseconds(busyMs) });
        await store.CommitAsync(Commit("p1", "ann.featherstone@example.com"));
        await store.CommitAsync(Commit("p2", "bob.keeper@example.com"));
        Assert.True(new FileInfo(path + "-wal").Length > 0);

        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p1" }));

        Assert.Equal(0, new FileInfo(path + "-wal").Length);
        await store.CommitAsync(Commit("p3", "three"));
        Assert.Equal("three", Encoding.UTF8.GetString((await store.LoadProfileAsync("p3"))!.Document));
        Assert.Null(await store.LoadProfileAsync("p1"));
    }

    // A database path that is a symbolic link: the store keeps the link's path (what the app gave), writes reach the
    // target, an erasure still empties the WAL SQLite keeps beside the target, and the file-identity check does not take
    // the link for a deleted or replaced file.
    [Fact]
    public async Task APathThatIsASymlink_OpensTheTarget_ErasesThroughIt_AndIsNotTakenForAMovedFile()
    {
        var target = Path.Combine(_folder.Path, "real.db");
        var link = Path.Combine(_folder.Path, "link.db");
        File.WriteAllBytes(target, []);
        File.CreateSymbolicLink(link, target);
        await using (var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = "Data Source=" + link }))
        {
            Assert.Equal(link, store.FilePath);
            await store.CommitAsync(Commit("p1", "one"));
            await store.CommitAsync(Commit("p2", "two"));
            Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p1" }));
            Assert.Equal(0, new FileInfo(target + "-wal").Length);
            Assert.False(File.Exists(link + "-wal"));
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p3", "three"))).Status);
        }

        await using var reopened = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = target });
        Assert.Null(await reopened.LoadProfileAsync("p1"));
        Assert.Equal("three", Encoding.UTF8.GetString((await reopened.LoadProfileAsync("p3"))!.Document));
    }

    private static ProfileCommit Commit(string id, string document) => new()
    {
        ProfileId = id,
        ExpectedVersion = 0,
        Document = Encoding.UTF8.GetBytes(document),
        ProcessedAt = T0,
    };
}
