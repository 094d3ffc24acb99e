using System.Collections;
using System.Reflection;
using FsCheck.Xunit;
using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Storage;

using static Omnichannel.Sdk.Sqlite.Tests.SqliteTestStores;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Review of the SQLite store's own CPU per event (the segment statements run only when rows change, the one-readlink
/// file check, point reads on the idle writer connection): what breaks and what holds.
/// </summary>
public sealed class ReviewSqliteCpuTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // --- The file check -------------------------------------------------------------------------------------------------

    // The file moved away (a backup tool's "mv omnichannel.db omnichannel.db.old") and a new file put at its path: the
    // path no longer names the file the writer writes. The old check saw neither a missing file nor "(deleted)" (the moved
    // file's link is its new name) and the writer went on committing into the moved file, which new connections never see.
    [Fact]
    public async Task AFileMovedAway_AndAnotherCreatedAtItsPath_FailsTheNextCommit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // /proc/self/fd is Linux's: elsewhere only a missing file is noticed (StorageFaultTests)
        }

        var path = _folder.File();
        await using var store = await Open(path);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", 0, []))).Status);

        File.Move(path, path + ".old");
        var other = _folder.File("other.db");
        await using (var second = await Open(other))
        {
            await second.CommitAsync(Commit("x", 0, []));
        }

        File.Copy(other, path);

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(async () => await store.CommitAsync(Commit("p2", 0, [])));
        Assert.Contains("was replaced", ex.Message, StringComparison.Ordinal);
    }

    // A database reached through a folder that is a symbolic link, under a name that ends like the kernel's mark for a
    // deleted file: the descriptor's link never reads back as the store's path, so the full check answers; it took the
    // name for the mark and failed every commit.
    [Fact]
    public async Task AFileInASymlinkedFolder_NamedLikeTheDeletedMark_Commits_AndIsStillSeenReplaced()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // /proc/self/fd is Linux's: elsewhere only a missing file is noticed (StorageFaultTests)
        }

        var real = Directory.CreateDirectory(Path.Combine(_folder.Path, "real")).FullName;
        var linked = Path.Combine(_folder.Path, "linked");
        Directory.CreateSymbolicLink(linked, real);
        var path = Path.Combine(linked, "omni (deleted)");
        await using var store = await Open(path);
        for (var v = 0; v < 3; v++)
        {
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", v, []))).Status);
        }

        var other = _folder.File("other.db");
        await using (var second = await Open(other))
        {
            await second.CommitAsync(Commit("x", 0, []));
        }

        File.Move(other, path, overwrite: true);
        var ex = await Assert.ThrowsAsync<SqliteStoreException>(async () => await store.CommitAsync(Commit("p2", 0, [])));
        Assert.Contains("was replaced", ex.Message, StringComparison.Ordinal);
    }

    // The folder on the way renamed and a symbolic link left under its old name: the path still names the file (through
    // the link), so commits go on.
    [Fact]
    public async Task AFolderRenamed_AndLinkedBackUnderItsOldName_StillCommits()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // /proc/self/fd is Linux's: elsewhere only a missing file is noticed (StorageFaultTests)
        }

        var folder = Directory.CreateDirectory(Path.Combine(_folder.Path, "data")).FullName;
        var path = Path.Combine(folder, "omni.db");
        await using var store = await Open(path);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", 0, []))).Status);

        Directory.Move(folder, folder + "2");
        Directory.CreateSymbolicLink(folder, folder + "2");
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", 1, []))).Status);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", 2, []))).Status);
        Assert.Equal(3, (await store.LoadProfileAsync("p1"))!.Version);
    }

    // --- Point reads on the writer --------------------------------------------------------------------------------------

    // A caller's collection is enumerated before the writer connection is taken: enumerating it under the writer's gate
    // held every batch behind the caller's code (here: code that waits for a commit, which waited for the gate).
    [Fact]
    public async Task ACallersCollection_IsReadBeforeTheWriterConnectionIsTaken_SoItMayWaitForACommit()
    {
        await using var store = await Open(_folder.File());
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p0", 0, []))).Status);
        var before = store.PointReadsOnWriter;
        var hashes = new WaitingCollection(["h1", "h2"], () => store.CommitAsync(Commit("p1", 0, [])).AsTask());
        var identifiers = new WaitingList([Identifier.Email("ann@example.com"), Identifier.Email("bob@example.com")], () => store.CommitAsync(Commit("p2", 0, [])).AsTask());

        Assert.Empty(await store.FindTombstonesAsync(hashes));
        Assert.Empty(await store.ResolveIdentifiersAsync(identifiers));

        Assert.True(hashes.CommitFinished, "the commit waited for the writer's gate while the caller's collection was read");
        Assert.True(identifiers.CommitFinished, "the commit waited for the writer's gate while the caller's list was read");
        Assert.True(store.PointReadsOnWriter >= before + 2);
    }

    // A point read on a thread that holds the writer's gate with a transaction open on it (the writer's own batch) runs on
    // a reader: it sees the last committed state, never the batch's uncommitted rows, and leaves the transaction as it was.
    [Fact]
    public async Task APointRead_InsideTheWritersOpenTransaction_GoesToAReader_AndSeesOnlyCommittedRows()
    {
        await using var store = await Open(_folder.File());
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", 0, []) with { EventId = "e1" })).Status);
        var gate = (Lock)typeof(SqliteOmnichannelStore).GetField("_writerGate", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(store)!;
        var writer = (SqliteStatements)typeof(SqliteOmnichannelStore).GetField("_writer", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(store)!;
        var onWriter = store.PointReadsOnWriter;

        var (seenInside, seenCommitted) = ReadInsideAnOpenTransaction(store, gate, writer);
        Assert.False(seenInside);
        Assert.True(seenCommitted);
        Assert.Equal(onWriter, store.PointReadsOnWriter);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p2", 0, []))).Status);
        Assert.False(await store.IsEventProcessedAsync("uncommitted"));
    }

    // Another connection's open write transaction (another process mid-batch): a point read on the idle writer neither
    // waits for it nor sees its rows; once it commits, the next point read sees them (no snapshot kept between reads).
    [Fact]
    public async Task APointRead_BesideAnotherConnectionsOpenWrite_DoesNotWait_AndSeesItsCommitAtTheNextRead()
    {
        var path = _folder.File();
        await using var store = await Open(path);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", 0, []))).Status);
        Assert.Null(await store.LoadProfileAsync("p9"));
        using var raw = RawSqlite.Connect(path);
        RawSqlite.Execute(raw, "BEGIN IMMEDIATE");
        RawSqlite.Execute(raw, "INSERT INTO processed_events (event_id, processed_at) VALUES ('other', 0)");
        RawSqlite.Execute(raw, "INSERT INTO profiles (id, version, document) VALUES ('p9', 4, x'7b7d')");
        var onWriter = store.PointReadsOnWriter;

        // The other write stays open until after both reads: a read that waited for it would end in SQLITE_BUSY at the
        // busy timeout (an exception here), not in an answer.
        Assert.False(await store.IsEventProcessedAsync("other"));
        Assert.Null(await store.LoadProfileAsync("p9"));
        Assert.Equal(onWriter + 2, store.PointReadsOnWriter);

        RawSqlite.Execute(raw, "COMMIT");
        Assert.True(await store.IsEventProcessedAsync("other"));
        Assert.Equal(4, (await store.LoadProfileAsync("p9"))!.Version);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", 1, []))).Status);
    }

    // Reads racing the store's disposal: each either answers or says the store is disposed; disposal does not wait for
    // them beyond one statement, and the writer connection is closed once (no read on a closed connection).
    [Fact]
    public async Task PointReads_RacingDisposal_AnswerOrSayDisposed_AndDisposalEnds()
    {
        for (var round = 0; round < 5; round++)
        {
            var store = await Open(_folder.File("race" + round.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".db"));
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", 0, []) with { EventId = "e1" })).Status);
            using var stop = new CancellationTokenSource();
            var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                var answers = 0;
                while (true)
                {
                    try
                    {
                        Assert.True(store.IsEventProcessedAsync("e1").AsTask().GetAwaiter().GetResult());
                        Assert.Equal(1, store.LoadProfileAsync("p1").AsTask().GetAwaiter().GetResult()!.Version);
                        answers++;
                    }
                    catch (ObjectDisposedException)
                    {
                        return answers;
                    }
                }
            })).ToArray();

            var writes = Enumerable.Range(0, 20).Select(i => store.CommitAsync(Commit("q" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), 0, [])).AsTask()).ToArray();
            await store.DisposeAsync();
            Assert.All(await Task.WhenAll(writes), r => Assert.Equal(CommitStatus.Committed, r.Status));
            Assert.True((await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(30))).All(n => n >= 0));
        }
    }

    // Point reads in a tight loop on several threads do not starve the writer: each takes the gate only when free and
    // for one read, so every commit goes through while they spin. A liveness check, not a timing: the bound only turns a
    // starved writer (a hang) into a failure, and the readers are known to be running before the first commit.
    [Fact]
    public async Task PointReadsInATightLoop_DoNotHoldCommitsBack()
    {
        await using var store = await Open(_folder.File());
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p0", 0, []) with { EventId = "e0" })).Status);
        using var stop = new CancellationTokenSource();
        using var running = new CountdownEvent(3);
        var readers = Enumerable.Range(0, 3).Select(t => Task.Run(() =>
        {
            long n = 0;
            while (!stop.IsCancellationRequested)
            {
                _ = store.IsEventProcessedAsync("e0").AsTask().GetAwaiter().GetResult();
                _ = store.LoadProfileAsync("p0").AsTask().GetAwaiter().GetResult();
                if (n++ == 0)
                {
                    running.Signal();
                }
            }

            return n;
        })).ToArray();

        Assert.True(running.Wait(TimeSpan.FromMinutes(1)), "the readers did not start");
        var commits = Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), 0, []))).Status);
            }
        });

        var finished = await Task.WhenAny(commits, Task.Delay(TimeSpan.FromMinutes(1))) == commits;
        await stop.CancelAsync();
        var reads = (await Task.WhenAll(readers)).Sum();
        Assert.True(finished, $"40 commits did not go through beside {reads} tight point reads: the writer is starved");
        await commits;
        for (var i = 1; i <= 40; i++)
        {
            Assert.NotNull(await store.LoadProfileAsync("p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    // --- Segment rows -----------------------------------------------------------------------------------------------------

    /// <summary>
    /// Any sequence of commits over three profiles, each wanting any list of segments (repeats, ids differing only in case,
    /// rows to remove and rows to add at once, none), several in one batch: the rows are always exactly the wanted set.
    /// </summary>
    [Property(MaxTest = 60, EndSize = 60)]
    public void SegmentRows_AfterAnyCommits_AreExactlyTheWantedSets(byte[] script)
    {
        RunSegmentScriptAsync(script ?? []).GetAwaiter().GetResult();
    }

    private static readonly string[] SegmentIds = ["a", "b", "A", "c", "a ", "ä"];

    private async Task RunSegmentScriptAsync(byte[] script)
    {
        await using var store = await Open(_folder.File("seg-" + Guid.NewGuid().ToString("N") + ".db"));
        string[] profiles = ["p0", "p1", "p2"];
        var versions = profiles.ToDictionary(p => p, _ => 0L, StringComparer.Ordinal);
        var model = profiles.ToDictionary(p => p, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        var i = 0;
        while (i < script.Length)
        {
            // A round: one commit for each profile the script picks (at most once each), sent together.
            var round = new List<Task<CommitResult>>();
            var picked = new HashSet<string>(StringComparer.Ordinal);
            var count = 1 + (script[i++] % 3);
            for (var k = 0; k < count && i < script.Length; k++)
            {
                var profile = profiles[script[i++] % 3];
                if (!picked.Add(profile))
                {
                    continue;
                }

                var wanted = new List<string>();
                var n = i < script.Length ? script[i++] % 6 : 0;
                for (var j = 0; j < n && i < script.Length; j++)
                {
                    wanted.Add(SegmentIds[script[i++] % SegmentIds.Length]);
                }

                model[profile] = new HashSet<string>(wanted, StringComparer.Ordinal);
                round.Add(store.CommitAsync(Commit(profile, versions[profile], [.. wanted])).AsTask());
                versions[profile]++;
            }

            Assert.All(await Task.WhenAll(round), r => Assert.Equal(CommitStatus.Committed, r.Status));
            foreach (var segment in SegmentIds)
            {
                var expected = profiles.Where(p => model[p].Contains(segment)).Order(StringComparer.Ordinal).ToList();
                var actual = (await store.ListSegmentMembersAsync(segment, null, 10)).Order(StringComparer.Ordinal).ToList();
                Assert.Equal(expected, actual);
            }
        }
    }

    // Synchronous throughout: the gate is held by this thread, as the writer loop holds it for its batch.
    private static (bool SeenInside, bool SeenCommitted) ReadInsideAnOpenTransaction(SqliteOmnichannelStore store, Lock gate, SqliteStatements writer)
    {
        gate.Enter();
        try
        {
            writer.Execute("BEGIN IMMEDIATE");
            writer.Execute("SAVEPOINT op");
            writer.Execute("INSERT INTO processed_events (event_id, processed_at) VALUES ('uncommitted', 0)");
            var inside = store.IsEventProcessedAsync("uncommitted").AsTask().GetAwaiter().GetResult();
            var committed = store.IsEventProcessedAsync("e1").AsTask().GetAwaiter().GetResult();
            Assert.False(SQLitePCL.raw.sqlite3_get_autocommit(writer.Connection.Handle) != 0, "the read ended the writer's transaction");
            writer.Execute("ROLLBACK");
            return (inside, committed);
        }
        finally
        {
            gate.Exit();
        }
    }

    // --- Helpers ----------------------------------------------------------------------------------------------------------

    /// <summary>A collection whose enumeration starts a commit and waits (bounded) for it, as a caller's code might.</summary>
    private sealed class WaitingCollection(string[] items, Func<Task> commit) : IReadOnlyCollection<string>
    {
        public bool CommitFinished { get; private set; }

        public int Count => items.Length;

        public IEnumerator<string> GetEnumerator()
        {
            CommitFinished = commit().Wait(TimeSpan.FromSeconds(5));
            return ((IEnumerable<string>)items).GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class WaitingList(Identifier[] items, Func<Task> commit) : IReadOnlyList<Identifier>
    {
        public bool CommitFinished { get; private set; }

        public int Count => items.Length;

        public Identifier this[int index] => items[index];

        public IEnumerator<Identifier> GetEnumerator()
        {
            CommitFinished = commit().Wait(TimeSpan.FromSeconds(5));
            return ((IEnumerable<Identifier>)items).GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
