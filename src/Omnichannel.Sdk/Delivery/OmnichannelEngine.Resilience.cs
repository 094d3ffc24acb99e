using System.Threading.RateLimiting;
using Omnichannel.Sdk.Delivery;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Retry;
using Polly.Timeout;

namespace Omnichannel.Sdk;

// Delivery, sending: each transport behind its own Polly pipeline (retry, circuit breaker, rate limit, time-out), its faults classified.
public sealed partial class OmnichannelEngine
{
    /// <summary>
    /// The hand-overs of one message to the transports of one channel (quick retries and the next transport included), with
    /// its profile and address: every hand-over after the first checks again that the profile still exists, the address is
    /// not suppressed (on the erasure list, or by a hard bounce on her profile), and (for marketing) she has not withdrawn
    /// consent for the channel and topic nor does a fallback channel break its caps, because an erasure, a
    /// bounce or an unsubscribe may have come in while the earlier attempt failed. The first hand-over on a fallback channel
    /// is such a later one too: the check at dispatch was made before the earlier channel's attempts.
    /// </summary>
    private sealed class HandOvers(string profileId, Identifier? address, string channel, string channelAddress, OutboxPayload payload, bool checkFirst, OutboxCandidate? candidate = null)
    {
        private int _handed;

        /// <summary>
        /// The message for this hand-over: <paramref name="first"/> the first time, then a new one from the candidate (review
        /// rv60): a quick retry or the channel's next transport was handed the object an earlier transport had edited.
        /// </summary>
        public OutboundMessage Handed(OutboundMessage first) =>
            Interlocked.Increment(ref _handed) == 1 || candidate is null ? first : OutboxPayload.Message(candidate);

        public string ProfileId { get; } = profileId;

        public Identifier? Address { get; } = address;

        public int Count = checkFirst ? 1 : 0;

        /// <summary>Why the message may no longer be handed over, else <see langword="null"/>; the first hand-over of the first channel is not checked (dispatch just did).</summary>
        public async ValueTask<string?> StoppedAsync(OmnichannelEngine engine, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref Count) == 1)
            {
                return null;
            }

            if (await engine._store.ResolveProfileIdAsync(ProfileId, cancellationToken).ConfigureAwait(false) is null)
            {
                return "the profile was erased before the message was handed over again";
            }

            if ((Address is { } a && await engine.IsOnSuppressionListAsync(a, cancellationToken).ConfigureAwait(false))
                || await engine.BouncedOnChannelAsync(channel, channelAddress, cancellationToken).ConfigureAwait(false))
            {
                return "the address was suppressed before the message was handed over again";
            }

