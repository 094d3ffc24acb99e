namespace Omnichannel.Sdk;

/// <summary>What identity resolution decided for one event.</summary>
internal sealed record ResolutionPlan(
    string? TargetProfileId,
    IReadOnlyList<(string ProfileId, Identifier CausedBy)> Absorb,
    IReadOnlyList<Identifier> Link,
    IReadOnlyList<(Identifier Identifier, string? OtherProfileId, string Reason)> Conflicts);

/// <summary>
/// Decides which profile an event belongs to, which profiles it merges, and which identifiers it links —
/// never breaking a per-type value limit. Pure: works on identifiers and the identifier sets of the profiles involved.
/// </summary>
internal static class IdentityResolver
{
    public static ResolutionPlan Plan(
        IReadOnlyList<Identifier> identifiers,
        IReadOnlyDictionary<Identifier, string> owners,
        InvolvedProfiles profile,
        IdentityOptions options)
    {
        if (SoleOwner(identifiers, owners, profile, options) is { } sole)
        {
            return new ResolutionPlan(sole, [], [], []);
        }

        // Most trusted first; among equals by type and value, never by the order the event lists them in (which of two
        // customer ids in one event is kept must not depend on how the host serialised them). An insertion sort: a
        // handful of identifiers.
        var ordered = new Identifier[identifiers.Count];
        var priorities = new int[identifiers.Count];
        for (var i = 0; i < ordered.Length; i++)
        {
            var id = identifiers[i];
            var priority = options.Rules[id.Type].Priority;
            var j = i;
            for (; j > 0 && (priorities[j - 1] < priority || (priorities[j - 1] == priority && Before(id, ordered[j - 1]))); j--)
            {
                ordered[j] = ordered[j - 1];
                priorities[j] = priorities[j - 1];
            }

            ordered[j] = id;
            priorities[j] = priority;
        }

        // Walk from the most trusted identifier down. The first owned identifier whose profile can hold what was
        // accepted so far decides the target; later profiles are absorbed only when no value limit would break.
        string? target = null;
        var held = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var absorb = new List<(string, Identifier)>();
        var link = new List<Identifier>();
        var conflicts = new List<(Identifier, string?, string)>();
        var refused = new HashSet<string>(StringComparer.Ordinal);

        foreach (var id in ordered)
        {
            if (!owners.TryGetValue(id, out var owner))
            {
                var values = held.TryGetValue(id.Type, out var v) ? v : held[id.Type] = new HashSet<string>(StringComparer.Ordinal);
                var limit = options.Rules[id.Type].Limit;
                if (limit is { } max && !values.Contains(id.Value) && values.Count >= max)
                {
                    conflicts.Add((id, null, $"the profile already holds {values.Count} {id.Type} value(s); the limit is {max}"));
                    continue;
                }

                values.Add(id.Value);
                link.Add(id);
                continue;
            }

            if (owner == target || Absorbs(absorb, owner))
            {
                continue;
            }

            if (refused.Contains(owner))
            {
                conflicts.Add((id, owner, "it belongs to a profile that cannot be merged with this one"));
                continue;
            }

            // A device or cookie is weak evidence: a family iPad, a shop kiosk or a library computer would otherwise fold
            // every customer who signs in on it into one profile (two emails are within the email limit). Through one, a
            // profile may not gain a second value of any type that identifies a person: an anonymous history still joins
            // the person, and an email profile still joins the customer id that signs in on the same device.
            if (!IdentifiesPerson(id, options) && DisagreeingPersonType(held, profile[owner], options) is { } type)
            {
                refused.Add(owner);
                conflicts.Add((id, owner, $"a shared {id.Type} does not merge two profiles that hold different {type} values"));
                continue;
            }

            if (ViolationIfJoined(held, profile[owner], options) is { } violation)
            {
                refused.Add(owner);
                conflicts.Add((id, owner, $"joining the profile that holds it would give {violation}"));
                continue;
            }

            AddAll(held, profile[owner]);
            if (target is null)
            {
                target = owner;
            }
            else
            {
                absorb.Add((owner, id));
            }
        }

        return new ResolutionPlan(target, absorb, link, conflicts);
    }

