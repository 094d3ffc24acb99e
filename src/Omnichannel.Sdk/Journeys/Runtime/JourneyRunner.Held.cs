using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

// Messages an instance planned that are still held in the outbox (quiet hours, retries) after it ended: withdrawn when
// an exit, a goal, a condition, a merge or the journey's removal says they must not go, and their cap slots freed.
internal sealed partial class JourneyRunner
{
    // A message the journey's last steps planned may still be held (quiet hours, or retries past its due time) after its
    // instance ended: an exit criterion met before it leaves withdraws it, as it would had the instance still been
    // waiting. A message that left is no longer held (its outcome takes it off), so the exit's time is compared with the
    // instance's start only: one timed after the due time of a message still retrying withdraws it too (audit U37).
    private void WithdrawHeldAfterEnd(CustomerEvent e)
    {
        if (p.JourneyData is not { HeldMessages.Count: > 0 } state)
        {
            return;
        }

        foreach (var held in state.HeldMessages.ToArray())
        {
            if (held.JourneyId is null || !state.HeldMessages.Contains(held) || state.Instances.Exists(i => i.Id == held.InstanceId)
                || Catalog.Find(held.JourneyId, held.Version)?.Definition is not { } d || !Correlates(held.CorrelationKey, d, e)
                || (held.From is { } from && OutcomeTime(e) < from)
                || d.Exit.OfType<EventExitCriterion>().FirstOrDefault(x => Matches(x.EventType, x.Where, e)) is not { } exit)
            {
                continue;
            }

            state.CancelHeld(held.InstanceId, $"the journey instance exited: exit criterion: {exit.EventType} after it ended", now);
        }
    }

    // Messages still held by a journey that is no longer loaded: the instance that planned them had completed (its last
    // step planned them), so no version check ended it. Withdrawn here, at the removal's visit or her next unit, so that
    // the journey published again under the same id does not send them; the dispatch checks the same at the due time.
    private void WithdrawHeldOfRemovedJourneys()
    {
        if (p.JourneyData is not { HeldMessages.Count: > 0 } state)
        {
            return;
        }

        foreach (var h in state.HeldMessages.Where(h => h.JourneyId is { } journeyId && Catalog.FindLatest(journeyId) is null).ToList())
        {
            state.Cancelled[h.Key] = new CancelledMessage { Reason = JourneyRemovedBeforeDue, At = now, DueAt = h.DueAt };
            state.HeldMessages.Remove(h);
            NotLoaded.Add(h.JourneyId!);
        }
    }

    // A message the journey's last step planned may still be held (quiet hours, a retry) after its instance completed, and
    // condition exits were read only for running instances: her cart emptied overnight, and the reminder about it went out
    // in the morning. Withdrawn here, at the unit that made the condition true (so its cap slot is freed at once); one
    // that becomes true by time alone (an offer's end) is seen by the dispatch's check when the message is due.
    private void WithdrawHeldOnConditionExits()
    {
        if (p.JourneyData is not { HeldMessages.Count: > 0 } state)
        {
            return;
        }

        SegmentSubject? subject = null;
        foreach (var h in state.HeldMessages.ToArray())
        {
            if (state.HeldMessages.Contains(h) && !state.Instances.Exists(i => i.Id == h.InstanceId)
                && ConditionExitHolds(h, Catalog, () => subject ??= Subject(), now) is { } reason)
            {
                state.CancelHeld(h.InstanceId, reason, now);
            }
        }
    }

    /// <summary>
    /// Why the held message <paramref name="h"/> must not go out because a condition exit of the journey version that
    /// planned it holds for the profile now, or <see langword="null"/>. Read by the unit of work (instances that ended) and
    /// by the dispatch's check when the message is due (Klaviyo's "flow filters are applied before every email is sent").
    /// </summary>
    internal static string? ConditionExitHolds(HeldMessage h, JourneyCatalog catalog, Func<SegmentSubject> subject, DateTimeOffset now)
    {
        if (h.JourneyId is null || catalog.Find(h.JourneyId, h.Version) is not { HasSegmentExits: true } journey)
        {
            return null;
        }

        foreach (var exit in journey.Definition.Exit.OfType<SegmentExitCriterion>())
        {
            if (SegmentEvaluator.Evaluate(MachineEngagement.Hide(exit.Condition), subject(), now).IsMember)
            {
                return HeldConditionExited;
            }
        }

        return null;
    }

