using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Retry;
using Polly.Timeout;

namespace Omnichannel.Sdk;

// Delivery: requests pass the policies and are written to the outbox with the profile's commit; the dispatcher sends
// them through each transport's resilience pipeline and records every outcome on the profile as an event.
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

    /// <inheritdoc />
    public async ValueTask<SendResult> SendAsync(Identifier recipient, MessageRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Key);
        if (request.Channels.Count == 0)
        {
            throw new ArgumentException("A message request needs at least one channel.", nameof(request));
        }

        if (Normalize(recipient) is not { } id || (await _store.ResolveIdentifiersAsync([id], cancellationToken).ConfigureAwait(false)).GetValueOrDefault(id) is not { } profileId)
        {
            return new SendResult(request.Key, SendStatus.UnknownProfile, null, null, "no profile holds the identifier");
        }

        return await SendToProfileAsync(profileId, request, cancellationToken).ConfigureAwait(false);
    }

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
        var handled = 0;
        while (true)
        {
            // The gate covers claiming (and registering the sends) only: a slow or hanging transport never holds it,
            // and each send is bounded by the SDK.
            List<Task> sends;
            await _dispatchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                lock (_scheduleLock)
                {
                    _dispatchDueAt = DateTimeOffset.MaxValue;
                }

                var batch = await _store.ClaimOutboxAsync(_time.GetUtcNow(), _options.Delivery.Lease, _options.Delivery.DispatchBatchSize, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _outboxDueSeen, batch.Count);
                sends = [];
                foreach (var e in batch)
                {
                    // Claimed again while this process is still sending it (its lease ran out on a fast clock or a slow
                    // provider): the send in progress takes the new fencing token instead of a second send starting.
                    if (!_sending.TryAdd(e.MessageKey, e.Attempt))
                    {
                        _sending[e.MessageKey] = e.Attempt;
                        continue;
                    }

                    sends.Add(Track(Task.Run(() => DispatchAsync(e, cancellationToken), CancellationToken.None)));
                }
            }
            finally
            {
                _dispatchGate.Release();
            }

            if (sends.Count == 0)
            {
                break;
            }

            await Task.WhenAll(sends).ConfigureAwait(false);
            handled += sends.Count;
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
        _dispatchTimer = _time.CreateTimer(_ => _ = RunDispatchInBackgroundAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _ = RunDispatchInBackgroundAsync(); // messages left in the outbox by an earlier process
    }

    internal async Task<SendResult> SendToProfileAsync(string profileId, MessageRequest request, CancellationToken cancellationToken)
    {
        var effect = await EnqueueProfileWork(profileId, async (p, now) =>
        {
            var (result, entry) = await PlanMessageAsync(p, request, now, cancellationToken).ConfigureAwait(false);
            return new ChangeEffect { Result = result, Outbox = entry is null ? [] : [entry] };
        }, cancellationToken).ConfigureAwait(false);

        return effect switch
        {
            { Effect.Result: SendResult r } => r,
            { Status: UnitStatus.Gone } => new SendResult(request.Key, SendStatus.UnknownProfile, null, null, "the profile was erased"),
            _ => throw new InvalidOperationException($"The message '{request.Key}' could not be committed; the store kept failing. It is safe to send the same request again."),
        };
    }

    // The delivery policies and rendering for one message on a loaded profile; the entry goes out with the profile's commit.
    private async ValueTask<(SendResult Result, OutboxEntry? Entry)> PlanMessageAsync(CustomerProfile p, MessageRequest request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var suppressed = new Dictionary<Identifier, bool>();
        if (p.MessageKeys.Contains(request.Key))
        {
            return (new SendResult(request.Key, SendStatus.Duplicate, null, null, "this key was already accepted"), null);
        }

        if (HeldOutOfMarketing(p, request, now) is { } heldOut)
        {
            return (heldOut, null); // the global control group
        }

        foreach (var c in request.Channels)
        {
            if (DeliveryPlanner.Address(p, c) is { } a && DeliveryPlanner.AddressIdentifier(c, a) is { } aid && !suppressed.ContainsKey(aid))
            {
                suppressed[aid] = await IsOnSuppressionListAsync(aid, cancellationToken).ConfigureAwait(false);
            }
        }

        var decision = DeliveryPlanner.Decide(p, request, now, _options.Delivery, i => suppressed.GetValueOrDefault(i));
        var candidates = new List<OutboxCandidate>();
        var passedOver = new List<string>(decision.PassedOver);
        foreach (var c in decision.Candidates)
        {
            OutboundMessage? message;
            try
            {
                message = _delivery.Renderer is { } renderer
                    ? await renderer.RenderAsync(request, c.Channel, c.Address, p, now, cancellationToken).ConfigureAwait(false)
                    : null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                passedOver.Add($"{c.Channel}: rendering failed: {ex.Message}");
                continue;
            }

            if (message is null)
            {
                passedOver.Add($"{c.Channel}: the template has nothing for this channel");
                continue;
            }

            if (DeliveryFaults.TooLarge(message, _options.Delivery) is { } tooLarge)
            {
                passedOver.Add($"{c.Channel}: {tooLarge}");
                continue;
            }

            candidates.Add(OutboxPayload.Candidate(c.Channel, c.Address, message with { MessageId = request.Key, ProfileId = p.Id, Topic = request.Topic }));
        }

        RememberKey(p, request.Key);
        if (candidates.Count == 0)
        {
            var reason = decision.SkipReason ?? string.Join("; ", passedOver);
            ProfileCore.AddTimeline(p, new TimelineEntry(request.Key + ":skipped", EventTypes.MessageSkipped, "system", now, reason), _options.TimelineLength);
            _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", "none"), new KeyValuePair<string, object?>("omnichannel.message.outcome", "skipped"));
            return (new SendResult(request.Key, SendStatus.Skipped, null, null, reason), null);
        }

        Measurement.MeasurementRecorder.Queued(p, request, candidates[0].Channel, now, _options.Measurement);
        if (request.Class == MessageClass.Marketing)
        {
            p.MessageLog.Add(new SentMessage(candidates[0].Channel, request.Topic, decision.DueAt, request.Key));
            var keep = _options.Delivery.FrequencyCaps.Select(f => f.Window ?? TimeSpan.FromDays(2)).Append(p.Preferences?.Period ?? TimeSpan.Zero).Max();
            p.MessageLog.RemoveAll(m => m.At < now - keep - TimeSpan.FromDays(1));
        }

        var entry = new OutboxEntry
        {
            MessageKey = request.Key,
            ProfileId = p.Id,
            DueAt = decision.DueAt,
            Payload = (new OutboxPayload(request.Key, p.Id, request.Topic, request.Class, candidates) { Request = decision.DueAt > now ? request : null, QueuedAt = now, TraceParent = System.Diagnostics.Activity.Current?.Id }).Serialize(),
        };
        var summary = decision.DueAt > now ? $"queued for {decision.DueAt:u} (quiet hours)" : "queued";
        ProfileCore.AddTimeline(p, new TimelineEntry(request.Key + ":queued", "message.queued", candidates[0].Channel, now, summary), _options.TimelineLength);
        return (new SendResult(request.Key, SendStatus.Queued, candidates[0].Channel, decision.DueAt, passedOver.Count == 0 ? null : string.Join("; ", passedOver)), entry);
    }

    private static void RememberKey(CustomerProfile p, string key)
    {
        p.MessageKeys.Add(key);
        if (p.MessageKeys.Count > MaxMessageKeysPerProfile)
        {
            p.MessageKeys.RemoveRange(0, p.MessageKeys.Count - MaxMessageKeysPerProfile);
        }
    }

    private async Task DispatchAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        using var activity = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.Dispatch);
        activity?.SetTag("omnichannel.message.attempt", entry.Attempt);
        try
        {
            var payload = OutboxPayload.Deserialize(entry.Payload);
            if (activity is not null && payload.TraceParent is { } traceParent && System.Diagnostics.ActivityContext.TryParse(traceParent, null, out var origin))
            {
                activity.AddLink(new System.Diagnostics.ActivityLink(origin));   // the trace that planned the message
            }

            var failures = new List<string>();
            var transient = false;
            var (candidates, cancelled) = await RecheckAsync(entry, payload, failures, cancellationToken).ConfigureAwait(false);
            if (cancelled is not null)
            {
                await RecordOutcomeAsync(entry.ProfileId, payload.Key, "cancelled", EventTypes.MessageSkipped, payload.Candidates.FirstOrDefault()?.Channel ?? "none",
                    new Dictionary<string, object?> { ["reason"] = cancelled, ["attempt"] = entry.Attempt }, cancellationToken).ConfigureAwait(false);
                await _store.CompleteOutboxAsync(entry.MessageKey, Fence(entry), cancellationToken).ConfigureAwait(false);
                _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", payload.Candidates.FirstOrDefault()?.Channel ?? "none"), new KeyValuePair<string, object?>("omnichannel.message.outcome", "cancelled"));
                LogMessageCancelled(_logger, entry.MessageKey, cancelled);
                return;
            }

            foreach (var candidate in candidates)
            {
                if (DeliveryPlanner.AddressIdentifier(candidate.Channel, candidate.Address) is { } id
                    && await IsOnSuppressionListAsync(id, cancellationToken).ConfigureAwait(false))
                {
                    failures.Add($"{candidate.Channel}: the address was suppressed before sending");
                    continue;
                }

                var transports = _delivery.For(candidate.Channel);
                if (transports.Count == 0)
                {
                    failures.Add($"{candidate.Channel}: no transport is registered");
                    continue;
                }

                var message = OutboxPayload.Message(candidate);
                foreach (var (name, transport) in transports)
                {
                    var result = await SendThroughAsync(name, transport, message, cancellationToken).ConfigureAwait(false);
                    if (result.IsAccepted)
                    {
                        await RecordOutcomeAsync(entry.ProfileId, payload.Key, "sent", EventTypes.MessageSent, candidate.Channel, new Dictionary<string, object?>
                        {
                            ["transport"] = name,
                            ["provider_message_id"] = result.ProviderMessageId,
                            ["attempt"] = entry.Attempt,
                        }, cancellationToken).ConfigureAwait(false);
                        if (!await _store.CompleteOutboxAsync(entry.MessageKey, Fence(entry), cancellationToken).ConfigureAwait(false))
                        {
                            // The send outlived its lease and another dispatcher claimed the message: it may go out twice.
                            _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", candidate.Channel), new KeyValuePair<string, object?>("omnichannel.message.outcome", "lease_lost"));
                            LogLeaseLost(_logger, entry.MessageKey, entry.Attempt);
                        }

                        _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", candidate.Channel), new KeyValuePair<string, object?>("omnichannel.message.outcome", "sent"));
                        return;
                    }

                    failures.Add($"{candidate.Channel}/{name}: {result.Reason}");
                    transient |= result.Status == DeliveryStatus.TransientFailure;
                }

                if (transient)
                {
                    break; // a transient failure waits and retries this channel rather than falling back
                }
            }

            if (transient && entry.Attempt < _options.Delivery.MaxAttempts)
            {
                var delay = _options.Delivery.RetryDelay * Math.Pow(2, entry.Attempt - 1) * (0.8 + (Random.Shared.NextDouble() * 0.4));
                await _store.RescheduleOutboxAsync(entry.MessageKey, Fence(entry), _time.GetUtcNow() + delay, cancellationToken).ConfigureAwait(false);
                LogRetryLater(_logger, entry.MessageKey, entry.Attempt, delay);
                return;
            }

            var reason = string.Join("; ", failures);
            await RecordOutcomeAsync(entry.ProfileId, payload.Key, "failed", EventTypes.MessageFailed, payload.Candidates.FirstOrDefault()?.Channel ?? "none",
                new Dictionary<string, object?> { ["reason"] = reason, ["attempt"] = entry.Attempt }, cancellationToken).ConfigureAwait(false);
            await _store.CompleteOutboxAsync(entry.MessageKey, Fence(entry), cancellationToken).ConfigureAwait(false);
            _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", payload.Candidates.FirstOrDefault()?.Channel ?? "none"), new KeyValuePair<string, object?>("omnichannel.message.outcome", "failed"));
            LogMessageFailed(_logger, entry.MessageKey, reason);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The lease runs out and the entry is claimed again: nothing is lost.
            LogDispatchFailed(_logger, ex, entry.MessageKey);
        }
        finally
        {
            _sending.TryRemove(entry.MessageKey, out _);
        }
    }

    // The newest fencing token this process holds for the entry (see the claim loop).
    private int Fence(OutboxEntry entry) => _sending.TryGetValue(entry.MessageKey, out var attempt) ? attempt : entry.Attempt;

    // Every rule is checked again when the message actually leaves: it may have waited (quiet hours, retries) while the
    // person opted out, bounced, was erased, or while the journey that produced it reached its goal or exited. A message
    // held past the moment it was planned is rendered again, so time-of-day content fits the moment of delivery.
    // The checks read the profile on its partition: the hot copy when it is the stored version (no parse); only rendering
    // again, which may be slow, runs outside it, on a copy.
    private async ValueTask<(IReadOnlyList<OutboxCandidate> Candidates, string? Cancelled)> RecheckAsync(OutboxEntry entry, OutboxPayload payload, List<string> failures, CancellationToken cancellationToken)
    {
        var renderAgain = payload.Request is not null && payload.QueuedAt is { } queuedAt && entry.DueAt > queuedAt && _delivery.Renderer is not null;
        var unit = await EnqueueProfileWork(
            entry.ProfileId,
            (p, now) => ValueTask.FromResult(new ChangeEffect { ReadOnly = true, Result = Recheck(p, payload, renderAgain) }),
            cancellationToken,
            readOnly: true).ConfigureAwait(false);
        if (unit is null)
        {
            throw new InvalidOperationException("The profile could not be read to check the message again; it is claimed again when its lease ends.");
        }

        if (unit.Status == UnitStatus.Gone)
        {
            return ([], "the profile was erased");
        }

        var check = (Rechecked)unit.Effect!.Result!;
        failures.AddRange(check.Failures);
        if (check.Cancelled is not null)
        {
            return ([], check.Cancelled);
        }

        if (check.Copy is not { } copy)
        {
            return check.Kept.Count == 0 ? ([], string.Join("; ", failures)) : (check.Kept, null);
        }

        var now = _time.GetUtcNow();
        var request = payload.Request!;
        var kept = new List<OutboxCandidate>(check.Kept.Count);
        foreach (var c in check.Kept)
        {
            try
            {
                if (await _delivery.Renderer!.RenderAsync(request, c.Channel, c.Address, copy, now, cancellationToken).ConfigureAwait(false) is { } fresh)
                {
                    kept.Add(OutboxPayload.Candidate(c.Channel, c.Address, fresh with { MessageId = request.Key, ProfileId = copy.Id, Topic = request.Topic }));
                    continue;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The message rendered when it was planned still stands.
                LogRenderAgainFailed(_logger, ex, entry.MessageKey);
            }

            kept.Add(c);
        }

        return kept.Count == 0 ? ([], string.Join("; ", failures)) : (kept, null);
    }

    // The checks of RecheckAsync on the partition's hot profile: reads only.
    private Rechecked Recheck(CustomerProfile p, OutboxPayload payload, bool renderAgain)
    {
        if (p.JourneyData?.Cancelled.GetValueOrDefault(payload.Key) is { } journeyCancelled)
        {
            return new Rechecked([], [], journeyCancelled.Reason, null);
        }

        var failures = new List<string>();
        var kept = new List<OutboxCandidate>(payload.Candidates.Count);
        foreach (var c in payload.Candidates)
        {
            if (p.SuppressedAddresses.Contains(c.Channel + ":" + c.Address))
            {
                failures.Add($"{c.Channel}: the address is suppressed");
                continue;
            }

            if (payload.Class == MessageClass.Marketing && !DeliveryPlanner.HasConsent(p, c.Channel, payload.Topic, _options.Delivery))
            {
                failures.Add($"{c.Channel}: no consent{(payload.Topic is null ? string.Empty : " for " + payload.Topic)} when the message was due");
                continue;
            }

            kept.Add(c);
        }

        // The renderer gets a copy: it runs off the partition, and the hot object may change meanwhile.
        var copy = renderAgain && kept.Count > 0 ? ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), p.Version) : null;
        return new Rechecked(kept, failures, null, copy);
    }

    private sealed record Rechecked(IReadOnlyList<OutboxCandidate> Kept, IReadOnlyList<string> Failures, string? Cancelled, CustomerProfile? Copy);

    private async ValueTask<DeliveryResult> SendThroughAsync(string name, IChannelTransport transport, OutboundMessage message, CancellationToken cancellationToken)
    {
        using var activity = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.Send, System.Diagnostics.ActivityKind.Client);
        activity?.SetTag("omnichannel.channel", transport.Channel);
        activity?.SetTag("omnichannel.transport", name);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = await SendThroughPipelineAsync(name, transport, message, cancellationToken).ConfigureAwait(false);
        var outcome = result.Status.ToString().ToLowerInvariant();
        _metrics.SendDuration.Record(
            System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>("omnichannel.channel", transport.Channel),
            new KeyValuePair<string, object?>("omnichannel.send.outcome", outcome));
        if (activity is not null)
        {
            activity.SetTag("omnichannel.send.outcome", outcome);
            if (result.Status != DeliveryStatus.Accepted)
            {
                activity.SetStatus(System.Diagnostics.ActivityStatusCode.Error, result.Reason);
            }
        }

        return result;
    }

    private async ValueTask<DeliveryResult> SendThroughPipelineAsync(string name, IChannelTransport transport, OutboundMessage message, CancellationToken cancellationToken)
    {
        var pipeline = _pipelines.GetOrAdd(transport.Channel + "/" + name, _ => BuildPipeline());
        try
        {
            // The SDK bounds the call itself: a transport that ignores the token cannot stall dispatch beyond the time-out.
            return DeliveryFaults.Checked(await pipeline.ExecuteAsync(
                static async (state, ct) => await state.transport.SendAsync(state.message, ct).AsTask().WaitAsync(state.timeout, state.time, ct).ConfigureAwait(false),
                (transport, message, timeout: _options.Delivery.SendTimeout, time: _time),
                cancellationToken).ConfigureAwait(false));
        }
        catch (BrokenCircuitException)
        {
            return DeliveryResult.TransientFailure("the transport's circuit is open after repeated failures");
        }
        catch (TimeoutRejectedException)
        {
            return DeliveryResult.TransientFailure($"no answer within {_options.Delivery.SendTimeout}");
        }
        catch (RateLimiterRejectedException)
        {
            return DeliveryResult.TransientFailure("the transport's rate limit was reached");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = $"{ex.GetType().Name}: {ex.Message}"; // scrubbed by DeliveryResult
            return DeliveryFaults.IsTransient(ex, _options.Delivery) ? DeliveryResult.TransientFailure(reason) : DeliveryResult.PermanentFailure(reason);
        }
    }

    private ResiliencePipeline<DeliveryResult> BuildPipeline()
    {
        var d = _options.Delivery;
        var transient = new PredicateBuilder<DeliveryResult>()
            .HandleResult(r => r.Status == DeliveryStatus.TransientFailure)
            .Handle<TimeoutRejectedException>()
            .Handle<TimeoutException>()
            .Handle<Exception>(e => e is not OperationCanceledException and not BrokenCircuitException and not RateLimiterRejectedException && DeliveryFaults.IsTransient(e, d));
        var builder = new ResiliencePipelineBuilder<DeliveryResult> { TimeProvider = _time };
        if (d.Retry is { } retry)
        {
            builder.AddRetry(new RetryStrategyOptions<DeliveryResult>
            {
                ShouldHandle = transient,
                MaxRetryAttempts = retry.MaxRetryAttempts,
                Delay = retry.Delay,
                MaxDelay = retry.MaxDelay,
                BackoffType = retry.BackoffType,
                UseJitter = retry.UseJitter,
                DelayGenerator = retry.DelayGenerator,
                OnRetry = retry.OnRetry,
                Name = retry.Name,
            });
        }

        var breaker = d.CircuitBreaker;
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<DeliveryResult>
        {
            ShouldHandle = transient,
            FailureRatio = breaker.FailureRatio,
            SamplingDuration = breaker.SamplingDuration,
            MinimumThroughput = breaker.MinimumThroughput,
            BreakDuration = breaker.BreakDuration,
            BreakDurationGenerator = breaker.BreakDurationGenerator,
            OnOpened = breaker.OnOpened,
            OnClosed = breaker.OnClosed,
            OnHalfOpened = breaker.OnHalfOpened,
            Name = breaker.Name,
        });
        if (d.SendsPerSecondPerTransport is { } perSecond)
        {
            builder.AddRateLimiter(new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = perSecond,
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = perSecond * 10,
                AutoReplenishment = true,
            }));
        }

        builder.AddTimeout(d.SendTimeout);
        return builder.Build();
    }

    private async Task RecordOutcomeAsync(string profileId, string key, string outcome, string type, string channel, Dictionary<string, object?> properties, CancellationToken cancellationToken)
    {
        properties["message_id"] = key;
        properties["channel"] = channel;
        var e = new CustomerEvent
        {
            Id = key + ":" + outcome,
            Type = type,
            Timestamp = _time.GetUtcNow(),
            Identifiers = [],
            Channel = channel,
            Properties = JsonData.From(properties),
        };
        await EnqueueProfileWork(profileId, async (p, now) =>
        {
            if (outcome is "failed" or "cancelled")
            {
                p.MessageLog.RemoveAll(m => m.Key == key); // frequency caps count what a transport accepted
            }

            p.JourneyData?.HeldMessages.RemoveAll(h => h.Key == key); // it left the outbox

            var (changes, journeys) = await ApplyEventAsync(p, e, now, everything: false, merged: false, cancellationToken).ConfigureAwait(false);
            return new ChangeEffect { Changes = changes, EventId = e.Id, Outbox = journeys.Outbox, Journeys = journeys };
        }, cancellationToken).ConfigureAwait(false);
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
        try
        {
            if (_disposed == 0)
            {
                await RunDispatchAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogDispatchFailed(_logger, ex, "(run)");
        }
    }

    [LoggerMessage(30, LogLevel.Information, "Message {MessageKey} failed: {Reason}")]
    private static partial void LogMessageFailed(ILogger logger, string messageKey, string reason);

    [LoggerMessage(35, LogLevel.Warning, "Message {MessageKey} was sent on attempt {Attempt} after its lease ran out; another dispatcher may have sent it too (raise Delivery.Lease)")]
    private static partial void LogLeaseLost(ILogger logger, string messageKey, int attempt);

    [LoggerMessage(33, LogLevel.Information, "Message {MessageKey} was cancelled before sending: {Reason}")]
    private static partial void LogMessageCancelled(ILogger logger, string messageKey, string reason);

    [LoggerMessage(34, LogLevel.Warning, "Rendering message {MessageKey} again at delivery failed; the content rendered when it was planned is sent")]
    private static partial void LogRenderAgainFailed(ILogger logger, Exception exception, string messageKey);

    [LoggerMessage(31, LogLevel.Debug, "Message {MessageKey} failed transiently on attempt {Attempt}; trying again in {Delay}")]
    private static partial void LogRetryLater(ILogger logger, string messageKey, int attempt, TimeSpan delay);

    [LoggerMessage(32, LogLevel.Error, "Dispatching message {MessageKey} failed; it will be claimed again when its lease ends")]
    private static partial void LogDispatchFailed(ILogger logger, Exception exception, string messageKey);
}
