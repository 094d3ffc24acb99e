using System.Text;
using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Testing.Conformance;

// The outbox: claims and leases, keys accepted once, entries following merges and erasure, concurrent claimers.
public abstract partial class StoreConformanceTests
{
    /// <summary>Outbox entries are written with their commit, claimed when due, leased, and completed with their attempt as a fence.</summary>
    [Fact]
    public Task Outbox_ClaimLeaseCompleteAndReschedule() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { Outbox = [Entry("m1", "p1", T0), Entry("m2", "p1", T0.AddHours(1))] });

        var first = await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(5), 10);
        var m1 = Assert.Single(first);
        Assert.Equal(("m1", "p1", 1, "payload-m1"), (m1.MessageKey, m1.ProfileId, m1.Attempt, Encoding.UTF8.GetString(m1.Payload)));
        Assert.Empty(await store.ClaimOutboxAsync(T0.AddMinutes(4), TimeSpan.FromMinutes(5), 10));
        Assert.Equal(T0.AddMinutes(5), await store.GetNextOutboxDueAsync());

        // The lease ran out: another claimer takes it, and the first one's fence no longer holds.
        var again = Assert.Single(await store.ClaimOutboxAsync(T0.AddMinutes(5), TimeSpan.FromMinutes(5), 10));
        Assert.Equal(2, again.Attempt);
        Assert.False(await store.CompleteOutboxAsync("m1", 1), "CompleteOutboxAsync(\"m1\", attempt 1) answered true after m1 was claimed again (attempt 2): the attempt is a fence, and a lost lease completes nothing");
        Assert.False(await store.RescheduleOutboxAsync("m1", 1, T0), "RescheduleOutboxAsync(\"m1\", attempt 1) answered true after m1 was claimed again (attempt 2): the attempt is a fence, and a lost lease moves nothing");
        Assert.True(await store.RescheduleOutboxAsync("m1", 2, T0.AddMinutes(30)));
        Assert.Empty(await store.ClaimOutboxAsync(T0.AddMinutes(29), TimeSpan.FromMinutes(5), 10));
        var third = Assert.Single(await store.ClaimOutboxAsync(T0.AddMinutes(30), TimeSpan.FromMinutes(5), 10));
        Assert.Equal(3, third.Attempt);
        Assert.True(await store.CompleteOutboxAsync("m1", 3));
        Assert.False(await store.CompleteOutboxAsync("m1", 3));

        Assert.Equal(T0.AddHours(1), await store.GetNextOutboxDueAsync());
        Assert.Equal(["m2"], (await store.ClaimOutboxAsync(T0.AddDays(1), TimeSpan.FromMinutes(5), 10)).Select(e => e.MessageKey));
    });

    /// <summary>
    /// A pending entry no claimer holds can be brought forward (a message held for the morning of the zone she left); one
    /// that is leased (even past its lease), gone, or already due by then is left as it is. A store that keeps the
    /// interface's default (it never moves an entry, and says so) passes too: the entry then stays due when it was.
    /// </summary>
    [Fact]
    public Task Outbox_AdvanceBringsAFreeEntryForward_Only() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { Outbox = [Entry("m1", "p1", T0.AddHours(10)), Entry("m2", "p1", T0)] });

        Assert.False(await store.AdvanceOutboxAsync("m1", T0.AddHours(11))); // later: not a move forward
        Assert.False(await store.AdvanceOutboxAsync("unknown", T0));
        var moved = await store.AdvanceOutboxAsync("m1", T0.AddHours(1));
        Assert.Equal(["m2"], (await store.ClaimOutboxAsync(T0.AddMinutes(59), TimeSpan.FromMinutes(5), 10)).Select(e => e.MessageKey));
        Assert.False(await store.AdvanceOutboxAsync("m2", T0.AddMinutes(-30))); // leased (a claimer may be sending it)
        var dueAt = moved ? T0.AddHours(1) : T0.AddHours(10);
        Assert.DoesNotContain(await store.ClaimOutboxAsync(dueAt.AddTicks(-1), TimeSpan.FromMinutes(5), 10), e => e.MessageKey == "m1");
        var m1 = Assert.Single(await store.ClaimOutboxAsync(dueAt, TimeSpan.FromMinutes(5), 10), e => e.MessageKey == "m1");
        Assert.Equal(dueAt, m1.DueAt);
    });

    /// <summary>
    /// A claim takes the entries due earliest first across instants (not by key, not in the order they were written), at
    /// most its limit, and every due one up to it: an answer shorter than the limit tells the dispatcher that nothing
    /// more is due, and it waits for the next due instant.
    /// </summary>
    [Fact]
    public Task Outbox_Claims_TakeAtMostTheLimit_EarliestDueFirst() => With(async store =>
    {
        // Keys and the order written run against the due instants.
        await store.CommitAsync(New("p1", "1") with { Outbox = [.. "abcde".Select((k, i) => Entry(k.ToString(), "p1", T0.AddMinutes(5 - i))), Entry("f", "p1", T0.AddHours(1))] });

        async Task Claim(int minutes, int limit, string[] expected)
        {
            var got = (await store.ClaimOutboxAsync(T0.AddMinutes(minutes), TimeSpan.FromHours(1), limit)).Select(e => e.MessageKey);
            AssertKeys(expected, got, $"ClaimOutboxAsync(T0 + {minutes} min, limit {limit})", "a claim leases the due entries earliest due first (not by key, not in the order written), every one up to the limit and no more");
        }

        await Claim(10, 2, ["e", "d"]); // due at T0 + 1 and 2 min
        await Claim(10, 3, ["c", "b", "a"]);
        await Claim(10, 3, []);
        await Claim(60, 5, ["f"]);
    });

    /// <summary>
    /// A message key is accepted once, ever: a later commit carrying it again (pending or sent) is refused with
    /// <see cref="CommitStatus.MessageKeyTaken"/> and writes nothing — the entry would never be sent, so the caller must
    /// not be told it was queued.
    /// </summary>
    [Fact]
    public Task Outbox_AKeyIsEnqueuedOnlyOnce() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { Outbox = [Entry("m1", "p1", T0)] });
        var second = await store.CommitAsync(New("p1", "2") with { ExpectedVersion = 1, Outbox = [Entry("m1", "p1", T0, "other")] });
        Assert.Equal(CommitStatus.MessageKeyTaken, second.Status);
        Assert.Equal(1, (await store.LoadProfileAsync("p1"))!.Version);
        var claimed = Assert.Single(await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10));
        Assert.Equal("payload-m1", Encoding.UTF8.GetString(claimed.Payload));
        Assert.True(await store.CompleteOutboxAsync("m1", claimed.Attempt));

        Assert.Equal(CommitStatus.MessageKeyTaken, (await store.CommitAsync(New("p1", "3") with { ExpectedVersion = 1, Outbox = [Entry("m1", "p1", T0)] })).Status);
        Assert.Empty(await store.ClaimOutboxAsync(T0.AddDays(1), TimeSpan.FromMinutes(1), 10));
        Assert.Null(await store.GetNextOutboxDueAsync());
    });

    /// <summary>
    /// One key reused by the host for two people: the second person's commit is refused (<see cref="CommitStatus.MessageKeyTaken"/>),
    /// nothing of it is written, and the first person's entry is the only one.
    /// </summary>
    [Fact]
    public Task Outbox_AKeyAcceptedForOnePerson_RefusesTheCommitOfAnother() => With(async store =>
    {
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(New("p1", "1") with { Outbox = [Entry("order-42", "p1", T0)] })).Status);
        var other = await store.CommitAsync(New("p2", "2") with { Outbox = [Entry("fresh", "p2", T0), Entry("order-42", "p2", T0, "for p2")] });

        Assert.Equal(CommitStatus.MessageKeyTaken, other.Status);
        Assert.Null(await store.LoadProfileAsync("p2"));
        var claimed = Assert.Single(await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10));
        Assert.Equal(("order-42", "p1", "payload-order-42"), (claimed.MessageKey, claimed.ProfileId, Encoding.UTF8.GetString(claimed.Payload)));
    });

    /// <summary>A commit that fails writes no outbox entry; erasing a profile removes its pending ones; a merge carries them over.</summary>
    [Fact]
    public Task Outbox_FollowsConflictsMergesAndErase() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1"));
        var stale = await store.CommitAsync(New("p1", "x") with { ExpectedVersion = 9, Outbox = [Entry("lost", "p1", T0)] });
        Assert.Equal(CommitStatus.Conflict, stale.Status);
        Assert.Null(await store.GetNextOutboxDueAsync());

        await store.CommitAsync(New("p1", "1b") with { ExpectedVersion = 1, Outbox = [Entry("m1", "p1", T0)] });
        await store.CommitAsync(New("p2", "2") with { Absorbed = [new("p1", 2)], Outbox = [Entry("m2", "p2", T0)] });
        var claimed = await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10);
        Assert.Equal([("m1", "p2"), ("m2", "p2")], claimed.Select(e => (e.MessageKey, e.ProfileId)).OrderBy(x => x.MessageKey));
        foreach (var e in claimed)
        {
            await store.RescheduleOutboxAsync(e.MessageKey, e.Attempt, T0);
        }

        await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p2" });
        Assert.Empty(await store.ClaimOutboxAsync(T0.AddDays(1), TimeSpan.FromMinutes(1), 10));
    });

    /// <summary>Concurrent claimers never lease the same entry.</summary>
    [Fact]
    public Task Outbox_ConcurrentClaimers_NeverShareAnEntry() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { Outbox = [.. Enumerable.Range(0, 60).Select(i => Entry($"m{i:D2}", "p1", T0))] });
        var claims = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            var mine = new List<string>();
            while (await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(5), 3) is { Count: > 0 } batch)
            {
                mine.AddRange(batch.Select(e => e.MessageKey));
            }

            return mine;
        })));
        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(60, all.Count);
        Assert.Equal(60, all.Distinct().Count());
    });
}
