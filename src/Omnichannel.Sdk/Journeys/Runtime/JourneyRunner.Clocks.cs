namespace Omnichannel.Sdk.Journeys;

// Inactivity clocks: when an inactivity journey fires for the profile, derived from the afterEvent and noEvent times it
// keeps, thinned so frequent events keep the list short, and derived again after a merge.
internal sealed partial class JourneyRunner
{
    // An inactivity journey's clock on this profile; one written before the stamps gets its afterEvent time back.
    private ScheduledTrigger Clock(string journeyId, InactivityTrigger t)
    {
        if (!State.Scheduled.TryGetValue(journeyId, out var clock))
        {
            clock = State.Scheduled[journeyId] = new ScheduledTrigger { DueAt = DateTimeOffset.MaxValue };
        }
        else if (!clock.IsClock && clock.DueAt != DateTimeOffset.MaxValue)
        {
            clock.AfterAt = t.Within.SubtractFrom(clock.DueAt);
        }

        if (clock.NoEventAt is { } legacy)
        {
            // Written before audit U24: the latest noEvent of any kind, an order's update time included; kept as one time.
            clock.NoEvents = [.. (clock.NoEvents ?? []).Append(legacy).Distinct().Order()];
            clock.NoEventAt = null;
        }

        return clock;
    }

    // Due Within after the latest afterEvent, unless a noEvent came inside that window or it already fired since. Any
    // noEvent inside counts, not only the latest (audit U24: a purchase after the window re-opened a clock that one inside
    // it had answered); an order counts at its first time, read from the profile (an update is that order, in any arrival
    // order, and a merge brings the other profile's orders).
    private void Arm(ScheduledTrigger clock, InactivityTrigger t)
    {
        clock.DueAt = DateTimeOffset.MaxValue;
        if (clock.AfterAt is not { } after)
        {
            Thin(clock.NoEvents, null, t);
            return;
        }

        var due = t.Within.AddTo(after);
        Thin(clock.NoEvents, after, t);
        var cancelled = clock.NoEvents?.Exists(n => n >= after && n < due) == true
            || (t.NoEventTypes.Contains(EventTypes.OrderPlaced) && p.Orders.Values.Any(o => o.At >= after && o.At < due));
        var fired = clock.FiredAt is { } f && after < f;
        var refused = clock.RefusedAfterAt is { } r && after <= r;
        if (!cancelled && !fired && !refused)
        {
            clock.DueAt = due;
        }
    }

    /// <summary>
    /// The most noEvent times a clock keeps (the oldest go first, except the first one at or after the afterEvent, which
    /// answers the current window; an older afterEvent arriving later is rare).
    /// </summary>
    internal const int MaxNoEventTimes = 32;

    // Drops the times no window can need: those before the afterEvent (it only moves later), and a time whose neighbours
    // are less than Within apart (any window holding it holds one of them). Keeps the list short under frequent noEvents.
    private static void Thin(List<DateTimeOffset>? times, DateTimeOffset? after, InactivityTrigger t)
    {
        if (times is null)
        {
            return;
        }

        if (after is { } a)
        {
            times.RemoveAll(n => n < a);
        }

        for (var i = times.Count - 2; i >= 1; i--)
        {
            if (times[i + 1] < t.Within.AddTo(times[i - 1]))
            {
                times.RemoveAt(i);
            }
        }

        if (times.Count > MaxNoEventTimes)
        {
            // The earliest time at or after the afterEvent is the one that answers the current window, if any does: it
            // stays (review 29: at the 33rd later noEvent the cap dropped it, and the answered clock fired). The next
            // oldest go. With no afterEvent yet, the oldest go.
            var keep = after is null ? 0 : 1;
            times.RemoveRange(keep, times.Count - MaxNoEventTimes);
        }
    }

    // A merge folded two profiles' clocks: derive when each fires again, as if the identifiers had been linked all along.
    private void RearmInactivityClocks()
    {
        foreach (var journeyId in p.JourneyData?.Scheduled.Keys.ToList() ?? [])
        {
            if (Catalog.FindLatest(journeyId)?.Definition.Trigger is InactivityTrigger t)
            {
                Arm(Clock(journeyId, t), t);
            }
        }
    }
}
