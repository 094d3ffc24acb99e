using System.Text.Json;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// The matcher a shop would write by hand: for every event, look at every journey's trigger (event type, then each
/// <c>where</c> condition; segment transitions; the inactivity clocks the event starts or stops; the date traits), then
/// at every running instance's goal, exit events and awaited events. No index, nothing run: it only answers which
/// journeys the event starts and which running instances it concerns. Conditions are applied with the SDK's own
/// <see cref="ConditionMatcher"/>, so the comparison is about the matching, not about condition evaluation.
/// </summary>
internal sealed class NaiveJourneyMatcher(IReadOnlyList<JourneyDefinition> journeys)
{
    /// <summary>The journeys the last event started (trigger matched), in definition order.</summary>
    public List<string> Started { get; } = [];

    /// <summary>Matches one event; returns how many things it concerns (journeys started, instances moved, clocks touched).</summary>
    public int Match(CustomerProfile p, CustomerEvent e, IReadOnlyList<SegmentChange> changes, DateTimeOffset now)
    {
        Started.Clear();
        var concerned = 0;
        foreach (var j in journeys)
        {
            switch (j.Trigger)
            {
                case EventTrigger t when Matches(t.EventType, t.Where, e, now):
                    Started.Add(j.Id);
                    break;
                case SegmentTrigger t:
                    foreach (var c in changes)
                    {
                        if (c.SegmentId == t.SegmentId && c.Entered == (t.On == Journeys.SegmentTransition.Entered))
                        {
                            Started.Add(j.Id);
                        }
                    }

                    break;
                case InactivityTrigger t when t.AfterEventType == e.Type || t.NoEventTypes.Contains(e.Type):
                    concerned++; // starts or stops its clock
                    break;
                case DateTrigger t when p.TryGetTrait(t.Trait, out var value) && value.ValueKind == JsonValueKind.String:
                    break; // the date is read on every event, in case the trait changed
            }
        }

        foreach (var instance in p.JourneyData?.Instances ?? [])
        {
            var d = journeys.First(j => j.Id == instance.JourneyId);
            if ((d.Goal is { } goal && Matches(goal.EventType, goal.Where, e, now))
                || d.Exit.Any(x => x is EventExitCriterion ex && Matches(ex.EventType, ex.Where, e, now))
                || (d.Steps.First(s => s.Id == instance.StepId) is WaitForEventStep wait && wait.Branches.Any(b => Matches(b.EventType, b.Where, e, now))))
            {
                concerned++;
            }
        }

        return Started.Count + concerned;
    }

    private static bool Matches(string eventType, IReadOnlyList<PropertyCondition> where, CustomerEvent e, DateTimeOffset now)
    {
        if (e.Type != eventType)
        {
            return false;
        }

        foreach (var w in where)
        {
            var value = Lookup(e.Properties, w.Property);
            if (!ConditionMatcher.Matches(w.Condition, value is { } v ? RuleValue.FromElement(v) : RuleValue.Missing, now))
            {
                return false;
            }
        }

        return true;
    }

    private static JsonElement? Lookup(JsonElement o, string path)
    {
        var current = o;
        foreach (var part in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out current))
            {
                return null;
            }
        }

        return current;
    }
}
