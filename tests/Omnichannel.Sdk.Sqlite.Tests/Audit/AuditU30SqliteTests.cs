using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.StoreCancellation;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U30: what a cancellation token means on the SQLite store. Already cancelled: the call throws
/// <see cref="OperationCanceledException"/> and changes nothing. Cancelled while queued for the writer: the write is
/// either applied whole and reported, or withdrawn and nothing of it written; the writer goes on.
/// </summary>
public sealed class AuditU30SqliteTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(1);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public static TheoryData<string> Cases() => StoreCancellationDriver.CaseNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task APreCancelledToken_Throws_ChangesNothing_AndTheStoreStillWorks(string name)
    {
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = _folder.File() });
        await StoreCancellationDriver.PreCancelledChangesNothingAsync(store, name).WaitAsync(Guard);
    }

    [Fact]
    public async Task ACommitCancelledWhileItsBatchGathers_IsWithdrawn_AndItsNeighboursCommit()
    {
        var time = new FakeTimeProvider(StoreCancellationDriver.Now);
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = _folder.File(),
            MaxBatchSize = 50,
            MaxBatchDelay = TimeSpan.FromSeconds(1),
            TimeProvider = time,
        });
        var gathering = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.BatchDelayStarted = () => gathering.TrySetResult();
        using var cancel = new CancellationTokenSource();

        var withdrawn = store.CommitAsync(StoreCancellationDriver.NewProfile("p1", "e1") with { Claims = [new(Identifier.Email("a@x.io"), null)] }, cancel.Token).AsTask();
        await gathering.Task.WaitAsync(Guard);
        var neighbour = store.CommitAsync(StoreCancellationDriver.NewProfile("p2", "e2")).AsTask();
        await cancel.CancelAsync();
        await AdvanceUntilAsync(time, neighbour);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn.WaitAsync(Guard));
        Assert.Equal(CommitStatus.Committed, (await neighbour.WaitAsync(Guard)).Status);
        Assert.Null(await store.LoadProfileAsync("p1"));
        Assert.False(await store.IsEventProcessedAsync("e1"));
        Assert.Empty(await store.ResolveIdentifiersAsync([Identifier.Email("a@x.io")]));

        // The same commit again, without the token: nothing of the first was left to conflict with.
        var again = store.CommitAsync(StoreCancellationDriver.NewProfile("p1", "e1")).AsTask();
        await AdvanceUntilAsync(time, again);
        Assert.Equal(new CommitResult(CommitStatus.Committed, 1), await again.WaitAsync(Guard));
    }

    // The neighbour may land in the batch after (the writer starts a new delay): the clock moves on until it is answered.
    private static async Task AdvanceUntilAsync(FakeTimeProvider time, Task answered)
    {
        for (var i = 0; i < 600 && !answered.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(answered, Task.Delay(10)); // real time: lets the writer thread take its batch; returns once answered
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(20)]
    public async Task ManyWritesCancelledPartWay_EachIsWholeAndReported_OrAbsentAndCancelled(int afterMs)
    {
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = _folder.File(), MaxBatchSize = 16 });
        await StoreCancellationDriver.SeedAsync(store);
        using var cancel = new CancellationTokenSource();
        var commits = Enumerable.Range(0, 300).Select(i => store.CommitAsync(StoreCancellationDriver.NewProfile("c" + i, "ce" + i) with
        {
            Claims = [new(Identifier.Email($"c{i}@x.io"), null)],
            Segments = ["many"],
            Outbox = [new OutboxEntry { MessageKey = "cm" + i, ProfileId = "c" + i, DueAt = StoreCancellationDriver.Now.AddDays(1), Payload = [1] }],
        }, cancel.Token).AsTask()).ToList();
        var erase = store.EraseProfileAsync(new ProfileErasure { ProfileId = "p1", SuppressionHashes = ["h1"] }, cancel.Token).AsTask();
        cancel.CancelAfter(afterMs);

        for (var i = 0; i < commits.Count; i++)
        {
            var outcome = await Record.ExceptionAsync(() => commits[i].WaitAsync(Guard));
            var stored = await store.LoadProfileAsync("c" + i);
            if (outcome is null)
            {
                Assert.Equal(CommitStatus.Committed, (await commits[i]).Status);
                Assert.Equal(1, stored?.Version);
                Assert.True(await store.IsEventProcessedAsync("ce" + i));
                Assert.Single(await store.ResolveIdentifiersAsync([Identifier.Email($"c{i}@x.io")]));
            }
            else
            {
                Assert.IsAssignableFrom<OperationCanceledException>(outcome);
                Assert.Null(stored);
                Assert.False(await store.IsEventProcessedAsync("ce" + i));
                Assert.Empty(await store.ResolveIdentifiersAsync([Identifier.Email($"c{i}@x.io")]));
            }
        }

        var erased = await Record.ExceptionAsync(() => erase.WaitAsync(Guard));
        Assert.Equal(erased is null, await store.LoadProfileAsync("p1") is null);
        Assert.Equal(erased is null, await store.IsSuppressedAsync("h1"));
        Assert.True(erased is null or OperationCanceledException, erased?.ToString());

        // The writer goes on.
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(StoreCancellationDriver.NewProfile("after", "after")).AsTask().WaitAsync(Guard)).Status);
    }
}
