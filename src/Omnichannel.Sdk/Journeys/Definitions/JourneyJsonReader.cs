using System.Text.Json;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// Reads the JSON form into the model, collecting shape errors (unknown or missing keys and types, wrong JSON types,
/// bad durations and local times). Embedded segment rules and <c>where</c> lists are read by the segment reader. Where a
/// part cannot be read it puts in a harmless stand-in, so the rest can still be checked by
/// <see cref="JourneyDefinitionValidator"/>; errors the validator finds under a part already reported are dropped.
/// </summary>
/// <remarks>
/// Paths, errors and typed reads come from <see cref="DefinitionJsonReader"/>; this file reads the definition, its
/// trigger, entry rules, exit criteria and goal, and the journey's own values (types, ids, offsets, local times); the
/// steps and the branch conditions are in the two other parts of the class.
/// </remarks>
internal sealed partial class JourneyJsonReader : DefinitionJsonReader
{
    private static readonly string[] DefinitionKeys = ["id", "version", "name", "description", "trigger", "entry", "exit", "goal", "steps"];

    public static (JourneyDefinition Definition, List<DefinitionError> Errors) Read(JsonElement element, string path)
    {
        if (ShapeErrors(element, path) is { } shape)
        {
            return (new JourneyDefinition(string.Empty, 1, string.Empty, new EventTrigger("placeholder"), []), shape);
        }

        var reader = new JourneyJsonReader();
        var definition = reader.ReadDefinition(element, path);
        var validation = new List<DefinitionError>();
        JourneyDefinitionValidator.Validate(definition, path, validation);
        return (definition, reader.WithValidation(validation));
    }

    private JourneyDefinition ReadDefinition(JsonElement e, string path)
    {
        if (!IsObject(e, path, "a journey definition object {\"id\", \"version\", \"name\", \"trigger\", \"steps\"}"))
        {
            return new JourneyDefinition(string.Empty, 1, string.Empty, new EventTrigger("placeholder"), []);
        }

        var keys = Keys(e, path, DefinitionKeys, "a journey definition");
        var id = String(keys, "id", path, "a journey id such as 'abandoned-cart'", required: true) ?? string.Empty;
        var version = Int(keys, "version", path, required: true) ?? 1;
        var name = String(keys, "name", path, "a display name", required: true) ?? string.Empty;
        var description = String(keys, "description", path, "a description", required: false);

        JourneyTrigger trigger = new EventTrigger("placeholder");
        var triggerPath = JsonPath.Key(path, "trigger");
        if (keys.TryGetValue("trigger", out var t))
        {
            trigger = ReadTrigger(t, triggerPath);
        }
        else
        {
            Error(triggerPath, "is required: what starts the journey, e.g. {\"type\": \"event\", \"event\": \"cart.item_added\"}");
            Unreadable(triggerPath);
        }

        var entry = keys.TryGetValue("entry", out var en) ? ReadEntry(en, JsonPath.Key(path, "entry")) : JourneyEntry.Default;
        var exit = keys.TryGetValue("exit", out var ex) ? ReadExit(ex, JsonPath.Key(path, "exit")) : [];
        var goal = keys.TryGetValue("goal", out var g) ? ReadGoal(g, JsonPath.Key(path, "goal")) : null;

        var steps = new List<JourneyStep>();
        var stepsPath = JsonPath.Key(path, "steps");
        if (!keys.TryGetValue("steps", out var s))
        {
            Error(stepsPath, "is required: an array of at least one step");
            Unreadable(stepsPath);
        }
        else
        {
            steps = Array(s, stepsPath, "steps", ReadStep);
        }

        return new JourneyDefinition(id, version, name, trigger, steps)
        {
            Description = description,
            Entry = entry,
            Exit = exit,
            Goal = goal,
        };
    }

