namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// The timer queue a shop would write by hand: a <see cref="PriorityQueue{TElement, TPriority}"/> of (profile, due time)
/// and a dictionary of each profile's current due time. Cancelling only forgets the due time (lazy deletion): the stale
/// heap entry stays until it reaches the top and is skipped. In process memory, not durable, not thread-safe.
/// </summary>
internal sealed class NaiveTimerQueue
{
    private readonly PriorityQueue<string, DateTimeOffset> _queue;
    private readonly Dictionary<string, DateTimeOffset> _dueAt;

    public NaiveTimerQueue(int capacity)
    {
        _queue = new PriorityQueue<string, DateTimeOffset>(capacity);
        _dueAt = new Dictionary<string, DateTimeOffset>(capacity, StringComparer.Ordinal);
    }

    /// <summary>Pending timers (stale heap entries not counted).</summary>
    public int Count => _dueAt.Count;

    /// <summary>Sets (or moves) a profile's timer; a moved timer leaves its old heap entry behind, stale.</summary>
    public void Schedule(string profileId, DateTimeOffset at)
    {
        _dueAt[profileId] = at;
        _queue.Enqueue(profileId, at);
    }

    public bool Cancel(string profileId) => _dueAt.Remove(profileId);

    /// <summary>Takes the earliest timer due at or before <paramref name="now"/>, skipping stale entries.</summary>
    public bool TryFire(DateTimeOffset now, out string profileId)
    {
        while (_queue.TryPeek(out var top, out var at) && at <= now)
        {
            _queue.Dequeue();
            if (_dueAt.TryGetValue(top, out var current) && current == at)
            {
                _dueAt.Remove(top);
                profileId = top;
                return true;
            }
        }

        profileId = string.Empty;
        return false;
    }
}
