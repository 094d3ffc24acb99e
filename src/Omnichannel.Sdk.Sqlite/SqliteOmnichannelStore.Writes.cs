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
        return EnqueueAsync(w => ApplyCommit(w, commit, _time.GetUtcNow().UtcTicks), r => r.Status == CommitStatus.Committed, cancellationToken, writesOnlyWhenKept: true);
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

                // Every alias whose chain ends here (a profile absorbed by one absorbed in turn): the ids she had.
                w.Execute(
                    "WITH RECURSIVE chain(id) AS (SELECT $p0 UNION SELECT a.old_id FROM aliases a JOIN chain c ON a.new_id = c.id) " +
                    "DELETE FROM aliases WHERE new_id IN (SELECT id FROM chain)",
                    profileId);
                w.Execute("DELETE FROM segment_members WHERE profile_id = $p0", profileId);
                w.Execute("DELETE FROM outbox WHERE profile_id = $p0", profileId);
                foreach (var h in suppression)
                {
                    w.Execute("INSERT OR IGNORE INTO suppression (hash) VALUES ($p0)", h);
                }

                foreach (var t in tombstones)
                {
                    w.Execute(
                        "INSERT INTO tombstones (hash, erased_at, allows_return) VALUES ($p0, $p1, $p2) " +
                        "ON CONFLICT (hash) DO UPDATE SET erased_at = excluded.erased_at, allows_return = excluded.allows_return",
                        t.Hash,
                        t.ErasedAt.UtcTicks,
                        t.AllowsReturn ? 1L : 0L);
                }

                _checkpointAfterBatch = true;
                return true;
            },
            static erased => erased,
            cancellationToken);
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

        var reader = RentReader();
        try
        {
            var found = new List<Tombstone>();
            foreach (var hash in hashes.Distinct(StringComparer.Ordinal).Where(StoredText.CanHold))
            {
                using var row = reader.Command("SELECT erased_at, allows_return FROM tombstones WHERE hash = $p0", hash).ExecuteReader();
                if (row.Read())
                {
                    found.Add(new Tombstone(hash, new DateTimeOffset(row.GetInt64(0), TimeSpan.Zero), row.GetInt64(1) != 0));
                }
            }

            return ValueTask.FromResult<IReadOnlyList<Tombstone>>(found);
        }
        finally
        {
            ReturnReader(reader);
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
    public ValueTask<int> PurgeProcessedEventsAsync(DateTimeOffset processedBefore, CancellationToken cancellationToken = default) =>
        EnqueueAsync(w => w.ExecuteCount("DELETE FROM processed_events WHERE processed_at < $p0", processedBefore.UtcTicks), static _ => true, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var nowTicks = now.UtcTicks;

        // Saturate rather than overflow: a lease past the end of time is simply held forever.
        var leasedUntil = lease.Ticks >= DateTimeOffset.MaxValue.UtcTicks - nowTicks ? DateTimeOffset.MaxValue.UtcTicks : nowTicks + lease.Ticks;

        // The usual answer of a polling dispatcher is "nothing due": give it from a reader, so that it neither takes the
        // write lock nor a place in a commit batch. Leasing itself happens only on the writer, so this stays race-free.
        cancellationToken.ThrowIfCancellationRequested();
        if (!HasClaimable(nowTicks))
        {
            return ValueTask.FromResult<IReadOnlyList<OutboxEntry>>([]);
        }

        return EnqueueAsync(
            w =>
            {
                // One statement picks and leases, on the single writer: no two claims can see the same row free.
                using var rows = w.Command(
                    "UPDATE outbox SET attempt = attempt + 1, leased_until = $p1 WHERE rowid IN (" +
                    "SELECT rowid FROM outbox WHERE due_at <= $p0 AND (leased_until IS NULL OR leased_until <= $p0) ORDER BY due_at, message_key LIMIT $p2) " +
                    "RETURNING message_key, profile_id, due_at, payload, attempt",
                    nowTicks,
                    leasedUntil,
                    (long)limit).ExecuteReader();
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
                    });
                }

                // RETURNING gives no order; the contract's is earliest due first, then key.
                claimed.Sort(static (x, y) => x.DueAt != y.DueAt ? x.DueAt.CompareTo(y.DueAt) : string.CompareOrdinal(x.MessageKey, y.MessageKey));
                return (IReadOnlyList<OutboxEntry>)claimed;
            },
            static _ => true,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> CompleteOutboxAsync(string messageKey, int attempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageKey);
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
    public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reader = RentReader();
        try
        {
            // Free rows: the smallest due_at. Leased rows: the later of due and lease end. NULL when the outbox is empty.
            var next = reader.Scalar("SELECT min(max(due_at, coalesce(leased_until, due_at))) FROM outbox");
            return ValueTask.FromResult<DateTimeOffset?>(next is long ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null);
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    private static CommitResult ApplyCommit(SqliteStatements w, ProfileCommit commit, long nowTicks)
    {
        // Every check comes before the first write, so a refused commit has written nothing even before its savepoint is rolled back.
        // The checks of the profile's own rows are one statement: the event processed, the version, an alias of the id,
        // and how many segment rows it has (none and none wanted, the usual case, needs no look at them).
        bool processed, aliased;
        long currentVersion, members;
        using (var check = w.Command(
            "SELECT EXISTS (SELECT 1 FROM processed_events WHERE event_id = $p0), (SELECT version FROM profiles WHERE id = $p1), " +
            "EXISTS (SELECT 1 FROM aliases WHERE old_id = $p1), (SELECT count(*) FROM segment_members WHERE profile_id = $p1)",
            commit.EventId is null ? DBNull.Value : commit.EventId,
            commit.ProfileId).ExecuteReader())
        {
            check.Read();
            processed = check.GetInt64(0) != 0;
            currentVersion = check.IsDBNull(1) ? 0 : check.GetInt64(1);
            aliased = check.GetInt64(2) != 0;
            members = check.GetInt64(3);
        }

        // A run's further event ids: one statement for all of them (a JSON array), whatever their number.
        var further = commit.FurtherEventIds.Count == 0 ? null : JsonArrayOf(commit.FurtherEventIds);
        if (further is not null)
        {
            processed |= Convert.ToInt64(w.Scalar("SELECT EXISTS (SELECT 1 FROM processed_events WHERE event_id IN (SELECT value FROM json_each($p0)))", further), System.Globalization.CultureInfo.InvariantCulture) != 0;
        }

        if (processed)
        {
            return new CommitResult(CommitStatus.DuplicateEvent, 0);
        }

        if (currentVersion != commit.ExpectedVersion || (commit.ExpectedVersion == 0 && aliased))
        {
            return new CommitResult(CommitStatus.Conflict, 0);
        }

        foreach (var a in commit.Absorbed)
        {
            if (a.ProfileId == commit.ProfileId
                || w.Scalar("SELECT version FROM profiles WHERE id = $p0", a.ProfileId) is not long absorbedVersion
                || absorbedVersion != a.ExpectedVersion)
            {
                return new CommitResult(CommitStatus.Conflict, 0);
            }
        }

        foreach (var c in commit.Claims)
        {
            var owner = w.Scalar("SELECT profile_id FROM identifiers WHERE type = $p0 AND value = $p1", c.Identifier.Type, c.Identifier.Value) as string;
            if (owner != c.ExpectedOwner)
            {
                return new CommitResult(CommitStatus.Conflict, 0);
            }
        }

        // A key accepted before (another person's message, or one long ago) would be dropped: refused, not lost.
        foreach (var entry in commit.Outbox)
        {
            if (Convert.ToInt64(w.Scalar("SELECT EXISTS (SELECT 1 FROM outbox_keys WHERE message_key = $p0)", entry.MessageKey), System.Globalization.CultureInfo.InvariantCulture) != 0)
            {
                return new CommitResult(CommitStatus.MessageKeyTaken, 0);
            }
        }

        var version = currentVersion + 1;
        w.Execute(
            "INSERT INTO profiles (id, version, document, wake_at) VALUES ($p0, $p1, $p2, $p3) " +
            "ON CONFLICT (id) DO UPDATE SET version = excluded.version, document = excluded.document, wake_at = excluded.wake_at",
            commit.ProfileId,
            version,
            commit.Document,
            commit.WakeAt is { } wakeAt ? (object)wakeAt.UtcTicks : DBNull.Value);
        foreach (var a in commit.Absorbed)
        {
            w.Execute("DELETE FROM profiles WHERE id = $p0", a.ProfileId);
            w.Execute("DELETE FROM segment_members WHERE profile_id = $p0", a.ProfileId);
            w.Execute("INSERT INTO aliases (old_id, new_id) VALUES ($p0, $p1) ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id", a.ProfileId, commit.ProfileId);
            w.Execute("UPDATE outbox SET profile_id = $p0 WHERE profile_id = $p1", commit.ProfileId, a.ProfileId);
        }

        foreach (var entry in commit.Outbox)
        {
            // A key is accepted once, ever: outbox_keys remembers it after the row is completed.
            if (w.ExecuteCount("INSERT INTO outbox_keys (message_key, created_at) VALUES ($p0, $p1) ON CONFLICT (message_key) DO NOTHING", entry.MessageKey, nowTicks) == 1)
            {
                w.Execute(
                    "INSERT INTO outbox (message_key, profile_id, due_at, payload, attempt, leased_until) VALUES ($p0, $p1, $p2, $p3, 0, NULL)",
                    entry.MessageKey,
                    entry.ProfileId,
                    entry.DueAt.UtcTicks,
                    entry.Payload);
            }
        }

        // The membership set is replaced: skip the rewrite when it did not change, the common case.
        if (!(members == 0 && commit.Segments.Count == 0) && !SameSegments(w, commit.ProfileId, commit.Segments))
        {
            w.Execute("DELETE FROM segment_members WHERE profile_id = $p0", commit.ProfileId);
            foreach (var segment in commit.Segments)
            {
                w.Execute("INSERT OR IGNORE INTO segment_members (segment_id, profile_id) VALUES ($p0, $p1)", segment, commit.ProfileId);
            }
        }

        foreach (var c in commit.Claims)
        {
            w.Execute(
                "INSERT INTO identifiers (type, value, profile_id) VALUES ($p0, $p1, $p2) ON CONFLICT (type, value) DO UPDATE SET profile_id = excluded.profile_id",
                c.Identifier.Type,
                c.Identifier.Value,
                commit.ProfileId);
        }

        foreach (var d in commit.Measurements)
        {
            var k = d.Key;
            w.Execute(
                "INSERT INTO measurements (journey_id, metric, day, step_id, variant, channel, template_id, n, amount) VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8) " +
                "ON CONFLICT (journey_id, metric, day, step_id, variant, channel, template_id) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount",
                k.JourneyId, k.Metric, (long)k.Day.DayNumber, k.StepId, k.Variant, k.Channel, k.TemplateId, d.Count, d.Sum);
        }

        if (commit.EventId is not null)
        {
            w.Execute("INSERT INTO processed_events (event_id, processed_at) VALUES ($p0, $p1)", commit.EventId, commit.ProcessedAt.UtcTicks);
        }

        if (further is not null)
        {
            w.Execute("INSERT INTO processed_events (event_id, processed_at) SELECT value, $p1 FROM json_each($p0)", further, commit.ProcessedAt.UtcTicks);
        }

        return new CommitResult(CommitStatus.Committed, version);
    }

    private static string JsonArrayOf(IReadOnlyList<string> values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var v in values)
            {
                json.WriteStringValue(v);
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static bool SameSegments(SqliteStatements w, string profileId, IReadOnlyCollection<string> segments)
    {
        var wanted = new HashSet<string>(segments, StringComparer.Ordinal);
        var count = 0;
        using var rows = w.Command("SELECT segment_id FROM segment_members WHERE profile_id = $p0", profileId).ExecuteReader();
        while (rows.Read())
        {
            count++;
            if (!wanted.Contains(rows.GetString(0)))
            {
                return false;
            }
        }

        return count == wanted.Count;
    }
}
