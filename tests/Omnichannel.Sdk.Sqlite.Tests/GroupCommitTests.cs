using System.Text;
using Microsoft.Extensions.Time.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

public sealed class GroupCommitTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ConcurrentCommits_AreAllAppliedInFewerTransactions()
    {
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = _folder.File() });

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            Task.Run(async () => await store.CommitAsync(Commit($"p{i:D3}", $"doc-{i}", $"e{i}") with { Claims = [new(Identifier.Email($"c{i}@x.io"), null)] }))));

        Assert.All(results, r => Assert.Equal(new CommitResult(CommitStatus.Committed, 1), r));
        Assert.Equal(200, (await store.ListProfileIdsAsync(null, 1000)).Count);
        Assert.Equal("p123", (await store.ResolveIdentifiersAsync([Identifier.Email("c123@x.io")]))[Identifier.Email("c123@x.io")]);
        Assert.True(await store.IsEventProcessedAsync("e199"));
        Assert.Equal(200, store.OperationCount);
        Assert.InRange(store.TransactionCount, 1, 199);
    }

    [Fact]
    public async Task Batch_FillsUpToMaxBatchSize_WhileTheDelayHasNotPassed()
    {
        // The fake clock never moves, so a batch closes only when it is full: exactly 200 / 50 transactions.
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = _folder.File(),
            MaxBatchSize = 50,
            MaxBatchDelay = TimeSpan.FromSeconds(1),
            TimeProvider = new FakeTimeProvider(T0),
        });

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => store.CommitAsync(Commit($"p{i:D3}", "x")).AsTask()));

        Assert.All(results, r => Assert.Equal(CommitStatus.Committed, r.Status));
        Assert.Equal(4, store.TransactionCount);
    }

    [Fact]
    public async Task Batch_WhenNotFull_WaitsForTheDelayOnTheClock()
    {
        var time = new FakeTimeProvider(T0);
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = _folder.File(),
            MaxBatchSize = 50,
            MaxBatchDelay = TimeSpan.FromSeconds(1),
            TimeProvider = time,
        });

        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.BatchDelayStarted = () => waiting.TrySetResult();

        var pending = store.CommitAsync(Commit("p1", "x")).AsTask();
        await waiting.Task;
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(pending.IsCompleted);
        Assert.Null(await store.LoadProfileAsync("p1"));

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(new CommitResult(CommitStatus.Committed, 1), await pending);
        Assert.NotNull(await store.LoadProfileAsync("p1"));
        Assert.Equal(1, store.TransactionCount);
    }

    [Fact]
    public async Task ConflictInsideABatch_IsRolledBackAlone()
    {
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = _folder.File(),
            MaxBatchSize = 4,
            MaxBatchDelay = TimeSpan.FromSeconds(1),
            TimeProvider = new FakeTimeProvider(T0),
        });

        // Queued together, applied in this order in one transaction: the second and third lose to the first.
        var first = store.CommitAsync(Commit("p1", "first", "e1") with { Claims = [new(Identifier.Email("a@x.io"), null)] }).AsTask();
        var conflict = store.CommitAsync(Commit("p1", "second", "e2") with { Claims = [new(Identifier.Phone("+4420"), null)], Segments = ["vip"], WakeAt = T0 }).AsTask();
        var duplicate = store.CommitAsync(Commit("p2", "dup", "e1")).AsTask();
        var last = store.CommitAsync(Commit("p3", "third", "e3") with { Claims = [new(Identifier.Email("b@x.io"), null)] }).AsTask();

        Assert.Equal(new CommitResult(CommitStatus.Committed, 1), await first);
        Assert.Equal(CommitStatus.Conflict, (await conflict).Status);
        Assert.Equal(CommitStatus.DuplicateEvent, (await duplicate).Status);
        Assert.Equal(new CommitResult(CommitStatus.Committed, 1), await last);
        Assert.Equal(1, store.TransactionCount);

        Assert.Equal("first", Encoding.UTF8.GetString((await store.LoadProfileAsync("p1"))!.Document));
        Assert.Null(await store.LoadProfileAsync("p2"));
        Assert.Equal("third", Encoding.UTF8.GetString((await store.LoadProfileAsync("p3"))!.Document));
        Assert.Empty(await store.ResolveIdentifiersAsync([Identifier.Phone("+4420")]));
        Assert.Empty(await store.ListSegmentMembersAsync("vip", null, 10));
        Assert.Empty(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10));
        Assert.False(await store.IsEventProcessedAsync("e2"));
        Assert.Equal(2, (await store.ResolveIdentifiersAsync([Identifier.Email("a@x.io"), Identifier.Email("b@x.io")])).Count);
    }

    [Fact]
    public async Task CommitFailingPartWay_IsRolledBackAlone_AndTheRestOfItsBatchCommits()
    {
        var file = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = file,
            MaxBatchSize = 3,
            MaxBatchDelay = TimeSpan.FromSeconds(1),
            TimeProvider = new FakeTimeProvider(T0),
        });

        // A commit runs without a savepoint of its own. This one fails on its last write (the processed-event row, refused
        // by a trigger), after writing its profile and identifier rows: the batch is applied again with savepoints.
        using (var admin = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file}"))
        {
            admin.Open();
            using var trigger = admin.CreateCommand();
            trigger.CommandText = "CREATE TRIGGER refuse_boom BEFORE INSERT ON processed_events WHEN NEW.event_id = 'boom' BEGIN SELECT RAISE(ABORT, 'refused'); END;";
            trigger.ExecuteNonQuery();
        }

        var key = new Omnichannel.Sdk.Measurement.MeasurementKey("j", "", "", "", "", new DateOnly(2026, 3, 1), "journey:revenue");
        var before = store.CommitAsync(Commit("p1", "one", "e1") with { Claims = [new(Identifier.Email("a@x.io"), null)] }).AsTask();
        var broken = store.CommitAsync(Commit("p2", "two", "boom") with { Claims = [new(Identifier.Email("b@x.io"), null)], Measurements = [new(key, 1, 7)] }).AsTask();
        var after = store.CommitAsync(Commit("p3", "three", "e3") with { Measurements = [new(key, 1, 5)] }).AsTask();

        Assert.Equal(new CommitResult(CommitStatus.Committed, 1), await before);
        Assert.Equal(19, (await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => broken)).SqliteErrorCode);
        Assert.Equal(new CommitResult(CommitStatus.Committed, 1), await after);
        Assert.Equal(1, store.TransactionCount);

        Assert.NotNull(await store.LoadProfileAsync("p1"));
        Assert.Null(await store.LoadProfileAsync("p2"));
        Assert.NotNull(await store.LoadProfileAsync("p3"));
        Assert.Empty(await store.ResolveIdentifiersAsync([Identifier.Email("b@x.io")]));
        Assert.True(await store.IsEventProcessedAsync("e3"));
        var row = Assert.Single(await store.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery { JourneyId = "j" }));
        Assert.Equal((1L, 5.0), (row.Count, row.Sum));
    }

    [Fact]
    public async Task CommitWithANaNMeasurement_IsRefusedAlone_BeforeReachingTheWriter()
    {
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = _folder.File() });
        var key = new Omnichannel.Sdk.Measurement.MeasurementKey("j", "", "", "", "", new DateOnly(2026, 3, 1), "journey:revenue");

        var refused = await Assert.ThrowsAsync<ArgumentException>(async () => await store.CommitAsync(Commit("p1", "one", "e1") with { Measurements = [new(key, 1, double.NaN)] }));
        Assert.Contains("journey:revenue", refused.Message);
        Assert.Equal(new CommitResult(CommitStatus.Committed, 1), await store.CommitAsync(Commit("p2", "two", "e2") with { Measurements = [new(key, 1, 5)] }));
        Assert.Null(await store.LoadProfileAsync("p1"));
    }

    [Fact]
    public async Task LaterCommitInABatch_SeesTheEarlierOnes()
    {
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = _folder.File(),
            MaxBatchSize = 3,
            MaxBatchDelay = TimeSpan.FromSeconds(1),
            TimeProvider = new FakeTimeProvider(T0),
        });

        var v1 = store.CommitAsync(Commit("p1", "1")).AsTask();
        var v2 = store.CommitAsync(Commit("p1", "2") with { ExpectedVersion = 1 }).AsTask();
        var v3 = store.CommitAsync(Commit("p1", "3") with { ExpectedVersion = 2 }).AsTask();

        Assert.Equal([1L, 2L, 3L], (await Task.WhenAll(v1, v2, v3)).Select(r => r.Version));
        Assert.Equal(3, (await store.LoadProfileAsync("p1"))!.Version);
        Assert.Equal(1, store.TransactionCount);
    }

    [Fact]
    public async Task Commit_WhenAlreadyCancelled_ThrowsAndWritesNothing()
    {
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = _folder.File() });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.CommitAsync(Commit("p1", "x"), new CancellationToken(canceled: true)));
        Assert.Null(await store.LoadProfileAsync("p1"));
    }

    private static ProfileCommit Commit(string id, string document, string? eventId = null) => new()
    {
        ProfileId = id,
        ExpectedVersion = 0,
        Document = Encoding.UTF8.GetBytes(document),
        EventId = eventId,
        ProcessedAt = T0,
    };
}
