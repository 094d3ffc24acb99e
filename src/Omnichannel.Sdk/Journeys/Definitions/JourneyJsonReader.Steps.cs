using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

// The steps: one reader per step type, each with its keys.
internal sealed partial class JourneyJsonReader
{
    private JourneyStep ReadStep(JsonElement e, string path)
    {
        if (!IsObject(e, path, "a step object {\"id\", \"type\", ...}"))
        {
            return new ExitStep("placeholder");
        }

        var type = Type(e, path, JourneyNames.StepTypes, "step");
        if (type is null)
        {
            // Still read the id so targets naming it resolve and are not reported twice.
            var idOnly = e.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString()! : "placeholder";
            Unreadable(path);
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
                    Unreadable(channelsPath);
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
                        Unreadable(conditionPath);
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
                Unreadable(at);
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
}
