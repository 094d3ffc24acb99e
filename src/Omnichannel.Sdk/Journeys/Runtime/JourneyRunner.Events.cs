using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

// An event's turn: goals (one conversion per journey), exit criteria and awaited events of running instances, inactivity
// clocks, dates, and the journeys the event or its segment transitions start.
internal sealed partial class JourneyRunner
{
    private async ValueTask HandleEventAsync(CustomerEvent e, IReadOnlyList<SegmentChange> changes, IReadOnlyList<SegmentChange>? byTime)
    {
        // Conversions of instances that already ended.
        var state = p.JourneyData;

        // One goal event converts one entry per journey, the latest started (the last touch): an order after two
        // entries of one person (two devices that merged, or a re-entry) is one conversion, its revenue credited once.
        _firstEntriesReached = null;
        var credit = CreditedBefore(state, e, state is { Instances.Count: > 0 } ? RunningGoalCredit(state, e) : null);
        HashSet<string>? convertedPending = null;
        if (state is { PendingConversions.Count: > 0 })
        {
            convertedPending = ConvertPending(state, e, credit);
        }

        // Running instances: goal, exit criteria, awaited events.
        foreach (var instance in state is { Instances.Count: > 0 } ? state.Instances.ToArray() : [])
        {
            if (!State.Instances.Contains(instance) || CheckVersion(instance) is not { } journey)
            {
                continue;
            }

            var d = journey.Definition;
            if (!Correlates(instance, d, e))
            {
                continue;
            }

            // By event time: an event from before the start (uploaded late) neither converts nor exits it.
            var after = OutcomeTime(e) >= Since(instance);
            if (after && d.Goal is { } goal && GoalMatches(goal, e) && OutcomeTime(e) <= goal.Within.AddTo(Since(instance)))
            {
                credit ??= new(StringComparer.Ordinal);
                if (credit.TryGetValue(d.Id, out var winner) && winner != instance.Id)
                {
                    End(instance, "exited", "goal reached; credited to a later entry", watchGoal: false, cancelHeld: true);
                    continue;
                }

                credit[d.Id] = "credited";
                ConvertOnGoal(instance, e);
                continue;
            }

            if (after && d.Exit.OfType<EventExitCriterion>().FirstOrDefault(x => Matches(x.EventType, x.Where, e)) is { } exit)
            {
                // An A/B arm is measured for its goal from entry to the window's end whatever happens, as the hold-out
                // is: an exit that stopped the watch in the treated arm only would bias the verdict against it.
                End(instance, "exited", $"exit criterion: {exit.EventType}", watchGoal: instance.Variant is not null, cancelHeld: true);
                continue;
            }

            // By event time too: an event from before the wait began (uploaded late, or an order placed before it and sent
            // again) does not answer it.
            if (journey.Step(instance.StepId) is WaitForEventStep wait && instance.WakeAt is not null
                && (instance.WaitingSince is not { } since || OutcomeTime(e) >= since)
                && wait.Branches.FirstOrDefault(b => Matches(b.EventType, b.Where, e)) is { } branch)
            {
                instance.Context["event"] = Properties(e);
                instance.Context["eventType"] = e.Type;
                Count(d.Id, $"step:{wait.Id}:matched");
                if (branch.Next is null)
                {
                    instance.WakeAt = wait.Timeout.AddTo(now); // restart on match: keep waiting, from now
                    instance.WaitingSince = EventTime(e);
                    Timeline(instance, "journey.wait_restarted", $"{e.Type} matched; waiting again until {instance.WakeAt:u}");
                    continue;
                }

                Timeline(instance, "journey.event_matched", $"{wait.Id}: {e.Type} → {branch.Next}");
                await RunAsync(instance, journey, branch.Next, EventTime(e)).ConfigureAwait(false);
            }
        }

        WithdrawHeldAfterEnd(e);

        // Inactivity clocks, by event time: the answer does not depend on the order events arrive in.
        CancelInactivityClocks(e);
        foreach (var j in Catalog.InactivityConcerning(e.Type))
        {
            if (MachineEngagement.Is(e))
            {
                break; // a machine's open or click starts no inactivity clock (audit U82)
            }

            var t = (InactivityTrigger)j.Definition.Trigger;
            var at = OutcomeTime(e); // an order sent again does not restart the clock: it was placed at its first time
            if (t.AfterEventType == e.Type && !t.NoEventTypes.Contains(e.Type))
            {
                var clock = Clock(j.Id, t);
                if (clock.AfterAt is not { } a || at > a)
                {
                    clock.AfterAt = at; // each newer one restarts the clock; an older one arriving late does not
                    clock.Basis = e.Id;
                    clock.AfterLearnedAt = now;
                }

                Arm(clock, t);
            }
        }

        ScheduleDates(onlyUnscheduled: !_traitsChanged);

        await StartFromSegmentsAsync(changes, e, byTime).ConfigureAwait(false);
        foreach (var j in Catalog.TriggeredBy(e.Type))
        {
            var t = (EventTrigger)j.Definition.Trigger;
            if (!Matches(t.EventType, t.Where, e))
            {
                continue;
            }

            if (e.Context is { Historical: true })
            {
                Skip(j.Id, HistoricalReason, $"event {e.Type}", e);
                continue;
            }

            // A back-filled or long-delayed event is history: it is kept, but it does not start a journey now.
            if (t.MaxAge is { } maxAge && maxAge.AddTo(e.Timestamp) < now)
            {
                Skip(j.Id, $"the event is older than the trigger's maxAge {maxAge} (it happened at {e.Timestamp:u}, {now:u} now): "
                    + "send it with a recent timestamp, or give the trigger a longer maxAge (\"maxAge\": null for no limit)", $"event {e.Type}", e);
                continue;
            }

            // An order the profile already held (an update, or a webhook delivered again under a new event id) is not a
            // new order: statistics, segments, goals and measurement count it once, and it starts a journey once.
            if (_repeatOrder)
            {
                Skip(j.Id, "this order was already placed (the event is an update or a repeated delivery of it); an order starts a journey once", $"event {e.Type}", e);
                continue;
            }

            // Audit U95: the order's first report arriving after a later one is the order placed (in event-time order the
            // later one was its update); a later report that already started an entry of this journey started it for it.
            if (_firstReportLate && StartedByThisOrder(j.Id, e))
            {
                Skip(j.Id, "this order already started an entry (a later report of it arrived first); an order starts a journey once", $"event {e.Type}", e);
                continue;
            }

            // The same for a message's outcome reported again (a provider's at-least-once webhook, an image proxy's open
            // then hers): it counts once per message, and it starts a journey once.
            if (_repeatOutcome)
            {
                Skip(j.Id, "this outcome of the message was already reported (a repeated webhook); an outcome starts a journey once", $"event {e.Type}", e);
                continue;
            }

            await TryStartAsync(j, e, $"event {e.Type}").ConfigureAwait(false);
        }

        CheckSegmentExits();
        RememberExit(e); // after the starts: an event does not exit the instance it starts
        RememberWaitAnswer(e);
        RememberGoal(e, credit, convertedPending);
    }

