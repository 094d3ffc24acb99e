using System.Collections.Concurrent;

namespace Omnichannel.Sdk.Storage;

/// <summary>
/// A store that keeps everything in process memory: for tests, samples and replays. Thread-safe; commits are
/// serialised by one lock, which the processed-event check also takes briefly; other reads never block. Nothing
/// survives the process.
/// </summary>
public sealed partial class InMemoryOmnichannelStore : IOmnichannelStore
{
    private readonly ConcurrentDictionary<string, StoredProfile> _profiles = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Identifier, string> _identity = new();
    private readonly ConcurrentDictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _suppressed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Tombstone> _tombstones = new(StringComparer.Ordinal);
    private readonly Lock _commitLock = new();

    // Guarded by _commitLock.
    // The processed event ids, one per event ever committed (until purged): a plain dictionary's entry is a struct in one
    // array, where a concurrent one holds a node object per id that every resize makes again (session 61).
    private readonly Dictionary<string, DateTimeOffset> _processed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _wakeAt = new(StringComparer.Ordinal);
    private readonly SortedSet<(DateTimeOffset At, string ProfileId)> _wakeOrder = new(WakeOrder.Instance);
    private readonly Dictionary<string, string[]> _segmentsOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (OutboxEntry Entry, DateTimeOffset? LeasedUntil)> _outbox = new(StringComparer.Ordinal);
    // Every accepted key, with the profile it was accepted for (audit U102: her erasure finds her keys past the 500 her
    // document names by it; a merge leaves it, the erasure follows the alias chain).
    private readonly Dictionary<string, string> _outboxKeys = new(StringComparer.Ordinal);
    private readonly SortedSet<(DateTimeOffset At, string Key)> _outboxReady = new(WakeOrder.Instance);  // not leased, by due time
    private readonly SortedSet<(DateTimeOffset At, string Key)> _outboxLeased = new(WakeOrder.Instance); // leased, by lease end
    private readonly Dictionary<Measurement.MeasurementKey, (long Count, double Sum)> _measurements = [];
    private readonly SortedSet<Measurement.MeasurementKey> _measurementOrder = new(Measurement.MeasurementKey.Order);

    // The processed ids by when they were processed, so a purge takes the expired ones off the front instead of walking
    // every kept id (a year's replay keeps every id for DeduplicationRetention). An id processed again leaves a stale
    // entry here, which the purge skips: it removes an id only while it still holds the instant it was queued with. An
    // erasure takes its ids out at once (an id may hold her address).
    private readonly PriorityQueue<string, DateTimeOffset> _processedOrder = new();

    /// <summary>
    /// A random key made for this store, used for keyed hashes when <c>OmnichannelOptions.Privacy.HashKey</c> is not set:
    /// the hashes live exactly as long as the store, so a per-store secret is enough here (and only here).
    /// </summary>
    internal byte[] FallbackHashKey { get; } = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    /// <summary>Number of live profiles.</summary>
    public int ProfileCount => _profiles.Count;

