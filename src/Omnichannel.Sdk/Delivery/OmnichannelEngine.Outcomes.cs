using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

// Delivery, outcomes: what a dispatch learned (sent, failed, dead-lettered) is recorded on the profile as an event, in
// the unit of work, before the outbox entry is completed; an outcome recorded once is not recorded again.
public sealed partial class OmnichannelEngine
{
    // Sends a transport of this process accepted whose "sent" outcome is not recorded yet (kept until it is, so a store
    // fault between the two never sends the message again; a crash between them still may, see the design notes).
    private readonly ConcurrentDictionary<string, AcceptedSend> _acceptedUnrecorded = new(StringComparer.Ordinal);

    private sealed record AcceptedSend(string Channel, string Transport, string? ProviderMessageId, int Attempt, string Address, string ProfileId);

    // An erasure deletes the outbox entry, so its accepted send is never recorded: drop it, or her address stays here
    // for the life of the process (audit U63).
    private void ForgetAcceptedSends(CustomerProfile erased)
    {
        foreach (var (key, sent) in _acceptedUnrecorded)
        {
            if (sent.ProfileId == erased.Id || erased.Merges.Any(m => m.AbsorbedProfileId == sent.ProfileId))
            {
                _acceptedUnrecorded.TryRemove(key, out _);
            }
        }
    }

    /// <summary>The addresses of accepted sends whose outcome is not recorded yet (tests).</summary>
    internal IEnumerable<string> UnrecordedAcceptedAddresses => [.. _acceptedUnrecorded.Values.Select(a => a.Address)];

    private async Task RecordSentAsync(OutboxEntry entry, OutboxPayload payload, AcceptedSend sent, CancellationToken cancellationToken)
    {
        await RecordOutcomeAsync(entry.ProfileId, payload.Key, "sent", EventTypes.MessageSent, sent.Channel, new Dictionary<string, object?>(9) // and message_id, channel, and the touch's four (WithAttribution)
        {
            ["transport"] = sent.Transport,
            ["provider_message_id"] = sent.ProviderMessageId,
            ["attempt"] = sent.Attempt,
        }, cancellationToken, sentTo: sent.Channel is ChannelNames.InApp or ChannelNames.Webhook ? null : sent.Address, providerId: sent.ProviderMessageId).ConfigureAwait(false);
        _acceptedUnrecorded.TryRemove(entry.MessageKey, out _);
        if (!await _store.CompleteOutboxAsync(entry.MessageKey, Fence(entry), cancellationToken).ConfigureAwait(false))
        {
            // The send outlived its lease and another dispatcher claimed the message: it may go out twice.
            _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", sent.Channel), new KeyValuePair<string, object?>("omnichannel.message.outcome", "lease_lost"));
            LogLeaseLost(_logger, entry.MessageKey, entry.Attempt);
        }

        _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", sent.Channel), new KeyValuePair<string, object?>("omnichannel.message.outcome", "sent"));
    }

    private static readonly string[] RecordedOutcomes = ["sent", "failed", "cancelled"];

    // The outcome's properties with what its touch adds (journey, step, variant, template), in the order measurement would
    // add them to a message.sent or message.failed event (MeasurementRecorder.Enrich adds only what is missing): written
    // once here rather than written, parsed and written again for every message. `own` is how many are the outcome's own:
    // a unit run again (a commit conflict) starts from them.
    private static Dictionary<string, object?> WithAttribution(Dictionary<string, object?> properties, int own, CustomerProfile p, string key)
    {
        if (properties.Count > own)
        {
            properties = new Dictionary<string, object?>(properties.Take(own), StringComparer.Ordinal); // never removed from: in order
        }

        if (Measurement.Touch.IndexOf(p.Touches, key) is var index and >= 0)
        {
            var touch = p.Touches[index];
            Add("journey_id", touch.JourneyId);
            Add("step_id", touch.StepId);
            Add("variant", touch.Variant);
            Add("template_id", touch.TemplateId);
        }

        return properties;

        void Add(string name, string? value)
        {
            if (value is not null)
            {
                properties.TryAdd(name, value);
            }
        }
    }

    // Which outcome of the message the profile already has (its outcome events' ids are the key and the outcome), if any.
    private async ValueTask<string?> RecordedOutcomeAsync(string key, CancellationToken cancellationToken)
    {
        foreach (var outcome in RecordedOutcomes)
        {
            if (await _store.IsEventProcessedAsync(key + ":" + outcome, cancellationToken).ConfigureAwait(false))
            {
                return outcome;
            }
        }

        return null;
    }