    // The live goal path: the conversion (statistics, revenue, timeline) and the instance's end.
    private void ConvertOnGoal(JourneyInstance instance, CustomerEvent e)
    {
        RecordConversion(instance.JourneyId, instance.Id, instance.LastStepId, instance.Variant, instance.RepeatEntry, instance.LastChannel, instance.Credits, e);
        End(instance, "converted", $"converted by {e.Type}", watchGoal: false);
    }

    // A noEvent's time on every clock it concerns (by event time, so hearing it twice changes nothing). Orders are not
    // noted: Arm reads the profile's orders at their first time, which an original arriving after its update moves earlier
    // (audit U24; audit U16 did the same for an update arriving after its original).
    private void CancelInactivityClocks(CustomerEvent e)
    {
        foreach (var j in Catalog.InactivityConcerning(e.Type))
        {
            var t = (InactivityTrigger)j.Definition.Trigger;
            if (!t.NoEventTypes.Contains(e.Type) || MachineEngagement.Is(e))
            {
                continue; // a machine's open or click is not her answer: the clock runs on (audit U82)
            }

            if (e.Type == EventTypes.OrderPlaced)
            {
                if (State.Scheduled.ContainsKey(j.Id))
                {
                    Arm(Clock(j.Id, t), t);
                }

                continue;
            }

            var clock = Clock(j.Id, t);
            var times = clock.NoEvents ??= [];
            var at = EventTime(e);
            var i = times.BinarySearch(at);
            if (i < 0)
            {
                times.Insert(~i, at);
            }

            Arm(clock, t);
        }
    }

