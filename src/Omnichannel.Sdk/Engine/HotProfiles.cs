namespace Omnichannel.Sdk;

/// <summary>
/// One partition's hot profiles: kept deserialised, least recently used evicted first, bounded by count (per partition)
/// and by the size of their stored documents (a <see cref="HotBudget"/> all partitions share). Not thread-safe: only the
/// partition's worker touches it (the budget is the one member shared, and it is atomic).
/// </summary>
/// <remarks>
/// A profile may sit in two partitions at once (events of one person routed by two identifiers), or in two engines on one
/// store; the store's version check catches a stale copy the unit writes, which is then evicted and read again, and a
/// copy an event only reads (a profile its identifiers are left unlinked from, or one a refusal rests on), or one work
/// that commits nothing (a <c>ReadOnly</c> effect) decided on, is checked against the stored version before the decision
/// stands. Work addressed by profile id follows the partition that last kept the profile (<see cref="ProfileAffinity"/>),
/// so it seldom meets a stale copy.
/// </remarks>
internal sealed class HotProfiles(int maxCount, HotBudget budget, int partition = 0, ProfileAffinity? affinity = null)
{
    /// <summary>One partition alone, with a budget of its own (tests).</summary>
    public HotProfiles(int maxCount, long maxBytes)
        : this(maxCount, new HotBudget(maxBytes))
    {
    }

    private readonly Dictionary<string, LinkedListNode<Entry>> _index = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _order = new(); // most recently used first
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _forgetLater = new(); // the one member other threads touch
    private long _bytes;

    public int Count => _index.Count;

    /// <summary>
    /// Asks the worker to drop its copy of a profile the next time it takes work (thread-safe): an erasure whose mark
    /// found the partition's queue full.
    /// </summary>
    public void ForgetLater(string profileId) => _forgetLater.Enqueue(profileId);

    /// <summary>Drops the copies <see cref="ForgetLater"/> asked for (the worker, between two pieces of work).</summary>
    public void ForgetAsked()
    {
        while (_forgetLater.TryDequeue(out var profileId))
        {
            Remove(profileId);
        }
    }

    /// <summary>Whether <see cref="ForgetLater"/> asked for something not yet dropped (a volatile read).</summary>
    public bool HasForgetsAsked => !_forgetLater.IsEmpty;

    public long Bytes => _bytes;

    /// <summary>Whether a copy of the profile is kept, without touching the order (tests read it while the engine is idle).</summary>
    public bool Contains(string profileId) => _index.ContainsKey(profileId);

    /// <summary>The kept copy of a profile, without touching the order (tests read it while the engine is idle).</summary>
    public CustomerProfile? Peek(string profileId) => _index.TryGetValue(profileId, out var node) ? node.Value.Profile : null;

    public bool TryGet(string profileId, out CustomerProfile profile)
    {
        if (_index.TryGetValue(profileId, out var node))
        {
            if (node != _order.First)
            {
                _order.Remove(node);
                _order.AddFirst(node);
            }

            profile = node.Value.Profile;
            return true;
        }

        profile = null!;
        return false;
    }

    /// <summary>Keeps (or refreshes) a profile whose stored document is <paramref name="documentBytes"/> long.</summary>
    public void Put(CustomerProfile profile, int documentBytes)
    {
        if (maxCount == 0 || documentBytes > budget.Max)
        {
            Remove(profile.Id);
            return;
        }

        affinity?.Record(profile.Id, partition);

        if (_index.TryGetValue(profile.Id, out var node))
        {
            Account(documentBytes - node.Value.Bytes);
            node.Value = new Entry(profile, documentBytes);
            if (node != _order.First)
            {
                _order.Remove(node);
                _order.AddFirst(node);
            }
        }
        else
        {
            _index[profile.Id] = _order.AddFirst(new Entry(profile, documentBytes));
            Account(documentBytes);
        }

        // Over the shared budget, a partition gives up its own least recently used copies first: the budget goes where
        // profiles are used (split evenly, a partition whose customers had large profiles read them from the store on
        // every event while the others' shares stood empty). The one just kept goes last, below.
        while (_index.Count > maxCount || (budget.IsOver && _order.Last != _order.First))
        {
            var last = _order.Last!;
            _order.RemoveLast();
            _index.Remove(last.Value.Profile.Id);
            Account(-last.Value.Bytes);
        }

        // Review rv62: the one just kept stays only while the other partitions' copies fit the budget. Kept whatever they
        // held, every partition held one (documents near the budget: 64 partitions over 64 KiB held about 60 of them).
        if (budget.IsOver && budget.Used - documentBytes > budget.Max)
        {
            Remove(profile.Id);
        }
    }

    public void Remove(string profileId)
    {
        if (_index.Remove(profileId, out var node))
        {
            _order.Remove(node);
            Account(-node.Value.Bytes);
        }
    }

    public void Clear()
    {
        _index.Clear();
        _order.Clear();
        Account(-_bytes);
    }

    private void Account(long bytes)
    {
        _bytes += bytes;
        budget.Add(bytes);
    }

    private readonly record struct Entry(CustomerProfile Profile, int Bytes);
}

/// <summary>
/// The bytes of stored document all partitions' hot profiles may hold together (<see cref="OmnichannelOptions.ProfileCacheBytes"/>),
/// and how many they hold now. Thread-safe.
/// </summary>
internal sealed class HotBudget(long max)
{
    private long _used;

    /// <summary>The budget, in bytes of stored document.</summary>
    public long Max => max;

    /// <summary>The bytes held now, by every partition.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>Whether more than <see cref="Max"/> is held.</summary>
    public bool IsOver => Used > max;

    public void Add(long bytes) => Interlocked.Add(ref _used, bytes);
}
