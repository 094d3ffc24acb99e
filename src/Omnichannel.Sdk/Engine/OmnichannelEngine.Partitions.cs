using Microsoft.Extensions.Logging;
using System.Diagnostics;

namespace Omnichannel.Sdk;

// The partitions: one queue and one worker each, so a customer's events run in order by one writer.
public sealed partial class OmnichannelEngine
{
    private async Task RunPartitionAsync(int partition)
    {
        OnWorker.Value = this; // host code this worker calls and that calls back into the engine is refused, not deadlocked
        var reader = _queues[partition].Reader;
        var hot = _hot[partition];
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var sliceStart = Stopwatch.GetTimestamp();
            while (reader.TryRead(out var work))
            {
                // A store that completes synchronously (the in-memory one) would keep this worker on its thread until the
                // queue is empty: the pool then adds threads for the other partitions, more than there are cores, and a
                // thread holding the store's lock is descheduled while the others wait for it. Giving the thread back
                // after a slice keeps the workers on about as many threads as cores.
                if (Stopwatch.GetElapsedTime(sliceStart).Ticks >= WorkerSliceTicks)
                {
                    await Task.Yield();
                    sliceStart = Stopwatch.GetTimestamp();
                }

                if (hot.HasForgetsAsked)
                {
                    hot.ForgetAsked();
                }

                IReadOnlyList<WorkItem> taken = [work];
                try
                {
                    if (work is ProfileTask task)
                    {
                        if (_runs && reader.TryPeek(out var queued) && queued is ProfileTask)
                        {
                            var tasks = ProfileTaskRuns.Collect(reader, task);
                            taken = tasks;
                            await ProcessProfileTasksAsync(tasks, hot).ConfigureAwait(false);
                            continue;
                        }

                        await RunProfileTaskTracedAsync(task, hot).ConfigureAwait(false);
                        continue;
                    }

                    if (work is PartitionMark mark)
                    {
                        if (mark.Forget is { } erased)
                        {
                            hot.Remove(erased);
                        }

                        mark.Reached.TrySetResult();
                        continue;
                    }

                    var item = (EventItem)work;
                    if (_runs && item.Gate.TryStart() && reader.TryPeek(out var next) && next is EventItem following && following.RouteKey == item.RouteKey)
                    {
                        var run = EventRuns.Collect(reader, item);
                        taken = run;
                        await ProcessRunAsync(run, hot).ConfigureAwait(false);
                        continue;
                    }

                    await ProcessItemAsync(item, hot).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // Host code the worker calls on its way out of a piece of work (a logger, a metrics or trace listener)
                    // threw: the worker must outlive it, or every later caller of this partition would wait for ever.
                    hot.Clear();
                    Abandon(taken, ex);
                }
            }
        }
    }

    // Long enough that yielding costs nothing measurable (one pool hop a millisecond), short enough that the pool sees its
    // work items finish and adds no threads for the waiting partitions (benchmarks/README.md, fifty-fifth session).
    private static readonly long WorkerSliceTicks = TimeSpan.FromMilliseconds(1).Ticks;

    private static void Abandon(IReadOnlyList<WorkItem> items, Exception ex)
    {
        foreach (var w in items)
        {
            switch (w)
            {
                case EventItem e:
                    e.Complete(new TrackResult
                    {
                        EventId = e.Event.Event.Id,
                        Status = TrackStatus.StoreFailed,
                        IsTransient = true,
                        FailureReason = $"the engine failed while processing it ({ex.GetType().Name}: {Privacy.PersonalDataScrubber.Scrub(ex.Message)}); it may or may not have been applied and may be sent again",
                    });
                    break;
                case ProfileTask t:
                    t.Completion.TrySetResult(null);
                    break;
                case PartitionMark m:
                    m.Reached.TrySetResult();
                    break;
            }
        }
    }

    private async ValueTask ProcessItemAsync(EventItem item, HotProfiles hot)
    {
        if (!item.Gate.TryStart())
        {
            item.Withdraw(); // withdrawn by its cancelled caller: nothing of it is applied
            return;
        }

        using var span = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.ProcessEvent, ActivityKind.Internal, item.Parent);
        TrackResult result;
        var started = Stopwatch.GetTimestamp();
        try
        {
            result = await ProcessAsync(item.Event, hot).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            hot.Clear();
            LogFailed(_logger, Privacy.ScrubbedException.Of(ex), item.Event.Event.Type);
            result = ex is ApplyFailedException applying
                ? new TrackResult
                {
                    EventId = item.Event.Event.Id,
                    Status = TrackStatus.Failed,
                    IsTransient = false,
                    FailureReason = $"the event cannot be applied to its profile and would fail the same way again ({applying.InnerException!.GetType().Name}: {Privacy.PersonalDataScrubber.Scrub(applying.InnerException.Message)})",
                }
                : new TrackResult
                {
                    EventId = item.Event.Event.Id,
                    Status = TrackStatus.StoreFailed,
                    IsTransient = true,
                    FailureReason = $"the store failed: {ex.GetType().Name}: {Privacy.PersonalDataScrubber.Scrub(ex.Message)}",
                };
        }

        _metrics.ProcessingDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        span?.SetTag("omnichannel.event.outcome", OmnichannelTelemetry.OutcomeName(result.Status));
        _metrics.EventsTracked.Add(1, new KeyValuePair<string, object?>("omnichannel.event.outcome", OmnichannelTelemetry.OutcomeName(result.Status)));
        span?.Stop(); // before the caller hears the answer: a caller that looks at its trace then finds this span ended
        item.Complete(result);
    }

    private async ValueTask<TrackResult> ProcessAsync(ValidatedEvent v, HotProfiles hot)
    {
        var e = v.Event;
        var unit = await RunUnitOfWorkAsync(new EventChange(v), hot).ConfigureAwait(false);
        return unit.Status switch
        {
            UnitStatus.Committed => new TrackResult { EventId = e.Id, Status = TrackStatus.Accepted, ProfileId = unit.ProfileId, SegmentChanges = unit.Effect!.Changes, NotLinked = NotLinked(e, unit.Effect.Result as ResolutionPlan), Ignored = Ignored(e) },
            UnitStatus.Duplicate => new TrackResult { EventId = e.Id, Status = TrackStatus.Duplicate },
            UnitStatus.Finished => unit.Track!,
            UnitStatus.KeyTaken => new TrackResult
            {
                EventId = e.Id,
                Status = TrackStatus.StoreFailed,
                FailureReason = "a message it would queue has a key the store already accepted for another message; the event was not applied",
            },
            _ => new TrackResult
            {
                EventId = e.Id,
                Status = TrackStatus.StoreFailed,
                IsTransient = true,
                FailureReason = $"the store reported a concurrent change {_options.MaxCommitAttempts} times in a row ({unit.Reason}); the event was not applied and may be sent again",
            },
        };
    }

    // What an accepted event carried that was not applied (audit U64: a zone given as a raw offset was dropped silently).
    internal static IReadOnlyList<ValidationError> Ignored(CustomerEvent e)
    {
        var zone = LocalTime.ZoneRefusal(e.Context?.TimeZone);
        var names = WellKnownProperties.SpecNamesNotRead(e.Type, e.Properties);
        if (zone is null)
        {
            return names;
        }

        return names.Count == 0 ? [new ValidationError("context.timeZone", zone)] : [new ValidationError("context.timeZone", zone), .. names];
    }

    // The identifiers the plan refused, told to the caller by their position in the event and the reason (never the value):
    // a limit that keeps an identifier off the profile must not do so silently.
    private IReadOnlyList<ValidationError> NotLinked(CustomerEvent e, ResolutionPlan? plan)
    {
        if (plan is null || plan.Conflicts.Count == 0)
        {
            return [];
        }

        var notLinked = new List<ValidationError>(plan.Conflicts.Count);
        foreach (var (id, _, reason) in plan.Conflicts)
        {
            var position = -1;
            for (var i = 0; i < e.Identifiers.Count && position < 0; i++)
            {
                if (e.Identifiers[i].Type == id.Type && Normalize(e.Identifiers[i]) == id)
                {
                    position = i;
                }
            }

            notLinked.Add(new ValidationError(position < 0 ? "identifiers" : $"identifiers[{position}]", $"{id.Type} was not linked to the profile: {reason}"));
        }

        return notLinked;
    }

    private void Report(ResolutionPlan plan, string profileId, CustomerEvent e)
    {
        if (plan.Absorb.Count > 0)
        {
            _metrics.ProfilesMerged.Add(plan.Absorb.Count);
            foreach (var (other, causedBy) in plan.Absorb)
            {
                LogMerged(_logger, other, profileId, causedBy.Type, e.Id);
            }
        }

        foreach (var (id, other, reason) in plan.Conflicts)
        {
            _metrics.IdentityConflicts.Add(1, new KeyValuePair<string, object?>("omnichannel.identifier.type", id.Type));
            LogConflict(_logger, id.Type, Mask(id), profileId, other, reason);
        }
    }

    private async Task<bool> EnqueueProfileTask(string profileId, IReadOnlyCollection<string>? segments, CancellationToken cancellationToken)
    {
        var unit = await EnqueueProfileWork(profileId, (p, now) => WakeAsync(p, segments, now, cancellationToken), cancellationToken).ConfigureAwait(false);
        return unit is not null;
    }

    // Runs work on one profile (found by id, following merges) in the partition that keeps it hot (else one chosen by its
    // id), and commits it; null when it failed.
    // Queued, it will run (a message planned, an unsubscribe recorded): the caller hears how it ended, never "cancelled"
    // about work that then commits (audit U29). The work itself sees the token: cancelled inside it (a renderer, a store
    // read), it commits nothing and the task is cancelled. Queued at once (the usual case), the caller gets the work's own
    // completion: no task of its own wraps it (one per message sent, and per outcome recorded).
    private Task<UnitResult?> EnqueueProfileWork(string profileId, Func<CustomerProfile, DateTimeOffset, ValueTask<ChangeEffect>> apply, CancellationToken cancellationToken, bool readOnly = false)
    {
        var queued = QueueProfileWorkAsync(profileId, apply, cancellationToken, readOnly);
        return queued.IsCompletedSuccessfully ? queued.Result : AfterQueuedAsync(queued);

        static async Task<UnitResult?> AfterQueuedAsync(ValueTask<Task<UnitResult?>> queued) =>
            await (await queued.ConfigureAwait(false)).ConfigureAwait(false);
    }

    // Queues the work and answers once it is queued, with the task that completes when it has run.
    private async ValueTask<Task<UnitResult?>> QueueProfileWorkAsync(string profileId, Func<CustomerProfile, DateTimeOffset, ValueTask<ChangeEffect>> apply, CancellationToken cancellationToken, bool readOnly = false)
    {
        ThrowIfOnWorker("Work on a profile (SendAsync, a segment or journey visit, an unsubscribe)");
        var partition = _affinity.PartitionOf(profileId, (int)((uint)StringComparer.Ordinal.GetHashCode(profileId) % (uint)_queues.Length));
        var task = new ProfileTask(new ProfileWork(profileId, apply, fresh: readOnly), partition);
        await WriteAsync(_queues[partition].Writer, task, cancellationToken).ConfigureAwait(false);
        return task.Completion.Task;
    }

    private async Task RunProfileTaskTracedAsync(ProfileTask task, HotProfiles hot)
    {
        using (OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.ProfileWork, ActivityKind.Internal, task.Parent))
        {
            await RunProfileTaskAsync(task, hot).ConfigureAwait(false);
        }
    }

    private async Task RunProfileTaskAsync(ProfileTask task, HotProfiles hot)
    {
        try
        {
            var unit = await RunUnitOfWorkAsync(task.Change, hot).ConfigureAwait(false);
            // Only a send can answer a taken key (Duplicate); any other work failed.
            task.Completion.TrySetResult(unit.Status == UnitStatus.GaveUp || (unit.Status == UnitStatus.KeyTaken && unit.Effect?.Result is not Delivery.SendResult) ? null : unit);
        }
        catch (OperationCanceledException ex)
        {
            // The caller's token, cancelled inside the work: nothing was committed, and it is no failure (audit U29).
            task.Completion.TrySetCanceled(ex.CancellationToken);
        }
        catch (Exception ex)
        {
            LogProfileTaskFailed(_logger, Privacy.ScrubbedException.Of(ex), task.Change.ProfileId);
            task.Completion.TrySetResult(null);
        }
    }

    [LoggerMessage(22, LogLevel.Error, "Re-evaluating segments of profile {ProfileId} failed; it stays due")]
    private static partial void LogProfileTaskFailed(ILogger logger, Exception exception, string profileId);

    /// <summary>
    /// Waits until every partition has finished the work it held when this was called. A definition change calls it
    /// before visiting profiles: a unit that read the old definitions and had not committed when the visit listed the
    /// profiles (a new profile, or a journey instance started on the old version) would otherwise be passed over.
    /// </summary>
    private async Task PartitionsPastAsync(CancellationToken cancellationToken)
    {
        ThrowIfOnWorker("A segment back-fill or a journey visit");
        var marks = new Task[_queues.Length];
        for (var i = 0; i < _queues.Length; i++)
        {
            var mark = new PartitionMark(i);
            await WriteAsync(_queues[i].Writer, mark, cancellationToken).ConfigureAwait(false);
            marks[i] = mark.Reached.Task;
        }

        await Task.WhenAll(marks).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    // A place in a partition's queue: reached once the work queued before it is done.
    private sealed class PartitionMark(int partition) : WorkItem(partition)
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>An erased profile whose deserialised copy the partition drops on reaching the mark.</summary>
        public string? Forget { get; init; }
    }

    private sealed class ProfileTask(ProfileWork change, int partition) : WorkItem(partition)
    {
        public ProfileWork Change { get; } = change;

        public TaskCompletionSource<UnitResult?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
