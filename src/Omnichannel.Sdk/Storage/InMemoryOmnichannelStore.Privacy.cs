namespace Omnichannel.Sdk.Storage;

// Erasure, tombstones and the suppression list.
public sealed partial class InMemoryOmnichannelStore
{
    /// <inheritdoc />
    public ValueTask<bool> EraseProfileAsync(ProfileErasure erasure, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(erasure);
        var profileId = erasure.ProfileId;
        lock (_commitLock)
        {
            if (!_profiles.TryGetValue(profileId, out var current) || (erasure.ExpectedVersion is { } v && current.Version != v))
            {
                return ValueTask.FromResult(false);
            }

            _profiles.TryRemove(profileId, out _);
            foreach (var h in erasure.SuppressionHashes)
            {
                _suppressed[h] = 0;
            }

            foreach (var t in erasure.Tombstones)
            {
                _tombstones[t.Hash] = t;
            }

            SetWakeUp(profileId, null);
            SetSegments(profileId, []);
            foreach (var key in _outbox.Where(o => o.Value.Entry.ProfileId == profileId).Select(o => o.Key).ToList())
            {
                RemoveOutbox(key);
            }

            foreach (var (id, owner) in _identity)
            {
                if (owner == profileId)
                {
                    _identity.TryRemove(id, out _);
                }
            }

            // Every alias whose chain ends here (a profile absorbed by one absorbed in turn): the ids she had.
            var chain = new HashSet<string>(StringComparer.Ordinal) { profileId };
            for (var found = true; found;)
            {
                found = false;
                foreach (var (alias, to) in _aliases)
                {
                    if (chain.Contains(to) && _aliases.TryRemove(alias, out _))
                    {
                        chain.Add(alias);
                        found = true;
                    }
                }
            }

            // Audit U99: the keys of her messages her document names (a host may build one from her address). Audit U102:
            // and, when the engine gives their hash, every key accepted for her or for a profile merged into her (the
            // chain), past the 500 her document names too; each keeps its tombstone, so it is still accepted once.
            foreach (var key in erasure.MessageKeys)
            {
                _outboxKeys.Remove(key);
            }

            var ownedOutcomeIds = new List<string>();
            if (erasure.MessageKeyTombstone is { } tombstoneOf)
            {
                var named = erasure.Tombstones.Select(t => t.Hash).ToHashSet(StringComparer.Ordinal);
                foreach (var key in _outboxKeys.Where(k => chain.Contains(k.Value)).Select(k => k.Key).ToList())
                {
                    _outboxKeys.Remove(key);
                    ownedOutcomeIds.AddRange(Privacy.Erasure.OutcomeIdsOf(key));
                    if (tombstoneOf(key) is { } t && !named.Contains(t.Hash))
                    {
                        _tombstones[t.Hash] = t; // one the erasure names (Tombstones, written above) stays as named
                    }
                }
            }

            // Journey message keys name the profile they started on: j:{profile id}:…
            static bool Names(HashSet<string> ids, string key) => key.StartsWith("j:", StringComparison.Ordinal) && key.IndexOf(':', 2) is > 2 and var end && ids.Contains(key[2..end]);
            foreach (var key in _outboxKeys.Keys.Where(k => Names(chain, k)).ToList())
            {
                _outboxKeys.Remove(key);
            }

            var forgotten = new HashSet<string>(StringComparer.Ordinal);
            foreach (var eventId in _processed.Keys.Where(k => Names(chain, k)).Concat(erasure.EventIds).Concat(ownedOutcomeIds).ToList())
            {
                // The outcomes of those messages (j:{profile id}:…:sent), and her own event ids as sent: their
                // tombstones refuse them from now on, and a raw id may hold her address (audit U63).
                if (_processed.Remove(eventId))
                {
                    forgotten.Add(eventId);
                }
            }

            ForgetProcessedOrder(forgotten);
            return ValueTask.FromResult(true);
        }
    }

    // The purge queue keeps an id until its retention ends even after the id left _processed: drop the erased ones now,
    // in one pass over the queue (erasures are rare; a pass per id would be one per event she sent). Under _commitLock.
    private void ForgetProcessedOrder(HashSet<string> ids)
    {
        if (ids.Count == 0)
        {
            return;
        }

        var kept = _processedOrder.UnorderedItems.Where(e => !ids.Contains(e.Element)).ToList();
        _processedOrder.Clear();
        _processedOrder.EnqueueRange(kept);
    }

    /// <summary>The message keys the store remembers as accepted (tests: what a memory dump of the store would show).</summary>
    internal IEnumerable<string> AcceptedMessageKeys
    {
        get
        {
            lock (_commitLock)
            {
                return [.. _outboxKeys.Keys];
            }
        }
    }

    /// <summary>The ids the purge queue holds (tests: what a memory dump of the store would show).</summary>
    internal IEnumerable<string> QueuedProcessedIds
    {
        get
        {
            lock (_commitLock)
            {
                return [.. _processedOrder.UnorderedItems.Select(e => e.Element)];
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Tombstone>> FindTombstonesAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(hashes);
        IReadOnlyList<Tombstone> found = [.. hashes.Distinct(StringComparer.Ordinal).Select(h => _tombstones.GetValueOrDefault(h)).OfType<Tombstone>()];
        return ValueTask.FromResult(found);
    }

    /// <inheritdoc />
    public ValueTask<int> LiftErasureAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(hashes);
        lock (_commitLock)
        {
            var n = 0;
            foreach (var h in hashes.Distinct(StringComparer.Ordinal))
            {
                n += (_tombstones.TryRemove(h, out _) ? 1 : 0) + (_suppressed.TryRemove(h, out _) ? 1 : 0);
            }

            return ValueTask.FromResult(n);
        }
    }

    /// <inheritdoc />
    public ValueTask SuppressAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(hashes);
        foreach (var h in hashes)
        {
            _suppressed.TryAdd(h, 0);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<bool> IsSuppressedAsync(string hash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_suppressed.ContainsKey(hash));
    }

    /// <inheritdoc />
    public ValueTask<int> PurgeProcessedEventsAsync(DateTimeOffset processedBefore, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var n = 0;
        lock (_commitLock)
        {
            while (_processedOrder.TryPeek(out var id, out var at) && at < processedBefore)
            {
                _processedOrder.Dequeue();
                if (_processed.TryGetValue(id, out var kept) && kept == at && _processed.Remove(id)) // not when processed again since, or erased
                {
                    n++;
                }
            }
        }

        return ValueTask.FromResult(n);
    }
}
