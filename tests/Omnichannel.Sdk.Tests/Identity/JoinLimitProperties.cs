using FsCheck.Xunit;
using Xunit;

namespace Omnichannel.Sdk.Tests.Identity;

/// <summary>
/// Session 64: identity resolution asks whether joining a profile would break a per-type limit by counting what the join
/// would hold, instead of copying every held set and adding the profile's identifiers to the copy. For every held sets,
/// profile (duplicates in its list included) and limits, the answer — which type, named with which count — must be the
/// copy's. Inputs are spread from a generated int by a SplitMix64 finaliser.
/// </summary>
public sealed class JoinLimitProperties
{
    private static readonly string[] Types = [IdentifierTypes.Email, IdentifierTypes.CustomerId, IdentifierTypes.Phone, IdentifierTypes.AnonymousId, IdentifierTypes.LoyaltyCard];

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // The check as it was: a copy of the held sets in their order, the profile's identifiers added, the first type over.
    private static string? ByCopy(Dictionary<string, HashSet<string>> held, CustomerProfile other, IdentityOptions options)
    {
        var copy = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (type, values) in held)
        {
            copy.Add(type, new HashSet<string>(values, StringComparer.Ordinal));
        }

        foreach (var i in other.IdentifierList)
        {
            if (!copy.TryGetValue(i.Type, out var set))
            {
                copy[i.Type] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            set.Add(i.Value);
        }

        foreach (var (type, values) in copy)
        {
            if (options.Rules.TryGetValue(type, out var rule) && rule.Limit is { } max && values.Count > max)
            {
                return $"{values.Count} {type} values; the limit is {max}";
            }
        }

        return null;
    }

    [Property(MaxTest = 1000)]
    public void CountingTheJoin_NamesWhatTheCopyNamed(int seed)
    {
        var z = Mix((ulong)(uint)seed);
        ulong Next(ulong max) => (z = Mix(z)) % max;

        var options = new IdentityOptions();
        foreach (var type in Types)
        {
            options.Rules[type].Limit = Next(3) == 0 ? null : (int)Next(4); // none, or 0 to 3
        }

        var held = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        for (var n = (int)Next(5); n > 0; n--)
        {
            var type = Types[Next((ulong)Types.Length)];
            if (!held.TryGetValue(type, out var values))
            {
                held[type] = values = new HashSet<string>(StringComparer.Ordinal);
            }

            for (var v = (int)Next(4); v > 0; v--)
            {
                values.Add("v" + Next(5));
            }
        }

        var other = new CustomerProfile("other", DateTimeOffset.UnixEpoch);
        for (var n = (int)Next(9); n > 0; n--)
        {
            // Values from the same small pool: some held already, some repeated in her own list.
            other.IdentifierList.Add(new LinkedIdentifier(Types[Next((ulong)Types.Length)], "v" + Next(5), DateTimeOffset.UnixEpoch));
        }

        var before = held.ToDictionary(kv => kv.Key, kv => kv.Value.Order(StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        Assert.Equal(ByCopy(held, other, options), IdentityResolver.ViolationIfJoined(held, other, options));
        Assert.Equal(before.Keys, held.Keys); // asking changes nothing held
        Assert.All(before, kv => Assert.Equal(kv.Value, held[kv.Key].Order(StringComparer.Ordinal)));
    }
}
