using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Journeys;

// Moving an instance through its steps: waits, sends, splits, profile updates, emitted events and webhooks.
internal sealed partial class JourneyRunner
{
    // Moves the instance from `stepId` until it waits or ends; `movedAt` is the event time of what moves it (its trigger
    // event, the wake-up's instant, a matched event), from which a wait-for-event reached now listens.
    private async ValueTask RunAsync(JourneyInstance instance, LoadedJourney journey, string? stepId, DateTimeOffset? movedAt = null)
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
                    // A move of zone counts from here at the earliest. Audit U107: a run moved on at the instant her
                    // clock first showed this time (a recurring wait's wake-up, even one that ran late) began its wait
                    // then: the time was reached, so a fall-back night's second pass of it is not waited for again.
                    instance.WaitingSince = movedAt is { } reachedAt && reachedAt < now && JourneyClock.IsFirstPass(reachedAt, Zone, local.LocalTime) ? reachedAt : now;
                    Wait(instance, JourneyClock.NextLocalTime(now, Zone, local.LocalTime, local.Days, instance.WaitingSince));
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
                    instance.WaitingSince = movedAt is { } m && m < now ? m : now;
                    Wait(instance, wait.Timeout.AddTo(now));
                    return;
                case BranchStep branch:
                    var target = branch.Branches.FirstOrDefault(b => Holds(b.Condition, instance))?.Next;
                    stepId = target ?? branch.Else ?? journey.After(branch.Id);
                    Count(journey.Id, $"step:{branch.Id}:to:{stepId ?? "end"}");
                    Timeline(instance, "journey.branched", $"{branch.Id} → {stepId ?? "end"}{(target is null ? " (else)" : string.Empty)}");
                    break;
                case SplitStep split:
                    var variant = Assign(instance, split, out var repeat);
                    instance.Variant = variant?.Name ?? "control";
                    (instance.Arms ??= new(StringComparer.Ordinal))[split.Id] = instance.Variant;
                    instance.RepeatEntry = repeat;
                    instance.Context["variant"] = instance.Variant;
                    Count(journey.Id, $"variant:{instance.Variant}:entered");
                    if (repeat)
                    {
                        // The verdict counts people: it takes her later entries off the arm's entrants.
                        Count(journey.Id, $"variant:{instance.Variant}:{RepeatEntered}");
                    }
                    Timeline(instance, "journey.split", $"{split.Id}: variant {instance.Variant}");
                    if (variant is null)
                    {
                        instance.LastStepId = split.Id;
                        Credit(instance, journey);
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
                    if (instance.LastStepId is null)
                    {
                        instance.LastStepId = exit.Id;
                        Credit(instance, journey);
                    }

                    End(instance, "exited", exit.Reason ?? $"exit step {exit.Id}", watchGoal: true);
                    return;
                default:
                    End(instance, "exited", $"unknown step type {step.GetType().Name}", watchGoal: false);
                    return;
            }
        }
    }

    // Notes when the step it credits from now on took over (the goal's time picks the one that had run by then). Only
    // journeys with a goal: nothing else reads it.
    private void Credit(JourneyInstance instance, LoadedJourney journey)
    {
        if (journey.Definition.Goal is null || instance.LastStepId is not { } stepId)
        {
            return;
        }

        var credits = instance.Credits ??= [];
        credits.Add(new StepCredit { StepId = stepId, Channel = instance.LastChannel, At = now });
        if (credits.Count > StepCredit.MaxKept)
        {
            credits.RemoveAt(0);
        }
    }

    // The event that started the instance, as a message's template reads it (`event`); none for segment and date triggers.
    private static JsonObject? TriggerEvent(JourneyInstance instance) =>
        instance is { TriggerEventId: { } id, TriggerEventType: { } type }
            ? new JsonObject { ["id"] = id, ["type"] = type, ["timestamp"] = instance.EventStartedAt ?? instance.StartedAt }
            : null;

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
            ["triggerEvent"] = TriggerEvent(instance),
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
            State.HeldMessages.Add(new HeldMessage
            {
                Key = entry.MessageKey,
                InstanceId = instance.Id,
                DueAt = entry.DueAt,
                JourneyId = instance.JourneyId,
                Version = instance.Version,
                From = Since(instance),
                CorrelationKey = instance.CorrelationKey,
                StepId = send.Id,
                Arms = instance.Arms is { } arms ? new(arms, StringComparer.Ordinal) : null,
            });
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

        Credit(instance, journey);
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

    private SplitVariant? Assign(JourneyInstance instance, SplitStep split, out bool repeat)
    {
        // The person's earlier assignment stands (also one made on a profile merged into this one).
        var key = instance.JourneyId + "|" + split.Id;
        // An earlier assignment (even of a variant since removed) means the experiment has counted her already.
        repeat = false;
        if (State.Assignments.TryGetValue(key, out var known))
        {
            repeat = true;
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
                    ProfileCore.SetTrait(p, u.Trait, JsonSerializer.SerializeToElement(u.Value), now, maxTraits: services.MaxTraits);
                    if (u.Value is JsonValue text && text.GetValueKind() == JsonValueKind.String)
                    {
                        (_writtenByStep ??= new(StringComparer.Ordinal)).Add(u.Trait);
                    }

                    break;
                case TraitUpdateKind.Unset:
                    ProfileCore.SetTrait(p, u.Trait, JsonSerializer.SerializeToElement<JsonNode?>(null), now, maxTraits: services.MaxTraits);
                    break;
                case TraitUpdateKind.Increment:
                    // A customer's trait may hold any JSON number: beyond decimal it stays as it is (adding to 1e300
                    // changes nothing), and a sum past decimal's range saturates, so the step never fails. A number
                    // sent as text ("100" typed into a form) is its number, read as the profile's statistics read one
                    // (NumberText), not a missing 0 that replaced her 100 with 1; any other value (text that is no
                    // number, a boolean, a list) is not a count and stays as it is. Only a missing trait counts as 0.
                    var current = 0m;
                    if (p.TryGetTrait(u.Trait, out var v) && !(v.ValueKind == JsonValueKind.Number ? v.TryGetDecimal(out current)
                        : v.ValueKind == JsonValueKind.String && NumberText.TryParseDecimal(v.GetString(), out current)))
                    {
                        break;
                    }

                    var by = u.Value!.GetValue<decimal>();
                    var sum = by > 0 && current > decimal.MaxValue - by ? decimal.MaxValue
                        : by < 0 && current < decimal.MinValue - by ? decimal.MinValue
                        : current + by;
                    ProfileCore.SetTrait(p, u.Trait, JsonSerializer.SerializeToElement(sum), now, maxTraits: services.MaxTraits);
                    break;
            }
        }

        Timeline(instance, "journey.profile_updated", $"{update.Id}: {string.Join(", ", update.Updates.Select(u => $"{u.Kind.ToString().ToLowerInvariant()} {u.Trait}"))}");
        var all = services.Segments.Segments.Select(s => s.Id).ToList();
        var changes = SegmentRuntime.Reevaluate(p, services.Segments, all, now, services.TimelineLength);
        Changes.AddRange(changes);

        // What the write changes is acted on as a tracked trait would be, once the steps running now have stopped (see
        // DrainEmittedAsync): the segment journeys it starts, and the condition exits it makes true (of any instance).
        _updatedChanges.AddRange(changes);
        _profileUpdated = true;
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
            ["triggerEvent"] = TriggerEvent(instance),
            ["context"] = instance.Context.DeepClone(),
        };
        JsonElement body;
        if (webhook.Payload is { } template)
        {
            try
            {
                var part = LiquidEngine.TryParseJson(webhook.Id, template, out var error) ?? throw new FormatException(error);
                var data = LiquidData.Build(new RenderContext { Profile = p, Event = Templates.TemplateMessageRenderer.TriggerEventOf(payload), Journey = payload.ToDictionary(kv => kv.Key, kv => (object?)kv.Value?.DeepClone()), Now = now }, now, null, null);
                body = JsonDocument.Parse(LiquidEngine.Render(part, data, now, RenderBudget.Default with { MaxSteps = 10_000 }, cancellationToken)).RootElement.Clone();
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
            Channel = channel,
            Payload = new OutboxPayload(message.MessageId, p.Id, null, MessageClass.Transactional, [OutboxPayload.Candidate(channel, address, message)]) { TraceParent = System.Diagnostics.Activity.Current?.Id }.Serialize(),
        });
    }

    // Events the journeys emitted, and the profile writes of their updateProfile steps, each acted on as if tracked: an
    // emitted event runs through segments and journeys; a write starts the journeys of the segments it moved her into
    // or out of and ends instances whose condition exit it made true (a trait the host sets does both).
    private async ValueTask DrainEmittedAsync()
    {
        for (var depth = 0; _emitted.Count > 0 || _profileUpdated || _lateDates; depth++)
        {
            if (_lateDates)
            {
                _lateDates = false;
                await RunDueAsync().ConfigureAwait(false); // a date a step wrote late on its local day (audit U64)
            }

            var batch = _emitted.ToList();
            _emitted.Clear();
            var updated = _updatedChanges.ToList();
            var exitsToCheck = _profileUpdated;
            _updatedChanges.Clear();
            _profileUpdated = false;
            if (depth >= MaxEmitDepth)
            {
                break; // journeys emitting events (or writing traits) that start journeys that emit…: stop rather than loop
            }

            foreach (var e in batch)
            {
                ProfileCore.Apply(p, e, services.TimelineLength, services.Currency, hers: false, maxTraits: services.MaxTraits); // the journey's event, not her activity
                var changes = SegmentRuntime.OnEvent(p, e, services.Segments, now, everything: false, services.TimelineLength, out var byTime);
                Changes.AddRange(changes);
                await HandleEventAsync(e, changes, byTime).ConfigureAwait(false);
            }

            if (exitsToCheck)
            {
                await StartFromSegmentsAsync(updated).ConfigureAwait(false);
                CheckSegmentExits(); // also when no segment moved: a condition exit reads traits directly

                // And a wait until a date in a trait follows the write, as it follows the host's (audit U42: a trial
                // extended by another journey's step still sent "your trial ends tomorrow" on the old date).
                if (MoveLocalWaits(now, datesOnly: true))
                {
                    await RunDueAsync().ConfigureAwait(false);
                }
            }
        }
    }
}
