using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

// Outcomes remembered by event time: goal, exit and awaited events are kept on the profile, so a trigger that arrives
// later (back-dated) or a merge with the profile that saw them is answered as if the events had come in order.
internal sealed partial class JourneyRunner
{
    // A goal event is remembered by event time too, with what crediting it needs and whether it already converted an
    // entry here (one conversion per goal event): a later, back-dated trigger or a merge is reached by it as if in order.
    private void RememberGoal(CustomerEvent e, Dictionary<string, string>? credit, HashSet<string>? convertedPending)
    {
        foreach (var j in Catalog.GoalOf(e.Type))
        {
            var d = j.Definition;
            if (d.Goal is not { } goal || !Matches(goal.EventType, goal.Where, e))
            {
                continue;
            }

            var key = d.Entry.CorrelationKey is { } path && RuleHistory.TryGetPath(e.Properties, path, out var value) ? CorrelationValue(value) : null;
            State.SawGoal(new GoalSeen
            {
                JourneyId = d.Id,
                Version = d.Version,
                Key = key,
                At = OutcomeTime(e),
                EventId = e.Id,
                EventType = e.Type,
                Timestamp = e.Timestamp,
                Channel = e.Channel,
                Properties = Properties(e),
                Credited = credit?.ContainsKey(d.Id) == true || convertedPending?.Contains(d.Id) == true,
            });
        }
    }

    // A goal (first) or exit event remembered from after the instance's start ends it as it would have, had it arrived
    // after the trigger: the goal converts through the live path, or, already credited, ends it as a second entry would.
    private bool EndOnOutcomeSeen(JourneyInstance instance, bool watchGoalOnExit)
    {
        if (Catalog.Find(instance.JourneyId, instance.Version)?.Definition.Goal is { } goal
            && p.JourneyData?.GoalsSeen.Where(x => x.JourneyId == instance.JourneyId && x.Version == instance.Version && x.At > Since(instance)
                    && x.At <= goal.Within.AddTo(Since(instance)) && (x.Key is null || instance.CorrelationKey is null || x.Key == instance.CorrelationKey))
                .MinBy(x => x.At) is { } reached)
        {
            if (reached.Credited)
            {
                End(instance, "exited", "goal reached; credited to another entry", watchGoal: false, cancelHeld: true);
                return true;
            }

            reached.Credited = true;
            ConvertOnGoal(instance, GoalEvent(reached));
            return true;
        }

        if (ExitSeenAfterStart(instance) is { } seen)
        {
            End(instance, "exited", $"exit criterion: {seen.EventType}", watchGoal: watchGoalOnExit, cancelHeld: true);
            return true;
        }

        return false;
    }

    private static CustomerEvent GoalEvent(GoalSeen seen)
    {
        using var properties = JsonDocument.Parse(seen.Properties?.ToJsonString() ?? "{}");
        return new CustomerEvent
        {
            Id = seen.EventId,
            Type = seen.EventType,
            Timestamp = seen.Timestamp,
            Identifiers = [],
            Channel = seen.Channel,
            Properties = properties.RootElement.Clone(),
        };
    }

    // An exit event is remembered by event time: a trigger uploaded later but timed before it, or a merge with the
    // profile that saw it, must not start (or keep) an instance the person already left by it.
    private void RememberExit(CustomerEvent e)
    {
        foreach (var j in Catalog.ExitedBy(e.Type))
        {
            var d = j.Definition;
            if (d.Exit.OfType<EventExitCriterion>().FirstOrDefault(x => Matches(x.EventType, x.Where, e)) is not { } exit)
            {
                continue;
            }

            var key = d.Entry.CorrelationKey is { } path && RuleHistory.TryGetPath(e.Properties, path, out var value) ? CorrelationValue(value) : null;
            State.SawExit(new ExitSeen { JourneyId = d.Id, Version = d.Version, Key = key, EventType = exit.EventType, At = OutcomeTime(e) });
        }
    }

