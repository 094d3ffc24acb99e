using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Engine;
using Microsoft.Extensions.Time.Testing;

namespace Omnichannel.Sdk.Tests.Review;

/// <summary>
/// An adversarial review of the engine's disposal path as the review of U58 left it: disposal waits for a batch being
/// queued before it closes the queues, and a batch that takes the queue gate after disposal began refuses itself whole.
/// docs/design-notes.md, "Review of the engine's disposal path (forty-first session, end)", lists what held.
/// </summary>
public sealed class ReviewDisposalPathTests
{
    private const string Email = "ann.disposal@example.com";

    // A real-time bound only as a hang detector (a deadlock fails the test); nothing waits for time to pass.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static readonly DateTimeOffset Start = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);

    private static CustomerEvent Event(string id, DateTimeOffset at) =>
        new() { Id = id, Type = "page.viewed", Timestamp = at, Identifiers = [Identifier.Email(Email)] };

    // Invalid: no identifier at all.
    private static CustomerEvent Invalid(string id, DateTimeOffset at) =>
        new() { Id = id, Type = "page.viewed", Timestamp = at, Identifiers = [] };

    /// <summary>
    /// One partition with room for one item; the worker held in the commit of e0 and e1 filling the queue, so that a batch
    /// called next holds the queue gate while it waits for room.
    /// </summary>
    private static async Task<(OmnichannelEngine Engine, FlakyStore Store, FakeTimeProvider Time, Task<TrackResult>[] Held)> FullQueueAsync()
    {
        var time = new FakeTimeProvider(Start);
        var store = new FlakyStore(new InMemoryOmnichannelStore()) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var options = new OmnichannelOptions { Partitions = 1, QueueCapacity = 1 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        var engine = new OmnichannelEngine(options, store, time);
        var e0 = engine.TrackAsync(Event("e0", time.GetUtcNow())).AsTask();
        await store.CommitWaiting.Task.WaitAsync(Bound); // the worker holds e0
        var e1 = engine.TrackAsync(Event("e1", time.GetUtcNow())).AsTask(); // fills the queue
        return (engine, store, time, [e0, e1]);
    }

    // A batch with nothing to queue (every event invalid, or none) took the queue gate all the same: behind a batch waiting
    // for room it waited for another caller's backpressure, and once disposal began it heard ObjectDisposedException
    // ("not taken") instead of its rejections, which were already counted and logged. A single invalid event called
    // before disposal hears its rejection; so does such a batch now.
    [Fact]
    public async Task ABatchWithNothingToQueue_BehindABatchWaitingForRoom_ReturnsItsRejectionsAtOnce_AtDisposalToo()
    {
        var (engine, store, time, held) = await FullQueueAsync();
        var waiting = engine.TrackBatchAsync([Event("b1", time.GetUtcNow())]); // holds the gate, waits for room
        Assert.False(waiting.IsCompleted);

        var invalid = engine.TrackBatchAsync([Invalid("x1", time.GetUtcNow()), Invalid("x2", time.GetUtcNow())]);
        var empty = engine.TrackBatchAsync([]);
        var rejections = await invalid.WaitAsync(Bound); // was: waited for the worker's commit
        Assert.Equal([TrackStatus.Rejected, TrackStatus.Rejected], rejections.Select(r => r.Status));
        Assert.Empty(await empty.WaitAsync(Bound));

        var lateInvalid = engine.TrackBatchAsync([Invalid("x3", time.GetUtcNow())]);
        var disposing = engine.DisposeAsync().AsTask();
        store.Gate!.SetResult();
        await disposing.WaitAsync(Bound);
        Assert.Equal(TrackStatus.Rejected, Assert.Single(await lateInvalid.WaitAsync(Bound)).Status); // was: ObjectDisposedException
        Assert.All(await Task.WhenAll(held).WaitAsync(Bound), r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Equal(TrackStatus.Accepted, Assert.Single(await waiting.WaitAsync(Bound)).Status);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => engine.TrackBatchAsync([Invalid("x4", time.GetUtcNow())]));
    }

    // Held: the batch waits for room (worker held in a commit), disposal waits for the batch, and the caller cancels the
    // batch. No worker started it: it is withdrawn whole (none of its events applied), the gate is freed and the disposal
    // ends once the commit goes on.
    [Fact]
    public async Task ABatchCancelledWhileWaitingForRoomAtDisposal_IsWithdrawnWhole_AndTheDisposalEnds()
    {
        var (engine, store, time, held) = await FullQueueAsync();
        using var cts = new CancellationTokenSource();
        var batch = engine.TrackBatchAsync([Event("b1", time.GetUtcNow()), Event("b2", time.GetUtcNow())], cts.Token);
        var disposing = engine.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => batch.WaitAsync(Bound));
        Assert.False(disposing.IsCompleted); // the worker is still held in e0's commit

        store.Gate!.SetResult();
        await disposing.WaitAsync(Bound);
        Assert.All(await Task.WhenAll(held).WaitAsync(Bound), r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.False(await store.IsEventProcessedAsync("b1"));
        Assert.False(await store.IsEventProcessedAsync("b2"));
    }

    // Held: two batches at once when disposal starts. The one holding the gate (waiting for room) is queued whole and
    // applied; the one waiting for the gate takes it after the disposal began (semaphore waiters go first come, first
    // served, before the disposal) and refuses itself whole; the disposal ends when the commit goes on.
    [Fact]
    public async Task TwoBatchesAtDisposal_TheOneQueuingIsAppliedWhole_TheOneWaitingIsRefusedWhole()
    {
        var (engine, store, time, held) = await FullQueueAsync();
        var first = engine.TrackBatchAsync([Event("a1", time.GetUtcNow()), Event("a2", time.GetUtcNow())]);
        var second = engine.TrackBatchAsync([Event("c1", time.GetUtcNow()), Event("c2", time.GetUtcNow())]);
        var disposing = engine.DisposeAsync().AsTask();
        store.Gate!.SetResult();
        await disposing.WaitAsync(Bound);

        Assert.All(await first.WaitAsync(Bound), r => Assert.Equal(TrackStatus.Accepted, r.Status));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => second.WaitAsync(Bound));
        Assert.All(await Task.WhenAll(held).WaitAsync(Bound), r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.True(await store.IsEventProcessedAsync("a2"));
        Assert.False(await store.IsEventProcessedAsync("c1"));
        Assert.False(await store.IsEventProcessedAsync("c2"));
    }

    // Held: the synchronous Dispose() run inline by a continuation of a batch's own task, and by one of its event's
    // TrackAsync task: the results complete on the thread pool, never on a worker, so the blocking call does not hold the
    // worker it waits for.
    [Fact]
    public async Task DisposeFromABatchsOwnContinuation_Ends()
    {
        var (engine, store, time, held) = await FullQueueAsync();
        var batch = engine.TrackBatchAsync([Event("b1", time.GetUtcNow())]);
        var disposedInline = batch.ContinueWith(_ => engine.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        var alsoInline = held[1].ContinueWith(_ => engine.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        store.Gate!.SetResult();
        await Task.WhenAll(disposedInline, alsoInline).WaitAsync(Bound);

        Assert.Equal(TrackStatus.Accepted, Assert.Single(await batch).Status);
        Assert.True(await store.IsEventProcessedAsync("b1"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => engine.TrackBatchAsync([Event("b2", time.GetUtcNow())]));
    }
}