    private JourneyTrigger ReadTrigger(JsonElement e, string path)
    {
        var type = Type(e, path, JourneyNames.TriggerTypes, "trigger");
        switch (type)
        {
            case "event":
            {
                var keys = Keys(e, path, ["type", "event", "where", "maxAge"], "an event trigger");
                return new EventTrigger(String(keys, "event", path, "an event type such as 'cart.item_added'", required: true) ?? string.Empty)
                {
                    Where = Where(keys, path),
                    MaxAge = MaxAge(keys, path),
                };
            }

            case "segment":
            {
                var keys = Keys(e, path, ["type", "segment", "on", "maxAge"], "a segment trigger");
                var segment = String(keys, "segment", path, "a segment id", required: true) ?? string.Empty;
                var on = Choice(keys, "on", path, ["entered", "exited"], required: true);
                return new SegmentTrigger(segment, on == "exited" ? SegmentTransition.Exited : SegmentTransition.Entered) { MaxAge = MaxAge(keys, path) };
            }

            case "date":
            {
                var keys = Keys(e, path, ["type", "trait", "offset", "localTime", "annual"], "a date trigger");
                return new DateTrigger(
                    String(keys, "trait", path, "a date trait path such as 'refill_due_at'", required: true) ?? string.Empty,
                    Offset(keys, "offset", path) ?? IsoOffset.Zero,
                    LocalTime(keys, "localTime", path, required: true) ?? default)
                {
                    Annual = Bool(keys, "annual", path) ?? false,
                };
            }

            case "inactivity":
            {
                var keys = Keys(e, path, ["type", "afterEvent", "noEvent", "within", "maxAge"], "an inactivity trigger");
                var after = String(keys, "afterEvent", path, "the event that starts the clock, e.g. 'product.viewed'", required: true) ?? string.Empty;
                var none = new List<string>();
                var nonePath = JsonPath.Key(path, "noEvent");
                if (!keys.TryGetValue("noEvent", out var n))
                {
                    Error(nonePath, "is required: the event types whose absence fires the trigger, e.g. [\"order.placed\"]");
                    Unreadable(nonePath);
                }
                else if (n.ValueKind == JsonValueKind.String)
                {
                    none.Add(n.GetString()!);
                }
                else
                {
                    none = Strings(n, nonePath, "event types");
                }

                return new InactivityTrigger(after, none, Duration(keys, "within", path, required: true) ?? IsoDuration.FromDays(1)) { MaxAge = MaxAge(keys, path) };
            }

            default:
                Unreadable(path);
                return new EventTrigger("placeholder");
        }
    }

    // A trigger's "maxAge": absent is the default (one day), null is no limit.
    private IsoDuration? MaxAge(Dictionary<string, JsonElement> keys, string path) =>
        keys.TryGetValue("maxAge", out var age) && age.ValueKind == JsonValueKind.Null
            ? null
            : Duration(keys, "maxAge", path, required: false, example: "P1D") ?? EventTrigger.DefaultMaxAge;

    private JourneyEntry ReadEntry(JsonElement e, string path)
    {
        if (!IsObject(e, path, "entry rules {\"reEntry\", \"cooldown\", \"maxConcurrent\", \"correlationKey\", \"condition\"}"))
        {
            return JourneyEntry.Default;
        }

        var keys = Keys(e, path, ["reEntry", "cooldown", "maxConcurrent", "correlationKey", "condition"], "entry rules");
        var reEntry = Choice(keys, "reEntry", path, JourneyNames.ReEntryPolicies.Select(p => p.Name).ToList(), required: false);
        return new JourneyEntry
        {
            ReEntry = reEntry is null ? ReEntryPolicy.AfterPreviousEnded : JourneyNames.ReEntryPolicies.First(p => p.Name == reEntry).Policy,
            Cooldown = Duration(keys, "cooldown", path, required: false),
            MaxConcurrent = Int(keys, "maxConcurrent", path, required: false),
            CorrelationKey = String(keys, "correlationKey", path, "a property path of the trigger event such as 'cart_id'", required: false),
            Condition = Rule(keys, "condition", path),
        };
    }

    private List<JourneyExitCriterion> ReadExit(JsonElement e, string path)
    {
        return Array<JourneyExitCriterion>(e, path, "exit criteria [{\"event\": \"order.placed\"}, {\"condition\": {segment rule}}]", (item, at) =>
        {
            if (!IsObject(item, at, "an exit criterion {\"event\": ...} or {\"condition\": ...}"))
            {
                return new EventExitCriterion("placeholder");
            }

            var keys = Keys(item, at, ["event", "where", "condition"], "an exit criterion");
            if (keys.ContainsKey("condition") && !keys.ContainsKey("event") && !keys.ContainsKey("where"))
            {
                return new SegmentExitCriterion(Rule(keys, "condition", at)!);
            }

            if (keys.ContainsKey("event") && !keys.ContainsKey("condition"))
            {
                return new EventExitCriterion(String(keys, "event", at, "an event type", required: true) ?? string.Empty) { Where = Where(keys, at) };
            }

            Error(at, "expected either {\"event\", \"where\"?} or {\"condition\": {segment rule}}");
            Unreadable(at);
            return new EventExitCriterion("placeholder");
        });
    }

