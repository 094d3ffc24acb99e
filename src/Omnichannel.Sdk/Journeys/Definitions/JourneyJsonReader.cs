using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// Reads the JSON form into the model, collecting shape errors (unknown or missing keys and types, wrong JSON types,
/// bad durations and local times). Embedded segment rules and <c>where</c> lists are read by the segment reader. Where a
/// part cannot be read it puts in a harmless stand-in, so the rest can still be checked by
/// <see cref="JourneyDefinitionValidator"/>; errors the validator finds under a part already reported are dropped.
/// </summary>
internal sealed class JourneyJsonReader
{
    private static readonly string[] DefinitionKeys = ["id", "version", "name", "description", "trigger", "entry", "exit", "goal", "steps"];

    private readonly List<DefinitionError> _errors = [];
    private readonly List<string> _reported = [];
    private int _conditionDepth;

    public static (JourneyDefinition Definition, List<DefinitionError> Errors) Read(JsonElement element, string path)
    {
        var shape = DefinitionJson.CheckShape(element, path);
        if (shape.Count > 0)
        {
            return (new JourneyDefinition(string.Empty, 1, string.Empty, new EventTrigger("placeholder"), []), [.. shape.Select(p => new DefinitionError(p.Path, p.Message))]);
        }

        var reader = new JourneyJsonReader();
        var definition = reader.ReadDefinition(element, path);
        var validation = new List<DefinitionError>();
        JourneyDefinitionValidator.Validate(definition, path, validation);
        reader._errors.AddRange(validation.Where(e => !reader.IsReported(e.Path)));
        return (definition, reader._errors);
    }

    private bool IsReported(string path) => DefinitionJson.IsUnder(path, _reported);

    private void Error(string path, string message) => _errors.Add(new(path, message));

    private void Reported(string path) => _reported.Add(path);

    private JourneyDefinition ReadDefinition(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            Error(path, $"expected a journey definition object {{\"id\", \"version\", \"name\", \"trigger\", \"steps\"}}, got {Kind(e)}");
            Reported(path);
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
            Reported(triggerPath);
        }

        var entry = keys.TryGetValue("entry", out var en) ? ReadEntry(en, JsonPath.Key(path, "entry")) : JourneyEntry.Default;
        var exit = keys.TryGetValue("exit", out var ex) ? ReadExit(ex, JsonPath.Key(path, "exit")) : [];
        var goal = keys.TryGetValue("goal", out var g) ? ReadGoal(g, JsonPath.Key(path, "goal")) : null;

        var steps = new List<JourneyStep>();
        var stepsPath = JsonPath.Key(path, "steps");
        if (!keys.TryGetValue("steps", out var s))
        {
            Error(stepsPath, "is required: an array of at least one step");
            Reported(stepsPath);
        }
        else if (s.ValueKind != JsonValueKind.Array)
        {
            Error(stepsPath, $"expected an array of steps, got {Kind(s)}");
            Reported(stepsPath);
        }
        else
        {
            var i = 0;
            foreach (var item in s.EnumerateArray())
            {
                steps.Add(ReadStep(item, JsonPath.Index(stepsPath, i++)));
            }
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
                var keys = Keys(e, path, ["type", "event", "where"], "an event trigger");
                return new EventTrigger(String(keys, "event", path, "an event type such as 'cart.item_added'", required: true) ?? string.Empty)
                {
                    Where = Where(keys, path),
                };
            }

            case "segment":
            {
                var keys = Keys(e, path, ["type", "segment", "on"], "a segment trigger");
                var segment = String(keys, "segment", path, "a segment id", required: true) ?? string.Empty;
                var on = Choice(keys, "on", path, ["entered", "exited"], required: true);
                return new SegmentTrigger(segment, on == "exited" ? SegmentTransition.Exited : SegmentTransition.Entered);
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
                var keys = Keys(e, path, ["type", "afterEvent", "noEvent", "within"], "an inactivity trigger");
                var after = String(keys, "afterEvent", path, "the event that starts the clock, e.g. 'product.viewed'", required: true) ?? string.Empty;
                var none = new List<string>();
                var nonePath = JsonPath.Key(path, "noEvent");
                if (!keys.TryGetValue("noEvent", out var n))
                {
                    Error(nonePath, "is required: the event types whose absence fires the trigger, e.g. [\"order.placed\"]");
                    Reported(nonePath);
                }
                else if (n.ValueKind == JsonValueKind.String)
                {
                    none.Add(n.GetString()!);
                }
                else
                {
                    none = Strings(n, nonePath, "event types");
                }

                return new InactivityTrigger(after, none, Duration(keys, "within", path, required: true) ?? IsoDuration.FromDays(1));
            }

