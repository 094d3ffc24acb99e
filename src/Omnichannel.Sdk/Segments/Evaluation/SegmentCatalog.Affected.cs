using System.Text.Json;

namespace Omnichannel.Sdk.Segments;

// Which segments an event can change: by event type, statistic, trait path, and the segments that depend on those.
internal sealed partial class SegmentCatalog
{
    /// <summary>
    /// The segments whose answer <paramref name="e"/> can change, in dependency order: rules over its event type; trait
    /// rules whose path the event's trait updates touch (the same path, a parent or a child); rules on statistics the
    /// event type changes (order, cart, return, loyalty and referral statistics move only with their event types;
    /// seen times, event count, channels, the lifecycle stage and reachability with any event, through counters,
    /// identifiers or consents); and, transitively, the segments that reference one of those.
    /// </summary>
    /// <param name="e">The event, as applied to the profile.</param>
    public IReadOnlyList<SegmentDefinition> AffectedBy(CustomerEvent e)
    {
        var hit = AffectedMask(e);
        var result = new List<SegmentDefinition>();
        for (var i = 0; i < hit.Length; i++)
        {
            if (hit[i])
            {
                result.Add(_ordered[i]);
            }
        }

        return result;
    }

    /// <summary>
    /// <see cref="AffectedBy"/> as a mask over <see cref="Segments"/> (by position). Shared between calls: do not change it.
    /// </summary>
    /// <param name="e">The event, as applied to the profile.</param>
    internal bool[] AffectedMask(CustomerEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.Traits.ValueKind != JsonValueKind.Object || UpdatedTraitPaths(e.Traits) is not { Count: > 0 } updated)
        {
            // Without trait updates the answer depends on the type alone.
            return _byTypeCache.GetOrAdd(e.Type, static (type, self) => self.Compute(type, []), this);
        }

        return Compute(e.Type, updated);
    }

    /// <summary>
    /// <see cref="AffectedMask(CustomerEvent)"/> narrowed by what the event's history record can change: a rule over the
    /// event's type only when it counts the recorded event (its fixed window and filter let it in; a rule whose filter or
    /// condition depends on time, or a min, max or distinct aggregate, always), none when nothing was recorded (a type no
    /// rule keeps, or an id already kept). Exact: a history rule's answer, as a function of time, depends only on the
    /// events it counts, and the instants at which time alone changes it are already scheduled checks.
    /// A new array, which the caller may change.
    /// </summary>
    /// <param name="e">The event, as applied to the profile.</param>
    /// <param name="recorded">The event as the history recorded it, or <see langword="null"/> when it recorded nothing.</param>
    /// <param name="replaced">
    /// Whether <paramref name="recorded"/> replaced a kept entry (an order seen before): every rule over the type is then
    /// affected, since one that counted the old entry may not count the new one.
    /// </param>
    internal bool[] AffectedMask(CustomerEvent e, RecordedEvent? recorded, bool replaced = false)
    {
        ArgumentNullException.ThrowIfNull(e);
        var hit = new bool[_ordered.Length];
        if (_ordered.Length == 0)
        {
            return hit;
        }

        if (e.Traits.ValueKind == JsonValueKind.Object && UpdatedTraitPaths(e.Traits) is { Count: > 0 } updated)
        {
            Compute(e.Type, updated, withHistory: false).CopyTo(hit, 0);
        }
        else
        {
            _byStatisticTypeCache.GetOrAdd(e.Type, static (type, self) => self.Compute(type, [], withHistory: false), this).CopyTo(hit, 0);
        }

        if (recorded is not null && _historyRulesByType.TryGetValue(e.Type, out var rules))
        {
            var added = false;
            foreach (var (i, rule, cacheable) in rules)
            {
                if (!hit[i] && (!cacheable || replaced || LeafAnswerCache.Counts(rule, recorded)))
                {
                    hit[i] = added = true;
                }
            }

            if (added)
            {
                CloseOverDependents(hit);
            }
        }

        return hit;
    }

    private bool[] Compute(string eventType, List<string> updatedTraits, bool withHistory = true)
    {
        var hit = new bool[_ordered.Length];
        if (_ordered.Length == 0)
        {
            return hit;
        }

        if ((withHistory ? _byEventType : _byStatisticEventType).TryGetValue(eventType, out var byType))
        {
            foreach (var i in byType)
            {
                hit[i] = true;
            }
        }

        foreach (var i in _everyEvent)
        {
            hit[i] = true;
        }

        foreach (var (path, i) in _byTraitPath)
        {
            if (!hit[i] && AnyTouches(path, updatedTraits))
            {
                hit[i] = true;
            }
        }

        CloseOverDependents(hit);
        return hit;
    }

    // Adds the segments that reference a hit one, transitively: dependency order makes one pass enough.
    private void CloseOverDependents(bool[] hit)
    {
        for (var i = 0; i < _ordered.Length; i++)
        {
            if (!hit[i])
            {
                foreach (var dep in _dependsOnIndexes[i])
                {
                    if (hit[dep])
                    {
                        hit[i] = true;
                        break;
                    }
                }
            }
        }
    }

    // A loop, not List.Exists: its lambda would capture the rule's path, a closure made per rule and event.
    private static bool AnyTouches(string rulePath, List<string> updated)
    {
        foreach (var u in updated)
        {
            if (Touches(rulePath, u))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Touches(string rulePath, string updated) =>
        string.Equals(rulePath, updated, StringComparison.Ordinal) ||
        (updated.Length > rulePath.Length && updated[rulePath.Length] == '.' && updated.StartsWith(rulePath, StringComparison.Ordinal)) ||
        (rulePath.Length > updated.Length && rulePath[updated.Length] == '.' && rulePath.StartsWith(updated, StringComparison.Ordinal));

    // The leaf paths a trait update sets or removes (objects are merged, as the profile applies them).
    private static List<string> UpdatedTraitPaths(JsonElement traits)
    {
        var paths = new List<string>();
        if (traits.ValueKind == JsonValueKind.Object)
        {
            Walk(traits, null, paths);
        }

        return paths;

        static void Walk(JsonElement obj, string? prefix, List<string> paths)
        {
            foreach (var p in obj.EnumerateObject())
            {
                var path = prefix is null ? p.Name : prefix + "." + p.Name;
                // An empty object clears the path (ProfileCore.SetTrait): it is a path the update removes.
                if (p.Value.ValueKind == JsonValueKind.Object && p.Value.EnumerateObject().Any())
                {
                    Walk(p.Value, path, paths);
                }
                else
                {
                    paths.Add(path);
                }
            }
        }
    }
}