    /// <summary>
    /// Gives up an entry whose payload cannot be read: recorded as a failed message on the profile (a <c>dead_letter</c>
    /// outcome in the metrics), removed from the outbox, and logged by key and exception type only (the payload and the
    /// parser's message may hold personal data).
    /// </summary>
    private async Task DeadLetterAsync(OutboxEntry entry, Exception ex, CancellationToken cancellationToken)
    {
        var reason = $"the outbox entry could not be read ({ex.GetType().Name}); given up as a dead letter";
        await RecordOutcomeAsync(entry.ProfileId, entry.MessageKey, "failed", EventTypes.MessageFailed, "none",
            new Dictionary<string, object?> { ["reason"] = reason, ["attempt"] = entry.Attempt, ["dead_letter"] = true }, cancellationToken).ConfigureAwait(false);
        await _store.CompleteOutboxAsync(entry.MessageKey, Fence(entry), cancellationToken).ConfigureAwait(false);
        _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", "none"), new KeyValuePair<string, object?>("omnichannel.message.outcome", "dead_letter"));
        LogDeadLetter(_logger, entry.MessageKey, entry.Attempt, ex.GetType().Name);
    }

    // The newest fencing token this process holds for the entry (see the claim loop).
    private int Fence(OutboxEntry entry) => _sending.TryGetValue(entry.MessageKey, out var attempt) ? attempt : entry.Attempt;