    // An order the profile already held (its update, or its webhook delivered again) is the order at its first time, which
    // already converted the one entry per journey it credits: a goal with no condition on the order's properties matched
    // its first copy too, so a copy converts no other entry (an ended one still watched would take a second conversion
    // for one order). A goal with a `where` may be met first by an update (a pending order later paid), so it is read.
    private bool GoalMatches(JourneyGoal goal, CustomerEvent e) =>
        !(_repeatOrder && goal.Where.Count == 0) && Matches(goal.EventType, goal.Where, e);

    // Audit U95: whether an entry of the journey was started by a report of e's order: a running one, or the last one.
    private bool StartedByThisOrder(string journeyId, CustomerEvent e) =>
        WellKnownProperties.OrderId(p, e.Properties) is { Length: > 0 } id && p.JourneyData is { } state
        && (state.Entries.Exists(r => r.JourneyId == journeyId && r.OrderId == id)
            || state.Instances.Exists(i => i.JourneyId == journeyId && JourneyState.OrderIdText(i.Trigger?["order_id"]) == id));

    // Audit U95: the order's first report arriving late converts no entry of a journey a later report of it already
    // credited (one order, one conversion per journey); the entries it reaches end as reached by a credited goal.
    private Dictionary<string, string>? CreditedBefore(JourneyState? state, CustomerEvent e, Dictionary<string, string>? credit)
    {
        if (!_firstReportLate || WellKnownProperties.OrderId(p, e.Properties) is not { Length: > 0 } id)
        {
            return credit;
        }

        foreach (var x in state?.GoalsSeen ?? [])
        {
            if (x.Credited && JourneyState.OrderOf(x) == id)
            {
                (credit ??= new(StringComparer.Ordinal))[x.JourneyId] = "credited";
            }
        }

        // Audit U98 (left alone by review rv59): the goal records are capped per journey (20, the oldest go first), so 20
        // other orders remembered between a report of this order that converted an entry and its late first report took
        // the credited record away, and the first report converted a second entry. Every conversion by an order also keeps
        // the journey's revenue rows on the order's measured conversion (JourneyRevenue; kept for OrderConversionRetention,
        // moved with it at a merge), whatever the cap: a journey named there was credited by this order.
        if (p.OrderConversions.Count > 0 && p.OrderConversions.TryGetValue(WellKnownProperties.OrderKey(id), out var order) && order.JourneyRows is { Count: > 0 } rows)
        {
            foreach (var row in rows)
            {
                if (row.Key.JourneyId is { Length: > 0 } journeyId)
                {
                    (credit ??= new(StringComparer.Ordinal))[journeyId] = "credited";
                }
            }
        }

        return credit;
    }

    // Returns the journeys it converted an ended entry of.
    private HashSet<string>? ConvertPending(JourneyState state, CustomerEvent e, Dictionary<string, string>? credit)
    {
        state.PendingConversions.RemoveAll(c => c.Until + LateEventGrace < now);
        var at = OutcomeTime(e);
        PendingConversion? Latest(PendingConversion? a, PendingConversion b) => a is null || (b.From ?? DateTimeOffset.MinValue) >= (a.From ?? DateTimeOffset.MinValue) ? b : a;
        Dictionary<string, PendingConversion>? winners = null;
        List<(PendingConversion Pending, JourneyDefinition Definition)>? reached = null;
        foreach (var pending in state.PendingConversions)
        {
            if (at <= pending.Until && (pending.From is not { } from || at >= from)
                && Catalog.Find(pending.JourneyId, pending.Version)?.Definition is { Goal: { } goal } d && GoalMatches(goal, e)
                && Correlates(pending.CorrelationKey, d, e))
            {
                (reached ??= []).Add((pending, d));
                if (credit?.ContainsKey(pending.JourneyId) != true)
                {
                    winners ??= new(StringComparer.Ordinal);
                    winners[pending.JourneyId] = Latest(winners.GetValueOrDefault(pending.JourneyId), pending)!;
                }
            }
        }

        // The other entries stay watched: a later goal event within their windows converts them.
        foreach (var pending in winners?.Values ?? Enumerable.Empty<PendingConversion>())
        {
            state.PendingConversions.Remove(pending);
            RecordConversion(pending.JourneyId, pending.InstanceId, pending.StepId, pending.Variant, pending.RepeatEntry, pending.Channel, pending.Credits, e);
        }

        // One goal event converts one entry per journey, but the goal is reached for the others all the same: a reminder an
        // earlier entry still holds (quiet hours, a retry) is withdrawn, not sent the morning after she bought, while the
        // goal credits her later, running entry (audit U37). Its instance's correlation value must match, as a running one's.
        foreach (var (pending, d) in reached ?? [])
        {
            if (winners?.GetValueOrDefault(pending.JourneyId) != pending
                && state.HeldMessages.Find(h => h.InstanceId == pending.InstanceId) is { } held && Correlates(held.CorrelationKey, d, e))
            {
                state.CancelHeld(pending.InstanceId, $"the journey's goal was reached ({e.Type})", now);
            }
        }

        return winners is null ? null : [.. winners.Keys];
    }

