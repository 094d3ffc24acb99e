namespace Omnichannel.Sdk;

/// <summary>
/// One partition's hot profiles: kept deserialised, least recently used evicted first, bounded by count and by the
/// size of their stored documents. Not thread-safe: only the partition's worker touches it.
/// </summary>
/// <remarks>
/// A profile may sit in two partitions at once (events of one person routed by two identifiers), or in two engines on one
/// store; the store's version check catches a stale copy the unit writes, which is then evicted and read again, and a
/// copy an event only reads (a profile its identifiers are left unlinked from, or one a refusal rests on), or one work
/// that commits nothing (a <c>ReadOnly</c> effect) decided on, is checked against the stored version before the decision
/// stands. Work addressed by profile id follows the partition that last kept the profile (<see cref="ProfileAffinity"/>),
/// so it seldom meets a stale copy.
/// </remarks>
internal sealed class HotProfiles(int maxCount, long maxBytes, int partition = 0, ProfileAffinity? affinity = null)
{
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
        if (maxCount == 0 || documentBytes > maxBytes)
        {
            Remove(profile.Id);
            return;
        }

        affinity?.Record(profile.Id, partition);

        if (_index.TryGetValue(profile.Id, out var node))
        {
            _bytes += documentBytes - node.Value.Bytes;
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
            _bytes += documentBytes;
        }

        while (_index.Count > maxCount || _bytes > maxBytes)
        {
            var last = _order.Last!;
            _order.RemoveLast();
            _index.Remove(last.Value.Profile.Id);
            _bytes -= last.Value.Bytes;
        }
    }

    public void Remove(string profileId)
    {
        if (_index.Remove(profileId, out var node))
        {
            _order.Remove(node);
            _bytes -= node.Value.Bytes;
        }
    }

    public void Clear()
    {
        _index.Clear();
        _order.Clear();
        _bytes = 0;
    }

    private readonly record struct Entry(CustomerProfile Profile, int Bytes);
}
