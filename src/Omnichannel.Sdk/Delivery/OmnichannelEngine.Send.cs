using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

// Delivery, one claimed outbox entry: read it, check it again on the profile, hand it to the first transport that takes
// it (falling back through its channels), and record the outcome — sent, cancelled, failed, or a retry after a back-off.
// The run that claims entries is in OmnichannelEngine.Dispatch.cs.
public sealed partial class OmnichannelEngine
{
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
                payload = PlannedPayload(entry) ?? OutboxPayload.Deserialize(entry.Payload);
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

            var failures = payload.EarlierFailures is { Count: > 0 } earlier ? new List<string>(earlier) : new List<string>();
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

            // On a store other processes share, none of the channels left when it is due (her consent for the first one
            // withdrawn while it was held) may be one this process has a transport for: the message goes to the processes
            // that serve the first of them, rather than failing here for "no transport" while they could send it.
            if (ClaimChannels is { } served && candidates.Count > 0 && !candidates.Any(c => served.Contains(c.Channel, StringComparer.Ordinal)))
            {
                // As it is: the reasons this check found are about channels still in the payload, and the process it goes
                // to checks them again and finds them itself (carried as well, each was named twice in the final failure).
                await HandOverAsync(entry, candidates[0].Channel, entry.Payload, cancellationToken).ConfigureAwait(false);
                return;
            }

            var checkFirst = false;
            for (var next = 0; next < candidates.Count; next++)
            {
                var candidate = candidates[next];
                var address = DeliveryPlanner.AddressIdentifier(candidate.Channel, candidate.Address);
                if ((address is { } id && await IsOnSuppressionListAsync(payload.HashesOf(id) ?? _hasher.AllHashes(id), cancellationToken).ConfigureAwait(false))
                    || await BouncedOnChannelAsync(candidate.Channel, candidate.Address, cancellationToken).ConfigureAwait(false))
                {
                    failures.Add($"{candidate.Channel}: the address was suppressed before sending");
                    continue;
                }

                // An address other than an email or phone (a device, her id on a custom channel, the profile itself for
                // in-app and webhooks): her erasure may have come in since the profile was read to check the message again,
                // so look once more (audit ER; the list above names devices and custom ids only since audit U71).
                if (!DeliveryPlanner.EmailOrPhone(candidate.Channel) && await _store.ResolveProfileIdAsync(entry.ProfileId, cancellationToken).ConfigureAwait(false) is null)
                {
                    failures.Add($"{candidate.Channel}: the profile was erased before sending");
                    continue;
                }

                var transports = _delivery.For(candidate.Channel);
                if (transports.Count == 0 && next > 0 && ClaimChannels is not null)
                {
                    // A fallback this process has no transport for, on a store other processes share: the earlier channels
                    // were passed over (failed, suppressed), so the message goes on to the processes serving this one, with
                    // the channels left from here (the ones passed over are not tried again there). It was failed here for
                    // "no transport" while they could send it. Checked first as any fallback is (consent, caps), which also
                    // moves its place under the caps to this channel.
                    var fallback = new HandOvers(entry.ProfileId, address, candidate.Channel, candidate.Address, payload, checkFirst: true);
                    if (await fallback.StoppedAsync(this, cancellationToken).ConfigureAwait(false) is { } stopped)
                    {
                        failures.Add($"{candidate.Channel}: {stopped}");
                        checkFirst = true;
                        continue;
                    }

                    var rest = payload with { Candidates = [.. candidates.Skip(next)], EarlierFailures = failures.Count > 0 ? [.. failures] : null };
                    await HandOverAsync(entry, candidate.Channel, rest.Serialize(), cancellationToken).ConfigureAwait(false);
                    return;
                }

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
                var handOvers = new HandOvers(entry.ProfileId, address, candidate.Channel, candidate.Address, payload, checkFirst || candidate.Channel != payload.Candidates[0].Channel, candidate);
                checkFirst = true;
                foreach (var (name, transport) in transports)
                {
                    var result = await SendThroughAsync(name, transport, message, handOvers, cancellationToken).ConfigureAwait(false);
                    if (result.IsAccepted)
                    {
                        var sent = new AcceptedSend(candidate.Channel, name, result.ProviderMessageId, entry.Attempt, candidate.Address, entry.ProfileId);
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

    // Moves a claimed message to a new outbox entry on another channel (its key the old one's and "→channel", an arrow no
    // key written by hand is likely to hold; its payload the same, so its outcome is recorded under the message's key),
    // then completes the old entry. A crash in between leaves both: the old one, claimed again, finds the new key taken
    // and is completed then. A fallback hands over a payload holding only the channels left (see DispatchAsync).
    private async Task HandOverAsync(OutboxEntry entry, string channel, byte[] payload, CancellationToken cancellationToken)
    {
        var key = entry.MessageKey + "\u2192" + channel;
        var unit = await EnqueueProfileWork(entry.ProfileId, (p, now) => ValueTask.FromResult(new ChangeEffect
        {
            Outbox = [new OutboxEntry { MessageKey = key, ProfileId = p.Id, DueAt = now, Channel = channel, Payload = payload }],
        }), cancellationToken).ConfigureAwait(false);
        if (unit is not { Status: UnitStatus.Committed or UnitStatus.KeyTaken or UnitStatus.Gone })
        {
            throw new InvalidOperationException("A message could not be handed to the processes serving its channel (the store failed); it is claimed again when its lease ends.");
        }

        await _store.CompleteOutboxAsync(entry.MessageKey, Fence(entry), cancellationToken).ConfigureAwait(false);
        LogMessageHandedOver(_logger, entry.MessageKey, channel);
    }

    [LoggerMessage(248, LogLevel.Information, "Message {MessageKey} goes on to a channel this engine has no transport for (the only ones left when due, or a fallback): it is handed to the processes serving {Channel}")]
    private static partial void LogMessageHandedOver(ILogger logger, string messageKey, string channel);

    // The payloads this process planned, by the very array it handed to the store. A store that gives the same array back
    // when the entry is claimed (the in-memory one) lets dispatch skip parsing it again (a JSON document and every
    // candidate's message per message). Keyed by identity: an entry read back from storage (SQLite, PostgreSQL, another
    // process) is parsed as ever, and an entry the store dropped lets its payload be collected with the array.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<byte[], OutboxPayload> _planned = new();

    // The serialized payload, remembered for dispatch. One that carries its request (held for quiet hours, rendered again
    // when it leaves) is not: the request is the caller's object, and dispatch must read what was stored.
    private byte[] RememberPlanned(OutboxPayload payload)
    {
        var bytes = payload.Serialize();
        if (payload.Request is null)
        {
            _planned.AddOrUpdate(bytes, payload);
        }

        return bytes;
    }

    // What RememberPlanned kept for this entry's payload array, or null (parse it). The key must match too: a store that
    // reused an array for another entry's payload never gets this one's.
    private OutboxPayload? PlannedPayload(OutboxEntry entry) =>
        entry.Payload is { } bytes && _planned.TryGetValue(bytes, out var planned) && string.Equals(planned.Key, entry.MessageKey, StringComparison.Ordinal)
            ? planned
            : null;

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
}
