using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

// Entering journeys: date triggers scheduled from traits, and the entry rules an instance must pass to start.
internal sealed partial class JourneyRunner
{
    // A trait change (re)schedules; otherwise only journeys not yet scheduled for the profile (newly published) or
    // scheduled from another version's trigger are looked at.
    private void ScheduleDates(bool onlyUnscheduled = false)
    {
        foreach (var j in Catalog.Dated)
        {
            var t = (DateTrigger)j.Definition.Trigger;
            var signature = Signature(t);
            ScheduledTrigger? existing = null;
            if (p.JourneyData?.Scheduled.TryGetValue(j.Id, out existing) == true && onlyUnscheduled && (existing.Trigger ?? signature) == signature)
            {
                continue;
            }

            var basis = JourneyClock.Basis(p, t.Trait);
            if (basis is null)
            {
                if (existing is { DateFiredAt: not null } || existing?.FiredBasis is not null)
                {
                    // What fired is remembered while the trait is cleared: a birthday removed and given again the same day
                    // (a CRM sync that clears before it writes) was a new value, and a zone to the west wished her twice.
                    existing.Basis = string.Empty;
                    existing.DueAt = DateTimeOffset.MaxValue;
                }
                else
                {
                    p.JourneyData?.Scheduled.Remove(j.Id);
                }

                continue;
            }

            var zone = Zone.Id;
            if (existing is not null && existing.Basis == basis)
            {
                if ((existing.Zone ?? zone) == zone && (existing.Trigger ?? signature) == signature)
                {
                    existing.Zone ??= zone;
                    existing.Trigger ??= signature;
                    if (t.Annual && existing.DateFiredAt is { } f && existing.DateFiredOn is { } on && existing.DueAt != DateTimeOffset.MaxValue
                        && LocalTime.DateOf(existing.DueAt, Zone) == on)
                    {
                        // Due on the day that already fired for her on another profile of hers (merged: see JourneyState.Merge).
                        existing.DueAt = NextAnnual(t, f) ?? DateTimeOffset.MaxValue;
                    }

                    continue;
                }

                // Same date, new zone or a new version's offset or time: the local time is another instant. What already
                // fired stays fired: a one-off for this value, an annual date for this year's occurrence (moving west
                // after the morning's wish would otherwise wish her again that day).
                var moved = t.Annual ? NextAnnual(t, existing.DateFiredAt) : existing.FiredBasis == basis ? null : JourneyClock.FromTrait(p, t.Trait, t.Offset, t.LocalTime, Zone);
                var wasDue = existing.DueAt;
                existing.DueAt = moved is { } m && m > now ? m : DateTimeOffset.MaxValue;

                // Review of audit U59: the occurrence still due, moved behind now but still on her local today (a zone
                // reported after its local time there, a version that moved the time earlier), fires now, late, once:
                // else an annual date waited a year and a one-off date never fired.
                if (wasDue != DateTimeOffset.MaxValue && (t.Annual || existing.FiredBasis != basis) && PassedToday(t) is { } passed
                    && (!t.Annual || ((passed - wasDue).Duration() <= SameOccurrence && NotFired(passed, existing))))
                {
                    existing.DueAt = now;
                    _lateDates = true;
                }

                existing.Zone = zone;
                existing.Trigger = signature;
                continue;
            }

            // A new value (re)schedules; a one-off time already past is not fired late. An annual value that names the day
            // already wished (the same birthday written another way: "--03-12" re-sent as "1990-03-12") keeps that firing,
            // so a zone learned afterwards does not wish her again that day.
            var fired = t.Annual && FiredOnTheSameDay(t, existing) ? existing : null;

            // Review 26b: a one-off value cleared and given again is the value that fired (its memory was kept while cleared).
            // Read as new, a zone to the west (or a later offset) put its instant after now and it fired a second time.
            var oneOffFired = !t.Annual && existing is { Basis.Length: 0, FiredBasis: { } was } && was == basis ? existing : null;
            var at = t.Annual ? NextAnnual(t, fired?.DateFiredAt) : oneOffFired is null ? JourneyClock.FromTrait(p, t.Trait, t.Offset, t.LocalTime, Zone) : null;
            var due = at is { } a && a > now ? a : DateTimeOffset.MaxValue;

            // Review of audit U59: an annual date this event gave (not as history) whose occurrence today, where she lives,
            // has passed fires now, late, once (a birthday given at 15:00 on the day): else it waited a year. A one-off
            // date already past is still not fired late, nor a date of a journey published after the day's time.
            if (t.Annual && !onlyUnscheduled && GivenNow(t.Trait) && PassedToday(t) is { } late && NotFired(late, fired) && existing?.DateFiredOn != LocalTime.DateOf(now, Zone))
            {
                due = now;
                _lateDates = true;
            }

            // Audit U64: the day it last wished her is kept across a value that names another day (a CRM sync writing a
            // wrong date, then the right one, after the morning's wish): forgotten, the corrected value wished her again.
            State.Scheduled[j.Id] = new ScheduledTrigger
            {
                Basis = basis, Zone = zone, Trigger = signature, DueAt = due,
                DateFiredAt = (fired ?? oneOffFired)?.DateFiredAt, DateFiredOn = fired?.DateFiredOn ?? (t.Annual ? existing?.DateFiredOn : null),
                FiredBasis = oneOffFired?.FiredBasis,
            };
        }
    }

