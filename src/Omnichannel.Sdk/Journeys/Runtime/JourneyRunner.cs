using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Journeys;

/// <summary>What the engine lends the journey runner: catalogs, settings and the delivery pipeline.</summary>
internal sealed class JourneyServices
{
    public required SegmentCatalog Segments { get; init; }

    public required JourneyCatalog Journeys { get; init; }

    public required int TimelineLength { get; init; }

    /// <summary><see cref="OmnichannelOptions.Currency"/>.</summary>
    public string? Currency { get; init; }

    public required DeliveryOptions Delivery { get; init; }

    /// <summary>Runs a message through the delivery policies and renders it; the outbox entry is written with the commit.</summary>
    public required Func<CustomerProfile, MessageRequest, DateTimeOffset, CancellationToken, ValueTask<(SendResult Result, OutboxEntry? Entry)>> Plan { get; init; }

    /// <summary>Measurement settings (conversion revenue of journey goals).</summary>
    public Measurement.MeasurementOptions Measurement { get; init; } = new();

    /// <summary>Whether a transport is registered for a channel.</summary>
    public required Func<string, bool> HasTransport { get; init; }
}

/// <summary>
/// Runs journeys for one profile inside one unit of work (an event, a wake-up): starts instances, moves them through
/// their steps until each waits or ends, and records everything on the profile. Everything it does is committed with
/// the profile at once; messages go to the outbox in the same commit. No I/O of its own.
/// </summary>
internal sealed class JourneyRunner(CustomerProfile p, JourneyServices services, DateTimeOffset now, CancellationToken cancellationToken)
{
    /// <summary>Steps an instance may run in one go without waiting (a guard against loops with no wait in them).</summary>
    internal const int MaxStepsWithoutWaiting = 100;

    private const int MaxEntryRecordsPerJourney = 200;
    private const int MaxEmitDepth = 4;

    private readonly Queue<CustomerEvent> _emitted = new();
    private bool _traitsChanged = true;

    /// <summary>Messages, webhooks and host events to write to the outbox with the commit.</summary>
    public List<OutboxEntry> Outbox { get; } = [];

    /// <summary>Segment transitions caused by the journeys (profile updates, emitted events).</summary>
    public List<SegmentChange> Changes { get; } = [];

    /// <summary>What happened, for metrics and logs: (journey, what).</summary>
    public List<(string JourneyId, string What)> Activity { get; } = [];

    private JourneyCatalog Catalog => services.Journeys;

    private JourneyState State => p.JourneyData ??= new();

    /// <summary>An event was applied to the profile (and segments re-evaluated, giving <paramref name="changes"/>).</summary>
    /// <param name="e">The event.</param>
    /// <param name="changes">The segment transitions it caused.</param>
    /// <param name="merged">Whether profiles were merged by it (traits may then have changed without the event naming them).</param>
    public async ValueTask OnEventAsync(CustomerEvent e, IReadOnlyList<SegmentChange> changes, bool merged = false)
    {
        if (Catalog.IsEmpty && p.JourneyData is null)
        {
            return;
        }

        // A time zone learned late moves local-time date triggers, as a trait change does.
        _traitsChanged = merged || e.Traits.ValueKind == JsonValueKind.Object || !string.IsNullOrWhiteSpace(e.Context?.TimeZone);
        if (merged)
        {
            ResolveMergedInstances();
        }

        await RunDueAsync().ConfigureAwait(false);
        await HandleEventAsync(e, changes).ConfigureAwait(false);
        await DrainEmittedAsync().ConfigureAwait(false);
        Finish();
    }

    /// <summary>Time passed (the profile's wake-up), with the segment transitions it caused.</summary>
    public async ValueTask OnWakeAsync(IReadOnlyList<SegmentChange> changes)
    {
        if (Catalog.IsEmpty && p.JourneyData is null)
        {
            return;
        }

        await RunDueAsync().ConfigureAwait(false);
        await StartFromSegmentsAsync(changes).ConfigureAwait(false);
        await DrainEmittedAsync().ConfigureAwait(false);
        Finish();
    }

