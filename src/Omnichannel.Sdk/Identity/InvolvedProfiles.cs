namespace Omnichannel.Sdk;

/// <summary>
/// The profiles an event's identifiers belong to, by id: what identity resolution reads and what the event merges. Nearly
/// always one profile (a known customer), held without a dictionary: this is built for every event.
/// </summary>
internal sealed class InvolvedProfiles : IReadOnlyCollection<string>
{
    private string? _firstId;
    private CustomerProfile? _first;
    private Dictionary<string, CustomerProfile>? _more;

    /// <summary>How many profiles are involved.</summary>
    public int Count => _firstId is null ? 0 : 1 + (_more?.Count ?? 0);

    /// <summary>The profile with this id.</summary>
    /// <exception cref="KeyNotFoundException">It is not involved.</exception>
    public CustomerProfile this[string profileId] =>
        string.Equals(profileId, _firstId, StringComparison.Ordinal) ? _first!
        : _more is not null && _more.TryGetValue(profileId, out var p) ? p
        : throw new KeyNotFoundException($"Profile '{profileId}' is not one of the event's profiles.");

    /// <summary>Whether the profile with this id is involved.</summary>
    public bool Contains(string profileId) =>
        string.Equals(profileId, _firstId, StringComparison.Ordinal) || (_more?.ContainsKey(profileId) ?? false);

    /// <summary>Adds a profile (an id already added is replaced).</summary>
    public void Add(string profileId, CustomerProfile profile)
    {
        if (_firstId is null || string.Equals(profileId, _firstId, StringComparison.Ordinal))
        {
            (_firstId, _first) = (profileId, profile);
        }
        else
        {
            (_more ??= new(StringComparer.Ordinal))[profileId] = profile;
        }
    }

    /// <inheritdoc />
    public IEnumerator<string> GetEnumerator()
    {
        if (_firstId is null)
        {
            yield break;
        }

        yield return _firstId;
        if (_more is not null)
        {
            foreach (var id in _more.Keys)
            {
                yield return id;
            }
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
