using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

// Delivery, the check when a message leaves: the journey cancelled it, a cap or quiet hours now apply, consent or the
// address changed, or it is rendered again for the moment of delivery. Reads the profile on its partition.
public sealed partial class OmnichannelEngine
{
    // Every rule is checked again when the message actually leaves: it may have waited (quiet hours, retries) while the
    // person opted out, bounced, was erased, or while the journey that produced it reached its goal or exited. A message
    // held past the moment it was planned is rendered again, so time-of-day content fits the moment of delivery.
    // The checks read the profile on its partition: the hot copy when it is the stored version (no parse); only rendering
    // again, which may be slow, runs outside it, on a copy.
    private async ValueTask<(IReadOnlyList<OutboxCandidate> Candidates, string? Cancelled, DateTimeOffset? DeferTo)> RecheckAsync(OutboxEntry entry, OutboxPayload payload, List<string> failures, CancellationToken cancellationToken)
    {
        var renderAgain = payload.Request is not null && payload.QueuedAt is { } queuedAt && entry.DueAt > queuedAt && _delivery.Renderer is not null;
        var unit = await EnqueueProfileWork(
            entry.ProfileId,
            (p, now) => ValueTask.FromResult(new ChangeEffect { ReadOnly = true, Result = Recheck(p, payload, renderAgain, now) }),
            cancellationToken,
            readOnly: true).ConfigureAwait(false);
        if (unit is null)
        {
            throw new InvalidOperationException("The profile could not be read to check the message again; it is claimed again when its lease ends.");
        }

        if (unit.Status == UnitStatus.Gone)
        {
            return ([], "the profile was erased", null);
        }

        var check = (Rechecked)unit.Effect!.Result!;
        failures.AddRange(check.Failures);
        if (check.Cancelled is not null)
        {
            return ([], check.Cancelled, null);
        }

        if (check.DeferTo is { } deferTo)
        {
            return ([], null, deferTo);
        }

        if (check.Copy is not { } copy)
        {
            return check.Kept.Count == 0 ? ([], string.Join("; ", failures), null) : (check.Kept, null, null);
        }

        var now = _time.GetUtcNow();
        var request = payload.Request!;
        var kept = new List<OutboxCandidate>(check.Kept.Count);
        foreach (var c in check.Kept)
        {
            try
            {
                var unsubscribeUrl = UnsubscribeUrl(copy.Id, request.Key, c.Channel, request.Topic, request.Class);
                var fresh = await RenderBoundedAsync(_delivery.Renderer!, WithUnsubscribeUrl(request, unsubscribeUrl), c.Channel, c.Address, copy, now, cancellationToken).ConfigureAwait(false);
                if (fresh is null)
                {
                    // The renderer has nothing for this channel now (her cart is empty, the template lost the channel): the
                    // channel is passed over, as when it was planned. Sending what was rendered then would say what is no
                    // longer so (audit U37).
                    failures.Add($"{c.Channel}: the template has nothing for this channel when the message was due");
                    continue;
                }

                if (RecipientProblem(fresh, c.Channel, c.Address, copy) is not { } elsewhere)
                {
                    kept.Add(OutboxPayload.Candidate(c.Channel, c.Address, WithUnsubscribeHeaders(fresh, unsubscribeUrl) with { MessageId = request.Key, ProfileId = copy.Id, Topic = request.Topic }));
                    continue;
                }

                LogRenderAgainFailed(_logger, entry.MessageKey, "RecipientChanged", elsewhere); // names no address
            }
            catch (Exception ex) when (NotCancelledBy(ex, cancellationToken))
            {
                // The message rendered when it was planned still stands. The exception is not logged as it is: a renderer's
                // message may quote her address or profile data (planning logs the same failure scrubbed, too).
                LogRenderAgainFailed(_logger, entry.MessageKey, ex.GetType().Name, Privacy.PersonalDataScrubber.Scrub(ex.Message) ?? string.Empty);
            }

            kept.Add(check.Planned.GetValueOrDefault(c) ?? c); // as planned: to the address it was rendered for
        }

        return kept.Count == 0 ? ([], string.Join("; ", failures), null) : (kept, null, null);
    }

