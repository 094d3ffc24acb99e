using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;

namespace Omnichannel.Sdk.Tests.Review;

/// <summary>
/// Review of the store look (<see cref="OmnichannelOptions.StorePollInterval"/>, audit U55), engine side, on a store that
/// is not the in-memory one (<see cref="FlakyStore"/> around it): a look in flight at disposal, a look that straddles a
/// failed wake-up run, disposal before the first look, and the option's edges.
/// </summary>
public sealed class ReviewStorePollTests
{
    private static readonly TimeSpan Bound = Omnichannel.Sdk.StoreParity.TwoProcessStoreScenario.Bound;

    private static readonly Identifier Ann = Identifier.CustomerId("ann-review-poll-private");

    // Before: DisposeAsync returned with the look's read still in flight; a host disposing the store next (DI does) made
    // that read fail, logged as a warning (event 105) at a normal shutdown. Now disposal cancels the look and waits for it.
    [Fact]
    public async Task ALookInFlightAtDisposal_IsCancelledAndWaitedFor_NoReadLeftAndNoWarning()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var time = new FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        var lines = new List<string>();
        using var logs = LoggerFactory.Create(b => b.AddProvider(new ListLogger(lines)));
        var engine = new OmnichannelEngine(Options(), store, time, logs);
        await engine.RunDueAsync(); // the start-up run is over: the next one-row look is the timer's
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.HoldNextWakeLook = release;
        time.Advance(TimeSpan.FromMinutes(1));
        await store.WakeLookHeld.Task.WaitAsync(Bound);

        await engine.DisposeAsync().AsTask().WaitAsync(Bound);
        var inFlightAfterDispose = Volatile.Read(ref store.WakeLooksInFlight);
        Volatile.Write(ref store.ClosedAfterHold, true); // the host disposes the store next
        release.SetResult();
        Assert.True(await Eventually(() => Volatile.Read(ref store.WakeLooksInFlight) == 0), "the held look never answered");

