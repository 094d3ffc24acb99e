using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

// How instances end and what is checked around them: merges, exits, goals and conversions, versions, conditions; small helpers.
internal sealed partial class JourneyRunner
{
    // Two profiles that both ran a journey became one person: the journey's own entry rules decide which instances go
    // on. The instance that started first continues; the others end with the reason "merged" (no message twice).
    private void ResolveMergedInstances()
    {
        if (p.JourneyData is not { Instances.Count: > 0 } state)
        {
            return;
        }

        foreach (var group in state.Instances.GroupBy(i => i.JourneyId).Where(g => g.Any()).ToList())
        {
            var entry = (Catalog.FindLatest(group.Key) ?? Catalog.Find(group.Key, group.First().Version))?.Definition.Entry;
            if (entry is null)
            {
                continue;
            }

            var kept = new List<JourneyInstance>();
            // A tie (both started at one instant) goes to the lower instance number: the kept profile's, as the merge numbers
            // the absorbed side's instances past it ("#10" < "#9" as text gave it to the absorbed side once hers reached 9).
            foreach (var instance in group.OrderBy(i => i.StartedAt).ThenBy(i => JourneyState.InstanceNumber(i.Id)).ThenBy(i => i.Id, StringComparer.Ordinal))
            {
                var record = state.Entries.Find(r => r.JourneyId == instance.JourneyId && r.Key == instance.CorrelationKey);
                var sameKey = kept.Where(k => k.CorrelationKey == instance.CorrelationKey).ToList();
                var reason = entry.ReEntry switch
                {
                    ReEntryPolicy.Never when sameKey.Count > 0 || (record?.FirstStartedAt is { } first && first < instance.StartedAt) =>
                        "merged: the person already entered this journey (re-entry: never)",
                    ReEntryPolicy.AfterPreviousEnded when sameKey.Count > 0 => "merged: the person already has an instance running",
                    ReEntryPolicy.AfterCooldown when sameKey.Exists(k => entry.Cooldown is not { } c || c.AddTo(k.StartedAt) > instance.StartedAt)
                        || (entry.Cooldown is { } cooldown && state.MergedStarts.Exists(s => s.JourneyId == instance.JourneyId && s.Key == instance.CorrelationKey
                            && s.StartedAt < instance.StartedAt && cooldown.AddTo(s.StartedAt) > instance.StartedAt)) =>
                        "merged: the person's earlier instance started within the cooldown",
                    _ when kept.Count >= entry.EffectiveMaxConcurrent => $"merged: the person already has {kept.Count} instance(s) running (max {entry.EffectiveMaxConcurrent})",
                    _ => null,
                };
                if (reason is null)
                {
                    kept.Add(instance);
                    continue;
                }

                state.Instances.Remove(instance);
                Active(instance.JourneyId, -1);
                state.CancelHeld(instance.Id, reason, now);
                Count(instance.JourneyId, "merged");
                Timeline(instance, "journey.merged", reason);
            }
        }
    }

    // Audit U89: a merge kept the arm she was assigned first. An instance of the other profile still on the steps of the arm
    // she lost would go on sending that arm's content (the arm's message after its delay, or a treatment to a person the
    // split holds out in its control group): it ends with the reason "merged". One that has come back to steps her kept
    // arm also reaches (the arms joined again) goes on: what it sends next is what her arm sends.
    private void EndInstancesInLeftArms()
    {
        if (p.JourneyData is not { } state || (state.LeftArms.Count == 0 && state.LeftHeld.Count == 0))
        {
            return;
        }

        foreach (var (instance, splitId, keptVariant) in state.LeftArms)
        {
            if (!state.Instances.Contains(instance))
            {
                continue; // already ended by the journey's re-entry rules
            }

            if (KeptArmReaches(Catalog.Find(instance.JourneyId, instance.Version), splitId, keptVariant, instance.StepId))
            {
                continue;
            }

            var reason = $"merged: the person is in arm '{keptVariant}' of split '{splitId}'";
            state.Instances.Remove(instance);
            Active(instance.JourneyId, -1);
            state.CancelHeld(instance.Id, reason, now);
            Count(instance.JourneyId, "merged");
            Timeline(instance, "journey.merged", reason);
        }

        // Audit U92: a message planned in the arm she lost and still held (its instance ended after it, or went on to steps
        // the arms share) is withdrawn, unless it is a step her kept arm reaches too. A message already handed to the
        // transport is not in the list.
        foreach (var (held, splitId, keptVariant) in state.LeftHeld)
        {
            if (!state.HeldMessages.Contains(held) || (held.StepId is { } stepId
                && KeptArmReaches(Catalog.Find(held.JourneyId!, held.Version), splitId, keptVariant, stepId)))
            {
                continue;
            }

            state.Withdraw(held, $"merged: the person is in arm '{keptVariant}' of split '{splitId}'", now);
        }

        state.LeftArms.Clear();
        state.LeftHeld.Clear();

        static bool KeptArmReaches(LoadedJourney? journey, string splitId, string keptVariant, string stepId) =>
            journey?.Step(splitId) is SplitStep split && split.Variants.FirstOrDefault(v => v.Name == keptVariant) is { } arm
            && JourneyFlow.Reaches(arm.Next, stepId, journey.Step, journey.After);
    }

