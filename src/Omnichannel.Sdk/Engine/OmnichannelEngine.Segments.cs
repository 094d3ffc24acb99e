using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk;

// Segments and the scheduler: per-profile wake-ups kept by the store, run through the same partitions as events.
public sealed partial class OmnichannelEngine
{
    private const int DuePageSize = 512;
    private const int BackfillPageSize = 256;
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromDays(1);
    private static readonly TimeSpan MaxWakeRetryDelay = TimeSpan.FromMinutes(5);
    private TimeSpan _wakeRetryDelay;

    private readonly Lock _scheduleLock = new();
    private readonly SemaphoreSlim _dueGate = new(1, 1);
    private DateTimeOffset _timerDueAt = DateTimeOffset.MaxValue;

    /// <inheritdoc />
    public IReadOnlyList<SegmentDefinition> Segments => _definitions.Segments.Segments;

    /// <inheritdoc />
    public ValueTask<SegmentBackfill> UpsertSegmentAsync(SegmentDefinition segment, IProgress<SegmentBackfillProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ChangeSegment(segment, apply: true);
        return ValueTask.FromResult(StartBackfill(segment.Id, progress, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask<bool> RemoveSegmentAsync(string segmentId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segmentId);
        return ValueTask.FromResult(DropSegment(segmentId, apply: true));
    }

    /// <summary>
    /// Checks a segment added or changed against the loaded set and, with <paramref name="apply"/>, puts it in force
    /// (no backfill: see <see cref="StartBackfill"/>). A cluster checks on one silo, then applies on every silo.
    /// </summary>
    /// <exception cref="SegmentDefinitionException">The set with the segment is invalid.</exception>
    internal void ChangeSegment(SegmentDefinition segment, bool apply)
    {
        // The definition alone first, with paths into it ($.rule…), as a cluster reports them.
        var invalid = SegmentDefinitionValidator.Validate(segment);
        if (invalid.Count > 0)
        {
            throw new SegmentDefinitionException(invalid);
        }

        lock (_scheduleLock)
        {
            var definitions = _definitions.Segments.Segments.Where(s => s.Id != segment.Id).Append(segment).ToList();
            var errors = SegmentSetValidator.Validate(definitions);
            if (errors.Count > 0)
            {
                throw new SegmentDefinitionException(errors);
            }

            var catalog = Zoned(SegmentCatalog.Create(definitions).WithExtraRules(_definitions.Journeys.Rules));
            if (apply)
            {
                SetDefinitions(catalog, _definitions.Journeys);
            }
        }
    }

    /// <summary>Re-evaluates every existing profile for a segment in the background, through the partitions.</summary>
    internal SegmentBackfill StartBackfill(string segmentId, IProgress<SegmentBackfillProgress>? progress, CancellationToken cancellationToken)
    {
        var backfill = new SegmentBackfill(segmentId);
        backfill.Run(BackfillAsync(backfill, [segmentId], progress, cancellationToken));
        return backfill;
    }

    /// <summary>Checks the removal of a segment and, with <paramref name="apply"/>, removes it.</summary>
    /// <returns><see langword="false"/> when no such segment is loaded.</returns>
    /// <exception cref="SegmentDefinitionException">Another segment refers to it.</exception>
    internal bool DropSegment(string segmentId, bool apply)
    {
        lock (_scheduleLock)
        {
            if (!_definitions.Segments.Contains(segmentId))
            {
                return false;
            }

            var rest = _definitions.Segments.Segments.Where(s => s.Id != segmentId).ToList();
            var errors = SegmentSetValidator.Validate(rest);
            if (errors.Count > 0)
            {
                throw new SegmentDefinitionException(errors);
            }

            // A journey that starts on the segment would leave a set that no longer builds (every later journey change
            // refused for it): refused as a segment that another segment uses is.
            var starting = _definitions.Journeys.All.Where(j => j.Trigger is SegmentTrigger t && t.SegmentId == segmentId)
                .Select(j => new DefinitionError("$.id", $"journey '{j.Id}' version {j.Version} starts on segment '{segmentId}'; remove the journey (or publish a version without that trigger) first"))
                .ToList();
            if (starting.Count > 0)
            {
                throw new SegmentDefinitionException(starting);
            }

            var catalog = SegmentCatalog.Create(rest);

            // Profiles drop the membership the next time they are touched; the members list stops answering now.
            if (apply)
            {
                SetDefinitions(Zoned(catalog.WithExtraRules(_definitions.Journeys.Rules)), _definitions.Journeys);
            }

            return true;
        }
    }

    /// <inheritdoc />
    public async ValueTask<SegmentPreview> PreviewSegmentAsync(SegmentDefinition segment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segment);
        var invalid = SegmentDefinitionValidator.Validate(segment);
        if (invalid.Count > 0)
        {
            throw new SegmentDefinitionException(invalid);
        }

        var definitions = _definitions.Segments.Segments.Where(s => s.Id != segment.Id).Append(segment).ToList();
        var errors = SegmentSetValidator.Validate(definitions);
        if (errors.Count > 0)
        {
            throw new SegmentDefinitionException(errors);
        }

        var now = _time.GetUtcNow();
        long profiles = 0, matching = 0;
        await foreach (var p in ProfilesAsync(cancellationToken).ConfigureAwait(false))
        {
            profiles++;
            if (SegmentRuntime.Preview(p, segment, now, _options.Delivery.DefaultTimeZone))
            {
                matching++;
            }
        }

        return new SegmentPreview(segment.Id, matching, profiles, now);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> GetSegmentMembersAsync(string segmentId, string? afterProfileId = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segmentId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (!_definitions.Segments.Contains(segmentId))
        {
            throw new ArgumentException($"No segment '{segmentId}' is loaded.", nameof(segmentId));
        }

        return _store.ListSegmentMembersAsync(segmentId, afterProfileId, limit, cancellationToken);
    }

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
                var due = await _store.GetDueProfilesAsync(_time.GetUtcNow(), DuePageSize, cancellationToken).ConfigureAwait(false);
                if (due.Count == 0)
                {
                    break;
                }

                if (woken == 0)
                {
                    Volatile.Write(ref _wakeUpLagSeconds, Math.Max(0, (_time.GetUtcNow() - due.Min(d => d.WakeAt)).TotalSeconds));
                }

                var done = await Task.WhenAll(due.Select(d => EnqueueProfileTask(d.ProfileId, null, cancellationToken))).ConfigureAwait(false);
                woken += done.Count(ok => ok);
                for (var i = 0; i < done.Length; i++)
                {
                    if (!done[i])
                    {
                        failed.Add(due[i].ProfileId);
                    }
                }

                if (!done.Any(ok => ok))
                {
                    break; // every due profile failed: leave them for the next run rather than spin
                }
            }

            // A wake-up that failed stays due. Re-arming the timer for it at once would retry it in a hot loop (a profile
            // whose document cannot be read fails the same way every time): it is retried after a growing pause, while
            // the others' wake-ups keep their own times.
            var upcoming = await _store.GetDueProfilesAsync(DateTimeOffset.MaxValue, failed.Count + 1, cancellationToken).ConfigureAwait(false);
            DateTimeOffset? at = upcoming.FirstOrDefault(u => !failed.Contains(u.ProfileId))?.WakeAt;
            if (failed.Count > 0)
            {
                _wakeRetryDelay = _wakeRetryDelay == TimeSpan.Zero ? TimeSpan.FromSeconds(1)
                    : _wakeRetryDelay * 2 > MaxWakeRetryDelay ? MaxWakeRetryDelay : _wakeRetryDelay * 2;
                var retry = _time.GetUtcNow() + _wakeRetryDelay;
                at = at is { } other && other < retry ? other : retry;
            }
            else
            {
                _wakeRetryDelay = TimeSpan.Zero;
            }

            if (at is { } wakeAt)
            {
                ScheduleWake(wakeAt);
            }

            activity?.SetTag("omnichannel.profiles", woken);
            return woken;
        }
        finally
        {
            _dueGate.Release();
        }
    }

    /// <summary>The earliest pending wake-up of any profile, or <see langword="null"/> when none is pending.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <remarks>Hidden from IntelliSense: drives the engine by hand, for replays on a virtual clock and for test kits (<c>OmnichannelTestHost</c> calls it); an application never needs it.</remarks>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public async ValueTask<DateTimeOffset?> GetNextWakeUpAsync(CancellationToken cancellationToken = default)
    {
        var next = await _store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1, cancellationToken).ConfigureAwait(false);
        return next.Count > 0 ? next[0].WakeAt : null;
    }

    /// <summary>
    /// For replays and tests on a virtual clock: moves the clock to <paramref name="instant"/> through
    /// <paramref name="setClock"/>, stopping at every pending wake-up (and, when transports are registered, every outbox
    /// entry falling due) on the way and running it, so that time-driven changes and deliveries happen at their exact
    /// instants and in order.
    /// </summary>
    /// <param name="instant">Where the clock ends; it never moves backwards.</param>
    /// <param name="setClock">Sets the virtual clock (for example <c>FakeTimeProvider.SetUtcNow</c>).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <exception cref="InvalidOperationException">A wake-up stays due after it ran (a failing store, for instance).</exception>
    /// <remarks>Hidden from IntelliSense: drives the engine by hand, for replays on a virtual clock and for test kits (<c>OmnichannelTestHost</c> calls it); an application never needs it.</remarks>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public async Task AdvanceVirtualClockAsync(DateTimeOffset instant, Action<DateTimeOffset> setClock, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(setClock);
        DateTimeOffset? previousWake = null, previousSend = null;
        while (true)
        {
            // What the engine's own timers started (a wake-up run, sends in flight) finishes before the clock moves on,
            // so its outbox rows and outcomes land at this instant, on every store.
            await QuiesceAsync(cancellationToken).ConfigureAwait(false);
            var wake = await GetNextWakeUpAsync(cancellationToken).ConfigureAwait(false);
            var send = _delivery.HasTransports ? await _store.GetNextOutboxDueAsync(cancellationToken).ConfigureAwait(false) : null;
            if (Earliest(wake, send) is not { } next || next > instant)
            {
                break;
            }

            if (next > _time.GetUtcNow())
            {
                setClock(next);
            }

            if (wake == next)
            {
                if (previousWake == next)
                {
                    throw new InvalidOperationException($"A profile wake-up at {next:O} stays due after running; see the engine's log.");
                }

                previousWake = next;
                await RunDueAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                if (previousSend == next)
                {
                    throw new InvalidOperationException($"An outbox entry due at {next:O} stays due after dispatching; see the engine's log.");
                }

                previousSend = next;
                await RunDispatchAsync(cancellationToken).ConfigureAwait(false); // held for quiet hours or a retry: out on time
            }
        }

        // Nothing is due up to the instant any more.
        if (instant > _time.GetUtcNow())
        {
            setClock(instant);
        }
    }

    private async Task QuiesceAsync(CancellationToken cancellationToken)
    {
        await _dueGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        _dueGate.Release();
        await WaitForSendsInFlightAsync(cancellationToken).ConfigureAwait(false);
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a < b ? a : b);

    private async Task RunDueInBackgroundAsync()
    {
        try
        {
            if (_disposed == 0)
            {
                await RunDueAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogWakeFailed(_logger, ex);
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

    private async Task<bool> EnqueueProfileTask(string profileId, IReadOnlyCollection<string>? segments, CancellationToken cancellationToken)
    {
        var unit = await EnqueueProfileWork(profileId, (p, now) => WakeAsync(p, segments, now, cancellationToken), cancellationToken).ConfigureAwait(false);
        return unit is not null;
    }

    private SegmentCatalog Zoned(SegmentCatalog catalog)
    {
        catalog.DefaultTimeZone = _options.Delivery.DefaultTimeZone;
        return catalog;
    }

    // Runs work on one profile (found by id, following merges) in the partition that keeps it hot (else one chosen by its
    // id), and commits it; null when it failed.
    private async Task<UnitResult?> EnqueueProfileWork(string profileId, Func<CustomerProfile, DateTimeOffset, ValueTask<ChangeEffect>> apply, CancellationToken cancellationToken, bool readOnly = false)
    {
        var partition = _affinity.PartitionOf(profileId, (int)((uint)StringComparer.Ordinal.GetHashCode(profileId) % (uint)_queues.Length));
        var task = new ProfileTask(new ProfileWork(profileId, apply, fresh: readOnly), partition);
        await _queues[partition].Writer.WriteAsync(task, cancellationToken).ConfigureAwait(false);
        return await task.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task BackfillAsync(SegmentBackfill backfill, IReadOnlyCollection<string> segments, IProgress<SegmentBackfillProgress>? progress, CancellationToken cancellationToken)
    {
        await Task.Yield();
        string? after = null;
        while (true)
        {
            var page = await _store.ListProfileIdsAsync(after, BackfillPageSize, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                break;
            }

            var done = await Task.WhenAll(page.Select(id => EnqueueProfileTask(id, segments, cancellationToken))).ConfigureAwait(false);
            backfill.Add(done.Count(ok => ok), done.Count(ok => !ok));
            progress?.Report(backfill.Progress);
            after = page[^1];
        }
    }

    private async Task RunProfileTaskAsync(ProfileTask task, HotProfiles hot)
    {
        try
        {
            var unit = await RunUnitOfWorkAsync(task.Change, hot).ConfigureAwait(false);
            task.Completion.TrySetResult(unit.Status == UnitStatus.GaveUp ? null : unit);
        }
        catch (Exception ex)
        {
            LogProfileTaskFailed(_logger, ex, task.Change.ProfileId);
            task.Completion.TrySetResult(null);
        }
    }

    [LoggerMessage(20, LogLevel.Debug, "Profile {ProfileId} {Direction} segment {SegmentId}")]
    private static partial void LogSegmentTransition(ILogger logger, string profileId, string direction, string segmentId);

    [LoggerMessage(21, LogLevel.Error, "Running due profile wake-ups failed; they stay due and run on the next wake-up")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception);

    [LoggerMessage(22, LogLevel.Error, "Re-evaluating segments of profile {ProfileId} failed; it stays due")]
    private static partial void LogProfileTaskFailed(ILogger logger, Exception exception, string profileId);

    private sealed class ProfileTask(ProfileWork change, int partition) : WorkItem(partition)
    {
        public ProfileWork Change { get; } = change;

        public TaskCompletionSource<UnitResult?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