    // Whether the annual date fired for the previous value on the local day the trait's value now names.
    private bool FiredOnTheSameDay(DateTrigger t, ScheduledTrigger? existing)
    {
        if (existing is not { DateFiredAt: not null, DateFiredOn: { } day })
        {
            return false;
        }

        for (var y = Math.Max(1, day.Year - 1); y <= Math.Min(9999, day.Year + 1); y++)
        {
            try
            {
                if (JourneyClock.FromTrait(p, t.Trait, t.Offset, t.LocalTime, Zone, y) is { } a && LocalTime.DateOf(a, Zone) == day)
                {
                    return true;
                }
            }
            catch (ArgumentOutOfRangeException)
            {
                // that year's instant is beyond the calendar
            }
        }

        return false;
    }

    /// <summary>What a date trigger's instant is computed from, to notice a new version that moves it.</summary>
    internal static string Signature(DateTrigger t) =>
        string.Create(CultureInfo.InvariantCulture, $"{t.Trait}|{t.Offset}|{t.LocalTime:HH:mm:ss}|{t.Annual}");

    /// <summary>Whether a published version's date trigger moves a date scheduled on the profile (so it is visited at once).</summary>
    internal static bool DateTriggerChanged(CustomerProfile p, JourneyCatalog catalog, string journeyId) =>
        p.JourneyData?.Scheduled.TryGetValue(journeyId, out var s) == true && s.Trigger is { } signature
        && catalog.FindLatest(journeyId)?.Definition.Trigger is DateTrigger t && Signature(t) != signature;

    // The occurrence of a date trigger (annual: of her local year or a neighbouring one) that fell earlier on her local
    // today, at or before now; else null.
    private DateTimeOffset? PassedToday(DateTrigger t)
    {
        var today = LocalTime.DateOf(now, Zone);
        if (!t.Annual)
        {
            return JourneyClock.FromTrait(p, t.Trait, t.Offset, t.LocalTime, Zone) is { } at && at <= now && LocalTime.DateOf(at, Zone) == today ? at : null;
        }

        foreach (var at in Occurrences(t))
        {
            if (at <= now && LocalTime.DateOf(at, Zone) == today)
            {
                return at;
            }
        }

        return null;
    }

    // Whether an annual occurrence has not fired for her: no firing of the same occurrence (see NextAnnual), and none on
    // the local day it falls on.
    private bool NotFired(DateTimeOffset occurrence, ScheduledTrigger? s) =>
        s is null || ((s.DateFiredAt is not { } f || (occurrence - f).Duration() > SameOccurrence) && s.DateFiredOn != LocalTime.DateOf(occurrence, Zone));

    // Whether the event being handled gave the trait (a string) and is not history.
    // Audit U64: or a journey's updateProfile step wrote it as text while this runner ran (a live write, as an event's is).
    private bool GivenNow(string trait) =>
        (_given.ValueKind == JsonValueKind.Object && RuleHistory.TryGetPath(_given, trait, out var value) && value.ValueKind == JsonValueKind.String)
        || _writtenByStep?.Contains(trait) == true;