    // sentTo: the address a sent message was handed over to, kept on its touch (not in the event: outcome events are the
    // host's to read and keep, and need no address).
    // providerId: the provider's id for an accepted message, kept on its touch so that a callback naming only it is placed.
    private async Task RecordOutcomeAsync(string profileId, string key, string outcome, string type, string channel, Dictionary<string, object?> properties, CancellationToken cancellationToken, string? sentTo = null, string? providerId = null)
    {
        properties["message_id"] = key;
        properties["channel"] = channel;
        var own = properties.Count;
        var id = key + ":" + outcome;
        var at = _time.GetUtcNow();
        var unit = await EnqueueProfileWork(profileId, async (p, now) =>
        {
            var e = new CustomerEvent
            {
                Id = id,
                Type = type,
                Timestamp = at,
                Identifiers = [],
                Channel = channel,
                Properties = JsonData.From(type is EventTypes.MessageSent or EventTypes.MessageFailed ? WithAttribution(properties, own, p, key) : properties),
            };
            if (outcome is "failed" or "cancelled")
            {
                p.MessageLog.RemoveAll(m => m.Key == key); // frequency caps count what a transport accepted
            }
            else
            {
                p.MessageLog.RemoveAll(m => m.Key == key && m.Transactional); // logged only while it was held
            }

            p.JourneyData?.HeldMessages.RemoveAll(h => h.Key == key); // it left the outbox
            if (outcome == "sent" && p.MessageLog.FindIndex(m => m.Key == key) is var logged and >= 0)
            {
                // Caps count where and when it went: after a fallback, and after retries or a dispatcher that was down
                // (counted at its due time, a message that left hours late let the next one through within the window).
                var at = now > p.MessageLog[logged].At ? now : p.MessageLog[logged].At;
                p.MessageLog[logged] = p.MessageLog[logged] with { Channel = channel, At = at, RetryAt = null, Sent = true };
            }

            // Review of U79: a hard bounce naming only the provider's id that came before this record is resolved before
            // the record's event is applied, so the number it suppresses is marked on her identifier and segments see it
            // in this unit, as they do when the bounce comes after the record (resolved after it, the dead number stayed
            // unmarked and her next text chose it again instead of her other number).
            var resolved = false;
            // Audit U80: soft bounces so named wait the same way (p.HasSoftBounces) and count here, at their own time.
            // Audit U81: and delivery, open, click and failure reports so named (p.HasPendingReports) are measured here, at
            // their own time, before the soft-bounce runs are read (a delivery between two bounces breaks the run).
            if (!string.IsNullOrEmpty(providerId) && (p.HasPendingBounces || p.HasSoftBounces || p.HasPendingReports) && Measurement.Touch.IndexOf(p.Touches, key) is var before and >= 0
                && p.Touches[before].Channel == channel && p.Touches[before].ProviderId != providerId)
            {
                var placed = sentTo is not null && p.Touches[before].SentTo != sentTo;
                p.Touches[before] = p.Touches[before] with { ProviderId = providerId, SentTo = sentTo ?? p.Touches[before].SentTo };
                ResolvePendingOfProvider(p);
                if (placed && p.HasSoftBounces)
                {
                    ProfileCore.ReviewSoftBounces(p, _softBounceRule); // review of U86: as below, before the record's event is applied
                    ProfileCore.ReviewKeywordGrant(p); // a number suppressed again or reachable again changes which START stands
                }
                resolved = true;
            }

            var (changes, journeys) = await ApplyEventAsync(p, e, now, everything: false, merged: false, cancellationToken).ConfigureAwait(false);
            if (sentTo is not null && Measurement.Touch.IndexOf(p.Touches, key) is var touched and >= 0 && p.Touches[touched].SentTo != sentTo)
            {
                // Where a hard bounce naming only the message points. With nothing waiting to be placed by the provider's id
                // (below), the id is set in the same copy of the touch: only placing reads it, and nothing here adds any.
                p.Touches[touched] = !string.IsNullOrEmpty(providerId) && p.Touches[touched].ProviderId != providerId && !(p.HasPendingBounces || p.HasSoftBounces || p.HasPendingReports)
                    ? p.Touches[touched] with { SentTo = sentTo, ProviderId = providerId }
                    : p.Touches[touched] with { SentTo = sentTo };
                if (p.HasSoftBounces)
                {
                    // Review of U86: a delivery heard before this record was read as reaching her newest address, which a run
                    // may have suppressed (so the message went to another): the runs are read again from the marks, as at a
                    // merge, and the suppression it lifted there comes back — the same end state as the record first.
                    ProfileCore.ReviewSoftBounces(p, _softBounceRule);
                }

                if (p.HasSoftSuppressed)
                {
                    ProfileCore.LiftSoftSuppressions(p, _softBounceRule); // audit U86: a delivery heard before its record reaches this address now
                }

                // Review of U83 finished: a number suppressed again (above) or reachable again changes which START stands.
                ProfileCore.ReviewKeywordGrant(p);

                if (p.HasSuppressedAddresses)
                {
                    MarkSuppressedIdentifiers(p); // review of U86: a suppression read again is marked on her identifier too
                }
            }

            if (!string.IsNullOrEmpty(providerId) && Measurement.Touch.IndexOf(p.Touches, key) is var known and >= 0 && p.Touches[known].ProviderId != providerId)
            {
                p.Touches[known] = p.Touches[known] with { ProviderId = providerId }; // a status callback naming only it is this message's
                if ((p.HasPendingBounces || p.HasSoftBounces || p.HasPendingReports) && !resolved)
                {
                    // Audit U79: a hard bounce naming only this id came before the send was recorded (status callbacks
                    // are not ordered after the API's answer): it is this message's, and suppresses where it went. Here
                    // only when the touch gained its channel from this record (a fallback): marked at once.
                    ResolvePendingOfProvider(p);
                    MarkSuppressedIdentifiers(p);
                    ProfileCore.ReviewKeywordGrant(p); // audit U83: a bounced number is no longer where her texts go
                    journeys = await HearPlacedReportsAsync(p, journeys, changes, _definitions, now, cancellationToken).ConfigureAwait(false);
                }
            }

            return new ChangeEffect { Changes = changes, EventId = id, Outbox = journeys?.Outbox ?? (IReadOnlyList<OutboxEntry>)[], Journeys = journeys };
        }, cancellationToken).ConfigureAwait(false);

        // Hard bounces first: an address one of them suppresses has no soft bounce left to count.
        void ResolvePendingOfProvider(CustomerProfile p)
        {
            Measurement.MeasurementRecorder.PlacePendingReports(p, _options.Measurement); // audit U81: the touch's instants first
            ProfileCore.ResolvePendingBounces(p);
            if (ProfileCore.ResolvePendingSoftBounces(p, _softBounceRule))
            {
                ProfileCore.ReviewSoftBounces(p, _softBounceRule);
            }
        }
        if (unit is null)
        {
            // Not recorded (the store failed; the unit's log says why): the entry must stay claimed, to be handled again
            // when its lease ends, rather than completed with its outcome lost from the profile and the measurements.
            throw new InvalidOperationException($"The '{outcome}' outcome of a message could not be recorded on its profile; the message is handled again when its lease ends.");
        }
    }
}
