using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

// Steps: each kind of step (send, wait, split, profile update) and its fields.
public static partial class JourneyDefinitionValidator
{
    private static void ValidateStep(JourneyStep? step, string path, List<DefinitionError> errors)
    {
        if (step is null)
        {
            errors.Add(new(path, "is null (expected a step)"));
            return;
        }

        if (step.Id is { } id && SegmentNames.IdTooLong(id, MaxIdLength) is { } tooLong)
        {
            errors.Add(new(JsonPath.Key(path, "id"), tooLong));
        }
        else if (string.IsNullOrEmpty(step.Id) || !SegmentNames.SegmentId().IsMatch(step.Id))
        {
            errors.Add(new(JsonPath.Key(path, "id"), $"'{step.Id}' is not a valid step id (expected lower-kebab or lower_snake, e.g. 'wait-1h')"));
        }

        switch (step)
        {
            case SendStep send:
                ValidateSend(send, path, errors);
                break;
            case DelayStep delay:
                if (delay.Duration.IsZero)
                {
                    errors.Add(new(JsonPath.Key(path, "duration"), "a zero delay does nothing (expected a positive duration such as PT1H)"));
                }

                break;
            case DelayUntilLocalTimeStep local:
                ValidateDays(local.Days, JsonPath.Key(path, "days"), errors);
                WholeSeconds(local.LocalTime, JsonPath.Key(path, "localTime"), errors);
                break;
            case DelayUntilDateTraitStep date:
                DottedPath(date.Trait, JsonPath.Key(path, "trait"), "trait path", errors);
                WholeSeconds(date.LocalTime, JsonPath.Key(path, "localTime"), errors);
                break;
            case WaitForEventStep wait:
                ValidateWait(wait, path, errors);
                break;
            case BranchStep branch:
                var branchesPath = JsonPath.Key(path, "branches");
                if (branch.Branches is not { Count: > 0 })
                {
                    errors.Add(new(branchesPath, "is required: at least one {\"condition\", \"next\"} (a branch with only 'else' is a 'next')"));
                    break;
                }

                for (var i = 0; i < branch.Branches.Count; i++)
                {
                    var at = JsonPath.Index(branchesPath, i);
                    if (branch.Branches[i] is not { } b)
                    {
                        errors.Add(new(at, "is null (expected {\"condition\", \"next\"})"));
                        continue;
                    }

                    ValidateCondition(b.Condition, JsonPath.Key(at, "condition"), errors);
                }

                break;
            case SplitStep split:
                ValidateSplit(split, path, errors);
                break;
            case UpdateProfileStep update:
                ValidateUpdates(update, path, errors);
                break;
            case EmitStep emit:
                EventType(emit.EventType, JsonPath.Key(path, "event"), errors);
                break;
            case WebhookStep hook:
                if (!Uri.TryCreate(hook.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    errors.Add(new(JsonPath.Key(path, "url"), $"'{hook.Url}' is not an absolute http or https URL"));
                }

                if (hook.Payload is not null && string.IsNullOrWhiteSpace(hook.Payload))
                {
                    errors.Add(new(JsonPath.Key(path, "payload"), "is empty (leave it out for the default payload)"));
                }

                break;
            case ExitStep exit:
                if (exit.Reason is not null && string.IsNullOrWhiteSpace(exit.Reason))
                {
                    errors.Add(new(JsonPath.Key(path, "reason"), "is empty (give a reason, or leave it out)"));
                }

                break;
            default:
                errors.Add(new(path, $"'{step.GetType().Name}' is not a step this version understands"));
                break;
        }
    }

    private static void ValidateSend(SendStep send, string path, List<DefinitionError> errors)
    {
        var channelsPath = JsonPath.Key(path, "channels");
        if (send.Channels is not { Count: > 0 })
        {
            errors.Add(new(channelsPath, "is empty: at least one channel such as [\"push\", \"email\"] (tried in order)"));
        }
        else
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < send.Channels.Count; i++)
            {
                var channel = send.Channels[i];
                var at = JsonPath.Index(channelsPath, i);
                if (string.IsNullOrEmpty(channel) || !SegmentNames.Channel().IsMatch(channel))
                {
                    errors.Add(new(at, $"'{channel}' is not a valid channel name (expected a lower_case name such as email, sms, push)"));
                }
                else if (!seen.Add(channel))
                {
                    errors.Add(new(at, $"'{channel}' appears twice in the fallback list"));
                }
            }
        }