    // The checks of RecheckAsync on the partition's hot profile: reads only.
    private Rechecked Recheck(CustomerProfile p, OutboxPayload payload, bool renderAgain, DateTimeOffset now)
    {
        if (p.JourneyData?.Cancelled.GetValueOrDefault(payload.Key) is { } journeyCancelled)
        {
            return new Rechecked([], [], journeyCancelled.Reason, null);
        }

        // Nothing of a removed journey goes out. Its running instances withdraw what they hold when they end, but an
        // instance whose last step planned the message (held for quiet hours or a retry) had already completed, and no
        // visit reaches it: the message is withdrawn here, when it is due.
        if (p.JourneyData?.HeldMessages.Find(h => h.Key == payload.Key) is { JourneyId: { } heldFor } held)
        {
            if (_definitions.Journeys.FindLatest(heldFor) is null)
            {
                ReportNotLoaded(heldFor);
                return new Rechecked([], [], Sdk.Journeys.JourneyRunner.JourneyRemovedBeforeDue, null);
            }

            // The journey's condition exits, read as the message leaves (Klaviyo's flow filters): one that became true by
            // time alone while it was held (the offer it announces ended at 06:00, the message was held until 08:00) has
            // no event to withdraw it earlier, and the instance that planned it has ended.
            if (ConditionExitOfHeld(p, held, now) is { } exited)
            {
                return new Rechecked([], [], exited + " when the message was due", null);
            }
        }

        // Audit U88: the global control group as it stands when the message leaves. A message planned on a profile then in
        // the treatment group (held for quiet hours, or retried) whose person turned out, at a merge, to be held out — she
        // keeps the group assigned first — is withheld, as one planned now would be (Braze: control users get no campaign).
        if (payload.Class == MessageClass.Marketing && _options.Measurement.GlobalControlShare > 0 && p.MeasurementGroup == "control")
        {
            return new Rechecked([], [], "held out: the person is in the global control group when the message was due", null);
        }

        if (payload.Class == MessageClass.Marketing && DeliveryPlanner.CapReachedBefore(p, payload.Key, _options.Delivery, now) is { } cap)
        {
            return new Rechecked([], [], cap + " when the message was due", null);
        }

        // Quiet hours are hers where she is now: a message held for the morning of the zone she was in when it was planned
        // waits again when she has moved to a zone where it is night (a message that was never held is left alone: it
        // went through the quiet hours when it was planned, and a retry or a late dispatcher must not hold it for hours).
        var o = _options.Delivery;
        if (payload.Request is not null && (payload.Class == MessageClass.Marketing ? o.MarketingQuietHours : o.TransactionalQuietHours) == QuietHoursAction.Defer
            && DeliveryPlanner.QuietHoursEnd(now, DeliveryPlanner.ZoneOf(p, o), o.QuietHoursStart, o.QuietHoursEnd) is { } quietUntil)
        {
            return new Rechecked([], [], null, null) { DeferTo = quietUntil };
        }

        var failures = new List<string>();
        var kept = new List<OutboxCandidate>(payload.Candidates.Count);
        Dictionary<OutboxCandidate, OutboxCandidate>? moved = null;
        var from = MovedOnTo(p, payload);
        for (var i = 0; i < payload.Candidates.Count; i++)
        {
            var planned = payload.Candidates[i];
            if (i < from)
            {
                // An earlier attempt moved on from this channel (it failed permanently, ran out of attempts or was not
                // tried) and handed the message to a later one, which failed transiently: the retry is that channel's.
                // Going back sent it on a channel that had refused it, and under caps counted on the later channel.
                failures.Add($"{planned.Channel}: given up on an earlier attempt");
                continue;
            }

            // She changed her email or phone (or her id on a custom channel, such as line) while it waited (quiet hours):
            // a message that can be rendered again goes to the address she uses now, as one planned now would; the old one
            // may no longer be hers, or a hard bounce suppressed it.
            var c = planned;
            if (payload.Request is not null && _delivery.Renderer is not null
                && DeliveryPlanner.Address(p, c.Channel) is { } current && current != c.Address
                && (DeliveryPlanner.EmailOrPhone(c.Channel) || !ShapedChannels.Contains(c.Channel)))
            {
                c = c with { Address = current };
                (moved ??= new(ReferenceEqualityComparer.Instance))[c] = planned;
            }

            if (IsSuppressedOnProfile(p, c.Channel, c.Address))
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
        var copy = (renderAgain || moved is not null) && kept.Count > 0 ? ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), p.Version) : null;
        return new Rechecked(kept, failures, null, copy) { Planned = (IReadOnlyDictionary<OutboxCandidate, OutboxCandidate>?)moved ?? NonePlanned };
    }

    // A condition exit of the journey that planned a held message, holding for her now (see JourneyRunner.ConditionExitHolds).
    private string? ConditionExitOfHeld(CustomerProfile p, Sdk.Journeys.HeldMessage held, DateTimeOffset now) =>
        Sdk.Journeys.JourneyRunner.ConditionExitHolds(held, _definitions.Journeys,
            () => new Segments.SegmentSubject(p, p.RuleHistory, p.IsInSegment, _options.Delivery.DefaultTimeZone), now);

    // The candidate a marketing message moved on to at an earlier attempt: its log entry takes the fallback channel when
    // the message is handed over there (HandOvers), and keeps it while the message is retried. 0 when it never moved.
    private static int MovedOnTo(CustomerProfile p, OutboxPayload payload)
    {
        if (payload.Class != MessageClass.Marketing || payload.Candidates.Count < 2 || p.MessageLog.Find(m => m.Key == payload.Key) is not { } logged
            || logged.Channel == payload.Candidates[0].Channel)
        {
            return 0;
        }

        for (var i = 1; i < payload.Candidates.Count; i++)
        {
            if (payload.Candidates[i].Channel == logged.Channel)
            {
                return i;
            }
        }

        return 0;
    }

    private sealed record Rechecked(IReadOnlyList<OutboxCandidate> Kept, IReadOnlyList<string> Failures, string? Cancelled, CustomerProfile? Copy)
    {
        /// <summary>When the message waits again for the end of her quiet hours (she moved to a zone where it is night).</summary>
        public DateTimeOffset? DeferTo { get; init; }

        /// <summary>A kept candidate moved to her current address → the candidate as planned (sent when rendering again fails).</summary>
        public IReadOnlyDictionary<OutboxCandidate, OutboxCandidate> Planned { get; init; } = NonePlanned;
    }

    private static readonly Dictionary<OutboxCandidate, OutboxCandidate> NonePlanned = [];

    // Holds a message again until her quiet hours end: its log entry moves with it, so caps count it when it leaves.
    private async Task DeferAgainAsync(OutboxEntry entry, OutboxPayload payload, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var unit = await EnqueueProfileWork(entry.ProfileId, (p, now) =>
        {
            if (p.MessageLog.FindIndex(m => m.Key == payload.Key) is var logged and >= 0)
            {
                p.MessageLog[logged] = p.MessageLog[logged] with { At = dueAt };
            }

            return ValueTask.FromResult(new ChangeEffect());
        }, cancellationToken).ConfigureAwait(false);
        if (unit is null)
        {
            // The log entry did not move (the store failed): moving the outbox entry alone would leave caps counting the
            // message at its old time. It stays claimed and is checked again when its lease ends.
            throw new InvalidOperationException("A message held again for quiet hours could not be moved on its profile; it is checked again when its lease ends.");
        }

        await _store.RescheduleOutboxAsync(entry.MessageKey, Fence(entry), dueAt, cancellationToken).ConfigureAwait(false);
        LogMessageDeferred(_logger, entry.MessageKey, dueAt);
    }

    // A message held for the end of her quiet hours (marketing, or transactional when those are held too: audit U51, logged
    // while held for this alone) waits for the end of that night as the zone she is in now has it (audit U48): held at 22:00 in London until 08:00 there (08:00 UTC), it goes at 08:00 in Tokyo (23:00 UTC) if
    // she lands there first, and at 08:00 in New York (13:00 UTC) if she flies west. The night it was held in began at
    // most the quiet hours' length before its due time: the first quiet hours of her new zone ending after that start are
    // that night where she is. If they ended already, it goes now, or when her current quiet hours end, if she is in them.
    // An earlier end (within the caps there) moves its outbox entry, then its log entry, after the commit (AdvanceOutboxEntriesAsync): the log
    // never says earlier than the outbox, or caps would stop counting a message that has not left. A later end needs
    // nothing: at its old due time the check at dispatch holds it again, both entries together. Retries wait for the
    // provider, not for her night.
    private void MoveQuietHolds(CustomerProfile p, DateTimeOffset now)
    {
        var o = _options.Delivery;
        bool Held(SentMessage m) => m.At > now && m.RetryAt is null && m.Key is not null
            && (m.Transactional ? o.TransactionalQuietHours : o.MarketingQuietHours) == QuietHoursAction.Defer;
        if (o.QuietHoursStart == o.QuietHoursEnd || p.MessageLogIfAny is not { } log || !AnyHeld(log))
        {
            return;
        }

        // A loop, not List.Exists: a delegate and its closure were made for every event of every profile.
        bool AnyHeld(List<SentMessage> log)
        {
            foreach (var m in log)
            {
                if (Held(m))
                {
                    return true;
                }
            }

            return false;
        }

        var zone = DeliveryPlanner.ZoneOf(p, o);
        var length = (o.QuietHoursEnd - o.QuietHoursStart) is var span && span > TimeSpan.Zero ? span : span + TimeSpan.FromDays(1);
        Dictionary<string, DateTimeOffset>? moved = null;
        foreach (var m in p.MessageLog)
        {
            if (!Held(m) || m.Key is not { } key || p.JourneyData?.Cancelled.ContainsKey(key) == true)
            {
                continue;
            }

            var due = DeliveryPlanner.FirstQuietHoursEndAfter(m.At - length, zone, o.QuietHoursStart, o.QuietHoursEnd) is { } end && end > now
                ? end
                : DeliveryPlanner.QuietHoursEnd(now, zone, o.QuietHoursStart, o.QuietHoursEnd) ?? now;
            // Brought forward only where it fits the caps, as if planned for then (a message sent meanwhile may fill them),
            // counting those this change already brought forward at their new times (each checked alone, two held for one
            // morning both came to now and went with a third under a cap of two): else it keeps its time, and the check
            // at dispatch decides there. A transactional one is under no cap.
            if (due < m.At && (m.Transactional || DeliveryPlanner.CapReachedIfMoved(p, key, due, o, moved) is null))
            {
                (p.PendingAdvances ??= []).Add(new Advance(p.Id, key, m.At, due));
                (moved ??= new(StringComparer.Ordinal))[key] = due;
            }
        }
    }

    // After the commit that found held messages to bring forward: the dispatcher moves them before it next claims.
    private void AdvanceAfterCommit(CustomerProfile p)
    {
        if (p.PendingAdvances is not { } advances)
        {
            return;
        }

        p.PendingAdvances = null;
        foreach (var a in advances)
        {
            _advances.Enqueue(a);
        }

        ScheduleDispatch(_time.GetUtcNow());
    }

    /// <summary>A held message to bring forward: its profile, key, the due time it was held for, and the new one.</summary>
    internal sealed record Advance(string ProfileId, string Key, DateTimeOffset From, DateTimeOffset To);

    // Held messages to bring forward, in commit order; drained by the dispatcher before it claims. Lost on a restart: the
    // message then leaves at its old due time, checked again there (a delay, never her night).
    private readonly System.Collections.Concurrent.ConcurrentQueue<Advance> _advances = new();

    private async Task AdvanceOutboxEntriesAsync(CancellationToken cancellationToken)
    {
        while (_advances.TryDequeue(out var a))
        {
            try
            {
                if (!await _store.AdvanceOutboxAsync(a.Key, a.To, cancellationToken).ConfigureAwait(false))
                {
                    continue; // claimed meanwhile (the check at dispatch decides), gone, or already due by then
                }

                // Its log entry follows, so caps count it when it now leaves; one moved or removed meanwhile is left alone.
                await EnqueueProfileWork(a.ProfileId, (p, now) =>
                {
                    var logged = p.MessageLog.FindIndex(m => m.Key == a.Key && m.At == a.From && m.RetryAt is null);
                    if (logged < 0)
                    {
                        return ValueTask.FromResult(new ChangeEffect { ReadOnly = true });
                    }

                    p.MessageLog[logged] = p.MessageLog[logged] with { At = a.To };
                    return ValueTask.FromResult(new ChangeEffect());
                }, cancellationToken).ConfigureAwait(false);
                LogQuietHoldMoved(_logger, a.Key, a.To);
            }
            catch (Exception ex) when (NotCancelledBy(ex, cancellationToken))
            {
                // The outbox entry may have moved without its log entry: the message leaves earlier than its cap slot says
                // until its 'sent' outcome moves the slot to when it left. Not her night either way.
                LogAdvanceFailed(_logger, a.Key, ex.GetType().Name);
            }
        }
    }

    [LoggerMessage(90, LogLevel.Information, "Message {MessageKey} held for quiet hours now goes at {DueAt:u}, earlier: the profile's time zone changed")]
    private static partial void LogQuietHoldMoved(ILogger logger, string messageKey, DateTimeOffset dueAt);

    [LoggerMessage(91, LogLevel.Warning, "Message {MessageKey} could not be brought forward in the outbox ({ExceptionType}); it leaves at its old due time, checked again there")]
    private static partial void LogAdvanceFailed(ILogger logger, string messageKey, string exceptionType);

    [LoggerMessage(34, LogLevel.Warning, "Rendering message {MessageKey} again at delivery failed ({ExceptionType}: {Reason}); the content rendered when it was planned is sent")]
    private static partial void LogRenderAgainFailed(ILogger logger, string messageKey, string exceptionType, string reason);
}