    /// <summary>The earliest instant something journey-related is due for the profile.</summary>
    public static DateTimeOffset? NextWake(CustomerProfile p)
    {
        if (p.JourneyData is not { } s)
        {
            return null;
        }

        DateTimeOffset? min = null;
        void Consider(DateTimeOffset? at)
        {
            if (at is { } a && a != DateTimeOffset.MaxValue && (min is not { } m || a < m))
            {
                min = a;
            }
        }

        foreach (var i in s.Instances)
        {
            Consider(i.WakeAt);
            Consider(i.ExitCheckAt);
        }

        foreach (var t in s.Scheduled.Values)
        {
            Consider(t.DueAt);
        }

        return min;
    }

    /// <summary>A stable variant bucket in [0, total) from the profile and journey ids: the same customer, the same variant.</summary>
    internal static int Bucket(string profileId, string journeyId, string stepId, int total)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(profileId + "\n" + journeyId + "\n" + stepId), digest);
        return (int)(BitConverter.ToUInt64(digest) % (ulong)total);
    }

    private async ValueTask HandleEventAsync(CustomerEvent e, IReadOnlyList<SegmentChange> changes)
    {
        // Conversions of instances that already ended.
        var state = p.JourneyData;
        if (state is { PendingConversions.Count: > 0 })
        {
            await ConvertPendingAsync(state, e).ConfigureAwait(false);
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

            if (d.Goal is { } goal && Matches(goal.EventType, goal.Where, e) && now <= goal.Within.AddTo(instance.StartedAt))
            {
                RecordConversion(d.Id, instance.Id, instance.LastStepId, instance.Variant, instance.LastChannel, e);
                End(instance, "converted", $"converted by {e.Type}", watchGoal: false);
                continue;
            }

            if (d.Exit.OfType<EventExitCriterion>().FirstOrDefault(x => Matches(x.EventType, x.Where, e)) is { } exit)
            {
                End(instance, "exited", $"exit criterion: {exit.EventType}", watchGoal: false);
                continue;
            }

            if (journey.Step(instance.StepId) is WaitForEventStep wait && instance.WakeAt is not null
                && wait.Branches.FirstOrDefault(b => Matches(b.EventType, b.Where, e)) is { } branch)
            {
                instance.Context["event"] = Properties(e);
                instance.Context["eventType"] = e.Type;
                Count(d.Id, $"step:{wait.Id}:matched");
                if (branch.Next is null)
                {
                    instance.WakeAt = wait.Timeout.AddTo(now); // restart on match: keep waiting, from now
                    Timeline(instance, "journey.wait_restarted", $"{e.Type} matched; waiting again until {instance.WakeAt:u}");
                    continue;
                }

                Timeline(instance, "journey.event_matched", $"{wait.Id}: {e.Type} → {branch.Next}");
                await RunAsync(instance, journey, branch.Next).ConfigureAwait(false);
            }
        }

        // Inactivity clocks.
        foreach (var j in Catalog.InactivityConcerning(e.Type))
        {
            var t = (InactivityTrigger)j.Definition.Trigger;
            if (t.NoEventTypes.Contains(e.Type))
            {
                State.Scheduled.Remove(j.Id);
            }
            else if (t.AfterEventType == e.Type)
            {
                State.Scheduled[j.Id] = new ScheduledTrigger { DueAt = t.Within.AddTo(e.Timestamp < now ? e.Timestamp : now), Basis = e.Id };
            }
        }

        ScheduleDates(onlyUnscheduled: !_traitsChanged);

        await StartFromSegmentsAsync(changes).ConfigureAwait(false);
        foreach (var j in Catalog.TriggeredBy(e.Type))
        {
            var t = (EventTrigger)j.Definition.Trigger;
            if (Matches(t.EventType, t.Where, e))
            {
                await TryStartAsync(j, e, $"event {e.Type}").ConfigureAwait(false);
            }
        }

        CheckSegmentExits();
    }

    private ValueTask ConvertPendingAsync(JourneyState state, CustomerEvent e)
    {
        state.PendingConversions.RemoveAll(c => c.Until < now);
        foreach (var pending in state.PendingConversions.ToList())
        {
            if (Catalog.Find(pending.JourneyId, pending.Version)?.Definition.Goal is { } goal && Matches(goal.EventType, goal.Where, e))
            {
                state.PendingConversions.Remove(pending);
                RecordConversion(pending.JourneyId, pending.InstanceId, pending.StepId, pending.Variant, pending.Channel, e);
            }
        }

        return ValueTask.CompletedTask;
    }

    private async ValueTask StartFromSegmentsAsync(IReadOnlyList<SegmentChange> changes)
    {
        foreach (var c in changes)
        {
            foreach (var j in Catalog.TriggeredBySegment(c.SegmentId))
            {
                if (((SegmentTrigger)j.Definition.Trigger).On == (c.Entered ? SegmentTransition.Entered : SegmentTransition.Exited))
                {
                    await TryStartAsync(j, null, $"{(c.Entered ? "entered" : "left")} segment {c.SegmentId}").ConfigureAwait(false);
                }
            }
        }

        if (changes.Count > 0)
        {
            CheckSegmentExits();
        }
    }

    // Runs everything due at or before now, earliest first, each at its turn.
    private async ValueTask RunDueAsync()
    {
        if (p.JourneyData is not { } state)
        {
            return;
        }

        if (state.Instances.Exists(i => Catalog.Find(i.JourneyId, i.Version) is not { } j || j.IsSuperseded(i.StepId, Catalog)))
        {
            foreach (var instance in state.Instances.ToArray())
            {
                if (state.Instances.Contains(instance))
                {
                    CheckVersion(instance);
                }
            }
        }

        if (NextWake(p) is not { } next || next > now)
        {
            return;
        }

        for (var guard = 0; guard < 10_000; guard++)
        {
            var instance = State.Instances.Where(i => i.WakeAt <= now || i.ExitCheckAt <= now).MinBy(i => Min(i.WakeAt, i.ExitCheckAt));
            var trigger = State.Scheduled.Where(kv => kv.Value.DueAt <= now).OrderBy(kv => kv.Value.DueAt).FirstOrDefault();
            if (instance is null && trigger.Key is null)
            {
                return;
            }

            if (instance is not null && (trigger.Key is null || Min(instance.WakeAt, instance.ExitCheckAt) <= trigger.Value.DueAt))
            {
                await WakeAsync(instance).ConfigureAwait(false);
            }
            else
            {
                await FireScheduledAsync(trigger.Key!, trigger.Value).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask WakeAsync(JourneyInstance instance)
    {
        if (instance.ExitCheckAt <= now)
        {
            instance.ExitCheckAt = null;
            CheckSegmentExits(instance);
            if (!State.Instances.Contains(instance))
            {
                return;
            }
        }

        if (instance.WakeAt is not { } at || at > now)
        {
            return;
        }

        instance.WakeAt = null;
        if (Catalog.Find(instance.JourneyId, instance.Version) is not { } journey)
        {
            return; // CheckVersion already ended it
        }

        switch (journey.Step(instance.StepId))
        {
            case WaitForEventStep wait:
                Count(journey.Id, $"step:{wait.Id}:timed_out");
                Timeline(instance, "journey.timed_out", $"{wait.Id}: no awaited event within {wait.Timeout}");
                await RunAsync(instance, journey, wait.TimeoutNext ?? journey.After(wait.Id)).ConfigureAwait(false);
                break;
            case ContinuingStep delay:
                await RunAsync(instance, journey, Next(journey, delay)).ConfigureAwait(false);
                break;
            default:
                End(instance, "exited", $"woke on step '{instance.StepId}', which does not wait", watchGoal: false);
                break;
        }
    }

    private async ValueTask FireScheduledAsync(string journeyId, ScheduledTrigger scheduled)
    {
        var journey = Catalog.FindLatest(journeyId);
        switch (journey?.Definition.Trigger)
        {
            case DateTrigger t:
                scheduled.FiredBasis = scheduled.Basis;
                scheduled.DueAt = t.Annual ? NextAnnual(t) ?? DateTimeOffset.MaxValue : DateTimeOffset.MaxValue;
                var trigger = new JsonObject { ["trait"] = t.Trait, ["value"] = p.TryGetTrait(t.Trait, out var v) ? JsonNode.Parse(v.GetRawText()) : null };
                await TryStartAsync(journey, null, $"date {t.Trait} {t.Offset} at {t.LocalTime:HH:mm}", trigger).ConfigureAwait(false);
                break;
            case InactivityTrigger t:
                State.Scheduled.Remove(journeyId);
                await TryStartAsync(journey, null, $"no {string.Join("/", t.NoEventTypes)} within {t.Within} after {t.AfterEventType}", new JsonObject { ["afterEvent"] = t.AfterEventType }).ConfigureAwait(false);
                break;
            default:
                State.Scheduled.Remove(journeyId); // the journey was removed or its trigger changed
                break;
        }
    }

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
        var year = TimeZoneInfo.ConvertTime(now, Zone).Year;
        for (var y = year - 1; y <= year + 1; y++)
        {
            if (JourneyClock.FromTrait(p, t.Trait, t.Offset, t.LocalTime, Zone, y) is { } at && at > now)
            {
                return at;
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
        await RunAsync(instance, journey, d.Steps[0].Id).ConfigureAwait(false);
    }

    // Moves the instance from `stepId` until it waits or ends.
    private async ValueTask RunAsync(JourneyInstance instance, LoadedJourney journey, string? stepId)
    {
        for (var steps = 0; ; steps++)
        {
            if (stepId is null)
            {
                End(instance, "completed", "completed", watchGoal: true);
                return;
            }

            if (steps >= MaxStepsWithoutWaiting)
            {
                End(instance, "exited", $"ran {MaxStepsWithoutWaiting} steps without waiting (a loop with no wait?)", watchGoal: false);
                return;
            }

            var step = journey.Step(stepId)!;
            using var activity = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.JourneyStep);
            activity?.SetTag("omnichannel.journey.id", journey.Id);
            activity?.SetTag("omnichannel.journey.version", journey.Definition.Version);
            activity?.SetTag("omnichannel.journey.step", step.Id);
            instance.StepId = step.Id;
            instance.Sequence++;
            instance.WakeAt = null;
            Count(journey.Id, $"step:{step.Id}:entered");
            switch (step)
            {
                case SendStep send:
                    await SendAsync(instance, journey, send).ConfigureAwait(false);
                    stepId = Next(journey, send);
                    break;
                case DelayStep delay:
                    Wait(instance, delay.Duration.AddTo(now));
                    return;
                case DelayUntilLocalTimeStep local:
                    Wait(instance, JourneyClock.NextLocalTime(now, Zone, local.LocalTime, local.Days));
                    return;
                case DelayUntilDateTraitStep dated:
                    var until = JourneyClock.FromTrait(p, dated.Trait, dated.Offset, dated.LocalTime, Zone);
                    if (until is { } u && u > now)
                    {
                        Wait(instance, u);
                        return;
                    }

                    Timeline(instance, "journey.step", $"{dated.Id}: {(until is null ? $"no date in '{dated.Trait}'" : "the date has passed")}; going on");
                    stepId = Next(journey, dated);
                    break;
                case WaitForEventStep wait:
                    Wait(instance, wait.Timeout.AddTo(now));
                    return;
                case BranchStep branch:
                    var target = branch.Branches.FirstOrDefault(b => Holds(b.Condition, instance))?.Next;
                    stepId = target ?? branch.Else ?? journey.After(branch.Id);
                    Count(journey.Id, $"step:{branch.Id}:to:{stepId ?? "end"}");
                    Timeline(instance, "journey.branched", $"{branch.Id} → {stepId ?? "end"}{(target is null ? " (else)" : string.Empty)}");
                    break;
                case SplitStep split:
                    var variant = Assign(instance, split);
                    instance.Variant = variant?.Name ?? "control";
                    instance.Context["variant"] = instance.Variant;
                    Count(journey.Id, $"variant:{instance.Variant}:entered");
                    Timeline(instance, "journey.split", $"{split.Id}: variant {instance.Variant}");
                    if (variant is null)
                    {
                        instance.LastStepId = split.Id;
                        End(instance, "control", "held out in the control group", watchGoal: true);
                        return;
                    }

                    stepId = variant.Next;
                    break;
                case UpdateProfileStep update:
                    UpdateProfile(instance, update);
                    stepId = Next(journey, update);
                    break;
                case EmitStep emit:
                    Emit(instance, emit);
                    stepId = Next(journey, emit);
                    break;
                case WebhookStep webhook:
                    Webhook(instance, webhook);
                    stepId = Next(journey, webhook);
                    break;
                case ExitStep exit:
                    instance.LastStepId ??= exit.Id;
                    End(instance, "exited", exit.Reason ?? $"exit step {exit.Id}", watchGoal: true);
                    return;
                default:
                    End(instance, "exited", $"unknown step type {step.GetType().Name}", watchGoal: false);
                    return;
            }
        }
    }

    private void Wait(JourneyInstance instance, DateTimeOffset until)
    {
        instance.WakeAt = until;
        Timeline(instance, "journey.waiting", $"{instance.StepId}: until {until:u}");
    }

    private async ValueTask SendAsync(JourneyInstance instance, LoadedJourney journey, SendStep send)
    {
        var data = new JsonObject
        {
            ["journeyId"] = journey.Id,
            ["version"] = journey.Definition.Version,
            ["journeyName"] = journey.Definition.Name,
            ["step"] = send.Id,
            ["instance"] = instance.Id,
            ["variant"] = instance.Variant,
            ["trigger"] = instance.Trigger?.DeepClone(),
            ["context"] = instance.Context.DeepClone(),
        };
        var request = new MessageRequest
        {
            Key = MessageKey(instance, send.Id),
            Channels = PreferredFirst(send.Channels),
            TemplateId = send.TemplateId,
            Topic = send.Topic,
            Class = send.Class,
            Data = data,
        };
        var (result, entry) = await services.Plan(p, request, now, cancellationToken).ConfigureAwait(false);
        if (entry is not null)
        {
            Outbox.Add(entry);

            // Until it is sent (or fails), a goal or an exit can still cancel it: it may wait for quiet hours or a retry.
            State.HeldMessages.Add(new HeldMessage { Key = entry.MessageKey, InstanceId = instance.Id, DueAt = entry.DueAt });
        }

        instance.LastStepId = send.Id;
        switch (result.Status)
        {
            case SendStatus.Queued:
                instance.LastChannel = result.Channel;
                Count(journey.Id, $"step:{send.Id}:sent");
                Count(journey.Id, $"step:{send.Id}:channel:{result.Channel}");
                Timeline(instance, "journey.sent", $"{send.Id}: {send.TemplateId} on {result.Channel}{(result.DueAt > now ? $" at {result.DueAt:u}" : string.Empty)}", result.Channel);
                break;
            case SendStatus.Skipped:
                Count(journey.Id, $"step:{send.Id}:skipped");
                Timeline(instance, "journey.skipped", $"{send.Id}: {result.Reason}");
                break;
            default:
                Timeline(instance, "journey.step", $"{send.Id}: {result.Status} ({result.Reason})");
                break;
        }
    }

    // The customer's own channel preference comes first; the journey's order decides among the rest.
    private IReadOnlyList<string> PreferredFirst(IReadOnlyList<string> channels)
    {
        if (p.Preferences?.PreferredChannels is not { Count: > 0 } preferred)
        {
            return channels;
        }

        return [.. channels.OrderBy(c => preferred.Contains(c) ? preferred.ToList().IndexOf(c) : int.MaxValue)];
    }

    private SplitVariant? Assign(JourneyInstance instance, SplitStep split)
    {
        // The person's earlier assignment stands (also one made on a profile merged into this one).
        var key = instance.JourneyId + "|" + split.Id;
        if (State.Assignments.TryGetValue(key, out var known))
        {
            if (known.Variant == "control" && split.ControlWeight is > 0)
            {
                return null;
            }

            if (split.Variants.FirstOrDefault(v => v.Name == known.Variant) is { } same)
            {
                return same;
            }
        }

        var drawn = Draw(instance, split);
        State.Assignments[key] = new VariantAssignment { Variant = drawn?.Name ?? "control", At = now };
        return drawn;
    }

    private static SplitVariant? Draw(JourneyInstance instance, SplitStep split)
    {
        var total = split.Variants.Sum(v => v.Weight) + (split.ControlWeight ?? 0);
        var bucket = Bucket(instance.OriginProfileId, instance.JourneyId, split.Id, total);
        foreach (var v in split.Variants)
        {
            if (bucket < v.Weight)
            {
                return v;
            }

            bucket -= v.Weight;
        }

        return null;
    }

    private void UpdateProfile(JourneyInstance instance, UpdateProfileStep update)
    {
        foreach (var u in update.Updates)
        {
            switch (u.Kind)
            {
                case TraitUpdateKind.Set:
                    ProfileCore.SetTrait(p, u.Trait, JsonSerializer.SerializeToElement(u.Value), now);
                    break;
                case TraitUpdateKind.Unset:
                    ProfileCore.SetTrait(p, u.Trait, JsonSerializer.SerializeToElement<JsonNode?>(null), now);
                    break;
                case TraitUpdateKind.Increment:
                    // A customer's trait may hold any JSON number: beyond decimal it stays as it is (adding to 1e300
                    // changes nothing), and a sum past decimal's range saturates, so the step never fails.
                    var current = 0m;
                    if (p.TryGetTrait(u.Trait, out var v) && v.ValueKind == JsonValueKind.Number && !v.TryGetDecimal(out current))
                    {
                        break;
                    }

                    var by = u.Value!.GetValue<decimal>();
                    var sum = by > 0 && current > decimal.MaxValue - by ? decimal.MaxValue
                        : by < 0 && current < decimal.MinValue - by ? decimal.MinValue
                        : current + by;
                    ProfileCore.SetTrait(p, u.Trait, JsonSerializer.SerializeToElement(sum), now);
                    break;
            }
        }

        Timeline(instance, "journey.profile_updated", $"{update.Id}: {string.Join(", ", update.Updates.Select(u => $"{u.Kind.ToString().ToLowerInvariant()} {u.Trait}"))}");
        var all = services.Segments.Segments.Select(s => s.Id).ToList();
        Changes.AddRange(SegmentRuntime.Reevaluate(p, services.Segments, all, now, services.TimelineLength));
        ScheduleDates();
    }

    private void Emit(JourneyInstance instance, EmitStep emit)
    {
        var key = MessageKey(instance, emit.Id);
        var properties = emit.Properties?.DeepClone().AsObject() ?? [];
        properties["journey_id"] = instance.JourneyId;
        properties["journey_instance"] = instance.Id;
        properties["journey_step"] = emit.Id;
        var e = new CustomerEvent
        {
            Id = key,
            Type = emit.EventType,
            Timestamp = now,
            Identifiers = [],
            Channel = "journey",
            Properties = JsonSerializer.SerializeToElement(properties),
        };
        _emitted.Enqueue(e);
        Timeline(instance, "journey.emitted", $"{emit.Id}: {emit.EventType}");
        if (services.HasTransport(ChannelNames.Host))
        {
            AddSystemMessage(new HostEventMessage { MessageId = key, ProfileId = p.Id, EventType = emit.EventType, Payload = e.Properties }, ChannelNames.Host, "host");
        }
    }

    private void Webhook(JourneyInstance instance, WebhookStep webhook)
    {
        if (!services.HasTransport(ChannelNames.Webhook))
        {
            Count(instance.JourneyId, $"step:{webhook.Id}:skipped");
            Timeline(instance, "journey.skipped", $"{webhook.Id}: no webhook transport is registered");
            return;
        }

        var payload = new JsonObject
        {
            ["profileId"] = p.Id,
            ["journeyId"] = instance.JourneyId,
            ["version"] = instance.Version,
            ["instance"] = instance.Id,
            ["step"] = webhook.Id,
            ["variant"] = instance.Variant,
            ["trigger"] = instance.Trigger?.DeepClone(),
            ["context"] = instance.Context.DeepClone(),
        };
        JsonElement body;
        if (webhook.Payload is { } template)
        {
            try
            {
                var part = LiquidEngine.TryParseJson(webhook.Id, template, out var error) ?? throw new FormatException(error);
                var data = LiquidData.Build(new RenderContext { Profile = p, Journey = payload.ToDictionary(kv => kv.Key, kv => (object?)kv.Value?.DeepClone()), Now = now }, now, null, null);
                body = JsonDocument.Parse(LiquidEngine.Render(part, data, RenderBudget.Default with { MaxSteps = 10_000 }, cancellationToken)).RootElement.Clone();
            }
            catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException or LiquidRenderException)
            {
                Count(instance.JourneyId, $"step:{webhook.Id}:skipped");
                Timeline(instance, "journey.skipped", $"{webhook.Id}: the payload could not be rendered as JSON: {ex.Message}");
                return;
            }
        }
        else
        {
            body = JsonSerializer.SerializeToElement(payload);
        }

        AddSystemMessage(new WebhookMessage { MessageId = MessageKey(instance, webhook.Id), ProfileId = p.Id, Url = new Uri(webhook.Url), EventType = "journey.webhook", Payload = body }, ChannelNames.Webhook, webhook.Url);
        Count(instance.JourneyId, $"step:{webhook.Id}:sent");
        Timeline(instance, "journey.webhook", $"{webhook.Id}: {webhook.Url}");
    }

    private void AddSystemMessage(OutboundMessage message, string channel, string address)
    {
        if (p.MessageKeys.Contains(message.MessageId))
        {
            return;
        }

        p.MessageKeys.Add(message.MessageId);
        Outbox.Add(new OutboxEntry
        {
            MessageKey = message.MessageId,
            ProfileId = p.Id,
            DueAt = now,
            Payload = new OutboxPayload(message.MessageId, p.Id, null, MessageClass.Transactional, [OutboxPayload.Candidate(channel, address, message)]) { TraceParent = System.Diagnostics.Activity.Current?.Id }.Serialize(),
        });
    }

    private async ValueTask DrainEmittedAsync()
    {
        for (var depth = 0; _emitted.Count > 0; depth++)
        {
            var batch = _emitted.ToList();
            _emitted.Clear();
            if (depth >= MaxEmitDepth)
            {
                break; // journeys emitting events that start journeys that emit…: stop rather than loop
            }

            foreach (var e in batch)
            {
                ProfileCore.Apply(p, e, services.TimelineLength, services.Currency);
                var changes = SegmentRuntime.OnEvent(p, e, services.Segments, now, everything: false, services.TimelineLength);
                Changes.AddRange(changes);
                await HandleEventAsync(e, changes).ConfigureAwait(false);
            }
        }
    }

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
            foreach (var instance in group.OrderBy(i => i.StartedAt).ThenBy(i => i.Id, StringComparer.Ordinal))
            {
                var record = state.Entries.Find(r => r.JourneyId == instance.JourneyId && r.Key == instance.CorrelationKey);
                var sameKey = kept.Where(k => k.CorrelationKey == instance.CorrelationKey).ToList();
                var reason = entry.ReEntry switch
                {
                    ReEntryPolicy.Never when sameKey.Count > 0 || (record?.FirstStartedAt is { } first && first < instance.StartedAt) =>
                        "merged: the person already entered this journey (re-entry: never)",
                    ReEntryPolicy.AfterPreviousEnded when sameKey.Count > 0 => "merged: the person already has an instance running",
                    ReEntryPolicy.AfterCooldown when sameKey.Exists(k => entry.Cooldown is not { } c || c.AddTo(k.StartedAt) > instance.StartedAt) =>
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

    private void End(JourneyInstance instance, string kind, string reason, bool watchGoal)
    {
        var state = State;
        state.Instances.Remove(instance);
        Active(instance.JourneyId, -1);
        if (kind == "exited" && !watchGoal)
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
        if (watchGoal && Catalog.Find(instance.JourneyId, instance.Version)?.Definition.Goal is { } goal && goal.Within.AddTo(instance.StartedAt) is var until && until > now)
        {
            state.PendingConversions.Add(new PendingConversion
            {
                JourneyId = instance.JourneyId,
                Version = instance.Version,
                InstanceId = instance.Id,
                StepId = instance.LastStepId,
                Variant = instance.Variant,
                Channel = instance.LastChannel,
                Until = until,
            });
        }
    }

    private void RecordConversion(string journeyId, string instanceId, string? stepId, string? variant, string? channel, CustomerEvent e)
    {
        State.CancelHeld(instanceId, $"the journey's goal was reached ({e.Type})", now);
        Count(journeyId, "converted");
        if (stepId is not null)
        {
            Count(journeyId, $"step:{stepId}:converted");
        }

        if (variant is not null)
        {
            Count(journeyId, $"variant:{variant}:converted");
        }

        Measurement.MeasurementRecorder.JourneyRevenue(p, journeyId, variant, e, now, services.Measurement);

        if (channel is not null)
        {
            Count(journeyId, $"channel:{channel}:converted");
        }

        ProfileCore.AddTimeline(p, new TimelineEntry($"{instanceId}:{journeyId}:converted", "journey.converted", channel ?? "journey", now,
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
            reason = "the journey is no longer loaded";
        }
        else if (journey is null)
        {
            reason = $"version {instance.Version} is no longer loaded";
        }
        else if (latest.Definition.Version > instance.Version && !latest.HasStep(instance.StepId))
        {
            reason = $"version {latest.Definition.Version} removed step '{instance.StepId}'";
        }

        if (reason is null)
        {
            return journey;
        }

        End(instance, "exited", reason, watchGoal: false);
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
                var result = SegmentEvaluator.Evaluate(exit.Condition, subject ??= Subject(), now);
                if (result.IsMember)
                {
                    End(instance, "exited", "exit criterion: a profile condition holds", watchGoal: false);
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
        ProfileCondition c => SegmentEvaluator.Evaluate(c.Rule, Subject(), now).IsMember,
        TriggerCondition c => ConditionMatcher.Matches(c.Condition, RuleValue.FromNode(Lookup(instance.Trigger, c.Path)), now),
        ContextCondition c => ConditionMatcher.Matches(c.Condition, RuleValue.FromNode(Lookup(instance.Context, c.Path)), now),
        AllCondition c => c.Conditions.All(x => Holds(x, instance)),
        AnyCondition c => c.Conditions.Any(x => Holds(x, instance)),
        NotCondition c => !Holds(c.Condition, instance),
        _ => false,
    };

    private bool Matches(string eventType, IReadOnlyList<PropertyCondition> where, CustomerEvent e)
    {
        if (e.Type != eventType)
        {
            return false;
        }

        foreach (var w in where)
        {
            var value = RuleHistory.TryGetPath(e.Properties, w.Property, out var v) ? RuleValue.FromElement(v) : RuleValue.Missing;
            if (!ConditionMatcher.Matches(w.Condition, value, now))
            {
                return false;
            }
        }

        return true;
    }

    // An instance started for one order (cart…) is not moved by events that name another one.
    private static bool Correlates(JourneyInstance instance, JourneyDefinition d, CustomerEvent e)
    {
        if (d.Entry.CorrelationKey is not { } path || instance.CorrelationKey is null || !RuleHistory.TryGetPath(e.Properties, path, out var value))
        {
            return true;
        }

        return CorrelationValue(value) == instance.CorrelationKey;
    }

    private static string CorrelationValue(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    private static JsonNode? Lookup(JsonObject? o, string path)
    {
        JsonNode? current = o;
        foreach (var part in path.Split('.'))
        {
            if (current is not JsonObject obj || !obj.TryGetPropertyValue(part, out current))
            {
                return null;
            }
        }

        return current;
    }

    private static JsonObject Properties(CustomerEvent e) =>
        e.Properties.ValueKind == JsonValueKind.Object ? JsonNode.Parse(e.Properties.GetRawText())!.AsObject() : [];

    private static string? Next(LoadedJourney journey, ContinuingStep step) => step.Next ?? journey.After(step.Id);

    private static string MessageKey(JourneyInstance instance, string stepId) =>
        $"j:{instance.OriginProfileId}:{instance.Id}:{stepId}:{instance.Sequence.ToString(CultureInfo.InvariantCulture)}";

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a < b ? a : b);

    private TimeZoneInfo Zone => DeliveryPlanner.ZoneOf(p, services.Delivery);

    private SegmentSubject Subject() => new(p, p.RuleHistory, id => p.SegmentMemberships.ContainsKey(id), services.Delivery.DefaultTimeZone);

    private void Count(string journeyId, string counter)
    {
        State.Count(journeyId, counter);
        Measurement.MeasurementRecorder.Journey(p, journeyId, counter, 1, now); // the same counter in the store's aggregates
    }

    private void Active(string journeyId, long by) => Measurement.MeasurementRecorder.Journey(p, journeyId, "active", by, now);

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
        if (p.JourneyData is { IsEmpty: true })
        {
            p.JourneyData = null;
        }
    }
}