    /// <inheritdoc />
    public ValueTask<StoredProfile?> LoadProfileAsync(string profileId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_profiles.GetValueOrDefault(profileId));
    }

    /// <inheritdoc />
    public ValueTask<string?> ResolveProfileIdAsync(string profileId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var id = profileId;
        for (var hops = 0; hops < 1000; hops++)
        {
            if (_profiles.ContainsKey(id))
            {
                return ValueTask.FromResult<string?>(id);
            }

            if (!_aliases.TryGetValue(id, out var next))
            {
                return ValueTask.FromResult<string?>(null);
            }

            id = next;
        }

        return ValueTask.FromResult<string?>(null);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<Identifier, string>> ResolveIdentifiersAsync(IReadOnlyList<Identifier> identifiers, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();

        // The usual answer, every identifier held by one profile (a known customer's event), without a dictionary. Only for
        // an event's few (review rv62): OneOwner looks each one up by a scan, and a batch's look-up asks about thousands.
        string? sole = null;
        for (var i = 0; i < identifiers.Count && identifiers.Count <= OneOwner.MaxIdentifiers; i++)
        {
            if (!_identity.TryGetValue(identifiers[i], out var owner) || (sole is not null && sole != owner))
            {
                sole = null;
                break;
            }

            sole = owner;
        }

        if (sole is not null)
        {
            return ValueTask.FromResult<IReadOnlyDictionary<Identifier, string>>(new OneOwner(identifiers.ToArray(), sole)); // a copy: the caller's list may change
        }

        Dictionary<Identifier, string>? found = null;
        for (var i = 0; i < identifiers.Count; i++)
        {
            if (_identity.TryGetValue(identifiers[i], out var owner))
            {
                (found ??= new Dictionary<Identifier, string>(identifiers.Count))[identifiers[i]] = owner;
            }
        }

        return ValueTask.FromResult<IReadOnlyDictionary<Identifier, string>>(found ?? Empty);
    }

    private static readonly IReadOnlyDictionary<Identifier, string> Empty = new Dictionary<Identifier, string>();

    /// <inheritdoc />
    public ValueTask<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_commitLock)
        {
            return ValueTask.FromResult(_processed.ContainsKey(eventId));
        }
    }

    /// <inheritdoc />
    public bool CommitsFurtherEventIds => true;

    // Loops, not Any(…): a commit runs for every event, and a delegate per call adds up. Under _commitLock.
    private bool AnyProcessed(IReadOnlyList<string> eventIds)
    {
        for (var i = 0; i < eventIds.Count; i++)
        {
            if (_processed.ContainsKey(eventIds[i]))
            {
                return true;
            }
        }

        return false;
    }

    private bool AnyKeyTaken(IReadOnlyList<OutboxEntry> outbox)
    {
        for (var i = 0; i < outbox.Count; i++)
        {
            if (_outboxKeys.ContainsKey(outbox[i].MessageKey))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    public ValueTask<CommitResult> CommitAsync(ProfileCommit commit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(commit);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_commitLock)
        {
            if ((commit.EventId is not null && _processed.ContainsKey(commit.EventId)) || AnyProcessed(commit.FurtherEventIds))
            {
                return ValueTask.FromResult(new CommitResult(CommitStatus.DuplicateEvent, 0));
            }

            var currentVersion = _profiles.TryGetValue(commit.ProfileId, out var current) ? current.Version : 0;
            if (currentVersion != commit.ExpectedVersion || (commit.ExpectedVersion == 0 && _aliases.ContainsKey(commit.ProfileId)))
            {
                return ValueTask.FromResult(new CommitResult(CommitStatus.Conflict, 0));
            }

            for (var i = 0; i < commit.Absorbed.Count; i++) // loops by index: a foreach boxed the list's enumerator per merge
            {
                var a = commit.Absorbed[i];
                if (a.ProfileId == commit.ProfileId || !_profiles.TryGetValue(a.ProfileId, out var absorbed) || absorbed.Version != a.ExpectedVersion)
                {
                    return ValueTask.FromResult(new CommitResult(CommitStatus.Conflict, 0));
                }
            }

            foreach (var c in commit.Claims)
            {
                var owner = _identity.GetValueOrDefault(c.Identifier);
                if (owner != c.ExpectedOwner)
                {
                    return ValueTask.FromResult(new CommitResult(CommitStatus.Conflict, 0));
                }
            }

            // A key accepted before (another person's message, or one long ago) would be dropped: refused, not lost.
            if (AnyKeyTaken(commit.Outbox))
            {
                return ValueTask.FromResult(new CommitResult(CommitStatus.MessageKeyTaken, 0));
            }

            var version = currentVersion + 1;
            _profiles[commit.ProfileId] = commit.Shared is { } shared ? new StoredProfile(commit.ProfileId, version, shared) : new StoredProfile(commit.ProfileId, version, commit.Document);
            for (var i = 0; i < commit.Absorbed.Count; i++)
            {
                var a = commit.Absorbed[i];
                _profiles.TryRemove(a.ProfileId, out _);
                _aliases[a.ProfileId] = commit.ProfileId;
                SetWakeUp(a.ProfileId, null);
                SetSegments(a.ProfileId, []);
            }

            SetWakeUp(commit.ProfileId, commit.WakeAt);
            SetSegments(commit.ProfileId, commit.Segments);
            if (commit.Absorbed.Count > 0 && _outbox.Count > 0)
            {
                MoveOutbox(commit.Absorbed, commit.ProfileId);
            }

            foreach (var entry in commit.Outbox)
            {
                if (_outboxKeys.TryAdd(entry.MessageKey, entry.ProfileId))
                {
                    PutOutbox(entry.MessageKey, entry with { Attempt = 0 }, null);
                }
            }

            foreach (var c in commit.Claims)
            {
                _identity[c.Identifier] = commit.ProfileId;
            }

            foreach (var d in commit.Measurements)
            {
                ref var row = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_measurements, d.Key, out var exists);
                row = (row.Count + d.Count, row.Sum + d.Sum);
                if (!exists)
                {
                    _measurementOrder.Add(d.Key);
                }
            }

            if (commit.EventId is not null)
            {
                _processed[commit.EventId] = commit.ProcessedAt;
                _processedOrder.Enqueue(commit.EventId, commit.ProcessedAt);
            }

            foreach (var id in commit.FurtherEventIds)
            {
                _processed[id] = commit.ProcessedAt;
                _processedOrder.Enqueue(id, commit.ProcessedAt);
            }

            return ValueTask.FromResult(new CommitResult(CommitStatus.Committed, version));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListProfileIdsAsync(string? afterProfileId, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        IReadOnlyList<string> page = _profiles.Keys
            .Where(k => afterProfileId is null || StoredText.Compare(k, afterProfileId) > 0)
            .Order(StoredText.Order)
            .Take(limit)
            .ToList();
        return ValueTask.FromResult(page);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ProfileWakeUp>> GetDueProfilesAsync(DateTimeOffset dueBy, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        lock (_commitLock)
        {
            // Asked before every event on a virtual clock: nothing due, or only the next one, costs no enumeration.
            if (_wakeOrder.Count == 0 || _wakeOrder.Min.At > dueBy)
            {
                return ValueTask.FromResult<IReadOnlyList<ProfileWakeUp>>([]);
            }

            if (limit == 1)
            {
                return ValueTask.FromResult<IReadOnlyList<ProfileWakeUp>>([new ProfileWakeUp(_wakeOrder.Min.ProfileId, _wakeOrder.Min.At)]);
            }

            var due = new List<ProfileWakeUp>(Math.Min(limit, 16));
            foreach (var w in _wakeOrder)
            {
                if (w.At > dueBy || due.Count == limit)
                {
                    break;
                }

                due.Add(new ProfileWakeUp(w.ProfileId, w.At));
            }

            return ValueTask.FromResult<IReadOnlyList<ProfileWakeUp>>(due);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListSegmentMembersAsync(string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        lock (_commitLock)
        {
            IReadOnlyList<string> page = _members.TryGetValue(segmentId, out var members)
                ? [.. members.Where(m => afterProfileId is null || StoredText.Compare(m, afterProfileId) > 0).Take(limit)]
                : [];
            return ValueTask.FromResult(page);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Measurement.MeasurementRow>> GetMeasurementsAsync(Measurement.MeasurementQuery query, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_commitLock)
        {
            // One journey: a range of the ordered keys (journey, metric, …), so the rows read are the rows asked for.
            IEnumerable<Measurement.MeasurementKey> keys = _measurementOrder;
            if (query.JourneyId is { } journey && _measurementOrder.Count > 0)
            {
                var low = new Measurement.MeasurementKey(journey, "", "", "", "", DateOnly.MinValue, query.MetricPrefix ?? "");
                var highMetric = Measurement.MeasurementQuery.PrefixEnd(query.MetricPrefix);
                // The incremented prefix is no bound in code point order when its last character is U+DFFF or U+FFFF:
                // read the journey's whole range from the prefix on, the filter below keeps the matches.
                var high = highMetric is null || StoredText.Compare(highMetric, query.MetricPrefix) <= 0
                    ? new Measurement.MeasurementKey(journey + "\0", "", "", "", "", DateOnly.MinValue, "")
                    : new Measurement.MeasurementKey(journey, "", "", "", "", DateOnly.MinValue, highMetric);
                keys = Measurement.MeasurementKey.Order.Compare(low, high) < 0 ? _measurementOrder.GetViewBetween(low, high) : [];
            }

            var rows = new List<Measurement.MeasurementRow>();
            foreach (var k in keys)
            {
                if (query.Matches(k))
                {
                    var (count, sum) = _measurements[k];
                    rows.Add(new Measurement.MeasurementRow(k, count, sum));
                    if (rows.Count == query.Limit)
                    {
                        break;
                    }
                }
            }

            return ValueTask.FromResult<IReadOnlyList<Measurement.MeasurementRow>>(rows);
        }
    }

    private void SetWakeUp(string profileId, DateTimeOffset? at)
    {
        if (at is { } same && _wakeAt.TryGetValue(profileId, out var current) && current == same)
        {
            return; // unchanged: most commits
        }

        if (_wakeAt.Remove(profileId, out var old))
        {
            _wakeOrder.Remove((old, profileId));
        }

        if (at is { } t)
        {
            _wakeAt[profileId] = t;
            _wakeOrder.Add((t, profileId));
        }
    }

    // The absorbed profiles' pending messages now belong to the profile that absorbed them. A method of its own: the
    // lambdas capture its parameters, so their closure is made only for a merge, not on entry of every commit.
    private void MoveOutbox(IReadOnlyList<AbsorbedProfile> absorbed, string profileId)
    {
        foreach (var (key, pending) in _outbox.Where(o => absorbed.Any(a => a.ProfileId == o.Value.Entry.ProfileId)).ToList())
        {
            _outbox[key] = pending with { Entry = pending.Entry with { ProfileId = profileId } };
        }
    }

    private void SetSegments(string profileId, IReadOnlyCollection<string> segments)
    {
        var current = _segmentsOf.GetValueOrDefault(profileId) ?? [];
        if (current.Length == segments.Count && AllIn(current, segments) && AllIn(segments, current))
        {
            return; // unchanged: most commits
        }

        // Only the segments she left or entered change their members: each is a sorted set of every member's id, where a
        // remove and an add cost a search each, so one segment entered costs one add, not a remove and an add for each.
        foreach (var s in current)
        {
            if (!Holds(segments, s) && _members.TryGetValue(s, out var set) && set.Remove(profileId) && set.Count == 0)
            {
                _members.Remove(s);
            }
        }

        foreach (var s in segments)
        {
            if (Array.IndexOf(current, s) < 0)
            {
                if (!_members.TryGetValue(s, out var set))
                {
                    _members[s] = set = new SortedSet<string>(StoredText.Order);
                }

                set.Add(profileId);
            }
        }

        if (segments.Count == 0)
        {
            _segmentsOf.Remove(profileId);
        }
        else
        {
            _segmentsOf[profileId] = [.. segments];
        }
    }

    private static bool Holds(IReadOnlyCollection<string> segments, string segment)
    {
        if (segments is ICollection<string> collection)
        {
            return collection.Contains(segment); // a set's own look-up, an array's or a list's scan
        }

        foreach (var s in segments)
        {
            if (string.Equals(s, segment, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool AllIn(IReadOnlyCollection<string> these, IReadOnlyCollection<string> those)
    {
        foreach (var s in these)
        {
            if (!Holds(those, s))
            {
                return false;
            }
        }

        return true;
    }

    private sealed class WakeOrder : IComparer<(DateTimeOffset At, string ProfileId)>
    {
        public static readonly WakeOrder Instance = new();

        public int Compare((DateTimeOffset At, string ProfileId) x, (DateTimeOffset At, string ProfileId) y)
        {
            var c = x.At.CompareTo(y.At);
            return c != 0 ? c : StoredText.Compare(x.ProfileId, y.ProfileId);
        }
    }
}