        if (string.IsNullOrWhiteSpace(send.TemplateId))
        {
            errors.Add(new(JsonPath.Key(path, "template"), "is required: the id of the template to send"));
        }
        else if (SegmentNames.IdTooLong(send.TemplateId, MaxIdLength) is { } tooLong)
        {
            errors.Add(new(JsonPath.Key(path, "template"), tooLong));
        }
        else if (JsonLimits.TextProblem(send.TemplateId, controlsAllowed: false) is { } templateProblem)
        {
            errors.Add(new(JsonPath.Key(path, "template"), templateProblem));
        }

        if (send.Topic is not null && string.IsNullOrWhiteSpace(send.Topic))
        {
            errors.Add(new(JsonPath.Key(path, "topic"), "is empty (expected a topic such as 'cart', or no topic)"));
        }

        if (!Enum.IsDefined(send.Class))
        {
            errors.Add(new(JsonPath.Key(path, "class"), "expected marketing or transactional"));
        }
    }

    private static void ValidateDays(IReadOnlyList<DayOfWeek>? days, string path, List<DefinitionError> errors)
    {
        if (days is null)
        {
            return;
        }

        var seen = new HashSet<DayOfWeek>();
        for (var i = 0; i < days.Count; i++)
        {
            if (!Enum.IsDefined(days[i]))
            {
                errors.Add(new(JsonPath.Index(path, i), "is not a day of the week"));
            }
            else if (!seen.Add(days[i]))
            {
                errors.Add(new(JsonPath.Index(path, i), $"'{days[i].Name()}' appears twice"));
            }
        }
    }

    private static void ValidateWait(WaitForEventStep wait, string path, List<DefinitionError> errors)
    {
        var branchesPath = JsonPath.Key(path, "branches");
        if (wait.Branches is not { Count: > 0 })
        {
            errors.Add(new(branchesPath, "is required: at least one awaited event {\"event\", \"next\"} (a wait for nothing is a 'delay')"));
        }
        else
        {
            var restarts = false;
            for (var i = 0; i < wait.Branches.Count; i++)
            {
                var at = JsonPath.Index(branchesPath, i);
                if (wait.Branches[i] is not { } b)
                {
                    errors.Add(new(at, "is null (expected {\"event\", \"next\"})"));
                    continue;
                }

                EventType(b.EventType, JsonPath.Key(at, "event"), errors);
                EmbeddedSegmentRules.ValidateWhere(b.Where, JsonPath.Key(at, "where"), errors);
                if (b.Next is null)
                {
                    restarts = true;
                    if (!wait.RestartOnMatch)
                    {
                        errors.Add(new(JsonPath.Key(at, "next"), "is required: the step to go to when the event arrives (only with restartOnMatch can a branch have none, to restart the timer)"));
                    }
                }
            }

            if (wait.RestartOnMatch && !restarts)
            {
                errors.Add(new(JsonPath.Key(path, "restartOnMatch"), "has no effect: every branch has a 'next'; leave out 'next' on the branches whose events restart the timer"));
            }
        }

        if (wait.Timeout.IsZero)
        {
            errors.Add(new(JsonPath.Key(path, "timeout"), "a zero timeout never waits (expected a positive duration such as P7D)"));
        }
    }

    /// <summary>
    /// The longest variant name: it is stored inside a measurement metric (<c>journey:variant:{name}:revenue_sq</c>), which
    /// is cut at <see cref="Measurement.MeasurementKey.MaxLength"/> characters, so a longer one lost its counter's name.
    /// </summary>
    internal const int MaxVariantNameLength = 100;

    // Variant names (and template ids, above) become measurement dimensions, stored as text by every store: no NUL
    // (PostgreSQL refuses it, so every commit of a person who reached the step failed), no unpaired surrogate (stored as
    // U+FFFD, a different name than the one the definition reports), single-line; a variant name also short enough for
    // its metric not to be cut.
    private static string? StoredNameProblem(string name, int maxLength) =>
        name.Length > maxLength
            ? $"is {name.Length} characters long; at most {maxLength} are allowed"
            : JsonLimits.TextProblem(name, controlsAllowed: false);

    private static void ValidateSplit(SplitStep split, string path, List<DefinitionError> errors)
    {
        var variantsPath = JsonPath.Key(path, "variants");
        if (split.Variants is not { Count: > 0 })
        {
            errors.Add(new(variantsPath, "is required: at least one variant {\"name\", \"weight\", \"next\"}"));
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < split.Variants.Count; i++)
        {
            var at = JsonPath.Index(variantsPath, i);
            if (split.Variants[i] is not { } v)
            {
                errors.Add(new(at, "is null (expected {\"name\", \"weight\", \"next\"})"));
                continue;
            }

            if (string.IsNullOrWhiteSpace(v.Name))
            {
                errors.Add(new(JsonPath.Key(at, "name"), "is required: the variant's name, e.g. 'a'"));
            }
            else if (StoredNameProblem(v.Name, MaxVariantNameLength) is { } nameProblem)
            {
                errors.Add(new(JsonPath.Key(at, "name"), nameProblem));
            }
            else if (!names.Add(v.Name))
            {
                errors.Add(new(JsonPath.Key(at, "name"), $"'{v.Name}' is the name of another variant of this split"));
            }
            else if (v.Name == "control" && split.ControlWeight is not null)
            {
                errors.Add(new(JsonPath.Key(at, "name"), "'control' is the name of the hold-out group (controlWeight): a variant named so would share its counts; rename the variant or drop controlWeight"));
            }

            if (v.Weight <= 0)
            {
                errors.Add(new(JsonPath.Key(at, "weight"), $"{v.Weight} is not a valid weight (expected a positive integer)"));
            }
        }

        if (split.ControlWeight is { } control && control <= 0)
        {
            errors.Add(new(JsonPath.Key(path, "controlWeight"), $"{control} is not a valid weight (expected a positive integer, or no control group)"));
        }

        // Assignment takes a hash modulo the total: it must be an int.
        var total = split.Variants.Sum(v => (long)(v?.Weight ?? 0)) + (split.ControlWeight ?? 0);
        if (total > MaxSplitWeight)
        {
            errors.Add(new(variantsPath, $"the weights add up to {total}; at most {MaxSplitWeight} (weights are proportions: 50 and 50, or 1 and 1)"));
        }
    }

    // How deep a value nests (a scalar 0, {} or [] 1), without recursing: a C# definition may nest without bound.
    private static int NodeDepth(JsonNode? value)
    {
        var deepest = 0;
        var pending = new Stack<(JsonNode Node, int Depth)>();
        if (value is JsonObject or JsonArray)
        {
            pending.Push((value, 1));
        }

        while (pending.Count > 0)
        {
            var (node, depth) = pending.Pop();
            deepest = Math.Max(deepest, depth);
            IEnumerable<JsonNode?> children = node is JsonObject o ? o.Select(m => m.Value) : node.AsArray();
            foreach (var child in children)
            {
                if (child is JsonObject or JsonArray)
                {
                    pending.Push((child, depth + 1));
                }
            }
        }

        return deepest;
    }

    private static void ValidateUpdates(UpdateProfileStep update, string path, List<DefinitionError> errors)
    {
        if (update.Updates is not { Count: > 0 })
        {
            errors.Add(new(path, "changes nothing: give at least one of 'set', 'unset', 'increment'"));
            return;
        }

        // Paths follow the JSON form: set and increment are objects keyed by trait, unset is an array.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var unsetIndex = 0;
        foreach (var u in update.Updates)
        {
            if (u is null)
            {
                errors.Add(new(path, "holds a null trait update (expected a set, unset or increment)"));
                continue;
            }

            var kind = u.Kind.Name();
            var at = u.Kind == TraitUpdateKind.Unset
                ? JsonPath.Index(JsonPath.Key(path, kind), unsetIndex++)
                : JsonPath.Key(JsonPath.Key(path, kind), u.Trait ?? string.Empty);
            if (string.IsNullOrEmpty(u.Trait) || !SegmentNames.DottedPath().IsMatch(u.Trait))
            {
                errors.Add(new(at, $"'{u.Trait}' is not a valid trait path (expected dotted names such as address.city)"));
                continue;
            }

            if (!seen.Add(u.Trait))
            {
                errors.Add(new(at, $"trait '{u.Trait}' is changed twice in one step"));
            }

            // The path's names nest like an event's traits (traits counting as 1): past the events' highest depth the
            // step gave her a trait no template could render and, past 1,000, an export that could not be written.
            // An unset nests nothing (it removes a path an older version may have stored past the limit).
            var names = u.Trait.Count(c => c == '.') + 1;
            int depth;
            try
            {
                depth = NodeDepth(u.Value);
            }
            catch (ArgumentException)
            {
                // A node parsed from text naming a key twice throws when first read (RFC 8259 §4 leaves the winner open).
                errors.Add(new(at, "has a value naming a key twice in one object; name each key once"));
                continue;
            }

            if (u.Kind != TraitUpdateKind.Unset && names + depth > JsonLimits.HighestMaxDepth)
            {
                errors.Add(new(at, $"nests {names} dotted names and a value {depth} levels deep; together at most {JsonLimits.HighestMaxDepth} are allowed (as for an event's traits)"));
            }

            if (u.Kind == TraitUpdateKind.Increment && !SegmentDefinitionValidator.TryGetNumber(u.Value, out _))
            {
                errors.Add(new(at, $"expected a number to add, got {(u.Value is null ? "nothing" : u.Value.ToJsonString())}"));
            }
        }
    }
}
