using System.Text;
using Microsoft.Extensions.Time.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>What the conformance kit cannot see: the outbox on disk, across restarts, and in the writer's batches.</summary>
public sealed class OutboxTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task PendingEntry_SurvivesARestart_WithItsLeaseAndAttempt()
    {
        var path = _folder.File();
        await using (var store = await Open(path))
        {
            await store.CommitAsync(Commit("p1", 0, Entry("m1", "p1", T0), Entry("m2", "p1", T0.AddHours(2))));
            Assert.Equal(1, Assert.Single(await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(10), 10)).Attempt);
        }

        await using (var store = await Open(path))
        {
            // The lease taken before the restart still holds; it ends at T0 + 10 min, sooner than m2 is due.
            Assert.Empty(await store.ClaimOutboxAsync(T0.AddMinutes(9), TimeSpan.FromMinutes(10), 10));
            Assert.Equal(T0.AddMinutes(10), await store.GetNextOutboxDueAsync());

            var again = Assert.Single(await store.ClaimOutboxAsync(T0.AddMinutes(10), TimeSpan.FromMinutes(10), 10));
            Assert.Equal(("m1", "p1", 2, T0, "payload-m1"), (again.MessageKey, again.ProfileId, again.Attempt, again.DueAt, Encoding.UTF8.GetString(again.Payload)));
            Assert.True(await store.CompleteOutboxAsync("m1", 2));
        }

        await using (var store = await Open(path))
        {
            // The completed key is remembered on disk: enqueued again, the commit is refused and writes nothing.
            Assert.Equal(CommitStatus.MessageKeyTaken, (await store.CommitAsync(Commit("p1", 1, Entry("m1", "p1", T0)))).Status);
            Assert.Equal(T0.AddHours(2), await store.GetNextOutboxDueAsync());
            Assert.Equal(["m2"], (await store.ClaimOutboxAsync(T0.AddDays(1), TimeSpan.FromMinutes(1), 10)).Select(e => e.MessageKey));
        }
    }

    [Fact]
    public async Task Claim_ReturnsEarliestDueFirstThenKey_AndHonoursTheLimit()
    {
        await using var store = await Open(_folder.File());
        await store.CommitAsync(Commit(
            "p1",
            0,
            Entry("c", "p1", T0.AddMinutes(1)),
            Entry("b", "p1", T0),
            Entry("a", "p1", T0.AddMinutes(1)),
            Entry("d", "p1", T0.AddMinutes(-5))));

        Assert.Equal(["d", "b", "a"], (await store.ClaimOutboxAsync(T0.AddMinutes(1), TimeSpan.FromMinutes(5), 3)).Select(e => e.MessageKey));
        Assert.Equal(["c"], (await store.ClaimOutboxAsync(T0.AddMinutes(1), TimeSpan.FromMinutes(5), 3)).Select(e => e.MessageKey));
    }

    [Fact]
    public async Task ErasedProfile_LosesItsPendingEntries_ButTheirKeysStayUsed()
    {
        await using var store = await Open(_folder.File());
        await store.CommitAsync(Commit("p1", 0, Entry("m1", "p1", T0)));
        await store.CommitAsync(Commit("p2", 0, Entry("m2", "p2", T0)));

        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p1" }));
        var left = Assert.Single(await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10));
        Assert.Equal("m2", left.MessageKey);
        Assert.True(await store.CompleteOutboxAsync("m2", left.Attempt));

        await store.CommitAsync(Commit("p1", 0, Entry("m1", "p1", T0)));
        Assert.Empty(await store.ClaimOutboxAsync(T0.AddDays(1), TimeSpan.FromMinutes(1), 10));
    }

    [Fact]
    public async Task Claim_QueuedBehindACommitInTheSameBatch_SeesItsEntries()
    {
        // The fake clock never moves, so the batch closes only when both operations are in it: one transaction.
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = _folder.File(),
            MaxBatchSize = 2,
            MaxBatchDelay = TimeSpan.FromSeconds(1),
            TimeProvider = new FakeTimeProvider(T0),
        });

        await Task.WhenAll(
            store.CommitAsync(Commit("p1", 0, Entry("m1", "p1", T0))).AsTask(),
            store.CommitAsync(Commit("p2", 0)).AsTask());

        // m1 is due, so the claim goes to the writer, into the same batch as the commit queued before it.
        var commit = store.CommitAsync(Commit("p3", 0, Entry("m2", "p3", T0))).AsTask();
        var claim = store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10).AsTask();

        Assert.Equal(CommitStatus.Committed, (await commit).Status);
        Assert.Equal(["m1", "m2"], (await claim).Select(e => e.MessageKey));
        Assert.Equal(2, store.TransactionCount);
    }

    [Fact]
    public async Task Claim_WhenNothingIsClaimable_DoesNotWaitForTheWriter()
    {
        // A batch closes only when full and the clock is frozen: a claim that went through the writer would never return.
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = _folder.File(),
            MaxBatchSize = 2,
            MaxBatchDelay = TimeSpan.FromHours(1),
            TimeProvider = new FakeTimeProvider(T0),
        });

        Assert.Empty(await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10));
        await Task.WhenAll(
            store.CommitAsync(Commit("p1", 0, Entry("m1", "p1", T0.AddMinutes(1)))).AsTask(),
            store.CommitAsync(Commit("p2", 0)).AsTask());

        Assert.Empty(await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10));
        Assert.Equal((2L, 1L), (store.OperationCount, store.TransactionCount));
    }

    [Fact]
    public async Task Reschedule_WithAStaleAttempt_ChangesNothing()
    {
        await using var store = await Open(_folder.File());
        await store.CommitAsync(Commit("p1", 0, Entry("m1", "p1", T0)));
        var claimed = Assert.Single(await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10));

        Assert.False(await store.RescheduleOutboxAsync("m1", claimed.Attempt + 1, T0));
        Assert.False(await store.RescheduleOutboxAsync("unknown", 1, T0));
        Assert.Equal(T0.AddMinutes(1), await store.GetNextOutboxDueAsync());
        Assert.Empty(await store.ClaimOutboxAsync(T0.AddSeconds(59), TimeSpan.FromMinutes(1), 10));
    }

    [Fact]
    public async Task Commit_WithANullOutboxPayload_IsRefusedBeforeReachingTheWriter()
    {
        await using var store = await Open(_folder.File());
        var bad = new OutboxEntry { MessageKey = "m1", ProfileId = "p1", DueAt = T0, Payload = null! };

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.CommitAsync(Commit("p1", 0, bad)));
        Assert.Null(await store.LoadProfileAsync("p1"));
    }

    private static Task<SqliteOmnichannelStore> Open(string path) =>
        SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });

    private static ProfileCommit Commit(string profileId, long expectedVersion, params OutboxEntry[] outbox) => new()
    {
        ProfileId = profileId,
        ExpectedVersion = expectedVersion,
        Document = "{}"u8.ToArray(),
        ProcessedAt = T0,
        Outbox = outbox,
    };

    private static OutboxEntry Entry(string key, string profileId, DateTimeOffset dueAt) => new()
    {
        MessageKey = key,
        ProfileId = profileId,
        DueAt = dueAt,
        Payload = Encoding.UTF8.GetBytes("payload-" + key),
    };
}
