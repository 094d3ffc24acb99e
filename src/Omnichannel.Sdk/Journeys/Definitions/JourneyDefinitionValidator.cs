using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// Checks a journey definition (built in C# or read from JSON) and reports every error with the JSON path it would
/// have in the definition's JSON form: the header, trigger, entry rules, exit criteria, goal, each step, and the flow
/// between steps (duplicate ids, targets that do not exist, unreachable steps, loops that never wait).
/// </summary>
/// <remarks>
/// An unreachable step is an error, not a warning: nothing can ever run it, and in a definition edited by tools it is
/// almost always an edge that was deleted by mistake. A loop is only accepted when it passes a <c>delay</c>,
/// <c>delayUntilLocalTime</c> or <c>waitForEvent</c> step; a <c>delayUntilDateTrait</c> goes on at once once its date
/// is past, so it does not count.
/// </remarks>
public static partial class JourneyDefinitionValidator
{
    /// <summary>The largest sum of a split step's weights, control included: 1,000,000.</summary>
    public const int MaxSplitWeight = 1_000_000;

    /// <summary>The most steps a journey may have: 1,000 (the flow checks walk the steps depth-first).</summary>
    public const int MaxSteps = 1_000;

    /// <summary>
    /// The longest journey id, step id and <c>send</c> template id, in characters: 200. Each becomes a dimension of the
    /// journey's measurement rows, which are cut at <see cref="Measurement.MeasurementKey.MaxLength"/> (a longer id's
    /// statistics were read under the whole id and found none, and two ids alike in their first 200 characters shared
    /// counters), and the journey and step ids go into every message key, which a store indexes (at most 2,000 bytes).
    /// </summary>
    public const int MaxIdLength = 200;

    /// <summary>Checks <paramref name="definition"/>; returns every error (empty when valid).</summary>
    /// <param name="definition">The definition.</param>
    public static IReadOnlyList<DefinitionError> Validate(JourneyDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new List<DefinitionError>();
        Validate(definition, "$", errors);
        return DefinitionError.Sort(errors);
    }

    internal static void Validate(JourneyDefinition d, string path, List<DefinitionError> errors)
    {
        if (d.Id is { } id && SegmentNames.IdTooLong(id, MaxIdLength) is { } tooLong)
        {
            errors.Add(new(JsonPath.Key(path, "id"), tooLong));
        }
        else if (string.IsNullOrEmpty(d.Id) || !SegmentNames.SegmentId().IsMatch(d.Id))
        {
            errors.Add(new(JsonPath.Key(path, "id"), $"'{d.Id}' is not a valid journey id (expected lower-kebab or lower_snake, e.g. 'abandoned-cart')"));
        }

        if (d.Version < 1)
        {
            errors.Add(new(JsonPath.Key(path, "version"), $"{d.Version} is not a valid version (expected an integer of 1 or more)"));
        }

        if (string.IsNullOrWhiteSpace(d.Name))
        {
            errors.Add(new(JsonPath.Key(path, "name"), "is required: a display name such as 'Abandoned cart'"));
        }

        ValidateTrigger(d.Trigger, JsonPath.Key(path, "trigger"), errors);
        ValidateEntry(d.Entry, d.Trigger, JsonPath.Key(path, "entry"), errors);
        ValidateExit(d.Exit, JsonPath.Key(path, "exit"), errors);
        if (d.Goal is { } goal)
        {
            var at = JsonPath.Key(path, "goal");
            EventType(goal.EventType, JsonPath.Key(at, "event"), errors);
            EmbeddedSegmentRules.ValidateWhere(goal.Where, JsonPath.Key(at, "where"), errors);
            if (goal.Within.IsZero)
            {
                errors.Add(new(JsonPath.Key(at, "within"), "a zero conversion window can never be met (expected a positive duration such as P7D)"));
            }
        }

        var stepsPath = JsonPath.Key(path, "steps");
        if (d.Steps is null || d.Steps.Count == 0)
        {
            errors.Add(new(stepsPath, "is required: at least one step"));
            return;
        }

        if (d.Steps.Count > MaxSteps)
        {
            errors.Add(new(stepsPath, $"has {d.Steps.Count} steps; a journey may have at most {MaxSteps}"));
            return;
        }

        for (var i = 0; i < d.Steps.Count; i++)
        {
            ValidateStep(d.Steps[i], JsonPath.Index(stepsPath, i), errors);
        }

        JourneyFlow.Validate(d.Steps, stepsPath, errors);
    }

    private static void MaxAge(IsoDuration? maxAge, string path, List<DefinitionError> errors)
    {
        if (maxAge is { IsZero: true })
        {
            errors.Add(new(JsonPath.Key(path, "maxAge"), "must be longer than zero (null for no limit), e.g. \"P1D\""));
        }
    }

