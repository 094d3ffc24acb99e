using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.StoreParity;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U55: durable stores over time and failure, on SQLite: work another process on the same file left behind (a wake-up
/// or a claimed message of a process that stopped or hangs), and a wait's instant kept to the tick across a DST night.
/// </summary>
public sealed class AuditU55SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // HangfireIO/Hangfire#2218 (after scaling down, jobs the stopped instance had scheduled never ran: the others did not
    // pick them up), agenda/agenda#1468: a process on the file commits a journey wait and stops for good; the process
    // still running must run the wait when it falls due, although none of its own work armed its timer.
    [Fact]
    public async Task AWaitCommittedByAProcessThatStopped_IsRunByTheOneStillRunning_WhenItFallsDue()
    {
        var path = _folder.File();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));
        var survivorTransport = new RecordingTransport();
        await using var survivor = Build(path, time, survivorTransport, wait: true);
        var engine = survivor.GetRequiredService<OmnichannelEngine>(); // running before the other process starts
        var due = time.GetUtcNow().AddHours(1);
        await using (var stopped = Build(path, time, new RecordingTransport(), wait: true))
        {
            var other = stopped.GetRequiredService<OmnichannelEngine>();
            Assert.Equal(TrackStatus.Accepted, (await other.TrackAsync(Event(time, "e1", "user.signed_up", Ann, AnnMail))).Status);
            Assert.Equal(TrackStatus.Accepted, (await other.TrackAsync(Event(time, "e2", EventTypes.CartItemAdded, Ann))).Status);
        }

        time.SetUtcNow(due);

        Assert.True(await TwoProcessStoreScenario.Eventually(() => survivorTransport.Messages.Count > 0), "the wait left by the stopped process never ran");
        var mail = Assert.Single(survivorTransport.Sent<EmailMessage>());
        Assert.Equal("Your cart c1", mail.Subject);
        await engine.RunDueAsync(); // waits for the run the timer started (it finds nothing left to do)
        Assert.Contains((await engine.GetProfileAsync(Ann))!.Timeline, t => t.Type == "journey.completed" && t.Timestamp == due);
    }

    // db-scheduler#561, wolverine#565 on one SQLite file, the survivor running before the claim or started after it: see
    // TwoProcessStoreScenario.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task AMessageClaimedByAProcessThatHangs_IsSentByTheOther_WhenItsLeaseEnds(bool startedAfterTheClaim)
    {
        var path = _folder.File();
        return TwoProcessStoreScenario.AMessageClaimedByAProcessThatHangs_IsSentByTheOther_WhenItsLeaseEndsAsync((time, transport) => Build(path, time, transport, wait: true), startedAfterTheClaim);
    }

    // Hangfire#1674, #1952, #2380 on one SQLite file: see TwoProcessStoreScenario.
    [Fact]
    public Task TwoProcessesOnOneFile_WaitsFallingDueTogether_SendEachMessageOnce()
    {
        var path = _folder.File();
        return TwoProcessStoreScenario.WaitsFallingDueTogether_SendEachMessageOnceAsync((time, transport) => Build(path, time, transport, wait: true));
    }

    // wanlitao/HangfireExtension#17 and Ombi-app/Ombi#1720 (Hangfire on SQLite: "database is locked" in the delayed-job
    // scheduler, rows left in Processing), dotnet/efcore#29514: another process holds the write lock when a wait falls
    // due; the wake-up fails, stays due and is retried after the engine's pause, once the lock is gone: sent once.
    [Fact]
    public async Task AWaitFallingDueWhileAnotherProcessHoldsTheWriteLock_IsRetried_AndSentOnceAfterItLetsGo()
    {
        var path = _folder.File();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));
        var transport = new RecordingTransport();
        await using var sp = Build(path, time, transport, wait: true, busyTimeout: TimeSpan.FromMilliseconds(100));
        var engine = sp.GetRequiredService<OmnichannelEngine>();
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event(time, "e1", "user.signed_up", Ann, AnnMail))).Status);
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event(time, "e2", EventTypes.CartItemAdded, Ann))).Status);
        var due = time.GetUtcNow().AddHours(1);

        using (var other = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            other.Open();
            using var hold = other.CreateCommand();
            hold.CommandText = "BEGIN IMMEDIATE";
            hold.ExecuteNonQuery();
            time.SetUtcNow(due);
            Assert.Equal(0, await engine.RunDueAsync()); // waits for the timer's run; both fail on the lock
            Assert.Equal(due, await engine.GetNextWakeUpAsync()); // still due, not lost
            Assert.Empty(transport.Messages);
            hold.CommandText = "ROLLBACK";
            hold.ExecuteNonQuery();
        }

        time.Advance(TimeSpan.FromSeconds(5)); // past the engine's retry pause
        Assert.True(await TwoProcessStoreScenario.Eventually(() => transport.Messages.Count > 0), "the wake-up was not retried once the lock was gone");
        time.Advance(TimeSpan.FromMinutes(10));
        await engine.RunDueAsync();
        await engine.RunDispatchAsync();
        Assert.Single(transport.Messages);
        Assert.Null(await engine.GetNextWakeUpAsync());
    }

    // quartznet/quartznet#340 and quartz-scheduler/quartz#1339 (jobs run an hour early or late across a DST change),
    // npgsql/efcore.pg#2883 (offsets thought kept): a wait of one hour started at an instant with sub-millisecond ticks and a
    // +05:45 offset, spanning Europe's spring-forward night, is due at that exact tick: not one tick before, and run at it.
    [Fact]
    public async Task AWaitStartedAtAnOddTickAndOffset_AcrossADstNight_IsDueAtThatExactTick()
    {
        var path = _folder.File();
        var begun = new DateTimeOffset(2026, 3, 29, 6, 15, 0, TimeSpan.FromMinutes(345)).AddTicks(1_234_567); // 00:30:00.1234567 UTC
        var time = new FakeTimeProvider(begun);
        var transport = new RecordingTransport();
        await using var sp = Build(path, time, transport, wait: true);
        var engine = sp.GetRequiredService<OmnichannelEngine>();
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event(time, "e1", "user.signed_up", Ann, AnnMail))).Status);
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event(time, "e2", EventTypes.CartItemAdded, Ann))).Status);
        var due = begun.AddHours(1);

        Assert.Equal(due, await engine.GetNextWakeUpAsync());
        Assert.Equal(due.UtcTicks, Assert.Single((await engine.GetProfileAsync(Ann))!.Journeys).WakeAt!.Value.UtcTicks);
        await engine.AdvanceVirtualClockAsync(due.AddTicks(-1), time.SetUtcNow);
        Assert.Empty(transport.Messages);
        await engine.AdvanceVirtualClockAsync(due, time.SetUtcNow);
        Assert.Single(transport.Messages);
        Assert.Contains((await engine.GetProfileAsync(Ann))!.Timeline, t => t.Type == "journey.completed" && t.Timestamp.UtcTicks == due.UtcTicks);
    }

    private static ServiceProvider Build(string path, TimeProvider time, IChannelTransport transport, bool wait, TimeSpan? busyTimeout = null)
    {
        var services = new ServiceCollection();
        TwoProcessStoreScenario.Engine(services, time, transport, wait).UseSqliteStore(path, o => o.BusyTimeout = busyTimeout ?? o.BusyTimeout);
        return services.BuildServiceProvider();
    }

    private static CustomerEvent Event(TimeProvider time, string id, string type, params Identifier[] identifiers) => TwoProcessStoreScenario.Event(time, id, type, identifiers);
}
