using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Polly;

namespace Omnichannel.Sdk;

// Delivery, dispatch: due outbox entries are claimed (leases with fencing tokens), checked again on the profile
// (OmnichannelEngine.Recheck.cs), sent (OmnichannelEngine.Resilience.cs), and every outcome is recorded on the profile
// as an event. Planning is in OmnichannelEngine.Planning.cs.
public sealed partial class OmnichannelEngine
{
    private const int MaxMessageKeysPerProfile = 500;

    private readonly SemaphoreSlim _dispatchGate = new(1, 1);
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
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
        try
        {
            var handled = await DispatchDueAsync(cancellationToken).ConfigureAwait(false);
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
    private async Task<int> DispatchDueAsync(CancellationToken cancellationToken)
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

                    var batch = await _store.ClaimOutboxAsync(_time.GetUtcNow(), _options.Delivery.Lease, wanted, cancellationToken).ConfigureAwait(false);
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
        await WaitForSendsInFlightAsync(cancellationToken).ConfigureAwait(false);
        if (await _store.GetNextOutboxDueAsync(cancellationToken).ConfigureAwait(false) is { } next)
        {
            ScheduleDispatch(next);
        }

        return handled;
    }

    private async Task WaitForSendsInFlightAsync(CancellationToken cancellationToken)
    {
        List<Task> sends;
        await _dispatchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            sends = [.. _inFlight.Keys]; // claimed and registered under the gate: none is missed
        }
        finally
        {
            _dispatchGate.Release();
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
    }