    // Latest started first: a remembered goal event credits the entry the live path would (the last touch).
    private void EndOnMergedOutcomes()
    {
        foreach (var instance in p.JourneyData is { Instances.Count: > 0 } state && (state.ExitsSeen.Count > 0 || state.GoalsSeen.Count > 0)
            ? state.Instances.OrderByDescending(i => i.StartedAt).ToArray() : [])
        {
            EndOnOutcomeSeen(instance, watchGoalOnExit: instance.Variant is not null);
        }
    }

    // cancelHeld: whether messages it still holds are cancelled (by default, when it exits without its goal watched).
    private void End(JourneyInstance instance, string kind, string reason, bool watchGoal, bool? cancelHeld = null)
    {
        var state = State;
        state.Instances.Remove(instance);
        Active(instance.JourneyId, -1);
        if (cancelHeld ?? (kind == "exited" && !watchGoal))
        {
            state.CancelHeld(instance.Id, "the journey instance exited: " + reason, now); // an exit criterion, not the journey's own last step
        }

        if (state.Entries.Find(r => r.JourneyId == instance.JourneyId && r.Key == instance.CorrelationKey) is { } record)
        {
            record.LastEndedAt = now;
        }

        if (kind != "converted")
        {
            Count(instance.JourneyId, kind); // a conversion was counted when it was recorded
        }

        if (kind is "exited" or "control")
        {
            Count(instance.JourneyId, $"{kind}:{reason}");
        }

        Timeline(instance, "journey." + kind, reason);
        // Watched a while past the window too: an event from inside it may be uploaded late.
        if (watchGoal && Catalog.Find(instance.JourneyId, instance.Version)?.Definition.Goal is { } goal && goal.Within.AddTo(Since(instance)) is var until && until + LateEventGrace > now)
        {
            state.PendingConversions.Add(new PendingConversion
            {
                JourneyId = instance.JourneyId,
                Version = instance.Version,
                InstanceId = instance.Id,
                StepId = instance.LastStepId,
                Variant = instance.Variant,
                RepeatEntry = instance.RepeatEntry,
                Channel = instance.LastChannel,
                Credits = instance.Credits,
                From = Since(instance),
                CorrelationKey = instance.CorrelationKey,
                Until = until,
            });
        }
    }

    /// <summary>Counters an experiment's verdict subtracts: a person's later entries and their conversions (it counts people).</summary>
    internal const string RepeatEntered = "repeat_entered";

    internal const string RepeatConverted = "repeat_converted";

    /// <summary>Audit U88: the name of an arm's counter (<c>variant:{name}:{what}</c>), as the verdict reads it.</summary>
    internal static string VariantCounter(string variant, string what) => $"variant:{variant}:{what}";

    // `credits`: when each recent step took the credit; a goal event from before the last step ran (uploaded late) is
    // credited to the step that had run by then, not to a message that went out after she had bought (audit U42).
    private void RecordConversion(string journeyId, string instanceId, string? stepId, string? variant, bool repeat, string? channel, List<StepCredit>? credits, CustomerEvent e)
    {
        State.CancelHeld(instanceId, $"the journey's goal was reached ({e.Type})", now);
        Count(journeyId, "converted");
        var at = OutcomeTime(e);
        (stepId, channel) = StepCredit.Credited(credits, stepId, channel, at);
        if (stepId is not null)
        {
            Count(journeyId, $"step:{stepId}:converted");
        }

        // For the experiment a person is her first entry: a later entry's conversion counts for it only inside that
        // entry's goal window (which it then closes, once per person), else it is taken off with no arm revenue.
        // By the goal's time (an order's update at the order's first time), as the first entry's own path reads it.
        var measured = !repeat;
        if (variant is not null)
        {
            Count(journeyId, $"variant:{variant}:converted");
            if (repeat && State.PendingConversions.Find(c => c.JourneyId == journeyId && !c.RepeatEntry && c.Variant == variant
                    && at <= c.Until && (c.From is not { } from || at >= from)) is { } first)
            {
                State.PendingConversions.Remove(first);
                measured = true;
            }
            else if (repeat && _firstEntriesReached?.Remove(journeyId + "|" + variant) == true)
            {
                measured = true; // her first entry, still running, reached its goal too (ended as credited to this one)
            }
            else if (repeat)
            {
                Count(journeyId, $"variant:{variant}:{RepeatConverted}");
            }
        }

        Measurement.MeasurementRecorder.JourneyRevenue(p, journeyId, measured ? variant : null, e, now, services.Measurement, services.Currency);

        if (channel is not null)
        {
            Count(journeyId, $"channel:{channel}:converted");
        }

        // Named with the profile that records it: a merge keeps both profiles' entries, and each numbered its own instances
        // from one (both had a "welcome#1" that converted), so the instance alone named two conversions.
        ProfileCore.AddTimeline(p, new TimelineEntry($"{p.Id}:{instanceId}:{journeyId}:converted", "journey.converted", channel ?? "journey", now,
            $"{journeyId} ({instanceId}) converted by {e.Type} {e.Id}; last step {stepId ?? "-"}, variant {variant ?? "-"}, channel {channel ?? "-"}"), services.TimelineLength);
        Activity.Add((journeyId, "converted"));
    }