    // An annual trigger's instants, year by year around her local year. The offset may move the instant into another year
    // (a week before a 3 January birthday is in December), so the years looked at reach as far as the offset does.
    private IEnumerable<DateTimeOffset> Occurrences(DateTrigger t)
    {
        var year = TimeZoneInfo.ConvertTime(now, Zone).Year;
        var m = t.Offset.Magnitude;
        var span = (int)Math.Min(9999, 2 + (double)m.Years + (m.Months / 12.0) + ((m.Days + m.Time.TotalDays) / 365.0));
        for (var y = Math.Max(1, year - span); y <= Math.Min(9999, year + span); y++)
        {
            DateTimeOffset? at;
            try
            {
                at = JourneyClock.FromTrait(p, t.Trait, t.Offset, t.LocalTime, Zone, y);
            }
            catch (ArgumentOutOfRangeException)
            {
                continue; // that year's instant is beyond the calendar
            }

            if (at is { } a)
            {
                yield return a;
            }
        }
    }

    // An ended entry whose key re-entry "afterCooldown" still refuses: forgetting it would let the key in again at once.
    private bool InCooldown(JourneyEntry entry, JourneyEntryRecord r) =>
        entry.ReEntry == ReEntryPolicy.AfterCooldown && entry.Cooldown is { } c && c.AddTo(r.LastStartedAt) > now;

    // Whether a new key's record can be kept: fewer ended records than the bound, or one of them out of its cooldown.
    private bool HasRoomForEntryRecord(JourneyState state, string journeyId, IsoDuration cooldown)
    {
        var ended = 0;
        foreach (var r in state.Entries)
        {
            if (r.JourneyId != journeyId || r.LastEndedAt is null)
            {
                continue;
            }

            if (cooldown.AddTo(r.LastStartedAt) <= now)
            {
                return true;
            }

            ended++;
        }

        return ended < MaxEntryRecordsPerJourney;
    }

    // The next occurrence after now; with firedAt, not the occurrence that already fired (occurrences are a year apart,
    // the same one moved by a zone or a version is hours or days away from where it fired).
    private DateTimeOffset? NextAnnual(DateTrigger t, DateTimeOffset? firedAt = null, DateOnly? notOn = null)
    {
        foreach (var a in Occurrences(t))
        {
            if (a > now && (firedAt is not { } f || (a - f).Duration() > SameOccurrence) && (notOn is not { } day || LocalTime.DateOf(a, Zone) != day))
            {
                return a;
            }
        }

        return null;
    }

