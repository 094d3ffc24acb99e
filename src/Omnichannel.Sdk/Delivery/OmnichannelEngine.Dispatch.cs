using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Polly;

namespace Omnichannel.Sdk;

// Delivery, dispatch: due outbox entries are claimed (leases with fencing tokens) and each is handled
// (OmnichannelEngine.Send.cs): checked again on the profile (OmnichannelEngine.Recheck.cs), sent
// (OmnichannelEngine.Resilience.cs), and every outcome is recorded on the profile as an event. Planning is in
// OmnichannelEngine.Planning.cs.
public sealed partial class OmnichannelEngine
{
    private const int MaxMessageKeysPerProfile = 500;

    private readonly SemaphoreSlim _dispatchGate = new(1, 1);
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();

    // Sends waiting for a transport's answer, with the instant their time-out ends the attempt (for a virtual clock's advance).
    private readonly ConcurrentDictionary<object, DateTimeOffset> _awaitingTransports = new();
    private readonly ConcurrentDictionary<string, int> _sending = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ResiliencePipeline<DeliveryResult>> _pipelines = new(StringComparer.Ordinal);
    private DeliverySetup _delivery = new();
    private ITimer? _dispatchTimer;
    private DateTimeOffset _dispatchDueAt = DateTimeOffset.MaxValue;

