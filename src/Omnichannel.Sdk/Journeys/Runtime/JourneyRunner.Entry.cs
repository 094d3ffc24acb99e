using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

// Entering journeys: date triggers scheduled from traits, and the entry rules an instance must pass to start.
internal sealed partial class JourneyRunner
{
    // A trait change (re)schedules; otherwise only journeys not yet scheduled for the profile (newly published) are looked at.
    private void ScheduleDates(bool onlyUnscheduled = false)
    {
        foreach (var j in Catalog.Dated)
        {
            if (onlyUnscheduled && p.JourneyData?.Scheduled.ContainsKey(j.Id) == true)
            {
                continue;
            }

            var t = (DateTrigger)j.Definition.Trigger;
            var basis = JourneyClock.Basis(p, t.Trait);
            if (basis is null)
            {
                p.JourneyData?.Scheduled.Remove(j.Id);
                continue;
            }

            var zone = Zone.Id;
            if (p.JourneyData?.Scheduled.TryGetValue(j.Id, out var existing) == true && existing.Basis == basis)
            {
                if (existing.Zone == zone || existing.Zone is null)
                {
                    existing.Zone ??= zone;
                    continue;
                }

                // Same date, new zone: the local time is another instant; a one-off that already fired stays fired.
                var moved = t.Annual ? NextAnnual(t) : existing.FiredBasis == basis ? null : JourneyClock.FromTrait(p, t.Trait, t.Offset, t.LocalTime, Zone);
                existing.DueAt = moved is { } m && m > now ? m : DateTimeOffset.MaxValue;
                existing.Zone = zone;
                continue;
            }

            // A new value (re)schedules; a one-off time already past is not fired late.
            var at = t.Annual ? NextAnnual(t) : JourneyClock.FromTrait(p, t.Trait, t.Offset, t.LocalTime, Zone);
            State.Scheduled[j.Id] = new ScheduledTrigger { Basis = basis, Zone = zone, DueAt = at is { } a && a > now ? a : DateTimeOffset.MaxValue };
        }
    }

    private DateTimeOffset? NextAnnual(DateTrigger t)
    {
        // The offset may move the instant into another year (a week before a 3 January birthday is in December), so the
        // years looked at reach as far as the offset does, either way.
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

            if (at is { } a && a > now)
            {
                return a;
            }
        }

        return null;
    }

    private async ValueTask TryStartAsync(LoadedJourney journey, CustomerEvent? e, string because, JsonObject? triggerData = null)
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
        if (refusal is null && d.Entry.Condition is { } condition && !SegmentEvaluator.Evaluate(condition, Subject(), now).IsMember)
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
            if (mine.Count > MaxEntryRecordsPerJourney && d.Entry.ReEntry != ReEntryPolicy.Never)
            {
                state.Entries.Remove(mine.MinBy(r => r.LastStartedAt)!);
            }
        }

        record.LastStartedAt = now;
        record.FirstStartedAt ??= now;
        record.LastEndedAt = null;
        var instance = new JourneyInstance
        {
            Id = $"{d.Id}#{++state.NextInstance}",
            OriginProfileId = p.Id,
            JourneyId = d.Id,
            Version = d.Version,
            StepId = d.Steps[0].Id,
            StartedAt = now,
            EventStartedAt = e is not null && e.Timestamp < now ? e.Timestamp : now,
            CorrelationKey = key,
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
        await RunAsync(instance, journey, d.Steps[0].Id, instance.EventStartedAt).ConfigureAwait(false);
    }
}
