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

            var candidate = Clone(held);
            AddAll(candidate, profile[owner]);
            if (FirstViolation(candidate, options) is { } violation)
            {
                refused.Add(owner);
                conflicts.Add((id, owner, $"joining the profile that holds it would give {violation}"));
                continue;
            }

            held = candidate;
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

    // A loop, not ToDictionary: a merge clones once per profile it joins, and LINQ boxed the enumerator and made delegates.
    // The copy keeps the original's order (FirstViolation names the first type over its limit in that order).
    private static Dictionary<string, HashSet<string>> Clone(Dictionary<string, HashSet<string>> held)
    {
        var copy = new Dictionary<string, HashSet<string>>(held.Count, StringComparer.Ordinal);
        foreach (var (type, values) in held)
        {
            copy.Add(type, new HashSet<string>(values, StringComparer.Ordinal));
        }

        return copy;
    }

    private static string? FirstViolation(Dictionary<string, HashSet<string>> held, IdentityOptions options)
    {
        foreach (var (type, values) in held)
        {
            if (options.Rules.TryGetValue(type, out var rule) && rule.Limit is { } max && values.Count > max)
            {
                return $"{values.Count} {type} values; the limit is {max}";
            }
        }

        return null;
    }
}
