using System.Text.Json;

namespace Omnichannel.Sdk;

// Traits and consent: dotted paths, last writer by event time, and consent per channel and topic.
internal static partial class ProfileCore
{
    private static void ApplyTraits(CustomerProfile p, JsonElement traits, DateTimeOffset t, string eventId, int maxTraits)
    {
        if (traits.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var prop in LastOfEachKey(traits))
        {
            SetTrait(p, prop.Name, prop.Value, t, eventId, maxTraits);
        }
    }

    // An object's members, a repeated key giving only its last value: how JavaScript's JSON.parse (and so the tracking
    // clients' own servers) read one. Without this the first would win, as the same event's later write is no newer.
    private static IEnumerable<JsonProperty> LastOfEachKey(JsonElement o)
    {
        var members = o.EnumerateObject().ToList();
        if (members.Count < 2)
        {
            return members;
        }

        var last = new Dictionary<string, int>(members.Count, StringComparer.Ordinal);
        for (var i = 0; i < members.Count; i++)
        {
            last[members[i].Name] = i;
        }

        return last.Count == members.Count ? members : members.Where((m, i) => last[m.Name] == i);
    }

    /// <summary>
    /// Sets a trait (an object sets each of its leaves). Last writer wins by event time at every path, and a leaf and an
    /// object at the same path replace each other: the newer one wins whichever arrives first. An empty object has no
    /// leaf to set, and clears the path like <see langword="null"/>. A path the profile does not hold is not kept once it
    /// holds <paramref name="maxTraits"/> (<see cref="OmnichannelOptions.MaxTraitsPerProfile"/>).
    /// </summary>
    internal static void SetTrait(CustomerProfile p, string path, JsonElement value, DateTimeOffset t, string? eventId = null, int maxTraits = OmnichannelOptions.DefaultMaxTraitsPerProfile)
    {
        // {} newer than a leaf replaced it with nothing: setting no leaves kept the older value, as if never written.
        if (value.ValueKind == JsonValueKind.Object && value.EnumerateObject().Any())
        {
            foreach (var prop in LastOfEachKey(value))
            {
                SetTrait(p, path + "." + prop.Name, prop.Value, t, eventId, maxTraits);
            }

            return;
        }

        PutTrait(p, path, new TraitValue(value.ValueKind is JsonValueKind.Null or JsonValueKind.Object ? null : value.Clone(), t) { EventId = eventId }, maxTraits);
    }

    // The state is a function of the newest write per path: a write hides older writes below it (a leaf replaced an
    // object) and older leaves above it (an object replaced a leaf). Hidden leaves above stay as empty stamps, so a
    // still older write below them that arrives late stays hidden.
    private static void PutTrait(CustomerProfile p, string path, TraitValue tv, int maxTraits, bool merging = false)
    {
        // A write of the SDK itself (a journey's profile update: no event id) wins a tie, as the later processed.
        var held = false;
        if (p.TraitValues.TryGetValue(path, out var current)
            && (held = true)
            && (merging ? !MergedWriteWins(tv, current)
                : tv.EventId is null ? tv.At < current.At : !Stamp.Newer(tv.At, tv.EventId, current.At, current.EventId)))
        {
            return;
        }

        for (var dot = path.LastIndexOf('.'); dot > 0; dot = path.LastIndexOf('.', dot - 1))
        {
            if (p.TraitValues.TryGetValue(path[..dot], out var above) && Stamp.Newer(above.At, above.EventId, tv.At, tv.EventId))
            {
                return; // a newer leaf (or removal) above replaced this whole object
            }
        }

        // Audit U25: a new path past the limit is not kept. Checked before the walk below, which reads every path: each
        // new key made every later write slower, and a client sending new keys made the profile (and each commit) grow
        // without bound. A write over an object (a leaf or null replacing address.city, address.zip) removes at least as
        // many paths as it adds: it applies (review 29: "address": null at the limit left her address in place); the
        // look for a path below is a walk of at most the limit, at the limit only.
        var prefix = path + ".";
        if (!held && p.TraitValues.Count >= maxTraits && !p.TraitValues.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)))
        {
            p.TraitPathsRefused++; // logged after the commit
            return;
        }

        var newerBelow = false;
        List<string>? hidden = null;
        foreach (var (key, below) in p.TraitValues)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            if (Stamp.Newer(below.At, below.EventId, tv.At, tv.EventId))
            {
                newerBelow = true;
            }
            else
            {
                (hidden ??= []).Add(key);
            }
        }

        foreach (var key in hidden ?? [])
        {
            p.TraitValues.Remove(key);
        }

        // A newer write below turned this path into an object: keep only the stamp.
        p.TraitValues[path] = newerBelow ? tv with { Value = null } : tv;

        for (var dot = path.LastIndexOf('.'); dot > 0; dot = path.LastIndexOf('.', dot - 1))
        {
            var parent = path[..dot];
            if (p.TraitValues.TryGetValue(parent, out var pv) && pv.Value is not null)
            {
                p.TraitValues[parent] = pv with { Value = null };
            }
        }
    }

    // At a merge neither write was processed after the other, so "the later processed" cannot settle a tie: it made the
    // merged value depend on which profile had run the journey (audit U11). The SDK's own write still wins a tie with an
    // event's, now on either side; two of its writes at one instant are settled by value, so either direction agrees.
    private static bool MergedWriteWins(TraitValue theirs, TraitValue mine)
    {
        if (theirs.At != mine.At || (theirs.EventId is not null && mine.EventId is not null))
        {
            return Stamp.Newer(theirs.At, theirs.EventId, mine.At, mine.EventId);
        }

        if ((theirs.EventId is null) != (mine.EventId is null))
        {
            return theirs.EventId is null;
        }

        return string.CompareOrdinal(theirs.Value?.GetRawText(), mine.Value?.GetRawText()) > 0;
    }
}