        Assert.Equal(0, inFlightAfterDispose);
        Assert.DoesNotContain(Lines(lines), l => l.Contains("Looking in the store", StringComparison.Ordinal));
    }

    // Before: a look that read while a wake-up run failed armed the timer for that run's failed wake-up (due already), so it
    // ran again at once instead of after the 1 s retry pause the run had set. Now the look checks the pause after its read.
    [Fact]
    public async Task ALookThatReadWhileAWakeUpRunFailed_KeepsTheRetryPause()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var start = OmnichannelTestHost.DefaultStart;
        var time = new FakeTimeProvider(start);
        await using var engine = new OmnichannelEngine(Options(), store, time, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport(ChannelNames.Email, new RecordingTransport()));
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(CartEvent(start))).Status);
        await engine.RunDueAsync();
        var due = start + TimeSpan.FromHours(1);
        Assert.Equal(due, engine.NextWakeAt);

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.HoldNextWakeLook = release;
        time.Advance(TimeSpan.FromMinutes(1)); // the look reads, and waits
        await store.WakeLookHeld.Task.WaitAsync(Bound);
        Volatile.Write(ref store.FailDueReads, 1);
        time.Advance(TimeSpan.FromMinutes(59)); // the wait falls due; the run's read fails; retried 1 s on
        Assert.Equal(due + TimeSpan.FromSeconds(1), engine.NextWakeAt);

        DateTimeOffset? armedAfterTheLook = null;
        var looked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.BeforeNextOutboxDueRead = () =>
        {
            armedAfterTheLook = engine.NextWakeAt; // the look's outbox read comes after its wake-up part
            looked.TrySetResult();
            return Task.CompletedTask;
        };
        release.SetResult(); // the look answers the failed wake-up, due an hour ago
        await looked.Task.WaitAsync(Bound);
        Assert.Equal(due + TimeSpan.FromSeconds(1), armedAfterTheLook);
    }

    // A fake clock moved by days in one call: one look per move (a real timer does not catch up missed ticks either), not
    // one per minute of the skipped time; moved minute by minute, one per minute.
    [Fact]
    public async Task AFakeClockMovedByDays_LooksOncePerMove_NotOncePerSkippedMinute()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var time = new FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        await using var engine = new OmnichannelEngine(Options(), store, time);
        await engine.RunDueAsync();
        var before = Volatile.Read(ref store.WakeLooks);
        time.Advance(TimeSpan.FromDays(3));
        Assert.True(await Eventually(() => Volatile.Read(ref store.WakeLooks) > before));
        await engine.RunDueAsync();
        var afterDays = Volatile.Read(ref store.WakeLooks) - before;
        Assert.InRange(afterDays, 1, 3);
    }

    // Disposed before its first look: no look is made however far the clock moves (the timer is gone with the engine).
    [Fact]
    public async Task AnEngineDisposedBeforeItsFirstLook_NeverLooks()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var time = new FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        var engine = new OmnichannelEngine(Options(), store, time);
        await engine.RunDueAsync();
        await engine.DisposeAsync();
        Volatile.Write(ref store.FailDueReads, int.MaxValue); // any read of the wake-ups from now on is seen
        time.Advance(TimeSpan.FromDays(2));
        Assert.False(store.DueReadFailed.Task.IsCompleted, "a disposed engine looked in the store");
    }

    // A store answering a wake-up at the ends of time: MinValue is due (run, no overflow in the delay), MaxValue arms nothing.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ALookFindingAWakeUpAtTheEndsOfTime_NeitherThrowsNorLogs(bool max)
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var time = new FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        var lines = new List<string>();
        using var logs = LoggerFactory.Create(b => b.AddProvider(new ListLogger(lines)));
        await using var engine = new OmnichannelEngine(Options(), store, time, logs);
        await engine.RunDueAsync();
        store.HoldNextWakeLook = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = max ? DateTimeOffset.MaxValue : DateTimeOffset.MinValue;
        store.WakeLookAnswer = answer;
        store.HoldNextWakeLook.SetResult(); // answers at once, with the edge
        time.Advance(TimeSpan.FromMinutes(1));
        await store.WakeLookHeld.Task.WaitAsync(Bound);
        Assert.True(await Eventually(() => Volatile.Read(ref store.WakeLooksInFlight) == 0));
        await engine.RunDueAsync();
        Assert.DoesNotContain(Lines(lines), l => l.Contains("Looking in the store", StringComparison.Ordinal));
        Assert.Equal(DateTimeOffset.MaxValue, engine.NextWakeAt);
    }

    // Each edge is refused naming the field (TimeSpan.MaxValue and the timer's "infinite" -1 ms among them); null is valid.
    [Theory]
    [InlineData(-1L)]
    [InlineData(-10_000L)] // Timeout.InfiniteTimeSpan
    [InlineData(long.MinValue)]
    [InlineData(long.MaxValue)]
    [InlineData(864_000_000_001L)]
    public void StorePollInterval_AtTheEdges_IsRefusedByTheEngineNamingIt(long ticks)
    {
        var options = Options();
        options.StorePollInterval = TimeSpan.FromTicks(ticks);
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new OmnichannelEngine(options, new FlakyStore(new InMemoryOmnichannelStore())));
        Assert.Contains(nameof(OmnichannelOptions.StorePollInterval), ex.Message, StringComparison.Ordinal);
    }

    private static CustomerEvent CartEvent(DateTimeOffset at) => new()
    {
        Id = "e1",
        Type = EventTypes.CartItemAdded,
        Timestamp = at,
        Identifiers = [Ann],
        Properties = JsonData.From(new { cart_id = "c1", product_id = "p1" }),
    };

    private static OmnichannelOptions Options() => Audit.AuditU55Tests.Options();

    private static List<string> Lines(List<string> lines) => Audit.AuditU55Tests.Lines(lines);

    private static Task<bool> Eventually(Func<bool> condition) => Audit.AuditU55Tests.Eventually(condition);
}