    /// <summary>
    /// The usual event of a known customer: every identifier already belongs to one profile that keeps within every
    /// limit. The walk below would choose that profile and change nothing; this answers the same without building sets.
    /// </summary>
    private static string? SoleOwner(IReadOnlyList<Identifier> identifiers, IReadOnlyDictionary<Identifier, string> owners, InvolvedProfiles profile, IdentityOptions options)
    {
        string? sole = null;
        for (var i = 0; i < identifiers.Count; i++)
        {
            if (!owners.TryGetValue(identifiers[i], out var owner) || (sole is not null && owner != sole))
            {
                return null;
            }

            sole = owner;
        }

        if (sole is null)
        {
            return null;
        }

        var held = profile[sole].IdentifierList;
        foreach (var (type, rule) in options.RuleTable)
        {
            if (rule.Limit is not { } max || held.Count <= max)
            {
                continue;
            }

            var count = 0;
            foreach (var h in held)
            {
                if (h.Type == type && ++count > max)
                {
                    return null;
                }
            }
        }

        return sole;
    }

    private static bool Absorbs(List<(string ProfileId, Identifier CausedBy)> absorb, string owner)
    {
        foreach (var a in absorb) // no lambda: its closure was made for every identifier an owner holds
        {
            if (a.ProfileId == owner)
            {
                return true;
            }
        }

        return false;
    }

    private static bool Before(Identifier a, Identifier b)
    {
        var byType = string.CompareOrdinal(a.Type, b.Type);
        return byType < 0 || (byType == 0 && string.CompareOrdinal(a.Value, b.Value) < 0);
    }

    private static bool IdentifiesPerson(Identifier id, IdentityOptions options) =>
        !options.RuleTable.TryGetValue(id.Type, out var rule) || rule.IdentifiesPerson;

    // The first type that identifies a person of which both sides hold a value (they hold different ones: an identifier
    // has one owner, and what the event links is nobody's).
    private static string? DisagreeingPersonType(Dictionary<string, HashSet<string>> held, CustomerProfile other, IdentityOptions options)
    {
        foreach (var i in other.IdentifierList)
        {
            if (held.TryGetValue(i.Type, out var values) && values.Count > 0 && !values.Contains(i.Value)
                && (!options.RuleTable.TryGetValue(i.Type, out var rule) || rule.IdentifiesPerson))
            {
                return i.Type;
            }
        }

        return null;
    }

    private static void AddAll(Dictionary<string, HashSet<string>> held, CustomerProfile p)
    {
        foreach (var i in p.IdentifierList)
        {
            if (!held.TryGetValue(i.Type, out var set))
            {
                held[i.Type] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            set.Add(i.Value);
        }
    }

    /// <summary>
    /// The first per-type limit that what is held and <paramref name="other"/>'s identifiers together would break, named
    /// as "{count} {type} values; the limit is {max}"; null when none. Types in the order the joined sets would list them
    /// (those held first, then the other's new types as they first appear). Counts what the join would hold without making
    /// it: a copy of every set was made for each profile an event joined.
    /// </summary>
    internal static string? ViolationIfJoined(Dictionary<string, HashSet<string>> held, CustomerProfile other, IdentityOptions options)
    {
        var list = other.IdentifierList;
        foreach (var (type, values) in held)
        {
            if (options.Rules.TryGetValue(type, out var rule) && rule.Limit is { } max
                && values.Count + NewValues(list, type, values) is var count && count > max)
            {
                return $"{count} {type} values; the limit is {max}";
            }
        }

        for (var i = 0; i < list.Count; i++)
        {
            var type = list[i].Type;
            if (held.ContainsKey(type) || SeenTypeBefore(list, i) || !options.Rules.TryGetValue(type, out var rule) || rule.Limit is not { } max)
            {
                continue;
            }

            if (NewValues(list, type, null) is var count && count > max)
            {
                return $"{count} {type} values; the limit is {max}";
            }
        }

        return null;
    }

    // How many distinct values of the type the list holds that are not in the held set.
    private static int NewValues(List<LinkedIdentifier> list, string type, HashSet<string>? held)
    {
        string? first = null;
        HashSet<string>? seen = null; // made only for a second new value (one is the usual case: a visitor's cookie)
        var count = 0;
        foreach (var i in list)
        {
            if (i.Type != type || (held is not null && held.Contains(i.Value)))
            {
                continue;
            }

            if (count == 0)
            {
                (first, count) = (i.Value, 1);
            }
            else if ((seen ??= new(StringComparer.Ordinal) { first! }).Add(i.Value))
            {
                count++;
            }
        }

        return count;
    }

    private static bool SeenTypeBefore(List<LinkedIdentifier> list, int index)
    {
        for (var j = 0; j < index; j++)
        {
            if (list[j].Type == list[index].Type)
            {
                return true;
            }
        }

        return false;
    }
}
