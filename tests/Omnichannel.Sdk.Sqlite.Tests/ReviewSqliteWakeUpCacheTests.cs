using System.Text;
using FsCheck.Xunit;
using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Review of the SQLite store's kept wake-ups (the earliest 64 and a bound, in memory), its segment rows written only
/// when they change, and its look-ups over a JSON array: every answer compared with what the rows say, or with the
/// one-at-a-time look-ups.
/// </summary>
public sealed class ReviewSqliteWakeUpCacheTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    // Ids whose UTF-16 order differs from the stores' code point order (U+E000 against a surrogate pair), and equal prefixes.
    private static readonly string[] OddIds = ["p", "p\uE000", "p\U0001F600", "P", "p0", "p\u00E9", "pe\u0301", "p\"q", "p\\q", "p'q"];

    private static readonly int[] Limits = [1, 2, 3, 5, 63, 64, 65, 200];

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>
    /// One store, any sequence of its own writes (set, move, clear, erase, merge, refused, failing part-way, several in
    /// one batch, the writer hook) over up to 140 profiles, with a second store and a raw connection writing too: every
    /// answer is what the rows say, for limits 1 to 200 and dueBy in the past, on an instant, in the future or MaxValue.
    /// </summary>
    [Property(MaxTest = 200, EndSize = 300)]
    public void DueWakeUps_AfterAnyWrites_AreWhatTheRowsSay(byte[] script)
    {
        RunScriptAsync(script ?? []).GetAwaiter().GetResult();
    }

    [Fact]
    public async Task MoreThan64WakeUps_MovedRemovedAndAtEqualInstants_AreListedByTimeThenId()
    {
        var path = _folder.File();
        await using var store = await Open(path);
        var model = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        var ids = Enumerable.Range(0, 150).Select(i => i < OddIds.Length ? OddIds[i] : "q" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        // All in one go (one or a few batches), 5 instants only: many equal ones, ordered by id.
        await Task.WhenAll(ids.Select((id, i) => store.CommitAsync(Commit(id, 0, T0.AddMinutes(i % 5))).AsTask()));
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            model[id] = T0.AddMinutes(i % 5);
            versions[id] = 1;
        }

        await AssertDue(store, model);

        // The 64th and 65th move later, the first moves past everything, the last kept one is erased, one outside comes first.
        var order = Ordered(model).Select(w => w.Key).ToList();
        foreach (var (id, at) in new[] { (order[63], T0.AddMinutes(3)), (order[64], T0.AddMinutes(4)), (order[0], T0.AddDays(1)), (order[149], T0.AddMinutes(-1)) })
        {
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(id, versions[id], at))).Status);
            versions[id]++;
            model[id] = at;
            await AssertDue(store, model);
        }

        order = Ordered(model).Select(w => w.Key).ToList();
        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = order[63] }));
        model.Remove(order[63]);
        await AssertDue(store, model);

        // A merge absorbing the two earliest into the 10th, which clears its own wake-up.
        var (a, b, survivor) = (order[0], order[1], order[9]);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(survivor, versions[survivor], null) with
        {
            Absorbed = [new AbsorbedProfile(a, versions[a]), new AbsorbedProfile(b, versions[b])],
        })).Status);
        model.Remove(a);
        model.Remove(b);
        model.Remove(survivor);
        await AssertDue(store, model);
    }

    /// <summary>
    /// Many threads commit and ask at once: after a thread's own commit returned, its profile's wake-up (no other thread
    /// writes that profile) is listed at its new instant, never its old one, whether answered from the list or the file.
    /// </summary>
    [Theory]
    [InlineData(8, false, 0)]
    [InlineData(90, false, 0)]
    [InlineData(8, true, 0)]
    [InlineData(16, false, 4000)]
    public async Task GetDueRacingCommits_AfterAnOwnCommitReturned_ListsItsNewInstant(int threads, bool withSecondStore, int later)
    {
        var path = _folder.File();
        await using var store = await Open(path);
        await using var second = await Open(path);

        // Many later wake-ups make a reader's long query slow: a wide window for a commit to land in.
        await Task.WhenAll(Enumerable.Range(0, later).Select(i => store.CommitAsync(Commit("later" + i, 0, T0.AddDays(1))).AsTask()));
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();

        // A second store (another connection) keeps moving wake-ups of profiles nobody checks.
        var noise = withSecondStore ? Task.Run(async () =>
        {
            long v = 0;
            for (var i = 0; !stop.IsCancellationRequested && i < 400; i++)
            {
                await second.CommitAsync(Commit("noise", v++, T0.AddSeconds(i % 7)));
            }
        }) : Task.CompletedTask;

        // Readers asking all the time: a query that started before a commit and ends after it must not fill the list.
        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await store.GetDueProfilesAsync(i % 3 == 0 ? T0.AddSeconds(i % 11) : DateTimeOffset.MaxValue, (i % 4) switch { 0 => 1, 1 => 64, 2 => 1000, _ => 10_000 });
            }
        })).ToList();

        var workers = Enumerable.Range(0, threads).Select(t => Task.Run(async () =>
        {
            var id = "t" + t.ToString("D3", System.Globalization.CultureInfo.InvariantCulture);
            long version = 0;
            for (var round = 0; round < 25; round++)
            {
                // Earlier, later, equal to a neighbour's, or cleared.
                DateTimeOffset? at = round % 5 == 4 ? null : T0.AddSeconds(((t * 7) + (round * 13)) % 11);
                Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(id, version++, at))).Status);
                foreach (var limit in new[] { 1, 64, 1000 })
                {
                    var dueBy = at ?? DateTimeOffset.MaxValue;
                    var due = await store.GetDueProfilesAsync(dueBy, limit);
                    var mine = due.Where(w => w.ProfileId == id).ToList();
                    if (mine.Count > 1 || mine.Any(w => w.WakeAt != at))
                    {
                        failures.Enqueue($"{id} round {round} limit {limit}: listed at {string.Join(",", mine.Select(w => w.WakeAt))}, set to {at}");
                    }

                    // With every row up to its own instant asked for, it must be there (nobody else moves it).
                    if (at is not null && limit == 1000 && mine.Count == 0)
                    {
                        failures.Enqueue($"{id} round {round}: missing at {at}");
                    }

                    if (!IsOrdered(due) || due.Any(w => w.WakeAt > dueBy) || due.Count > limit)
                    {
                        failures.Enqueue($"{id} round {round} limit {limit}: answer out of order or past dueBy");
                    }
                }
            }
        })).ToList();
        await Task.WhenAll(workers);
        await stop.CancelAsync();
        await noise;
        await Task.WhenAll(readers);
        Assert.Empty(failures);

        // Quiet now: the answers are exactly the rows.
        var rows = ReadRows(path);
        foreach (var limit in Limits)
        {
            Assert.Equal(Ordered(rows).Take(limit).Select(w => (w.Key, w.Value)), (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, limit)).Select(w => (w.ProfileId, w.WakeAt)));
        }
    }

    /// <summary>A batch that fails part-way (a constraint), or the writer hook changing wake_at, leaves the list right.</summary>
    [Fact]
    public async Task AFailedCommitOrTheWriterHook_LeavesTheListRight()
    {
        var path = _folder.File();
        await using var store = await Open(path);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("a", 0, T0.AddHours(1)))).Status);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("b", 0, T0.AddHours(2)))).Status);
        Assert.Equal(["a", "b"], (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 5)).Select(w => w.ProfileId));

        // The profile row (and its earlier wake-up) is written before the duplicate event id fails the commit; a neighbour
        // in the same batch commits.
        var failing = store.CommitAsync(Commit("b", 1, T0) with { EventId = "e1", FurtherEventIds = ["e1"] }).AsTask();
        var neighbour = store.CommitAsync(Commit("c", 0, T0.AddMinutes(30))).AsTask();
        await Assert.ThrowsAsync<SqliteException>(() => failing);
        Assert.Equal(CommitStatus.Committed, (await neighbour).Status);
        Assert.Equal(["c", "a", "b"], (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 5)).Select(w => w.ProfileId));
        Assert.Equal(T0.AddHours(2), (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 5))[2].WakeAt);

        await store.ScalarOnWriterAsync("UPDATE profiles SET wake_at = NULL WHERE id = 'c'");
        Assert.Equal(["a", "b"], (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 5)).Select(w => w.ProfileId));

        // A cancelled commit writes nothing.
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.CommitAsync(Commit("a", 1, T0.AddDays(-1)), cancelled.Token));
        Assert.Equal(["a", "b"], (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 5)).Select(w => w.ProfileId));
    }

    /// <summary>A store disposed and opened again on the file, and writes by a raw connection, are read right.</summary>
    [Fact]
    public async Task AStoreReopened_OrARawConnectionWriting_IsReadRight()
    {
        var path = _folder.File();
        var store = await Open(path);
        await store.CommitAsync(Commit("a", 0, T0.AddHours(1)));
        Assert.Single(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1));
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1));

        await using var reopened = await Open(path);
        Assert.Equal("a", Assert.Single(await reopened.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).ProfileId);
        Assert.Equal("a", Assert.Single(await reopened.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).ProfileId); // from the list

        using (var raw = new SqliteConnection("Data Source=" + path + ";Pooling=False"))
        {
            raw.Open();
            using var command = raw.CreateCommand();
            command.CommandText = "UPDATE profiles SET wake_at = $t WHERE id = 'a'";
            command.Parameters.AddWithValue("$t", T0.AddDays(3).UtcTicks);
            command.ExecuteNonQuery();
        }

        Assert.Equal(T0.AddDays(3), Assert.Single(await reopened.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).WakeAt);
        Assert.Empty(await reopened.GetDueProfilesAsync(T0.AddDays(2), 10));
    }

    /// <summary>
    /// Several identifiers or hashes in one statement (a JSON array) answer as one-at-a-time look-ups do, for quotes,
    /// backslashes, control characters, NUL, lone surrogates, emoji, U+E000–U+FFFF, very long values, duplicates,
    /// hundreds in one call and an empty list.
    /// </summary>
    [Fact]
    public async Task SeveralIdentifiersOrTombstones_AnswerAsOneAtATime_ForAnyText()
    {
        var path = _folder.File();
        await using var store = await Open(path);
        var texts = new List<string>
        {
            "plain", "a\"b", "a\\b", "\\\"", "a'b", "a\nb\tc\u0001", "\u007F", "\U0001F600", "x\U0010FFFF", "\uE000", "\uFFFF", "\uFFFD",
            "\u2028\u2029", "</script>", "e\u0301", "\u00E9", "E\u0301", "[\"x\",\"y\"]", "123", "1e3", "null", "true", " ", "",
            new string('\u00E9', 5000) + "\U0001F600", "a\0b", "\uD800", "x\uDC00y",
        };
        var identifiers = texts.SelectMany(t => new[] { new Identifier("email", t), new Identifier(t, "v") }).ToList();
        var claimable = identifiers.Where(i => CanHold(i.Type) && CanHold(i.Value)).ToList();
        for (var i = 0; i < claimable.Count; i += 2)
        {
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("owner" + i, 0, null) with { Claims = [new IdentifierClaim(claimable[i], null)] })).Status);
        }

        // Hundreds more, most unknown, with duplicates.
        var asked = identifiers.Concat(identifiers).Concat(Enumerable.Range(0, 400).Select(i => Identifier.Email("u" + i + "@x"))).ToList();
        var oneByOne = new Dictionary<Identifier, string>();
        foreach (var id in asked.Distinct())
        {
            foreach (var (k, v) in await store.ResolveIdentifiersAsync([id]))
            {
                oneByOne[k] = v;
            }
        }

        Assert.Equal(claimable.Count / 2 + claimable.Count % 2, oneByOne.Count);
        Assert.Equal(oneByOne.OrderBy(p => p.Key.ToString(), StringComparer.Ordinal), (await store.ResolveIdentifiersAsync(asked)).OrderBy(p => p.Key.ToString(), StringComparer.Ordinal));
        var answer = await store.ResolveIdentifiersAsync(asked);
        foreach (var id in claimable)
        {
            Assert.Equal(oneByOne.GetValueOrDefault(id), answer.GetValueOrDefault(id)); // keyed by the identifier asked for
        }

        Assert.Empty(await store.ResolveIdentifiersAsync([]));
        Assert.Empty(await store.ResolveIdentifiersAsync([new Identifier("email", "\uD800"), new Identifier("a\0", "b")]));

        // Tombstones: erased with hashes of every holdable text, asked with all of them (and the rest) twice.
        var hashes = texts.Where(CanHold).ToList();
        Assert.True(await store.EraseProfileAsync(new ProfileErasure
        {
            ProfileId = "owner0",
            Tombstones = [.. hashes.Where((_, i) => i % 2 == 0).Select((h, i) => new Tombstone(h, T0.AddMinutes(i), i % 3 == 0))],
        }));
        var askedHashes = texts.Concat(texts).Concat(Enumerable.Range(0, 300).Select(i => "h" + i)).Reverse().ToList();
        var single = new List<Tombstone>();
        foreach (var h in askedHashes.Distinct(StringComparer.Ordinal))
        {
            single.AddRange(await store.FindTombstonesAsync([h]));
        }

        Assert.Equal((hashes.Count + 1) / 2, single.Count);
        Assert.Equal(single, await store.FindTombstonesAsync(askedHashes));
        Assert.Empty(await store.FindTombstonesAsync([]));
    }

    /// <summary>
    /// Segment sets changed commit after commit, with the same id in two Unicode normalisations or cases, emoji, quotes
    /// and many segments, a profile merged or erased: each segment's members are exactly the model's, paged.
    /// </summary>
    [Property(MaxTest = 100, EndSize = 200)]
    public void SegmentMembers_AfterAnySetChanges_AreWhatWasCommitted(byte[] script)
    {
        RunSegmentScriptAsync(script ?? []).GetAwaiter().GetResult();
    }

    /// <summary>Paging a segment while members arrive and leave never repeats an id and keeps the stores' order.</summary>
    [Fact]
    public async Task ListSegmentMembersPaging_WhileMembersChange_NeverRepeatsAndKeepsOrder()
    {
        await using var store = await Open(_folder.File());
        var ids = Enumerable.Range(0, 60).Select(i => i < OddIds.Length ? OddIds[i] : "m" + i).ToList();
        var versions = ids.ToDictionary(id => id, _ => 0L, StringComparer.Ordinal);
        foreach (var id in ids)
        {
            await store.CommitAsync(Commit(id, versions[id]++, null) with { Segments = ["s", "\u00E9"] });
        }

        var seen = new List<string>();
        string? after = null;
        for (var page = 0; page < 100; page++)
        {
            var got = await store.ListSegmentMembersAsync("s", after, 7);
            if (got.Count == 0)
            {
                break;
            }

            seen.AddRange(got);
            after = got[^1];

            // Between pages: one member leaves, one already listed leaves and comes back.
            var leave = ids[(page * 11) % ids.Count];
            await store.CommitAsync(Commit(leave, versions[leave]++, null) with { Segments = ["\u00E9"] });
            await store.CommitAsync(Commit(leave, versions[leave]++, null) with { Segments = ["\u00E9", "s"] });
        }

        Assert.Equal(seen.Distinct(StringComparer.Ordinal).Count(), seen.Count);
        Assert.Equal(ids.Order(StoredText.Order), seen);
    }

    /// <summary>
    /// Two engines on one SQLite file (events tracked through either, erasures through either) run the same wake-ups
    /// as one engine on the in-memory store: over 64 segment windows, closing at equal and different instants, the
    /// clock moved by the first SQLite engine; members and the next wake-up compared after every step.
    /// </summary>
    [Fact]
    public async Task TwoEnginesOnOneFile_RunTheWakeUpsTheInMemoryStoreRuns()
    {
        var path = _folder.File();
        await using var first = await Open(path);
        await using var second = await Open(path);
        var sqliteTime = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        var otherTime = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        var memoryTime = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        await using var engine = NewEngine(first, sqliteTime);
        await using var other = NewEngine(second, otherTime);
        var memoryStore = new InMemoryOmnichannelStore();
        await using var memory = NewEngine(memoryStore, memoryTime);
        var now = T0;
        for (var step = 0; step < 40; step++)
        {
            // 0 to 6 orders a step (some customers again), through either SQLite engine; every 7th step an erasure.
            for (var k = 0; k < step % 7; k++)
            {
                var customer = "c" + ((step * 5 + k * 3) % 90).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var order = new CustomerEvent
                {
                    Id = "o" + step + "-" + k,
                    Type = EventTypes.OrderPlaced,
                    Timestamp = now,
                    Identifiers = [Identifier.CustomerId(customer)],
                };
                // An erased customer's later orders are refused by both (a tombstone).
                Assert.Equal((await memory.TrackAsync(order)).Status, (await ((step + k) % 2 == 0 ? engine : other).TrackAsync(order)).Status);
            }

            if (step % 7 == 6)
            {
                var erased = Identifier.CustomerId("c" + (step % 90).ToString(System.Globalization.CultureInfo.InvariantCulture));
                await (step % 2 == 0 ? engine : other).EraseProfileAsync(erased);
                await memory.EraseProfileAsync(erased);
            }

            Assert.Equal(await memory.GetNextWakeUpAsync(), await engine.GetNextWakeUpAsync());
            now = now.AddDays(step % 3 == 0 ? 31 : 6);
            otherTime.SetUtcNow(now);
            await engine.AdvanceVirtualClockAsync(now, sqliteTime.SetUtcNow);
            await memory.AdvanceVirtualClockAsync(now, memoryTime.SetUtcNow);
            Assert.Equal(await Members(memoryStore), await Members(first));
            Assert.Equal(await memory.GetNextWakeUpAsync(), await engine.GetNextWakeUpAsync());
        }

        static async Task<List<int>> Members(IOmnichannelStore store)
        {
            // Profile ids differ between stores (generated): compare how many members, page by page.
            var all = new List<string>();
            string? after = null;
            while ((await store.ListSegmentMembersAsync("active-90d", after, 7)) is { Count: > 0 } page)
            {
                all.AddRange(page);
                after = page[^1];
            }

            return [all.Count];
        }
    }

    private static OmnichannelEngine NewEngine(IOmnichannelStore store, TimeProvider time)
    {
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = Omnichannel.Sdk.Testing.OmnichannelTestHost.TestHashKey;
        options.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.ParseMany("""[{ "id": "active-90d", "name": "Active", "rule": { "event": "order.placed", "within": "P90D" } }]""").Value![0]);
        return new OmnichannelEngine(options, store, time);
    }

    private async Task RunScriptAsync(byte[] script)
    {
        using var folder = new TempFolder();
        var path = folder.File();
        await using var store = await Open(path);
        await using var second = await Open(path);
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        var model = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var dead = new HashSet<string>(StringComparer.Ordinal);
        string Id(int n) => n < OddIds.Length ? OddIds[n] : "id" + n.ToString("D3", System.Globalization.CultureInfo.InvariantCulture);
        DateTimeOffset At(int n) => T0.AddMinutes(n % 9);

        // A start of 0 to 139 wake-ups in one go (past 64 often), then the script.
        var start = script.Length == 0 ? 0 : script[0] % 140;
        await Task.WhenAll(Enumerable.Range(0, start).Select(i => store.CommitAsync(Commit(Id(i), 0, At(i))).AsTask()));
        for (var i = 0; i < start; i++)
        {
            versions[Id(i)] = 1;
            model[Id(i)] = At(i);
        }

        for (var i = 1; i + 2 < script.Length; i += 3)
        {
            var (op, arg, arg2) = (script[i], script[i + 1], script[i + 2]);
            var id = Id(arg % 150);
            var version = versions.GetValueOrDefault(id);
            DateTimeOffset? at = arg2 % 10 == 9 ? null : arg2 % 10 == 8 ? DateTimeOffset.MaxValue : At(arg2);

            // An absorbed id has an alias: a new profile of that id would be refused, so it is not written again.
            var touched = new[] { id, Id((arg + 1) % 150), Id((arg + 2) % 150) };
            switch (dead.Overlaps(touched) ? 8 : op % 9)
            {
                case 0 or 1:
                    Assert.Equal(CommitStatus.Committed, (await (op % 2 == 0 ? store : second).CommitAsync(Commit(id, version, at))).Status);
                    Set(id, at);
                    break;
                case 2:
                    Assert.Equal(CommitStatus.Conflict, (await store.CommitAsync(Commit(id, version + 1, at))).Status);
                    break;
                case 3:
                    Assert.Equal(versions.ContainsKey(id), await (arg2 % 2 == 0 ? store : second).EraseProfileAsync(new ProfileErasure { ProfileId = id }));
                    versions.Remove(id);
                    model.Remove(id);
                    break;
                case 4:
                {
                    // Merge: the profile absorbs another existing one (if any).
                    var absorbed = versions.Keys.Where(k => k != id).Order(StringComparer.Ordinal).Skip(arg2 % Math.Max(1, versions.Count)).FirstOrDefault();
                    var commit = Commit(id, version, at) with { Absorbed = absorbed is null ? [] : [new AbsorbedProfile(absorbed, versions[absorbed])] };
                    Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(commit)).Status);
                    Set(id, at);
                    if (absorbed is not null)
                    {
                        dead.Add(absorbed);
                        versions.Remove(absorbed);
                        model.Remove(absorbed);
                    }

                    break;
                }

                case 5:
                {
                    // Several in one batch: one failing part-way (its row written, then a duplicate event id), two kept.
                    var other = Id((arg + 1) % 150);
                    var third = Id((arg + 2) % 150);
                    var tasks = new[]
                    {
                        store.CommitAsync(Commit(other, versions.GetValueOrDefault(other), At(arg2 + 1))).AsTask(),
                        store.CommitAsync(Commit(id, version, T0.AddMinutes(-5)) with { EventId = "dup" + i, FurtherEventIds = ["dup" + i] }).AsTask(),
                        store.CommitAsync(Commit(third, versions.GetValueOrDefault(third), at)).AsTask(),
                    };
                    await Assert.ThrowsAsync<SqliteException>(() => tasks[1]);
                    Assert.Equal(CommitStatus.Committed, (await tasks[0]).Status);
                    Set(other, At(arg2 + 1));
                    Assert.Equal(CommitStatus.Committed, (await tasks[2]).Status);
                    Set(third, at);
                    break;
                }

                case 6:
                    // Another connection, outside any store.
                    using (var raw = new SqliteConnection("Data Source=" + path + ";Pooling=False"))
                    {
                        raw.Open();
                        using var command = raw.CreateCommand();
                        command.CommandText = "UPDATE profiles SET wake_at = $t WHERE id = $id";
                        command.Parameters.AddWithValue("$t", at is { } t ? t.UtcTicks : DBNull.Value);
                        command.Parameters.AddWithValue("$id", id);
                        if (command.ExecuteNonQuery() == 1)
                        {
                            if (at is { } set)
                            {
                                model[id] = set;
                            }
                            else
                            {
                                model.Remove(id);
                            }
                        }
                    }

                    break;
                case 7:
                    await store.ScalarOnWriterAsync("UPDATE profiles SET wake_at = NULL WHERE id = (SELECT id FROM profiles WHERE wake_at IS NOT NULL ORDER BY wake_at, id LIMIT 1)");
                    if (Ordered(model).FirstOrDefault() is { Key: { } first })
                    {
                        model.Remove(first);
                    }

                    break;
                default:
                    break; // a look only
            }

            var dueBy = (arg2 % 5) switch
            {
                0 => DateTimeOffset.MaxValue,
                1 => T0.AddDays(-1),
                2 => At(arg), // on an instant
                3 => At(arg).AddTicks(1),
                _ => T0.AddYears(1),
            };
            var limit = Limits[op % Limits.Length];
            var expected = Ordered(model).Where(w => w.Value <= dueBy).Take(limit).Select(w => (w.Key, w.Value)).ToList();
            Assert.Equal(expected, (await store.GetDueProfilesAsync(dueBy, limit)).Select(w => (w.ProfileId, w.WakeAt)));
            Assert.Equal(expected, (await store.GetDueProfilesAsync(dueBy, limit)).Select(w => (w.ProfileId, w.WakeAt))); // again: the list
            Assert.Equal(Ordered(model).Take(1).Select(w => (w.Key, w.Value)), (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).Select(w => (w.ProfileId, w.WakeAt)));
        }

        Assert.Equal(ReadRows(path).OrderBy(p => p.Key, StringComparer.Ordinal), model.OrderBy(p => p.Key, StringComparer.Ordinal));

        void Set(string profileId, DateTimeOffset? wakeAt)
        {
            versions[profileId] = versions.GetValueOrDefault(profileId) + 1;
            if (wakeAt is { } set)
            {
                model[profileId] = set;
            }
            else
            {
                model.Remove(profileId);
            }
        }
    }

    private async Task RunSegmentScriptAsync(byte[] script)
    {
        using var folder = new TempFolder();
        await using var store = await Open(folder.File());
        string[] segments =
        [
            "vip", "VIP", "Vip", "caf\u00E9", "cafe\u0301", "CAF\u00C9", "\U0001F600", "\uFFFF", "\uE000", "a\"b", "a\\b", "[\"vip\"]",
            "123", "", " ", "\u00DF", "ss", "\u212B", "\u00C5", "A\u030A", .. Enumerable.Range(0, 40).Select(i => "s" + i),
        ];
        string[] profiles = ["p1", "p2", "P1", "p\U0001F600", "p\uE000"];
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        var members = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var dead = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i + 2 < script.Length; i += 3)
        {
            var profile = profiles[script[i] % profiles.Length];
            var version = versions.GetValueOrDefault(profile);
            if (dead.Contains(profile))
            {
                continue; // absorbed: its alias refuses a new profile of that id
            }

            switch (script[i + 1] % 8)
            {
                case 7:
                    Assert.Equal(versions.ContainsKey(profile), await store.EraseProfileAsync(new ProfileErasure { ProfileId = profile }));
                    versions.Remove(profile);
                    members.Remove(profile);
                    break;
                case 6 when versions.Keys.FirstOrDefault(k => k != profile) is { } absorbed:
                    Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(profile, version, null) with
                    {
                        Absorbed = [new AbsorbedProfile(absorbed, versions[absorbed])],
                        Segments = members.GetValueOrDefault(absorbed)?.ToList() ?? [],
                    })).Status);
                    versions[profile] = version + 1;
                    members[profile] = [.. members.GetValueOrDefault(absorbed) ?? []];
                    dead.Add(absorbed);
                    versions.Remove(absorbed);
                    members.Remove(absorbed);
                    break;
                default:
                {
                    // A set of up to ~60 segments picked by the bytes (duplicates in the list included).
                    var seed = script[i + 2];
                    var count = (script[i + 1] * 7 + seed) % (script[i + 1] % 3 == 0 ? 4 : segments.Length + 5);
                    var chosen = Enumerable.Range(0, count).Select(k => segments[(seed * 31 + k * (1 + (seed % 5)) + k * k) % segments.Length]).ToList();
                    Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(profile, version, null) with { Segments = chosen })).Status);
                    versions[profile] = version + 1;
                    members[profile] = new HashSet<string>(chosen, StringComparer.Ordinal);
                    break;
                }
            }

            foreach (var segment in segments)
            {
                var expected = members.Where(m => m.Value.Contains(segment)).Select(m => m.Key).Order(StoredText.Order).ToList();
                var listed = new List<string>();
                string? after = null;
                while (true)
                {
                    var page = await store.ListSegmentMembersAsync(segment, after, 2);
                    listed.AddRange(page);
                    if (page.Count < 2)
                    {
                        break;
                    }

                    after = page[^1];
                }

                Assert.Equal(expected, listed);
            }
        }
    }

    private static async Task AssertDue(SqliteOmnichannelStore store, Dictionary<string, DateTimeOffset> model)
    {
        var ordered = Ordered(model).ToList();
        var instants = ordered.Select(w => w.Value).Distinct().ToList();
        var dueBys = instants.Concat(instants.Select(t => t.AddTicks(-1))).Append(DateTimeOffset.MaxValue).Append(DateTimeOffset.MinValue).ToList();
        foreach (var dueBy in dueBys)
        {
            foreach (var limit in Limits)
            {
                var expected = ordered.Where(w => w.Value <= dueBy).Take(limit).Select(w => (w.Key, w.Value));
                Assert.Equal(expected, (await store.GetDueProfilesAsync(dueBy, limit)).Select(w => (w.ProfileId, w.WakeAt)));
            }
        }
    }

    private static IEnumerable<KeyValuePair<string, DateTimeOffset>> Ordered(Dictionary<string, DateTimeOffset> model) =>
        model.OrderBy(w => w.Value).ThenBy(w => w.Key, StoredText.Order);

    private static bool IsOrdered(IReadOnlyList<ProfileWakeUp> due) =>
        due.Zip(due.Skip(1)).All(p => p.First.WakeAt < p.Second.WakeAt || (p.First.WakeAt == p.Second.WakeAt && StoredText.Compare(p.First.ProfileId, p.Second.ProfileId) < 0));

    private static bool CanHold(string text) => StoredText.CanHold(text);

    private static Dictionary<string, DateTimeOffset> ReadRows(string path)
    {
        using var connection = new SqliteConnection("Data Source=" + path + ";Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, wake_at FROM profiles WHERE wake_at IS NOT NULL";
        using var rows = command.ExecuteReader();
        var found = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        while (rows.Read())
        {
            found[rows.GetString(0)] = new DateTimeOffset(rows.GetInt64(1), TimeSpan.Zero);
        }

        return found;
    }

    private static ProfileCommit Commit(string id, long expectedVersion, DateTimeOffset? wakeAt) => new()
    {
        ProfileId = id,
        ExpectedVersion = expectedVersion,
        Document = Encoding.UTF8.GetBytes("{}"),
        WakeAt = wakeAt,
    };

    private static Task<SqliteOmnichannelStore> Open(string path) => SqliteTestStores.Open(path);
}