    private Task Track(Task send)
    {
        _inFlight.TryAdd(send, 0);
        _ = send.ContinueWith(t => _inFlight.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return send;
    }

    internal void StartDelivery(DeliverySetup? delivery)
    {
        _delivery = delivery ?? new DeliverySetup();
        _validator.Delivery = _delivery;
        _dispatchTimer = _time.CreateTimer(_ => _ = RunDispatchInBackgroundAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _ = RunDispatchInBackgroundAsync(); // messages left in the outbox by an earlier process
    }

    private async Task DispatchAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        LeaveWorker();
        using var activity = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.Dispatch);
        activity?.SetTag("omnichannel.message.attempt", entry.Attempt);
        try
        {
            OutboxPayload payload;
            try
            {
                payload = OutboxPayload.Deserialize(entry.Payload);
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException)
            {
                // It will never parse: claiming it again at every lease end would retry it for ever.
                await DeadLetterAsync(entry, ex, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (activity is not null && payload.TraceParent is { } traceParent && System.Diagnostics.ActivityContext.TryParse(traceParent, null, out var origin))
            {
                activity.AddLink(new System.Diagnostics.ActivityLink(origin));   // the trace that planned the message
            }

            // Claimed again after an earlier attempt recorded its outcome but could not complete the entry (a store fault
            // or a crash between the two): the outcome stands, and the message is not sent a second time.
            if (entry.Attempt > 1 && await RecordedOutcomeAsync(payload.Key, cancellationToken).ConfigureAwait(false) is { } recorded)
            {
                await _store.CompleteOutboxAsync(entry.MessageKey, Fence(entry), cancellationToken).ConfigureAwait(false);
                LogOutcomeAlreadyRecorded(_logger, entry.MessageKey, recorded, entry.Attempt);
                return;
            }

            // A transport of this process accepted it, but recording the outcome failed (a store fault): record it now;
            // sending again would deliver it twice.
            if (_acceptedUnrecorded.TryGetValue(entry.MessageKey, out var accepted))
            {
                await RecordSentAsync(entry, payload, accepted, cancellationToken).ConfigureAwait(false);
                return;
            }

            var failures = new List<string>();
            var transient = false;
            var providerDelay = TimeSpan.Zero;
            var (candidates, cancelled, deferTo) = await RecheckAsync(entry, payload, failures, cancellationToken).ConfigureAwait(false);
            if (deferTo is { } later)
            {
                await DeferAgainAsync(entry, payload, later, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (cancelled is not null)
            {
                await RecordOutcomeAsync(entry.ProfileId, payload.Key, "cancelled", EventTypes.MessageSkipped, payload.Candidates.FirstOrDefault()?.Channel ?? "none",
                    new Dictionary<string, object?> { ["reason"] = cancelled, ["attempt"] = entry.Attempt }, cancellationToken).ConfigureAwait(false);
                await _store.CompleteOutboxAsync(entry.MessageKey, Fence(entry), cancellationToken).ConfigureAwait(false);
                _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", payload.Candidates.FirstOrDefault()?.Channel ?? "none"), new KeyValuePair<string, object?>("omnichannel.message.outcome", "cancelled"));
                LogMessageCancelled(_logger, entry.MessageKey, cancelled);
                return;
            }

            var checkFirst = false;
            foreach (var candidate in candidates)
            {
                var address = DeliveryPlanner.AddressIdentifier(candidate.Channel, candidate.Address);
                if (address is { } id && await IsOnSuppressionListAsync(id, cancellationToken).ConfigureAwait(false))
                {
                    failures.Add($"{candidate.Channel}: the address was suppressed before sending");
                    continue;
                }

                // An address the suppression list cannot name (a device, the profile itself for in-app and webhooks): her
                // erasure may have come in since the profile was read to check the message again, so look once more.
                if (address is null && await _store.ResolveProfileIdAsync(entry.ProfileId, cancellationToken).ConfigureAwait(false) is null)
                {
                    failures.Add($"{candidate.Channel}: the profile was erased before sending");
                    continue;
                }

                var transports = _delivery.For(candidate.Channel);
                if (transports.Count == 0)
                {
                    failures.Add($"{candidate.Channel}: no transport is registered for this channel (register one with AddTransport(name, \"{candidate.Channel}\", ...))");
                    continue;
                }

                OutboundMessage message;
                try
                {
                    message = OutboxPayload.Message(candidate);
                }
                catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException)
                {
                    failures.Add($"{candidate.Channel}: the stored message could not be read ({ex.GetType().Name})"); // never will: the next channel, or failed
                    continue;
                }

                // A fallback channel's first hand-over comes after the earlier channel's attempts, and its caps were never
                // counted with this message on it: it is checked like a retry.
                var handOvers = new HandOvers(entry.ProfileId, address, candidate.Channel, payload, checkFirst || candidate.Channel != payload.Candidates[0].Channel);
                checkFirst = true;
                foreach (var (name, transport) in transports)
                {
                    var result = await SendThroughAsync(name, transport, message, handOvers, cancellationToken).ConfigureAwait(false);
                    if (result.IsAccepted)
                    {
                        var sent = new AcceptedSend(candidate.Channel, name, result.ProviderMessageId, entry.Attempt, candidate.Address);
                        _acceptedUnrecorded[entry.MessageKey] = sent;
                        await RecordSentAsync(entry, payload, sent, cancellationToken).ConfigureAwait(false);
                        return;
                    }

                    failures.Add($"{candidate.Channel}/{name}: {result.Reason}");
                    transient |= result.Status == DeliveryStatus.TransientFailure;
                    if (result.Status == DeliveryStatus.TransientFailure && result.RetryAfter is { } asked && asked > providerDelay)
                    {
                        providerDelay = asked;
                    }
                }

                if (transient && entry.Attempt < _options.Delivery.MaxAttempts)
                {
                    // A transient failure waits and retries this channel rather than falling back; on the last attempt
                    // the next channel takes the message, as after a permanent failure, rather than nobody.
                    break;
                }
            }

            if (transient && entry.Attempt < _options.Delivery.MaxAttempts)
            {
                var delay = _options.Delivery.RetryDelay * Math.Pow(2, entry.Attempt - 1) * (0.8 + (Random.Shared.NextDouble() * 0.4));
                if (providerDelay > delay)
                {
                    // The provider's Retry-After: never sooner than it asked, but never later than the longest back-off the
                    // options allow (a Retry-After of years, or a far date, parked the message in the outbox for good).
                    delay = providerDelay < OptionRanges.LongestRetryBackoff ? providerDelay : OptionRanges.LongestRetryBackoff;
                }

                var retryAt = _time.GetUtcNow() + delay;
                await _store.RescheduleOutboxAsync(entry.MessageKey, Fence(entry), retryAt, cancellationToken).ConfigureAwait(false);
                LogRetryLater(_logger, entry.MessageKey, entry.Attempt, delay);
                if (payload.Class == MessageClass.Marketing)
                {
                    await NoteRetryAsync(entry.ProfileId, payload.Key, retryAt, cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            var reason = string.Join("; ", failures);
            await RecordOutcomeAsync(entry.ProfileId, payload.Key, "failed", EventTypes.MessageFailed, payload.Candidates.FirstOrDefault()?.Channel ?? "none",
                new Dictionary<string, object?> { ["reason"] = reason, ["attempt"] = entry.Attempt }, cancellationToken).ConfigureAwait(false);
            await _store.CompleteOutboxAsync(entry.MessageKey, Fence(entry), cancellationToken).ConfigureAwait(false);
            _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", payload.Candidates.FirstOrDefault()?.Channel ?? "none"), new KeyValuePair<string, object?>("omnichannel.message.outcome", "failed"));
            LogMessageFailed(_logger, entry.MessageKey, reason);
        }
        catch (Exception ex) when (NotCancelledBy(ex, cancellationToken))
        {
            // The lease runs out and the entry is claimed again: nothing is lost. A cancellation that is not the run's
            // own (a store's or a renderer's time-out) is such a failure too: let out, it failed the whole run, and the
            // next due instant was never scheduled.
            LogDispatchFailed(_logger, Privacy.ScrubbedException.Of(ex), entry.MessageKey);
        }
        finally
        {
            _sending.TryRemove(entry.MessageKey, out _);
        }
    }

    // A marketing message waits for its next attempt: its cap slot says so, and nothing of it is in flight until then, so a
    // goal or exit meanwhile frees the slot at once (another message of that morning is not skipped for a cap it will never
    // fill). One withdrawn before this unit ran loses its slot here.
    private async Task NoteRetryAsync(string profileId, string key, DateTimeOffset retryAt, CancellationToken cancellationToken)
    {
        await EnqueueProfileWork(
            profileId,
            (p, now) =>
            {
                var logged = p.MessageLog.FindIndex(m => m.Key == key);
                if (logged < 0 || retryAt <= now)
                {
                    return ValueTask.FromResult(new ChangeEffect { ReadOnly = true });
                }

                if (p.JourneyData?.Cancelled.ContainsKey(key) == true)
                {
                    p.MessageLog.RemoveAt(logged);
                }
                else
                {
                    p.MessageLog[logged] = p.MessageLog[logged] with { RetryAt = retryAt };
                }

                return ValueTask.FromResult(new ChangeEffect());
            },
            cancellationToken).ConfigureAwait(false);
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
                await RunDispatchAsync().ConfigureAwait(false);
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
}