    private void RememberWaitAnswer(CustomerEvent e)
    {
        foreach (var j in Catalog.WaitedOnBy(e.Type))
        {
            var d = j.Definition;
            if (!d.Steps.OfType<WaitForEventStep>().Any(w => w.Branches.Any(b => Matches(b.EventType, b.Where, e))))
            {
                continue; // what no branch takes (a page view of another path) must not crowd out what answers
            }

            var key = d.Entry.CorrelationKey is { } path && RuleHistory.TryGetPath(e.Properties, path, out var value) ? CorrelationValue(value) : null;
            State.SawWaitAnswer(new WaitAnswerSeen
            {
                JourneyId = d.Id, Version = d.Version, Key = key, At = OutcomeTime(e), EventId = e.Id, EventType = e.Type, Timestamp = e.Timestamp,
                Properties = e.Properties.ValueKind == JsonValueKind.Object ? Properties(e) : null,
            });
        }
    }

    // At a merge: an instance waiting for an event that her other profile saw after the wait began (and before its time-out)
    // goes on as it would have, had the two been one profile all along. A branch that restarts the wait is left to live
    // events (it would only move the time-out).
    private async ValueTask AnswerMergedWaitsAsync()
    {
        if (p.JourneyData is not { Instances.Count: > 0, WaitAnswersSeen.Count: > 0 } state)
        {
            return;
        }

        foreach (var instance in state.Instances.ToArray())
        {
            if (!state.Instances.Contains(instance) || instance.WakeAt is not { } timeout
                || Catalog.Find(instance.JourneyId, instance.Version) is not { } journey || journey.Step(instance.StepId) is not WaitForEventStep wait)
            {
                continue;
            }

            // Strictly after the wait began: at its very instant is the event that began it (the trigger, or the answer that
            // moved it here, on this profile or at an earlier merge), which this instance already heard.
            var since = instance.WaitingSince ?? Since(instance);
            // An order sent again on the other profile is the order at its first time, which the merged profile now knows.
            foreach (var (seen, e, at) in state.WaitAnswersSeen.Where(x => x.JourneyId == instance.JourneyId && x.Version == instance.Version
                         && (x.Key is null || instance.CorrelationKey is null || x.Key == instance.CorrelationKey))
                         .Select(x => (Seen: x, Event: WaitAnswerEvent(x))).Select(x => (x.Seen, x.Event, At: OutcomeTime(x.Event) is var o && o < x.Seen.At ? o : x.Seen.At))
                         .Where(x => x.At > since && x.At < timeout).OrderBy(x => x.At).ThenBy(x => x.Seen.EventId, StringComparer.Ordinal).ToArray())
            {
                if (wait.Branches.FirstOrDefault(b => Matches(b.EventType, b.Where, e)) is not { Next: { } next })
                {
                    continue;
                }

                instance.Context["event"] = seen.Properties?.DeepClone() ?? new JsonObject();
                instance.Context["eventType"] = seen.EventType;
                Count(instance.JourneyId, $"step:{wait.Id}:matched");
                Timeline(instance, "journey.event_matched", $"{wait.Id}: {seen.EventType} → {next} (seen on a profile merged into this one)");
                await RunAsync(instance, journey, next, at).ConfigureAwait(false);
                break;
            }
        }
    }

    private static CustomerEvent WaitAnswerEvent(WaitAnswerSeen seen) => new()
    {
        Id = seen.EventId,
        Type = seen.EventType,
        Timestamp = seen.Timestamp,
        Identifiers = [],
        Properties = seen.Properties is { } props ? JsonSerializer.SerializeToElement(props) : default,
    };

    // An exit event remembered from after the instance's start (strictly: at the same instant, arrival decides), if any.
    private ExitSeen? ExitSeenAfterStart(JourneyInstance instance) =>
        p.JourneyData?.ExitsSeen.Where(x => x.JourneyId == instance.JourneyId && x.Version == instance.Version && x.At > Since(instance)
                && (x.Key is null || instance.CorrelationKey is null || x.Key == instance.CorrelationKey))
            .MaxBy(x => x.At);
}