    // Ends the instance when its version is gone, or a newer version removed the step it is on.
    private LoadedJourney? CheckVersion(JourneyInstance instance)
    {
        var journey = Catalog.Find(instance.JourneyId, instance.Version);
        var latest = Catalog.FindLatest(instance.JourneyId);
        string? reason = null;
        if (latest is null)
        {
            reason = NotLoadedReason;
            NotLoaded.Add(instance.JourneyId);
        }
        else if (Catalog.IsStale(instance))
        {
            // Removed and published again under the same id (the visit at removal missed her): the content may differ.
            reason = "the journey was removed while it ran; it does not resume on what was published since";
            journey = null; // as an unloaded journey: its held messages are withdrawn
        }
        else if (journey is null)
        {
            reason = $"version {instance.Version} is no longer loaded";
        }
        else if (Catalog.FirstNewerWithout(instance.JourneyId, instance.Version, instance.StepId) is { } dropped)
        {
            // Any newer version without the step, not only the latest: a visit the publish skipped (cancelled, or still
            // running in the background on a cluster) must not let a later version that adds the step back resume her.
            reason = $"version {dropped.Definition.Version} removed step '{instance.StepId}'";
        }

        if (reason is null)
        {
            return journey;
        }

        // A newer version that dropped the step she waits on ends her path there; a message an earlier step already
        // sent (held for quiet hours) stays sent. An unloaded journey withdraws its held messages.
        End(instance, "exited", reason, watchGoal: false, cancelHeld: latest is null || journey is null);
        return null;
    }

    private void CheckSegmentExits(JourneyInstance? only = null)
    {
        if (p.JourneyData is null)
        {
            return;
        }

        SegmentSubject? subject = null;
        foreach (var instance in only is null ? State.Instances.ToArray() : [only])
        {
            if (Catalog.Find(instance.JourneyId, instance.Version) is not { HasSegmentExits: true } journey)
            {
                continue;
            }

            instance.ExitCheckAt = null;
            foreach (var exit in journey.Definition.Exit.OfType<SegmentExitCriterion>())
            {
                var result = SegmentEvaluator.Evaluate(MachineEngagement.Hide(exit.Condition), subject ??= Subject(), now);
                if (result.IsMember)
                {
                    // An A/B arm is measured for its goal from entry to the window's end whatever happens, as the
                    // hold-out is: an exit that stopped the watch in one arm only would bias the verdict.
                    End(instance, "exited", "exit criterion: a profile condition holds", watchGoal: instance.Variant is not null, cancelHeld: true);
                    break;
                }

                if (result.NextCheckAt is { } next && next > now)
                {
                    instance.ExitCheckAt = Min(instance.ExitCheckAt, next);
                }
            }
        }
    }

    private bool Holds(JourneyCondition condition, JourneyInstance instance) => condition switch
    {
        ProfileCondition c => SegmentEvaluator.Evaluate(MachineEngagement.Hide(c.Rule), Subject(), now).IsMember,
        TriggerCondition c => ConditionMatcher.Matches(c.Condition, Lookup(instance.Trigger, c.Path), now),
        ContextCondition c => ConditionMatcher.Matches(c.Condition, Lookup(instance.Context, c.Path), now),
        AllCondition c => c.Conditions.All(x => Holds(x, instance)),
        AnyCondition c => c.Conditions.Any(x => Holds(x, instance)),
        NotCondition c => !Holds(c.Condition, instance),
        _ => false,
    };

    private bool Matches(string eventType, IReadOnlyList<PropertyCondition> where, CustomerEvent e) =>
        MatchesEvent(eventType, where, e) && !(_asArrived is { } heard && ReferenceEquals(e, _placed) && MatchesEvent(eventType, where, heard));