    // `at` is when the trigger happened when there is no event (a birthday, an inactivity deadline, a window's edge): a
    // wake-up that runs late still opens the goal window, and what the first steps listen from, at that instant.
    private async ValueTask TryStartAsync(LoadedJourney journey, CustomerEvent? e, string because, JsonObject? triggerData = null, DateTimeOffset? at = null)
    {
        var d = journey.Definition;
        string? key = null;
        if (d.Entry.CorrelationKey is { } path)
        {
            if (e is null || !RuleHistory.TryGetPath(e.Properties, path, out var value) || value.ValueKind is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null)
            {
                Skip(d.Id, $"the trigger has no '{path}' to correlate on", because, e);
                return;
            }

            key = CorrelationValue(value);

            // An entry stored before numeric ids had one text keeps the number's JSON text ("42.0"): the same cart again is
            // read under that key, so it is still running (or already entered) and does not start a second reminder.
            if (value.ValueKind == JsonValueKind.Number && value.GetRawText() is var raw && raw != key && p.JourneyData is { } held
                && !held.Instances.Exists(i => i.JourneyId == d.Id && i.CorrelationKey == key) && !held.Entries.Exists(r => r.JourneyId == d.Id && r.Key == key)
                && (held.Instances.Exists(i => i.JourneyId == d.Id && i.CorrelationKey == raw) || held.Entries.Exists(r => r.JourneyId == d.Id && r.Key == raw)))
            {
                key = raw;
            }
        }

        var record = p.JourneyData?.Entries.Find(r => r.JourneyId == d.Id && r.Key == key);
        var running = p.JourneyData?.Instances.Where(i => i.JourneyId == d.Id).ToList() ?? [];
        var refusal = d.Entry.ReEntry switch
        {
            ReEntryPolicy.Never when record is not null => "already entered once (re-entry: never)",
            ReEntryPolicy.AfterPreviousEnded when running.Exists(i => i.CorrelationKey == key) => "an instance is still running",
            ReEntryPolicy.AfterCooldown when record is not null && d.Entry.Cooldown is { } c && c.AddTo(record.LastStartedAt) > now => $"in cooldown until {c.AddTo(record.LastStartedAt):u}",
            _ => running.Count >= d.Entry.EffectiveMaxConcurrent ? $"{running.Count} instance(s) running (max {d.Entry.EffectiveMaxConcurrent})" : null,
        };
        // Audit U97: an ended entry's record is what refuses its key again within the cooldown, so one still within it is
        // never dropped to make room (dropping it let the same product or cart message her again the next minute). When
        // every ended record of the journey is still within its cooldown, a new key is refused instead of forgetting one.
        if (refusal is null && record is null && d.Entry.ReEntry == ReEntryPolicy.AfterCooldown && d.Entry.Cooldown is { } cooling
            && p.JourneyData is { } entries && !HasRoomForEntryRecord(entries, d.Id, cooling))
        {
            refusal = $"{MaxEntryRecordsPerJourney} earlier entries are within their cooldown (max {MaxEntryRecordsPerJourney})";
        }

        if (refusal is null && d.Entry.Condition is { } condition && !SegmentEvaluator.Evaluate(MachineEngagement.Hide(condition), Subject(), now).IsMember)
        {
            refusal = "the entry condition does not hold";
        }

        if (refusal is not null)
        {
            Skip(d.Id, refusal, because, e);
            return;
        }

        var state = State;
        if (record is null)
        {
            record = new JourneyEntryRecord { JourneyId = d.Id, Key = key };
            state.Entries.Add(record);
            var mine = state.Entries.Where(r => r.JourneyId == d.Id && r.LastEndedAt is not null).ToList();
            if (mine.Count > MaxEntryRecordsPerJourney && d.Entry.ReEntry != ReEntryPolicy.Never
                && mine.Where(r => !InCooldown(d.Entry, r)).MinBy(r => r.LastStartedAt) is { } oldest)
            {
                state.Entries.Remove(oldest);
            }
        }

        record.LastStartedAt = now;
        record.FirstStartedAt ??= now;
        record.OrderId = e is { Type: EventTypes.OrderPlaced } ? WellKnownProperties.OrderId(p, e.Properties) : null;
        record.LastEndedAt = null;
        var instance = new JourneyInstance
        {
            Id = $"{d.Id}#{++state.NextInstance}",
            OriginProfileId = p.Id,
            JourneyId = d.Id,
            Version = d.Version,
            StepId = d.Steps[0].Id,
            StartedAt = now,
            EventStartedAt = (at ?? e?.Timestamp) is { } happened && happened < now ? happened : now,
            CorrelationKey = key,
            Incarnation = Catalog.IncarnationOf(d.Id) is var incarnation and > 0 ? incarnation : null,
            TriggerEventId = e?.Id,
            TriggerEventType = e?.Type,
            Trigger = triggerData ?? (e is null ? null : Properties(e)),
        };
        if (key is not null)
        {
            instance.Context["correlationKey"] = key;
        }

        state.Instances.Add(instance);
        Count(d.Id, "entered");
        Active(d.Id, 1);
        Timeline(instance, "journey.entered", $"{d.Name} v{d.Version}: {because}{(key is null ? string.Empty : $" ({d.Entry.CorrelationKey} {key})")}");
        // A condition exit that already holds ends her path before its first step: the check after the event's starts
        // came too late for a first step that sends at once.
        if (journey.HasSegmentExits)
        {
            CheckSegmentExits(instance);
            if (!state.Instances.Contains(instance))
            {
                return;
            }
        }

        // Likewise a goal or exit event that arrived before this (back-dated) trigger but happened after it.
        if (EndOnOutcomeSeen(instance, watchGoalOnExit: false))
        {
            return;
        }

        await RunAsync(instance, journey, d.Steps[0].Id, instance.EventStartedAt).ConfigureAwait(false);
    }
}