    /// <summary>
    /// Runs every outbox entry due now through the transports and waits until each is sent, rescheduled or failed.
    /// The engine's own timer calls it; tests on a fake clock may call it after moving the clock.
    /// </summary>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>How many entries were handled.</returns>
    /// <remarks>Hidden from IntelliSense: drives the engine by hand, for replays on a virtual clock and for test kits (<c>OmnichannelTestHost</c> calls it); an application never needs it.</remarks>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public async Task<int> RunDispatchAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfOnWorker(nameof(RunDispatchAsync));
        return await RunDispatchAsync(awaited: true, cancellationToken).ConfigureAwait(false);
    }

    // awaited: a caller waits to see every outcome due now, those of sends other runs claimed included. The engine's own
    // background runs (its timer's) are awaited by no one: each waits for its own sends only. Every message planned arms
    // the timer, so under steady sending many runs overlap, and each one waiting for all the others' sends added one
    // continuation to every send in flight (about 0.9 KB per message, the dispatch's largest allocation).
    private async Task<int> RunDispatchAsync(bool awaited, CancellationToken cancellationToken)
    {
        if (LeavesSendingToOthers)
        {
            return 0;
        }

        try
        {
            var handled = await DispatchDueAsync(awaited, cancellationToken).ConfigureAwait(false);
            _dispatchRetryDelay = TimeSpan.Zero;
            return handled;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The timer was disarmed when the run claimed, and only the end of a run arms it again: a run that failed (the
            // store's claim or its next-due read failed) must arm it for a retry, or the messages already in the outbox
            // would wait until another message was planned.
            var delay = _dispatchRetryDelay = NextRetryDelay(_dispatchRetryDelay);
            ScheduleDispatch(_time.GetUtcNow() + delay);
            throw;
        }
    }

    private TimeSpan _dispatchRetryDelay;

    // A window of sends rather than batches: at most DispatchBatchSize of this run's sends are in flight, and the run
    // claims more as soon as half of them are done. Waiting for a whole batch before claiming the next let one slow
    // hand-over (up to SendTimeout) hold back the 31 messages behind it, and left the partitions idle at every batch's end.
    private async Task<int> DispatchDueAsync(bool awaited, CancellationToken cancellationToken)
    {
        var window = _options.Delivery.DispatchBatchSize;
        var done = new SemaphoreSlim(0); // released once per finished send of this run
        var running = new List<Task>();
        var inFlight = 0;
        var handled = 0;
        var disposing = false;
        try
        {
            while (true)
            {
                var wanted = window - inFlight;
                var claimed = 0;
                await AdvanceOutboxEntriesAsync(cancellationToken).ConfigureAwait(false); // held messages her new zone's morning brings forward

                // The gate covers claiming (and registering the sends) only: a slow or hanging transport never holds it,
                // and each send is bounded by the SDK.
                await _dispatchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    if (_disposed != 0)
                    {
                        // None is claimed after it; this run's sends still in flight are waited for below, as disposal
                        // waits for them: the caller hears "handled" once they are.
                        disposing = true;
                        break;
                    }

                    lock (_scheduleLock)
                    {
                        _dispatchDueAt = DateTimeOffset.MaxValue;
                    }

                    var batch = await _store.ClaimOutboxAsync(_time.GetUtcNow(), _options.Delivery.Lease, wanted, ClaimChannels, cancellationToken).ConfigureAwait(false);
                    Volatile.Write(ref _outboxDueSeen, batch.Count);
                    foreach (var e in batch)
                    {
                        // Claimed again while this process is still sending it (its lease ran out on a fast clock or a slow
                        // provider): the send in progress takes the new fencing token instead of a second send starting.
                        if (!_sending.TryAdd(e.MessageKey, e.Attempt))
                        {
                            _sending[e.MessageKey] = e.Attempt;
                            continue;
                        }

                        var send = Track(Task.Run(() => DispatchAsync(e, cancellationToken), CancellationToken.None));
                        _ = send.ContinueWith(static (_, s) => ((SemaphoreSlim)s!).Release(), done, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                        running.Add(send);
                        inFlight++;
                        claimed++;
                    }

                    if (batch.Count < wanted)
                    {
                        wanted = -1; // nothing more is due now
                    }
                }
                finally
                {
                    _dispatchGate.Release();
                }

                handled += claimed;
                if (wanted < 0 || claimed == 0)
                {
                    if (inFlight == 0)
                    {
                        break;
                    }

                    // Nothing more was due when claimed: wait for this run's sends, then look once more (a message their
                    // outcomes or other callers planned meanwhile is due now too).
                    await Task.WhenAll(running).ConfigureAwait(false);
                    running.Clear();
                    done = new SemaphoreSlim(0);
                    inFlight = 0;
                    continue;
                }

                while (inFlight > window / 2)
                {
                    await done.WaitAsync(cancellationToken).ConfigureAwait(false);
                    inFlight--;
                }

                running.RemoveAll(static t => t.IsCompleted && t.Status == TaskStatus.RanToCompletion);
            }

            await Task.WhenAll(running).ConfigureAwait(false);
        }
        catch when (running.Count > 0)
        {
            // The run failed (a claim, a cancellation): its sends are tracked and finish on their own; the caller hears of
            // the run's failure once they have, as when it waited for whole batches.
            await Task.WhenAll(running).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }

        if (disposing)
        {
            return handled;
        }

        // Sends another run claimed are part of "everything due now": wait for them too, so a caller sees their outcomes.
        if (awaited)
        {
            await WaitForSendsInFlightAsync(cancellationToken).ConfigureAwait(false);
        }

        if (await _store.GetNextOutboxDueAsync(ClaimChannels, cancellationToken).ConfigureAwait(false) is { } next)
        {
            ScheduleDispatch(next);
        }

        return handled;
    }

    private async Task WaitForSendsInFlightAsync(CancellationToken cancellationToken)
    {
        // Every run ends here, and runs overlap while messages are planned: only the sends still to finish are copied, into
        // one array of their number (one that ran to completion adds nothing to the wait; one that failed or was cancelled
        // is kept, as its fault is the wait's).
        Task[] unfinished;
        var count = 0;
        await _dispatchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Claimed and registered under the gate: none is missed, and none is added while counted and copied (a finished
            // one may leave meanwhile: fewer are copied then).
            foreach (var (send, _) in _inFlight)
            {
                count += send.Status != TaskStatus.RanToCompletion ? 1 : 0;
            }

            if (count == 0)
            {
                return;
            }

            unfinished = new Task[count];
            count = 0;
            foreach (var (send, _) in _inFlight)
            {
                if (send.Status != TaskStatus.RanToCompletion && count < unfinished.Length)
                {
                    unfinished[count++] = send;
                }
            }
        }
        finally
        {
            _dispatchGate.Release();
        }

        await Task.WhenAll(count == unfinished.Length ? unfinished : unfinished[..count]).ConfigureAwait(false);
    }

    // The sends in flight now, claimed by any run.
    private async Task<List<Task>> SendsInFlightAsync(CancellationToken cancellationToken)
    {
        await _dispatchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return [.. _inFlight.Keys]; // claimed and registered under the gate: none is missed
        }
        finally
        {
            _dispatchGate.Release();
        }
    }

    private Task Track(Task send)
    {
        _inFlight.TryAdd(send, 0);
        _ = send.ContinueWith(static (t, inFlight) => ((ConcurrentDictionary<Task, byte>)inFlight!).TryRemove(t, out _), _inFlight, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return send;
    }

    // A process with no transport at all on a store other processes share (a web server beside workers): it plans messages
    // but claims none. Claiming, it failed each one ("no transport is registered") that a worker would have sent (audit U67).
    // Alone on the in-memory store it still fails them, saying how to register a transport.
    private bool LeavesSendingToOthers => !_delivery.HasTransports && _store is not InMemoryOmnichannelStore;

    // Likewise a process with transports for some channels only (a worker for email, another for SMS): it claims the
    // entries of its own channels and leaves the others' (claiming them, it failed each one: "no transport is
    // registered"). Alone on the in-memory store it claims every entry, and a message on a channel without a transport
    // fails, saying how to register one.
    // A store that keeps the interface's default channel overloads (written before them) claims every entry whatever the
    // channels: the engine then claims as before (null), neither telling that it leaves messages to others nor handing
    // one over (the new entry came straight back to it, and was handed over again without end).
    private IReadOnlyCollection<string>? ClaimChannels => _store is InMemoryOmnichannelStore || !StoreClaimsByChannel ? null : _delivery.Served;

    // 0 until known, then 1 (it claims by channel) or 2; a race computes the same answer twice.
    private bool StoreClaimsByChannel => (_claimsByChannel != 0 ? _claimsByChannel : _claimsByChannel = ClaimsByChannel(_store) ? 1 : 2) == 1;

    private int _claimsByChannel;

    /// <summary>Whether <paramref name="store"/> implements the channel-limited claim rather than keeping the interface's default.</summary>
    internal static bool ClaimsByChannel(IOmnichannelStore store)
    {
        var map = store.GetType().GetInterfaceMap(typeof(IOmnichannelStore));
        for (var i = 0; i < map.InterfaceMethods.Length; i++)
        {
            var m = map.InterfaceMethods[i];
            if (m.Name == nameof(IOmnichannelStore.ClaimOutboxAsync) && m.GetParameters().Length == 5)
            {
                return map.TargetMethods[i].DeclaringType != typeof(IOmnichannelStore);
            }
        }

        return false;
    }

    internal void StartDelivery(DeliverySetup? delivery)
    {
        _delivery = delivery ?? new DeliverySetup();
        _validator.Delivery = _delivery;
        if (LeavesSendingToOthers)
        {
            LogLeavesSendingToOthers(_logger);
        }

        _dispatchTimer = _time.CreateTimer(_ => _ = RunDispatchInBackgroundAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _ = RunDispatchInBackgroundAsync(); // messages left in the outbox by an earlier process
    }

    private void ScheduleDispatch(DateTimeOffset at)
    {
        lock (_scheduleLock)
        {
            if (at >= _dispatchDueAt || _disposed != 0 || _dispatchTimer is null)
            {
                return;
            }

            _dispatchDueAt = at;
            var delay = at - _time.GetUtcNow();
            delay = delay < TimeSpan.Zero ? TimeSpan.Zero : delay > MaxTimerDelay ? MaxTimerDelay : delay;
            _dispatchTimer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task RunDispatchInBackgroundAsync()
    {
        LeaveWorker(); // a fake clock runs a timer due at once inside Change, on the worker that armed it
        try
        {
            if (_disposed == 0)
            {
                await RunDispatchAsync(awaited: false, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogDispatchFailed(_logger, Privacy.ScrubbedException.Of(ex), "(run)");
        }
    }

    [LoggerMessage(62, LogLevel.Error, "Message {MessageKey} was given up on attempt {Attempt}: its outbox entry could not be read ({ExceptionType}); recorded as failed (dead letter)")]
    private static partial void LogDeadLetter(ILogger logger, string messageKey, int attempt, string exceptionType);

    [LoggerMessage(30, LogLevel.Information, "Message {MessageKey} failed: {Reason}")]
    private static partial void LogMessageFailed(ILogger logger, string messageKey, string reason);

    [LoggerMessage(35, LogLevel.Warning, "Message {MessageKey} was sent on attempt {Attempt} after its lease ran out; another dispatcher may have sent it too (raise Delivery.Lease)")]
    private static partial void LogLeaseLost(ILogger logger, string messageKey, int attempt);

    [LoggerMessage(33, LogLevel.Information, "Message {MessageKey} was cancelled before sending: {Reason}")]
    private static partial void LogMessageCancelled(ILogger logger, string messageKey, string reason);

    [LoggerMessage(31, LogLevel.Debug, "Message {MessageKey} failed transiently on attempt {Attempt}; trying again in {Delay}")]
    private static partial void LogRetryLater(ILogger logger, string messageKey, int attempt, TimeSpan delay);

    [LoggerMessage(38, LogLevel.Warning, "Message {MessageKey} was claimed again (attempt {Attempt}) after its outcome '{Outcome}' was recorded; it is completed without sending it again")]
    private static partial void LogOutcomeAlreadyRecorded(ILogger logger, string messageKey, string outcome, int attempt);

    [LoggerMessage(32, LogLevel.Error, "Dispatching message {MessageKey} failed; it will be claimed again when its lease ends")]
    private static partial void LogDispatchFailed(ILogger logger, Exception exception, string messageKey);

    // The channels this process planned a message on and left to others, each logged once (event 234).
    private readonly ConcurrentDictionary<string, byte> _channelsLeftToOthers = new(StringComparer.Ordinal);

    [LoggerMessage(234, LogLevel.Warning, "This engine has no transport for channel {Channel}: its messages are left in the shared outbox for the processes that register one, and wait there until one does (register one here if no other process does)")]
    private static partial void LogChannelLeftToOthers(ILogger logger, string channel);

    [LoggerMessage(213, LogLevel.Information, "This engine registers no transport: the messages it plans are left in the shared outbox for the processes that register one")]
    private static partial void LogLeavesSendingToOthers(ILogger logger);
}
