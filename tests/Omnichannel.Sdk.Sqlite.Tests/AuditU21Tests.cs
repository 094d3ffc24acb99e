using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U21: bug classes from public reports about SQLite as an embedded store (Microsoft.Data.Sqlite, EF Core's
/// provider, Hangfire/Quartz SQLite storage, Jellyfin, Sonarr/Radarr, Litestream, Akavache), replayed on this store.
/// </summary>
public sealed class AuditU21Tests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task AFilePath_WithSpacesAndNonAsciiCharacters_OpensWritesAndReopens()
    {
        // Jellyfin/Radarr reports of data folders under "Program Data" or a user name like "Jérôme" (UTF-8 vs ANSI paths).
        var directory = Path.Combine(_folder.Path, "My Data ä ø 日本 🛒");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "omni store é.db");
        await using (var store = await Open(path))
        {
            Assert.Equal(path, store.FilePath);
            await store.CommitAsync(Commit("p1", "one"));
        }

        await using (var reopened = await Open("Data Source=" + path))
        {
            Assert.Equal("one", Encoding.UTF8.GetString((await reopened.LoadProfileAsync("p1"))!.Document));
            await reopened.CommitAsync(Commit("p2", "two")); // the file-identity check finds the file under that name
        }

        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task TheDataDirectory_NamesTheFileSqliteOpens_AndLaterReadersOpenThatFileToo()
    {
        // Microsoft.Data.Sqlite puts "|DataDirectory|" and relative paths under the "DataDirectory" AppDomain data (or,
        // without it, relative paths under the current directory) each time a connection opens. The store named, checked
        // and watched another file (cwd/"|DataDirectory|macro.db": every write failed as "deleted or moved"), and reader
        // connections opened later followed a changed DataDirectory or current directory to another, empty file.
        var previous = AppDomain.CurrentDomain.GetData("DataDirectory");
        var elsewhere = Path.Combine(_folder.Path, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        AppDomain.CurrentDomain.SetData("DataDirectory", _folder.Path);
        try
        {
            await using var macro = await Open("Data Source=|DataDirectory|macro.db");
            await using var relative = await Open("relative.db");
            Assert.Equal(Path.Combine(_folder.Path, "macro.db"), macro.FilePath);
            Assert.Equal(Path.Combine(_folder.Path, "relative.db"), relative.FilePath);
            foreach (var store in new[] { macro, relative })
            {
                Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", "one"))).Status);
            }

            AppDomain.CurrentDomain.SetData("DataDirectory", elsewhere);
            foreach (var store in new[] { macro, relative })
            {
                // Concurrent reads open new reader connections: they must open the same file.
                var loaded = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () => await store.LoadProfileAsync("p1"))));
                Assert.All(loaded, p => Assert.NotNull(p));
                Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p2", "two"))).Status);
            }

            Assert.Empty(Directory.EnumerateFiles(elsewhere));
        }
        finally
        {
            AppDomain.CurrentDomain.SetData("DataDirectory", previous);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("?mode=memory&cache=shared")]
    public async Task AUriFileName_IsRefusedClearly_NotOpenedAsAnotherFileOrInMemory(string query)
    {
        // "Data Source=file:/path/x.db?…" is a SQLite URI filename, which Microsoft.Data.Sqlite opens as one. The store took
        // it for a relative path under the current directory: refused as a missing directory, or (a relative URI) opened,
        // possibly in memory with "?mode=memory", while it watched a file that never existed, so every write failed.
        var path = _folder.File("uri.db");
        foreach (var uri in new[] { new Uri(path).AbsoluteUri + query, "file:uri.db" + query })
        {
            var ex = await Assert.ThrowsAsync<ArgumentException>(() => Open("Data Source=" + uri));
            Assert.Contains("URI", ex.Message, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task AfterDispose_NoHandleOnTheFileRemains_EvenWithPoolingOnInTheConnectionString()
    {
        // Microsoft.Data.Sqlite 6+ pools connections, so a disposed DbContext/connection kept the file open
        // (dotnet/efcore#26580, "file is being used by another process" when deleting it). Readers and the writer must all
        // be closed by Dispose, whatever Pooling says, and SQLite's last close removes the -wal and -shm files.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var path = _folder.File();
        var store = await Open("Data Source=" + path + ";Pooling=True");
        await store.CommitAsync(Commit("p1", "one"));
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () => await store.LoadProfileAsync("p1"))));
        await store.ListProfileIdsAsync(null, 10);
        Assert.NotEmpty(HandlesOn(path));
        await store.DisposeAsync();

        Assert.Empty(HandlesOn(path));
        Assert.False(File.Exists(path + "-wal"));
        Assert.False(File.Exists(path + "-shm"));
        File.Delete(path);
    }

    [Fact]
    public async Task FilesLeftByACrash_TheDatabaseWithItsWalAndShm_OpenWithEveryAcknowledgedCommit()
    {
        // A crash leaves store.db, store.db-wal and store.db-shm, the commits only in the WAL (Litestream/Sonarr reports of
        // "lost" rows after copying the .db alone). Copying the three files of a running store is that state.
        var path = _folder.File();
        var copy = _folder.File("copy.db");
        await using (var store = await Open(path))
        {
            for (var i = 0; i < 20; i++)
            {
                await store.CommitAsync(Commit("p" + i.ToString("D2", CultureInfo.InvariantCulture), "doc-" + i));
            }

            Assert.True(new FileInfo(path + "-wal").Length > 0);
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Copy(path + suffix, copy + suffix);
            }
        }

        await using var reopened = await Open(copy);
        Assert.Equal(20, (await reopened.ListProfileIdsAsync(null, 100)).Count);
        Assert.Equal("doc-19", Encoding.UTF8.GetString((await reopened.LoadProfileAsync("p19"))!.Document));
        await reopened.CommitAsync(Commit("after", "x"));
    }

    [Fact]
    public async Task TwoStoresOnOneFile_WritingTogether_StoreEveryCommit_WithoutDatabaseIsLocked()
    {
        // Two processes on one file (a second instance, a blue/green deploy): WAL allows one writer at a time, and a
        // deferred transaction upgraded to a write fails at once with SQLITE_BUSY whatever the busy timeout
        // (dotnet/efcore#29514, Hangfire.Storage.SQLite "database is locked"). BEGIN IMMEDIATE queues on the busy timeout.
        var path = _folder.File();
        await using var first = await Open(path);
        await using var second = await Open(path);
        var writes = new[] { first, second }.SelectMany((store, s) => Enumerable.Range(0, 150).Select(i => Task.Run(async () =>
        {
            var id = $"s{s}-{i:D3}";
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(id, id))).Status);
            Assert.NotNull(await (s == 0 ? second : first).LoadProfileAsync(id)); // each sees the other's commits
        })));
        await Task.WhenAll(writes).WaitAsync(Guard);

        Assert.Equal(300, (await first.ListProfileIdsAsync(null, 1000)).Count);
    }

    [Fact]
    public async Task AProfileDocumentOverAMegabyte_RoundTripsExactly_AfterReopen()
    {
        // Large values: SQLite's default limit is 1e9 bytes per value, but overflow pages and the WAL must carry them whole.
        var path = _folder.File();
        var document = new byte[3 * 1024 * 1024];
        new Random(21).NextBytes(document);
        await using (var store = await Open(path))
        {
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("big", "") with { Document = document })).Status);
        }

        await using var reopened = await Open(path);
        Assert.Equal(document, (await reopened.LoadProfileAsync("big"))!.Document);
    }

    [Fact]
    public async Task TenThousandOutboxEntries_ClaimedAtOnce_AreEachLeasedOnce_InDueOrder()
    {
        // One claim of 10,000 rows (an outbox backlog after an outage): no "too many SQL variables", one lease each.
        await using var store = await Open(_folder.File());
        for (var c = 0; c < 100; c++)
        {
            var entries = Enumerable.Range(0, 100).Select(i => new OutboxEntry
            {
                MessageKey = $"m{c:D3}-{i:D3}",
                ProfileId = "p" + c.ToString(CultureInfo.InvariantCulture),
                DueAt = T0.AddSeconds(i),
                Payload = Encoding.UTF8.GetBytes("payload"),
            }).ToArray();
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p" + c.ToString(CultureInfo.InvariantCulture), "{}") with { Outbox = entries })).Status);
        }

        var claimed = await store.ClaimOutboxAsync(T0.AddHours(1), TimeSpan.FromMinutes(5), 10_000);
        Assert.Equal(10_000, claimed.Count);
        Assert.Equal(10_000, claimed.Select(e => e.MessageKey).Distinct(StringComparer.Ordinal).Count());
        Assert.True(claimed.Zip(claimed.Skip(1)).All(p => p.First.DueAt <= p.Second.DueAt));
        Assert.All(claimed, e => Assert.Equal(1, e.Attempt));
        Assert.Empty(await store.ClaimOutboxAsync(T0.AddHours(1), TimeSpan.FromMinutes(5), 10_000));
    }

    [Fact]
    public async Task ABatchOfTenThousandEvents_InOneTrackBatch_IsStoredOnceEach()
    {
        // Hangfire/Quartz SQLite stores failing on large bulk enqueues; here 10,000 events of 1,000 customers at once.
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = _folder.File(), Durability = SqliteDurability.Normal });
        await using var host = OmnichannelTestHost.Create(store: store);
        var events = Enumerable.Range(0, 10_000)
            .Select(i => host.Event(EventTypes.ProductViewed, [Identifier.CustomerId("c" + (i % 1000).ToString("D4", CultureInfo.InvariantCulture))]))
            .ToList();

        var results = await host.Client.TrackBatchAsync(events).WaitAsync(Guard);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.All(await host.Client.TrackBatchAsync(events.Take(50).ToList()), r => Assert.Equal(TrackStatus.Duplicate, r.Status));
        Assert.Equal(10, (await host.Client.GetProfileAsync(Identifier.CustomerId("c0999")))!.Timeline.Count);
    }

    [Fact]
    public async Task IdsDifferingOnlyInCaseOrNormalisation_AreDistinct_AndPageInTheInMemoryOrder()
    {
        // SQLite compares BINARY unless told NOCASE; LIKE folds ASCII case only. Ids and identifier values that differ in
        // case or in Unicode normalisation (NFC "é" vs NFD "e\u0301") are different keys, as in the in-memory store.
        string[] ids = ["ann", "Ann", "ANN", "\u00e9", "e\u0301", "\u212b", "\u00c5", "a_n", "a%n", "z"];
        await using var sqlite = await Open(_folder.File());
        var memory = new InMemoryOmnichannelStore();
        foreach (var store in new IOmnichannelStore[] { sqlite, memory })
        {
            foreach (var id in ids)
            {
                Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(id, id) with { Claims = [new(Identifier.CustomerId(id), null)] })).Status);
            }
        }

        var expected = await memory.ListProfileIdsAsync(null, 100);
        Assert.Equal(ids.Length, expected.Count);
        Assert.Equal(expected, await sqlite.ListProfileIdsAsync(null, 100));
        foreach (var after in ids)
        {
            Assert.Equal(await memory.ListProfileIdsAsync(after, 3), await sqlite.ListProfileIdsAsync(after, 3));
        }

        var owners = await sqlite.ResolveIdentifiersAsync(ids.Select(Identifier.CustomerId).ToList());
        Assert.All(ids, id => Assert.Equal(id, owners[Identifier.CustomerId(id)]));
    }

    [Fact]
    public async Task AForeignDatabase_WhoseOnlyTableNameStartsLikeSqlite_IsRefused_NotMigratedInto()
    {
        // LIKE's '_' is a wildcard: "name NOT LIKE 'sqlite_%'" also skipped a foreign table such as "sqlite3_settings",
        // so a file holding only that table counted as empty and got this store's tables written into it.
        var path = _folder.File();
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE sqlite3_settings (k TEXT, v TEXT); INSERT INTO sqlite3_settings VALUES ('theme', 'dark');";
            command.ExecuteNonQuery();
        }

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(() => Open(path));
        Assert.Contains("another application", ex.Message, StringComparison.Ordinal);
        using var check = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        check.Open();
        using var count = check.CreateCommand();
        count.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'profiles'";
        Assert.Equal(0L, count.ExecuteScalar());
    }

    [Fact]
    public async Task TheWal_StaysBounded_UnderConstantCommitsAndReads()
    {
        // Checkpoint starvation (SQLite wal.html §"Avoiding Excessively Large WAL Files"; Litestream and Jellyfin reports of
        // multi-GB -wal files): the store's own readers hold no snapshot between reads, so automatic checkpoints restart
        // the WAL and it stays near its 1,000-page threshold.
        var path = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path, Durability = SqliteDurability.Normal, SecureDelete = false });
        var document = new byte[8 * 1024];
        for (var i = 0; i < 2_000; i++)
        {
            var id = "p" + (i % 50).ToString(CultureInfo.InvariantCulture);
            var loaded = await store.LoadProfileAsync(id);
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new ProfileCommit { ProfileId = id, ExpectedVersion = loaded?.Version ?? 0, Document = document, ProcessedAt = T0 })).Status);
            await store.ListProfileIdsAsync(null, 5);
        }

        // 2,000 commits of 8 KB wrote ~16 MB of pages; the WAL is a few MB at most.
        Assert.True(new FileInfo(path + "-wal").Length < 8 * 1024 * 1024, $"-wal is {new FileInfo(path + "-wal").Length} bytes");
    }

    [Fact]
    public async Task AnOutsideReaderHoldingASnapshot_DoesNotStallTheWriter_ForFiveBusyTimeoutsPerErasure()
    {
        // Litestream (and a backup or report tool, or sqlite3 left in a transaction) holds a read transaction on the file
        // for long stretches; its docs warn applications that a TRUNCATE checkpoint then waits on the busy handler. The
        // checkpoint after an erasure was tried five times with the full busy timeout, on the writer: every commit
        // queued behind it waited 5 x BusyTimeout (25 s by default) for each erasure. Measured, not slept: the bound is
        // far above a normal erasure and far below the stall.
        var path = _folder.File();
        var busy = TimeSpan.FromSeconds(10);
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path, BusyTimeout = busy });
        await store.CommitAsync(Commit("her", "{\"email\":\"her@example.com\"}"));
        await store.CommitAsync(Commit("other", "{}"));

        using var outside = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        outside.Open();
        using var read = outside.CreateCommand();
        read.CommandText = "BEGIN; SELECT count(*) FROM profiles;";
        read.ExecuteScalar(); // holds the snapshot from before the erasure

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await store.EraseProfileAsync(new ProfileErasure { ProfileId = "her", SuppressionHashes = ["h1"] }).AsTask().WaitAsync(Guard);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("next", "{}")).AsTask().WaitAsync(Guard)).Status);
        clock.Stop();
        Assert.True(clock.Elapsed < busy * 2, $"an erasure and the next commit took {clock.Elapsed} beside an outside reader");

        read.CommandText = "COMMIT";
        read.ExecuteNonQuery();
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("later", "{}"))).Status);
        Assert.Equal(0, new FileInfo(path + "-wal").Length); // the pending checkpoint emptied the WAL once the reader let go
    }

    private static Task<SqliteOmnichannelStore> Open(string connectionString) =>
        SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = connectionString });

    private static ProfileCommit Commit(string id, string document) => new()
    {
        ProfileId = id,
        ExpectedVersion = 0,
        Document = Encoding.UTF8.GetBytes(document),
        ProcessedAt = T0,
    };

    private static List<string> HandlesOn(string path)
    {
        var found = new List<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith(path, StringComparison.Ordinal))
                {
                    found.Add(target);
                }
            }
            catch (IOException)
            {
                // closed while listing
            }
        }

        return found;
    }
}