    private static void ValidateTrigger(JourneyTrigger? trigger, string path, List<DefinitionError> errors)
    {
        switch (trigger)
        {
            case null:
                errors.Add(new(path, "is required: what starts the journey ({\"type\": \"event\", \"event\": \"cart.item_added\"})"));
                break;
            case EventTrigger e:
                EventType(e.EventType, JsonPath.Key(path, "event"), errors);
                EmbeddedSegmentRules.ValidateWhere(e.Where, JsonPath.Key(path, "where"), errors);
                MaxAge(e.MaxAge, path, errors);
                break;
            case SegmentTrigger s:
                // No segment can have a longer id: said so here, not as a segment not loaded (review of audit U65).
                if (s.SegmentId is { } segmentId && SegmentNames.IdTooLong(segmentId, SegmentDefinitionValidator.MaxIdLength) is { } tooLong)
                {
                    errors.Add(new(JsonPath.Key(path, "segment"), tooLong));
                }
                else if (string.IsNullOrEmpty(s.SegmentId) || !SegmentNames.SegmentId().IsMatch(s.SegmentId))
                {
                    errors.Add(new(JsonPath.Key(path, "segment"), $"'{s.SegmentId}' is not a valid segment id (expected lower-kebab or lower_snake)"));
                }

                if (!Enum.IsDefined(s.On))
                {
                    errors.Add(new(JsonPath.Key(path, "on"), "expected entered or exited"));
                }

                MaxAge(s.MaxAge, path, errors);
                break;
            case DateTrigger date:
                DottedPath(date.Trait, JsonPath.Key(path, "trait"), "trait path", errors);
                WholeSeconds(date.LocalTime, JsonPath.Key(path, "localTime"), errors);
                break;
            case InactivityTrigger inactive:
                EventType(inactive.AfterEventType, JsonPath.Key(path, "afterEvent"), errors);
                var noPath = JsonPath.Key(path, "noEvent");
                if (inactive.NoEventTypes is not { Count: > 0 })
                {
                    errors.Add(new(noPath, "is required: at least one event type whose absence fires the trigger, e.g. [\"order.placed\"]"));
                }
                else
                {
                    for (var i = 0; i < inactive.NoEventTypes.Count; i++)
                    {
                        EventType(inactive.NoEventTypes[i], JsonPath.Index(noPath, i), errors);
                    }
                }

                MaxAge(inactive.MaxAge, path, errors);
                if (inactive.Within.IsZero)
                {
                    errors.Add(new(JsonPath.Key(path, "within"), "a zero duration fires at once (expected a positive duration such as P7D)"));
                }

                break;
            default:
                errors.Add(new(path, $"'{trigger.GetType().Name}' is not a trigger this version understands"));
                break;
        }
    }

    private static void ValidateEntry(JourneyEntry? entry, JourneyTrigger? trigger, string path, List<DefinitionError> errors)
    {
        if (entry is null)
        {
            errors.Add(new(path, "is null (leave it out for the defaults)"));
            return;
        }

        if (!Enum.IsDefined(entry.ReEntry))
        {
            errors.Add(new(JsonPath.Key(path, "reEntry"), "expected never, afterPreviousEnded or afterCooldown"));
        }
        else if (entry.ReEntry == ReEntryPolicy.AfterCooldown)
        {
            if (entry.Cooldown is not { } cooldown)
            {
                errors.Add(new(JsonPath.Key(path, "cooldown"), "is required with afterCooldown: an ISO 8601 duration such as P30D"));
            }
            else if (cooldown.IsZero)
            {
                errors.Add(new(JsonPath.Key(path, "cooldown"), "a zero cooldown is afterPreviousEnded (expected a positive duration)"));
            }
        }
        else if (entry.Cooldown is not null)
        {
            errors.Add(new(JsonPath.Key(path, "cooldown"), $"only applies to afterCooldown (re-entry is {entry.ReEntry.Name()})"));
        }

        if (entry.MaxConcurrent is < 1)
        {
            errors.Add(new(JsonPath.Key(path, "maxConcurrent"), $"{entry.MaxConcurrent} would let nobody in (expected 1 or more)"));
        }

        if (entry.CorrelationKey is not null)
        {
            var at = JsonPath.Key(path, "correlationKey");
            DottedPath(entry.CorrelationKey, at, "property path", errors);
            if (trigger is not (EventTrigger or null))
            {
                errors.Add(new(at, "is taken from the trigger event, so it needs an event trigger"));
            }
        }

        if (entry.Condition is not null)
        {
            EmbeddedSegmentRules.ValidateRule(entry.Condition, JsonPath.Key(path, "condition"), errors);
        }
    }

