using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Sqlite;

// Writes: each is queued for the writer loop, and applied there in SQL (the commit's expectations checked first).
public sealed partial class SqliteOmnichannelStore
{
    /// <inheritdoc />
    public bool CommitsFurtherEventIds => true;

    /// <inheritdoc />
    public ValueTask<CommitResult> CommitAsync(ProfileCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);

        // Checked here, not on the writer, where a null would fail the whole batch instead of this call.
        foreach (var entry in commit.Outbox)
        {
            ArgumentNullException.ThrowIfNull(entry, nameof(commit));
            if (entry.MessageKey is null || entry.ProfileId is null || entry.Payload is null)
            {
                throw new ArgumentException($"Outbox entry '{entry.MessageKey}' needs a MessageKey, a ProfileId and a Payload.", nameof(commit));
            }
        }

        foreach (var d in commit.Measurements)
        {
            ArgumentNullException.ThrowIfNull(d, nameof(commit));
            var k = d.Key;
            if (k is null || k.JourneyId is null || k.StepId is null || k.Variant is null || k.Channel is null || k.TemplateId is null || k.Metric is null)
            {
                throw new ArgumentException("A measurement delta needs a key with every dimension set (empty for none).", nameof(commit));
            }

            if (!double.IsFinite(d.Sum))
            {
                throw new ArgumentException($"The measurement delta of '{k.Metric}' has a sum of {d.Sum}; SQLite stores finite numbers only.", nameof(commit));
            }
        }

        if (StoredText.Problem(commit) is { } problem)
        {
            throw new ArgumentException(problem, nameof(commit));
        }

