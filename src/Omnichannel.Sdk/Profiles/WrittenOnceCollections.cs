namespace Omnichannel.Sdk;

/// <summary>A list of immutable elements whose stored JSON is kept once written (see <see cref="WrittenJson{T}"/>).</summary>
internal sealed class WrittenOnceList<T> : List<T>
    where T : class
{
    private WrittenJson<T>? _written;

    internal WrittenJson<T> Written => _written ??= new();
}

/// <summary>
/// A dictionary (ordinal keys) of immutable values whose stored JSON is kept once written (see <see cref="WrittenJson{T}"/>),
/// with a <see cref="Version"/> that every change moves: a write with the version unchanged since the last one gives the
/// last write's pieces again without visiting an element.
/// </summary>
/// <remarks>
/// The dictionary is wrapped, not derived from: <see cref="Dictionary{TKey, TValue}"/> moves no version when a key's value is
/// replaced (.NET Core 3.0 on), which is how an updated order is written, and a base-typed reference could write past
/// any override. Here the only writers are this type's own members, and each moves the version; reads are the
/// dictionary's own (its struct enumerator, key and value collections, which cannot write).
/// </remarks>
internal sealed class WrittenOnceDictionary<T> : IReadOnlyDictionary<string, T>, System.Collections.ICollection
    where T : class
{
    private readonly Dictionary<string, T> _map;
    private WrittenJson<T>? _written;

    public WrittenOnceDictionary()
        : this(keep: true)
    {
    }

    /// <summary>A copy of <paramref name="entries"/> in their order; with <paramref name="keep"/> false it keeps no bytes and is written in full every time (a test's reference write).</summary>
    internal WrittenOnceDictionary(IEnumerable<KeyValuePair<string, T>> entries, bool keep = true)
        : this(keep)
    {
        foreach (var (key, value) in entries)
        {
            _map.Add(key, value);
        }
    }

    private WrittenOnceDictionary(bool keep)
    {
        _map = new(StringComparer.Ordinal);
        Keeps = keep;
    }

    /// <summary>False for a copy made to be written in full (see the constructor).</summary>
    internal bool Keeps { get; }

    /// <summary>Moved by every change (an added, replaced or removed entry, or a clear); never moved by a read.</summary>
    internal long Version { get; private set; }

    internal WrittenJson<T> Written => _written ??= new();

    public int Count => _map.Count;

    public Dictionary<string, T>.KeyCollection Keys => _map.Keys;

    public Dictionary<string, T>.ValueCollection Values => _map.Values;

    IEnumerable<string> IReadOnlyDictionary<string, T>.Keys => _map.Keys;

    IEnumerable<T> IReadOnlyDictionary<string, T>.Values => _map.Values;

    // The keys added since the last write, in the order added, while nothing else changed (null otherwise), and that
    // write's version: with no entry ever removed, a dictionary enumerates in the order of its adds, so these are its
    // last entries and the write can append them to the last write's pieces (WrittenJson.WriteAppended).
    private List<string>? _added;
    private long _writtenVersion = -1;
    private bool _removedAny;

    /// <summary>Past this many adds between two writes, the next write walks every entry (as it does after any other change).</summary>
    internal const int MaxAddedBetweenWrites = 64;

    /// <summary>The keys added since the last write, at <paramref name="writtenVersion"/>, when nothing else changed since; else null.</summary>
    internal List<string>? AddedSinceWritten(out long writtenVersion)
    {
        writtenVersion = _writtenVersion;
        return _added is { Count: > 0 } added ? added : null;
    }

    /// <summary>Marks the current version as written (the writer kept its pieces for it).</summary>
    internal void MarkWritten()
    {
        _writtenVersion = Version;
        if (_removedAny)
        {
            _added = null;
            return;
        }

        if (_added is { } added)
        {
            added.Clear();
        }
        else
        {
            _added = [];
        }
    }

    private void NoteAdded(string key)
    {
        if (_added is { } added)
        {
            if (added.Count < MaxAddedBetweenWrites)
            {
                added.Add(key);
            }
            else
            {
                _added = null;
            }
        }
    }

    /// <summary>The value under <paramref name="key"/> (<see cref="KeyNotFoundException"/> when there is none); a set adds or replaces it.</summary>
    public T this[string key]
    {
        get => _map[key];
        set
        {
            Version++;
            ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_map, key, out var exists);
            slot = value;
            if (exists)
            {
                _added = null; // a replaced entry: not at the end
            }
            else
            {
                NoteAdded(key);
            }
        }
    }

    public bool ContainsKey(string key) => _map.ContainsKey(key);

    /// <summary>Whether <paramref name="key"/> is held, without making a string of it.</summary>
    public bool ContainsKey(ReadOnlySpan<char> key) => _map.GetAlternateLookup<ReadOnlySpan<char>>().ContainsKey(key);

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T value) => _map.TryGetValue(key, out value);

    public T? GetValueOrDefault(string key) => _map.GetValueOrDefault(key);

    public void Add(string key, T value)
    {
        Version++;
        _map.Add(key, value);
        NoteAdded(key);
    }

    public bool TryAdd(string key, T value)
    {
        Version++;
        if (!_map.TryAdd(key, value))
        {
            return false;
        }

        NoteAdded(key);
        return true;
    }

    /// <summary>Removes <paramref name="key"/>'s entry; allowed while enumerating, as the dictionary's own.</summary>
    public bool Remove(string key)
    {
        Version++;
        if (!_map.Remove(key))
        {
            return false;
        }

        // A later add may take the removed entry's place in the dictionary's order: adds are no longer its last entries.
        _removedAny = true;
        _added = null;
        return true;
    }

    public void Clear()
    {
        Version++;
        _map.Clear();
        _removedAny = true;
        _added = null;
    }

    public Dictionary<string, T>.Enumerator GetEnumerator() => _map.GetEnumerator();

    // Read-only members (no writer in ICollection): the stored form leaves an empty collection out by its count.
    bool System.Collections.ICollection.IsSynchronized => false;

    object System.Collections.ICollection.SyncRoot => ((System.Collections.ICollection)_map).SyncRoot;

    void System.Collections.ICollection.CopyTo(Array array, int index) => ((System.Collections.ICollection)_map).CopyTo(array, index);

    IEnumerator<KeyValuePair<string, T>> IEnumerable<KeyValuePair<string, T>>.GetEnumerator() => _map.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _map.GetEnumerator();
}

