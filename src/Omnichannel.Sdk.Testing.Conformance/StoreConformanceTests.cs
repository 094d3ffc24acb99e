using System.Text;
using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Testing.Conformance;

/// <summary>
/// The storage contract as tests: inherit this class in a test project and return a fresh, empty store from
/// <see cref="CreateStoreAsync"/>. Every store the SDK ships passes it; a host's own store should too.
/// </summary>
public abstract partial class StoreConformanceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Creates a fresh, empty store for one test.</summary>
    protected abstract Task<IOmnichannelStore> CreateStoreAsync();

    /// <summary>Releases a store made by <see cref="CreateStoreAsync"/>.</summary>
    /// <param name="store">The store.</param>
    protected virtual ValueTask DisposeStoreAsync(IOmnichannelStore store) =>
        store is IAsyncDisposable d ? d.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>Loading a profile that was never written gives nothing.</summary>
    [Fact]
    public Task Load_WhenProfileMissing_ReturnsNull() => With(async store =>
    {
        Assert.Null(await store.LoadProfileAsync("p-none"));
        Assert.Null(await store.ResolveProfileIdAsync("p-none"));
        Assert.Empty(await store.ResolveIdentifiersAsync([Identifier.Email("a@x.io")]));
    });

    /// <summary>A first commit creates version 1 with the document and the claims.</summary>
    [Fact]
    public Task Commit_NewProfile_CreatesVersionOneWithClaims() => With(async store =>
    {
        var result = await store.CommitAsync(New("p1", "doc-1", claims: [new(Identifier.Email("a@x.io"), null)], eventId: "e1"));
        Assert.Equal(new CommitResult(CommitStatus.Committed, 1), result);
        var loaded = await store.LoadProfileAsync("p1");
        Assert.NotNull(loaded);
        Assert.Equal(1, loaded.Version);
        Assert.Equal("doc-1", Encoding.UTF8.GetString(loaded.Document));
        Assert.Equal("p1", (await store.ResolveIdentifiersAsync([Identifier.Email("a@x.io"), Identifier.Phone("+4420")]))[Identifier.Email("a@x.io")]);
        Assert.True(await store.IsEventProcessedAsync("e1"));
        Assert.False(await store.IsEventProcessedAsync("e2"));
    });

    /// <summary>A commit against the version it read moves the profile on by one.</summary>
    [Fact]
    public Task Commit_WithExpectedVersion_IncrementsVersion() => With(async store =>
    {
        await store.CommitAsync(New("p1", "v1"));
        var second = await store.CommitAsync(New("p1", "v2") with { ExpectedVersion = 1 });
        Assert.Equal(new CommitResult(CommitStatus.Committed, 2), second);
        Assert.Equal("v2", Encoding.UTF8.GetString((await store.LoadProfileAsync("p1"))!.Document));
    });

    /// <summary>A stale version is a conflict, and nothing of the commit is written.</summary>
    [Fact]
    public Task Commit_WithStaleVersion_ConflictsAndWritesNothing() => With(async store =>
    {
        await store.CommitAsync(New("p1", "v1"));
        await store.CommitAsync(New("p1", "v2") with { ExpectedVersion = 1 });
        var stale = await store.CommitAsync(New("p1", "stale", claims: [new(Identifier.Email("b@x.io"), null)], eventId: "e9") with { ExpectedVersion = 1 });
        Assert.Equal(CommitStatus.Conflict, stale.Status);
        Assert.Equal("v2", Encoding.UTF8.GetString((await store.LoadProfileAsync("p1"))!.Document));
        Assert.Empty(await store.ResolveIdentifiersAsync([Identifier.Email("b@x.io")]));
        Assert.False(await store.IsEventProcessedAsync("e9"));
    });

    /// <summary>Creating a profile whose id exists is a conflict.</summary>
    [Fact]
    public Task Commit_NewProfileWhenIdExists_Conflicts() => With(async store =>
    {
        await store.CommitAsync(New("p1", "v1"));
        Assert.Equal(CommitStatus.Conflict, (await store.CommitAsync(New("p1", "again"))).Status);
    });

    /// <summary>An identifier claimed by someone else since it was read is a conflict; the whole commit is refused.</summary>
    [Fact]
    public Task Commit_WhenClaimedIdentifierChangedOwner_ConflictsAtomically() => With(async store =>
    {
        await store.CommitAsync(New("p1", "v1", claims: [new(Identifier.Email("a@x.io"), null)]));
        var result = await store.CommitAsync(New("p2", "v1", claims: [new(Identifier.Phone("+447700900001"), null), new(Identifier.Email("a@x.io"), null)], eventId: "e2"));
        Assert.Equal(CommitStatus.Conflict, result.Status);
        Assert.Null(await store.LoadProfileAsync("p2"));
        Assert.Empty(await store.ResolveIdentifiersAsync([Identifier.Phone("+447700900001")]));
        Assert.False(await store.IsEventProcessedAsync("e2"));
    });

    /// <summary>Absorbing a profile deletes it, moves its identifiers and leaves an alias to the survivor.</summary>
    [Fact]
    public Task Commit_WithAbsorbedProfile_MovesIdentifiersAndAliases() => With(async store =>
    {
        await store.CommitAsync(New("p1", "one", claims: [new(Identifier.AnonymousId("anon-1"), null)]));
        await store.CommitAsync(New("p2", "two", claims: [new(Identifier.Email("a@x.io"), null)]));
        var merge = await store.CommitAsync(new ProfileCommit
        {
            ProfileId = "p2",
            ExpectedVersion = 1,
            Document = Encoding.UTF8.GetBytes("merged"),
            Claims = [new(Identifier.AnonymousId("anon-1"), "p1")],
            Absorbed = [new AbsorbedProfile("p1", 1)],
            EventId = "e-merge",
            ProcessedAt = T0,
        });
        Assert.Equal(new CommitResult(CommitStatus.Committed, 2), merge);
        Assert.Null(await store.LoadProfileAsync("p1"));
        Assert.Equal("p2", await store.ResolveProfileIdAsync("p1"));
        Assert.Equal("p2", await store.ResolveProfileIdAsync("p2"));
        var owners = await store.ResolveIdentifiersAsync([Identifier.AnonymousId("anon-1"), Identifier.Email("a@x.io")]);
        Assert.Equal("p2", owners[Identifier.AnonymousId("anon-1")]);
        Assert.Equal("p2", owners[Identifier.Email("a@x.io")]);
        Assert.Equal(["p2"], await store.ListProfileIdsAsync(null, 10));
    });

    /// <summary>Aliases chain: a profile merged into one that is merged again still resolves.</summary>
    [Fact]
    public Task ResolveProfileId_FollowsChainedMerges() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1"));
        await store.CommitAsync(New("p2", "2"));
        await store.CommitAsync(New("p3", "3"));
        await store.CommitAsync(New("p2", "2+1") with { ExpectedVersion = 1, Absorbed = [new("p1", 1)] });
        await store.CommitAsync(New("p3", "3+2") with { ExpectedVersion = 1, Absorbed = [new("p2", 2)] });
        Assert.Equal("p3", await store.ResolveProfileIdAsync("p1"));
    });

    /// <summary>Absorbing a profile at a stale version is a conflict.</summary>
    [Fact]
    public Task Commit_WithStaleAbsorbedVersion_Conflicts() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1"));
        await store.CommitAsync(New("p1", "1b") with { ExpectedVersion = 1 });
        await store.CommitAsync(New("p2", "2"));
        var result = await store.CommitAsync(New("p2", "2+1") with { ExpectedVersion = 1, Absorbed = [new("p1", 1)] });
        Assert.Equal(CommitStatus.Conflict, result.Status);
        Assert.NotNull(await store.LoadProfileAsync("p1"));
        Assert.Equal(1, (await store.LoadProfileAsync("p2"))!.Version);
    });

    /// <summary>An event id is applied at most once.</summary>
    [Fact]
    public Task Commit_WithProcessedEventId_ReportsDuplicateAndWritesNothing() => With(async store =>
    {
        await store.CommitAsync(New("p1", "v1", eventId: "e1"));
        var again = await store.CommitAsync(New("p1", "v2", eventId: "e1") with { ExpectedVersion = 1 });
        Assert.Equal(CommitStatus.DuplicateEvent, again.Status);
        Assert.Equal("v1", Encoding.UTF8.GetString((await store.LoadProfileAsync("p1"))!.Document));
    });

    /// <summary>
    /// A store that declares <see cref="IOmnichannelStore.CommitsFurtherEventIds"/> remembers every event id of a commit, and
    /// refuses the whole commit when any of them was processed. (A store that does not is never sent further ids.)
    /// </summary>
    [Fact]
    public Task Commit_WithFurtherEventIds_RemembersEach_AndRefusesAnyProcessedOne() => With(async store =>
    {
        if (!store.CommitsFurtherEventIds)
        {
            Assert.Empty(new ProfileCommit { ProfileId = "p", ExpectedVersion = 0, Document = [] }.FurtherEventIds);
            return;
        }

        var first = await store.CommitAsync(New("p1", "v1", eventId: "e1") with { FurtherEventIds = ["e2", "e3"] });
        Assert.Equal(CommitStatus.Committed, first.Status);
        foreach (var id in new[] { "e1", "e2", "e3" })
        {
            Assert.True(await store.IsEventProcessedAsync(id), id);
        }

        var again = await store.CommitAsync(New("p1", "v2", eventId: "e4") with { ExpectedVersion = first.Version, FurtherEventIds = ["e5", "e3"] });
        Assert.Equal(CommitStatus.DuplicateEvent, again.Status);
        Assert.False(await store.IsEventProcessedAsync("e4"));
        Assert.False(await store.IsEventProcessedAsync("e5"));
        Assert.Equal("v1", Encoding.UTF8.GetString((await store.LoadProfileAsync("p1"))!.Document));
    });

    /// <summary>Purging forgets event ids processed before the cut-off only.</summary>
    [Fact]
    public Task PurgeProcessedEvents_ForgetsOnlyOlderIds() => With(async store =>
    {
        await store.CommitAsync(New("p1", "v1", eventId: "old") with { ProcessedAt = T0 });
        await store.CommitAsync(New("p2", "v1", eventId: "new") with { ProcessedAt = T0.AddDays(10) });
        Assert.Equal(1, await store.PurgeProcessedEventsAsync(T0.AddDays(5)));
        Assert.False(await store.IsEventProcessedAsync("old"));
        Assert.True(await store.IsEventProcessedAsync("new"));
    });

    /// <summary>
    /// Purging in steps forgets each id once its own processing instant is before the cut-off, whatever order the ids were
    /// processed in; an id forgotten at an erasure and processed again later is kept by its new instant.
    /// </summary>
    [Fact]
    public Task PurgeProcessedEvents_InSteps_ForgetEachIdByItsOwnInstant() => With(async store =>
    {
        int[] days = [5, 1, 9, 3, 7, 2, 8];
        for (var i = 0; i < days.Length; i++)
        {
            await store.CommitAsync(New($"p{i}", "v1", eventId: $"e{i}") with { ProcessedAt = T0.AddDays(days[i]) });
        }

        await store.CommitAsync(New("q1", "v1", eventId: "j:q1:m1:sent") with { ProcessedAt = T0.AddDays(1) });
        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "q1" })); // forgets the message's outcome ids
        await store.CommitAsync(New("q2", "v1", eventId: "j:q1:m1:sent") with { ProcessedAt = T0.AddDays(6) });

        Assert.Equal(2, await store.PurgeProcessedEventsAsync(T0.AddDays(3))); // days 1 and 2
        Assert.Equal(0, await store.PurgeProcessedEventsAsync(T0.AddDays(3)));
        Assert.True(await store.IsEventProcessedAsync("j:q1:m1:sent")); // by its second instant (day 6), not its first (day 1)
        Assert.Equal(4, await store.PurgeProcessedEventsAsync(T0.AddDays(8))); // days 3, 5, 6 and 7
        Assert.False(await store.IsEventProcessedAsync("j:q1:m1:sent"));
        string[] left = ["e2", "e6"];
        foreach (var i in Enumerable.Range(0, days.Length))
        {
            Assert.Equal(left.Contains($"e{i}"), await store.IsEventProcessedAsync($"e{i}"));
        }
    });

    /// <summary>Profile ids page in ordinal order.</summary>
    [Fact]
    public Task ListProfileIds_PagesInOrdinalOrder() => With(async store =>
    {
        foreach (var id in new[] { "p05", "p01", "p03", "p02", "p04" })
        {
            await store.CommitAsync(New(id, id));
        }

        Assert.Equal(["p01", "p02"], await store.ListProfileIdsAsync(null, 2));
        Assert.Equal(["p03", "p04"], await store.ListProfileIdsAsync("p02", 2));
        Assert.Equal(["p05"], await store.ListProfileIdsAsync("p04", 2));
        Assert.Empty(await store.ListProfileIdsAsync("p05", 2));
    });

    /// <summary>Many writers racing on one profile with optimistic retries lose no update.</summary>
    [Fact]
    public Task Commit_ConcurrentWritersWithRetry_LoseNoUpdate() => With(async store =>
    {
        await store.CommitAsync(New("p1", "0"));
        const int writers = 8;
        const int incrementsEach = 10;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < incrementsEach; i++)
            {
                while (true)
                {
                    var current = (await store.LoadProfileAsync("p1"))!;
                    var n = int.Parse(Encoding.UTF8.GetString(current.Document), System.Globalization.CultureInfo.InvariantCulture) + 1;
                    var r = await store.CommitAsync(New("p1", n.ToString(System.Globalization.CultureInfo.InvariantCulture), eventId: $"w{w}-{i}") with { ExpectedVersion = current.Version });
                    if (r.Status == CommitStatus.Committed)
                    {
                        break;
                    }

                    Assert.Equal(CommitStatus.Conflict, r.Status);
                }
            }
        })));
        var final = (await store.LoadProfileAsync("p1"))!;
        Assert.Equal((writers * incrementsEach).ToString(System.Globalization.CultureInfo.InvariantCulture), Encoding.UTF8.GetString(final.Document));
        Assert.Equal(1 + (writers * incrementsEach), final.Version);
    });

    /// <summary>
    /// Commits racing at one version, released together, round after round: exactly one wins each round, the others
    /// conflict and write nothing (no event id of theirs is remembered), and the profile moves on by one with the winner's
    /// document. A store that checks the version and then writes in a second step lets several win.
    /// </summary>
    [Fact]
    public Task Commit_RacingAtOneVersion_ExactlyOneWins() => With(async store =>
    {
        await store.CommitAsync(New("p1", "0"));
        for (var round = 1; round <= 20; round++)
        {
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var expected = round;
            var racers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                await go.Task.ConfigureAwait(false);
                return await store.CommitAsync(New("p1", $"{expected}-{w}", eventId: $"r{expected}-{w}") with { ExpectedVersion = expected }).ConfigureAwait(false);
            })).ToArray();
            go.SetResult();
            var results = await Task.WhenAll(racers);

            var winners = Enumerable.Range(0, results.Length).Where(w => results[w].Status == CommitStatus.Committed).ToList();
            Assert.True(winners.Count == 1, $"round {round}: {winners.Count} of {results.Length} commits racing at ExpectedVersion {round} won; exactly one must (check the version and write in one atomic step), the others answer Conflict");
            Assert.All(results, r => Assert.True(r.Status is CommitStatus.Committed or CommitStatus.Conflict, $"round {round}: a commit racing at one version answered {r.Status}; it must answer Committed or Conflict"));
            var loaded = (await store.LoadProfileAsync("p1"))!;
            Assert.Equal((round + 1L, $"{round}-{winners[0]}"), (loaded.Version, Encoding.UTF8.GetString(loaded.Document)));
            foreach (var w in Enumerable.Range(0, results.Length).Where(w => w != winners[0]))
            {
                Assert.False(await store.IsEventProcessedAsync($"r{round}-{w}"), $"round {round}: the commit of event r{round}-{w} answered Conflict, yet its event id is remembered as processed: a refused commit writes nothing");
            }
        }
    });

    /// <summary>Two new profiles racing to claim one identifier: exactly one wins.</summary>
    [Fact]
    public Task Commit_ConcurrentClaimsOfOneIdentifier_ExactlyOneWins() => With(async store =>
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            await store.CommitAsync(New($"p{i}", "x", claims: [new(Identifier.Email("race@x.io"), null)])))));
        Assert.Equal(1, results.Count(r => r.Status == CommitStatus.Committed));
        var owner = (await store.ResolveIdentifiersAsync([Identifier.Email("race@x.io")]))[Identifier.Email("race@x.io")];
        Assert.NotNull(await store.LoadProfileAsync(owner));
        Assert.Single(await store.ListProfileIdsAsync(null, 100));
    });

    /// <summary>
    /// A commit sets, moves and clears the profile's wake-up; due profiles come back earliest first, at most the limit,
    /// and every due one up to it.
    /// </summary>
    [Fact]
    public Task WakeUps_AreSetMovedClearedAndListedInOrder() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { WakeAt = T0.AddDays(3) });
        await store.CommitAsync(New("p2", "2") with { WakeAt = T0.AddDays(1) });
        await store.CommitAsync(New("p3", "3") with { WakeAt = T0.AddDays(2) });
        await store.CommitAsync(New("p4", "4"));

        Assert.Equal(["p2", "p3"], (await store.GetDueProfilesAsync(T0.AddDays(2), 10)).Select(w => w.ProfileId));
        const string Rule = "due wake-ups come earliest first, every one up to the limit and no more";
        AssertKeys(["p2", "p3", "p1"], (await store.GetDueProfilesAsync(T0.AddDays(3), 10)).Select(w => w.ProfileId), "GetDueProfilesAsync(T0 + 3 days, limit 10)", Rule);
        AssertKeys(["p2", "p3"], (await store.GetDueProfilesAsync(T0.AddDays(3), 2)).Select(w => w.ProfileId), "GetDueProfilesAsync(T0 + 3 days, limit 2)", Rule);
        Assert.Equal(["p2"], (await store.GetDueProfilesAsync(T0.AddDays(5), 1)).Select(w => w.ProfileId));
        Assert.Equal(new ProfileWakeUp("p2", T0.AddDays(1)), (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1))[0]);

        await store.CommitAsync(New("p2", "2b") with { ExpectedVersion = 1, WakeAt = T0.AddDays(4) });
        await store.CommitAsync(New("p3", "3b") with { ExpectedVersion = 1 });
        Assert.Equal(["p1", "p2"], (await store.GetDueProfilesAsync(T0.AddDays(10), 10)).Select(w => w.ProfileId));
        Assert.Empty(await store.GetDueProfilesAsync(T0, 10));
    });

    /// <summary>A failed commit leaves the wake-up and memberships as they were; erase and absorb remove them.</summary>
    [Fact]
    public Task WakeUpsAndMemberships_FollowTheProfileThroughConflictMergeAndErase() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { WakeAt = T0.AddDays(1), Segments = ["vip"] });
        await store.CommitAsync(New("p2", "2") with { WakeAt = T0.AddDays(2), Segments = ["vip", "new"] });

        var stale = await store.CommitAsync(New("p1", "1x") with { ExpectedVersion = 7, WakeAt = T0.AddDays(9), Segments = [] });
        Assert.Equal(CommitStatus.Conflict, stale.Status);
        Assert.Equal(["p1", "p2"], await store.ListSegmentMembersAsync("vip", null, 10));
        Assert.Equal(["p1", "p2"], (await store.GetDueProfilesAsync(T0.AddDays(3), 10)).Select(w => w.ProfileId));

        await store.CommitAsync(New("p2", "2+1") with { ExpectedVersion = 1, Absorbed = [new("p1", 1)], WakeAt = T0.AddDays(5), Segments = ["new"] });
        Assert.Empty(await store.ListSegmentMembersAsync("vip", null, 10));
        Assert.Equal(["p2"], await store.ListSegmentMembersAsync("new", null, 10));
        Assert.Equal([new ProfileWakeUp("p2", T0.AddDays(5))], await store.GetDueProfilesAsync(T0.AddDays(10), 10));

        await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p2" });
        Assert.Empty(await store.ListSegmentMembersAsync("new", null, 10));
        Assert.Empty(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10));
    });

    /// <summary>Segment members page in ordinal order of profile id.</summary>
    [Fact]
    public Task ListSegmentMembers_PagesInOrdinalOrder() => With(async store =>
    {
        foreach (var id in new[] { "p05", "p01", "p03", "p02", "p04" })
        {
            await store.CommitAsync(New(id, id) with { Segments = id == "p03" ? ["other"] : ["s1", "other"] });
        }

        Assert.Equal(["p01", "p02"], await store.ListSegmentMembersAsync("s1", null, 2));
        Assert.Equal(["p04", "p05"], await store.ListSegmentMembersAsync("s1", "p02", 2));
        Assert.Empty(await store.ListSegmentMembersAsync("s1", "p05", 2));
        Assert.Equal(5, (await store.ListSegmentMembersAsync("other", null, 100)).Count);
        Assert.Empty(await store.ListSegmentMembersAsync("nobody", null, 100));
    });

    /// <summary>Runs a test against a fresh store and disposes it afterwards.</summary>
    /// <param name="test">The test body.</param>
    protected async Task With(Func<IOmnichannelStore, Task> test)
    {
        ArgumentNullException.ThrowIfNull(test);
        var store = await CreateStoreAsync().ConfigureAwait(false);
        try
        {
            await test(store).ConfigureAwait(false);
        }
        finally
        {
            await DisposeStoreAsync(store).ConfigureAwait(false);
        }
    }

    private static ProfileCommit New(string id, string document, IReadOnlyList<IdentifierClaim>? claims = null, string? eventId = null) => new()
    {
        ProfileId = id,
        ExpectedVersion = 0,
        Document = Encoding.UTF8.GetBytes(document),
        Claims = claims ?? [],
        EventId = eventId,
        ProcessedAt = T0,
    };

    private static OutboxEntry Entry(string key, string profileId, DateTimeOffset dueAt, string? payload = null) => new()
    {
        MessageKey = key,
        ProfileId = profileId,
        DueAt = dueAt,
        Payload = Encoding.UTF8.GetBytes(payload ?? "payload-" + key),
    };

    // A store author sees the message, not the kit's source line: it says which call answered what, and the rule.
    private static void AssertKeys(string[] expected, IEnumerable<string> actual, string call, string rule)
    {
        var got = actual.ToList();
        Assert.True(got.SequenceEqual(expected, StringComparer.Ordinal), $"{call} answered [{string.Join(", ", got)}], not [{string.Join(", ", expected)}]: {rule}");
    }
}
