using System.Text.Json;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

/// <summary>Writes the canonical JSON form: keys in a fixed order, defaults and absent parts left out.</summary>
internal static class JourneyJsonWriter
{
    public static void Write(Utf8JsonWriter w, JourneyDefinition d)
    {
        w.WriteStartObject();
        w.WriteString("id", d.Id);
        w.WriteNumber("version", d.Version);
        w.WriteString("name", d.Name);
        if (d.Description is not null)
        {
            w.WriteString("description", d.Description);
        }

        w.WritePropertyName("trigger");
        WriteTrigger(w, d.Trigger);
        if (d.Entry is { } entry && entry != JourneyEntry.Default)
        {
            WriteEntry(w, entry);
        }

        if (d.Exit is { Count: > 0 })
        {
            w.WriteStartArray("exit");
            foreach (var exit in d.Exit)
            {
                w.WriteStartObject();
                switch (exit)
                {
                    case EventExitCriterion e:
                        w.WriteString("event", e.EventType);
                        EmbeddedSegmentRules.WriteWhere(w, e.Where);
                        break;
                    case SegmentExitCriterion s:
                        w.WritePropertyName("condition");
                        EmbeddedSegmentRules.WriteRule(w, s.Condition);
                        break;
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (d.Goal is { } goal)
        {
            w.WriteStartObject("goal");
            w.WriteString("event", goal.EventType);
            EmbeddedSegmentRules.WriteWhere(w, goal.Where);
            w.WriteString("within", goal.Within.ToString());
            w.WriteEndObject();
        }

        w.WriteStartArray("steps");
        foreach (var step in d.Steps ?? [])
        {
            WriteStep(w, step);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteEntry(Utf8JsonWriter w, JourneyEntry entry)
    {
        w.WriteStartObject("entry");
        if (entry.ReEntry != ReEntryPolicy.AfterPreviousEnded)
        {
            w.WriteString("reEntry", entry.ReEntry.Name());
        }

        if (entry.Cooldown is { } cooldown)
        {
            w.WriteString("cooldown", cooldown.ToString());
        }

        if (entry.MaxConcurrent is { } max)
        {
            w.WriteNumber("maxConcurrent", max);
        }

        if (entry.CorrelationKey is not null)
        {
            w.WriteString("correlationKey", entry.CorrelationKey);
        }

        if (entry.Condition is not null)
        {
            w.WritePropertyName("condition");
            EmbeddedSegmentRules.WriteRule(w, entry.Condition);
        }

        w.WriteEndObject();
    }

    // Written only when it is not the default: a definition written before maxAge existed reads back the same.
    private static void WriteMaxAge(Utf8JsonWriter w, IsoDuration? maxAge)
    {
        if (maxAge is not { } age)
        {
            w.WriteNull("maxAge");
        }
        else if (age != EventTrigger.DefaultMaxAge)
        {
            w.WriteString("maxAge", age.ToString());
        }
    }

    private static void WriteTrigger(Utf8JsonWriter w, JourneyTrigger trigger)
    {
        w.WriteStartObject();
        switch (trigger)
        {
            case EventTrigger e:
                w.WriteString("type", "event");
                w.WriteString("event", e.EventType);
                EmbeddedSegmentRules.WriteWhere(w, e.Where);
                WriteMaxAge(w, e.MaxAge);
                break;
            case SegmentTrigger s:
                w.WriteString("type", "segment");
                w.WriteString("segment", s.SegmentId);
                w.WriteString("on", s.On.Name());
                WriteMaxAge(w, s.MaxAge);
                break;
            case DateTrigger date:
                w.WriteString("type", "date");
                w.WriteString("trait", date.Trait);
                w.WriteString("offset", date.Offset.ToString());
                w.WriteString("localTime", JourneyNames.LocalTime(date.LocalTime));
                if (date.Annual)
                {
                    w.WriteBoolean("annual", true);
                }

                break;
            case InactivityTrigger inactive:
                w.WriteString("type", "inactivity");
                w.WriteString("afterEvent", inactive.AfterEventType);
                w.WriteStartArray("noEvent");
                foreach (var type in inactive.NoEventTypes)
                {
                    w.WriteStringValue(type);
                }

                w.WriteEndArray();
                w.WriteString("within", inactive.Within.ToString());
                WriteMaxAge(w, inactive.MaxAge);
                break;
        }

        w.WriteEndObject();
    }

    private static void WriteStep(Utf8JsonWriter w, JourneyStep step)
    {
        w.WriteStartObject();
        w.WriteString("id", step.Id);
        w.WriteString("type", JourneyNames.StepType(step));
        switch (step)
        {
            case SendStep send:
                w.WriteStartArray("channels");
                foreach (var channel in send.Channels)
                {
                    w.WriteStringValue(channel);
                }

                w.WriteEndArray();
                w.WriteString("template", send.TemplateId);
                if (send.Topic is not null)
                {
                    w.WriteString("topic", send.Topic);
                }

                w.WriteString("class", send.Class.Name());
                break;
            case DelayStep delay:
                w.WriteString("duration", delay.Duration.ToString());
                break;
            case DelayUntilLocalTimeStep local:
                w.WriteString("localTime", JourneyNames.LocalTime(local.LocalTime));
                if (local.Days is { Count: > 0 })
                {
                    w.WriteStartArray("days");
                    foreach (var day in local.Days)
                    {
                        w.WriteStringValue(day.Name());
                    }

                    w.WriteEndArray();
                }

                break;
            case DelayUntilDateTraitStep date:
                w.WriteString("trait", date.Trait);
                w.WriteString("offset", date.Offset.ToString());
                if (date.LocalTime is { } time)
                {
                    w.WriteString("localTime", JourneyNames.LocalTime(time));
                }

                break;
            case WaitForEventStep wait:
                w.WriteStartArray("branches");
                foreach (var b in wait.Branches)
                {
                    w.WriteStartObject();
                    w.WriteString("event", b.EventType);
                    EmbeddedSegmentRules.WriteWhere(w, b.Where);
                    if (b.Next is not null)
                    {
                        w.WriteString("next", b.Next);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteString("timeout", wait.Timeout.ToString());
                if (wait.TimeoutNext is not null)
                {
                    w.WriteString("timeoutNext", wait.TimeoutNext);
                }

                if (wait.RestartOnMatch)
                {
                    w.WriteBoolean("restartOnMatch", true);
                }

                break;
            case BranchStep branch:
                w.WriteStartArray("branches");
                foreach (var b in branch.Branches)
                {
                    w.WriteStartObject();
                    w.WritePropertyName("condition");
                    WriteCondition(w, b.Condition);
                    w.WriteString("next", b.Next);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                if (branch.Else is not null)
                {
                    w.WriteString("else", branch.Else);
                }

                break;
            case SplitStep split:
                w.WriteStartArray("variants");
                foreach (var v in split.Variants)
                {
                    w.WriteStartObject();
                    w.WriteString("name", v.Name);
                    w.WriteNumber("weight", v.Weight);
                    w.WriteString("next", v.Next);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                if (split.ControlWeight is { } control)
                {
                    w.WriteNumber("controlWeight", control);
                }

                break;
            case UpdateProfileStep update:
                WriteUpdates(w, update.Updates);
                break;
            case EmitStep emit:
                w.WriteString("event", emit.EventType);
                if (emit.Properties is not null)
                {
                    w.WritePropertyName("properties");
                    emit.Properties.WriteTo(w);
                }

                break;
            case WebhookStep hook:
                w.WriteString("url", hook.Url);
                if (hook.Payload is not null)
                {
                    w.WriteString("payload", hook.Payload);
                }

                break;
            case ExitStep exit:
                if (exit.Reason is not null)
                {
                    w.WriteString("reason", exit.Reason);
                }

                break;
        }

        if (step is ContinuingStep { Next: { } next })
        {
            w.WriteString("next", next);
        }

        w.WriteEndObject();
    }

    private static void WriteUpdates(Utf8JsonWriter w, IReadOnlyList<TraitUpdate> updates)
    {
        if (updates.Any(u => u.Kind == TraitUpdateKind.Set))
        {
            w.WriteStartObject("set");
            foreach (var u in updates.Where(u => u.Kind == TraitUpdateKind.Set))
            {
                w.WritePropertyName(u.Trait);
                if (u.Value is null)
                {
                    w.WriteNullValue();
                }
                else
                {
                    u.Value.WriteTo(w);
                }
            }

            w.WriteEndObject();
        }

        if (updates.Any(u => u.Kind == TraitUpdateKind.Unset))
        {
            w.WriteStartArray("unset");
            foreach (var u in updates.Where(u => u.Kind == TraitUpdateKind.Unset))
            {
                w.WriteStringValue(u.Trait);
            }

            w.WriteEndArray();
        }

        if (updates.Any(u => u.Kind == TraitUpdateKind.Increment))
        {
            w.WriteStartObject("increment");
            foreach (var u in updates.Where(u => u.Kind == TraitUpdateKind.Increment))
            {
                w.WritePropertyName(u.Trait);
                if (u.Value is null)
                {
                    w.WriteNullValue();
                }
                else
                {
                    u.Value.WriteTo(w);
                }
            }

            w.WriteEndObject();
        }
    }

    internal static void WriteCondition(Utf8JsonWriter w, JourneyCondition condition)
    {
        switch (condition)
        {
            case ProfileCondition p:
                EmbeddedSegmentRules.WriteRule(w, p.Rule);
                break;
            case TriggerCondition t:
                WriteLeaf(w, "trigger", t.Path, t.Condition);
                break;
            case ContextCondition c:
                WriteLeaf(w, "context", c.Path, c.Condition);
                break;
            case AllCondition all:
                WriteChildren(w, "all", all.Conditions);
                break;
            case AnyCondition any:
                WriteChildren(w, "any", any.Conditions);
                break;
            case NotCondition not:
                w.WriteStartObject();
                w.WritePropertyName("not");
                WriteCondition(w, not.Condition);
                w.WriteEndObject();
                break;
        }
    }

    private static void WriteChildren(Utf8JsonWriter w, string key, IReadOnlyList<JourneyCondition> children)
    {
        w.WriteStartObject();
        w.WriteStartArray(key);
        foreach (var c in children)
        {
            WriteCondition(w, c);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteLeaf(Utf8JsonWriter w, string key, string path, Condition condition)
    {
        w.WriteStartObject();
        w.WriteString(key, path);
        w.WriteString("op", condition.Op.Name());
        if (condition.Value is not null)
        {
            w.WritePropertyName("value");
            condition.Value.WriteTo(w);
        }

        w.WriteEndObject();
    }
}