    private JourneyGoal? ReadGoal(JsonElement e, string path)
    {
        if (!IsObject(e, path, "a goal {\"event\", \"where\"?, \"within\"}"))
        {
            return null;
        }

        var keys = Keys(e, path, ["event", "where", "within"], "a goal");
        return new JourneyGoal(
            String(keys, "event", path, "the conversion event type such as 'order.placed'", required: true) ?? string.Empty,
            Duration(keys, "within", path, required: true) ?? IsoDuration.FromDays(1))
        {
            Where = Where(keys, path),
        };
    }

    private string? Type(JsonElement e, string path, IReadOnlyList<string> allowed, string what)
    {
        var at = JsonPath.Key(path, "type");
        if (e.ValueKind != JsonValueKind.Object)
        {
            Error(path, $"expected a {what} object {{\"type\": {string.Join(" | ", allowed.Select(a => $"\"{a}\""))}, ...}}, got {Kind(e)}");
            Unreadable(path);
            return null;
        }

        if (!e.TryGetProperty("type", out var t))
        {
            Error(at, $"is required: the {what} type ({string.Join(", ", allowed)})");
            return null;
        }

        if (t.ValueKind != JsonValueKind.String || !allowed.Contains(t.GetString()))
        {
            Error(at, $"unknown {what} type {t.GetRawText()} (expected one of {string.Join(", ", allowed)})");
            return null;
        }

        return t.GetString();
    }

    private string Id(Dictionary<string, JsonElement> keys, string path) =>
        String(keys, "id", path, "a step id such as 'wait-1h', unique in the journey", required: true) ?? string.Empty;

    private IReadOnlyList<PropertyCondition> Where(Dictionary<string, JsonElement> keys, string path)
    {
        if (!keys.TryGetValue("where", out var e))
        {
            return [];
        }

        var at = JsonPath.Key(path, "where");
        Unreadable(at);
        return EmbeddedSegmentRules.ReadWhere(e, at, Errors);
    }

    private SegmentRule? Rule(Dictionary<string, JsonElement> keys, string key, string path)
    {
        if (!keys.TryGetValue(key, out var e))
        {
            return null;
        }

        var at = JsonPath.Key(path, key);
        Unreadable(at);
        return EmbeddedSegmentRules.ReadRule(e, at, Errors);
    }

    private IsoOffset? Offset(Dictionary<string, JsonElement> keys, string key, string path)
    {
        var at = JsonPath.Key(path, key);
        if (!keys.TryGetValue(key, out var e))
        {
            return null;
        }

        string? error = null;
        if (e.ValueKind == JsonValueKind.String && IsoOffset.TryParse(e.GetString(), out var offset, out error))
        {
            return offset;
        }

        Error(at, error ?? $"expected a signed ISO 8601 duration string such as \"-P3D\", got {Kind(e)}");
        Unreadable(at);
        return null;
    }

    private TimeOnly? LocalTime(Dictionary<string, JsonElement> keys, string key, string path, bool required)
    {
        var at = JsonPath.Key(path, key);
        if (!keys.TryGetValue(key, out var e))
        {
            if (required)
            {
                Error(at, "is required: a local time of day such as \"09:00\"");
                Unreadable(at);
            }

            return null;
        }

        if (e.ValueKind == JsonValueKind.String && JourneyNames.TryLocalTime(e.GetString(), out var time))
        {
            return time;
        }

        Error(at, $"{(e.ValueKind == JsonValueKind.String ? $"'{e.GetString()}'" : Kind(e))} is not a local time of day (expected \"HH:mm\" or \"HH:mm:ss\", 00:00 to 23:59:59, e.g. \"09:00\")");
        Unreadable(at);
        return null;
    }
}