            var marketing = payload.Class == MessageClass.Marketing;
            var unit = await engine.EnqueueProfileWork(
                ProfileId,
                (p, now) =>
                {
                    // Audit U66: a hard bounce suppresses the address on her profile only (not on the erasure list read
                    // above); one that came in while the earlier attempt failed stops every class, as at dispatch.
                    var stopped = engine.IsSuppressedOnProfile(p, channel, channelAddress)
                        ? $"{channel}: the address was suppressed before the message was handed over again"
                        : !marketing ? null
                        : !DeliveryPlanner.HasConsent(p, channel, payload.Topic, engine._options.Delivery)
                        ? $"{channel}: consent{(payload.Topic is null ? string.Empty : " for " + payload.Topic)} was withdrawn before the message was handed over again"
                        : p.JourneyData?.Cancelled.GetValueOrDefault(payload.Key) is { } cancelled ? cancelled.Reason
                        : DeliveryPlanner.CapReachedOnFallback(p, payload.Key, channel, engine._options.Delivery, now) is { } cap ? $"{channel}: {cap} (fallback)"
                        : null;

                    // A fallback takes its place under the new channel's caps in the same unit that checked them, before it
                    // is handed over: a message planned meanwhile counts it (the outcome moved it only after the send,
                    // and two SMS could pass a cap of one). A failure takes it out of the log again.
                    var logged = stopped is null && marketing ? p.MessageLog.FindIndex(m => m.Key == payload.Key) : -1;
                    var reserve = logged >= 0 && p.MessageLog[logged].Channel != channel;
                    if (reserve)
                    {
                        // At the instant it leaves, as the cap was checked: logged at its due time (the evening before), a
                        // message planned while the provider had it did not count it on the day it goes.
                        var at = now > p.MessageLog[logged].At ? now : p.MessageLog[logged].At;
                        p.MessageLog[logged] = p.MessageLog[logged] with { Channel = channel, At = at };
                    }

                    return ValueTask.FromResult(new ChangeEffect { ReadOnly = !reserve, Result = stopped });
                },
                cancellationToken).ConfigureAwait(false);
            return unit switch
            {
                null => throw new TimeoutException("The profile could not be read to check the message again before handing it over; it is tried again later."), // transient
                { Status: UnitStatus.Gone } => "the profile was erased before the message was handed over again",
                { Effect.Result: string stopped } => stopped,
                _ => null,
            };
        }
    }

    private async ValueTask<DeliveryResult> SendThroughAsync(string name, IChannelTransport transport, OutboundMessage message, HandOvers handOvers, CancellationToken cancellationToken)
    {
        using var activity = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.Send, System.Diagnostics.ActivityKind.Client);
        activity?.SetTag("omnichannel.channel", transport.Channel);
        activity?.SetTag("omnichannel.transport", name);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = await SendThroughPipelineAsync(name, transport, message, handOvers, cancellationToken).ConfigureAwait(false);
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

    private async ValueTask<DeliveryResult> SendThroughPipelineAsync(string name, IChannelTransport transport, OutboundMessage message, HandOvers handOvers, CancellationToken cancellationToken)
    {
        var pipeline = _pipelines.GetOrAdd(transport.Channel + "/" + name, _ => BuildPipeline());
        try
        {
            // The SDK bounds the call itself: a transport that ignores the token cannot stall dispatch beyond the time-out.
            return DeliveryFaults.Checked(await pipeline.ExecuteAsync(
                static async (state, ct) =>
                {
                    // A retry is a new hand-over: she may have been erased since the attempt that failed (a permanent
                    // failure, so no quick retry follows; the next transport checks again).
                    if (await state.handOvers.StoppedAsync(state.engine, ct).ConfigureAwait(false) is { } stopped)
                    {
                        return DeliveryResult.PermanentFailure(stopped);
                    }

                    var sending = state.transport.SendAsync(state.handOvers.Handed(state.message), ct).AsTask();
                    if (sending.IsCompleted)
                    {
                        return await sending.ConfigureAwait(false);
                    }

                    // Still waiting for the transport: a virtual clock's advance may have to move the clock to this
                    // time-out for the attempt to end (a hung provider in a test), so it is registered meanwhile.
                    var waiting = new object();
                    state.engine._awaitingTransports[waiting] = state.time.GetUtcNow() + state.timeout;
                    try
                    {
                        return await sending.WaitAsync(state.timeout, state.time, ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        state.engine._awaitingTransports.TryRemove(waiting, out _);
                    }
                },
                (engine: this, transport, message, handOvers, timeout: _options.Delivery.SendTimeout, time: _time),
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
            // No quick retry when the provider said how long to wait (429/503 with Retry-After): the dispatcher waits.
            var retryable = new PredicateBuilder<DeliveryResult>()
                .HandleResult(r => r.Status == DeliveryStatus.TransientFailure && r.RetryAfter is null)
                .Handle<TimeoutRejectedException>()
                .Handle<TimeoutException>()
                .Handle<Exception>(e => e is not OperationCanceledException and not BrokenCircuitException and not RateLimiterRejectedException && DeliveryFaults.IsTransient(e, d));
            builder.AddRetry(new RetryStrategyOptions<DeliveryResult>
            {
                ShouldHandle = retryable,
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
}