    /// <summary>For each journey whose running entries <paramref name="e"/> converts, the one credited: the latest started.</summary>
    private Dictionary<string, string>? RunningGoalCredit(JourneyState state, CustomerEvent e)
    {
        Dictionary<string, string>? credit = null;
        Dictionary<string, DateTimeOffset>? started = null;
        foreach (var instance in state.Instances)
        {
            if (Catalog.Find(instance.JourneyId, instance.Version)?.Definition is { Goal: { } goal } d && Correlates(instance, d, e)
                && OutcomeTime(e) >= Since(instance) && GoalMatches(goal, e) && OutcomeTime(e) <= goal.Within.AddTo(Since(instance)))
            {
                credit ??= new(StringComparer.Ordinal);
                started ??= new(StringComparer.Ordinal);
                if (!instance.RepeatEntry && instance.Variant is not null)
                {
                    (_firstEntriesReached ??= new(StringComparer.Ordinal)).Add(d.Id + "|" + instance.Variant);
                }

                if (!started.TryGetValue(d.Id, out var s) || instance.StartedAt >= s)
                {
                    started[d.Id] = instance.StartedAt;
                    credit[d.Id] = instance.Id;
                }
            }
        }

        return credit;
    }

    private const string HistoricalReason = "the event that caused it was sent as history (context.historical): history starts no journey";

    /// <param name="changes">The transitions.</param>
    /// <param name="cause">The tracked event that caused them, or <see langword="null"/> (time passing, a write, a backfill).</param>
    /// <param name="byTime">Those of <paramref name="changes"/> that time alone made, though <paramref name="cause"/> settled them.</param>
    private async ValueTask StartFromSegmentsAsync(IReadOnlyList<SegmentChange> changes, CustomerEvent? cause = null, IReadOnlyList<SegmentChange>? byTime = null)
    {
        foreach (var c in changes)
        {
            var source = byTime is not null && byTime.Contains(c) ? null : cause; // a lapse settled with a late page view is time's
            foreach (var j in Catalog.TriggeredBySegment(c.SegmentId))
            {
                var t = (SegmentTrigger)j.Definition.Trigger;
                if (t.On != (c.Entered ? SegmentTransition.Entered : SegmentTransition.Exited))
                {
                    continue;
                }

                var because = $"{(c.Entered ? "entered" : "left")} segment {c.SegmentId}";
                if (source is { Context.Historical: true })
                {
                    Skip(j.Id, HistoricalReason, because, source);
                    continue;
                }

                // A transition an imported or long-delayed event caused is history, as that event would be for an event
                // trigger: she is in the segment, but a year-old order does not send today's review request.
                if (source is not null && t.MaxAge is { } maxAge && maxAge.AddTo(source.Timestamp) < now)
                {
                    Skip(j.Id, $"the event that caused it ({source.Type}) is older than the trigger's maxAge {maxAge} (it happened at {source.Timestamp:u}, {now:u} now): "
                        + "send it with a recent timestamp, or give the trigger a longer maxAge (\"maxAge\": null for no limit)", because, source);
                    continue;
                }

                await TryStartAsync(j, null, because, at: c.At).ConfigureAwait(false);
            }
        }

        if (changes.Count > 0)
        {
            CheckSegmentExits();
        }
    }
}
