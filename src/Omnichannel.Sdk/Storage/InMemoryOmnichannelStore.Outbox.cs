namespace Omnichannel.Sdk.Storage;

// The outbox: claims with a lease and a fencing attempt, completion, rescheduling, ordered by due time.
public sealed partial class InMemoryOmnichannelStore
{
    /// <inheritdoc />
    public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken = default) =>
        ClaimOutboxAsync(now, lease, limit, null, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, IReadOnlyCollection<string>? channels, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        lock (_commitLock)
        {
            // Leases that ran out put their entries back among the ready ones (their due time has passed: they were claimed).
            while (_outboxLeased.Count > 0 && _outboxLeased.Min.At <= now)
            {
                var key = _outboxLeased.Min.Key;
                PutOutbox(key, _outbox[key].Entry, null);
            }

            var claimed = new List<OutboxEntry>(Math.Min(limit, _outboxReady.Count));
            foreach (var (due, key) in _outboxReady)
            {
                if (due > now || claimed.Count == limit)
                {
                    break;
                }

                var entry = _outbox[key].Entry;
                if (Serves(channels, entry.Channel))
                {
                    claimed.Add(entry with { Attempt = entry.Attempt + 1 });
                }
            }

            // Saturate rather than overflow, as the SQL stores do: a lease past the end of time is held until it.
            var leasedUntil = lease >= DateTimeOffset.MaxValue - now ? DateTimeOffset.MaxValue : now.ToUniversalTime() + lease;
            foreach (var e in claimed)
            {
                PutOutbox(e.MessageKey, e, leasedUntil);
            }

            return ValueTask.FromResult<IReadOnlyList<OutboxEntry>>(claimed);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> CompleteOutboxAsync(string messageKey, int attempt, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_commitLock)
        {
            var owned = _outbox.TryGetValue(messageKey, out var o) && o.Entry.Attempt == attempt;
            if (owned)
            {
                RemoveOutbox(messageKey);
            }

            return ValueTask.FromResult(owned);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> RescheduleOutboxAsync(string messageKey, int attempt, DateTimeOffset dueAt, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_commitLock)
        {
            var owned = _outbox.TryGetValue(messageKey, out var o) && o.Entry.Attempt == attempt;
            if (owned)
            {
                PutOutbox(messageKey, o.Entry with { DueAt = dueAt }, null);
            }

            return ValueTask.FromResult(owned);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> AdvanceOutboxAsync(string messageKey, DateTimeOffset dueAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageKey);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_commitLock)
        {
            var moved = _outbox.TryGetValue(messageKey, out var o) && o.LeasedUntil is null && o.Entry.DueAt > dueAt;
            if (moved)
            {
                PutOutbox(messageKey, o.Entry with { DueAt = dueAt }, null);
            }

            return ValueTask.FromResult(moved);
        }
    }

    /// <inheritdoc />
    public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(CancellationToken cancellationToken = default) =>
        GetNextOutboxDueAsync(null, cancellationToken);

    /// <inheritdoc />
    public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(IReadOnlyCollection<string>? channels, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_commitLock)
        {
            DateTimeOffset? next = null;
            foreach (var (due, key) in _outboxReady)
            {
                if (Serves(channels, _outbox[key].Entry.Channel))
                {
                    next = due;
                    break;
                }
            }

            foreach (var (leasedUntil, key) in _outboxLeased)
            {
                if (next is { } n && leasedUntil >= n)
                {
                    break; // in lease order: no later one can be earlier (its due time passed when it was claimed)
                }

                var entry = _outbox[key].Entry;
                if (Serves(channels, entry.Channel))
                {
                    var at = leasedUntil > entry.DueAt ? leasedUntil : entry.DueAt;
                    next = next is null || at < next ? at : next;
                    break;
                }
            }

            return ValueTask.FromResult(next);
        }
    }

    private static bool Serves(IReadOnlyCollection<string>? channels, string? channel) =>
        channels is null || channel is null || channels.Contains(channel, StringComparer.Ordinal);

    // Guarded by _commitLock: the outbox and its two orders change together.
    private void PutOutbox(string key, OutboxEntry entry, DateTimeOffset? leasedUntil)
    {
        RemoveOutbox(key);
        _outbox[key] = (entry, leasedUntil);
        (leasedUntil is { } until ? _outboxLeased : _outboxReady).Add((leasedUntil ?? entry.DueAt, key));
    }

    private void RemoveOutbox(string key)
    {
        if (_outbox.Remove(key, out var o))
        {
            (o.LeasedUntil is { } until ? _outboxLeased : _outboxReady).Remove((o.LeasedUntil ?? o.Entry.DueAt, key));
        }
    }
}
