using Omnichannel.Sdk.StoreCancellation;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// Audit U30: what a cancellation token means on the PostgreSQL store. Already cancelled: the call throws
/// <see cref="OperationCanceledException"/> and changes nothing. Cancelled during a write: it is either applied whole
/// and reported, or rolled back and the caller told; the store goes on.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AuditU30PostgreSqlTests(PostgreSqlServer server)
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(1);

    public static TheoryData<string> Cases() => StoreCancellationDriver.CaseNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task APreCancelledToken_Throws_ChangesNothing_AndTheStoreStillWorks(string name)
    {
        await using var store = await OpenAsync("u30_pre_" + (uint)name.GetHashCode(StringComparison.Ordinal));
        await StoreCancellationDriver.PreCancelledChangesNothingAsync(store, name).WaitAsync(Guard);
    }

    // A claim cancelled after the server leased the rows must hand them over: thrown, they would stay leased (unsent)
    // until the lease ran out, with nobody knowing they were claimed.
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(30)]
    public async Task AClaimCancelledPartWay_LeasesExactlyWhatItReturns(int afterMs)
    {
        await using var store = await OpenAsync("u30_claim_" + afterMs);
        const int Entries = 400;
        var payload = new byte[16 * 1024];
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(StoreCancellationDriver.NewProfile("p", "e") with
        {
            Outbox = [.. Enumerable.Range(0, Entries).Select(i => new OutboxEntry { MessageKey = "m" + i, ProfileId = "p", DueAt = StoreCancellationDriver.Now, Payload = payload })],
        })).Status);
        using var cancel = new CancellationTokenSource(afterMs);

        IReadOnlyList<OutboxEntry> claimed = [];
        var outcome = await Record.ExceptionAsync(async () => claimed = await store.ClaimOutboxAsync(StoreCancellationDriver.Now, TimeSpan.FromDays(1), Entries, cancel.Token).AsTask().WaitAsync(Guard));
        Assert.True(outcome is null or OperationCanceledException, outcome?.ToString());

        // What the first claim did not return is free: a second claim at the same instant gets all of it, first attempt.
        var rest = await store.ClaimOutboxAsync(StoreCancellationDriver.Now, TimeSpan.FromDays(1), Entries);
        Assert.Equal(Entries, claimed.Count + rest.Count);
        Assert.All(rest, e => Assert.Equal(1, e.Attempt));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    public async Task WritesCancelledPartWay_AreWholeAndReported_OrAbsentAndCancelled(int afterMs)
    {
        await using var store = await OpenAsync("u30_writes_" + afterMs);
        await StoreCancellationDriver.SeedAsync(store);
        using var cancel = new CancellationTokenSource();
        var commits = Enumerable.Range(0, 100).Select(i => store.CommitAsync(StoreCancellationDriver.NewProfile("c" + i, "ce" + i) with
        {
            Claims = [new(Identifier.Email($"c{i}@x.io"), null)],
        }, cancel.Token).AsTask()).ToList();
        var erase = store.EraseProfileAsync(new ProfileErasure { ProfileId = "p1", SuppressionHashes = ["h1"] }, cancel.Token).AsTask();
        var lift = store.LiftErasureAsync(["h2"], cancel.Token).AsTask();
        cancel.CancelAfter(afterMs);

        for (var i = 0; i < commits.Count; i++)
        {
            var outcome = await Record.ExceptionAsync(() => commits[i].WaitAsync(Guard));
            Assert.True(outcome is null or OperationCanceledException, outcome?.ToString());
            Assert.Equal(outcome is null, await store.LoadProfileAsync("c" + i) is not null);
            Assert.Equal(outcome is null, await store.IsEventProcessedAsync("ce" + i));
        }

        var erased = await Record.ExceptionAsync(() => erase.WaitAsync(Guard));
        Assert.True(erased is null or OperationCanceledException, erased?.ToString());
        Assert.Equal(erased is null, await store.LoadProfileAsync("p1") is null);
        Assert.Equal(erased is null, await store.IsSuppressedAsync("h1"));
        Assert.Equal(erased is null, (await store.ResolveIdentifiersAsync([Identifier.Email("a@example.com")])).Count == 0);

        var lifted = await Record.ExceptionAsync(() => lift.WaitAsync(Guard));
        Assert.True(lifted is null or OperationCanceledException, lifted?.ToString());
        Assert.Equal(lifted is null, !await store.IsSuppressedAsync("h2"));
        Assert.Equal(lifted is null, (await store.FindTombstonesAsync(["h2"])).Count == 0);

        // The pool's sessions are healthy: reads and writes go on.
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(StoreCancellationDriver.NewProfile("after", "after")).AsTask().WaitAsync(Guard)).Status);
        Assert.NotEmpty(await store.ListProfileIdsAsync(null, 10));
    }

    private async Task<PostgreSqlOmnichannelStore> OpenAsync(string database) =>
        await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = await server.DatabaseAsync(database) });
}