/// <summary>
/// A set of strings compared ordinally that only grows (a profile's cancelled orders: each counted once), written as a
/// JSON array in ordinal order (see <see cref="OrdinalSetConverter"/>). The written array is kept until the next add, so a
/// commit that added nothing writes it again as bytes instead of sorting and writing every string: a profile's cancelled
/// orders are never trimmed.
/// </summary>
internal sealed class OrdinalSet : IReadOnlyCollection<string>
{
    /// <summary>Below this many strings, sorting and writing them is cheap enough that keeping the bytes is not worth their memory.</summary>
    internal const int MinimumToKeep = 16;

    private readonly HashSet<string> _set = new(StringComparer.Ordinal);
    private byte[]? _written; // the array as last written with _writtenWith; never changed once handed out (shared documents refer to it)
    private System.Text.Json.JsonSerializerOptions? _writtenWith;

    public int Count => _set.Count;

    /// <summary>Adds <paramref name="item"/>; false when it was there already.</summary>
    public bool Add(string item)
    {
        if (!_set.Add(item))
        {
            return false;
        }

        _written = null;
        return true;
    }

    public bool Contains(string item) => _set.Contains(item);

    public HashSet<string>.Enumerator GetEnumerator() => _set.GetEnumerator();

    IEnumerator<string> IEnumerable<string>.GetEnumerator() => _set.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _set.GetEnumerator();

    /// <summary>The array last written with <paramref name="options"/> when nothing was added since; else null.</summary>
    internal byte[]? Kept(System.Text.Json.JsonSerializerOptions options) => ReferenceEquals(options, _writtenWith) ? _written : null;

    /// <summary>The array last written, whatever its options; null after an add (tests read it).</summary>
    internal byte[]? Written => _written;

    internal void Keep(byte[] bytes, System.Text.Json.JsonSerializerOptions options)
    {
        _written = bytes;
        _writtenWith = options;
    }
}
