using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

// The scheduler: per-profile wake-ups kept by the store (segment windows closing, journey waits), run through the same
// partitions as events; one timer armed for the earliest; a virtual clock for replays and tests.
public sealed partial class OmnichannelEngine
{
    private const int DuePageSize = 512;
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromDays(1);
    private static readonly TimeSpan MaxWakeRetryDelay = TimeSpan.FromMinutes(5);
    private readonly Lock _scheduleLock = new();
    private readonly SemaphoreSlim _dueGate = new(1, 1);
    private readonly SemaphoreSlim _batchWrites = new(1, 1); // a batch's events, or a wake-up run's tasks, queued whole
    private TimeSpan _wakeRetryDelay;

    // The profiles whose wake-ups failed in the last run, while its retry pause lasts (null: none, or the run failed as a
    // whole): a look in the store skips them, not everyone else's wake-ups (audit U67).
    private HashSet<string>? _failedWakeUps;
    private DateTimeOffset _timerDueAt = DateTimeOffset.MaxValue;
    private ITimer? _pollTimer;
    private Task _pollRun = Task.CompletedTask; // the look under way, which disposal cancels and waits for
    private readonly CancellationTokenSource _pollStop = new();

    /// <summary>
    /// Runs every profile wake-up due at the clock's current time (segment windows closing, recency thresholds passing)
    /// and waits until they are committed. The engine's own timer calls it; a replay on a virtual clock or a test may call
    /// it after moving the clock.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>How many profiles were woken.</returns>
    /// <remarks>Hidden from IntelliSense: drives the engine by hand, for replays on a virtual clock and for test kits (<c>OmnichannelTestHost</c> calls it); an application never needs it.</remarks>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public async Task<int> RunDueAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfOnWorker(nameof(RunDueAsync));
        using var activity = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.WakeUp);
        await _dueGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_scheduleLock)
            {
                _timerDueAt = DateTimeOffset.MaxValue;
            }

            var woken = 0;
            var failed = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                // Wake-ups that failed in this run stay due and first in line: read past them, or 512 failing profiles
                // would hold back every wake-up due after theirs.
                var page = await _store.GetDueProfilesAsync(_time.GetUtcNow(), failed.Count + DuePageSize, cancellationToken).ConfigureAwait(false);
                var due = failed.Count == 0 ? page : [.. page.Where(d => !failed.Contains(d.ProfileId))];
                if (due.Count == 0)
                {
                    break;
                }

                if (woken == 0)
                {
                    Volatile.Write(ref _wakeUpLagSeconds, Math.Max(0, (_time.GetUtcNow() - due.Min(d => d.WakeAt)).TotalSeconds));
                }

                var queued = new Task<UnitResult?>[due.Count];
                await _batchWrites.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    for (var i = 0; i < due.Count; i++)
                    {
                        queued[i] = await QueueProfileWorkAsync(due[i].ProfileId, (p, now) => WakeAsync(p, null, now, cancellationToken), cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _batchWrites.Release();
                }

                var done = (await Task.WhenAll(queued).WaitAsync(cancellationToken).ConfigureAwait(false)).Select(u => u is not null).ToArray();
                woken += done.Count(ok => ok);
                for (var i = 0; i < done.Length; i++)
                {
                    if (!done[i])
                    {
                        failed.Add(due[i].ProfileId);
                    }
                }

            }

            // A wake-up that failed stays due. Re-arming the timer for it at once would retry it in a hot loop (a profile
            // whose document cannot be read fails the same way every time): it is retried after a growing pause, while
            // the others' wake-ups keep their own times.
            var upcoming = await _store.GetDueProfilesAsync(DateTimeOffset.MaxValue, failed.Count + 1, cancellationToken).ConfigureAwait(false);
            DateTimeOffset? at = upcoming.FirstOrDefault(u => !failed.Contains(u.ProfileId))?.WakeAt;
            if (failed.Count > 0)
            {
                Volatile.Write(ref _failedWakeUps, failed);
                _wakeRetryDelay = NextRetryDelay(_wakeRetryDelay);
                var retry = _time.GetUtcNow() + _wakeRetryDelay;
                at = at is { } other && other < retry ? other : retry;
            }
            else
            {
                _wakeRetryDelay = TimeSpan.Zero;
                Volatile.Write(ref _failedWakeUps, null);
            }

            if (at is { } wakeAt)
            {
                ScheduleWake(wakeAt);
            }

            activity?.SetTag("omnichannel.profiles", woken);
            return woken;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The timer was disarmed when this run began, and only the end of a run arms it again: a run that failed before
            // (the store's due read failed) must arm it for a retry, or no wake-up would run until an event armed it.
            Volatile.Write(ref _failedWakeUps, null); // the store itself failed: the pause holds every wake-up
            _wakeRetryDelay = NextRetryDelay(_wakeRetryDelay);
            ScheduleWake(_time.GetUtcNow() + _wakeRetryDelay);
            throw;
        }
        finally
        {
            // The run's span ends before a run waiting at the gate can begin and end: a caller that waited for that one
            // (the test kit's AdvanceAsync) sees this run's span as finished.
            activity?.Stop();
            _dueGate.Release();
        }
    }

    /// <summary>The earliest pending wake-up of any profile, or <see langword="null"/> when none is pending.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <remarks>Hidden from IntelliSense: drives the engine by hand, for replays on a virtual clock and for test kits (<c>OmnichannelTestHost</c> calls it); an application never needs it.</remarks>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public async ValueTask<DateTimeOffset?> GetNextWakeUpAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var next = await _store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1, cancellationToken).ConfigureAwait(false);
        return next.Count > 0 ? next[0].WakeAt : null;
    }

    /// <summary>The pause before retrying a run that failed: 1 s, doubling, at most <see cref="MaxWakeRetryDelay"/>.</summary>
    private static TimeSpan NextRetryDelay(TimeSpan last) =>
        last == TimeSpan.Zero ? TimeSpan.FromSeconds(1) : last * 2 > MaxWakeRetryDelay ? MaxWakeRetryDelay : last * 2;

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a < b ? a : b);

    private async Task RunDueInBackgroundAsync()
    {
        LeaveWorker(); // a fake clock runs a timer due at once inside Change, on the worker that armed it
        try
        {
            if (_disposed == 0)
            {
                await RunDueAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogWakeFailed(_logger, Privacy.ScrubbedException.Of(ex));
        }
    }

    private void Committed(string profileId, DateTimeOffset? wakeAt, IReadOnlyList<SegmentChange> changes)
    {
        if (wakeAt is { } at)
        {
            ScheduleWake(at);
        }

        foreach (var c in changes)
        {
            _metrics.SegmentTransitions.Add(1, new KeyValuePair<string, object?>("omnichannel.segment.id", c.SegmentId), new KeyValuePair<string, object?>("omnichannel.segment.direction", c.Entered ? "entered" : "exited"));
            LogSegmentTransition(_logger, profileId, c.Entered ? "entered" : "exited", c.SegmentId);
        }
    }

    /// <summary>When the wake-up timer is armed for (<see cref="DateTimeOffset.MaxValue"/> when it is not): for tests.</summary>
    internal DateTimeOffset NextWakeAt
    {
        get
        {
            lock (_scheduleLock)
            {
                return _timerDueAt;
            }
        }
    }

    private void ScheduleWake(DateTimeOffset at)
    {
        lock (_scheduleLock)
        {
            if (at >= _timerDueAt || _disposed != 0)
            {
                return;
            }

            // Timers take at most ~49 days; a far wake-up is re-armed by the run that finds nothing due yet.
            _timerDueAt = at;
            var delay = at - _time.GetUtcNow();
            delay = delay < TimeSpan.Zero ? TimeSpan.Zero : delay > MaxTimerDelay ? MaxTimerDelay : delay;
            _wakeTimer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    // Another process's work: a wake-up or an outbox entry it wrote and then stopped (scale-down, crash), or a claim it
    // died holding. This engine's timers are armed only by its own commits and runs, so without a look nothing here would
    // run them until some work of its own armed a timer (Hangfire and Quartz poll their stores for the same reason).
    // A store that signals committed work (PostgreSQL's NOTIFY) makes the look come at once: a message a process without
    // transports planned is sent by a worker beside it without waiting up to an interval (audit U67).
    private void StartStorePoll()
    {
        if (_options.StorePollInterval is { } every && _store is not InMemoryOmnichannelStore)
        {
            _pollTimer = _time.CreateTimer(_ => StartLook(every), null, every, Timeout.InfiniteTimeSpan);
            if (_store is IStoreWorkSignal signal)
            {
                _workSignal = signal.SubscribeToWork(LookSoon);
            }
        }
    }

    private IDisposable? _workSignal;
    private int _lookRequested;
    private readonly Lock _lookChain = new();

    // Looks run one after the other: disposal waits for the last, and so for every one before it. At most one waits
    // behind the look under way: it answers every signal and timer tick before it starts (a burst of NOTIFYs during a
    // slow look queued one look per commit before, without bound).
    private void StartLook(TimeSpan every)
    {
        lock (_lookChain)
        {
            if (_lookQueued)
            {
                return; // the queued look re-arms the timer when it ends
            }

            _lookQueued = true;
            var previous = Volatile.Read(ref _pollRun);
            Volatile.Write(ref _pollRun, LookAfterAsync(previous, every));
        }
    }

    private bool _lookQueued; // under _lookChain: a look waits for the one under way and has not started

    private async Task LookAfterAsync(Task previous, TimeSpan every)
    {
        await previous.ConfigureAwait(false); // never throws: the look catches everything but OOM
        lock (_lookChain)
        {
            _lookQueued = false; // a signal from now on may find this look's read done already: it queues the next
        }

        await PollStoreInBackgroundAsync(every).ConfigureAwait(false);
    }

    private void LookSoon()
    {
        Volatile.Write(ref _lookRequested, 1);
        lock (_scheduleLock)
        {
            if (_disposed == 0)
            {
                _pollTimer?.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private async Task PollStoreInBackgroundAsync(TimeSpan every)
    {
        LeaveWorker(); // a fake clock runs a timer inside the call that moves it
        Volatile.Write(ref _lookRequested, 0); // this look answers every signal before it
        try
        {
            // Only arms the timers (a no-op when they are armed as early already). A retry pause after a failed run is kept:
            // after a run that failed as a whole nothing is armed, and after one where some profiles failed their wake-ups
            // are read past (everyone else's, another process's among them, keep their times). Checked again after the
            // read: a run failing meanwhile set the pause, and the answer may be its failed wake-up, due already.
            if (_disposed == 0 && LookPause() is { } skipped)
            {
                var upcoming = await _store.GetDueProfilesAsync(DateTimeOffset.MaxValue, skipped.Count + 1, _pollStop.Token).ConfigureAwait(false);
                if (LookPause() is { } skippedNow && upcoming.FirstOrDefault(u => !skippedNow.Contains(u.ProfileId)) is { } wake)
                {
                    ScheduleWake(wake.WakeAt);
                }
            }

            if (_disposed == 0 && _delivery.HasTransports && _dispatchRetryDelay == TimeSpan.Zero
                && await _store.GetNextOutboxDueAsync(ClaimChannels, _pollStop.Token).ConfigureAwait(false) is { } send
                && _dispatchRetryDelay == TimeSpan.Zero)
            {
                ScheduleDispatch(send);
            }
        }
        catch (Exception) when (Volatile.Read(ref _disposed) != 0)
        {
            // Disposal began during the look (and cancelled its read): a normal shutdown, nothing to report.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogStorePollFailed(_logger, Privacy.ScrubbedException.Of(ex), every);
        }
        finally
        {
            lock (_scheduleLock)
            {
                if (_disposed == 0)
                {
                    // A signal during this look may have been overtaken by this re-arming: it is looked at again now.
                    _pollTimer?.Change(Volatile.Read(ref _lookRequested) != 0 ? TimeSpan.Zero : every, Timeout.InfiniteTimeSpan);
                }
            }
        }
    }

    private static readonly HashSet<string> NoFailedWakeUps = [];

    // What a look must not arm the timer for: no profile (no pause), the profiles that failed in the last run, or null when
    // the pause holds every wake-up (the run failed as a whole).
    private IReadOnlySet<string>? LookPause() =>
        _wakeRetryDelay == TimeSpan.Zero ? NoFailedWakeUps : Volatile.Read(ref _failedWakeUps);

    [LoggerMessage(105, LogLevel.Warning, "Looking in the store for wake-ups and messages of other processes failed; looking again in {Interval}")]
    private static partial void LogStorePollFailed(ILogger logger, Exception exception, TimeSpan interval);

    [LoggerMessage(21, LogLevel.Error, "Running due profile wake-ups failed; they stay due and run on the next wake-up")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception);
}