        // ApplyCommit checks every expectation before its first write: a refused commit has written nothing.
        return EnqueueAsync(
            w =>
            {
                var result = ApplyCommit(w, commit, _time.GetUtcNow().UtcTicks);
                if (result.Status == CommitStatus.Committed)
                {
                    // Written in full (a failure part-way throws before this): the kept wake-up list learns of it after COMMIT.
                    NoteWake(commit.ProfileId, commit.WakeAt);
                    foreach (var a in commit.Absorbed)
                    {
                        NoteWake(a.ProfileId, null);
                    }
                }

                return result;
            },
            r => r.Status == CommitStatus.Committed,
            cancellationToken,
            writesOnlyWhenKept: true);
    }

    /// <inheritdoc />
    /// <remarks>
    /// With <see cref="SqliteStoreOptions.SecureDelete"/> (the default) the deleted rows are overwritten with zeros, and
    /// after the erasing transaction commits the WAL is checkpointed into the database and truncated, so the erased
    /// values are in neither file when this returns. The caller hears of the erasure only after both.
    /// </remarks>
    public ValueTask<bool> EraseProfileAsync(ProfileErasure erasure, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(erasure);
        ArgumentNullException.ThrowIfNull(erasure.ProfileId);
        // Before any answer made without the database: a cancelled call answers nothing (audit U30).
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(erasure.ProfileId))
        {
            return ValueTask.FromResult(false); // no profile has that id
        }

        if (!erasure.SuppressionHashes.All(StoredText.CanHold) || !erasure.Tombstones.All(t => StoredText.CanHold(t?.Hash)))
        {
            throw new ArgumentException("A suppression hash or tombstone holds a NUL or an unpaired surrogate, which the store cannot keep as given.", nameof(erasure));
        }

        var profileId = erasure.ProfileId;
        var suppression = erasure.SuppressionHashes.ToArray();
        var tombstones = erasure.Tombstones.ToArray();
        var eventIds = JsonArrayOf([.. erasure.EventIds.Where(StoredText.CanHold)]); // an id it cannot hold was never stored
        var messageKeys = JsonArrayOf([.. erasure.MessageKeys.Where(StoredText.CanHold)]);
        return EnqueueAsync(
            w =>
            {
                var deleted = erasure.ExpectedVersion is { } version
                    ? w.ExecuteCount("DELETE FROM profiles WHERE id = $p0 AND version = $p1", profileId, version)
                    : w.ExecuteCount("DELETE FROM profiles WHERE id = $p0", profileId);
                if (deleted == 0)
                {
                    return false;
                }

                w.Execute("DELETE FROM identifiers WHERE profile_id = $p0", profileId);
                // Journey message keys, and the ids of their outcome events, name the profile they started on
                // (j:{profile id}:…): a key range per id she had, found before the aliases that name those ids go.
                w.Execute(
                    "WITH RECURSIVE chain(id) AS (SELECT $p0 UNION SELECT a.old_id FROM aliases a JOIN chain c ON a.new_id = c.id) " +
                    "DELETE FROM outbox_keys WHERE EXISTS (SELECT 1 FROM chain WHERE message_key >= 'j:' || id || ':' AND message_key < 'j:' || id || ';')",
                    profileId);
                w.Execute(
                    "WITH RECURSIVE chain(id) AS (SELECT $p0 UNION SELECT a.old_id FROM aliases a JOIN chain c ON a.new_id = c.id) " +
                    "DELETE FROM processed_events WHERE EXISTS (SELECT 1 FROM chain WHERE event_id >= 'j:' || id || ':' AND event_id < 'j:' || id || ';')",
                    profileId);
                // Her own event ids as sent (one may hold her address): their tombstones refuse them from now on.
                w.Execute("DELETE FROM processed_events WHERE event_id IN (SELECT value FROM json_each($p0))", eventIds);

                // Audit U102: every key accepted for her or a profile merged into her (past the 500 her document names), each
                // keeping its hash so that it is still accepted once; found, like the journey keys, before the aliases go.
                var ownedTombstones = erasure.MessageKeyTombstone is { } tombstoneOf ? OwnedKeyTombstones(w, profileId, tombstoneOf, tombstones) : [];

                // Every alias whose chain ends here (a profile absorbed by one absorbed in turn): the ids she had.
                w.Execute(
                    "WITH RECURSIVE chain(id) AS (SELECT $p0 UNION SELECT a.old_id FROM aliases a JOIN chain c ON a.new_id = c.id) " +
                    "DELETE FROM aliases WHERE new_id IN (SELECT id FROM chain)",
                    profileId);
                w.Execute("DELETE FROM segment_members WHERE profile_id = $p0", profileId);
                // Audit U99: the keys of her messages her document names (a host may build one from her address).
                w.Execute("DELETE FROM outbox_keys WHERE message_key IN (SELECT value FROM json_each($p0))", messageKeys);
                w.Execute("DELETE FROM outbox WHERE profile_id = $p0", profileId);
                foreach (var h in suppression)
                {
                    w.Execute("INSERT OR IGNORE INTO suppression (hash) VALUES ($p0)", h);
                }

                foreach (var t in tombstones.Concat(ownedTombstones))
                {
                    w.Execute(
                        "INSERT INTO tombstones (hash, erased_at, allows_return) VALUES ($p0, $p1, $p2) " +
                        "ON CONFLICT (hash) DO UPDATE SET erased_at = excluded.erased_at, allows_return = excluded.allows_return",
                        t.Hash,
                        t.ErasedAt.UtcTicks,
                        t.AllowsReturn ? 1L : 0L);
                }

                _checkpointAfterBatch = true;
                NoteWake(profileId, null); // last: a statement that failed before left her row (and wake-up) in place
                return true;
            },
            static erased => erased,
            cancellationToken);
    }

    // Audit U102: deletes the keys accepted for the profile or any profile merged into it (its alias chain, as the journey
    // keys' statement reads it) and the processed ids of their outcome events, and answers the tombstones of those the
    // erasure does not already hold. On the writer, in the erasing transaction.
    private static List<Tombstone> OwnedKeyTombstones(SqliteStatements w, string profileId, Func<string, Tombstone?> tombstoneOf, Tombstone[] named)
    {
        const string Chain = "WITH RECURSIVE chain(id) AS (SELECT $p0 UNION SELECT a.old_id FROM aliases a JOIN chain c ON a.new_id = c.id) ";
        var keys = new List<string>();
        using (var rows = w.Command(Chain + "SELECT message_key FROM outbox_keys WHERE profile_id IN (SELECT id FROM chain)", profileId).ExecuteReader())
        {
            while (rows.Read())
            {
                keys.Add(rows.GetString(0));
            }
        }

        if (keys.Count == 0)
        {
            return [];
        }

        w.Execute(Chain + "DELETE FROM outbox_keys WHERE profile_id IN (SELECT id FROM chain)", profileId);
        w.Execute("DELETE FROM processed_events WHERE event_id IN (SELECT value FROM json_each($p0))", JsonArrayOf([.. keys.Where(StoredText.CanHold).SelectMany(Omnichannel.Sdk.Privacy.Erasure.OutcomeIdsOf)]));
        var seen = named.Select(t => t.Hash).ToHashSet(StringComparer.Ordinal);
        var found = new List<Tombstone>();
        foreach (var key in keys)
        {
            if (tombstoneOf(key) is { } t && StoredText.CanHold(t.Hash) && seen.Add(t.Hash))
            {
                found.Add(t);
            }
        }

        return found;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Tombstone>> FindTombstonesAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        cancellationToken.ThrowIfCancellationRequested();
        if (hashes.Count == 0)
        {
            return ValueTask.FromResult<IReadOnlyList<Tombstone>>([]);
        }

        // The caller's collection is read before the connection is taken: the writer's, when it is idle, holds every batch
        // while it is held, and the caller's code (an enumerator) must not run then.
        var distinct = hashes.Distinct(StringComparer.Ordinal).Where(StoredText.CanHold).ToList();
        var json = distinct.Count > 1 ? JsonArrayOf(distinct) : null;
        var reader = RentPointReader();
        try
        {
            var found = new List<Tombstone>();
            if (distinct.Count == 1)
            {
                using var row = reader.Command("SELECT erased_at, allows_return FROM tombstones WHERE hash = $p0", distinct[0]).ExecuteReader();
                if (row.Read())
                {
                    found.Add(new Tombstone(distinct[0], new DateTimeOffset(row.GetInt64(0), TimeSpan.Zero), row.GetInt64(1) != 0));
                }
            }
            else if (distinct.Count > 1)
            {
                // One statement for all of them; the answer keeps the order they were asked in.
                var byHash = new Dictionary<string, Tombstone>(StringComparer.Ordinal);
                using (var rows = reader.Command("SELECT hash, erased_at, allows_return FROM tombstones WHERE hash IN (SELECT value FROM json_each($p0))", json!).ExecuteReader())
                {
                    while (rows.Read())
                    {
                        var hash = rows.GetString(0);
                        byHash[hash] = new Tombstone(hash, new DateTimeOffset(rows.GetInt64(1), TimeSpan.Zero), rows.GetInt64(2) != 0);
                    }
                }

                found.AddRange(distinct.Where(byHash.ContainsKey).Select(h => byHash[h]));
            }

            return ValueTask.FromResult<IReadOnlyList<Tombstone>>(found);
        }
        finally
        {
            ReturnPointReader(reader);
        }
    }

    /// <inheritdoc />
    public ValueTask<int> LiftErasureAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        var distinct = hashes.Distinct(StringComparer.Ordinal).Where(StoredText.CanHold).ToArray();
        return EnqueueAsync(
            w => distinct.Sum(h => w.ExecuteCount("DELETE FROM tombstones WHERE hash = $p0", h) + w.ExecuteCount("DELETE FROM suppression WHERE hash = $p0", h)),
            static _ => true,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask SuppressAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        var distinct = hashes.Distinct(StringComparer.Ordinal).Where(StoredText.CanHold).ToArray();
        cancellationToken.ThrowIfCancellationRequested();
        return distinct.Length == 0
            ? ValueTask.CompletedTask
            : new ValueTask(EnqueueAsync(
                w => distinct.Sum(h => w.ExecuteCount("INSERT INTO suppression (hash) VALUES ($p0) ON CONFLICT (hash) DO NOTHING", h)),
                static _ => true,
                cancellationToken).AsTask());
    }

    /// <inheritdoc />
    public ValueTask<int> PurgeProcessedEventsAsync(DateTimeOffset processedBefore, CancellationToken cancellationToken = default) =>
        EnqueueAsync(w => w.ExecuteCount("DELETE FROM processed_events WHERE processed_at < $p0", processedBefore.UtcTicks), static _ => true, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken = default) =>
        ClaimOutboxAsync(now, lease, limit, null, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, IReadOnlyCollection<string>? channels, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var nowTicks = now.UtcTicks;

        // Saturate rather than overflow: a lease past the end of time is simply held forever.
        var leasedUntil = lease.Ticks >= DateTimeOffset.MaxValue.UtcTicks - nowTicks ? DateTimeOffset.MaxValue.UtcTicks : nowTicks + lease.Ticks;

        // The usual answer of a polling dispatcher is "nothing due": give it from a reader, so that it neither takes the
        // write lock nor a place in a commit batch. Leasing itself happens only on the writer, so this stays race-free.
        cancellationToken.ThrowIfCancellationRequested();
        var served = ChannelsParameter(channels);
        if (!HasClaimable(nowTicks, served))
        {
            return ValueTask.FromResult<IReadOnlyList<OutboxEntry>>([]);
        }

        return EnqueueAsync(
            w =>
            {
                // One statement picks and leases, on the single writer: no two claims can see the same row free.
                using var rows = w.Command(
                    "UPDATE outbox SET attempt = attempt + 1, leased_until = $p1 WHERE rowid IN (" +
                    "SELECT rowid FROM outbox WHERE due_at <= $p0 AND (leased_until IS NULL OR leased_until <= $p0) AND " + ServedChannel3 + " ORDER BY due_at, message_key LIMIT $p2) " +
                    "RETURNING message_key, profile_id, due_at, payload, attempt, channel",
                    nowTicks,
                    leasedUntil,
                    (long)limit,
                    served).ExecuteReader();
                var claimed = new List<OutboxEntry>();
                while (rows.Read())
                {
                    claimed.Add(new OutboxEntry
                    {
                        MessageKey = rows.GetString(0),
                        ProfileId = rows.GetString(1),
                        DueAt = new DateTimeOffset(rows.GetInt64(2), TimeSpan.Zero),
                        Payload = rows.GetFieldValue<byte[]>(3),
                        Attempt = rows.GetInt32(4),
                        Channel = rows.IsDBNull(5) ? null : rows.GetString(5),
                    });
                }

                // RETURNING gives no order; the contract's is earliest due first, then key.
                claimed.Sort(static (x, y) => x.DueAt != y.DueAt ? x.DueAt.CompareTo(y.DueAt) : StoredText.Compare(x.MessageKey, y.MessageKey));
                return (IReadOnlyList<OutboxEntry>)claimed;
            },
            static _ => true,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> CompleteOutboxAsync(string messageKey, int attempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageKey);
        // Before any answer made without the database: a cancelled call answers nothing (audit U30).
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(messageKey))
        {
            return ValueTask.FromResult(false);
        }

        return EnqueueAsync(
            w => w.ExecuteCount("DELETE FROM outbox WHERE message_key = $p0 AND attempt = $p1", messageKey, (long)attempt) == 1,
            static _ => true,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> RescheduleOutboxAsync(string messageKey, int attempt, DateTimeOffset dueAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageKey);
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(messageKey))
        {
            return ValueTask.FromResult(false);
        }

        return EnqueueAsync(
            w => w.ExecuteCount(
                "UPDATE outbox SET due_at = $p2, leased_until = NULL WHERE message_key = $p0 AND attempt = $p1",
                messageKey,
                (long)attempt,
                dueAt.UtcTicks) == 1,
            static _ => true,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> AdvanceOutboxAsync(string messageKey, DateTimeOffset dueAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageKey);
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(messageKey))
        {
            return ValueTask.FromResult(false);
        }

        return EnqueueAsync(
            w => w.ExecuteCount(
                "UPDATE outbox SET due_at = $p1 WHERE message_key = $p0 AND leased_until IS NULL AND due_at > $p1",
                messageKey,
                dueAt.UtcTicks) == 1,
            static _ => true,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(CancellationToken cancellationToken = default) =>
        GetNextOutboxDueAsync(null, cancellationToken);

    /// <inheritdoc />
    public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(IReadOnlyCollection<string>? channels, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var served = ChannelsParameter(channels);
        var reader = RentPointReader();
        try
        {
            // Free rows: the smallest due_at. Leased rows: the later of due and lease end. NULL when the outbox is empty.
            var next = reader.Scalar(NextOutboxDue, served);
            return ValueTask.FromResult<DateTimeOffset?>(next is long ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null);
        }
        finally
        {
            ReturnPointReader(reader);
        }
    }

    // A claim's channels ($p3): a JSON array of the channels served, or NULL for every entry; a row without a channel
    // (written before the column existed) is anyone's.
    private const string ServedChannel3 = "($p3 IS NULL OR channel IS NULL OR channel IN (SELECT value FROM json_each($p3)))";

    private static readonly string NextOutboxDue = "SELECT min(max(due_at, coalesce(leased_until, due_at))) FROM outbox WHERE " + ServedChannel3.Replace("$p3", "$p0", StringComparison.Ordinal);

    private static readonly string Claimable =
        "SELECT 1 FROM outbox WHERE due_at <= $p0 AND (leased_until IS NULL OR leased_until <= $p0) AND " + ServedChannel3.Replace("$p3", "$p1", StringComparison.Ordinal) + " LIMIT 1";

    private static object ChannelsParameter(IReadOnlyCollection<string>? channels) =>
        channels is null ? DBNull.Value : JsonArrayOf([.. channels]);
}