    internal const string HeldConditionExited = "the journey instance exited: exit criterion: a profile condition holds";

    // After a merge: an exit event the other profile saw after this instance's start withdraws what the ended instance
    // still holds, as it would had the two profiles been linked all along (running instances: EndOnMergedOutcomes).
    private void WithdrawHeldOnMergedExits()
    {
        if (p.JourneyData is not { HeldMessages.Count: > 0, ExitsSeen.Count: > 0 } state)
        {
            return;
        }

        foreach (var h in state.HeldMessages.ToArray())
        {
            if (h.JourneyId is null || !state.HeldMessages.Contains(h) || state.Instances.Exists(i => i.Id == h.InstanceId))
            {
                continue;
            }

            if (state.ExitsSeen.Where(x => x.JourneyId == h.JourneyId && x.Version == h.Version && (h.From is not { } from || x.At > from)
                    && (x.Key is null || h.CorrelationKey is null || x.Key == h.CorrelationKey)).MaxBy(x => x.At) is { } seen)
            {
                state.CancelHeld(h.InstanceId, $"the journey instance exited: exit criterion: {seen.EventType} after it ended", now);
            }
        }
    }

    // After a merge: entries that ended (their last step planned a message, perhaps still held) are watched for their goal;
    // a goal event the other profile saw inside an entry's window converts it (the latest started first, one entry per
    // goal event, as the live path credits), which withdraws what it holds. One the other side already credited only
    // withdraws: the goal is reached all the same. A goal the entry's own profile saw is not news to it: the live path
    // already gave it whatever it was owed (an order for another cart, seen while the entry ran, converted nothing).
    private void ConvertPendingOnMergedGoals()
    {
        if (p.JourneyData is not { PendingConversions.Count: > 0, GoalsSeen.Count: > 0 } state)
        {
            p.JourneyData?.MergedSides.Clear();
            return;
        }

        foreach (var pending in state.PendingConversions.OrderByDescending(c => c.From ?? DateTimeOffset.MinValue).ToArray())
        {
            if (!state.PendingConversions.Contains(pending)
                || state.GoalsSeen.Where(x => x.JourneyId == pending.JourneyId && x.Version == pending.Version && state.SideOf(x) != state.SideOf(pending)
                        && (pending.From is not { } from || x.At > from) && x.At <= pending.Until
                        && (x.Key is null || pending.CorrelationKey is null || x.Key == pending.CorrelationKey)).MinBy(x => x.At) is not { } reached)
            {
                continue;
            }

            if (reached.Credited)
            {
                if (state.HeldMessages.Find(h => h.InstanceId == pending.InstanceId) is { } held
                    && (reached.Key is null || held.CorrelationKey is null || reached.Key == held.CorrelationKey))
                {
                    state.CancelHeld(pending.InstanceId, $"the journey's goal was reached ({reached.EventType})", now);
                }

                continue;
            }

            reached.Credited = true;
            state.PendingConversions.Remove(pending);
            RecordConversion(pending.JourneyId, pending.InstanceId, pending.StepId, pending.Variant, pending.RepeatEntry, pending.Channel, pending.Credits, GoalEvent(reached));
        }

        state.MergedSides.Clear(); // read once: a later merge numbers its own sides
    }

    // A held message withdrawn (goal, exit, removal) never goes, but its log entry, at its due time, was only dropped when
    // the dispatch read the withdrawal at that time: until then it kept a cap slot, and another message planned for the
    // same morning was skipped for a cap that nothing would fill. Only entries not yet due are dropped: one due already
    // may be leaving now (the dispatch drops it if it does not); one waiting for a retry is not, until its next attempt.
    private void FreeCapSlotsOfWithdrawn()
    {
        if (p.JourneyData is { Cancelled.Count: > 0 } state && p.MessageLog.Count > 0)
        {
            p.MessageLog.RemoveAll(m => (m.At > now || m.RetryAt > now) && m.Key is { } key && state.Cancelled.ContainsKey(key));
        }
    }

    // Both name the second cause: the engine cannot tell a journey removed by a deploy from one that another process sharing
    // the store registers and this one does not (a worker registered with its transports only).
    internal const string JourneyRemovedBeforeDue = "the journey was removed before the message was due (or is not registered on the process that dispatched it)";

    internal const string NotLoadedReason = "the journey is no longer loaded (removed, or not registered on the process that ran her wake-up or event)";
}