            default:
                Reported(path);
                return new EventTrigger("placeholder");
        }
    }

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
        var list = new List<JourneyExitCriterion>();
        if (e.ValueKind != JsonValueKind.Array)
        {
            Error(path, $"expected an array of exit criteria [{{\"event\": \"order.placed\"}}, {{\"condition\": {{segment rule}}}}], got {Kind(e)}");
            Reported(path);
            return list;
        }

        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            var at = JsonPath.Index(path, i++);
            if (!IsObject(item, at, "an exit criterion {\"event\": ...} or {\"condition\": ...}"))
            {
                list.Add(new EventExitCriterion("placeholder"));
                continue;
            }

            var keys = Keys(item, at, ["event", "where", "condition"], "an exit criterion");
            if (keys.ContainsKey("condition") && !keys.ContainsKey("event") && !keys.ContainsKey("where"))
            {
                list.Add(new SegmentExitCriterion(Rule(keys, "condition", at)!));
            }
            else if (keys.ContainsKey("event") && !keys.ContainsKey("condition"))
            {
                list.Add(new EventExitCriterion(String(keys, "event", at, "an event type", required: true) ?? string.Empty) { Where = Where(keys, at) });
            }
            else
            {
                Error(at, "expected either {\"event\", \"where\"?} or {\"condition\": {segment rule}}");
                Reported(at);
                list.Add(new EventExitCriterion("placeholder"));
            }
        }

        return list;
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

    private JourneyStep ReadStep(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            Error(path, $"expected a step object {{\"id\", \"type\", ...}}, got {Kind(e)}");
            Reported(path);
            return new ExitStep("placeholder");
        }

        var type = Type(e, path, JourneyNames.StepTypes, "step");
        if (type is null)
        {
            // Still read the id so targets naming it resolve and are not reported twice.
            var idOnly = e.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString()! : "placeholder";
            Reported(path);
            return new ExitStep(idOnly);
        }

        string[] common = ["id", "type"];
        string[] next = ["id", "type", "next"];
        Dictionary<string, JsonElement> keys;
        JourneyStep step;
        switch (type)
        {
            case "send":
            {
                keys = Keys(e, path, [.. next, "channels", "template", "topic", "class"], "a send step");
                var channels = new List<string>();
                var channelsPath = JsonPath.Key(path, "channels");
                if (!keys.TryGetValue("channels", out var c))
                {
                    Error(channelsPath, "is required: the channels in fallback order, e.g. [\"push\", \"email\"]");
                    Reported(channelsPath);
                }
                else
                {
                    channels = Strings(c, channelsPath, "channel names");
                }

                var @class = Choice(keys, "class", path, ["marketing", "transactional"], required: false);
                step = new SendStep(Id(keys, path), channels, String(keys, "template", path, "the id of the template to send", required: true) ?? string.Empty)
                {
                    Topic = String(keys, "topic", path, "a consent topic such as 'cart'", required: false),
                    Class = @class == "transactional" ? MessageClass.Transactional : MessageClass.Marketing,
                };
                break;
            }

            case "delay":
                keys = Keys(e, path, [.. next, "duration"], "a delay step");
                step = new DelayStep(Id(keys, path), Duration(keys, "duration", path, required: true) ?? IsoDuration.FromDays(1));
                break;

            case "delayUntilLocalTime":
            {
                keys = Keys(e, path, [.. next, "localTime", "days"], "a delayUntilLocalTime step");
                var days = new List<DayOfWeek>();
                if (keys.TryGetValue("days", out var d))
                {
                    var daysPath = JsonPath.Key(path, "days");
                    var names = Strings(d, daysPath, "day names");
                    if (d.ValueKind == JsonValueKind.Array && names.Count == 0)
                    {
                        Error(daysPath, "is empty, so the step would never end (leave 'days' out for every day)");
                    }

                    for (var i = 0; i < names.Count; i++)
                    {
                        var match = JourneyNames.Days.FirstOrDefault(x => x.Name == names[i]);
                        if (match.Name is null)
                        {
                            Error(JsonPath.Index(daysPath, i), $"unknown day '{names[i]}' (expected one of {string.Join(", ", JourneyNames.Days.Select(x => x.Name))})");
                        }
                        else
                        {
                            days.Add(match.Day);
                        }
                    }
                }

                step = new DelayUntilLocalTimeStep(Id(keys, path), LocalTime(keys, "localTime", path, required: true) ?? default) { Days = days };
                break;
            }

            case "delayUntilDateTrait":
                keys = Keys(e, path, [.. next, "trait", "offset", "localTime"], "a delayUntilDateTrait step");
                step = new DelayUntilDateTraitStep(
                    Id(keys, path),
                    String(keys, "trait", path, "a date trait path such as 'refill_due_at'", required: true) ?? string.Empty,
                    Offset(keys, "offset", path) ?? IsoOffset.Zero)
                {
                    LocalTime = LocalTime(keys, "localTime", path, required: false),
                };
                break;

            case "waitForEvent":
            {
                keys = Keys(e, path, [.. common, "branches", "timeout", "timeoutNext", "restartOnMatch"], "a waitForEvent step");
                var branches = Objects(keys, "branches", path, "awaited events {\"event\", \"where\"?, \"next\"?}", (b, at) =>
                {
                    var k = Keys(b, at, ["event", "where", "next"], "an awaited event");
                    return new EventBranch(String(k, "event", at, "an event type such as 'order.placed'", required: true) ?? string.Empty, String(k, "next", at, "a step id", required: false))
                    {
                        Where = Where(k, at),
                    };
                });
                step = new WaitForEventStep(Id(keys, path), branches, Duration(keys, "timeout", path, required: true) ?? IsoDuration.FromDays(1))
                {
                    TimeoutNext = String(keys, "timeoutNext", path, "a step id", required: false),
                    RestartOnMatch = Bool(keys, "restartOnMatch", path) ?? false,
                };
                break;
            }

            case "branch":
            {
                keys = Keys(e, path, [.. common, "branches", "else"], "a branch step");
                var branches = Objects(keys, "branches", path, "cases {\"condition\", \"next\"}", (b, at) =>
                {
                    var k = Keys(b, at, ["condition", "next"], "a branch case");
                    var conditionPath = JsonPath.Key(at, "condition");
                    JourneyCondition condition;
                    if (k.TryGetValue("condition", out var c))
                    {
                        condition = ReadCondition(c, conditionPath);
                    }
                    else
                    {
                        Error(conditionPath, "is required: a segment rule, {\"trigger\": ...} or {\"context\": ...}");
                        Reported(conditionPath);
                        condition = new ProfileCondition(new AllRule([]));
                    }

                    return new ConditionalBranch(condition, String(k, "next", at, "the step id to go to", required: true) ?? string.Empty);
                });
                step = new BranchStep(Id(keys, path), branches) { Else = String(keys, "else", path, "a step id", required: false) };
                break;
            }

            case "split":
            {
                keys = Keys(e, path, [.. common, "variants", "controlWeight"], "a split step");
                var variants = Objects(keys, "variants", path, "variants {\"name\", \"weight\", \"next\"}", (v, at) =>
                {
                    var k = Keys(v, at, ["name", "weight", "next"], "a variant");
                    return new SplitVariant(
                        String(k, "name", at, "the variant's name", required: true) ?? string.Empty,
                        Int(k, "weight", at, required: true) ?? 1,
                        String(k, "next", at, "the step id the variant goes to", required: true) ?? string.Empty);
                });
                step = new SplitStep(Id(keys, path), variants) { ControlWeight = Int(keys, "controlWeight", path, required: false) };
                break;
            }

            case "updateProfile":
                keys = Keys(e, path, [.. next, "set", "unset", "increment"], "an updateProfile step");
                step = new UpdateProfileStep(Id(keys, path), Updates(keys, path));
                break;

            case "emit":
            {
                keys = Keys(e, path, [.. next, "event", "properties"], "an emit step");
                JsonObject? properties = null;
                if (keys.TryGetValue("properties", out var p))
                {
                    if (p.ValueKind == JsonValueKind.Object)
                    {
                        properties = DefinitionJson.Node(p)!.AsObject();
                    }
                    else
                    {
                        Error(JsonPath.Key(path, "properties"), $"expected an object of event properties, got {Kind(p)}");
                    }
                }

                step = new EmitStep(Id(keys, path), String(keys, "event", path, "an event type such as 'journey.cart_recovered'", required: true) ?? string.Empty)
                {
                    Properties = properties,
                };
                break;
            }

            case "webhook":
                keys = Keys(e, path, [.. next, "url", "payload"], "a webhook step");
                step = new WebhookStep(Id(keys, path), String(keys, "url", path, "an absolute https URL", required: true) ?? "https://placeholder.invalid/")
                {
                    Payload = String(keys, "payload", path, "a payload template", required: false),
                };
                break;

            default:
                keys = Keys(e, path, [.. common, "reason"], "an exit step");
                step = new ExitStep(Id(keys, path)) { Reason = String(keys, "reason", path, "a reason", required: false) };
                break;
        }

        if (step is ContinuingStep continuing)
        {
            step = continuing with { Next = String(keys, "next", path, "a step id", required: false) };
        }

        return step;
    }

    private List<TraitUpdate> Updates(Dictionary<string, JsonElement> keys, string path)
    {
        var updates = new List<TraitUpdate>();
        foreach (var kind in new[] { TraitUpdateKind.Set, TraitUpdateKind.Unset, TraitUpdateKind.Increment })
        {
            var name = kind.Name();
            if (!keys.TryGetValue(name, out var e))
            {
                continue;
            }

            var at = JsonPath.Key(path, name);
            if (kind == TraitUpdateKind.Unset)
            {
                updates.AddRange(Strings(e, at, "trait paths").Select(t => new TraitUpdate(kind, t, null)));
            }
            else if (e.ValueKind != JsonValueKind.Object)
            {
                Error(at, $"expected an object of trait paths and {(kind == TraitUpdateKind.Set ? "values" : "numbers")}, got {Kind(e)}");
                Reported(at);
            }
            else
            {
                foreach (var p in e.EnumerateObject())
                {
                    updates.Add(new TraitUpdate(kind, p.Name, DefinitionJson.Node(p.Value)));
                }
            }
        }

        return updates;
    }

    /// <summary>A branch condition: the whole node goes to the segment reader unless a <c>trigger</c>/<c>context</c> leaf is in it.</summary>
    private JourneyCondition ReadCondition(JsonElement e, string path)
    {
        if (_conditionDepth >= SegmentDefinitionValidator.MaxRuleDepth)
        {
            Error(path, SegmentDefinitionValidator.TooDeep);
            Reported(path);
            return new ProfileCondition(new AllRule([]));
        }

        _conditionDepth++;
        try
        {
            return ReadConditionAt(e, path);
        }
        finally
        {
            _conditionDepth--;
        }
    }

    private JourneyCondition ReadConditionAt(JsonElement e, string path)
    {
        if (!HasJourneyLeaf(e))
        {
            Reported(path);
            return new ProfileCondition(EmbeddedSegmentRules.ReadRule(e, path, _errors));
        }

        if (e.TryGetProperty("trigger", out _) || e.TryGetProperty("context", out _))
        {
            var key = e.TryGetProperty("trigger", out _) ? "trigger" : "context";
            var keys = Keys(e, path, [key, "op", "value"], $"a {key} condition");
            var property = String(keys, key, path, "a dotted property path", required: true) ?? string.Empty;
            var condition = Operator(keys, path);
            return key == "trigger" ? new TriggerCondition(property, condition) : new ContextCondition(property, condition);
        }

        // all/any/not over children, some of which are journey leaves.
        if (e.TryGetProperty("not", out var not))
        {
            Keys(e, path, ["not"], "a 'not' condition");
            return new NotCondition(ReadCondition(not, JsonPath.Key(path, "not")));
        }

        var kind = e.TryGetProperty("all", out var a) && a.ValueKind == JsonValueKind.Array && a.EnumerateArray().Any(HasJourneyLeaf) ? "all" : "any";
        Keys(e, path, [kind], $"an '{kind}' condition");
        var children = new List<JourneyCondition>();
        if (!e.TryGetProperty(kind, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            Error(JsonPath.Key(path, kind), $"expected an array of conditions, got {(list.ValueKind == JsonValueKind.Undefined ? "nothing" : Kind(list))}");
            Reported(path);
            return new ProfileCondition(new AllRule([]));
        }

        var i = 0;
        foreach (var child in list.EnumerateArray())
        {
            children.Add(ReadCondition(child, JsonPath.Index(JsonPath.Key(path, kind), i++)));
        }

        return kind == "all" ? new AllCondition(children) : new AnyCondition(children);
    }

    private static bool HasJourneyLeaf(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (e.TryGetProperty("trigger", out _) || e.TryGetProperty("context", out _))
        {
            return true;
        }

        if (e.TryGetProperty("not", out var not))
        {
            return HasJourneyLeaf(not);
        }

        foreach (var key in new[] { "all", "any" })
        {
            if (e.TryGetProperty(key, out var children) && children.ValueKind == JsonValueKind.Array && children.EnumerateArray().Any(HasJourneyLeaf))
            {
                return true;
            }
        }

        return false;
    }

    private Condition Operator(Dictionary<string, JsonElement> keys, string path)
    {
        var opPath = JsonPath.Key(path, "op");
        JsonNode? value = keys.TryGetValue("value", out var v) ? DefinitionJson.Node(v) : null;
        if (keys.TryGetValue("op", out var op) && op.ValueKind == JsonValueKind.String && SegmentNames.TryParseOperator(op.GetString(), out var parsed))
        {
            return new Condition(parsed, value);
        }

        Error(opPath, op.ValueKind == JsonValueKind.Undefined
            ? $"is required: an operator ({SegmentNames.OperatorList})"
            : $"unknown operator {op.GetRawText()} (expected one of {SegmentNames.OperatorList})");
        Reported(opPath);
        Reported(JsonPath.Key(path, "value"));
        return new Condition(ConditionOperator.Exists, null);
    }

    private string? Type(JsonElement e, string path, IReadOnlyList<string> allowed, string what)
    {
        var at = JsonPath.Key(path, "type");
        if (e.ValueKind != JsonValueKind.Object)
        {
            Error(path, $"expected a {what} object {{\"type\": {string.Join(" | ", allowed.Select(a => $"\"{a}\""))}, ...}}, got {Kind(e)}");
            Reported(path);
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

    private List<T> Objects<T>(Dictionary<string, JsonElement> keys, string key, string path, string what, Func<JsonElement, string, T> read)
    {
        var list = new List<T>();
        var at = JsonPath.Key(path, key);
        if (!keys.TryGetValue(key, out var e))
        {
            return list; // The validator reports the missing list.
        }

        if (e.ValueKind != JsonValueKind.Array)
        {
            Error(at, $"expected an array of {what}, got {Kind(e)}");
            Reported(at);
            return list;
        }

        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            var itemPath = JsonPath.Index(at, i++);
            if (IsObject(item, itemPath, what))
            {
                list.Add(read(item, itemPath));
            }
        }

        return list;
    }

    private List<string> Strings(JsonElement e, string path, string what)
    {
        var list = new List<string>();
        if (e.ValueKind != JsonValueKind.Array)
        {
            Error(path, $"expected an array of {what}, got {Kind(e)}");
            Reported(path);
            return list;
        }

        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            var at = JsonPath.Index(path, i++);
            if (item.ValueKind == JsonValueKind.String)
            {
                list.Add(item.GetString()!);
            }
            else
            {
                Error(at, $"expected a string, got {Kind(item)}");
            }
        }

        return list;
    }

    private IReadOnlyList<PropertyCondition> Where(Dictionary<string, JsonElement> keys, string path)
    {
        if (!keys.TryGetValue("where", out var e))
        {
            return [];
        }

        var at = JsonPath.Key(path, "where");
        Reported(at);
        return EmbeddedSegmentRules.ReadWhere(e, at, _errors);
    }

    private SegmentRule? Rule(Dictionary<string, JsonElement> keys, string key, string path)
    {
        if (!keys.TryGetValue(key, out var e))
        {
            return null;
        }

        var at = JsonPath.Key(path, key);
        Reported(at);
        return EmbeddedSegmentRules.ReadRule(e, at, _errors);
    }

    private IsoDuration? Duration(Dictionary<string, JsonElement> keys, string key, string path, bool required)
    {
        var at = JsonPath.Key(path, key);
        if (!keys.TryGetValue(key, out var e))
        {
            if (required)
            {
                Error(at, "is required: an ISO 8601 duration such as PT1H or P7D");
                Reported(at);
            }

            return null;
        }

        if (e.ValueKind != JsonValueKind.String)
        {
            Error(at, $"expected an ISO 8601 duration string such as \"P7D\", got {Kind(e)}");
        }
        else if (IsoDuration.TryParse(e.GetString(), out var d, out var error))
        {
            return d;
        }
        else
        {
            Error(at, error);
        }

        Reported(at);
        return null;
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
        Reported(at);
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
                Reported(at);
            }

            return null;
        }

        if (e.ValueKind == JsonValueKind.String && JourneyNames.TryLocalTime(e.GetString(), out var time))
        {
            return time;
        }

        Error(at, $"{(e.ValueKind == JsonValueKind.String ? $"'{e.GetString()}'" : Kind(e))} is not a local time of day (expected \"HH:mm\" or \"HH:mm:ss\", 00:00 to 23:59:59, e.g. \"09:00\")");
        Reported(at);
        return null;
    }

    private int? Int(Dictionary<string, JsonElement> keys, string key, string path, bool required)
    {
        var at = JsonPath.Key(path, key);
        if (!keys.TryGetValue(key, out var e))
        {
            if (required)
            {
                Error(at, "is required: an integer");
                Reported(at);
            }

            return null;
        }

        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var n))
        {
            return n;
        }

        Error(at, $"expected an integer, got {(e.ValueKind == JsonValueKind.Number ? e.GetRawText() : Kind(e))}");
        Reported(at);
        return null;
    }

    private bool? Bool(Dictionary<string, JsonElement> keys, string key, string path)
    {
        if (!keys.TryGetValue(key, out var e))
        {
            return null;
        }

        if (e.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return e.GetBoolean();
        }

        Error(JsonPath.Key(path, key), $"expected true or false, got {Kind(e)}");
        return null;
    }

    private string? Choice(Dictionary<string, JsonElement> keys, string key, string path, IReadOnlyList<string> allowed, bool required)
    {
        var value = String(keys, key, path, $"one of {string.Join(", ", allowed)}", required);
        if (value is null || allowed.Contains(value))
        {
            return value;
        }

        Error(JsonPath.Key(path, key), $"unknown value '{value}' (expected one of {string.Join(", ", allowed)})");
        return null;
    }

    private string? String(Dictionary<string, JsonElement> keys, string key, string path, string expected, bool required)
    {
        var at = JsonPath.Key(path, key);
        if (!keys.TryGetValue(key, out var e))
        {
            if (required)
            {
                Error(at, $"is required: {expected}");
                Reported(at);
            }

            return null;
        }

        if (e.ValueKind != JsonValueKind.String)
        {
            Error(at, $"expected a string ({expected}), got {Kind(e)}");
            Reported(at);
            return null;
        }

        return e.GetString();
    }

    private bool IsObject(JsonElement e, string path, string what)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            return true;
        }

        Error(path, $"expected {what}, got {Kind(e)}");
        Reported(path);
        return false;
    }

    /// <summary>The object's keys; reports unknown and repeated keys.</summary>
    private Dictionary<string, JsonElement> Keys(JsonElement e, string path, IReadOnlyList<string> allowed, string what) =>
        DefinitionJson.Keys(e, path, allowed, what, Error);

    private static string Kind(JsonElement e) => DefinitionJson.Kind(e.ValueKind);
}
