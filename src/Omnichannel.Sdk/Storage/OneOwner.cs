namespace Omnichannel.Sdk;

/// <summary>
/// Identifiers all held by one profile, as a store's lookup answers for them: read by the same code, without a
/// dictionary made for every event (a run's events, and the in-memory store's look-up of a known customer).
/// </summary>
internal sealed class OneOwner(IReadOnlyList<Identifier> identifiers, string owner) : IReadOnlyDictionary<Identifier, string>
{
    /// <summary>The most identifiers a store answers this way (each look-up scans them; review rv62).</summary>
    public const int MaxIdentifiers = 8;

    public int Count
    {
        get
        {
            var distinct = 0;
            for (var i = 0; i < identifiers.Count; i++)
            {
                if (IndexOf(identifiers[i]) == i)
                {
                    distinct++;
                }
            }

            return distinct;
        }
    }

    public IEnumerable<Identifier> Keys => identifiers.Where((id, i) => IndexOf(id) == i);

    public IEnumerable<string> Values => Keys.Select(_ => owner);

    public string this[Identifier key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException();

    public bool ContainsKey(Identifier key) => IndexOf(key) >= 0;

    public bool TryGetValue(Identifier key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value)
    {
        value = IndexOf(key) >= 0 ? owner : null;
        return value is not null;
    }

    public IEnumerator<KeyValuePair<Identifier, string>> GetEnumerator() =>
        Keys.Select(k => new KeyValuePair<Identifier, string>(k, owner)).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(Identifier key)
    {
        for (var i = 0; i < identifiers.Count; i++)
        {
            if (identifiers[i] == key)
            {
                return i;
            }
        }

        return -1;
    }
}
