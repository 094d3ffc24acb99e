using FsCheck.Xunit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// The SQLite replay's statements: the store keeps the earliest wake-ups in memory (its own commits and erasures keep
/// them right; another connection's commit is seen through PRAGMA data_version), and a commit writes only the segment
/// rows that change.
/// </summary>
public sealed class SqliteReplayStatementTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new(T0);

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task TheNextWakeUp_AskedAgainWithoutAWriteOfAnotherConnection_IsNotReadFromTheFileAgain()
    {
        await using var store = await Open(_folder.File());
        await store.CommitAsync(Commit("p1", 0, T0.AddHours(2)));
        Assert.Equal(T0.AddHours(2), Assert.Single(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).WakeAt);
        var reads = store.DueQueryCount;

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("p1", Assert.Single(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).ProfileId);
            Assert.Empty(await store.GetDueProfilesAsync(T0.AddHours(1), 512));
        }

        // The store's own commits keep the list right without a read: an earlier wake-up comes first, a later one not.
        await store.CommitAsync(Commit("p2", 0, T0.AddHours(1)));
        await store.CommitAsync(Commit("p3", 0, T0.AddHours(3)));
        Assert.Equal(["p2"], (await store.GetDueProfilesAsync(T0.AddMinutes(90), 512)).Select(w => w.ProfileId));
        Assert.Equal(["p2", "p1"], (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 2)).Select(w => w.ProfileId));
        Assert.Equal(reads, store.DueQueryCount);

        // Past what the list is known to hold (p3 came after its last entry): read from the file.
        Assert.Equal(["p2", "p1", "p3"], (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 3)).Select(w => w.ProfileId));
        Assert.Equal(reads + 1, store.DueQueryCount);
    }

    [Fact]
    public async Task AWakeUpCommittedOrRemovedByASecondStoreOnTheSameFile_IsSeenByTheFirst()
    {
        var path = _folder.File();
        await using var first = await Open(path);
        await using var second = await Open(path);
        await first.CommitAsync(Commit("p1", 0, T0.AddHours(2)));
        Assert.Equal("p1", Assert.Single(await first.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).ProfileId);

        await second.CommitAsync(Commit("p2", 0, T0.AddHours(1)));
        Assert.Equal("p2", Assert.Single(await first.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).ProfileId);

        // The other store moves p2 later and erases p1: the first store answers from the file, not from its list.
        await second.CommitAsync(Commit("p2", 1, T0.AddHours(5)));
        Assert.True(await second.EraseProfileAsync(new ProfileErasure { ProfileId = "p1" }));
        Assert.Empty(await first.GetDueProfilesAsync(T0.AddHours(4), 512));
        Assert.Equal(T0.AddHours(5), Assert.Single(await first.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).WakeAt);
    }

    [Fact]
    public async Task OwnWrites_MovingRemovingOrRefused_KeepTheListRight()
    {
        await using var store = await Open(_folder.File());
        await store.CommitAsync(Commit("p1", 0, T0.AddHours(1)));
        await store.CommitAsync(Commit("p2", 0, T0.AddHours(2)));
        await store.CommitAsync(Commit("p3", 0, T0.AddHours(3)));
        Assert.Equal("p1", Assert.Single(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).ProfileId);

        // A refused commit (stale version) writes nothing, so its earlier wake-up is not the next one.
        Assert.Equal(CommitStatus.Conflict, (await store.CommitAsync(Commit("p3", 0, T0.AddMinutes(1)))).Status);
        Assert.Equal("p1", Assert.Single(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).ProfileId);

        // The earliest moved later, then erased; a merge removes the absorbed profile's wake-up.
        await store.CommitAsync(Commit("p1", 1, T0.AddHours(4)));
        Assert.Equal(["p2", "p3", "p1"], (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 5)).Select(w => w.ProfileId));
        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p2" }));
        Assert.Equal("p3", Assert.Single(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).ProfileId);
        await store.CommitAsync(Commit("p1", 2, null) with { Absorbed = [new AbsorbedProfile("p3", 1)] });
        Assert.Empty(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 5));
    }

    [Fact]
    public async Task AWakeUpTrackedThroughASecondStoreOnTheSameFile_IsRunByTheFirstEnginesVirtualClock()
    {
        var path = _folder.File();
        await using var first = await Open(path);
        await using var second = await Open(path);
        await using var engine = NewEngine(first, _time);
        await using var other = NewEngine(second, new FakeTimeProvider(T0));
        Assert.Null(await engine.GetNextWakeUpAsync()); // the first store now knows of no wake-up

        var tracked = await other.TrackAsync(Order("o1", "c1"));
        Assert.True(tracked.IsAcknowledged);
        Assert.NotNull(await engine.GetNextWakeUpAsync());
        Assert.Equal([tracked.ProfileId!], await first.ListSegmentMembersAsync("active-90d", null, 10));

        await engine.AdvanceVirtualClockAsync(T0.AddDays(91), _time.SetUtcNow);
        Assert.Empty(await first.ListSegmentMembersAsync("active-90d", null, 10)); // the window closed: the wake-up ran
        Assert.Null(await engine.GetNextWakeUpAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AWakeUpRemovedByErasure_IsNotRun(bool erasedThroughASecondStore)
    {
        var path = _folder.File();
        await using var first = await Open(path);
        await using var second = await Open(path);
        await using var engine = NewEngine(first, _time);
        await using var other = NewEngine(second, new FakeTimeProvider(T0));
        var tracked = await engine.TrackAsync(Order("o1", "c1"));
        Assert.NotNull(await engine.GetNextWakeUpAsync());

        Assert.True(await (erasedThroughASecondStore ? other : engine).EraseProfileAsync(Identifier.CustomerId("c1")));
        Assert.Null(await engine.GetNextWakeUpAsync());

        // A wake-up still listed would be run (and found gone: "stays due after running").
        await engine.AdvanceVirtualClockAsync(T0.AddDays(91), _time.SetUtcNow);
        Assert.Null(await first.LoadProfileAsync(tracked.ProfileId!));
    }

    /// <summary>
    /// Any sequence of commits and erasures by two stores on one file: every answer of the first store's
    /// GetDueProfilesAsync is what the rows say (a model of them).
    /// </summary>
    [Property(MaxTest = 40)]
    public void DueWakeUps_AfterAnyWritesOfTwoStores_AreWhatTheRowsSay(byte[] script)
    {
        RunScriptAsync(script ?? []).GetAwaiter().GetResult();
    }

    [Fact]
    public async Task ACommitChangingTheSegmentSet_WritesOnlyTheRowsThatLeaveOrArrive()
    {
        var path = _folder.File();
        await using var store = await Open(path);
        await store.CommitAsync(Commit("p1", 0, null) with { Segments = ["a", "b", "c"] });
        using (var connection = new SqliteConnection("Data Source=" + path))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText =
                "CREATE TABLE segment_log (what TEXT NOT NULL); " +
                "CREATE TRIGGER log_delete AFTER DELETE ON segment_members BEGIN INSERT INTO segment_log VALUES ('-' || old.segment_id); END; " +
                "CREATE TRIGGER log_insert AFTER INSERT ON segment_members BEGIN INSERT INTO segment_log VALUES ('+' || new.segment_id); END;";
            command.ExecuteNonQuery();
        }

        await store.CommitAsync(Commit("p1", 1, null) with { Segments = ["a", "c", "d"] });
        await store.CommitAsync(Commit("p1", 2, null) with { Segments = ["d", "c", "a"] }); // the same set: no row written
        foreach (var segment in new[] { "a", "c", "d" })
        {
            Assert.Equal(["p1"], await store.ListSegmentMembersAsync(segment, null, 5));
        }

        Assert.Empty(await store.ListSegmentMembersAsync("b", null, 5));
        using var check = new SqliteConnection("Data Source=" + path);
        check.Open();
        using var read = check.CreateCommand();
        read.CommandText = "SELECT what FROM segment_log ORDER BY rowid";
        var log = new List<string>();
        using (var rows = read.ExecuteReader())
        {
            while (rows.Read())
            {
                log.Add(rows.GetString(0));
            }
        }

        Assert.Equal(["-b", "+d"], log);
    }

    [Fact]
    public async Task SeveralIdentifiersOrTombstones_AreLookedUpInOneStatement_WithTheSameAnswers()
    {
        await using var store = await Open(_folder.File());
        var email = Identifier.Email("ann@example.com");
        var phone = Identifier.Phone("+441234");
        await store.CommitAsync(Commit("p1", 0, null) with { Claims = [new IdentifierClaim(email, null)] });
        await store.CommitAsync(Commit("p2", 0, null) with { Claims = [new IdentifierClaim(phone, null)] });
        Assert.True(await store.EraseProfileAsync(new ProfileErasure
        {
            ProfileId = "p2",
            Tombstones = [new Tombstone("h2", T0, true), new Tombstone("h1", T0.AddDays(1), false)],
        }));

        var owners = await store.ResolveIdentifiersAsync([email, Identifier.CustomerId("c9"), email, new Identifier("email", "\uD800x"), phone]);
        Assert.Equal(new Dictionary<Identifier, string> { [email] = "p1" }, owners);

        // The answer keeps the order asked in, once per hash; a hash never erased is not in it.
        Assert.Equal(
            [new Tombstone("h1", T0.AddDays(1), false), new Tombstone("h2", T0, true)],
            await store.FindTombstonesAsync(["h1", "h3", "h2", "h1", "\uDC00"]));
    }

    [Fact]
    public async Task AClaimReadWithTheCommitsChecks_RefusesAStaleOwner_AloneOrWithOthers()
    {
        await using var store = await Open(_folder.File());
        var email = Identifier.Email("ann@example.com");
        var phone = Identifier.Phone("+441234");
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", 0, null) with { Claims = [new IdentifierClaim(email, null)] })).Status);

        Assert.Equal(CommitStatus.Conflict, (await store.CommitAsync(Commit("p2", 0, null) with { Claims = [new IdentifierClaim(email, null)] })).Status);
        Assert.Equal(CommitStatus.Conflict, (await store.CommitAsync(Commit("p2", 0, null) with { Claims = [new IdentifierClaim(phone, null), new IdentifierClaim(email, null)] })).Status);
        Assert.Null(await store.LoadProfileAsync("p2"));

        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p2", 0, null) with { Claims = [new IdentifierClaim(email, "p1")] })).Status);
        Assert.Equal("p2", (await store.ResolveIdentifiersAsync([email]))[email]);
    }

    private async Task RunScriptAsync(byte[] script)
    {
        using var folder = new TempFolder();
        var path = folder.File();
        await using var first = await Open(path);
        await using var second = await Open(path);
        var stores = new[] { first, second };
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        var wakes = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < script.Length; i += 2)
        {
            var (op, arg) = (script[i], script[i + 1]);
            var id = "p" + (arg % 6);
            var store = stores[(op >> 4) & 1];
            switch (op % 4)
            {
                case 0 or 1:
                    // Set (or, for op 1 and an odd arg, clear) the profile's wake-up.
                    DateTimeOffset? at = op % 4 == 1 && arg % 2 == 1 ? null : T0.AddMinutes(arg % 7);
                    var version = versions.GetValueOrDefault(id);
                    Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(id, version, at))).Status);
                    versions[id] = version + 1;
                    if (at is { } set)
                    {
                        wakes[id] = set;
                    }
                    else
                    {
                        wakes.Remove(id);
                    }

                    break;
                case 2:
                    Assert.Equal(versions.ContainsKey(id), await store.EraseProfileAsync(new ProfileErasure { ProfileId = id }));
                    versions.Remove(id);
                    wakes.Remove(id);
                    break;
            }

            // Every step ends with a look from the first store, so that its list is in use for the next write.
            var dueBy = arg % 3 == 0 ? DateTimeOffset.MaxValue : T0.AddMinutes(arg % 8);
            var limit = 1 + (op >> 5) % 4;
            var expected = wakes.Where(w => w.Value <= dueBy).OrderBy(w => w.Value).ThenBy(w => w.Key, StringComparer.Ordinal).Take(limit).Select(w => (w.Key, w.Value));
            Assert.Equal(expected, (await first.GetDueProfilesAsync(dueBy, limit)).Select(w => (w.ProfileId, w.WakeAt)));
        }
    }

    private static ProfileCommit Commit(string id, long expectedVersion, DateTimeOffset? wakeAt) => new()
    {
        ProfileId = id,
        ExpectedVersion = expectedVersion,
        Document = "{}"u8.ToArray(),
        WakeAt = wakeAt,
    };

    private CustomerEvent Order(string id, string customer) => new()
    {
        Id = id,
        Type = EventTypes.OrderPlaced,
        Timestamp = _time.GetUtcNow(),
        Identifiers = [Identifier.CustomerId(customer)],
    };

    private static OmnichannelEngine NewEngine(IOmnichannelStore store, TimeProvider time)
    {
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        options.Segments.Add(SegmentJson.ParseMany("""[{ "id": "active-90d", "name": "Active", "rule": { "event": "order.placed", "within": "P90D" } }]""").Value![0]);
        return new OmnichannelEngine(options, store, time);
    }

    private static Task<SqliteOmnichannelStore> Open(string path) => SqliteTestStores.Open(path);
}