    private bool MatchesEvent(string eventType, IReadOnlyList<PropertyCondition> where, CustomerEvent e)
    {
        // Audit U82: a machine's open or click answers only a criterion that names `machine`.
        if (e.Type != eventType || MachineEngagement.HiddenFrom(where, e))
        {
            return false;
        }

        foreach (var w in where)
        {
            var value = RuleHistory.ReadPath(e.Properties, w.Property);
            if (!ConditionMatcher.Matches(MachineEngagement.ConditionOn(e.Type, w), value, now)) // `machine eq false` is her report (review U82)
            {
                return false;
            }
        }

        return true;
    }

    // An instance started for one order (cart…) is not moved by events that name another one.
    private static bool Correlates(JourneyInstance instance, JourneyDefinition d, CustomerEvent e) => Correlates(instance.CorrelationKey, d, e);

    private static bool Correlates(string? key, JourneyDefinition d, CustomerEvent e)
    {
        if (d.Entry.CorrelationKey is not { } path || key is null || !RuleHistory.TryGetPath(e.Properties, path, out var value))
        {
            return true;
        }

        // Or the number's JSON text as written: the key of an entry stored before numeric ids had one text (cart 42.0 kept
        // as "42.0"), which the same client names so again.
        return CorrelationValue(value) == key || (value.ValueKind == JsonValueKind.Number && value.GetRawText() == key);
    }

    private static string CorrelationValue(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.ValueKind == JsonValueKind.Number ? NumericKey.Text(value) : value.GetRawText();

    // Audit U74: read as a `where` reads an event (RuleHistory.ReadPath): a name of digits indexes a list, and a path
    // through a list of objects reaches each element's value (a branch on the trigger's products.category).
    private static RuleValue Lookup(JsonObject? o, string path)
    {
        if (o is null)
        {
            return RuleValue.Missing;
        }

        JsonNode? current = o;
        foreach (var part in path.Split('.'))
        {
            if (current is JsonArray)
            {
                return RuleHistory.ReadPath(JsonSerializer.SerializeToElement(o), path);
            }

            if (current is not JsonObject obj || !obj.TryGetPropertyValue(part, out current))
            {
                return RuleValue.Missing;
            }
        }

        return RuleValue.FromNode(current);
    }

    private static JsonObject Properties(CustomerEvent e) =>
        e.Properties.ValueKind == JsonValueKind.Object ? JsonNode.Parse(e.Properties.GetRawText())!.AsObject() : [];

    private static string? Next(LoadedJourney journey, ContinuingStep step) => step.Next ?? journey.After(step.Id);

    private static string MessageKey(JourneyInstance instance, string stepId) =>
        $"j:{instance.OriginProfileId}:{instance.Id}:{stepId}:{instance.Sequence.ToString(CultureInfo.InvariantCulture)}";

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a < b ? a : b);

    private TimeZoneInfo Zone => DeliveryPlanner.ZoneOf(p, services.Delivery);

    private SegmentSubject Subject() => new(p, p.RuleHistory, p.IsInSegment, services.Delivery.DefaultTimeZone);

    private void Count(string journeyId, string counter)
    {
        State.Count(journeyId, counter);
        Measurement.MeasurementRecorder.Journey(p, journeyId, counter, 1, now, services.Measurement); // the same counter in the store's aggregates
    }

    private void Active(string journeyId, long by) => Measurement.MeasurementRecorder.Journey(p, journeyId, "active", by, now, services.Measurement);

    /// <summary>
    /// A refused entry: counted, and put on the profile's timeline as <c>journey.entry_refused</c> with its reason and
    /// its trigger, so "why did she not get the reminder?" is answered on the profile.
    /// </summary>
    private void Skip(string journeyId, string reason, string because, CustomerEvent? e)
    {
        var id = $"{p.Id}:{journeyId}:entry_refused:{e?.Id ?? because}:{now.UtcTicks}";
        ProfileCore.AddTimeline(p, new TimelineEntry(id, "journey.entry_refused", "journey", now, $"{journeyId}: entry refused: {reason} (trigger: {because})"), services.TimelineLength);
        Activity.Add((journeyId, "entry_refused"));
        Count(journeyId, "entry_refused");
    }

    private void Timeline(JourneyInstance instance, string type, string summary, string? channel = null)
    {
        ProfileCore.AddTimeline(p, new TimelineEntry($"{instance.OriginProfileId}:{instance.Id}:{instance.Sequence}:{type}:{now.UtcTicks}", type, channel ?? "journey", now,
            $"{instance.JourneyId}: {summary}"), services.TimelineLength);
        Activity.Add((instance.JourneyId, type));
    }

    private void Finish()
    {
        WithdrawHeldOfRemovedJourneys();
        WithdrawHeldOnConditionExits();
        FreeCapSlotsOfWithdrawn();
        if (p.JourneyData is { IsEmpty: true })
        {
            p.JourneyData = null;
        }
    }
}