    private static void ValidateExit(IReadOnlyList<JourneyExitCriterion>? exit, string path, List<DefinitionError> errors)
    {
        if (exit is null)
        {
            errors.Add(new(path, "is null (expected an array, or leave it out)"));
            return;
        }

        for (var i = 0; i < exit.Count; i++)
        {
            var at = JsonPath.Index(path, i);
            switch (exit[i])
            {
                case EventExitCriterion e:
                    EventType(e.EventType, JsonPath.Key(at, "event"), errors);
                    EmbeddedSegmentRules.ValidateWhere(e.Where, JsonPath.Key(at, "where"), errors);
                    break;
                case SegmentExitCriterion s:
                    EmbeddedSegmentRules.ValidateRule(s.Condition, JsonPath.Key(at, "condition"), errors);
                    break;
                default:
                    errors.Add(new(at, "expected an exit criterion: {\"event\": ...} or {\"condition\": {segment rule}}"));
                    break;
            }
        }
    }

    internal static void ValidateCondition(JourneyCondition? condition, string path, List<DefinitionError> errors) =>
        ValidateCondition(condition, path, errors, 1);

    /// <summary>Conditions nest as deep as segment rules may (<see cref="Segments.SegmentDefinitionValidator.MaxRuleDepth"/>), a segment rule inside counting from its own level.</summary>
    private static void ValidateCondition(JourneyCondition? condition, string path, List<DefinitionError> errors, int depth)
    {
        if (depth > Segments.SegmentDefinitionValidator.MaxRuleDepth)
        {
            errors.Add(new(path, Segments.SegmentDefinitionValidator.TooDeep));
            return;
        }

        switch (condition)
        {
            case null:
                errors.Add(new(path, "is required: a condition (a segment rule, {\"trigger\": ...} or {\"context\": ...})"));
                break;
            case ProfileCondition p:
                EmbeddedSegmentRules.ValidateRule(p.Rule, path, errors);
                break;
            case TriggerCondition t:
                EmbeddedSegmentRules.ValidatePropertyLeaf("trigger", t.Path, t.Condition, path, errors);
                break;
            case ContextCondition c:
                EmbeddedSegmentRules.ValidatePropertyLeaf("context", c.Path, c.Condition, path, errors);
                break;
            case AllCondition all:
                ValidateChildren(all.Conditions, JsonPath.Key(path, "all"), errors, depth);
                break;
            case AnyCondition any:
                ValidateChildren(any.Conditions, JsonPath.Key(path, "any"), errors, depth);
                break;
            case NotCondition not:
                ValidateCondition(not.Condition, JsonPath.Key(path, "not"), errors, depth + 1);
                break;
            default:
                errors.Add(new(path, $"'{condition.GetType().Name}' is not a condition this version understands"));
                break;
        }
    }

    private static void ValidateChildren(IReadOnlyList<JourneyCondition>? children, string path, List<DefinitionError> errors, int depth)
    {
        if (children is null)
        {
            errors.Add(new(path, "is null (expected an array of conditions)"));
            return;
        }

        for (var i = 0; i < children.Count; i++)
        {
            ValidateCondition(children[i], JsonPath.Index(path, i), errors, depth + 1);
        }
    }

    private static void EventType(string? type, string path, List<DefinitionError> errors)
    {
        if (string.IsNullOrEmpty(type) || !SegmentNames.EventType().IsMatch(type))
        {
            errors.Add(new(path, $"'{type}' is not a valid event type (expected a lower.dotted_name such as order.placed){SegmentNames.EventTypeHint(type)}"));
        }
    }

    /// <summary>A local time is written "HH:mm" or "HH:mm:ss": a fraction of a second would be lost on the way to JSON and back.</summary>
    private static void WholeSeconds(TimeOnly? time, string path, List<DefinitionError> errors)
    {
        if (time is { } t && t.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            errors.Add(new(path, $"{t.ToString("HH':'mm':'ss.FFFFFFF", System.Globalization.CultureInfo.InvariantCulture)} has a fraction of a second (expected a local time to the second, \"HH:mm\" or \"HH:mm:ss\")"));
        }
    }

    private static void DottedPath(string? value, string path, string what, List<DefinitionError> errors)
    {
        if (string.IsNullOrEmpty(value) || !SegmentNames.DottedPath().IsMatch(value))
        {
            errors.Add(new(path, $"'{value}' is not a valid {what} (expected dotted names such as refill_due_at or address.city)"));
        }
    }

    internal static bool IsJsonNumber(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number;
}
